//! The end of a run and the checks that span it: money conserved to the unit, the
//! payouts merged and one withdrawal paid out to its payer, the event stream gapless,
//! and the audit of every demo round from public data (`sealgrid_audit`).

use std::collections::BTreeMap;
use std::path::Path;

use sealgrid_audit::{audit_rounds, AuditReport, Rounds, VerifyingKeys};
use sealgrid_ceremony::market::Depth;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::market_event::Event;
use sealgrid_verifier_contract::ChainError;

use super::market::{rpc, Net};
use super::observer::Observer;
use super::proofs::prove_all;
use super::slot::Slot;
use super::{Checks, Community, DemoError};

/// Money conserved to the unit: the market's token balance is the households' free
/// balances, their unspent payouts, and what it holds for rounds not finalized yet
/// (their locks less the payouts already made); the operator received exactly what the
/// finalizations said.
pub async fn conservation(
    net: &Net,
    c: &Community,
    slots: &[Slot],
    operator: (u64, i128),
    checks: &mut Checks,
    when: &str,
) -> Result<(), DemoError> {
    let d = &net.local.market.deployment;
    let market = net.tokens(d.market).await?;
    let free: u64 = c.households.iter().map(|h| h.free_balance()).sum();
    let unspent: u64 = c.households.iter().map(|h| h.unspent()).sum();
    let pending: u64 = slots.iter().map(Slot::pending).sum();
    checks.check(market == free + unspent + pending, || {
        format!("{when}: the market holds {market} tokens, free balances {free} + unspent payouts {unspent} + open rounds {pending} = {}", free + unspent + pending)
    })?;
    let (start, received) = operator;
    let now = net.tokens(d.operator).await?;
    checks.check(i128::from(now) - i128::from(start) == received, || {
        format!(
            "{when}: the operator's balance moved by {}, the finalizations paid it {received}",
            i128::from(now) - i128::from(start)
        )
    })
}

/// After the last slot: every household merges its remaining payouts (deposits of 0),
/// and `withdrawer` withdraws half its free balance to its payer address (its first
/// update). Returns the amount withdrawn and the gas used.
pub async fn close_accounts(
    net: &mut Net,
    c: &mut Community,
    withdrawer: usize,
    checks: &mut Checks,
    observer: &dyn Observer,
) -> Result<(u64, u64), DemoError> {
    let mut gas = 0;
    let payer = c.households[withdrawer].wallet.address();
    let before = net.tokens(payer).await?;
    let amount = c.households[withdrawer].free_balance() / 2;
    // One balance update merges one payout: as many passes as the most payouts held.
    let mut first = true;
    loop {
        let updates: Vec<(usize, u64)> = c
            .households
            .iter()
            .filter(|h| !h.wallet.payouts.is_empty() || (first && h.index == withdrawer))
            .map(|h| {
                (
                    h.index,
                    if first && h.index == withdrawer {
                        amount
                    } else {
                        0
                    },
                )
            })
            .collect();
        if updates.is_empty() {
            break;
        }
        let d = net.local.market.deployment.clone();
        let keys = c.keys.clone();
        let households = &c.households;
        let (subs, _) = prove_all(&updates, "payout merges", observer, |&(h, a), rng| {
            let w = &households[h].wallet;
            if a > 0 {
                w.withdraw_submission(&keys, a, rng)
                    .map(|(r, next)| (None, Some(r), next))
            } else {
                w.deposit_submission(&keys, 0, d.chain_id, d.market, rng)
                    .map(|(r, next)| (Some(r), None, next))
            }
        })?;
        for (&(h, _), (deposit, withdraw, next)) in updates.iter().zip(subs) {
            let r = match (deposit, withdraw) {
                (Some(req), _) => net.client.deposit(req).await.map_err(rpc("Deposit"))?,
                (None, Some(req)) => net.client.withdraw(req).await.map_err(rpc("Withdraw"))?,
                (None, None) => unreachable!("one of the two"),
            };
            gas += r.into_inner().gas_used;
            c.households[h].wallet.commit_balance(next);
        }
        first = false;
    }
    let after = net.tokens(payer).await?;
    let name = c.households[withdrawer].name();
    checks.check(after == before + amount, || {
        format!("{name} withdrew {amount}: its payer's balance went from {before} to {after}")
    })?;
    observer.note(&format!(
        "payouts merged; {name} withdrew {amount} tokens, received at its payer address {payer}"
    ));
    Ok((amount, gas))
}

/// The event stream: sequence numbers 0, 1, 2, … without a gap, and per round one
/// opening, one closing, one clearing, one finalization, a BidAccepted per bid and a
/// SettlementAccepted per settlement.
pub fn events_gapless(seen: &[pb::MarketEvent], slots: &[Slot]) -> Result<(), DemoError> {
    if let Some((i, e)) = seen
        .iter()
        .enumerate()
        .find(|(i, e)| e.sequence != *i as u64)
    {
        return Err(DemoError::Check(format!(
            "event #{i} has sequence {}: the stream has a gap",
            e.sequence
        )));
    }
    for s in slots {
        let count = |p: fn(&Event) -> bool| {
            seen.iter()
                .filter(|e| e.round == s.round && e.event.as_ref().is_some_and(p))
                .count()
        };
        let got = [
            count(|e| matches!(e, Event::Opened(_))),
            count(|e| matches!(e, Event::BidAccepted(_))),
            count(|e| matches!(e, Event::Closed(_))),
            count(|e| matches!(e, Event::Cleared(_))),
            count(|e| matches!(e, Event::SettlementAccepted(_))),
            count(|e| matches!(e, Event::Finalized(_))),
        ];
        let want = [1, s.bidders.len(), 1, 1, s.summary.settled, 1];
        if got != want {
            return Err(DemoError::Check(format!(
                "round {}: events (opened, bids, closed, cleared, settlements, finalized) {got:?}, expected {want:?}",
                s.round
            )));
        }
    }
    Ok(())
}

/// Audits every demo round from public data: the chain (read on its own thread), the
/// market file, the verifying keys in `key_dir` and the coordinator's audit bundles,
/// which are also written to `bundles` (`round-<n>.pb`) so that `sealgrid audit` can
/// redo the audit from the files after the run.
pub async fn audit(
    net: &mut Net,
    rounds: Vec<u64>,
    key_dir: &Path,
    bundles_dir: &Path,
) -> Result<AuditReport, DemoError> {
    let market = net.local.market.clone();
    let keys = VerifyingKeys::load(&market, key_dir)
        .map_err(|e| DemoError::Setup(format!("verifying keys: {e}")))?;
    let mut bundles = BTreeMap::new();
    for &round in &rounds {
        let b = net.audit_bundle(round).await?;
        sealgrid_audit::bundle::write(bundles_dir, &b)
            .map_err(|e| DemoError::Setup(format!("{}: {e}", bundles_dir.display())))?;
        bundles.insert(round, b);
    }
    let ceremony = net.local.config.dir.join("ceremony");
    let (m, k) = (market.clone(), keys.clone());
    let setup = tokio::task::spawn_blocking(move || {
        sealgrid_audit::setup::key_setup(&m, &k, &ceremony, Depth::Keys, &|_| {})
    })
    .await
    .map_err(|e| DemoError::Setup(format!("key-setup check: {e}")))?;
    let mut report = net
        .on_chain(move |chain| {
            audit_rounds(chain, &market, &keys, &bundles, Rounds::List(rounds))
                .map_err(|e| ChainError::Backend(format!("audit: {e}")))
        })
        .await?;
    report.market.push(setup);
    Ok(report)
}
