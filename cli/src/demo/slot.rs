//! One slot's bidding and clearing through the coordinator: who bids (from the
//! households' profiles, topped up to the k-anonymity floor), deposits and payout merges
//! (payer-signed, `Deposit`), sealed bids proven in parallel and submitted over gRPC (a
//! few households alone with `SubmitBid`, the rest in an aggregator's `SubmitBids`
//! batch), then the clock moved past the bid deadline and the committee's clearing
//! checked against the plaintext the demo, as the simulator, knows.
//!
//! Settlement and finalization of the slot follow later in the timeline (the next slot's
//! bidding closes before this slot's delivery ends): [`super::settle`].

use std::cmp::Reverse;

use sealgrid_circuits::market::{clear, Side};
use sealgrid_committee::BidId;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::market_event::Event;
use sealgrid_wallet::prosumer::OpenBid;

use super::market::{rpc, Net};
use super::observer::Observer;
use super::profile::Intent;
use super::proofs::prove_all;
use super::report::SlotSummary;
use super::{Checks, Community, DemoError};

/// Tokens a household deposits on first use (or more, if one lock needs more).
pub const DEPOSIT: u64 = 1_000_000;
/// Households that submit their own bid (`SubmitBid`); the others go through an
/// aggregator's batch (`SubmitBids`).
pub const SOLO: usize = 3;

/// A household's accepted bid in a slot.
#[derive(Clone, Copy, Debug)]
pub struct Bidder {
    /// The household.
    pub household: usize,
    /// What it bid.
    pub intent: Intent,
    /// Its lock.
    pub lock: u64,
    /// Its index in the round on chain.
    pub index: u32,
}

/// A slot in flight, from bidding to finalization.
#[derive(Debug)]
pub struct Slot {
    /// The round, `slot start / 900`.
    pub round: u64,
    /// Slot of the demo day (selects the profiles' quarter-hour).
    pub slot_of_day: u64,
    /// The k-anonymity floor plus one if a household defaults in this slot (its
    /// settlements must still reach the floor).
    pub floor: usize,
    /// Whether a household defaults in this slot.
    pub defaults: bool,
    /// The accepted bids.
    pub bidders: Vec<Bidder>,
    /// The household that does not settle.
    pub defaulter: Option<usize>,
    /// The published clearing.
    pub clearing: Option<pb::Clearing>,
    /// Σ locks of the slot's bids: what the market holds for them until settlement.
    pub locks: u64,
    /// Σ payouts of the slot's settlements (held by the wallets until merged).
    pub payouts: u64,
    /// The plaintext totals `[Σ pay, Σ credit, Σ penalty, Σ defaulted lock]`.
    pub plain: [u64; 4],
    /// Finalized.
    pub finalized: bool,
    /// Defaulters' locks the committee withheld (fewer than k_anonymity defaulters: never
    /// decrypted, they stay in the market).
    pub withheld: u64,
    /// What it produced so far.
    pub summary: SlotSummary,
    /// Its checks.
    pub checks: Checks,
}

impl Slot {
    /// A slot not started yet.
    pub fn new(
        round: u64,
        slot_of_day: u64,
        slot_seconds: u64,
        floor: usize,
        defaults: bool,
        levels: usize,
    ) -> Slot {
        Slot {
            round,
            slot_of_day,
            floor,
            defaults,
            bidders: Vec::new(),
            defaulter: None,
            clearing: None,
            locks: 0,
            payouts: 0,
            plain: [0; 4],
            finalized: false,
            withheld: 0,
            summary: SlotSummary {
                round,
                start: hhmm(slot_of_day * slot_seconds),
                buys: 0,
                sells: 0,
                deposits: 0,
                cleared: false,
                level: 0,
                price: 0,
                volume: 0,
                settled: 0,
                defaults: 0,
                short: 0,
                paid: 0,
                credited: 0,
                penalties: 0,
                signatures: 0,
                proofs: 0,
                proving: Default::default(),
                gas: 0,
                checks: 0,
                h_buy: vec![0; levels],
                h_sell: vec![0; levels],
                trades: Vec::new(),
            },
            checks: Checks::default(),
        }
    }

