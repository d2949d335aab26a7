//! The slot benchmark (issue #14 item 5): one 15-minute market slot of `n` prosumers
//! on a local node with real block times (a block every 2 s of at most 30 M gas by
//! default), the chain path measured end to end through the real coordinator.
//!
//! Before the slot, untimed as a phase of its own: the market is deployed on the node,
//! the operator registers and funds every account (`transact_many`, [`setup`]). Then
//! the slot: every bid through the coordinator's `SubmitBids` (concurrent clients), the
//! bid deadline, the committee's clearing, every settlement (`SubmitSettlement`),
//! the settlement deadline and the finalization. The proofs are client-side work made
//! beforehand and cached ([`proofs`]); the market clock and the node's clock are moved
//! forward to each deadline once everyone has acted, as the demo does, so that only the
//! chain path is measured.
//!
//! Everything is counted from the chain afterwards: each bid's `BidSubmitted` event (no
//! accepted bid lost, none twice), each settlement's `Settled`, the gas of every
//! transaction that carried them (receipts), the blocks they took. The coordinator runs
//! in this process; its peak memory is this process's from the coordinator's start, so
//! it includes the clients and the committee's trustees (an upper bound).

pub mod proofs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use anyhow::{anyhow, bail, Context, Result};
use sealgrid_coordinator::{Clock, RoundPlan};
use sealgrid_local::LocalMarket;
use sealgrid_market::Schedule;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use sealgrid_prover::NoProgress;
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::devnode::{self, DevNode, NodeConfig, NodeKind};
use sealgrid_verifier_contract::rpc::JsonRpcChain;
use sealgrid_verifier_contract::{Chain, DevChain, LogFilter};
use serde_json::{json, Value};
use tonic::transport::Channel;

use self::proofs::Proofs;
use crate::load::bids::{registered_wallet, FUNDED, ROUND};
use crate::load::client::{self, Answer};
use crate::load::server::Memory;
use crate::load::tally::{BidId, Tally};
use crate::rss;

/// The slot's schedule: [`ROUND`]'s bidding window (far in the future, where the clocks
/// are moved) is long enough for any run; settlement stays open an hour of real time,
/// so that the window never cuts a measurement short.
pub const SCHEDULE: Schedule = Schedule {
    slot_seconds: 600,
    bidding_seconds: 7200,
    gate_closure_seconds: 0,
    settle_seconds: 3600,
};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Prosumers: one account, one bid and one settlement each.
    pub prosumers: usize,
    /// The node.
    pub node: NodeKind,
    /// Its block time.
    pub block_time: Duration,
    /// Its block gas limit.
    pub block_gas: u64,
    /// Bids (or settlements) per relayed transaction (the coordinator's `relay_batch`).
    pub relay_batch: usize,
    /// Batched transactions in flight (the coordinator's `relay_in_flight`).
    pub relay_in_flight: usize,
    /// Bids per `SubmitBids` call.
    pub submit_batch: usize,
    /// Concurrent clients (bids, then settlements).
    pub clients: usize,
    /// Where the node's log and the market's files go.
    pub dir: PathBuf,
    /// How long a phase may take before the run fails.
    pub phase_timeout: Duration,
}

/// One phase of the slot, as the chain holds it.
#[derive(Clone, Debug, Default)]
pub struct Phase {
    /// From the phase's start (its first submission, or the deadline it follows) until
    /// the coordinator reports it complete.
    pub wall: Duration,
    /// From the last submission's answer until it was complete (bids, settlements).
    pub after_last: Duration,
    /// Items on chain (bids, settlements; 1 for the clearing and the finalization).
    pub items: usize,
    /// The transactions that carried them.
    pub txs: usize,
    /// Their gas.
    pub gas: u64,
    /// The blocks that hold them.
    pub blocks: BTreeSet<u64>,
}

impl Phase {
    /// Gas per item.
    pub fn gas_per_item(&self) -> u64 {
        self.gas / self.items.max(1) as u64
    }

