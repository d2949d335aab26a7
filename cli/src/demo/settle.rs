//! One slot's delivery, settlement and finalization through the coordinator.
//!
//! After the slot's delivery ends (the clock moved to its settlement start), each meter
//! signs its reading with the wallet's meter key: buyers import what they bid, sellers
//! export what they offered, except that some sellers with a fill under-deliver (a
//! passing cloud). Each household proves its settlement against the clearing it
//! recomputes from the published histograms (`clearing_for`) and submits it with
//! `SubmitSettlement`; the slot's defaulter, if any, does not. After the settlement
//! deadline the coordinator has the committee decrypt the settlement totals and the
//! defaulted locks and finalizes the round; the demo checks the totals against its
//! plaintext and the default on chain.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::{Clearing, Side};
use sealgrid_committee::sign::FinalizeTotals;
use sealgrid_committee::BidId;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::market_event::Event;
use sealgrid_verifier_contract::calldata;
use sealgrid_wallet::prosumer::clearing_for;

use super::market::{rpc, Net};
use super::observer::Observer;
use super::profile::mix;
use super::proofs::prove_all;
use super::report::Trade;
use super::slot::Slot;
use super::{Community, DemoError};

/// Chance that a seller with a fill delivers only 40–90 % of it (a passing cloud);
/// the others export their whole offered quantity.
pub const UNDER_DELIVERY: f64 = 0.25;

/// Delivery and settlements of `slot`.
pub async fn settle(
    net: &mut Net,
    c: &mut Community,
    slot: &mut Slot,
    observer: &dyn Observer,
) -> Result<(), DemoError> {
    let round = slot.round;
    let m = c.params.clone();
    let cl = slot
        .clearing
        .clone()
        .ok_or_else(|| DemoError::Check(format!("round {round}: settling before clearing")))?;
    net.clock.advance_to(net.times(round).settle_start);
    observer.note(&format!(
        "slot {} (round {round}): delivered; settlements",
        slot.summary.start
    ));
    let mut settling = Vec::new();
    for b in &slot.bidders {
        let clearing: Clearing =
            clearing_for(&cl, m.levels, m.k_anonymity, b.index).map_err(|source| {
                DemoError::Wallet {
                    what: format!("round {round}: the clearing"),
                    source,
                }
            })?;
        let i = b.intent;
        let fill = clearing.fill(i.side, i.level, i.q);
        if slot.defaulter == Some(b.household) {
            // From now on the demo skips it: its next bid would be refused anyway (the
            // contract counts the bid unsettled until finalization records the default).
            c.households[b.household].defaulted = true;
            slot.plain[3] += b.lock;
            slot.summary.trades.push(Trade {
                household: b.household,
                side: i.side,
                level: i.level,
                q: i.q,
                fill,
                pay: 0,
                credit: 0,
                penalty: 0,
                defaulted: true,
            });
            observer.note(&format!(
                "  {} does not settle: it defaults, its lock of {} is forfeit at finalization; it bids no more",
                c.households[b.household].name(),
                b.lock
            ));
            continue;
        }
        let h = &c.households[b.household];
        let (import_wh, export_wh) = match i.side {
            Side::Buy => (i.q, 0),
            Side::Sell => {
                let mut rng = ChaCha20Rng::seed_from_u64(mix(
                    c.seed,
                    0xde11,
                    round ^ ((h.index as u64) << 32),
                ));
                if fill > 0 && rng.gen_bool(UNDER_DELIVERY) {
                    (0, (fill as f64 * rng.gen_range(0.4..0.9)) as u64)
                } else {
                    (0, i.q)
                }
            }
        };
        let reading = h.wallet.read_meter(round, import_wh, export_wh);
        settling.push((b.household, clearing, reading, *b));
    }
    let keys = c.keys.clone();
    let households = &c.households;
    let (subs, t) = prove_all(
        &settling,
        "settlement proofs",
        observer,
        |(h, clearing, reading, _), rng| {
            households[*h]
                .wallet
                .settle_submission(&keys, round, clearing, reading.clone(), rng)
        },
    )?;
    slot.summary.proofs += subs.len();
    slot.summary.proving += t;
    for ((h, _, _, b), (sub, payout, s)) in settling.iter().zip(subs) {
        let r = net
            .client
            .submit_settlement(pb::SubmitSettlementRequest {
                settlement: Some(sub),
                wait_for_chain: true,
            })
            .await
            .map_err(rpc("SubmitSettlement"))?
            .into_inner();
        if r.state != pb::SubmissionState::OnChain as i32 {
            return Err(DemoError::Rpc(format!(
                "SubmitSettlement: not on chain: {r:?}"
            )));
        }
        slot.summary.gas += r.gas_used;
        c.households[*h].wallet.commit_settlement(round, payout);
        slot.payouts += payout.amount;
        slot.plain[0] += s.pay;
        slot.plain[1] += s.credit;
        slot.plain[2] += s.penalty;
        slot.summary.short += usize::from(s.penalty > 0);
        slot.summary.trades.push(Trade {
            household: *h,
            side: b.intent.side,
            level: b.intent.level,
            q: b.intent.q,
            fill: s.fill,
            pay: s.pay,
            credit: s.credit,
            penalty: s.penalty,
            defaulted: false,
        });
    }
    slot.summary.trades.sort_by_key(|t| t.household);
    slot.summary.settled = settling.len();
    net.check_count(
        &mut slot.checks,
        round,
        "settlements",
        |s| s.settled,
        settling.len(),
    )
    .await?;
    observer.note(&format!(
        "  {} settlements on chain ({} sellers short)",
        settling.len(),
        slot.summary.short
    ));
    Ok(())
}