    /// What the market holds for this slot beyond the wallets' free balances and
    /// payouts, until it is finalized: the locks less the payouts already made.
    pub fn pending(&self) -> u64 {
        if self.finalized {
            self.withheld
        } else {
            self.locks - self.payouts
        }
    }
}

/// `HH:MM` of a unix time, UTC.
pub fn hhmm(unix: u64) -> String {
    format!("{:02}:{:02}", unix % 86_400 / 3600, unix % 3600 / 60)
}

/// Who bids what: every household with a position under the strategy; if that is under
/// the slot's floor, the households with the largest small positions bid them too.
fn intents(c: &Community, slot: &Slot, observer: &dyn Observer) -> Vec<(usize, Intent)> {
    let m = &c.params;
    let mut eager = Vec::new();
    let mut quiet = Vec::new();
    for h in c.households.iter().filter(|h| !h.defaulted) {
        let (pv, load) = h
            .profile
            .energy_wh(c.seed, h.index, slot.slot_of_day, m.slot_seconds);
        match c.strategy.intent(m, pv, load) {
            Some(i) => eager.push((h.index, i)),
            None => quiet.push((h.index, c.strategy.small_intent(m, pv, load))),
        }
    }
    if eager.len() < slot.floor {
        quiet.sort_by_key(|(h, i)| (Reverse(i.q), *h));
        let extra: Vec<_> = quiet.into_iter().take(slot.floor - eager.len()).collect();
        observer.note(&format!(
            "  {} households have a position: {} more bid their small one to reach {} bids (k-anonymity floor {}{})",
            eager.len(),
            extra.len(),
            slot.floor,
            m.k_anonymity,
            if slot.defaults { ", plus one for the defaulter" } else { "" }
        ));
        eager.extend(extra);
        eager.sort_by_key(|(h, _)| *h);
    }
    eager
}

/// Deposits (first use, or a top-up when the free balance and one payout do not cover
/// the lock) and payout merges (a deposit of 0), one balance update per bidder at most.
async fn deposits(
    net: &mut Net,
    c: &mut Community,
    slot: &mut Slot,
    bidders: &[(usize, Intent, u64)],
    observer: &dyn Observer,
) -> Result<(), DemoError> {
    let mut updates = Vec::new();
    for &(h, _, lock) in bidders {
        let w = &c.households[h].wallet;
        let available = w.balance.balance + w.payouts.first().map_or(0, |p| p.amount);
        if c.households[h].deposited == 0 || available < lock {
            updates.push((h, DEPOSIT.max(lock.saturating_sub(available))));
        } else if !w.payouts.is_empty() {
            updates.push((h, 0));
        }
    }
    let d = net.local.market.deployment.clone();
    let keys = c.keys.clone();
    let households = &c.households;
    let (subs, t) = prove_all(
        &updates,
        "deposits, merges",
        observer,
        |&(h, amount), rng| {
            households[h]
                .wallet
                .deposit_submission(&keys, amount, d.chain_id, d.market, rng)
        },
    )?;
    for (&(h, amount), (req, next)) in updates.iter().zip(subs) {
        let r = net
            .client
            .deposit(req)
            .await
            .map_err(rpc("Deposit"))?
            .into_inner();
        slot.summary.gas += r.gas_used;
        let hh = &mut c.households[h];
        hh.wallet.commit_balance(next);
        hh.deposited += amount;
    }
    slot.summary.deposits = updates.len();
    slot.summary.proofs += updates.len();
    slot.summary.proving += t;
    Ok(())
}

fn accepted(r: &pb::SubmitBidResponse, what: &str) -> Result<u32, DemoError> {
    if r.state == pb::SubmissionState::OnChain as i32 {
        Ok(r.index)
    } else {
        Err(DemoError::Rpc(format!("{what}: not on chain: {r:?}")))
    }
}

