//! The client side: concurrent gRPC submissions on loopback, each call timed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use tokio::sync::Barrier;
use tonic::transport::{Channel, Endpoint};

use super::tally::BidId;

/// One bid's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Accepted, in this state (QUEUED without `wait_for_chain`).
    Accepted {
        /// Its id.
        bid: BidId,
        /// A `pb::SubmissionState`.
        state: i32,
    },
    /// Refused with this gRPC code and message.
    Refused {
        /// The `tonic::Code` as an integer.
        code: i32,
        /// The reason.
        message: String,
    },
}

/// What the submission phase saw.
#[derive(Debug)]
pub struct Calls {
    /// One answer per bid.
    pub answers: Vec<Answer>,
    /// One latency per call (a call carries one bid, or a batch).
    pub latencies: Vec<Duration>,
    /// From the release of the clients until the last answer.
    pub wall: Duration,
    /// When the clients were released.
    pub started: Instant,
    /// Concurrent clients (tokio tasks).
    pub clients: usize,
    /// TCP connections (tonic channels) they shared.
    pub channels: usize,
}

/// Connects a client.
pub async fn connect(addr: SocketAddr) -> Result<CoordinatorClient<Channel>> {
    let ch = Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    Ok(CoordinatorClient::new(ch).max_decoding_message_size(64 << 20))
}

fn answer_of(r: Result<pb::SubmitBidResponse, tonic::Status>) -> Answer {
    match r {
        Ok(a) => Answer::Accepted {
            bid: a.bid.as_slice().try_into().unwrap_or([0; 32]),
            state: a.state,
        },
        Err(s) => Answer::Refused {
            code: s.code() as i32,
            message: s.message().to_owned(),
        },
    }
}

/// Submits `bids` from `concurrency` clients over `channels` connections (0: one per
/// client), singly (`batch` = 0, `SubmitBid`) or in `SubmitBids` batches of `batch`.
/// Every connection is made before the clients are released together; each client
/// then takes the next unsent call until none is left.
pub async fn submit(
    addr: SocketAddr,
    bids: Arc<Vec<pb::BidSubmission>>,
    concurrency: usize,
    batch: usize,
    channels: usize,
) -> Result<Calls> {
    let per_call = batch.max(1);
    let calls = bids.len().div_ceil(per_call);
    let clients = concurrency.clamp(1, calls.max(1));
    let channels = if channels == 0 {
        clients
    } else {
        channels.min(clients)
    };
    let mut conns = Vec::with_capacity(channels);
    for _ in 0..channels {
        conns.push(connect(addr).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let mut client = conns[c % channels].clone();
        let (bids, next, gate) = (bids.clone(), next.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers: Vec<(usize, Answer)> = Vec::new();
            let mut latencies = Vec::new();
            gate.wait().await;
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= calls {
                    break;
                }
                let range = k * per_call..((k + 1) * per_call).min(bids.len());
                if batch == 0 {
                    let req = pb::SubmitBidRequest {
                        bid: Some(bids[k].clone()),
                        wait_for_chain: false,
                    };
                    let t = Instant::now();
                    let r = client.submit_bid(req).await.map(|r| r.into_inner());
                    latencies.push(t.elapsed());
                    answers.push((k, answer_of(r)));
                } else {
                    let req = pb::SubmitBidsRequest {
                        bids: bids[range.clone()].to_vec(),
                        wait_for_chain: false,
                    };
                    let t = Instant::now();
                    let r = client.submit_bids(req).await;
                    latencies.push(t.elapsed());
                    match r {
                        Ok(resp) => {
                            let results = resp.into_inner().results;
                            for (i, res) in range.clone().zip(results) {
                                let a = match res.result {
                                    Some(pb::submit_bid_result::Result::Accepted(a)) => {
                                        answer_of(Ok(a))
                                    }
                                    Some(pb::submit_bid_result::Result::Refused(f)) => {
                                        Answer::Refused {
                                            code: f.code,
                                            message: f.message,
                                        }
                                    }
                                    None => Answer::Refused {
                                        code: tonic::Code::Unknown as i32,
                                        message: "empty result".into(),
                                    },
                                };
                                answers.push((i, a));
                            }
                        }
                        Err(s) => {
                            for i in range {
                                answers.push((i, answer_of(Err(s.clone()))));
                            }
                        }
                    }
                }
            }
            (answers, latencies)
        }));
    }
    gate.wait().await;
    let started = Instant::now();
    let mut answers: Vec<Option<Answer>> = vec![None; bids.len()];
    let mut latencies = Vec::with_capacity(calls);
    for t in tasks {
        let (a, l) = t.await.context("client task")?;
        for (i, x) in a {
            answers[i] = Some(x);
        }
        latencies.extend(l);
    }
    let wall = started.elapsed();
    let answers = answers
        .into_iter()
        .map(|a| {
            a.unwrap_or(Answer::Refused {
                code: tonic::Code::Unknown as i32,
                message: "no answer (batch answered too few results)".into(),
            })
        })
        .collect();
    Ok(Calls {
        answers,
        latencies,
        wall,
        started,
        clients,
        channels,
    })
}
