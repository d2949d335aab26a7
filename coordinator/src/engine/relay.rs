//! The relay: queued submissions go to the contract in arrival order, runs of bids (or
//! settlements) together in one batched transaction, up to `relay_in_flight` batched
//! transactions sent before their receipts are awaited; what the contract accepted
//! joins its round, what it refused is marked failed.
//!
//! Balance updates (deposits, withdrawals) are not queued: they are relayed at once,
//! those that arrive together in one `transact_many` (`balance.rs`).

use std::collections::HashMap;
use std::time::Duration;

use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use ark_ff::PrimeField;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_committee::BidId;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;

use sealgrid_verifier_contract::state::BidState;

use super::{answer, u256, Engine};
use crate::refusal::{Reason, Refusal};
use crate::store::{Kind, Submission, SubmissionState};

/// A batch: its queue keys and their submissions, in order.
type Batch = (Vec<(Kind, [u8; 32])>, Vec<Submission>);

/// Where a submission the contract calls a replay stands on chain.
enum Found {
    /// In a block: the bid's index (0 for a settlement).
    Landed(u32),
    /// Not in a block yet (waiting in a node's mempool): look again later.
    Pending,
    /// The bid was defaulted (a settlement that can no longer land).
    Gone,
}

impl Engine {
    /// Relays what is first in the queue: the longest run of queued submissions of the
    /// front's kind, up to `relay_batch`, in one `submitBids` or `settleBatch`
    /// transaction (one alone through [`Engine::relay_one`]). The contract takes a batch
    /// whole or not at all: a refused batch is relayed again one by one, so that only
    /// the item the contract refuses fails and the others land.
    pub(super) async fn relay_next(&mut self) {
        // An item a refused batch named as the one refused goes alone, between batches.
        self.held.retain(|k| self.queue.contains(k));
        self.held_turn = !self.held_turn;
        if self.held_turn {
            if let Some(&k) = self.held.iter().next() {
                return self.relay_key(k).await;
            }
        }
        if self.lingering() {
            // Commands are served between these short waits.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return;
        }
        let keys = self.next_batch();
        let subs: Vec<Submission> = keys
            .iter()
            .filter_map(|k| self.subs.get(k).cloned())
            .collect();
        if keys.len() < 2 || subs.len() != keys.len() {
            return self.relay_one().await;
        }
        let Some(call) = batch_call(&subs) else {
            // A stored call that does not decode: let the single path deal with it.
            self.singles_until = keys.last().copied();
            return;
        };
        let mut batches = vec![(keys, subs)];
        let mut calls = vec![call];
        // More batches behind it, sent before the first receipt is awaited (in nonce
        // order): on a chain with real blocks they share the next block.
        for (keys, subs) in self.more_batches(batches[0].0.len()) {
            let Some(call) = batch_call(&subs) else {
                break;
            };
            calls.push(call);
            batches.push((keys, subs));
        }
        if batches.len() == 1 {
            let (keys, subs) = batches.pop().expect("one batch");
            match self.chain.transact_raw(calls.remove(0)).await {
                Ok(receipt) => {
                    self.batch_unavailable = 0;
                    self.batch_landed(keys, subs, receipt).await
                }
                Err(e) => self.batch_refused(keys, subs, e).await,
            }
            return;
        }
        tracing::debug!(batches = batches.len(), "batches in flight");
        let results = self.chain.transact_many_raw(calls).await;
        // What landed first (its items leave the queue), then the first refusal decides
        // as it would alone; a later refused batch stays queued and goes again. The count
        // of the node's refusals in a row goes back to 0 only when every batch landed, so
        // that a batch the node keeps refusing while the ones behind it land still goes
        // one by one after three.
        let mut refused = None;
        for ((keys, subs), r) in batches.into_iter().zip(results) {
            match r {
                Ok(receipt) => self.batch_landed(keys, subs, receipt).await,
                Err(e) if refused.is_none() => refused = Some((keys, subs, e)),
                Err(e) => tracing::warn!(
                    error = %e,
                    items = keys.len(),
                    "a later batch in flight did not land; its items stay queued"
                ),
            }
        }
        match refused {
            Some((keys, subs, e)) => self.batch_refused(keys, subs, e).await,
            None => self.batch_unavailable = 0,
        }
    }