/// The slot's bids, from the round opening to every bid on chain.
pub async fn bid(
    net: &mut Net,
    c: &mut Community,
    slot: &mut Slot,
    observer: &dyn Observer,
) -> Result<(), DemoError> {
    let round = slot.round;
    let times = net.times(round);
    net.clock.advance_to(times.open_at);
    net.wait_round(round, "bidding", |r| r.phase == pb::Phase::Bidding as i32)
        .await?;
    observer.note(&format!(
        "slot {} (round {round}): bidding until {} UTC (gate closure)",
        slot.summary.start,
        hhmm(times.bid_deadline)
    ));
    let m = c.params.clone();
    let mut bidders = Vec::new();
    for (h, i) in intents(c, slot, observer) {
        let lock = m
            .lock(i.side, i.level, i.q)
            .map_err(|e| DemoError::Config(format!("a bid of {}: {e}", c.households[h].name())))?;
        bidders.push((h, i, lock));
    }
    deposits(net, c, slot, &bidders, observer).await?;

    let keys = c.keys.clone();
    let households = &c.households;
    let (subs, t) = prove_all(&bidders, "bid proofs", observer, |&(h, i, _), rng| {
        households[h]
            .wallet
            .bid_submission(&keys, round, i.side, i.level, i.q, rng)
    })?;
    slot.summary.proofs += subs.len();
    slot.summary.proving += t;
    // A few households submit alone; an aggregator batches the others.
    let mut indices = Vec::new();
    for (sub, _, _) in subs.iter().take(SOLO) {
        let r = net
            .client
            .submit_bid(pb::SubmitBidRequest {
                bid: Some(sub.clone()),
                wait_for_chain: true,
            })
            .await
            .map_err(rpc("SubmitBid"))?
            .into_inner();
        slot.summary.gas += r.gas_used;
        indices.push(accepted(&r, "SubmitBid")?);
    }
    if subs.len() > SOLO {
        let results = net
            .client
            .submit_bids(pb::SubmitBidsRequest {
                bids: subs[SOLO..].iter().map(|(s, _, _)| s.clone()).collect(),
                wait_for_chain: true,
            })
            .await
            .map_err(rpc("SubmitBids"))?
            .into_inner()
            .results;
        for r in results {
            match r.result {
                Some(pb::submit_bid_result::Result::Accepted(a)) => {
                    slot.summary.gas += a.gas_used;
                    indices.push(accepted(&a, "SubmitBids")?);
                }
                other => return Err(DemoError::Rpc(format!("SubmitBids: {other:?}"))),
            }
        }
    }
    if indices.len() != bidders.len() {
        return Err(DemoError::Rpc(format!(
            "{} bids submitted, {} results",
            bidders.len(),
            indices.len()
        )));
    }
    for ((&(h, intent, lock), (_, open, next)), index) in bidders.iter().zip(subs).zip(indices) {
        let open = OpenBid {
            index: Some(index),
            ..open
        };
        c.households[h].wallet.commit_bid(round, open, next);
        slot.bidders.push(Bidder {
            household: h,
            intent,
            lock,
            index,
        });
        slot.locks += lock;
        let hist = match intent.side {
            Side::Buy => &mut slot.summary.h_buy,
            Side::Sell => &mut slot.summary.h_sell,
        };
        hist[intent.level] += intent.q;
    }
    slot.summary.buys = slot
        .bidders
        .iter()
        .filter(|b| b.intent.side == Side::Buy)
        .count();
    slot.summary.sells = slot.bidders.len() - slot.summary.buys;
    if slot.defaults {
        // The last buyer (else the last bidder) will not settle.
        slot.defaulter = slot
            .bidders
            .iter()
            .rev()
            .find(|b| b.intent.side == Side::Buy)
            .or(slot.bidders.last())
            .map(|b| b.household);
    }

    // Every accepted bid is on chain exactly once: the round's BidSubmitted events.
    let d = net.local.market.deployment.clone();
    let posted = net
        .on_chain(move |ch| {
            let evs =
                sealgrid_verifier_contract::events::market_events(ch, d.market, d.deployment_block)
                    .map_err(|e| sealgrid_verifier_contract::ChainError::Backend(e.to_string()))?;
            sealgrid_verifier_contract::events::posted_bids(&evs, round)
                .map_err(|e| sealgrid_verifier_contract::ChainError::Backend(e.to_string()))
        })
        .await?;
    let ids: Vec<BidId> = slot
        .bidders
        .iter()
        .map(|b| BidId::from_commitment(c.households[b.household].wallet.bids[&round].id))
        .collect();
    slot.checks.check(
        posted.len() == ids.len()
            && ids
                .iter()
                .all(|id| posted.iter().filter(|p| p.id == *id).count() == 1),
        || {
            format!(
                "round {round}: {} bids accepted, {} on chain, or not each exactly once",
                ids.len(),
                posted.len()
            )
        },
    )?;
    net.check_count(
        &mut slot.checks,
        round,
        "bids on chain",
        |s| s.bids_on_chain,
        ids.len(),
    )
    .await?;
    observer.note(&format!(
        "  {} bids on chain ({} alone, {} in one aggregator batch), {} balance updates",
        ids.len(),
        ids.len().min(SOLO),
        ids.len().saturating_sub(SOLO),
        slot.summary.deposits
    ));
    Ok(())
}

