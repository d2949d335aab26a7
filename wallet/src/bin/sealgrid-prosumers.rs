//! `sealgrid-prosumers`: a group of prosumers as its own process, talking to the
//! coordinator over gRPC only (`sealgrid_wallet::group`). Their wallets are derived
//! from the seed the operator registered them with (`sealgrid-coordinator deploy
//! --prosumers N --prosumer-seed S`); the proving keys come from the key store.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use sealgrid_market::MarketFile;
use sealgrid_prover::{CircuitKeys, Circuits, KeyStore, NoProgress};
use sealgrid_wallet::group::{run, GroupConfig};

#[derive(Parser, Debug)]
#[command(
    name = "sealgrid-prosumers",
    version,
    about = "A group of sealgrid prosumers: deposit, bid, settle through the coordinator"
)]
struct Args {
    /// The coordinator, http://host:port.
    #[arg(long)]
    coordinator: String,
    /// The market file.
    #[arg(long)]
    market: std::path::PathBuf,
    /// The key store.
    #[arg(long, env = "SEALGRID_KEY_DIR")]
    key_dir: Option<std::path::PathBuf>,
    /// The wallets' seed, as registered.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first household index of this group.
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// How many households.
    #[arg(long, default_value_t = 3)]
    count: u64,
    /// Rounds to take part in.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Bid only in rounds from this one on (so that several groups meet in one round).
    #[arg(long, default_value_t = 0)]
    first_round: u64,
    /// Tokens each household deposits.
    #[arg(long, default_value_t = 500_000)]
    deposit: u64,
    /// A household index that bids but never settles (a defaulter).
    #[arg(long)]
    defaulter: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = Args::parse();
    let market = MarketFile::load(&a.market)?;
    let key_dir = a
        .key_dir
        .clone()
        .unwrap_or_else(sealgrid_prover::circuits::default_key_dir);
    let setup = market.trustee_setup.clone();
    let keys = tokio::task::spawn_blocking(move || -> Result<CircuitKeys> {
        let circuits = Circuits::new(setup.market.clone(), setup.committee.flow_keys())?;
        let store = KeyStore::open(&key_dir)?;
        CircuitKeys::load_or_setup(circuits, &store, &NoProgress)
            .map_err(|e| anyhow::anyhow!("keys for {}: {}", e.0, e.1))
    })
    .await??;
    let (first, count) = (a.first, a.count);
    let seen = run(
        GroupConfig {
            coordinator: a.coordinator.clone(),
            market,
            seed: a.seed,
            indices: first..first + count,
            rounds: a.rounds,
            first_round: a.first_round,
            deposit: a.deposit,
            defaulter: a.defaulter,
        },
        Arc::new(keys),
        |line| eprintln!("[households {first}..{}] {line}", first + count),
    )
    .await
    .context("the group stopped")?;
    for (round, r) in &seen {
        println!(
            "round {round}: {} bids, {} settled, price {}, volume {} Wh, {} defaulted",
            r.bids, r.settled, r.price, r.volume, r.defaulted
        );
    }
    Ok(())
}
