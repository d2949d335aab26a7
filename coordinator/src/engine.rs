//! The engine: the one task that owns round state. gRPC handlers check a submission's
//! form and proof (stateless, on the blocking pool), then hand it here; the engine checks
//! it against the round and the account (stateful), stores it durably, answers, and
//! relays queued submissions to the contract one at a time, in arrival order, whenever no
//! command is waiting. A clock tick opens, closes, clears and finalizes rounds; the
//! committee's work runs in its own tasks and reports back here.
//!
//! Restart: the store holds every submission with its state, the schedule of every
//! round and the event log. At start the engine reads each stored round's phase from the
//! contract, and for each queued submission asks the contract whether it is already
//! there (then it is marked on chain, never sent twice) before relaying the rest.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use ark_ff::PrimeField;
use prost::Message;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::{Aggregator, PostedBid};
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_committee::BidId;
use sealgrid_proto::committee::v1 as cpb;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::deploy::MarketDeployment;
use sealgrid_verifier_contract::{events, ChainError, Receipt};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::chain::ChainHandle;
use crate::committee::{bitmap_words, market_signature, Cleared, CommitteeDriver, Finalized};
use crate::refusal::Refusal;
use crate::schedule::{Clock, RoundTimes, Schedule};
use crate::store::{Kind, RoundRecord, Store, Submission, SubmissionState};
use crate::wire::{self, BalanceForm, BidForm, SettleForm};

/// Which rounds the engine runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundPlan {
    /// The first round (default: the next round whose bidding window is still ahead).
    pub first: Option<u64>,
    /// How many rounds (default: no end).
    pub count: Option<u64>,
}

/// What the engine needs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The market on chain.
    pub deployment: MarketDeployment,
    /// Its parameters.
    pub params: MarketParams,
    /// The clock.
    pub schedule: Schedule,
    /// Which rounds to run.
    pub plan: RoundPlan,
    /// Bids are refused this many seconds before the bid deadline, so that every queued
    /// bid reaches the chain in time.
    pub relay_margin_seconds: u64,
    /// The most submissions waiting to be relayed.
    pub max_queue: usize,
    /// How often the clock is looked at.
    pub tick: Duration,
    /// The market clock.
    pub clock: Clock,
}

/// A command to the engine.
#[derive(Debug)]
pub enum Command {
    /// Bids checked for form and proof.
    SubmitBids {
        /// The bids.
        bids: Vec<BidForm>,
        /// One answer per bid.
        reply: oneshot::Sender<Vec<Result<[u8; 32], Refusal>>>,
    },
    /// A settlement checked for form and proof.
    SubmitSettlement {
        /// The settlement.
        settlement: Box<SettleForm>,
        /// The answer.
        reply: oneshot::Sender<Result<[u8; 32], Refusal>>,
    },
    /// A balance update checked for form and proof, relayed at once.
    Balance {
        /// Deposit (with the payer's authorisation) or withdrawal.
        call: Vec<u8>,
        /// The update.
        form: Box<BalanceForm>,
        /// The answer: receipt of the transaction.
        reply: oneshot::Sender<Result<Receipt, Refusal>>,
    },
    /// Waits until a submission is on chain or failed.
    Wait {
        /// Bid or settlement.
        kind: Kind,
        /// The bid.
        bid: [u8; 32],
        /// The final state.
        reply: oneshot::Sender<Submission>,
    },
    /// A submission's state.
    GetSubmission {
        /// Bid or settlement.
        kind: Kind,
        /// The bid.
        bid: [u8; 32],
        /// The answer.
        reply: oneshot::Sender<Option<Submission>>,
    },
    /// A round's status.
    GetRound {
        /// The round.
        round: u64,
        /// The answer.
        reply: oneshot::Sender<Option<pb::RoundStatus>>,
    },
    /// All rounds, newest first.
    ListRounds {
        /// The answer.
        reply: oneshot::Sender<Vec<pb::RoundStatus>>,
    },
    /// An account's next `F_old` (queued submissions counted).
    NextFree {
        /// The account.
        acct: [u8; 32],
        /// The answer: the `F_new` of its last queued bid, if any.
        reply: oneshot::Sender<Option<[u8; 32]>>,
    },
    /// A round's audit bundle.
    AuditBundle {
        /// The round.
        round: u64,
        /// The answer.
        reply: oneshot::Sender<Result<pb::AuditBundle, Refusal>>,
    },
}

enum Internal {
    Cleared(u64, Result<Box<Cleared>, String>),
    Finalized(u64, Result<Box<Finalized>, String>),
}

#[derive(Debug)]
struct RoundState {
    times: RoundTimes,
    phase: pb::Phase,
    bids: Vec<(PostedBid, [u8; 32])>,
    settlements: Vec<PostedSettlement>,
    queued: usize,
    clearing: Option<pb::Clearing>,
    finalization: Option<pb::Finalization>,
    audit: pb::AuditBundle,
    busy: bool,
    retry_at: u64,
}

/// The event log: numbered, stored, broadcast.
#[derive(Debug)]
pub struct EventLog {
    store: Arc<Store>,
    clock: Clock,
    next: u64,
    live: broadcast::Sender<pb::MarketEvent>,
}

impl EventLog {
    fn record(&mut self, round: u64, event: pb::market_event::Event) {
        let e = pb::MarketEvent {
            sequence: self.next,
            round,
            time: self.clock.now(),
            event: Some(event),
        };
        if let Err(err) = self.store.put_event(self.next, &e.encode_to_vec()) {
            tracing::error!(%err, "an event could not be stored");
            return;
        }
        self.next += 1;
        // No live subscriber is fine: the event is stored.
        drop_closed(self.live.send(e).is_err());
    }
}

