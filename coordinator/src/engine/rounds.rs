//! The round lifecycle, driven by the clock: open a round and start its bidding, close
//! it at the deadline once its queued bids are relayed, have the committee clear it and
//! post the clearing, then after the settlement window finalize it. The committee's work
//! runs in its own tasks and reports back through [`Internal`].

use alloy_primitives::U256;
use alloy_sol_types::SolEvent;
use sealgrid_committee::aggregate::{Aggregator, PostedBid};
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_proto::committee::v1 as cpb;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::state::Phase;
use sealgrid_verifier_contract::{events, ChainError};

use super::recovery::phase_of;
use super::{drop_closed, Engine, EngineError, Internal, RoundState};
use crate::committee::{market_signature, Cleared, Finalized};
use crate::schedule::RoundTimes;
use crate::wire;
use sealgrid_verifier_contract::committee::bitmap_words;

impl Engine {
    /// Opens the rounds whose time has come and moves each round on when its phase's
    /// condition holds.
    pub(super) async fn on_tick(&mut self) {
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
                pb::Phase::Closed => self.start_clearing(r).await,
                // After a restart: posted, but its record (and audit bundle) was lost.
                pb::Phase::Cleared | pb::Phase::Settling | pb::Phase::Finalized
                    if !has_clearing =>
                {
                    self.start_clearing(r).await
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
        let existing = self.chain.call(Market::roundsCall { round: r }).await;
        let on_chain = existing.map(|x| x.phase).unwrap_or(Phase::None.into());
        if Phase::try_from(on_chain) == Ok(Phase::None) {
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
                finalize_refusals: 0,
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
                // Someone else may have closed it (anyone may, past the deadline), or
                // cleared it already: go on from the chain's phase, not from ours.
                if !self.resync_phase(r).await {
                    self.backoff(r);
                }
            }
        }
    }

    /// After a failed step: re-reads round `r`'s phase from the chain and, if the chain
    /// is past the phase this coordinator holds (someone else closed or cleared the
    /// round), takes the chain's state and returns true (nothing to retry). A round
    /// someone else cleared is recorded with the clearing the chain holds
    /// ([`Self::adopt_chain_clearing`]). False if the chain is where we are, or cannot
    /// be read: the step is retried after a backoff.
    async fn resync_phase(&mut self, r: u64) -> bool {
        let on_chain = match self.chain.call(Market::roundsCall { round: r }).await {
            Ok(x) => phase_of(x.phase),
            Err(e) => {
                tracing::warn!(round = r, error = %e, "the round's phase could not be read");
                return false;
            }
        };
        let Some(rs) = self.rounds.get_mut(&r) else {
            return true;
        };
        if on_chain as i32 <= rs.phase as i32 {
            return false;
        }
        tracing::warn!(round = r, ours = ?rs.phase, chain = ?on_chain,
            "the chain is past this coordinator's phase: taking the chain's");
        if on_chain == pb::Phase::Closed {
            rs.phase = on_chain;
            let bids = rs.bids.len() as u32;
            self.save_round(r);
            self.events
                .record(r, pb::market_event::Event::Closed(pb::RoundClosed { bids }));
            return true;
        }
        if rs.clearing.is_some() {
            rs.phase = on_chain;
            self.save_round(r);
            return true;
        }
        self.adopt_chain_clearing(r, on_chain).await
    }