/// Moves the clock past the bid deadline and checks the clearing the committee
/// published: the decrypted histograms are the plaintext ones, every bid is included,
/// and the clearing is `sealgrid_circuits::market::clear` of the published histograms.
pub async fn clearing(
    net: &mut Net,
    c: &Community,
    slot: &mut Slot,
    observer: &dyn Observer,
) -> Result<(), DemoError> {
    let round = slot.round;
    net.clock.advance_to(net.times(round).bid_deadline);
    let Event::Cleared(pb::RoundCleared {
        clearing: Some(cl), ..
    }) = net
        .wait_event(round, "the clearing", |e| matches!(e, Event::Cleared(_)))
        .await?
    else {
        return Err(DemoError::Rpc(format!(
            "round {round}: a clearing without data"
        )));
    };
    let m = &c.params;
    let s = &mut slot.summary;
    slot.checks
        .check(cl.h_buy == s.h_buy && cl.h_sell == s.h_sell, || {
            format!(
                "round {round}: decrypted histograms {:?}/{:?} differ from the plaintext {:?}/{:?}",
                cl.h_buy, cl.h_sell, s.h_buy, s.h_sell
            )
        })?;
    slot.checks
        .check(cl.included as usize == slot.bidders.len(), || {
            format!(
                "round {round}: {} of {} bids included",
                cl.included,
                slot.bidders.len()
            )
        })?;
    let expected = clear(&cl.h_buy, &cl.h_sell, cl.included as usize, m.k_anonymity)
        .map_err(|e| DemoError::Check(format!("round {round}: clear: {e}")))?;
    slot.checks.check(
        expected.cleared == cl.cleared
            && expected.level == cl.level as usize
            && expected.volume == cl.volume
            && m.price(expected.level) == cl.price,
        || format!("round {round}: published clearing {cl:?} is not clear() of its histograms: {expected:?}"),
    )?;
    s.cleared = cl.cleared;
    s.level = cl.level as usize;
    s.price = cl.price;
    s.volume = cl.volume;
    observer.note(&format!(
        "slot {} (round {round}): {}",
        s.start,
        if cl.cleared {
            format!(
                "cleared by the committee: k* = {}, p* = {}, V* = {} Wh",
                cl.level, cl.price, cl.volume
            )
        } else {
            "did not clear".to_owned()
        }
    ));
    slot.clearing = Some(cl);
    Ok(())
}