    /// The blocks from the first to the last that hold the phase's transactions.
    pub fn block_span(&self) -> u64 {
        match (self.blocks.first(), self.blocks.last()) {
            (Some(a), Some(b)) => b - a + 1,
            _ => 0,
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// The options.
    pub options: Options,
    /// Registration and funding before the slot: wall time, blocks.
    pub setup: Duration,
    /// See `setup`.
    pub setup_blocks: u64,
    /// The bids.
    pub bids: Phase,
    /// The clearing (from the bid deadline).
    pub clear: Phase,
    /// The settlements.
    pub settle: Phase,
    /// `recordDefaults` and the finalization (from the settlement deadline).
    pub finalize: Phase,
    /// From the first bid's submission until the finalization was on chain, less the
    /// waits for the deadlines that were skipped (the sum of the four phases).
    pub slot: Duration,
    /// Accepted bids against the chain: lost, duplicated.
    pub tally: Tally,
    /// Settlements answered accepted, and the `Settled` events of distinct bids.
    pub settlements_accepted: usize,
    /// See `settlements_accepted`.
    pub settled_bids: usize,
    /// `Settled` events beyond one per bid.
    pub settled_twice: usize,
    /// Refusals (bids and settlements) by code and reason word.
    pub refused: BTreeMap<String, usize>,
    /// The peak resident memory of this process (coordinator, trustees, clients).
    pub memory: Memory,
    /// The posted clearing is the one the quotes give.
    pub clearing_as_expected: bool,
}

impl Report {
    /// Every bid and every settlement landed once, nothing was refused, the clearing
    /// is the expected one.
    pub fn is_clean(&self) -> bool {
        let n = self.options.prosumers;
        self.tally.is_clean()
            && self.tally.on_chain == n
            && self.settlements_accepted == n
            && self.settled_bids == n
            && self.settled_twice == 0
            && self.refused.is_empty()
            && self.clearing_as_expected
    }
}

/// The node's own clock, moved with the market clock: every deadline the contract
/// checks is the node's `block.timestamp`.
struct Clocks {
    market: Clock,
    node: String,
}

impl Clocks {
    async fn advance_to(&self, t: u64) -> Result<()> {
        self.market.advance_to(t);
        let url = self.node.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let mut c = JsonRpcChain::read_only(&url)?;
            c.warp(t)?;
            Ok(())
        })
        .await??;
        Ok(())
    }
}

/// Registers the first `n` accounts (the contract computes their empty balances), mints
/// the operator the tokens and funds each account with its cached deposit, every group
/// in one `transact_many`; the blocks it took.
async fn setup(local: &LocalMarket, p: &Proofs, n: usize) -> Result<u64> {
    let d = local.market.deployment.clone();
    let (op, market, token) = (d.operator, d.market, d.token);
    let regs: Vec<(Address, Address, alloy_primitives::Bytes)> = (0..n)
        .map(|i| {
            (
                op,
                market,
                registered_wallet(i).registration().abi_encode().into(),
            )
        })
        .collect();
    let mut funding = vec![
        (
            op,
            token,
            TestToken::mintCall {
                to: op,
                value: U256::from(FUNDED) * U256::from(n),
            }
            .abi_encode()
            .into(),
        ),
        (
            op,
            token,
            TestToken::approveCall {
                spender: market,
                value: U256::MAX,
            }
            .abi_encode()
            .into(),
        ),
    ];
    funding.extend(
        p.deposits[..n]
            .iter()
            .map(|dep| (op, market, dep.abi_encode().into())),
    );
    local
        .chain
        .run(move |c| {
            let first = c.block_number()?;
            for (what, txs) in [("registration", regs), ("funding", funding)] {
                for (i, r) in c.transact_many(txs).into_iter().enumerate() {
                    if let Err(e) = r {
                        return Err(sealgrid_verifier_contract::ChainError::Backend(format!(
                            "{what} transaction {i}: {e}"
                        )));
                    }
                }
            }
            Ok(c.block_number()? - first)
        })
        .await
        .context("registering and funding the accounts")
}