/// Moves the clock past the settlement deadline and checks the finalization: the
/// defaulters it lists, the decrypted totals against the plaintext, what the operator
/// receives, and the default recorded on chain.
pub async fn finalize(
    net: &mut Net,
    c: &mut Community,
    slot: &mut Slot,
    observer: &dyn Observer,
) -> Result<i64, DemoError> {
    let round = slot.round;
    net.clock.advance_to(net.times(round).settle_deadline + 1);
    let Event::Finalized(pb::RoundFinalized {
        finalization: Some(f),
        ..
    }) = net
        .wait_event(round, "the finalization", |e| {
            matches!(e, Event::Finalized(_))
        })
        .await?
    else {
        return Err(DemoError::Rpc(format!(
            "round {round}: a finalization without data"
        )));
    };
    // The round is final: its payouts may be merged (the contract refuses them before).
    for h in c.households.iter_mut() {
        h.wallet.round_final(round);
    }
    let bid_id = |h: usize| BidId::from_commitment(c.households[h].wallet.bids[&round].id).0;
    let expected: Vec<Vec<u8>> = slot.defaulter.iter().map(|&h| bid_id(h).to_vec()).collect();
    slot.checks.check(f.defaulted == expected, || {
        format!(
            "round {round}: the finalization lists {} defaulters, expected {}",
            f.defaulted.len(),
            expected.len()
        )
    })?;
    let totals = f
        .totals
        .map(|t| [t.pay, t.credit, t.penalty, t.defaulted_locks]);
    // Fewer than k_anonymity defaulters: their locks are withheld, never decrypted
    // (PROTOCOL §7), and stay in the market.
    let defaulters = usize::from(slot.defaulter.is_some());
    let mut plain = slot.plain;
    if defaulters > 0 && defaulters < c.params.k_anonymity {
        slot.withheld = plain[3];
        plain[3] = 0;
    }
    slot.checks.check(totals == Some(plain), || {
        format!("round {round}: decrypted totals {totals:?} differ from the plaintext {plain:?}")
    })?;
    let [pay, credit, penalty, defaulted_locks] = plain;
    let plain = FinalizeTotals {
        pay,
        credit,
        penalty,
        defaulted_locks,
    };
    slot.checks.check(
        i128::from(f.to_operator) == plain.operator_residual(),
        || format!("round {round}: the operator receives {}", f.to_operator),
    )?;
    if let Some(h) = slot.defaulter {
        let hh = &mut c.households[h];
        hh.wallet.bids.remove(&round);
        let acct = calldata::fr(&hh.wallet.acct());
        let name = hh.name();
        let on_chain = net
            .local
            .prosumer(acct)
            .await
            .map_err(|e| DemoError::Rpc(format!("prosumer {name}: {e}")))?;
        let account = net
            .client
            .get_account(pb::GetAccountRequest {
                acct: acct.to_be_bytes::<32>().to_vec(),
            })
            .await
            .map_err(rpc("GetAccount"))?
            .into_inner();
        slot.checks
            .check(on_chain.defaults == 1 && account.defaults == 1, || {
                format!(
                    "{name}: {} defaults on chain, {} at the coordinator, expected 1",
                    on_chain.defaults, account.defaults
                )
            })?;
        observer.note(&format!(
            "  {name}'s default is recorded on chain (defaults = 1 = max_defaults{}): the contract refuses its bids from now on",
            if account.suspended { ", suspended" } else { "" }
        ));
    }
    let bundle = net.audit_bundle(round).await?;
    let s = &mut slot.summary;
    s.signatures = bundle.clearing_signatures.len();
    s.defaults = f.defaulted.len();
    [s.paid, s.credited, s.penalties] = [slot.plain[0], slot.plain[1], slot.plain[2]];
    slot.finalized = true;
    Ok(f.to_operator)
}
