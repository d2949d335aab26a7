//! A group of prosumers as its own process (`sealgrid-prosumers`): wallets re-derived
//! from the seed the operator registered them with, talking to the coordinator over gRPC
//! only. It deposits, then follows the coordinator's event stream: for each round that
//! opens it proves and submits one sealed bid per household (an aggregator's batch), for
//! each clearing it waits for the settlement window, reads the (simulated) meters and
//! settles, and it stops after a number of finalized rounds.
//!
//! Quotes come from the seed: even households buy, odd ones sell, at a level and
//! quantity drawn per round. One household can be told to default (never settle).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::Side;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use sealgrid_proto::market::v1::market_event::Event;
use sealgrid_prover::CircuitKeys;
use tonic::transport::Channel;

use crate::prosumer::{clearing_for, Wallet};
use sealgrid_market::{schedule, MarketFile};

/// What the group does.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// `http://host:port` of the coordinator.
    pub coordinator: String,
    /// The market.
    pub market: MarketFile,
    /// The wallets' seed (as the operator registered them) and which indices are ours.
    pub seed: u64,
    /// See `seed`.
    pub indices: Range<u64>,
    /// Rounds to take part in.
    pub rounds: usize,
    /// Bid only in rounds from this one on (so that several groups meet in one round).
    pub first_round: u64,
    /// Tokens each household deposits at the start.
    pub deposit: u64,
    /// A household (index) that bids but never settles.
    pub defaulter: Option<u64>,
}

/// One round as the group saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundSeen {
    /// Bids of ours on chain.
    pub bids: usize,
    /// Settlements of ours on chain.
    pub settled: usize,
    /// The clearing price and volume.
    pub price: u64,
    /// See `price`.
    pub volume: u64,
    /// Defaulted bids in the round (all groups).
    pub defaulted: usize,
}

/// Why the group stopped early.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GroupError(pub String);

fn err(e: impl std::fmt::Display) -> GroupError {
    GroupError(e.to_string())
}

