//! What the demo reports while it runs, so that a command line can draw spinners and
//! progress bars (`src/main.rs`) and a test can stay silent ([`Silent`]).

use sealgrid_prover::Event;

use super::report::SlotSummary;

/// Receives the demo's progress. `Sync`: households prove in parallel and each finished
/// proof advances the bar.
pub trait Observer: Sync {
    /// A key store event (measuring, setup, loading) while the Groth16 keys are prepared.
    fn key_event(&self, event: &Event);
    /// A batch of `total` steps (proofs) starts, described by `what`.
    fn begin(&self, what: &str, total: u64);
    /// One step of the current batch is done.
    fn advance(&self);
    /// The current batch is done.
    fn end(&self);
    /// A line of narration.
    fn note(&self, line: &str);
    /// A slot was finalized with every check passed.
    fn slot_done(&self, summary: &SlotSummary);
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn key_event(&self, _event: &Event) {}
    fn begin(&self, _what: &str, _total: u64) {}
    fn advance(&self) {}
    fn end(&self) {}
    fn note(&self, _line: &str) {}
    fn slot_done(&self, _summary: &SlotSummary) {}
}
