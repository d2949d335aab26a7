//! One market slot of many prosumers on a local node with real block times (issue #14
//! item 5): registration and funding before the slot, then every bid, the clearing,
//! every settlement and the finalization through the coordinator, counted from the
//! chain.
//!
//! ```sh
//! (cd verifier-contract/node && npm ci)     # the nodes, once
//! cargo run --release -p sealgrid-bench --bin slot -- --prosumers 500 --prove-only   # once
//! cargo run --release -p sealgrid-bench --bin slot -- --prosumers 500
//! ```
//!
//! The proofs (funding deposits, bids, settlements) are made once and cached in
//! `target/sealgrid-bench/` (about 1.1 s a prosumer on 2 cores). Prints a summary and a
//! Markdown row for `docs/BENCHMARKS.md`; exits non-zero if a bid or a settlement was
//! lost or landed twice, anything was refused or the clearing is not the quotes'.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;
use sealgrid_bench::slot::{self, proofs, Options};
use sealgrid_bench::{cache, load};
use sealgrid_verifier_contract::devnode::NodeKind;

#[derive(Parser, Debug)]
#[command(about = "One market slot on a local node with real block times")]
struct Cli {
    /// Prosumers: one account, one bid and one settlement each.
    #[arg(long, default_value_t = 500)]
    prosumers: usize,
    /// The node.
    /// (`hardhat` or `ganache`, from verifier-contract/node: `npm ci` there).
    #[arg(long, default_value = "hardhat")]
    node: NodeKind,
    /// Block time, milliseconds.
    #[arg(long, default_value_t = 2000)]
    block_ms: u64,
    /// Block gas limit.
    #[arg(long, default_value_t = 30_000_000)]
    block_gas: u64,
    /// Bids (or settlements) per relayed transaction.
    #[arg(long, default_value_t = sealgrid_coordinator::config::DEFAULT_RELAY_BATCH)]
    relay_batch: usize,
    /// Batched transactions sent before their receipts are awaited.
    #[arg(long, default_value_t = sealgrid_coordinator::config::DEFAULT_RELAY_IN_FLIGHT)]
    relay_in_flight: usize,
    /// Bids per `SubmitBids` call.
    #[arg(long, default_value_t = 50)]
    submit_batch: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long each phase may take, seconds.
    #[arg(long, default_value_t = 1800)]
    phase_timeout: u64,
    /// Where the node's log and the market's files go (default: the target directory's
    /// `sealgrid-slot/`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only make (and cache) the proofs, then exit.
    #[arg(long)]
    prove_only: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.prosumers == 0 {
        bail!("--prosumers must be at least 1");
    }
    let keys = Arc::new(tokio::task::spawn_blocking(load::keys).await??);
    let n = cli.prosumers;
    let proofs =
        tokio::task::spawn_blocking(move || proofs::load_or_make(keys, n, &cache::dir())).await??;
    if cli.prove_only {
        eprintln!("the proofs of {n} prosumers are cached");
        return Ok(());
    }
    let o = Options {
        prosumers: n,
        node: cli.node,
        block_time: Duration::from_millis(cli.block_ms),
        block_gas: cli.block_gas,
        relay_batch: cli.relay_batch,
        relay_in_flight: cli.relay_in_flight,
        submit_batch: cli.submit_batch,
        clients: cli.clients,
        dir: cli
            .dir
            .unwrap_or_else(|| cache::dir().with_file_name("sealgrid-slot")),
        phase_timeout: Duration::from_secs(cli.phase_timeout),
    };
    let r = slot::run(&o, &proofs).await?;
    print!("{}", slot::summary(&r));
    println!("{}", slot::MARKDOWN_HEADER);
    println!("{}", slot::markdown_row(&r));
    if !r.is_clean() {
        bail!("the slot was not clean: see above");
    }
    Ok(())
}