/// Polls the coordinator's view of the round until `done` says so.
async fn until(
    c: &mut CoordinatorClient<Channel>,
    timeout: Duration,
    what: &str,
    done: impl Fn(&pb::RoundStatus) -> bool,
) -> Result<pb::RoundStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        let r = c.get_round(pb::GetRoundRequest { round: ROUND }).await;
        let last = match r {
            Ok(r) => {
                let r = r.into_inner();
                if done(&r) {
                    return Ok(r);
                }
                format!("{r:?}")
            }
            Err(s) => format!("{s}"),
        };
        if Instant::now() > deadline {
            bail!(
                "{what}: not after {timeout:?}; the round: {}",
                &last[..last.len().min(400)]
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn refusal_word(code: i32, message: &str) -> String {
    format!(
        "{:?} {}",
        tonic::Code::from(code),
        message.split(':').next().unwrap_or("")
    )
}

/// Submits the settlements from `clients` concurrent clients, each taking the next.
async fn submit_settlements(
    addr: std::net::SocketAddr,
    subs: Arc<Vec<pb::SettlementSubmission>>,
    clients: usize,
) -> Result<(usize, BTreeMap<String, usize>)> {
    let clients = clients.clamp(1, subs.len().max(1));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut c = client::connect(addr).await?;
        let (subs, next) = (subs.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<std::result::Result<(), String>> = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= subs.len() {
                    break;
                }
                let r = c
                    .submit_settlement(pb::SubmitSettlementRequest {
                        settlement: Some(subs[k].clone()),
                        wait_for_chain: false,
                    })
                    .await;
                out.push(match r {
                    Ok(a) if a.get_ref().state == pb::SubmissionState::Queued as i32 => Ok(()),
                    Ok(a) => Err(format!("unexpected state {}", a.get_ref().state)),
                    Err(s) => Err(refusal_word(s.code() as i32, s.message())),
                });
            }
            out
        }));
    }
    let (mut accepted, mut refused) = (0, BTreeMap::new());
    for t in tasks {
        for r in t.await.context("a settlement client")? {
            match r {
                Ok(()) => accepted += 1,
                Err(w) => *refused.entry(w).or_default() += 1,
            }
        }
    }
    Ok((accepted, refused))
}

/// What the chain holds for the round: each phase's items, transactions, gas and
/// blocks, and the ids of the bids submitted and settled.
struct Ledger {
    bids: Phase,
    submitted: Vec<BidId>,
    clear: Phase,
    settle: Phase,
    settled: Vec<BidId>,
    finalize: Phase,
}

fn hex_u64(v: &Value) -> Result<u64> {
    let s = v.as_str().ok_or_else(|| anyhow!("not a hex string: {v}"))?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).context("a hex quantity")
}

