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

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use prost::Message;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::BalanceProofPrivate;
use sealgrid_circuits::market::Side;
use sealgrid_market::Schedule;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::CircuitKeys;
use sealgrid_wallet::prosumer::Wallet;
use sha2::{Digest, Sha256};

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
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
        .join("sealgrid-bench")
}

/// The cache file for these keys: a hash of everything a bid depends on but its index.
pub fn cache_file(dir: &Path, keys: &CircuitKeys) -> PathBuf {
    let mut h = Sha256::new();
    h.update(
        format!(
            "coordinator-load v2|{}|{}|{:?}|{:?}|{ROUND}|{FUNDED}|{SEED}",
            keys.bid.id.proving,
            keys.bid.id.verifying,
            keys.circuits.params(),
            keys.circuits.flow_keys(),
        )
        .as_bytes(),
    );
    let tag = hex::encode(&h.finalize()[..8]);
    dir.join(format!("coordinator-load-{tag}.bids"))
}

/// Reads the cached bids (length-delimited `BidSubmission`s); a torn tail is cut off.
fn read(path: &Path) -> Result<Vec<pb::BidSubmission>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| path.display().to_string()),
    };
    let mut buf = bytes.as_slice();
    let mut out = Vec::new();
    while !buf.is_empty() {
        match pb::BidSubmission::decode_length_delimited(&mut buf) {
            Ok(b) => out.push(b),
            Err(_) => {
                let good = (bytes.len() - buf.len()) as u64;
                tracing::warn!(target: "sealgrid::bench", path = %path.display(), good, "torn proof cache; cut");
                File::options()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_len(good))
                    .with_context(|| path.display().to_string())?;
                break;
            }
        }
    }
    Ok(out)
}

/// The first `n` bids, from the cache and made (and appended to it) where missing.
pub fn load_or_make(
    keys: Arc<CircuitKeys>,
    n: usize,
    dir: &Path,
) -> Result<Vec<pb::BidSubmission>> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let path = cache_file(dir, &keys);
    let mut bids = read(&path)?;
    if bids.len() >= n {
        bids.truncate(n);
        return Ok(bids);
    }
    let missing = n - bids.len();
    eprintln!(
        "proving {missing} bids (cached in {}; later runs reuse them)",
        path.display()
    );
    let bar = indicatif::ProgressBar::new(missing as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} bids proved, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| path.display().to_string())?;
    for i in bids.len()..n {
        let (side, level, q) = quote(i);
        let mut rng = ChaCha20Rng::seed_from_u64(SEED ^ (1 << 40) ^ i as u64);
        let (sub, _, _) = wallet(i)
            .bid_submission(&keys, ROUND, side, level, q, &mut rng)
            .with_context(|| format!("bid {i}"))?;
        // one record at a time: an interrupted run keeps what it proved
        file.write_all(&sub.encode_length_delimited_to_vec())
            .with_context(|| path.display().to_string())?;
        bids.push(sub);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(bids)
}