/// The engine's handle for the gRPC service.
#[derive(Clone, Debug)]
pub struct EngineHandle {
    /// Commands.
    pub tx: mpsc::Sender<Command>,
    /// Live events (after those stored).
    pub live: broadcast::Sender<pb::MarketEvent>,
    /// The store (events are read from it directly).
    pub store: Arc<Store>,
}

/// The engine.
#[allow(missing_debug_implementations)]
pub struct Engine {
    cfg: EngineConfig,
    chain: ChainHandle,
    store: Arc<Store>,
    committee: CommitteeDriver,
    rounds: BTreeMap<u64, RoundState>,
    subs: HashMap<(Kind, [u8; 32]), Submission>,
    queue: VecDeque<(Kind, [u8; 32])>,
    next_free: HashMap<[u8; 32], [u8; 32]>,
    /// Bids queued per account (they count against its unsettled limit).
    queued_bids: HashMap<[u8; 32], u32>,
    waiters: HashMap<(Kind, [u8; 32]), Vec<oneshot::Sender<Submission>>>,
    events: EventLog,
    arrival: u64,
    next_round: u64,
    /// One past the last round to run (`None`: no end).
    end_round: Option<u64>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
}

/// Answers a caller, who may have hung up meanwhile (then there is no one to tell).
fn answer<T>(reply: oneshot::Sender<T>, value: T) {
    if reply.send(value).is_err() {
        tracing::debug!("the caller hung up before its answer");
    }
}

/// Marks a send whose receiver being gone is expected and harmless.
fn drop_closed(closed: bool) {
    if closed {
        tracing::trace!("no receiver");
    }
}

fn b32(x: &Fr) -> [u8; 32] {
    let mut o = [0u8; 32];
    o.copy_from_slice(&wire::field_bytes(x));
    o
}

fn u256(b: &[u8; 32]) -> U256 {
    U256::from_be_bytes(*b)
}

fn phase_of(p: u8) -> pb::Phase {
    match p {
        1 => pb::Phase::Open,
        2 => pb::Phase::Bidding,
        3 => pb::Phase::Closed,
        4 => pb::Phase::Cleared,
        5 => pb::Phase::Settling,
        6 => pb::Phase::Finalized,
        _ => pb::Phase::Scheduled,
    }
}

impl Engine {
    /// Builds the engine from the store and the chain (reconciling what was stored with
    /// the contract), ready to [`Engine::run`].
    pub async fn start(
        cfg: EngineConfig,
        chain: ChainHandle,
        store: Arc<Store>,
        committee: CommitteeDriver,
    ) -> Result<(Engine, EngineHandle, mpsc::Receiver<Command>), String> {
        cfg.schedule.validate().map_err(|e| e.to_string())?;
        store
            .bind_market(cfg.deployment.market.as_slice())
            .map_err(|e| e.to_string())?;
        let (live, _) = broadcast::channel(4096);
        let (tx, rx) = mpsc::channel(1024);
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let events = EventLog {
            store: store.clone(),
            clock: cfg.clock.clone(),
            next: store.next_event().map_err(|e| e.to_string())?,
            live: live.clone(),
        };
        let now = cfg.clock.now();
        let first = cfg
            .plan
            .first
            .unwrap_or_else(|| cfg.schedule.next_biddable(now, 0));
        let mut engine = Engine {
            end_round: cfg.plan.count.map(|c| first.saturating_add(c)),
            cfg,
            chain,
            store: store.clone(),
            committee,
            rounds: BTreeMap::new(),
            subs: HashMap::new(),
            queue: VecDeque::new(),
            next_free: HashMap::new(),
            queued_bids: HashMap::new(),
            waiters: HashMap::new(),
            events,
            arrival: 0,
            next_round: first,
            internal_tx,
            internal_rx,
        };
        engine.recover().await?;
        let handle = EngineHandle { tx, live, store };
        Ok((engine, handle, rx))
    }

