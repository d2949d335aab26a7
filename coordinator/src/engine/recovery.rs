//! Restart: the engine's state rebuilt from the store and the chain. What the chain
//! already holds was relayed before the crash and is never sent again.

use prost::Message;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::state::{BidState, Phase};

use super::relay::{posted_bid, posted_settlement, settlement_accepted};
use super::{u256, Engine, EngineError, RoundState};
use crate::store::{Kind, SubmissionState};

/// The service's phase of a round whose contract phase is `raw` (`rounds(r).phase`);
/// a round the contract has not opened (or a value it never writes) is scheduled.
pub(super) fn phase_of(raw: u8) -> pb::Phase {
    match Phase::try_from(raw) {
        Ok(Phase::Open) => pb::Phase::Open,
        Ok(Phase::Bidding) => pb::Phase::Bidding,
        Ok(Phase::Closed) => pb::Phase::Closed,
        Ok(Phase::Cleared) => pb::Phase::Cleared,
        Ok(Phase::Settling) => pb::Phase::Settling,
        Ok(Phase::Finalized) => pb::Phase::Finalized,
        Ok(Phase::Expired) => pb::Phase::Expired,
        Ok(Phase::None) | Err(_) => pb::Phase::Scheduled,
    }
}

impl Engine {
    /// Rebuilds state from the store and the chain.
    pub(super) async fn recover(&mut self) -> Result<(), EngineError> {
        let records = self.store.rounds()?;
        for rec in records {
            let r = rec.times.round;
            let on_chain = self
                .chain
                .call(Market::roundsCall { round: r })
                .await
                .map_err(|source| EngineError::ReadRound { round: r, source })?;
            let audit = pb::AuditBundle::decode(rec.audit.as_slice()).unwrap_or_default();
            let phase = phase_of(on_chain.phase);
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
                    finalize_refusals: 0,
                },
            );
            self.next_round = self.next_round.max(r + 1);
        }
        let subs = self.store.submissions()?;
        for mut s in subs {
            self.arrival = self.arrival.max(s.arrival + 1);
            let key = (s.kind, s.bid);
            // What the chain already has was relayed before the crash: never again.
            if s.state == SubmissionState::Queued {
                let bid = self
                    .chain
                    .call(Market::bidsCall(u256(&s.bid)))
                    .await
                    .map_err(EngineError::ReadBid)?;
                let state = BidState::try_from(bid.state);
                let there = match s.kind {
                    Kind::Bid => state != Ok(BidState::None),
                    Kind::Settlement => state == Ok(BidState::Settled),
                };
                if there {
                    s.state = SubmissionState::OnChain {
                        index: bid.index,
                        block: 0,
                        gas_used: 0,
                    };
                    tracing::info!(bid = %hex::encode(s.bid), kind = ?s.kind, "found on chain after restart");
                    // Relayed just before the crash: its state and event are stored now,
                    // together, and the event only if it was not stored before.
                    let event = match s.kind {
                        Kind::Bid => pb::market_event::Event::BidAccepted(pb::BidAccepted {
                            bid: s.bid.to_vec(),
                            acct: s.acct.to_vec(),
                            index: bid.index,
                            block: 0,
                        }),
                        Kind::Settlement => {
                            pb::market_event::Event::SettlementAccepted(settlement_accepted(&s, 0))
                        }
                    };
                    self.events.record_for(&s, event)?;
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
}
