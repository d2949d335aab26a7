//! The coordinator load benchmark (issue #6 item 8): many concurrent gRPC bid
//! submissions on loopback against one round; accepted throughput, per-call latency,
//! time until every accepted bid is on chain, the server side's peak memory, and a
//! check against the contract that no accepted bid was lost or duplicated.
//!
//! - [`bids`]: deterministic prosumers and the proof cache;
//! - [`server`]: local market + coordinator, in process or in a child process;
//! - [`client`]: the concurrent submissions;
//! - [`tally`]: lost and duplicated bids.

pub mod bids;
pub mod client;
pub mod server;
pub mod tally;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use sealgrid_circuits::market::MarketParams;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::{CircuitKeys, Circuits, KeyStore, NoProgress};
use sealgrid_trustee::demo::DemoCommittee;

use self::client::{Answer, Calls};
use self::server::{Memory, OnChain, Server};
use self::tally::{BidId, Tally};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Bids (one account each).
    pub bids: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Bids per `SubmitBids` call; 0: single `SubmitBid` calls.
    pub batch: usize,
    /// TCP connections the clients share; 0: one per client.
    pub channels: usize,
    /// Bids resubmitted after the run, each expected to be refused ALREADY_EXISTS.
    pub resubmit: usize,
    /// Run the server side in this process (else in a child process of this binary,
    /// which must then call [`server::child_main`] on `--serve`).
    pub in_process: bool,
    /// How long to wait for the bids to land on chain.
    pub on_chain_timeout: Duration,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// The options.
    pub options: Options,
    /// Concurrent clients and their connections.
    pub clients: usize,
    /// See `clients`.
    pub channels: usize,
    /// Bids answered QUEUED.
    pub accepted: usize,
    /// Refusals by code and reason word.
    pub refused: BTreeMap<String, usize>,
    /// From the release of the clients to the last answer.
    pub answer_wall: Duration,
    /// Per-call latency percentiles: p50, p99, max.
    pub latency: [Duration; 3],
    /// From the release of the clients until every accepted bid was on chain.
    pub on_chain_after: Duration,
    /// Lost and duplicated bids.
    pub tally: Tally,
    /// Resubmissions and how many were refused ALREADY_EXISTS.
    pub resubmitted: usize,
    /// See `resubmitted`.
    pub already_exists: usize,
    /// The server side's memory over the measured phase.
    pub memory: Memory,
}

impl Report {
    /// Accepted bids per second until every call was answered.
    pub fn throughput(&self) -> f64 {
        self.accepted as f64 / self.answer_wall.as_secs_f64()
    }

    /// Bids on chain per second from the release of the clients.
    pub fn on_chain_rate(&self) -> f64 {
        self.tally.on_chain as f64 / self.on_chain_after.as_secs_f64()
    }