    /// Rebuilds state from the store and the chain.
    async fn recover(&mut self) -> Result<(), String> {
        let records = self.store.rounds().map_err(|e| e.to_string())?;
        for rec in records {
            let r = rec.times.round;
            let on_chain = self
                .chain
                .call(Market::roundsCall(r))
                .await
                .map_err(|e| format!("reading round {r}: {e}"))?;
            let audit = pb::AuditBundle::decode(rec.audit.as_slice()).unwrap_or_default();
            let phase = phase_of(on_chain.phase as u8);
            self.rounds.insert(
                r,
                RoundState {
                    times: rec.times,
                    phase,
                    bids: Vec::new(),
                    settlements: Vec::new(),
                    queued: 0,
                    clearing: audit.clearing.clone(),
                    finalization: audit.finalization.clone(),
                    audit,
                    busy: false,
                    retry_at: 0,
                },
            );
            self.next_round = self.next_round.max(r + 1);
        }
        let subs = self.store.submissions().map_err(|e| e.to_string())?;
        for mut s in subs {
            self.arrival = self.arrival.max(s.arrival + 1);
            let key = (s.kind, s.bid);
            // What the chain already has was relayed before the crash: never again.
            if s.state == SubmissionState::Queued {
                let bid = self
                    .chain
                    .call(Market::bidsCall(u256(&s.bid)))
                    .await
                    .map_err(|e| format!("reading a bid: {e}"))?;
                let there = match s.kind {
                    Kind::Bid => bid.state != 0,
                    Kind::Settlement => bid.state == 2,
                };
                if there {
                    s.state = SubmissionState::OnChain {
                        index: bid.index,
                        block: 0,
                        gas_used: 0,
                    };
                    self.store
                        .put_submissions(&[&s])
                        .map_err(|e| e.to_string())?;
                    tracing::info!(bid = %hex::encode(s.bid), kind = ?s.kind, "found on chain after restart");
                    // Relayed just before the crash: its event was never recorded.
                    let event = match s.kind {
                        Kind::Bid => pb::market_event::Event::BidAccepted(pb::BidAccepted {
                            bid: s.bid.to_vec(),
                            acct: s.acct.to_vec(),
                            index: bid.index,
                            block: 0,
                        }),
                        Kind::Settlement => {
                            pb::market_event::Event::SettlementAccepted(pb::SettlementAccepted {
                                bid: s.bid.to_vec(),
                                acct: s.acct.to_vec(),
                                p_out: Market::settleCall::abi_decode(&s.call)
                                    .map(|c| c.inp.pOut.to_be_bytes::<32>().to_vec())
                                    .unwrap_or_default(),
                                block: 0,
                            })
                        }
                    };
                    self.events.record(s.round, event);
                } else {
                    self.queue.push_back(key);
                    if s.kind == Kind::Bid {
                        self.next_free.insert(s.acct, s.f_new);
                        *self.queued_bids.entry(s.acct).or_default() += 1;
                    }
                }
            }
            if let Some(rs) = self.rounds.get_mut(&s.round) {
                match (&s.kind, &s.state) {
                    (_, SubmissionState::Queued) => rs.queued += 1,
                    (Kind::Bid, SubmissionState::OnChain { .. }) => {
                        if let Some(p) = posted_bid(&s) {
                            rs.bids.push((p, s.acct));
                        }
                    }
                    (Kind::Settlement, SubmissionState::OnChain { .. }) => {
                        if let Some(p) = posted_settlement(&s) {
                            rs.settlements.push(p);
                        }
                    }
                    _ => {}
                }
            }
            self.subs.insert(key, s);
        }
        for rs in self.rounds.values_mut() {
            rs.bids.sort_by_key(|(p, _)| {
                self.subs
                    .get(&(Kind::Bid, p.id.0))
                    .and_then(|s| match s.state {
                        SubmissionState::OnChain { index, .. } => Some(index),
                        _ => None,
                    })
                    .unwrap_or(u32::MAX)
            });
        }
        if !self.rounds.is_empty() || !self.queue.is_empty() {
            tracing::info!(
                rounds = self.rounds.len(),
                queued = self.queue.len(),
                "recovered from the store and the chain"
            );
        }
        Ok(())
    }

