//! Admission: a submission whose form and proof the service checked is checked here
//! against the round and the account (stateful), then stored durably and queued for the
//! relay. Bids of one batch may chain one account's balance, so each check counts the
//! bids queued before it.

use alloy_sol_types::SolCall;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::state::{BidState, PayoutState};

use super::{b32, u256, Engine};
use crate::refusal::{Reason, Refusal};
use crate::store::{Kind, Submission, SubmissionState};
use crate::wire::{BidForm, SettleForm};

impl Engine {
    fn check_queue_room(&self) -> Result<(), Refusal> {
        if self.queue.len() >= self.cfg.max_queue {
            return Err(Refusal::new(
                Reason::QueueFull,
                format!(
                    "{} submissions wait to be relayed; retry later",
                    self.queue.len()
                ),
            ));
        }
        Ok(())
    }

    async fn check_bid(&mut self, b: &BidForm, now: u64) -> Result<Submission, Refusal> {
        self.check_queue_room()?;
        let rs = self.rounds.get(&b.round).ok_or_else(|| {
            Refusal::new(
                Reason::UnknownRound,
                format!("round {} is not scheduled", b.round),
            )
        })?;
        if rs.phase != pb::Phase::Bidding {
            return Err(Refusal::new(
                Reason::WrongPhase,
                format!("round {} is {:?}, not bidding", b.round, rs.phase),
            ));
        }
        if now + self.cfg.relay_margin_seconds >= rs.times.bid_deadline {
            return Err(Refusal::new(
                Reason::DeadlinePassed,
                format!(
                    "bids for round {} closed at {}",
                    b.round,
                    rs.times.bid_deadline
                        - self.cfg.relay_margin_seconds.min(rs.times.bid_deadline)
                ),
            ));
        }
        let id = b32(&b.bid);
        if self.subs.contains_key(&(Kind::Bid, id)) {
            return Err(Refusal::new(
                Reason::Duplicate,
                format!("bid 0x{} was submitted before", hex::encode(id)),
            ));
        }
        let on_chain = self
            .chain
            .call(Market::bidsCall(u256(&id)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if BidState::try_from(on_chain.state) != Ok(BidState::None) {
            // Posted to the contract directly: nothing to relay.
            return Err(Refusal::new(
                Reason::Duplicate,
                format!(
                    "bid 0x{} is on chain already (index {})",
                    hex::encode(id),
                    on_chain.index
                ),
            ));
        }
        let acct = b32(&b.acct);
        let p = self
            .chain
            .call(Market::prosumersCall(u256(&acct)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if !p.registered {
            return Err(Refusal::new(
                Reason::NotRegistered,
                format!("account 0x{}", hex::encode(acct)),
            ));
        }
        if p.suspended {
            return Err(Refusal::new(
                Reason::Suspended,
                format!("account 0x{}", hex::encode(acct)),
            ));
        }
        // One bid per account per round (the contract refuses a second,
        // `AccountAlreadyBid`): one queued here, or one the chain holds.
        let queued_in_round = self.queue.iter().any(|k| {
            k.0 == Kind::Bid
                && self
                    .subs
                    .get(k)
                    .is_some_and(|s| s.acct == acct && s.round == b.round)
        });
        let on_chain = self
            .chain
            .call(Market::hasBidCall {
                round: b.round,
                acct: u256(&acct),
            })
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if queued_in_round || on_chain {
            return Err(Refusal::new(
                Reason::AccountAlreadyBid,
                format!(
                    "account 0x{} already has a bid in round {}",
                    hex::encode(acct),
                    b.round
                ),
            ));
        }
        let queued_of_acct = self.queued_bids.get(&acct).copied().unwrap_or(0);
        if p.unsettled + queued_of_acct >= self.cfg.deployment.max_unsettled {
            return Err(Refusal::new(
                Reason::TooManyUnsettled,
                format!(
                    "account 0x{} has {} rounds unsettled and {} bids queued (limit {})",
                    hex::encode(acct),
                    p.unsettled,
                    queued_of_acct,
                    self.cfg.deployment.max_unsettled
                ),
            ));
        }
        if p.defaults >= self.cfg.deployment.max_defaults {
            return Err(Refusal::new(
                Reason::TooManyDefaults,
                format!(
                    "account 0x{} has {} defaults",
                    hex::encode(acct),
                    p.defaults
                ),
            ));
        }
        let expected = self
            .next_free
            .get(&acct)
            .copied()
            .unwrap_or_else(|| p.free.to_be_bytes::<32>());
        if expected != b32(&b.f_old) {
            return Err(Refusal::new(
                Reason::StaleBalance,
                format!(
                    "the proof starts from F_old 0x{}, the account's current commitment is 0x{}",
                    hex::encode(b32(&b.f_old)),
                    hex::encode(expected)
                ),
            ));
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

    pub(super) async fn submit_bids(
        &mut self,
        bids: Vec<BidForm>,
    ) -> Vec<Result<[u8; 32], Refusal>> {
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
                .map(|r| r.and(Err(Refusal::new(Reason::StoreFailed, &e))))
                .collect();
        }
        for s in &fresh {
            if let Some(rs) = self.rounds.get_mut(&s.round) {
                rs.queued += 1;
            }
        }
        results
    }

    pub(super) fn unqueue_bid(&mut self, acct: &[u8; 32]) {
        if let Some(n) = self.queued_bids.get_mut(acct) {
            *n -= 1;
            if *n == 0 {
                self.queued_bids.remove(acct);
            }
        }
    }

    pub(super) fn rebuild_next_free(&mut self) {
        self.next_free.clear();
        for k in &self.queue {
            if let Some(s) = self.subs.get(k) {
                if s.kind == Kind::Bid {
                    self.next_free.insert(s.acct, s.f_new);
                }
            }
        }
    }

    pub(super) async fn submit_settlement(&mut self, s: SettleForm) -> Result<[u8; 32], Refusal> {
        self.check_queue_room()?;
        let now = self.cfg.clock.now();
        let rs = self.rounds.get(&s.round).ok_or_else(|| {
            Refusal::new(
                Reason::UnknownRound,
                format!("round {} is not scheduled", s.round),
            )
        })?;
        if !matches!(rs.phase, pb::Phase::Cleared | pb::Phase::Settling) {
            return Err(Refusal::new(
                Reason::WrongPhase,
                format!("round {} is {:?}, not cleared", s.round, rs.phase),
            ));
        }
        if now < rs.times.settle_start {
            return Err(Refusal::new(
                Reason::TooEarly,
                format!(
                    "settlement of round {} opens at {}",
                    s.round, rs.times.settle_start
                ),
            ));
        }
        let id = b32(&s.bid);
        if self.subs.contains_key(&(Kind::Settlement, id)) {
            return Err(Refusal::new(
                Reason::AlreadySettled,
                format!(
                    "a settlement of bid 0x{} was submitted before",
                    hex::encode(id)
                ),
            ));
        }
        let bid = self
            .chain
            .call(Market::bidsCall(u256(&id)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        let state = BidState::try_from(bid.state);
        if state == Ok(BidState::None) {
            return Err(Refusal::new(
                Reason::UnknownBid,
                format!("0x{} is not a bid on chain", hex::encode(id)),
            ));
        }
        if bid.round != s.round {
            return Err(Refusal::new(
                Reason::WrongRound,
                format!("bid 0x{} belongs to round {}", hex::encode(id), bid.round),
            ));
        }
        if state != Ok(BidState::Live) {
            return Err(Refusal::new(
                Reason::AlreadySettled,
                format!("bid 0x{} is settled or defaulted", hex::encode(id)),
            ));
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
            .call(Market::roundsCall { round: s.round })
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        // The effective deadline: a late clear (or a void) moved it on chain (PROTOCOL §8).
        let settle_end = r.settleEnd.max(rs.times.settle_deadline);
        if now + self.cfg.relay_margin_seconds > settle_end {
            return Err(Refusal::new(
                Reason::DeadlinePassed,
                format!("settlement of round {} closed at {settle_end}", s.round),
            ));
        }
        let expected = if included {
            r.clearing
        } else {
            // A bid left out of the histograms settles against the not-cleared
            // clearing (PROTOCOL §5), packed as the contract packs it.
            sealgrid_verifier_contract::calldata::fr(
                &sealgrid_circuits::market::Clearing::NOT_CLEARED.pack(),
            )
        };
        if expected != u256(&b32(&s.clearing)) {
            return Err(Refusal::new(
                Reason::WrongClearing,
                format!(
                    "the proof settles against another clearing than round {}'s",
                    s.round
                ),
            ));
        }
        let acct = b32(&s.acct);
        let p = self
            .chain
            .call(Market::prosumersCall(u256(&acct)))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if p.meterId != u256(&b32(&s.meter_id)) {
            return Err(Refusal::new(
                Reason::WrongMeter,
                format!("account 0x{}'s meter is another", hex::encode(acct)),
            ));
        }
        let payout = self
            .chain
            .call(Market::payoutsCall(u256(&b32(&s.p_out))))
            .await
            .map_err(|e| Refusal::from_chain(&e))?;
        if PayoutState::try_from(payout.state) != Ok(PayoutState::None) {
            return Err(Refusal::new(
                Reason::PayoutExists,
                "the payout commitment is taken",
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
            .map_err(|e| Refusal::new(Reason::StoreFailed, e))?;
        self.arrival += 1;
        self.subs.insert((Kind::Settlement, id), sub);
        self.queue.push_back((Kind::Settlement, id));
        if let Some(rs) = self.rounds.get_mut(&s.round) {
            rs.queued += 1;
        }
        Ok(id)
    }
}
