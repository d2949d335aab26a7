//! The `key-setup` check (PROTOCOL §10, §12): the three verifying keys are the outputs
//! of the ceremony the market file records, for the circuits of this market.
//!
//! - **A transcript exists.** A market file without a ceremony record has keys made by
//!   a single party (`KeyStore::setup`): that party can forge any proof, so mint
//!   balances. The check fails and says so.
//! - **The transcript is this market's.** The circuits are rebuilt from the market
//!   file's parameters and its committee's flow keys (the `committee` check ties those
//!   keys to the trustees' verification keys and to the committee on chain, so they are
//!   the DKG's output), and each final key is checked against its circuit's R1CS and
//!   the phase-1 file ([`sealgrid_ceremony::market::verify_dir`]: every proof of
//!   knowledge, the hash chain, and the key's sections by random linear combinations;
//!   `Depth::Full` also re-verifies phase 1 point by point and recomputes each initial
//!   key as snarkjs does). Each phase needs a contribution that is not a beacon.
//! - **The record is the transcript's.** The phase-1 and per-circuit transcript hashes
//!   and contributors the market file records are those the files give.
//! - **The deployed keys are the transcript's.** Each transcript's verifying key equals
//!   the key the market file names, which the `verifying-keys` check ties byte for byte
//!   to the verifier contract's code.

use std::path::Path;

use sealgrid_ceremony::market::{verify_dir, Depth, SetupRecord, CIRCUITS};
use sealgrid_market::file::MarketFile;
use sealgrid_prover::{CircuitKind, Circuits};

use crate::{Check, VerifyingKeys};

/// The check's name.
pub const KEY_SETUP: &str = "key-setup";

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(16)]
}

fn names(record: &[sealgrid_ceremony::market::Contributor]) -> String {
    record
        .iter()
        .map(|c| {
            let name = c.name.as_deref().unwrap_or("(unnamed)");
            if c.beacon {
                format!("{name} (beacon)")
            } else {
                name.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the files and the record disagree, one line each.
fn record_differences(files: &SetupRecord, recorded: &SetupRecord) -> Vec<String> {
    let mut out = Vec::new();
    if files.phase1 != recorded.phase1 {
        out.push(format!(
            "phase 1: the file has power {} and contributions [{}], the market file records \
             power {} and [{}]",
            files.phase1.power,
            names(&files.phase1.contributions),
            recorded.phase1.power,
            names(&recorded.phase1.contributions)
        ));
    }
    for kind in CIRCUITS {
        let (f, r) = (files.circuit(kind), recorded.circuit(kind));
        if f != r {
            out.push(format!(
                "{}: the transcript hash is {} ([{}]), the market file records {} ([{}])",
                kind.name(),
                short(&f.transcript),
                names(&f.contributions),
                short(&r.transcript),
                names(&r.contributions)
            ));
        }
    }
    out
}

fn vk_of(keys: &VerifyingKeys, kind: CircuitKind) -> &sealgrid_prover::VerifyingKey {
    match kind {
        CircuitKind::Balance => &keys.balance,
        CircuitKind::Bid => &keys.bid,
        CircuitKind::Settle => &keys.settle,
    }
}

/// The `key-setup` check of `market`, whose keys are `keys`, against the ceremony
/// directory `dir` (`phase1.ptau` and the three `.zkey`s). `progress` hears each step.
pub fn key_setup(
    market: &MarketFile,
    keys: &VerifyingKeys,
    dir: &Path,
    depth: Depth,
    progress: &(dyn Fn(&str) + Sync),
) -> Check {
    let fail = |why: String| Check {
        name: KEY_SETUP.into(),
        passed: false,
        detail: why,
    };
    let Some(recorded) = &market.setup else {
        return fail(
            "the market file records no ceremony: the keys were made by a single party \
             (KeyStore::setup), who can forge any proof"
                .into(),
        );
    };
    let setup = &market.trustee_setup;
    let circuits = match Circuits::new(setup.market.clone(), setup.committee.flow_keys()) {
        Ok(c) => c,
        Err(e) => return fail(format!("the market file's circuits: {e}")),
    };
    let verified = match verify_dir(dir, &circuits, depth, progress) {
        Ok(v) => v,
        Err(e) => return fail(format!("ceremony {}: {e}", dir.display())),
    };
    let mut failures = record_differences(&verified.record, recorded);
    for kind in CIRCUITS {
        if &verified.verifying_key(kind) != vk_of(keys, kind) {
            failures.push(format!(
                "{}: the deployed verifying key is not the transcript's output",
                kind.name()
            ));
        }
    }
    let r = &verified.record;
    Check::from_failures(
        KEY_SETUP,
        format!(
            "the three keys are their transcripts' outputs for the circuits of this market's \
             parameters and committee flow keys ({}): phase 1 (power {}) by {}; balance {}, \
             bid {}, settle {} by {}",
            match depth {
                Depth::Keys => "keys checked by random linear combinations",
                Depth::Full => "full check: phase 1 and every initial key recomputed",
            },
            r.phase1.power,
            names(&r.phase1.contributions),
            short(&r.balance.transcript),
            short(&r.bid.transcript),
            short(&r.settle.transcript),
            names(&r.bid.contributions)
        ),
        failures,
    )
}
