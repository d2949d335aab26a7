//! The server side of the benchmark: a local market (embedded chain, 3 trustees on
//! loopback, deployed contracts), `n` registered and funded accounts, and the
//! coordinator on `127.0.0.1:0`. It runs in the benchmark's process or, for a peak
//! memory of its own, in a child process ([`child_main`]) that speaks a line protocol
//! on stdin/stdout.
//!
//! The peak resident memory is measured from just before the coordinator starts (the
//! peak is reset there), so it covers the coordinator under load plus what shares its
//! process: the embedded chain and the trustees (idle during bidding), not the setup.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use anyhow::{anyhow, Context, Result};
use sealgrid_circuits::market::MarketParams;
use sealgrid_coordinator::{start, Clock, RoundPlan};
use sealgrid_local::{LocalConfig, LocalMarket};
use sealgrid_prover::NoProgress;
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::chain::LogFilter;
use sealgrid_verifier_contract::state::BidState;
use sealgrid_verifier_contract::Chain;

use super::bids::{funding_deposit, registered_wallet, FUNDED, ROUND, SCHEDULE};
use super::tally::BidId;
use crate::rss;

/// Resident memory over the measured phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Resident set when the coordinator started.
    pub baseline: u64,
    /// Peak resident set from then on.
    pub peak: u64,
}

/// What the contract holds for the benchmark's round.
#[derive(Clone, Debug, Default)]
pub struct OnChain {
    /// The ids of the round's `BidSubmitted` events, in chain order.
    pub submitted: Vec<BidId>,
    /// The ids among them whose `Market.bids(id)` is a live bid of the round.
    pub live: Vec<BidId>,
}

/// The benchmarks' market: default parameters, the target directory's keys (those the
/// proof caches were made with), its files in `dir`, on `clock`.
pub fn market_config(dir: std::path::PathBuf, clock: Clock) -> LocalConfig {
    LocalConfig {
        dir,
        params: MarketParams::default(),
        key_dir: sealgrid_prover::circuits::target_key_dir(),
        max_unsettled: 2,
        max_defaults: 1,
        persist_chain: false,
        clock,
        ceremony: None,
    }
}

/// A running server side.
#[derive(Debug)]
pub struct Server {
    local: LocalMarket,
    running: sealgrid_coordinator::Running,
    baseline: u64,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Sets the market up, registers and funds `n` accounts, moves the market clock to
    /// [`ROUND`]'s bidding window and starts the coordinator for that one round.
    pub async fn start(n: usize) -> Result<Server> {
        let dir = tempfile::tempdir().context("temp dir")?;
        let clock = Clock::wall();
        let local = LocalMarket::setup(
            market_config(dir.path().to_path_buf(), clock.clone()),
            Arc::new(NoProgress),
        )
        .await
        .context("local market")?;
        register(&local, n).await?;
        clock.advance_to(SCHEDULE.times(ROUND).open_at);
        if !rss::reset_peak() {
            tracing::warn!(target: "sealgrid::bench", "cannot reset the peak RSS; it includes the setup");
        }
        let baseline = rss::current().unwrap_or(0);
        let plan = RoundPlan {
            first: Some(ROUND),
            count: Some(1),
        };
        let running = start(local.settings(SCHEDULE, plan), local.chain.clone())
            .await
            .context("coordinator")?;
        Ok(Server {
            local,
            running,
            baseline,
            _dir: dir,
        })
    }

    /// The coordinator's address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The round's bids as the contract holds them.
    pub async fn on_chain(&self) -> Result<OnChain> {
        let d = self.local.market.deployment.clone();
        let out = self
            .local
            .chain
            .run(move |c| {
                let logs = c.logs(&LogFilter::since(d.market, d.deployment_block))?;
                let mut out = OnChain::default();
                for l in logs {
                    let Ok(e) = Market::BidSubmitted::decode_log_data(&l.log.data) else {
                        continue;
                    };
                    if e.round != ROUND {
                        continue;
                    }
                    let id = e.bid.to_be_bytes::<32>();
                    out.submitted.push(id);
                    let rec = c.call(
                        d.operator,
                        d.market,
                        Market::bidsCall(e.bid).abi_encode().into(),
                    )?;
                    let b = Market::bidsCall::abi_decode_returns(&rec)?;
                    if b.round == ROUND && BidState::try_from(b.state) == Ok(BidState::Live) {
                        out.live.push(id);
                    }
                }
                Ok(out)
            })
            .await?;
        Ok(out)
    }

    /// Stops the coordinator and the trustees; the memory of the measured phase.
    pub async fn stop(self) -> Memory {
        let memory = Memory {
            baseline: self.baseline,
            peak: rss::peak().unwrap_or(0),
        };
        self.running.shutdown().await;
        self.local.shutdown().await;
        memory
    }
}

/// The operator registers account `i` for `i < n` (the contract computes its empty
/// balance) and funds it with a deposit of [`FUNDED`] tokens it mints to itself: the
/// deposit's proof is made here with [`funding_rng`], so the balance it leaves is the one
/// the cached bids start from.
async fn register(local: &LocalMarket, n: usize) -> Result<()> {
    let keys = local.keys.clone();
    let deposits = tokio::task::spawn_blocking(move || -> Result<Vec<Market::depositCall>> {
        (0..n).map(|i| funding_deposit(&keys, i)).collect()
    })
    .await?
    .context("proving the funding deposits")?;
    let regs: Vec<Market::registerCall> = (0..n)
        .map(|i| registered_wallet(i).registration())
        .collect();
    let d = local.market.deployment.clone();
    local
        .chain
        .run(move |c| {
            for r in regs {
                c.transact(d.operator, d.market, r.abi_encode().into())?;
            }
            c.transact(
                d.operator,
                d.token,
                TestToken::mintCall {
                    to: d.operator,
                    value: U256::from(FUNDED) * U256::from(n),
                }
                .abi_encode()
                .into(),
            )?;
            c.transact(
                d.operator,
                d.token,
                TestToken::approveCall {
                    spender: d.market,
                    value: U256::MAX,
                }
                .abi_encode()
                .into(),
            )?;
            for dep in deposits {
                c.transact(d.operator, d.market, dep.abi_encode().into())?;
            }
            Ok(())
        })
        .await
        .context("registering and funding the accounts")?;
    Ok(())
}

/// The server side as a child process: prints `ready <addr>`, waits for `audit` on
/// stdin, prints `chain <id>` and `live <id>` lines, `memory <baseline> <peak>` and
/// `end`, then stops.
pub async fn child_main(n: usize) -> Result<()> {
    let server = Server::start(n).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", server.addr())?;
    out.flush()?;
    drop(out);
    let line = tokio::task::spawn_blocking(|| {
        let mut l = String::new();
        std::io::stdin().lock().read_line(&mut l).map(|_| l)
    })
    .await??;
    if line.trim() != "audit" {
        return Err(anyhow!("expected `audit`, got {line:?}"));
    }
    let chain = server.on_chain().await?;
    let memory = server.stop().await;
    let mut out = std::io::stdout().lock();
    for id in &chain.submitted {
        writeln!(out, "chain {}", hex::encode(id))?;
    }
    for id in &chain.live {
        writeln!(out, "live {}", hex::encode(id))?;
    }
    writeln!(out, "memory {} {}", memory.baseline, memory.peak)?;
    writeln!(out, "end")?;
    out.flush()?;
    Ok(())
}