fn ledger(url: &str, market: Address, from: u64) -> Result<Ledger> {
    let mut c = JsonRpcChain::read_only(url)?;
    let logs = c.logs(&LogFilter::since(market, from))?;
    // bids, clearing, settlements, finalization
    let mut phases: [Phase; 4] = Default::default();
    let mut txs: BTreeMap<B256, u8> = BTreeMap::new();
    let (mut submitted, mut settled) = (Vec::new(), Vec::new());
    for l in &logs {
        let data = &l.log.data;
        let phase = if let Ok(e) = Market::BidSubmitted::decode_log_data(data) {
            if e.round != ROUND {
                continue;
            }
            submitted.push(e.bid.to_be_bytes::<32>());
            phases[0].items += 1;
            0
        } else if let Ok(e) = Market::RoundCleared::decode_log_data(data) {
            if e.round != ROUND {
                continue;
            }
            phases[1].items += 1;
            1
        } else if let Ok(e) = Market::Settled::decode_log_data(data) {
            if e.round != ROUND {
                continue;
            }
            settled.push(e.bid.to_be_bytes::<32>());
            phases[2].items += 1;
            2
        } else if let Ok(e) = Market::RoundFinalized::decode_log_data(data) {
            if e.round != ROUND {
                continue;
            }
            phases[3].items += 1;
            3
        } else if let Ok(e) = Market::Defaulted::decode_log_data(data) {
            if e.round != ROUND {
                continue;
            }
            3
        } else {
            continue;
        };
        let p = &mut phases[phase];
        p.blocks.insert(l.block_number);
        let hash = l
            .tx_hash
            .ok_or_else(|| anyhow!("the node gave a log without its transaction"))?;
        txs.insert(hash, phase as u8);
    }
    for (hash, phase) in txs {
        let r = c.rpc("eth_getTransactionReceipt", json!([hash]))?;
        let gas = hex_u64(&r["gasUsed"]).with_context(|| format!("the receipt of {hash}"))?;
        let p = &mut phases[phase as usize];
        p.txs += 1;
        p.gas += gas;
    }
    let [bids, clear, settle, finalize] = phases;
    Ok(Ledger {
        bids,
        submitted,
        clear,
        settle,
        settled,
        finalize,
    })
}

/// Runs one slot of `o.prosumers` prosumers with these proofs.
pub async fn run(o: &Options, p: &Proofs) -> Result<Report> {
    let n = o.prosumers;
    if p.bids.len() < n || p.deposits.len() < n || p.settlements.len() < n {
        bail!("proofs for fewer than {n} prosumers");
    }
    std::fs::create_dir_all(&o.dir).with_context(|| o.dir.display().to_string())?;
    if o.block_time.is_zero() {
        bail!("a block time of 0 is instant mining, not what this benchmark measures");
    }
    let config = NodeConfig {
        block_gas: o.block_gas,
        ..NodeConfig::interval(o.node, o.block_time)
    };
    let log = o.dir.join("node.log");
    let node = tokio::task::spawn_blocking(move || devnode::start(&config, &log)).await??;
    let market_dir = o.dir.join("market");
    match std::fs::remove_dir_all(&market_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| market_dir.display().to_string()),
    }
    let clock = Clock::wall();
    let local = LocalMarket::setup_on_node(
        crate::load::server::market_config(market_dir, clock.clone()),
        &node.url,
        Arc::new(NoProgress),
    )
    .await
    .context("the market on the node")?;
    let result = slot(o, p, &node, &local, clock).await;
    local.shutdown().await;
    drop(node);
    result
}

