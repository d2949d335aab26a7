//! Proving a batch of submissions in parallel across households (rayon), with a progress
//! bar. Each household's wallet makes its own proof; witness randomness and proof
//! blinding come from the OS.
//!
//! The demo's async code runs on the thread that drives the runtime (`block_on`), not on
//! a worker: proving here blocks only that thread, while the coordinator, the trustees
//! and the chain keep running on the runtime's workers.

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sealgrid_wallet::prosumer::WalletError;

use super::observer::Observer;
use super::DemoError;

/// Runs `prove` on every item in parallel, reporting one step per proof to `observer`
/// as `what`. Returns the results in the items' order and the wall time spent.
pub fn prove_all<I: Sync, T: Send>(
    items: &[I],
    what: &str,
    observer: &dyn Observer,
    prove: impl Fn(&I, &mut ChaCha20Rng) -> Result<T, WalletError> + Sync,
) -> Result<(Vec<T>, Duration), DemoError> {
    let start = Instant::now();
    if items.is_empty() {
        return Ok((Vec::new(), Duration::ZERO));
    }
    observer.begin(what, items.len() as u64);
    let out: Result<Vec<T>, WalletError> = items
        .par_iter()
        .map(|item| {
            let r = prove(item, &mut ChaCha20Rng::from_entropy());
            observer.advance();
            r
        })
        .collect();
    observer.end();
    let out = out.map_err(|source| DemoError::Wallet {
        what: what.to_owned(),
        source,
    })?;
    Ok((out, start.elapsed()))
}