async fn connect(url: &str) -> Result<CoordinatorClient<Channel>, GroupError> {
    let mut last = String::new();
    for _ in 0..100 {
        match CoordinatorClient::connect(url.to_owned()).await {
            Ok(c) => return Ok(c.max_decoding_message_size(64 << 20)),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(GroupError(format!(
        "the coordinator at {url} does not answer: {last}"
    )))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, GroupError> {
    tokio::task::spawn_blocking(f).await.map_err(err)
}

/// Runs the group; `log` gets one line per step.
pub async fn run(
    cfg: GroupConfig,
    keys: Arc<CircuitKeys>,
    log: impl Fn(String),
) -> Result<BTreeMap<u64, RoundSeen>, GroupError> {
    let mut client = connect(&cfg.coordinator).await?;
    let d = cfg.market.deployment.clone();
    let params = cfg.market.trustee_setup.market.clone();
    let mut wallets: Vec<(u64, Wallet)> = cfg
        .indices
        .clone()
        .map(|i| (i, Wallet::from_seed(cfg.seed, i)))
        .collect();
    for (i, slot) in wallets.iter_mut() {
        let (k, w, amount) = (
            keys.clone(),
            std::mem::replace(slot, Wallet::from_seed(0, 0)),
            cfg.deposit,
        );
        let (w, r) = blocking(move || {
            let r = w.deposit_submission(&k, amount, d.chain_id, d.market, &mut rand::rngs::OsRng);
            (w, r)
        })
        .await?;
        *slot = w;
        let (req, next) = r.map_err(err)?;
        client
            .deposit(req)
            .await
            .map_err(|s| GroupError(format!("household {i}: deposit refused: {}", s.message())))?;
        slot.commit_balance(next);
    }
    log(format!(
        "{} households deposited {} each",
        wallets.len(),
        cfg.deposit
    ));

    let mut stream = client
        .stream_events(pb::StreamEventsRequest {
            from_sequence: 0,
            round: 0,
        })
        .await
        .map_err(err)?
        .into_inner();
    let mut seen: BTreeMap<u64, RoundSeen> = BTreeMap::new();
    let mut finished = 0usize;
    let mut in_flight: Option<u64> = None;
    while finished < cfg.rounds {
        let Some(e) = stream.message().await.map_err(err)? else {
            return Err(GroupError("the coordinator ended the event stream".into()));
        };
        let round = e.round;
        match e.event {
            Some(Event::Opened(o))
                if in_flight.is_none() && seen.len() < cfg.rounds && round >= cfg.first_round =>
            {
                // Skip rounds whose bidding ends before the proofs could be made.
                let margin = 5 + wallets.len() as u64;
                if schedule::wall() + margin >= o.bid_deadline {
                    continue;
                }
                let mut subs = Vec::new();
                for (i, slot) in wallets.iter_mut() {
                    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed ^ round.rotate_left(17) ^ *i);
                    let side = if *i % 2 == 0 { Side::Buy } else { Side::Sell };
                    let level = rng.gen_range(1..params.levels - 1);
                    let q = rng.gen_range(5..50);
                    let (k, w) = (
                        keys.clone(),
                        std::mem::replace(slot, Wallet::from_seed(0, 0)),
                    );
                    let (w, r) = blocking(move || {
                        let r = w.bid_submission(&k, round, side, level, q, &mut rand::rngs::OsRng);
                        (w, r)
                    })
                    .await?;
                    *slot = w;
                    subs.push((*i, r.map_err(err)?));
                }
                let results = client
                    .submit_bids(pb::SubmitBidsRequest {
                        bids: subs.iter().map(|(_, s)| s.0.clone()).collect(),
                        wait_for_chain: true,
                    })
                    .await
                    .map_err(err)?
                    .into_inner()
                    .results;
                let mut accepted = 0;
                for ((i, (_, open, next)), r) in subs.into_iter().zip(results) {
                    match r.result {
                        Some(pb::submit_bid_result::Result::Accepted(a))
                            if a.state == pb::SubmissionState::OnChain as i32 =>
                        {
                            let w = &mut wallets.iter_mut().find(|(j, _)| *j == i).expect("ours").1;
                            let mut open = open;
                            open.index = Some(a.index);
                            w.commit_bid(round, open, next);
                            accepted += 1;
                        }
                        other => log(format!(
                            "round {round}: household {i}'s bid not taken: {other:?}"
                        )),
                    }
                }
                log(format!("round {round}: {accepted} bids on chain"));
                seen.entry(round).or_default().bids = accepted;
                in_flight = Some(round);
            }
            Some(Event::Cleared(c)) if in_flight == Some(round) => {
                let cl = c.clearing.unwrap_or_default();
                let times = client
                    .get_round(pb::GetRoundRequest { round })
                    .await
                    .map_err(err)?
                    .into_inner();
                log(format!(
                    "round {round}: cleared = {}, price {}, volume {} Wh; settling after {}",
                    cl.cleared, cl.price, cl.volume, times.settle_start
                ));
                let entry = seen.entry(round).or_default();
                (entry.price, entry.volume) = (cl.price, cl.volume);
                // Delivery runs until the slot ends; the meters read after it.
                while schedule::wall() < times.settle_start {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                let mut settled = 0;
                for (i, slot) in wallets.iter_mut() {
                    if cfg.defaulter == Some(*i) || !slot.bids.contains_key(&round) {
                        continue;
                    }
                    let (k, w, cl2) = (
                        keys.clone(),
                        std::mem::replace(slot, Wallet::from_seed(0, 0)),
                        cl.clone(),
                    );
                    let levels = params.levels;
                    let floor = params.k_anonymity;
                    let (w, r) = blocking(move || {
                        let r = (|| {
                            let open = w.bids.get(&round).expect("checked").clone();
                            let clearing =
                                clearing_for(&cl2, levels, floor, open.index.unwrap_or(0))?;
                            // sellers deliver what they offered, buyers draw a little
                            let (import, export) = if open.opening.side == Side::Sell {
                                (0, open.opening.q)
                            } else {
                                (1, 0)
                            };
                            let reading = w.read_meter(round, import, export);
                            w.settle_submission(
                                &k,
                                round,
                                &clearing,
                                reading,
                                &mut rand::rngs::OsRng,
                            )
                        })();
                        (w, r)
                    })
                    .await?;
                    *slot = w;
                    let (sub, payout, _) = r.map_err(err)?;
                    let resp = client
                        .submit_settlement(pb::SubmitSettlementRequest {
                            settlement: Some(sub),
                            wait_for_chain: true,
                        })
                        .await
                        .map_err(|s| {
                            GroupError(format!(
                                "household {i}: settlement refused: {}",
                                s.message()
                            ))
                        })?
                        .into_inner();
                    if resp.state == pb::SubmissionState::OnChain as i32 {
                        slot.commit_settlement(round, payout);
                        settled += 1;
                    } else {
                        log(format!(
                            "round {round}: household {i}'s settlement failed: {}",
                            resp.error
                        ));
                    }
                }
                seen.entry(round).or_default().settled = settled;
                log(format!("round {round}: {settled} settlements on chain"));
            }
            Some(Event::Finalized(f)) if in_flight == Some(round) => {
                let fin = f.finalization.unwrap_or_default();
                seen.entry(round).or_default().defaulted = fin.defaulted.len();
                for (_, w) in wallets.iter_mut() {
                    w.round_final(round);
                }
                log(format!(
                    "round {round}: finalized, {} defaulted, {} to the operator",
                    fin.defaulted.len(),
                    fin.to_operator
                ));
                in_flight = None;
                finished += 1;
            }
            _ => {}
        }
    }
    Ok(seen)
}
