//! Load on the coordinator: many concurrent gRPC bid submissions on loopback against one
//! round (issue #6 item 8).
//!
//! ```sh
//! cargo run --release -p sealgrid-bench --bin coordinator_load -- --bids 1000 --concurrency 1000 --batch 0
//! ```
//!
//! The bids' proofs are made once and cached in `target/sealgrid-bench/` (the first run
//! proves them, ~0.6 s each in release). The server side (embedded chain, trustees,
//! coordinator) runs in a child process of this binary so that its peak resident memory
//! is its own; the clients run here. Prints a summary and a Markdown row for
//! `docs/BENCHMARKS.md`; exits non-zero if any accepted bid was lost or duplicated.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;
use sealgrid_bench::load::{self, bids, server, Options};
use sealgrid_bench::rss::fmt_bytes;

#[derive(Parser, Debug)]
#[command(about = "Concurrent gRPC bid submissions against the coordinator")]
struct Cli {
    /// Bids to submit, one registered account each.
    #[arg(long, default_value_t = 1000)]
    bids: usize,
    /// Concurrent clients (tokio tasks); default: as many as calls.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Bids per `SubmitBids` call; 0 for single `SubmitBid` calls.
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// TCP connections (tonic channels) the clients share; 0 for one per client.
    #[arg(long, default_value_t = 0)]
    channels: usize,
    /// Accepted bids to resubmit afterwards, each expected to be refused ALREADY_EXISTS.
    #[arg(long, default_value_t = 10)]
    resubmit: usize,
    /// Run the coordinator in this process (its peak memory then includes the clients).
    #[arg(long)]
    in_process: bool,
    /// Only prove (and cache) the bids, then exit.
    #[arg(long)]
    prove_only: bool,
    /// Internal: be the server side of a run (the child process).
    #[arg(long, hide = true)]
    serve: bool,
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
    if cli.serve {
        return server::child_main(cli.bids).await;
    }
    let keys = Arc::new(tokio::task::spawn_blocking(load::keys).await??);
    let n = cli.bids;
    let dir = bids::cache_dir();
    let subs = tokio::task::spawn_blocking(move || bids::load_or_make(keys, n, &dir)).await??;
    if cli.prove_only {
        eprintln!("{} bids proved and cached", subs.len());
        return Ok(());
    }
    let calls = if cli.batch == 0 {
        n
    } else {
        n.div_ceil(cli.batch)
    };
    let o = Options {
        bids: n,
        concurrency: cli.concurrency.unwrap_or(calls),
        batch: cli.batch,
        channels: cli.channels,
        resubmit: cli.resubmit,
        in_process: cli.in_process,
        on_chain_timeout: Duration::from_secs(600),
    };
    let r = load::run(&o, Arc::new(subs)).await?;
    println!(
        "bids {} | {} | {} clients over {} connections | server {}",
        n,
        if o.batch == 0 {
            "SubmitBid".to_owned()
        } else {
            format!("SubmitBids x {}", o.batch)
        },
        r.clients,
        r.channels,
        if o.in_process {
            "in this process"
        } else {
            "in a child process"
        },
    );
    println!("  accepted (QUEUED)      {}/{}", r.accepted, n);
    println!("  refused                {:?}", r.refused);
    println!(
        "  answered in            {:.3} s  = {:.0} accepted bids/s",
        r.answer_wall.as_secs_f64(),
        r.throughput()
    );
    println!(
        "  call latency           p50 {}  p99 {}  max {}",
        load::ms(r.latency[0]),
        load::ms(r.latency[1]),
        load::ms(r.latency[2])
    );
    println!(
        "  all on chain after     {:.3} s  = {:.0} bids/s",
        r.on_chain_after.as_secs_f64(),
        r.on_chain_rate()
    );
    println!(
        "  on chain               {} (lost {}, duplicate answers {}, duplicates on chain {}, unexpected {}, not live {})",
        r.tally.on_chain,
        r.tally.lost.len(),
        r.tally.duplicate_answers.len(),
        r.tally.duplicate_on_chain.len(),
        r.tally.unexpected.len(),
        r.tally.not_live.len()
    );
    println!(
        "  resubmitted            {} -> {} ALREADY_EXISTS",
        r.resubmitted, r.already_exists
    );
    println!(
        "  server RSS             {} at start -> {} peak",
        fmt_bytes(r.memory.baseline),
        fmt_bytes(r.memory.peak)
    );
    println!();
    println!("{}", load::MARKDOWN_HEADER);
    println!("{}", load::markdown_row(&r));
    if !r.is_clean() {
        bail!("the run was not clean: {:?}", r.tally);
    }
    Ok(())
}
