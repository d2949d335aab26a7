//! The benchmark's prosumers and their sealed bids, made once and cached.
//!
//! Proofs are client-side work, not what the benchmark measures, and take ~0.6 s each:
//! they are made once and kept in `target/sealgrid-bench/`. To be reusable across runs
//! they depend on nothing that changes per run: wallet `i` comes from a seeded RNG, its
//! free balance is what its funding deposit of [`FUNDED`] makes from the empty balance
//! the contract registers (the deposit's salt from a seeded RNG too, see
//! [`funding_rng`]), and every bid is for the fixed round
//! [`ROUND`]. The cache file is named by the bid keys, the market parameters and these
//! constants; bid `i` depends only on `i`, so a cache made for 1,000 bids serves 20.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::{BalanceCircuit, BalanceProofPrivate};
use sealgrid_circuits::market::Side;
use sealgrid_market::Schedule;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::{prove, CircuitKeys, NoProgress};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::calldata;
use sealgrid_wallet::prosumer::Wallet;

/// The round every bid is for: far in the future (its bidding window opens at unix time
/// ~3.0e9), so cached proofs stay valid; the market clock is moved there.
pub const ROUND: u64 = 5_000_000;

/// The free balance each account starts with (the market holds the matching tokens).
pub const FUNDED: u64 = 500_000;

/// The wallets' seed.
pub const SEED: u64 = 0x5ea1_9e1d_0000;

/// A long bidding window: the whole benchmark fits in it.
pub const SCHEDULE: Schedule = Schedule {
    slot_seconds: 600,
    bidding_seconds: 7200,
    gate_closure_seconds: 0,
    settle_seconds: 600,
};

/// Prosumer `i`'s wallet as registered: fixed secrets, the empty balance `H(0, 0, acct)`.
pub fn registered_wallet(i: usize) -> Wallet {
    Wallet::new(&mut ChaCha20Rng::seed_from_u64(SEED + i as u64))
}

/// The RNG of account `i`'s funding deposit: its first draw is the new balance's salt.
pub fn funding_rng(i: usize) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(SEED ^ 0x6675_6e64_6564 ^ ((i as u64) << 20))
}

/// The operator's funding deposit of [`FUNDED`] into account `i`'s empty balance, proved
/// with [`funding_rng`] (so the balance it leaves is the one [`wallet`] holds).
pub fn funding_deposit(keys: &CircuitKeys, i: usize) -> Result<Market::depositCall> {
    let w = registered_wallet(i);
    let mut rng = funding_rng(i);
    let (public, private, _) = BalanceProofPrivate::transition(
        &w.balance,
        None,
        FUNDED as i128,
        sealgrid_circuits::Fr::from(0u64),
        &mut rng,
    )?;
    let st = prove(
        &keys.balance.pk,
        BalanceCircuit::new(public, private),
        &mut rng,
        &NoProgress,
    )?;
    Ok(Market::depositCall {
        proof: calldata::proof(&st.proof),
        inp: calldata::balance_inputs(&public),
    })
}

/// Prosumer `i`'s wallet after its funding deposit: free balance [`FUNDED`], the salt
/// from [`funding_rng`] (the server proves that deposit with the same RNG).
pub fn wallet(i: usize) -> Wallet {
    let mut w = registered_wallet(i);
    let (_, _, next) = BalanceProofPrivate::transition(
        &w.balance,
        None,
        FUNDED as i128,
        sealgrid_circuits::Fr::from(0u64),
        &mut funding_rng(i),
    )
    .expect("a deposit into an empty balance");
    w.balance = next;
    w
}

/// Prosumer `i`'s quote: (side, price level, quantity Wh); both sides, levels 1..=6.
pub fn quote(i: usize) -> (Side, usize, u64) {
    let side = if i.is_multiple_of(2) {
        Side::Buy
    } else {
        Side::Sell
    };
    (side, 1 + i % 6, 1 + (i % 10) as u64)
}

/// The directory of the proof cache: `$CARGO_TARGET_DIR/sealgrid-bench`, else the
/// workspace's `target/sealgrid-bench`.
pub fn cache_dir() -> PathBuf {
    crate::cache::dir()
}

/// The cache file for these keys: a hash of everything a bid depends on but its index.
pub fn cache_file(dir: &Path, keys: &CircuitKeys) -> PathBuf {
    crate::cache::file(
        dir,
        "coordinator-load",
        "bids",
        &format!(
            "coordinator-load v2|{}|{}|{:?}|{:?}|{ROUND}|{FUNDED}|{SEED}",
            keys.bid.id.proving,
            keys.bid.id.verifying,
            keys.circuits.params(),
            keys.circuits.flow_keys(),
        ),
    )
}

/// Bid `i`'s randomness (its statement's, then its proof's).
pub fn bid_rng(i: usize) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(SEED ^ (1 << 40) ^ i as u64)
}

/// The first `n` bids, from the cache and made (and appended to it) where missing.
pub fn load_or_make(
    keys: Arc<CircuitKeys>,
    n: usize,
    dir: &Path,
) -> Result<Vec<pb::BidSubmission>> {
    let path = cache_file(dir, &keys);
    crate::cache::load_or_make(&path, n, "bids", |i| {
        let (side, level, q) = quote(i);
        let (sub, _, _) =
            wallet(i).bid_submission(&keys, ROUND, side, level, q, &mut bid_rng(i))?;
        Ok(sub.encode_to_vec())
    })?
    .iter()
    .map(|r| pb::BidSubmission::decode(r.as_slice()).context("a cached bid"))
    .collect()
}
