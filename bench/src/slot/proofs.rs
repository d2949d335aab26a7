//! The slot's client-side proofs, made beforehand and cached (`crate::cache`): each
//! prosumer's funding deposit and sealed bid (those of the coordinator load benchmark,
//! [`crate::load::bids`]), and its settlement against the clearing its bids must give.
//!
//! The settlements can be made before the round because the clearing is a function of
//! the quotes alone: every bid is included, so the committee's histograms are the sums
//! of the quotes per level and `clear` of them is the clearing ([`expected_clearing`]).
//! The run checks the clearing the committee posts against it; a settlement proved for
//! another clearing would be refused by the contract anyway.

use std::path::Path;
use std::sync::Arc;

use alloy_sol_types::SolCall;
use anyhow::{bail, Context, Result};
use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::{clear, Clearing, Side};
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::CircuitKeys;
use sealgrid_verifier_contract::bindings::Market;

use crate::cache;
use crate::load::bids::{self, bid_rng, quote, wallet, FUNDED, ROUND, SEED};

/// Everything the slot's prosumers submit.
#[derive(Clone, Debug)]
pub struct Proofs {
    /// The operator's funding deposits, one per account.
    pub deposits: Vec<Market::depositCall>,
    /// The sealed bids, one per account.
    pub bids: Vec<pb::BidSubmission>,
    /// The clearing the bids give.
    pub clearing: Clearing,
    /// The settlements against it, one per bid.
    pub settlements: Vec<pb::SettlementSubmission>,
}

/// The clearing of the first `n` prosumers' quotes, all included.
pub fn expected_clearing(keys: &CircuitKeys, n: usize) -> Result<Clearing> {
    let params = keys.circuits.params();
    let (mut buy, mut sell) = (vec![0u64; params.levels], vec![0u64; params.levels]);
    for i in 0..n {
        match quote(i) {
            (Side::Buy, level, q) => buy[level] += q,
            (Side::Sell, level, q) => sell[level] += q,
        }
    }
    clear(&buy, &sell, n, params.k_anonymity).map_err(|e| anyhow::anyhow!("clearing: {e}"))
}

/// What prosumer `i`'s meter reads for the round: a buyer imports its quantity, a
/// seller exports its own (both deliver in full).
fn reading(i: usize) -> (u64, u64) {
    match quote(i) {
        (Side::Buy, _, q) => (q, 0),
        (Side::Sell, _, q) => (0, q),
    }
}

/// The first `n` prosumers' proofs, from the caches and made where missing.
pub fn load_or_make(keys: Arc<CircuitKeys>, n: usize, dir: &Path) -> Result<Proofs> {
    let depends = format!(
        "{}|{}|{:?}|{ROUND}|{FUNDED}|{SEED}",
        keys.balance.id.proving,
        keys.balance.id.verifying,
        keys.circuits.params(),
    );
    let path = cache::file(dir, "slot-deposits", "calls", &depends);
    let deposits = cache::load_or_make(&path, n, "funding deposits", |i| {
        Ok(bids::funding_deposit(&keys, i)?.abi_encode())
    })?
    .iter()
    .map(|r| Market::depositCall::abi_decode(r).context("a cached deposit"))
    .collect::<Result<Vec<_>>>()?;

    let bids = bids::load_or_make(keys.clone(), n, dir)?;

    let clearing = expected_clearing(&keys, n)?;
    let depends = format!(
        "{}|{}|{}|{}|{:?}|{:?}|{}|{ROUND}|{FUNDED}|{SEED}",
        keys.bid.id.proving,
        keys.bid.id.verifying,
        keys.settle.id.proving,
        keys.settle.id.verifying,
        keys.circuits.params(),
        keys.circuits.flow_keys(),
        clearing.pack(),
    );
    let path = cache::file(dir, "slot-settlements", "subs", &depends);
    let settlements = cache::load_or_make(&path, n, "settlements", |i| {
        let mut w = wallet(i);
        let (side, level, q) = quote(i);
        // the bid as proved for the cache: the same randomness gives the same opening
        let (b, open, next) = w.prepare_bid(&keys, ROUND, side, level, q, &mut bid_rng(i))?;
        let id = sealgrid_verifier_contract::calldata::fr(&b.public.bid).to_be_bytes::<32>();
        if bids[i].inputs.as_ref().map(|x| x.bid.as_slice()) != Some(id.as_slice()) {
            bail!("the cached bid {i} is not the one its randomness gives");
        }
        w.commit_bid(ROUND, open, next);
        let (import, export) = reading(i);
        let r = w.read_meter(ROUND, import, export);
        let mut rng = ChaCha20Rng::seed_from_u64(SEED ^ (3 << 40) ^ i as u64);
        let (sub, _, _) = w.settle_submission(&keys, ROUND, &clearing, r, &mut rng)?;
        Ok(sub.encode_to_vec())
    })?
    .iter()
    .map(|r| pb::SettlementSubmission::decode(r.as_slice()).context("a cached settlement"))
    .collect::<Result<Vec<_>>>()?;
    Ok(Proofs {
        deposits,
        bids,
        clearing,
        settlements,
    })
}