    /// The batches behind the first (`skip` items at the queue's front, not held), up
    /// to `relay_in_flight` − 1 of them: each a run of one kind of at least two items,
    /// up to `relay_batch`; none while items of a refused batch go one by one.
    fn more_batches(&self, skip: usize) -> Vec<Batch> {
        let mut out = Vec::new();
        if self.cfg.relay_in_flight < 2 || self.singles_until.is_some() {
            return out;
        }
        let mut rest = self
            .queue
            .iter()
            .filter(|k| !self.held.contains(k))
            .skip(skip)
            .copied()
            .peekable();
        while out.len() + 1 < self.cfg.relay_in_flight {
            let Some(&(kind, _)) = rest.peek() else {
                break;
            };
            let mut keys = Vec::new();
            while keys.len() < self.cfg.relay_batch {
                match rest.peek() {
                    Some(k) if k.0 == kind => keys.push(rest.next().expect("peeked")),
                    _ => break,
                }
            }
            let subs: Vec<Submission> = keys
                .iter()
                .filter_map(|k| self.subs.get(k).cloned())
                .collect();
            if keys.len() < 2 || subs.len() != keys.len() {
                break;
            }
            out.push((keys, subs));
        }
        out
    }

    /// A batch the contract accepted: its items are on chain.
    async fn batch_landed(
        &mut self,
        keys: Vec<(Kind, [u8; 32])>,
        subs: Vec<Submission>,
        receipt: sealgrid_verifier_contract::Receipt,
    ) {
        let block = receipt.block;
        // Each item's share of the batch's gas.
        let share = receipt.gas_used / subs.len() as u64;
        let indices: HashMap<U256, u32> = receipt
            .logs
            .iter()
            .filter_map(|l| Market::BidSubmitted::decode_log_data(&l.data).ok())
            .map(|e| (e.bid, e.index))
            .collect();
        tracing::debug!(items = subs.len(), gas = receipt.gas_used, "batch relayed");
        for (key, mut sub) in keys.into_iter().zip(subs) {
            self.unqueue(key);
            let index = match sub.kind {
                Kind::Bid => indices.get(&u256(&sub.bid)).copied().unwrap_or(0),
                Kind::Settlement => 0,
            };
            sub.state = SubmissionState::OnChain {
                index,
                block,
                gas_used: share,
            };
            self.finish(key, sub);
        }
    }