    /// Runs until the command channel closes (every handle dropped) or `shutdown`
    /// resolves; what is queued stays in the store for the next start.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let mut tick = tokio::time::interval(self.cfg.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            // Commands first; relay one queued submission only when none is waiting.
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                cmd = rx.recv() => match cmd {
                    Some(c) => self.handle(c).await,
                    None => break,
                },
                Some(i) = self.internal_rx.recv() => self.internal(i).await,
                _ = tick.tick() => self.on_tick().await,
                _ = std::future::ready(()), if !self.queue.is_empty() => self.relay_one().await,
            }
        }
        tracing::info!(queued = self.queue.len(), "engine stopped");
    }

    async fn handle(&mut self, c: Command) {
        match c {
            Command::SubmitBids { bids, reply } => {
                let r = self.submit_bids(bids).await;
                answer(reply, r);
            }
            Command::SubmitSettlement { settlement, reply } => {
                let r = self.submit_settlement(*settlement).await;
                answer(reply, r);
            }
            Command::Balance { call, reply, .. } => {
                let r = self
                    .chain
                    .transact_raw(call)
                    .await
                    .map_err(|e| Refusal::from_chain(&e));
                answer(reply, r);
            }
            Command::Wait { kind, bid, reply } => match self.subs.get(&(kind, bid)) {
                Some(s) if s.state != SubmissionState::Queued => {
                    answer(reply, s.clone());
                }
                Some(_) => self.waiters.entry((kind, bid)).or_default().push(reply),
                None => {}
            },
            Command::GetSubmission { kind, bid, reply } => {
                answer(reply, self.subs.get(&(kind, bid)).cloned());
            }
            Command::GetRound { round, reply } => {
                answer(reply, self.rounds.get(&round).map(status));
            }
            Command::ListRounds { reply } => {
                answer(reply, self.rounds.values().rev().map(status).collect());
            }
            Command::NextFree { acct, reply } => {
                answer(reply, self.next_free.get(&acct).copied());
            }
            Command::AuditBundle { round, reply } => {
                let r = match self.rounds.get(&round) {
                    None => Err(Refusal::not_found(format!("unknown-round: round {round}"))),
                    Some(rs) if rs.audit.clearing.is_none() => Err(Refusal::precondition(format!(
                        "not-cleared: round {round} is not cleared yet"
                    ))),
                    Some(rs) => Ok(rs.audit.clone()),
                };
                answer(reply, r);
            }
        }
    }

    fn check_queue_room(&self) -> Result<(), Refusal> {
        if self.queue.len() >= self.cfg.max_queue {
            return Err(Refusal::new(
                tonic::Code::ResourceExhausted,
                format!(
                    "queue-full: {} submissions wait to be relayed; retry later",
                    self.queue.len()
                ),
            ));
        }
        Ok(())
    }

    async fn check_bid(&mut self, b: &BidForm, now: u64) -> Result<Submission, Refusal> {
        self.check_queue_room()?;
        let rs = self.rounds.get(&b.round).ok_or_else(|| {
            Refusal::not_found(format!("unknown-round: round {} is not scheduled", b.round))
        })?;
        if rs.phase != pb::Phase::Bidding {
            return Err(Refusal::precondition(format!(
                "wrong-phase: round {} is {:?}, not bidding",
                b.round, rs.phase
            )));
        }
        if now + self.cfg.relay_margin_seconds >= rs.times.bid_deadline {
            return Err(Refusal::precondition(format!(
                "deadline-passed: bids for round {} closed at {}",
                b.round,
                rs.times.bid_deadline - self.cfg.relay_margin_seconds.min(rs.times.bid_deadline)
            )));
        }
        let id = b32(&b.bid);
        if self.subs.contains_key(&(Kind::Bid, id)) {
            return Err(Refusal::exists(format!(
                "duplicate: bid 0x{} was submitted before",
                hex::encode(id)
            )));
        }
        let acct = b32(&b.acct);
        let p = self
            .chain
            .call(Market::prosumersCall(u256(&acct)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if !p.registered {
            return Err(Refusal::precondition(format!(
                "not-registered: account 0x{}",
                hex::encode(acct)
            )));
        }
        if p.suspended {
            return Err(Refusal::precondition(format!(
                "suspended: account 0x{}",
                hex::encode(acct)
            )));
        }
        let queued_of_acct = self.queued_bids.get(&acct).copied().unwrap_or(0);
        if p.unsettled + queued_of_acct >= self.cfg.deployment.max_unsettled {
            return Err(Refusal::precondition(format!(
                "too-many-unsettled: account 0x{} has {} rounds unsettled and {} bids queued (limit {})",
                hex::encode(acct),
                p.unsettled,
                queued_of_acct,
                self.cfg.deployment.max_unsettled
            )));
        }
        if p.defaults >= self.cfg.deployment.max_defaults {
            return Err(Refusal::precondition(format!(
                "too-many-defaults: account 0x{} has {} defaults",
                hex::encode(acct),
                p.defaults
            )));
        }
        let expected = self
            .next_free
            .get(&acct)
            .copied()
            .unwrap_or_else(|| p.free.to_be_bytes::<32>());
        if expected != b32(&b.f_old) {
            return Err(Refusal::precondition(format!(
                "stale-balance: the proof starts from F_old 0x{}, the account's current commitment is 0x{}",
                hex::encode(b32(&b.f_old)),
                hex::encode(expected)
            )));
        }
        let s = Submission {
            kind: Kind::Bid,
            bid: id,
            acct,
            round: b.round,
            arrival: self.arrival,
            call: b.call.abi_encode(),
            f_old: b32(&b.f_old),
            f_new: b32(&b.f_new),
            state: SubmissionState::Queued,
        };
        Ok(s)
    }

    async fn submit_bids(&mut self, bids: Vec<BidForm>) -> Vec<Result<[u8; 32], Refusal>> {
        let now = self.cfg.clock.now();
        let mut results = Vec::with_capacity(bids.len());
        let mut fresh: Vec<Submission> = Vec::new();
        for b in &bids {
            // Bids of one batch may chain one account's balance: count the earlier ones.
            match self.check_bid(b, now).await {
                Ok(s) => {
                    self.arrival += 1;
                    self.next_free.insert(s.acct, s.f_new);
                    self.subs.insert((Kind::Bid, s.bid), s.clone());
                    self.queue.push_back((Kind::Bid, s.bid));
                    *self.queued_bids.entry(s.acct).or_default() += 1;
                    results.push(Ok(s.bid));
                    fresh.push(s);
                }
                Err(r) => results.push(Err(r)),
            }
        }
        if fresh.is_empty() {
            return results;
        }
        let refs: Vec<&Submission> = fresh.iter().collect();
        if let Err(e) = self.store.put_submissions(&refs) {
            // Not durable: take every one of them back.
            tracing::error!(%e, "bids could not be stored");
            for s in &fresh {
                self.subs.remove(&(Kind::Bid, s.bid));
                self.queue.retain(|k| *k != (Kind::Bid, s.bid));
                self.unqueue_bid(&s.acct);
            }
            self.rebuild_next_free();
            return results
                .into_iter()
                .map(|r| r.and(Err(Refusal::unavailable(format!("store-failed: {e}")))))
                .collect();
        }
        for s in &fresh {
            if let Some(rs) = self.rounds.get_mut(&s.round) {
                rs.queued += 1;
            }
        }
        results
    }

    fn unqueue_bid(&mut self, acct: &[u8; 32]) {
        if let Some(n) = self.queued_bids.get_mut(acct) {
            *n -= 1;
            if *n == 0 {
                self.queued_bids.remove(acct);
            }
        }
    }

    fn rebuild_next_free(&mut self) {
        self.next_free.clear();
        for k in &self.queue {
            if let Some(s) = self.subs.get(k) {
                if s.kind == Kind::Bid {
                    self.next_free.insert(s.acct, s.f_new);
                }
            }
        }
    }

    async fn submit_settlement(&mut self, s: SettleForm) -> Result<[u8; 32], Refusal> {
        self.check_queue_room()?;
        let now = self.cfg.clock.now();
        let rs = self.rounds.get(&s.round).ok_or_else(|| {
            Refusal::not_found(format!("unknown-round: round {} is not scheduled", s.round))
        })?;
        if !matches!(rs.phase, pb::Phase::Cleared | pb::Phase::Settling) {
            return Err(Refusal::precondition(format!(
                "wrong-phase: round {} is {:?}, not cleared",
                s.round, rs.phase
            )));
        }
        if now < rs.times.settle_start {
            return Err(Refusal::precondition(format!(
                "too-early: settlement of round {} opens at {}",
                s.round, rs.times.settle_start
            )));
        }
        if now + self.cfg.relay_margin_seconds > rs.times.settle_deadline {
            return Err(Refusal::precondition(format!(
                "deadline-passed: settlement of round {} closed at {}",
                s.round, rs.times.settle_deadline
            )));
        }
        let id = b32(&s.bid);
        if self.subs.contains_key(&(Kind::Settlement, id)) {
            return Err(Refusal::exists(format!(
                "already-settled: a settlement of bid 0x{} was submitted before",
                hex::encode(id)
            )));
        }
        let bid = self
            .chain
            .call(Market::bidsCall(u256(&id)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if bid.state == 0 {
            return Err(Refusal::not_found(format!(
                "unknown-bid: 0x{} is not a bid on chain",
                hex::encode(id)
            )));
        }
        if bid.round != s.round {
            return Err(Refusal::invalid(format!(
                "wrong-round: bid 0x{} belongs to round {}",
                hex::encode(id),
                bid.round
            )));
        }
        if bid.state != 1 {
            return Err(Refusal::exists(format!(
                "already-settled: bid 0x{} is settled or defaulted",
                hex::encode(id)
            )));
        }
        let included = self
            .chain
            .call(Market::isIncludedCall {
                round: s.round,
                index: bid.index,
            })
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        let r = self
            .chain
            .call(Market::roundsCall(s.round))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        let expected = if included {
            r.clearing
        } else {
            // A bid left out of the histograms settles against the not-cleared
            // clearing (PROTOCOL §5): the clearing of empty histograms.
            let zeros = vec![0u64; self.cfg.params.levels];
            let none =
                sealgrid_circuits::market::clear(&zeros, &zeros, 0, self.cfg.params.k_anonymity)
                    .map_err(|e| Refusal::internal(format!("clearing: {e}")))?;
            sealgrid_verifier_contract::calldata::fr(&none.pack())
        };
        if expected != u256(&b32(&s.clearing)) {
            return Err(Refusal::precondition(format!(
                "wrong-clearing: the proof settles against another clearing than round {}'s",
                s.round
            )));
        }
        let acct = b32(&s.acct);
        let p = self
            .chain
            .call(Market::prosumersCall(u256(&acct)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if p.meterId != u256(&b32(&s.meter_id)) {
            return Err(Refusal::precondition(format!(
                "wrong-meter: account 0x{}'s meter is another",
                hex::encode(acct)
            )));
        }
        let payout = self
            .chain
            .call(Market::payoutsCall(u256(&b32(&s.p_out))))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if payout != 0 {
            return Err(Refusal::exists(
                "payout-exists: the payout commitment is taken".to_owned(),
            ));
        }
        let sub = Submission {
            kind: Kind::Settlement,
            bid: id,
            acct,
            round: s.round,
            arrival: self.arrival,
            call: s.call.abi_encode(),
            f_old: [0; 32],
            f_new: [0; 32],
            state: SubmissionState::Queued,
        };
        self.store
            .put_submissions(&[&sub])
            .map_err(|e| Refusal::unavailable(format!("store-failed: {e}")))?;
        self.arrival += 1;
        self.subs.insert((Kind::Settlement, id), sub);
        self.queue.push_back((Kind::Settlement, id));
        if let Some(rs) = self.rounds.get_mut(&s.round) {
            rs.queued += 1;
        }
        Ok(id)
    }

    /// Relays the oldest queued submission.
    async fn relay_one(&mut self) {
        let Some(key) = self.queue.front().copied() else {
            return;
        };
        let Some(sub) = self.subs.get(&key).cloned() else {
            self.queue.pop_front();
            return;
        };
        let result = self.chain.transact_raw(sub.call.clone()).await;
        let mut sub = sub;
        match result {
            Ok(receipt) => {
                self.queue.pop_front();
                let index = match sub.kind {
                    Kind::Bid => receipt
                        .logs
                        .iter()
                        .find_map(|l| Market::BidSubmitted::decode_log_data(&l.data).ok())
                        .map(|e| e.index)
                        .unwrap_or(0),
                    Kind::Settlement => 0,
                };
                let block = self.chain.block_number().await.unwrap_or(0);
                sub.state = SubmissionState::OnChain {
                    index,
                    block,
                    gas_used: receipt.gas_used,
                };
                self.on_relayed(&sub, index, block);
            }
            Err(e) => {
                let refusal = Refusal::from_chain(&e);
                if refusal.code == tonic::Code::Unavailable {
                    // The chain is unreachable: keep it queued and try again later.
                    tracing::warn!(error = %e, "relay failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    return;
                }
                self.queue.pop_front();
                tracing::warn!(bid = %hex::encode(sub.bid), kind = ?sub.kind, error = %refusal.message, "the contract refused a queued submission");
                sub.state = SubmissionState::Failed {
                    error: refusal.message,
                };
            }
        }
        if let Err(e) = self.store.put_submissions(&[&sub]) {
            tracing::error!(%e, "a relayed submission's state could not be stored");
        }
        if let Some(rs) = self.rounds.get_mut(&sub.round) {
            rs.queued = rs.queued.saturating_sub(1);
        }
        if sub.kind == Kind::Bid {
            self.unqueue_bid(&sub.acct);
        }
        if sub.kind == Kind::Bid && self.next_free.get(&sub.acct) == Some(&sub.f_new) {
            self.next_free.remove(&sub.acct);
        }
        if matches!(sub.state, SubmissionState::Failed { .. }) {
            self.rebuild_next_free();
        }
        self.subs.insert(key, sub.clone());
        for w in self.waiters.remove(&key).unwrap_or_default() {
            answer(w, sub.clone());
        }
    }

    fn on_relayed(&mut self, sub: &Submission, index: u32, block: u64) {
        let round = sub.round;
        match sub.kind {
            Kind::Bid => {
                if let (Some(p), Some(rs)) = (posted_bid(sub), self.rounds.get_mut(&round)) {
                    rs.bids.push((p, sub.acct));
                }
                self.events.record(
                    round,
                    pb::market_event::Event::BidAccepted(pb::BidAccepted {
                        bid: sub.bid.to_vec(),
                        acct: sub.acct.to_vec(),
                        index,
                        block,
                    }),
                );
            }
            Kind::Settlement => {
                let p_out = Market::settleCall::abi_decode(&sub.call)
                    .map(|c| c.inp.pOut.to_be_bytes::<32>().to_vec())
                    .unwrap_or_default();
                if let (Some(p), Some(rs)) = (posted_settlement(sub), self.rounds.get_mut(&round)) {
                    rs.settlements.push(p);
                    if rs.phase == pb::Phase::Cleared {
                        rs.phase = pb::Phase::Settling;
                    }
                }
                self.events.record(
                    round,
                    pb::market_event::Event::SettlementAccepted(pb::SettlementAccepted {
                        bid: sub.bid.to_vec(),
                        acct: sub.acct.to_vec(),
                        p_out,
                        block,
                    }),
                );
            }
        }
    }

    fn save_round(&self, r: u64) {
        if let Some(rs) = self.rounds.get(&r) {
            let rec = RoundRecord {
                times: rs.times,
                audit: rs.audit.encode_to_vec(),
            };
            if let Err(e) = self.store.put_round(&rec) {
                tracing::error!(round = r, %e, "a round record could not be stored");
            }
        }
    }

    async fn on_tick(&mut self) {
        let now = self.cfg.clock.now();
        // Open the rounds whose bidding window has begun.
        loop {
            let r = self.next_round;
            if self.end_round.is_some_and(|end| r >= end) {
                break;
            }
            let t = self.cfg.schedule.times(r);
            let first_planned = self.cfg.plan.first == Some(r);
            if now < t.open_at && !first_planned {
                break;
            }
            self.next_round += 1;
            if now >= t.bid_deadline {
                tracing::warn!(
                    round = r,
                    "its bidding window passed before it could open; skipped"
                );
                continue;
            }
            self.open_round(t).await;
        }
        let rounds: Vec<u64> = self.rounds.keys().copied().collect();
        for r in rounds {
            let Some(rs) = self.rounds.get(&r) else {
                continue;
            };
            if rs.busy || now < rs.retry_at {
                continue;
            }
            let (phase, times, queued) = (rs.phase, rs.times, rs.queued);
            let (has_clearing, has_finalization) =
                (rs.audit.clearing.is_some(), rs.audit.finalization.is_some());
            match phase {
                pb::Phase::Bidding if now >= times.bid_deadline && queued == 0 => {
                    self.close_round(r).await;
                }
                pb::Phase::Closed => self.start_clearing(r),
                // After a restart: posted, but its record (and audit bundle) was lost.
                pb::Phase::Cleared | pb::Phase::Settling | pb::Phase::Finalized
                    if !has_clearing =>
                {
                    self.start_clearing(r)
                }
                pb::Phase::Cleared | pb::Phase::Settling
                    if now > times.settle_deadline && queued == 0 =>
                {
                    self.start_finalizing(r);
                }
                pb::Phase::Finalized if !has_finalization => self.start_finalizing(r),
                _ => {}
            }
        }
    }

    async fn open_round(&mut self, t: RoundTimes) {
        let r = t.round;
        let mut phase = pb::Phase::Scheduled;
        let existing = self.chain.call(Market::roundsCall(r)).await;
        let on_chain = existing.map(|x| x.phase).unwrap_or(0);
        if on_chain == 0 {
            match self
                .chain
                .transact(Market::openRoundCall {
                    round: r,
                    bidDeadline: t.bid_deadline,
                    settleStart: t.settle_start,
                    settleDeadline: t.settle_deadline,
                })
                .await
            {
                Ok(_) => phase = pb::Phase::Open,
                Err(e) => tracing::error!(round = r, error = %e, "openRound failed"),
            }
        } else {
            phase = phase_of(on_chain);
        }
        if phase == pb::Phase::Open {
            match self
                .chain
                .transact(Market::startBiddingCall { round: r })
                .await
            {
                Ok(_) => phase = pb::Phase::Bidding,
                Err(e) => tracing::error!(round = r, error = %e, "startBidding failed"),
            }
        }
        self.rounds.insert(
            r,
            RoundState {
                times: t,
                phase,
                bids: Vec::new(),
                settlements: Vec::new(),
                queued: 0,
                clearing: None,
                finalization: None,
                audit: pb::AuditBundle {
                    round: r,
                    ..Default::default()
                },
                busy: false,
                retry_at: 0,
            },
        );
        self.save_round(r);
        if phase == pb::Phase::Bidding {
            tracing::info!(
                round = r,
                bid_deadline = t.bid_deadline,
                "round open for bids"
            );
            self.events.record(
                r,
                pb::market_event::Event::Opened(pb::RoundOpened {
                    bid_deadline: t.bid_deadline,
                    settle_start: t.settle_start,
                    settle_deadline: t.settle_deadline,
                }),
            );
        }
    }

    async fn close_round(&mut self, r: u64) {
        match self
            .chain
            .transact(Market::closeRoundCall { round: r })
            .await
        {
            Ok(_) => {
                let bids = self.rounds.get(&r).map(|rs| rs.bids.len()).unwrap_or(0) as u32;
                if let Some(rs) = self.rounds.get_mut(&r) {
                    rs.phase = pb::Phase::Closed;
                }
                tracing::info!(round = r, bids, "round closed");
                self.events
                    .record(r, pb::market_event::Event::Closed(pb::RoundClosed { bids }));
            }
            Err(e) => {
                tracing::error!(round = r, error = %e, "closeRound failed");
                self.backoff(r);
            }
        }
    }

    fn backoff(&mut self, r: u64) {
        let now = self.cfg.clock.now();
        if let Some(rs) = self.rounds.get_mut(&r) {
            rs.retry_at = now + 2;
        }
    }

    fn chain_round(&self) -> RoundReader {
        RoundReader {
            chain: self.chain.client(),
            market: self.cfg.deployment.market,
            from: self.cfg.deployment.deployment_block,
        }
    }

    fn start_clearing(&mut self, r: u64) {
        let Some(rs) = self.rounds.get_mut(&r) else {
            return;
        };
        if rs.bids.is_empty() && rs.phase == pb::Phase::Closed {
            // Nothing to decrypt and nothing locked: the round stays closed.
            return;
        }
        rs.busy = true;
        let slots = 2 * self.cfg.params.levels + 1;
        let read = self.chain_round();
        let driver = self.committee.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = async {
                let (bids, _) = read.round(r).await?;
                let mut agg = Aggregator::new(r, slots);
                for p in &bids {
                    if let Err(why) = agg.push(p) {
                        tracing::warn!(round = r, bid = %hex::encode(p.id.0), ?why, "left out of the aggregate");
                    }
                }
                let report = agg.finish().map_err(|e| e.to_string())?;
                driver.clear(r, report).await.map(Box::new)
            }
            .await;
            // The engine may be gone (shut down): then the result is moot.
            drop_closed(tx.send(Internal::Cleared(r, result)).is_err());
        });
    }

    fn start_finalizing(&mut self, r: u64) {
        let Some(rs) = self.rounds.get_mut(&r) else {
            return;
        };
        rs.busy = true;
        let read = self.chain_round();
        let driver = self.committee.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = async {
                let (bids, settlements) = read.round(r).await?;
                driver.finalize(r, bids, settlements).await.map(Box::new)
            }
            .await;
            drop_closed(tx.send(Internal::Finalized(r, result)).is_err());
        });
    }

    async fn internal(&mut self, i: Internal) {
        match i {
            Internal::Cleared(r, Ok(c)) => self.post_clearing(r, *c).await,
            Internal::Finalized(r, Ok(f)) => self.post_finalization(r, *f).await,
            Internal::Cleared(r, Err(e)) | Internal::Finalized(r, Err(e)) => {
                tracing::error!(round = r, error = %e, "the committee step failed; retrying");
                if let Some(rs) = self.rounds.get_mut(&r) {
                    rs.busy = false;
                }
                self.backoff(r);
            }
        }
    }

    async fn post_clearing(&mut self, r: u64, c: Cleared) {
        let o = &c.outcome;
        let call = Market::clearCall {
            round: r,
            hBuy: o.h_buy.clone(),
            hSell: o.h_sell.clone(),
            included: bitmap_words(&c.bitmap),
            sigs: c.signatures.iter().map(market_signature).collect(),
        };
        let already = self
            .rounds
            .get(&r)
            .is_some_and(|rs| rs.phase as i32 >= pb::Phase::Cleared as i32);
        let result = if already {
            // A restart after the clearing was posted: only the record is missing. It
            // must be the clearing the chain holds.
            match self.chain.call(Market::roundsCall(r)).await {
                Ok(on)
                    if on.clearing
                        == U256::from_be_slice(&wire::field_bytes(&o.clearing.pack())) =>
                {
                    Ok(())
                }
                Ok(_) => Err("the committee's clearing is not the one on chain".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            self.chain
                .transact(call)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let block = self.chain.block_number().await.unwrap_or(0);
        let Some(rs) = self.rounds.get_mut(&r) else {
            return;
        };
        rs.busy = false;
        match result {
            Ok(()) => {
                let clearing = pb::Clearing {
                    cleared: o.clearing.cleared,
                    level: o.clearing.level as u32,
                    price: self.cfg.params.price(o.clearing.level),
                    volume: o.clearing.volume,
                    packed: wire::field_bytes(&o.clearing.pack()),
                    h_buy: o.h_buy.clone(),
                    h_sell: o.h_sell.clone(),
                    included: o.included.len() as u32,
                    inclusion_bitmap: c.bitmap.iter().map(|w| w.to_vec()).collect(),
                };
                if !already {
                    rs.phase = pb::Phase::Cleared;
                }
                rs.clearing = Some(clearing.clone());
                rs.audit.clearing_partials = c
                    .partials
                    .iter()
                    .map(cpb::PartialDecryption::from)
                    .collect();
                rs.audit.included = o.included.iter().map(|b| b.0.to_vec()).collect();
                rs.audit.excluded = sealgrid_proto::convert::exclusions_to_pb(&o.excluded);
                rs.audit.clearing = Some(clearing.clone());
                rs.audit.clearing_signatures = c.signatures.iter().map(|s| s.0.to_vec()).collect();
                tracing::info!(
                    round = r,
                    cleared = clearing.cleared,
                    level = clearing.level,
                    volume = clearing.volume,
                    "round cleared"
                );
                self.save_round(r);
                self.events.record(
                    r,
                    pb::market_event::Event::Cleared(pb::RoundCleared {
                        clearing: Some(clearing),
                        block,
                    }),
                );
            }
            Err(e) => {
                tracing::error!(round = r, error = %e, "clear failed");
                self.backoff(r);
            }
        }
    }

    async fn post_finalization(&mut self, r: u64, f: Finalized) {
        let totals = Market::FlowTotals {
            pay: U256::from(f.totals.pay),
            credit: U256::from(f.totals.credit),
            penalty: U256::from(f.totals.penalty),
            defaultedLocks: U256::from(f.totals.defaulted_locks),
        };
        let call = Market::finalizeCall {
            round: r,
            totals,
            defaulted: f
                .defaulters
                .iter()
                .map(|b| U256::from_be_bytes(b.0))
                .collect(),
            sigs: f.signatures.iter().map(market_signature).collect(),
        };
        let already = self
            .rounds
            .get(&r)
            .is_some_and(|rs| rs.phase == pb::Phase::Finalized);
        let totals = (f.totals.pay as i64) + (f.totals.penalty as i64) - (f.totals.credit as i64)
            + (f.totals.defaulted_locks as i64);
        let result = if already {
            // A restart after the finalization was posted: only the record is missing.
            Ok(totals)
        } else {
            self.chain
                .transact(call)
                .await
                .map(|receipt| {
                    receipt
                        .logs
                        .iter()
                        .find_map(|l| Market::RoundFinalized::decode_log_data(&l.data).ok())
                        .map(|e| i64::try_from(e.toOperator).unwrap_or(0))
                        .unwrap_or(totals)
                })
                .map_err(|e| e.to_string())
        };
        let block = self.chain.block_number().await.unwrap_or(0);
        let Some(rs) = self.rounds.get_mut(&r) else {
            return;
        };
        rs.busy = false;
        match result {
            Ok(to_operator) => {
                let fin = pb::Finalization {
                    totals: Some(cpb::FinalizeTotals::from(&f.totals)),
                    defaulted: f.defaulters.iter().map(|b| b.0.to_vec()).collect(),
                    to_operator,
                };
                rs.phase = pb::Phase::Finalized;
                rs.finalization = Some(fin.clone());
                rs.audit.settlement_partials = f
                    .flow_partials
                    .iter()
                    .map(cpb::PartialDecryption::from)
                    .collect();
                rs.audit.defaulted_partials = f
                    .lock_partials
                    .iter()
                    .map(cpb::PartialDecryption::from)
                    .collect();
                rs.audit.finalization = Some(fin.clone());
                rs.audit.finalize_signatures = f.signatures.iter().map(|s| s.0.to_vec()).collect();
                tracing::info!(round = r, defaulted = f.defaulters.len(), "round finalized");
                self.save_round(r);
                self.events.record(
                    r,
                    pb::market_event::Event::Finalized(pb::RoundFinalized {
                        finalization: Some(fin),
                        block,
                    }),
                );
            }
            Err(e) => {
                tracing::error!(round = r, error = %e, "finalize failed");
                self.backoff(r);
            }
        }
    }
}

/// Reads a round's accepted bids and settlements as the chain's events show them: the
/// committee's inputs come from the chain, not from what this coordinator relayed
/// (anyone may post to the contract directly).
struct RoundReader {
    chain: crate::chain::ChainClient,
    market: alloy_primitives::Address,
    from: u64,
}

impl RoundReader {
    async fn round(&self, r: u64) -> Result<(Vec<PostedBid>, Vec<PostedSettlement>), String> {
        let (market, from) = (self.market, self.from);
        self.chain
            .run(move |c| {
                let evs = events::market_events(c, market, from)
                    .map_err(|e| ChainError::Backend(e.to_string()))?;
                let bids =
                    events::posted_bids(&evs, r).map_err(|e| ChainError::Backend(e.to_string()))?;
                Ok((bids, events::posted_settlements(&evs, r)))
            })
            .await
            .map_err(|e| format!("reading round {r} from the chain: {e}"))
    }
}

fn posted_bid(s: &Submission) -> Option<PostedBid> {
    let c = Market::submitBidCall::abi_decode(&s.call).ok()?;
    let ciphertexts = ciphertexts_of(&c.ciphertexts)?;
    Some(PostedBid {
        id: BidId(s.bid),
        ciphertexts,
        digest: Fr::from_be_bytes_mod_order(&c.inp.digest.to_be_bytes::<32>()),
    })
}

fn posted_settlement(s: &Submission) -> Option<PostedSettlement> {
    let c = Market::settleCall::abi_decode(&s.call).ok()?;
    let ciphertexts = ciphertexts_of(&c.ciphertexts)?;
    Some(PostedSettlement {
        id: BidId(s.bid),
        ciphertexts,
        digest: Fr::from_be_bytes_mod_order(&c.inp.digest.to_be_bytes::<32>()),
    })
}

fn ciphertexts_of(words: &[U256]) -> Option<FlowCiphertexts> {
    sealgrid_verifier_contract::events::flow_ciphertexts(words)
}

fn status(rs: &RoundState) -> pb::RoundStatus {
    pb::RoundStatus {
        round: rs.times.round,
        phase: rs.phase as i32,
        open_at: rs.times.open_at,
        bid_deadline: rs.times.bid_deadline,
        settle_start: rs.times.settle_start,
        settle_deadline: rs.times.settle_deadline,
        bids_on_chain: rs.bids.len() as u32,
        bids_queued: rs.queued as u32,
        clearing: rs.clearing.clone(),
        settled: rs.settlements.len() as u32,
        finalization: rs.finalization.clone(),
    }
}