async fn slot(
    o: &Options,
    p: &Proofs,
    node: &DevNode,
    local: &LocalMarket,
    clock: Clock,
) -> Result<Report> {
    let n = o.prosumers;
    let d = local.market.deployment.clone();
    let t = Instant::now();
    eprintln!("registering and funding {n} accounts on {}", node.kind);
    let setup_blocks = setup(local, p, n).await?;
    let setup_wall = t.elapsed();

    let clocks = Clocks {
        market: clock,
        node: node.url.clone(),
    };
    let times = SCHEDULE.times(ROUND);
    clocks.advance_to(times.open_at).await?;
    if !rss::reset_peak() {
        tracing::warn!(target: "sealgrid::bench", "cannot reset the peak RSS; it includes the setup");
    }
    let baseline = rss::current().unwrap_or(0);
    let mut settings = local.settings(
        SCHEDULE,
        RoundPlan {
            first: Some(ROUND),
            count: Some(1),
        },
    );
    settings.relay_batch = o.relay_batch;
    settings.relay_in_flight = o.relay_in_flight;
    let running = sealgrid_coordinator::start(settings, local.chain.clone())
        .await
        .context("the coordinator")?;
    let addr = running.addr;
    let result = async {
        let mut c = client::connect(addr).await?;
        until(&mut c, Duration::from_secs(120), "the round opening", |r| {
            r.phase == pb::Phase::Bidding as i32
        })
        .await?;

        // --- bids ---
        eprintln!("{n} bids");
        let mut refused: BTreeMap<String, usize> = BTreeMap::new();
        let bids = Arc::new(p.bids[..n].to_vec());
        let calls = client::submit(addr, bids, o.clients, o.submit_batch, 0).await?;
        let mut accepted = Vec::new();
        for a in &calls.answers {
            match a {
                Answer::Accepted { bid, state } if *state == pb::SubmissionState::Queued as i32 => {
                    accepted.push(*bid)
                }
                Answer::Accepted { state, .. } => {
                    *refused
                        .entry(format!("unexpected state {state}"))
                        .or_default() += 1
                }
                Answer::Refused { code, message } => {
                    *refused.entry(refusal_word(*code, message)).or_default() += 1
                }
            }
        }
        let want = accepted.len() as u32;
        until(&mut c, o.phase_timeout, "the bids on chain", |r| {
            r.bids_on_chain >= want
        })
        .await?;
        let bids_wall = calls.started.elapsed();
        let bids_after_last = bids_wall.saturating_sub(calls.wall);

        // --- clearing ---
        eprintln!("the bid deadline; clearing");
        let t = Instant::now();
        clocks.advance_to(times.bid_deadline + 1).await?;
        let status = until(&mut c, o.phase_timeout, "the clearing", |r| {
            r.clearing.is_some()
        })
        .await?;
        let clear_wall = t.elapsed();
        let posted = status.clearing.unwrap_or_default();
        let clearing_as_expected = posted.included as usize == n
            && posted.packed.as_slice()
                == sealgrid_verifier_contract::calldata::fr(&p.clearing.pack())
                    .to_be_bytes::<32>()
                    .as_slice();

        // --- settlements ---
        eprintln!("{n} settlements");
        clocks.advance_to(times.settle_start).await?;
        let t = Instant::now();
        let subs = Arc::new(p.settlements[..n].to_vec());
        let (settlements_accepted, settle_refused) =
            submit_settlements(addr, subs, o.clients).await?;
        let submitted_after = t.elapsed();
        for (k, v) in settle_refused {
            *refused.entry(k).or_default() += v;
        }
        let want = settlements_accepted as u32;
        until(&mut c, o.phase_timeout, "the settlements on chain", |r| {
            r.settled >= want
        })
        .await?;
        let settle_wall = t.elapsed();

        // --- finalization ---
        eprintln!("the settlement deadline; finalizing");
        let t = Instant::now();
        clocks.advance_to(times.settle_deadline + 1).await?;
        until(&mut c, o.phase_timeout, "the finalization", |r| {
            r.finalization.is_some()
        })
        .await?;
        let finalize_wall = t.elapsed();
        let memory = Memory {
            baseline,
            peak: rss::peak().unwrap_or(0),
        };

        let (url, market, from) = (node.url.clone(), d.market, d.deployment_block);
        let ledger = tokio::task::spawn_blocking(move || ledger(&url, market, from)).await??;
        // "live" here: settled in the round (every bid on chain must be)
        let tally = Tally::of(&accepted, &ledger.submitted, &ledger.settled);
        let distinct: BTreeSet<BidId> = ledger.settled.iter().copied().collect();
        let mut report = Report {
            options: o.clone(),
            setup: setup_wall,
            setup_blocks,
            bids: Phase {
                wall: bids_wall,
                after_last: bids_after_last,
                ..ledger.bids
            },
            clear: Phase {
                wall: clear_wall,
                ..ledger.clear
            },
            settle: Phase {
                wall: settle_wall,
                after_last: settle_wall.saturating_sub(submitted_after),
                ..ledger.settle
            },
            finalize: Phase {
                wall: finalize_wall,
                ..ledger.finalize
            },
            slot: Duration::ZERO,
            tally,
            settlements_accepted,
            settled_bids: distinct.len(),
            settled_twice: ledger.settled.len() - distinct.len(),
            refused,
            memory,
            clearing_as_expected,
        };
        report.slot =
            report.bids.wall + report.clear.wall + report.settle.wall + report.finalize.wall;
        Ok::<_, anyhow::Error>(report)
    }
    .await;
    running.shutdown().await;
    result
}

