//! The engine: the one task that owns round state. gRPC handlers check a submission's
//! form and proof (stateless, on the blocking pool), then hand it here; the engine checks
//! it against the round and the account (stateful), stores it durably, answers, and
//! relays queued submissions to the contract in arrival order, in batches, whenever no
//! command is waiting. A clock tick opens, closes, clears and finalizes rounds; the
//! committee's work runs in its own tasks and reports back here.
//!
//! Restart: the store holds every submission with its state, the schedule of every
//! round and the event log. At start the engine reads each stored round's phase from the
//! contract, and for each queued submission asks the contract whether it is already
//! there (then it is marked on chain, never sent twice) before relaying the rest.

mod admission;
mod balance;
mod error;
mod events;
mod recovery;
mod relay;
mod rounds;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::U256;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::deploy::MarketDeployment;
use sealgrid_verifier_contract::Receipt;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use error::EngineError;
pub use events::EventLog;

use crate::chain::ChainHandle;
use crate::committee::{Cleared, CommitteeDriver, Finalized};
use crate::refusal::Refusal;
use crate::schedule::{Clock, RoundTimes, Schedule};
use crate::store::{Kind, Store, Submission, SubmissionState};
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
    /// The most bids (or settlements) relayed in one transaction.
    pub relay_batch: usize,
    /// The most batched transactions sent before their receipts are awaited.
    pub relay_in_flight: usize,
    /// How long the first queued submission may wait for a fuller batch.
    pub relay_linger: Duration,
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
    /// A balance update checked for form and proof, checked against the account and the
    /// token, and relayed at once (after the account's queued bids, if it follows them).
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

/// A committee step's result, reported back by its task.
enum Internal {
    Cleared(u64, Result<Box<Cleared>, EngineError>),
    Finalized(u64, Result<Box<Finalized>, EngineError>),
    /// Anyone expired the round on chain (the committee did not finalize in time).
    Expired(u64),
}

/// What the engine knows of a round.
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
    /// Finalization attempts the committee refused since this process started.
    finalize_refusals: u32,
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
    /// The last item of a batch the contract refused: until it has left the queue,
    /// submissions are relayed one by one.
    singles_until: Option<(Kind, [u8; 32])>,
    /// The queue's front and since when the relay has seen it there (the linger).
    front_since: Option<((Kind, [u8; 32]), std::time::Instant)>,
    /// Items a refused batch named as refused: relayed alone, between batches.
    held: std::collections::HashSet<(Kind, [u8; 32])>,
    /// Whether the next relay turn is a held item's.
    held_turn: bool,
    /// Batches in a row that failed at the node (not the contract).
    batch_unavailable: u32,
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

impl Engine {
    /// Builds the engine from the store and the chain (reconciling what was stored with
    /// the contract), ready to [`Engine::run`].
    pub async fn start(
        cfg: EngineConfig,
        chain: ChainHandle,
        store: Arc<Store>,
        committee: CommitteeDriver,
    ) -> Result<(Engine, EngineHandle, mpsc::Receiver<Command>), EngineError> {
        cfg.schedule.validate()?;
        store.bind_market(cfg.deployment.market.as_slice())?;
        let (live, _) = broadcast::channel(4096);
        let (tx, rx) = mpsc::channel(1024);
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let events = EventLog::new(
            store.clone(),
            cfg.clock.clone(),
            store.next_event()?,
            live.clone(),
        );
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
            singles_until: None,
            front_since: None,
            held: std::collections::HashSet::new(),
            held_turn: false,
            batch_unavailable: 0,
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
                    Some(Command::Balance { call, form, reply }) => {
                        self.balance_run((call, form, reply), &mut rx).await
                    }
                    Some(c) => self.handle(c).await,
                    None => break,
                },
                Some(i) = self.internal_rx.recv() => self.internal(i).await,
                _ = tick.tick() => self.on_tick().await,
                _ = std::future::ready(()), if !self.queue.is_empty() => self.relay_next().await,
            }
        }
        tracing::info!(queued = self.queue.len(), "engine stopped");
    }

    /// Balance updates relayed together ([`Engine::relay_balances`]): `first` and those
    /// waiting right behind it in `rx`, up to `relay_batch`. They arrived while the
    /// engine was busy (with the previous update's receipt, say); the first other
    /// command found behind them is handled after them, in its turn, so that a bid
    /// sent after a deposit's answer still finds the deposit on chain.
    async fn balance_run(
        &mut self,
        first: balance::BalanceUpdate,
        rx: &mut mpsc::Receiver<Command>,
    ) {
        let mut updates = vec![first];
        let mut next = None;
        while updates.len() < self.cfg.relay_batch {
            match rx.try_recv() {
                Ok(Command::Balance { call, form, reply }) => updates.push((call, form, reply)),
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        self.relay_balances(updates).await;
        if let Some(c) = next {
            self.handle(c).await;
        }
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
            Command::Balance { call, form, reply } => {
                self.relay_balances(vec![(call, form, reply)]).await;
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
                answer(reply, self.rounds.get(&round).map(events::status));
            }
            Command::ListRounds { reply } => {
                answer(
                    reply,
                    self.rounds.values().rev().map(events::status).collect(),
                );
            }
            Command::NextFree { acct, reply } => {
                answer(reply, self.next_free.get(&acct).copied());
            }
            Command::AuditBundle { round, reply } => {
                answer(reply, self.audit_bundle(round));
            }
        }
    }
}