    /// Round `r` was cleared on chain by a transaction this coordinator did not send (or
    /// whose clearing it holds no record of): records the chain's clearing (from its
    /// `RoundCleared` event: the histograms are not in it) and stops trying to clear.
    async fn adopt_chain_clearing(&mut self, r: u64, on_chain: pb::Phase) -> bool {
        let (market, from) = (
            self.cfg.deployment.market,
            self.cfg.deployment.deployment_block,
        );
        let event = self
            .chain
            .client()
            .run(move |c| {
                let evs = events::market_events(c, market, from)
                    .map_err(|e| ChainError::Backend(e.to_string()))?;
                Ok(evs.into_iter().find_map(|e| match e.event {
                    events::MarketEvents::RoundCleared(c) if c.round == r => Some(c),
                    _ => None,
                }))
            })
            .await;
        let c = match event {
            Ok(Some(c)) => c,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(round = r, error = %e, "the round's clearing could not be read");
                return false;
            }
        };
        let level = u32::try_from(c.level).unwrap_or(u32::MAX);
        let clearing = pb::Clearing {
            cleared: c.cleared,
            level,
            price: self.cfg.params.price(level as usize),
            volume: u64::try_from(c.volume).unwrap_or(u64::MAX),
            packed: c.packed.to_be_bytes::<32>().to_vec(),
            h_buy: Vec::new(),
            h_sell: Vec::new(),
            included: c.includedBids,
            inclusion_bitmap: Vec::new(),
        };
        let block = self.chain.block_number().await.unwrap_or(0);
        let Some(rs) = self.rounds.get_mut(&r) else {
            return true;
        };
        tracing::error!(round = r, cleared = c.cleared, included = c.includedBids,
            "the round was cleared on chain without this coordinator's clearing: recording the chain's");
        rs.phase = on_chain;
        rs.busy = false;
        rs.clearing = Some(clearing.clone());
        rs.audit.clearing = Some(clearing.clone());
        self.save_round(r);
        self.events.record(
            r,
            pb::market_event::Event::Cleared(pb::RoundCleared {
                clearing: Some(clearing),
                block,
            }),
        );
        true
    }

    fn backoff(&mut self, r: u64) {
        let now = self.cfg.clock.now();
        if let Some(rs) = self.rounds.get_mut(&r) {
            rs.retry_at = now + 2;
        }
    }

    pub(super) fn chain_round(&self) -> RoundReader {
        RoundReader {
            chain: self.chain.client(),
            market: self.cfg.deployment.market,
            from: self.cfg.deployment.deployment_block,
        }
    }

    async fn start_clearing(&mut self, r: u64) {
        let Some(rs) = self.rounds.get(&r) else {
            return;
        };
        if rs.bids.is_empty() && rs.phase == pb::Phase::Closed {
            // Bids posted directly to the contract count as well as relayed ones: the
            // chain's bid count decides. With none, nothing is locked: the round stays
            // closed.
            match self.chain.call(Market::roundsCall { round: r }).await {
                Ok(on) if on.bids == 0 => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(round = r, error = %e, "reading the round failed");
                    self.backoff(r);
                    return;
                }
            }
        }
        let Some(rs) = self.rounds.get_mut(&r) else {
            return;
        };
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
                let report = agg.finish()?;
                driver
                    .clear(r, report)
                    .await
                    .map(Box::new)
                    .map_err(EngineError::Committee)
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
        // The committee refuses a finalization for good when it would open the flows of
        // fewer settlements than the k-anonymity floor; asked again it refuses again.
        // Once it has refused, and the contract lets anyone end the round (one
        // settlement window after its effective deadline, PROTOCOL §8), the coordinator
        // ends it rather than ask for ever.
        let may_expire = rs.finalize_refusals > 0;
        let read = self.chain_round();
        let chain = self.chain.clone();
        let driver = self.committee.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = async {
                // The effective deadline: a late clear (or a void) moved it on chain.
                let on = chain
                    .call(Market::roundsCall { round: r })
                    .await
                    .map_err(|source| EngineError::ReadRound { round: r, source })?;
                if Phase::try_from(on.phase) == Ok(Phase::Expired) {
                    return Ok(None);
                }
                read.past(r, on.settleEnd).await?;
                let (bids, settlements) = read.round(r).await?;
                let open = matches!(
                    Phase::try_from(on.phase),
                    Ok(Phase::Cleared | Phase::Settling)
                );
                if open {
                    record_defaults(&chain, r, &bids, &settlements).await?;
                }
                let expirable = on.settleEnd + (on.settleDeadline - on.settleStart);
                if open && may_expire && read.now().await? > expirable {
                    tracing::warn!(
                        round = r,
                        "the committee has not finalized within a settlement window of the \
                         deadline: expiring the round"
                    );
                    chain
                        .transact(Market::expireCall { round: r })
                        .await
                        .map_err(EngineError::Chain)?;
                    return Ok(None);
                }
                let payouts = read.payouts(r).await?;
                let mut f = driver
                    .finalize(r, bids, settlements)
                    .await
                    .map_err(EngineError::Committee)?;
                (f.voided_payouts, f.voided_accounts) = f
                    .voided
                    .iter()
                    .map(|b| {
                        payouts
                            .get(b)
                            .map(|s| (s.payout, s.account))
                            .unwrap_or_default()
                    })
                    .unzip();
                Ok(Some(Box::new(f)))
            }
            .await;
            let msg = match result {
                Ok(None) => Internal::Expired(r),
                Ok(Some(f)) => Internal::Finalized(r, Ok(f)),
                Err(e) => Internal::Finalized(r, Err(e)),
            };
            drop_closed(tx.send(msg).is_err());
        });
    }

    pub(super) async fn internal(&mut self, i: Internal) {
        match i {
            Internal::Cleared(r, Ok(c)) => self.post_clearing(r, *c).await,
            Internal::Finalized(r, Ok(f)) => self.post_finalization(r, *f).await,
            Internal::Expired(r) => {
                tracing::warn!(
                    round = r,
                    "expired on chain: the committee did not finalize in time"
                );
                if let Some(rs) = self.rounds.get_mut(&r) {
                    rs.busy = false;
                    rs.phase = pb::Phase::Expired;
                }
                self.save_round(r);
            }
            Internal::Cleared(r, Err(e)) => {
                tracing::error!(round = r, error = %e, "the committee's clearing failed");
                if let Some(rs) = self.rounds.get_mut(&r) {
                    rs.busy = false;
                }
                if !self.resync_phase(r).await {
                    self.backoff(r);
                }
            }
            Internal::Finalized(r, Err(e)) => {
                tracing::error!(round = r, error = %e, "the committee step failed; retrying");
                if let Some(rs) = self.rounds.get_mut(&r) {
                    rs.busy = false;
                    if matches!(e, EngineError::Committee(_)) {
                        rs.finalize_refusals += 1;
                    }
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
        let phase = self.rounds.get(&r).map(|rs| rs.phase);
        let result = if already {
            // A restart after the clearing was posted: only the record is missing. It
            // must be the clearing the chain holds.
            match self.chain.call(Market::roundsCall { round: r }).await {
                Ok(on)
                    if on.clearing
                        == U256::from_be_slice(&wire::field_bytes(&o.clearing.pack())) =>
                {
                    Ok(())
                }
                Ok(_) => Err(EngineError::ClearingMismatch),
                Err(e) => Err(EngineError::Chain(e)),
            }
        } else {
            self.chain
                .transact(call)
                .await
                .map(|_| ())
                .map_err(EngineError::Chain)
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
                if already {
                    // The chain holds another clearing than the committee's answer now:
                    // someone cleared the round; record the chain's and stop.
                    if let Some(on_chain) = phase {
                        if self.adopt_chain_clearing(r, on_chain).await {
                            return;
                        }
                    }
                } else if self.resync_phase(r).await {
                    return;
                }
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
            voided: f.voided.iter().map(|b| U256::from_be_bytes(b.0)).collect(),
            voidedPayouts: f.voided_payouts.clone(),
            voidedAccounts: f.voided_accounts.clone(),
            sigs: f.signatures.iter().map(market_signature).collect(),
        };
        let already = self
            .rounds
            .get(&r)
            .is_some_and(|rs| rs.phase == pb::Phase::Finalized);
        let totals = record_i64(f.totals.operator_residual());
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
                        .map(|e| record_i64(i128::try_from(e.toOperator).unwrap_or(i128::MAX)))
                        .unwrap_or(totals)
                })
                .map_err(EngineError::Chain)
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
                tracing::info!(
                    round = r,
                    defaulted = f.defaulters.len(),
                    voided = f.voided.len(),
                    "round finalized"
                );
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
pub(super) struct RoundReader {
    chain: crate::chain::ChainClient,
    market: alloy_primitives::Address,
    from: u64,
}

impl RoundReader {
    /// Makes sure the chain's own time is past round `r`'s settlement `deadline`, the
    /// point from which no settlement can land and the trustees open the round's
    /// settlement aggregates. The embedded chain's clock is the market clock; a node that
    /// mines only on transactions (ganache, hardhat, anvil in instant mode) is asked for
    /// an empty block (`evm_mine`), which a production node refuses and does not need:
    /// its blocks come on their own.
    /// The chain's time (its latest block's timestamp), without mining.
    pub(super) async fn now(&self) -> Result<u64, EngineError> {
        self.chain
            .run(|c| sealgrid_verifier_contract::Chain::chain_time(c))
            .await
            .map_err(EngineError::Chain)
    }

    pub(super) async fn past(&self, r: u64, deadline: u64) -> Result<(), EngineError> {
        let chain_time = self
            .chain
            .run(move |c| {
                let t = sealgrid_verifier_contract::Chain::chain_time(c)?;
                if t > deadline {
                    return Ok(t);
                }
                if let crate::chain::Backend::Rpc(node) = c {
                    if let Err(e) = node.rpc("evm_mine", serde_json::json!([])) {
                        tracing::debug!(%e, "no evm_mine: waiting for the node's next block");
                    }
                }
                sealgrid_verifier_contract::Chain::chain_time(c)
            })
            .await
            .map_err(|source| EngineError::RoundEvents { round: r, source })?;
        if chain_time > deadline {
            Ok(())
        } else {
            Err(EngineError::ChainTimeBehind {
                round: r,
                chain_time,
                deadline,
            })
        }
    }

    /// The payout commitment each settlement of round `r` made, by settled bid.
    async fn payouts(
        &self,
        r: u64,
    ) -> Result<std::collections::HashMap<sealgrid_committee::BidId, events::SettledBid>, EngineError>
    {
        let (market, from) = (self.market, self.from);
        self.chain
            .run(move |c| {
                let evs = events::market_events(c, market, from)
                    .map_err(|e| ChainError::Backend(e.to_string()))?;
                Ok(events::settlement_payouts(&evs, r))
            })
            .await
            .map_err(|source| EngineError::RoundEvents { round: r, source })
    }

    async fn round(&self, r: u64) -> Result<(Vec<PostedBid>, Vec<PostedSettlement>), EngineError> {
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
            .map_err(|source| EngineError::RoundEvents { round: r, source })
    }
}

/// Records round `r`'s unsettled bids as defaults on chain (`recordDefaults`, which
/// anyone may call after the effective settlement deadline), in pages that fit the
/// transaction gas cap; `finalize` requires every bid settled or recorded. Bids already
/// recorded are skipped by the contract, so a page sent again after a restart is harmless.
async fn record_defaults(
    chain: &crate::chain::ChainHandle,
    r: u64,
    bids: &[PostedBid],
    settlements: &[PostedSettlement],
) -> Result<(), EngineError> {
    let settled: std::collections::HashSet<_> = settlements.iter().map(|s| s.id).collect();
    // each with its account, which the contract checks against the bid's record
    let unsettled: Vec<(U256, U256)> = bids
        .iter()
        .filter(|b| !settled.contains(&b.id))
        .map(|b| {
            let acct = b.acct.as_ref().ok_or_else(|| {
                EngineError::Chain(ChainError::Backend(format!(
                    "round {r}: the view of bid {:?} has no account",
                    b.id
                )))
            })?;
            Ok((U256::from_be_bytes(b.id.0), U256::from_be_bytes(acct.0)))
        })
        .collect::<Result<_, EngineError>>()?;
    for page in unsettled.chunks(sealgrid_verifier_contract::gas::RECORD_DEFAULTS_PAGE) {
        let (defaulted, accounts) = page.iter().copied().unzip();
        chain
            .transact(Market::recordDefaultsCall {
                round: r,
                defaulted,
                accounts,
            })
            .await
            .map_err(EngineError::Chain)?;
        tracing::info!(round = r, bids = page.len(), "defaults recorded");
    }
    Ok(())
}

/// The operator's residual as the event stream records it (`int64`): exact for every
/// residual of u64 token amounts that fits, saturated with an error logged otherwise
/// (the chain's own `RoundFinalized` event keeps the exact value).
fn record_i64(residual: i128) -> i64 {
    i64::try_from(residual).unwrap_or_else(|_| {
        tracing::error!(
            residual,
            "the operator residual does not fit the record's int64"
        );
        if residual < 0 {
            i64::MIN
        } else {
            i64::MAX
        }
    })
}
