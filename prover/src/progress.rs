//! Progress events, so that a CLI can drive spinners and progress bars.
//!
//! arkworks reports nothing while it runs a setup or a proof, so the events are per
//! phase: a phase starts, then finishes with its elapsed time. A spinner whose message
//! follows `Event::Started` and whose line is finished on `Event::Finished` is the
//! intended use; any `Fn(&Event)` closure is a [`Progress`].

use std::fmt;
use std::time::Duration;

/// One step of a setup, a key load or a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Synthesising the circuit to measure its shape (constraints, inputs, matrix digest).
    Shape,
    /// Running the Groth16 setup (the circuit is synthesised again inside).
    Setup,
    /// Serialising, hashing and writing a key file.
    WriteKey,
    /// Reading a key file, checking its hash and deserialising it.
    LoadKey,
    /// Synthesising the circuit's witness (and, on the first proof with a key in a
    /// process, its constraint matrices).
    Synthesize,
    /// The satisfaction check, the prover's FFTs and multi-scalar multiplications.
    Prove,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Shape => "measuring circuit",
            Phase::Setup => "running setup",
            Phase::WriteKey => "writing key",
            Phase::LoadKey => "loading key",
            Phase::Synthesize => "synthesising witness",
            Phase::Prove => "proving",
        })
    }
}

/// What a long operation reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `phase` started; `subject` names what it works on (a circuit, a key file).
    Started {
        /// The step that started.
        phase: Phase,
        /// The circuit name or key file name the step works on.
        subject: String,
    },
    /// `phase` finished after `elapsed`.
    Finished {
        /// The step that finished.
        phase: Phase,
        /// The circuit name or key file name the step worked on.
        subject: String,
        /// Wall-clock time the step took.
        elapsed: Duration,
    },
    /// A step of a longer run (a trusted-setup ceremony's), as it starts.
    Step {
        /// What the step does.
        what: String,
    },
    /// A cached key was found and will be reused instead of a new setup.
    CacheHit {
        /// The circuit whose keys were found.
        circuit: String,
    },
    /// A cached key exists but was made for another shape of the circuit; a new
    /// setup replaces it.
    CacheStale {
        /// The circuit whose cached keys are stale.
        circuit: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Started { phase, subject } => write!(f, "{phase} ({subject})"),
            Event::Finished {
                phase,
                subject,
                elapsed,
            } => write!(f, "{phase} ({subject}): done in {elapsed:.2?}"),
            Event::Step { what } => f.write_str(what),
            Event::CacheHit { circuit } => write!(f, "reusing cached keys for {circuit}"),
            Event::CacheStale { circuit } => {
                write!(
                    f,
                    "cached keys for {circuit} are stale, running a new setup"
                )
            }
        }
    }
}

/// A sink for [`Event`]s.
pub trait Progress {
    /// Called for every event, in order, on the caller's thread.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event)> Progress for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: &Event) {}
}

/// Runs `f` between a `Started` and a `Finished` event for `phase`.
pub(crate) fn timed<T>(
    progress: &dyn Progress,
    phase: Phase,
    subject: &str,
    f: impl FnOnce() -> T,
) -> T {
    progress.event(&Event::Started {
        phase,
        subject: subject.to_owned(),
    });
    let start = std::time::Instant::now();
    let out = f();
    progress.event(&Event::Finished {
        phase,
        subject: subject.to_owned(),
        elapsed: start.elapsed(),
    });
    out
}