/// Seconds with one decimal.
fn s(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A human summary of a run.
pub fn summary(r: &Report) -> String {
    let o = &r.options;
    let phase = |name: &str, p: &Phase| {
        format!(
            "  {name:<13} {:>9}  {:>5} item(s) in {:>4} tx, {:>3} block(s) (span {:>3}), {:>12} gas, {:>9} gas each{}\n",
            s(p.wall),
            p.items,
            p.txs,
            p.blocks.len(),
            p.block_span(),
            p.gas,
            p.gas_per_item(),
            if p.after_last.is_zero() {
                String::new()
            } else {
                format!(", {} after the last submission", s(p.after_last))
            }
        )
    };
    let mut out = format!(
        "slot of {} prosumers on {} ({} blocks, {} gas each), relay batch {} × {} in flight, SubmitBids × {}, {} clients\n",
        o.prosumers,
        o.node,
        s(o.block_time),
        o.block_gas,
        o.relay_batch,
        o.relay_in_flight,
        o.submit_batch,
        o.clients
    );
    out += &format!(
        "  before the slot: registration and funding in {} ({} blocks)\n",
        s(r.setup),
        r.setup_blocks
    );
    out += &phase("bids", &r.bids);
    out += &phase("clearing", &r.clear);
    out += &phase("settlements", &r.settle);
    out += &phase("finalization", &r.finalize);
    out += &format!(
        "  the slot: {} (bids, clearing, settlements, finalization; deadline waits skipped)\n",
        s(r.slot)
    );
    out += &format!(
        "  bids: {} on chain, {} lost, {} duplicated; settlements: {} accepted, {} bids settled, {} twice; clearing as expected: {}; refused: {:?}\n",
        r.tally.on_chain,
        r.tally.lost.len(),
        r.tally.duplicate_answers.len() + r.tally.duplicate_on_chain.len(),
        r.settlements_accepted,
        r.settled_bids,
        r.settled_twice,
        r.clearing_as_expected,
        r.refused
    );
    out += &format!(
        "  peak RSS of the coordinator's process (with trustees and clients): {} → {}\n",
        rss::fmt_bytes(r.memory.baseline),
        rss::fmt_bytes(r.memory.peak)
    );
    out
}

/// One Markdown row for `docs/BENCHMARKS.md`, matching [`MARKDOWN_HEADER`].
pub fn markdown_row(r: &Report) -> String {
    let o = &r.options;
    format!(
        "| {} | {} | {} × {} | {} ({} blocks) | {} ({} after the last) | {} | {} | {} ({} after the last) | {} | {} | {} | {} | {} lost, {} dup | {} |",
        o.prosumers,
        o.node,
        o.relay_batch,
        o.relay_in_flight,
        s(r.setup),
        r.setup_blocks,
        s(r.bids.wall),
        s(r.bids.after_last),
        r.bids.block_span(),
        s(r.clear.wall),
        s(r.settle.wall),
        s(r.settle.after_last),
        s(r.finalize.wall),
        s(r.slot),
        r.bids.gas_per_item(),
        r.settle.gas_per_item(),
        r.tally.lost.len(),
        r.tally.duplicate_answers.len() + r.tally.duplicate_on_chain.len() + r.settled_twice,
        rss::fmt_bytes(r.memory.peak),
    )
}

/// The Markdown header matching [`markdown_row`].
pub const MARKDOWN_HEADER: &str = "| prosumers | node | relay batch × in flight | registration + funding | bids on chain | bid blocks | clearing | settlements on chain | finalization | slot | gas / bid | gas / settlement | lost / duplicated | peak RSS |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |";