    /// Everything accepted landed once, nothing was refused, resubmissions were refused.
    pub fn is_clean(&self) -> bool {
        self.tally.is_clean()
            && self.refused.is_empty()
            && self.accepted == self.options.bids
            && self.already_exists == self.resubmitted
    }
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The proving keys of the local market (the demo committee's flow keys), from the key
/// store; set up there if missing.
pub fn keys() -> Result<CircuitKeys> {
    let params = MarketParams::default();
    let committee = DemoCommittee::new(params.levels).context("demo committee")?;
    let circuits = Circuits::new(params, committee.public.flow_keys()).context("circuits")?;
    let store = KeyStore::open(sealgrid_prover::circuits::target_key_dir()).context("key store")?;
    CircuitKeys::load_or_setup(circuits, &store, &NoProgress)
        .map_err(|e| anyhow!("keys for {}: {}", e.0, e.1))
}

/// The server side, here or in a child process.
enum Side {
    Here(Box<Server>),
    Child {
        child: Child,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
        addr: SocketAddr,
    },
}

impl Side {
    async fn start(o: &Options) -> Result<Side> {
        if o.in_process {
            return Ok(Side::Here(Box::new(Server::start(o.bids).await?)));
        }
        let exe = std::env::current_exe().context("own path")?;
        let mut child = Command::new(exe)
            .args(["--serve", "--bids", &o.bids.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server child")?;
        let stdin = child.stdin.take().context("child stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
        let (line, stdout) = tokio::task::spawn_blocking(move || {
            let mut l = String::new();
            stdout.read_line(&mut l).map(|_| (l, stdout))
        })
        .await??;
        let addr = line
            .trim()
            .strip_prefix("ready ")
            .ok_or_else(|| anyhow!("the server child said {line:?}"))?
            .parse()?;
        Ok(Side::Child {
            child,
            stdin,
            stdout,
            addr,
        })
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Side::Here(s) => s.addr(),
            Side::Child { addr, .. } => *addr,
        }
    }

    /// The contract's view of the round, then stops; the memory of the measured phase.
    async fn audit_and_stop(self) -> Result<(OnChain, Memory)> {
        match self {
            Side::Here(s) => {
                let chain = s.on_chain().await?;
                Ok((chain, s.stop().await))
            }
            Side::Child {
                mut child,
                mut stdin,
                stdout,
                ..
            } => {
                writeln!(stdin, "audit")?;
                stdin.flush()?;
                let lines = tokio::task::spawn_blocking(move || {
                    stdout.lines().collect::<Result<Vec<String>, _>>()
                })
                .await??;
                let status = child.wait()?;
                if !status.success() {
                    bail!("the server child failed: {status}");
                }
                let mut chain = OnChain::default();
                let mut memory = None;
                let id = |h: &str| -> Result<BidId> {
                    hex::decode(h)?
                        .try_into()
                        .map_err(|_| anyhow!("a bid id of the wrong length"))
                };
                for l in &lines {
                    let mut w = l.split_whitespace();
                    match (w.next(), w.next(), w.next()) {
                        (Some("chain"), Some(h), None) => chain.submitted.push(id(h)?),
                        (Some("live"), Some(h), None) => chain.live.push(id(h)?),
                        (Some("memory"), Some(b), Some(p)) => {
                            memory = Some(Memory {
                                baseline: b.parse()?,
                                peak: p.parse()?,
                            })
                        }
                        (Some("end"), None, None) => {}
                        _ => bail!("the server child said {l:?}"),
                    }
                }
                let memory = memory.ok_or_else(|| anyhow!("the server child sent no memory"))?;
                Ok((chain, memory))
            }
        }
    }
}

/// Runs the benchmark on the first `o.bids` cached bids.
pub async fn run(o: &Options, bids: Arc<Vec<pb::BidSubmission>>) -> Result<Report> {
    if bids.len() < o.bids {
        bail!("{} bids given, {} asked", bids.len(), o.bids);
    }
    let side = Side::start(o).await?;
    let addr = side.addr();
    let mut c = client::connect(addr).await?;
    // The round opens on the coordinator's first tick.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c
            .get_round(pb::GetRoundRequest { round: bids::ROUND })
            .await;
        if r.is_ok_and(|r| r.into_inner().phase == pb::Phase::Bidding as i32) {
            break;
        }
        if Instant::now() > deadline {
            bail!("round {} did not open for bids", bids::ROUND);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let all = Arc::new(bids[..o.bids].to_vec());
    let calls = client::submit(addr, all.clone(), o.concurrency, o.batch, o.channels).await?;
    let Calls {
        answers,
        mut latencies,
        wall,
        started,
        clients,
        channels,
    } = calls;
    let mut accepted_ids = Vec::new();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for a in &answers {
        match a {
            Answer::Accepted { bid, state } if *state == pb::SubmissionState::Queued as i32 => {
                accepted_ids.push(*bid)
            }
            Answer::Accepted { state, .. } => {
                *refused
                    .entry(format!("unexpected state {state}"))
                    .or_default() += 1
            }
            Answer::Refused { code, message } => {
                let word = message.split(':').next().unwrap_or("").to_owned();
                *refused
                    .entry(format!("{:?} {word}", tonic::Code::from(*code)))
                    .or_default() += 1;
            }
        }
    }

    // Until every accepted bid is on chain, by the coordinator's account.
    let want = accepted_ids.len() as u32;
    let deadline = Instant::now() + o.on_chain_timeout;
    let on_chain_after = loop {
        let r = c
            .get_round(pb::GetRoundRequest { round: bids::ROUND })
            .await?
            .into_inner();
        if r.bids_on_chain >= want {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {want} bids on chain after {:?}",
                r.bids_on_chain,
                o.on_chain_timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };

    // The same bids again: each must be refused as a duplicate.
    let resubmitted = o.resubmit.min(all.len());
    let mut already_exists = 0;
    for b in all.iter().take(resubmitted) {
        let r = c
            .submit_bid(pb::SubmitBidRequest {
                bid: Some(b.clone()),
                wait_for_chain: false,
            })
            .await;
        if r.is_err_and(|s| s.code() == tonic::Code::AlreadyExists) {
            already_exists += 1;
        }
    }

    let (chain, memory) = side.audit_and_stop().await?;
    let tally = Tally::of(&accepted_ids, &chain.submitted, &chain.live);
    latencies.sort();
    Ok(Report {
        options: o.clone(),
        clients,
        channels,
        accepted: accepted_ids.len(),
        refused,
        answer_wall: wall,
        latency: [
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or_default(),
        ],
        on_chain_after,
        tally,
        resubmitted,
        already_exists,
        memory,
    })
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// One Markdown table row for `docs/BENCHMARKS.md`.
pub fn markdown_row(r: &Report) -> String {
    let o = &r.options;
    let mode = if o.batch == 0 {
        "`SubmitBid`".to_owned()
    } else {
        format!("`SubmitBids` × {}", o.batch)
    };
    format!(
        "| {} | {mode} | {} clients / {} conns | {}/{} | {:.0} bids/s ({:.2} s) | {} | {} | {:.2} s ({:.0} bids/s) | {} lost, {} dup | {}/{} | {} → {} |",
        o.bids,
        r.clients,
        r.channels,
        r.accepted,
        o.bids,
        r.throughput(),
        r.answer_wall.as_secs_f64(),
        ms(r.latency[0]),
        ms(r.latency[1]),
        r.on_chain_after.as_secs_f64(),
        r.on_chain_rate(),
        r.tally.lost.len(),
        r.tally.duplicate_answers.len() + r.tally.duplicate_on_chain.len(),
        r.already_exists,
        r.resubmitted,
        crate::rss::fmt_bytes(r.memory.baseline),
        crate::rss::fmt_bytes(r.memory.peak),
    )
}

/// The Markdown table header matching [`markdown_row`].
pub const MARKDOWN_HEADER: &str = "| bids | calls | concurrency | accepted | accepted throughput (until all answered) | p50 | p99 | all on chain after | lost / duplicated | resubmitted → ALREADY_EXISTS | server RSS: start → peak |\n| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |";
