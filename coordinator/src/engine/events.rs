//! What the engine tells the world: the numbered event log (stored, then broadcast), the
//! round records with their audit bundles, and a round's status as the service shows it.

use std::sync::Arc;

use prost::Message;
use sealgrid_proto::market::v1 as pb;
use tokio::sync::broadcast;

use super::{drop_closed, Engine, RoundState};
use crate::refusal::{Reason, Refusal};
use crate::schedule::Clock;
use crate::store::{RoundRecord, Store, StoreError, Submission};

/// The event log: numbered, stored, broadcast.
#[derive(Debug)]
pub struct EventLog {
    store: Arc<Store>,
    clock: Clock,
    next: u64,
    live: broadcast::Sender<pb::MarketEvent>,
}

impl EventLog {
    /// A log whose next event gets number `next`, stamped by `clock`.
    pub(super) fn new(
        store: Arc<Store>,
        clock: Clock,
        next: u64,
        live: broadcast::Sender<pb::MarketEvent>,
    ) -> EventLog {
        EventLog {
            store,
            clock,
            next,
            live,
        }
    }

    /// Stores the event, then sends it to the live subscribers.
    pub(super) fn record(&mut self, round: u64, event: pb::market_event::Event) {
        let e = self.numbered(round, event);
        if let Err(err) = self.store.put_event(self.next, &e.encode_to_vec()) {
            tracing::error!(%err, "an event could not be stored");
            return;
        }
        self.sent(e);
    }

    /// Stores a submission's new state with the event it causes, in one transaction and
    /// once per submission (a restart that finds the submission on chain again does not
    /// repeat its event), then sends the event to the live subscribers.
    pub(super) fn record_for(
        &mut self,
        sub: &Submission,
        event: pb::market_event::Event,
    ) -> Result<(), StoreError> {
        let e = self.numbered(sub.round, event);
        if self
            .store
            .put_submission_event(sub, self.next, &e.encode_to_vec())?
        {
            self.sent(e);
        }
        Ok(())
    }

    fn numbered(&self, round: u64, event: pb::market_event::Event) -> pb::MarketEvent {
        pb::MarketEvent {
            sequence: self.next,
            round,
            time: self.clock.now(),
            event: Some(event),
        }
    }

    fn sent(&mut self, e: pb::MarketEvent) {
        self.next += 1;
        // No live subscriber is fine: the event is stored.
        drop_closed(self.live.send(e).is_err());
    }
}

impl Engine {
    /// Stores a round's schedule and audit bundle (what a restart cannot read back
    /// from the chain).
    pub(super) fn save_round(&self, r: u64) {
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

    /// A round's audit bundle, once the round is cleared.
    pub(super) fn audit_bundle(&self, round: u64) -> Result<pb::AuditBundle, Refusal> {
        match self.rounds.get(&round) {
            None => Err(Refusal::new(Reason::UnknownRound, format!("round {round}"))),
            Some(rs) if rs.audit.clearing.is_none() => Err(Refusal::new(
                Reason::NotCleared,
                format!("round {round} is not cleared yet"),
            )),
            Some(rs) => Ok(rs.audit.clone()),
        }
    }
}

/// A round's status as the service reports it.
pub(super) fn status(rs: &RoundState) -> pb::RoundStatus {
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