    /// A batch that did not land: the node's failure is retried, the contract's refusal
    /// sends the item it names alone, or every item alone.
    async fn batch_refused(
        &mut self,
        keys: Vec<(Kind, [u8; 32])>,
        subs: Vec<Submission>,
        e: sealgrid_verifier_contract::ChainError,
    ) {
        let refusal = Refusal::from_chain(&e);
        if refusal.code() == tonic::Code::Unavailable {
            // The node, not the contract: unreachable, or refusing this
            // transaction (too large for its blocks, say). Three times in a row,
            // and the batch's items go one by one.
            self.batch_unavailable += 1;
            if self.batch_unavailable < 3 {
                tracing::warn!(error = %e, "relay failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                return;
            }
            self.batch_unavailable = 0;
            tracing::warn!(error = %e, items = keys.len(), "a batch failed three times; relaying its items one by one");
            self.singles_until = keys.last().copied();
            return;
        }
        // A settlement batch sent as the window opens, before the chain's time
        // has caught up with the engine's clock: the same batch again, not one
        // transaction per settlement (a block each on a real chain).
        let first = subs[0].round;
        if subs[0].kind == Kind::Settlement
            && refusal.reason == Reason::TooEarly
            && subs.iter().all(|s| s.round == first)
            && self.wait_for_settlement_start(first).await
        {
            return;
        }
        // The revert names the item it refused (a bid posted directly meanwhile,
        // an account suspended or its balance moved): that one goes alone, the
        // others stay batched. Otherwise every item goes alone.
        if let Some(k) = culprit(&e, &keys, &subs) {
            tracing::info!(
                items = keys.len(),
                error = %refusal.message,
                bid = %hex::encode(k.1),
                "the contract refused a batch for one item; relaying it alone"
            );
            self.held.insert(k);
            self.held_turn = false;
            return;
        }
        tracing::info!(
            items = keys.len(),
            error = %refusal.message,
            "the contract refused a batch; relaying its items one by one"
        );
        self.singles_until = keys.last().copied();
    }

    /// A settlement refused as too early although admission saw the engine's clock past
    /// the settlement start: the chain's latest block may be older (a node that mines
    /// only on transactions, or the next block not produced yet), and the simulation ran
    /// at its time. Brings the chain's time on (an empty block on an instant-mining node)
    /// and waits a little; true if the round's window is still open, so the caller tries
    /// the same submission (or batch) again.
    async fn wait_for_settlement_start(&mut self, round: u64) -> bool {
        let window = self
            .rounds
            .get(&round)
            .map(|rs| (rs.times.settle_start, rs.times.settle_deadline));
        let Some((start, end)) = window else {
            return false;
        };
        if self.cfg.clock.now() >= end {
            return false;
        }
        if let Err(e) = self
            .chain_round()
            .past(round, start.saturating_sub(1))
            .await
        {
            tracing::debug!(%e, "the chain's time is behind the settlement start");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        true
    }

    /// Whether the relay waits for the front's batch to fill: the front has been there
    /// less than `relay_linger` and its run is shorter than `relay_batch`.
    fn lingering(&mut self) -> bool {
        let linger = self.cfg.relay_linger;
        let Some(&front) = self.queue.front() else {
            return false;
        };
        // No linger for the items of a refused batch, relayed one by one.
        let singles = self.singles_until.is_some_and(|k| self.queue.contains(&k));
        if linger.is_zero() || singles {
            return false;
        }
        let since = match self.front_since {
            Some((k, t)) if k == front => t,
            _ => {
                let now = std::time::Instant::now();
                self.front_since = Some((front, now));
                now
            }
        };
        let run = self
            .queue
            .iter()
            .take_while(|k| k.0 == front.0)
            .take(self.cfg.relay_batch)
            .count();
        since.elapsed() < linger && run < self.cfg.relay_batch
    }

    /// The next batch: the queue's front and the submissions of the same kind right
    /// behind it, up to `relay_batch`; none while the items of a refused batch are
    /// still being relayed one by one.
    fn next_batch(&mut self) -> Vec<(Kind, [u8; 32])> {
        if let Some(k) = self.singles_until {
            if self.queue.contains(&k) {
                return Vec::new();
            }
            self.singles_until = None;
        }
        let Some(&(kind, _)) = self.queue.iter().find(|k| !self.held.contains(k)) else {
            return Vec::new();
        };
        self.queue
            .iter()
            .filter(|k| !self.held.contains(k))
            .take_while(|k| k.0 == kind)
            .take(self.cfg.relay_batch)
            .copied()
            .collect()
    }

    /// Relays the oldest queued submission. One the contract refuses as already there
    /// (`BidReplay`, `AlreadySettled`) was sent before, by this coordinator before a
    /// restart (and may still wait in a node's mempool) or by its submitter directly: it
    /// is looked up on chain and marked on chain once it is in a block, never failed.
    pub(super) async fn relay_one(&mut self) {
        let Some(key) = self
            .queue
            .iter()
            .find(|k| !self.held.contains(k))
            .or(self.queue.front())
            .copied()
        else {
            return;
        };
        self.relay_key(key).await;
    }

    /// Relays the queued submission `key` alone (see [`Engine::relay_one`]).
    async fn relay_key(&mut self, key: (Kind, [u8; 32])) {
        let Some(sub) = self.subs.get(&key).cloned() else {
            self.unqueue(key);
            return;
        };
        let result = self.chain.transact_raw(sub.call.clone()).await;
        let mut sub = sub;
        match result {
            Ok(receipt) => {
                self.unqueue(key);
                let index = match sub.kind {
                    Kind::Bid => receipt
                        .logs
                        .iter()
                        .find_map(|l| Market::BidSubmitted::decode_log_data(&l.data).ok())
                        .map(|e| e.index)
                        .unwrap_or(0),
                    Kind::Settlement => 0,
                };
                sub.state = SubmissionState::OnChain {
                    index,
                    block: receipt.block,
                    gas_used: receipt.gas_used,
                };
            }
            Err(e) => {
                let refusal = Refusal::from_chain(&e);
                if refusal.code() == tonic::Code::Unavailable {
                    // The chain is unreachable: keep it queued and try again later.
                    tracing::warn!(error = %e, "relay failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    return;
                }
                if sub.kind == Kind::Settlement
                    && refusal.reason == Reason::TooEarly
                    && self.wait_for_settlement_start(sub.round).await
                {
                    return;
                }
                let replay = matches!(
                    (sub.kind, refusal.reason),
                    (Kind::Bid, Reason::Duplicate) | (Kind::Settlement, Reason::AlreadySettled)
                );
                match if replay {
                    self.found(&sub).await
                } else {
                    Found::Gone
                } {
                    Found::Landed(index) => {
                        tracing::info!(bid = %hex::encode(sub.bid), kind = ?sub.kind, "already on chain");
                        self.unqueue(key);
                        sub.state = SubmissionState::OnChain {
                            index,
                            block: 0,
                            gas_used: 0,
                        };
                    }
                    Found::Pending => {
                        // Sent, not yet in a block: it stays first in the queue.
                        tracing::info!(bid = %hex::encode(sub.bid), kind = ?sub.kind, "sent before, not yet in a block; looking again");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        return;
                    }
                    Found::Gone => {
                        self.unqueue(key);
                        tracing::warn!(bid = %hex::encode(sub.bid), kind = ?sub.kind, error = %refusal.message, "the contract refused a queued submission");
                        sub.state = SubmissionState::Failed {
                            error: refusal.message,
                        };
                    }
                }
            }
        }
        self.finish(key, sub);
    }

    /// Takes `key` out of the queue (usually its front).
    fn unqueue(&mut self, key: (Kind, [u8; 32])) {
        if self.queue.front() == Some(&key) {
            self.queue.pop_front();
        } else {
            self.queue.retain(|k| *k != key);
        }
        self.held.remove(&key);
    }

    /// A relayed submission's new state: stored (with its event once on chain), its
    /// round and account counters updated, its waiters answered.
    fn finish(&mut self, key: (Kind, [u8; 32]), sub: Submission) {
        if let SubmissionState::OnChain { index, block, .. } = sub.state {
            // The new state and its event in one transaction, once.
            self.on_relayed(&sub, index, block);
        } else if let Err(e) = self.store.put_submissions(&[&sub]) {
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

    /// Whether a submission the contract calls a replay is in a block (read on the
    /// latest block, where the simulation read the pending state).
    async fn found(&self, sub: &Submission) -> Found {
        let Ok(bid) = self.chain.call(Market::bidsCall(u256(&sub.bid))).await else {
            return Found::Pending;
        };
        let state = BidState::try_from(bid.state);
        match (sub.kind, state) {
            (Kind::Bid, Ok(BidState::None)) => Found::Pending,
            (Kind::Bid, _) => Found::Landed(bid.index),
            (Kind::Settlement, Ok(BidState::Settled)) => Found::Landed(0),
            (Kind::Settlement, Ok(BidState::Live)) => Found::Pending,
            (Kind::Settlement, _) => Found::Gone,
        }
    }

    /// A submission on chain: its round learns of it, and its new state and event are
    /// stored together.
    pub(super) fn on_relayed(&mut self, sub: &Submission, index: u32, block: u64) {
        let round = sub.round;
        let event = match sub.kind {
            Kind::Bid => {
                if let (Some(p), Some(rs)) = (posted_bid(sub), self.rounds.get_mut(&round)) {
                    rs.bids.push((p, sub.acct));
                }
                pb::market_event::Event::BidAccepted(pb::BidAccepted {
                    bid: sub.bid.to_vec(),
                    acct: sub.acct.to_vec(),
                    index,
                    block,
                })
            }
            Kind::Settlement => {
                if let (Some(p), Some(rs)) = (posted_settlement(sub), self.rounds.get_mut(&round)) {
                    rs.settlements.push(p);
                    if rs.phase == pb::Phase::Cleared {
                        rs.phase = pb::Phase::Settling;
                    }
                }
                pb::market_event::Event::SettlementAccepted(settlement_accepted(sub, block))
            }
        };
        if let Err(e) = self.events.record_for(sub, event) {
            tracing::error!(%e, "a relayed submission's state could not be stored");
        }
    }
}

/// The item of a refused batch (`keys`, `subs`) that the contract's revert names: by
/// its bid, its account or its payout commitment. `None` when the revert names none
/// (or another contract's error).
fn culprit(
    e: &sealgrid_verifier_contract::ChainError,
    keys: &[(Kind, [u8; 32])],
    subs: &[Submission],
) -> Option<(Kind, [u8; 32])> {
    use Market::MarketErrors as ME;
    let by_bid = |kind: Kind, bid: U256| {
        keys.iter()
            .zip(subs)
            .find(|(_, s)| s.kind == kind && u256(&s.bid) == bid)
            .map(|(k, _)| *k)
    };
    let by_acct = |acct: U256| {
        keys.iter()
            .zip(subs)
            .find(|(_, s)| s.kind == Kind::Bid && u256(&s.acct) == acct)
            .map(|(k, _)| *k)
    };
    match e.decode::<ME>()? {
        ME::BidReplay(x) => by_bid(Kind::Bid, x.bid),
        ME::UnknownBid(x) => by_bid(Kind::Settlement, x.bid),
        ME::AlreadySettled(x) => by_bid(Kind::Settlement, x.bid),
        ME::AccountAlreadyBid(x) => by_acct(x.acct),
        ME::StaleBalance(x) => by_acct(x.acct),
        ME::NotRegistered(x) => by_acct(x.acct),
        ME::AccountSuspended(x) => by_acct(x.acct),
        ME::TooManyUnsettled(x) => by_acct(x.acct),
        ME::TooManyDefaults(x) => by_acct(x.acct),
        ME::PayoutExists(x) => keys
            .iter()
            .zip(subs)
            .find(|(_, s)| {
                s.kind == Kind::Settlement
                    && Market::settleCall::abi_decode(&s.call).is_ok_and(|c| c.inp.pOut == x.payout)
            })
            .map(|(k, _)| *k),
        _ => None,
    }
}

/// One `submitBids` (or `settleBatch`) call carrying `subs`, all of one kind, each
/// stored as its single `submitBid` (or `settle`) call; `None` if one does not decode.
fn batch_call(subs: &[Submission]) -> Option<Vec<u8>> {
    match subs.first()?.kind {
        Kind::Bid => {
            let items = subs
                .iter()
                .map(|s| {
                    let c = Market::submitBidCall::abi_decode(&s.call).ok()?;
                    Some(Market::BidItem {
                        proof: c.proof,
                        inp: c.inp,
                        ciphertexts: c.ciphertexts,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Market::submitBidsCall { items }.abi_encode())
        }
        Kind::Settlement => {
            let items = subs
                .iter()
                .map(|s| {
                    let c = Market::settleCall::abi_decode(&s.call).ok()?;
                    Some(Market::SettleItem {
                        proof: c.proof,
                        inp: c.inp,
                        ciphertexts: c.ciphertexts,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Market::settleBatchCall { items }.abi_encode())
        }
    }
}

/// The `SettlementAccepted` event of a settlement.
pub(super) fn settlement_accepted(sub: &Submission, block: u64) -> pb::SettlementAccepted {
    pb::SettlementAccepted {
        bid: sub.bid.to_vec(),
        acct: sub.acct.to_vec(),
        p_out: Market::settleCall::abi_decode(&sub.call)
            .map(|c| c.inp.pOut.to_be_bytes::<32>().to_vec())
            .unwrap_or_default(),
        block,
    }
}

pub(super) fn posted_bid(s: &Submission) -> Option<PostedBid> {
    let c = Market::submitBidCall::abi_decode(&s.call).ok()?;
    let ciphertexts = ciphertexts_of(&c.ciphertexts)?;
    Some(PostedBid {
        id: BidId(s.bid),
        ciphertexts,
        digest: Fr::from_be_bytes_mod_order(&c.inp.digest.to_be_bytes::<32>()),
        acct: Some(sealgrid_committee::AccountId(s.acct)),
    })
}

pub(super) fn posted_settlement(s: &Submission) -> Option<PostedSettlement> {
    let c = Market::settleCall::abi_decode(&s.call).ok()?;
    let ciphertexts = ciphertexts_of(&c.ciphertexts)?;
    Some(PostedSettlement {
        id: BidId(s.bid),
        ciphertexts,
        digest: Fr::from_be_bytes_mod_order(&c.inp.digest.to_be_bytes::<32>()),
        acct: None,
    })
}

fn ciphertexts_of(words: &[U256]) -> Option<FlowCiphertexts> {
    sealgrid_verifier_contract::events::flow_ciphertexts(words)
}
