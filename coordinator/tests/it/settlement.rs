//! PROTOCOL §6 "nobody can take money that is not theirs" and "every lock comes back",
//! against the real stack: a local market (embedded EVM, three trustees over gRPC
//! reading the chain themselves) and the coordinator (issue #13 items 4 and 8).
//!
//! - A seller settles directly on the contract with two flow points swapped. On main its
//!   payout (credit included) was spendable while the trustees left its flows out of the
//!   totals: the operator was overpaid and the last withdrawal failed, the market short.
//!   Now the payout is frozen until finalize, the committee voids it, every honest
//!   wallet withdraws everything and what is left is exactly the cheater's withheld lock.
//! - Every bid is posted directly to the contract (the answer to a censoring
//!   coordinator) and only two of six settle, under the k-anonymity floor, so the
//!   committee never finalizes. On main the coordinator never cleared such a round (it
//!   counted the bids it relayed itself) and nothing could end it. Now the coordinator
//!   clears from the chain's bid count, records the defaults, a stranger expires the
//!   round after the finalize timeout and the settlers withdraw their payouts.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_coordinator::wire;
use sealgrid_proto::market::v1 as pb;
use sealgrid_testkit::bids::{exported, IMPORTED};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::chain::Chain;
use sealgrid_verifier_contract::state::{PayoutState, Phase};
use sealgrid_wallet::prosumer::{clearing_for, Wallet};

use crate::common::*;

/// Sends `call` to the market from `from`, straight to the chain (no coordinator).
async fn direct<C: SolCall + Send + 'static>(
    net: &Net,
    from: Address,
    call: C,
) -> Result<(), String> {
    let market = net.local.market.deployment.market;
    net.local
        .chain
        .run(move |c| c.transact(from, market, call.abi_encode().into()))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn view<C: SolCall + Send + 'static>(net: &Net, call: C) -> C::Return
where
    C::Return: Send,
{
    let (op, market) = (
        net.local.market.deployment.operator,
        net.local.market.deployment.market,
    );
    net.local
        .chain
        .run(move |c| {
            let out = c.call(op, market, call.abi_encode().into())?;
            Ok(C::abi_decode_returns(&out)?)
        })
        .await
        .expect("view")
}

/// Each wallet proves its settlement of `round` against the published clearing.
async fn prove_settlements(
    net: &Net,
    wallets: &mut [Wallet],
    round: u64,
    clearing: &pb::Clearing,
    which: &[usize],
) -> Vec<(
    usize,
    pb::SettlementSubmission,
    sealgrid_circuits::balance::PayoutOpening,
)> {
    let mut out = Vec::new();
    for &i in which {
        let (k, cl) = (net.local.keys.clone(), clearing.clone());
        let (sub, payout, _) = on_wallet(&mut wallets[i], move |w| {
            let mut rng = ChaCha20Rng::seed_from_u64(900 + i as u64);
            let open = w.bids.get(&round).unwrap().clone();
            let clearing = clearing_for(&cl, 8, 5, open.index.unwrap()).unwrap();
            let reading = w.read_meter(round, IMPORTED, exported(&open.opening));
            w.settle_submission(&k, round, &clearing, reading, &mut rng)
                .unwrap()
        })
        .await;
        out.push((i, sub, payout));
    }
    out
}

/// Wallet `w` withdraws its whole free balance, merging its first payout if it has one.
async fn withdraw_all(
    net: &Net,
    c: &mut pb::coordinator_client::CoordinatorClient<tonic::transport::Channel>,
    w: &mut Wallet,
    seed: u64,
) -> Result<u64, tonic::Status> {
    let amount = w.balance.balance + w.payouts.first().map_or(0, |p| p.amount);
    let k = net.local.keys.clone();
    let (req, next) = on_wallet(w, move |w| {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        w.withdraw_submission(&k, amount, &mut rng).unwrap()
    })
    .await;
    c.withdraw(req).await?;
    w.commit_balance(next);
    Ok(amount)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settlement_with_swapped_flow_points_is_voided_and_money_is_conserved() {
    let net = Net::new().await;
    let round = net.round;
    let times = net.times();
    let d = net.local.market.deployment.clone();
    let running = net.start().await;
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    deposit_all(&net, &mut c, &mut wallets, 100).await;
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let subs = prove_bids(&net, &mut wallets, round, 200).await;
    for (w, (bid, open, after)) in wallets.iter_mut().zip(subs) {
        let r = c
            .submit_bid(pb::SubmitBidRequest {
                bid: Some(bid),
                wait_for_chain: true,
            })
            .await
            .expect("bid")
            .into_inner();
        let mut open = open;
        open.index = Some(r.index);
        w.commit_bid(round, open, after);
    }
    net.clock.advance_to(times.bid_deadline);
    let status = wait_round(&mut c, round, "cleared", |r| r.clearing.is_some()).await;
    let clearing = status.clearing.unwrap();
    assert!(clearing.cleared);
    net.clock.advance_to(times.settle_start);
    let cheater = 3; // a seller in the money: its credit is paid by the buyers
    let lock = wallets[cheater].bids[&round].opening.lock;
    let settlements =
        prove_settlements(&net, &mut wallets, round, &clearing, &[0, 1, 2, 3, 4, 5]).await;
    let mut cheat_payout = None;
    for (i, sub, payout) in settlements {
        if i == cheater {
            // posted directly, two flow points swapped: the proof stands (the contract
            // does not recompute E), the trustees leave its flows out
            let mut call = wire::settlement(&sub).expect("well formed").call.clone();
            call.ciphertexts.swap(1, 2);
            direct(&net, wallets[i].address(), call)
                .await
                .expect("the contract takes it");
            cheat_payout = Some((payout, U256::from_be_slice(&sub.inputs.unwrap().p_out)));
            wallets[i].commit_settlement(round, payout);
            continue;
        }
        let r = c
            .submit_settlement(pb::SubmitSettlementRequest {
                settlement: Some(sub),
                wait_for_chain: true,
            })
            .await
            .expect("settled")
            .into_inner();
        assert_eq!(r.state, pb::SubmissionState::OnChain as i32, "{r:?}");
        wallets[i].commit_settlement(round, payout);
    }
    let (_, p_out) = cheat_payout.expect("the cheater settled");
    // before finalize the wallets hold every payout back (the contract would refuse it)
    assert!(wallets.iter().all(|w| w.payouts.is_empty()));
    assert_eq!(wallets[0].frozen_payouts.get(&round).map(Vec::len), Some(1));
    // a wallet that merges one all the same is refused, and told why and until when
    wallets[0].payouts = wallets[0].frozen_payouts[&round].clone();
    let frozen = withdraw_all(&net, &mut c, &mut wallets[0], 1)
        .await
        .expect_err("a frozen payout is not merged");
    assert_eq!(frozen.code(), tonic::Code::FailedPrecondition, "{frozen:?}");
    assert!(frozen.message().starts_with("payout-frozen"), "{frozen:?}");
    wallets[0].payouts.clear();

    net.clock.advance_to(times.settle_deadline + 1);
    wait_round(&mut c, round, "finalized", |r| r.finalization.is_some()).await;
    let state = view(&net, Market::payoutsCall(p_out)).await;
    assert_eq!(PayoutState::try_from(state.state), Ok(PayoutState::Void));
    for w in wallets.iter_mut() {
        w.round_final(round);
    }
    // the cheater's payout cannot be merged
    let void = withdraw_all(&net, &mut c, &mut wallets[cheater], 2)
        .await
        .expect_err("a void payout is not merged");
    assert_eq!(void.code(), tonic::Code::FailedPrecondition, "{void:?}");
    assert!(void.message().starts_with("payout-void"), "{void:?}");
    wallets[cheater].payouts.clear();
    // every wallet withdraws everything it holds
    for (i, w) in wallets.iter_mut().enumerate() {
        withdraw_all(&net, &mut c, w, 10 + i as u64)
            .await
            .unwrap_or_else(|e| panic!("wallet {i} withdraws: {e}"));
    }
    // what is left is the cheater's lock, withheld (one defaulter, under the floor)
    assert_eq!(net.local.token_balance(d.market).await.unwrap(), lock);
    running.shutdown().await;
    net.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_the_committee_will_not_finalize_is_expired_by_the_coordinator_and_settlers_withdraw(
) {
    let net = Net::new().await;
    let round = net.round;
    let times = net.times();
    let d = net.local.market.deployment.clone();
    let running = net.start().await;
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    deposit_all(&net, &mut c, &mut wallets, 300).await;
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    // every bid straight to the contract: the coordinator relays none
    let subs = prove_bids(&net, &mut wallets, round, 400).await;
    for (index, (w, (bid, open, after))) in wallets.iter_mut().zip(subs).enumerate() {
        let call = wire::bid(&bid, 8).expect("well formed").call.clone();
        direct(&net, w.address(), call).await.expect("bid on chain");
        let mut open = open;
        open.index = Some(index as u32);
        w.commit_bid(round, open, after);
    }
    let locks: u64 = wallets.iter().map(|w| w.bids[&round].opening.lock).sum();
    net.clock.advance_to(times.bid_deadline);
    let status = wait_round(&mut c, round, "cleared", |r| r.clearing.is_some()).await;
    let clearing = status.clearing.unwrap();
    assert!(clearing.cleared, "{clearing:?}");
    // two buyers settle: under the floor of five, the committee will not open the
    // settlement totals and the round is never finalized
    net.clock.advance_to(times.settle_start);
    let settlers = [0usize, 1];
    for (i, sub, payout) in prove_settlements(&net, &mut wallets, round, &clearing, &settlers).await
    {
        c.submit_settlement(pb::SubmitSettlementRequest {
            settlement: Some(sub),
            wait_for_chain: true,
        })
        .await
        .expect("settled");
        wallets[i].commit_settlement(round, payout);
    }
    net.clock.advance_to(times.settle_deadline + 1);
    // the coordinator records the four defaults itself before asking the committee
    let on = loop {
        let on = view(&net, Market::roundsCall { round }).await;
        if on.defaulted == 4 {
            break on;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let stranger = wallets[5].address();
    let e = direct(&net, stranger, Market::expireCall { round }).await;
    assert!(e.is_err(), "too early: the committee may still finalize");
    // The committee refuses for good; once the contract lets anyone end the round, the
    // coordinator does, rather than ask the committee for ever (it retries every 2 s of
    // its clock, which the test moves).
    let expirable = on.settleEnd + (times.settle_deadline - times.settle_start);
    let mut t = expirable + 1;
    let started = std::time::Instant::now();
    loop {
        net.clock.advance_to(t);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let on = view(&net, Market::roundsCall { round }).await;
        if Phase::try_from(on.phase) == Ok(Phase::Expired) {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the coordinator never expired the round the committee will not finalize"
        );
        t += 3;
    }
    wait_round(&mut c, round, "expired", |r| {
        r.phase == pb::Phase::Expired as i32
    })
    .await;
    // the settlers' payouts are spendable: each withdraws everything
    let mut paid_out = 0;
    for &i in &settlers {
        wallets[i].round_final(round);
        paid_out += wallets[i].payouts[0].amount;
        withdraw_all(&net, &mut c, &mut wallets[i], 20 + i as u64)
            .await
            .unwrap_or_else(|e| panic!("settler {i} withdraws: {e}"));
    }
    // money to the unit: the free balances, and the locks less what was paid out
    let free: u64 = wallets.iter().map(|w| w.balance.balance).sum();
    assert_eq!(
        net.local.token_balance(d.market).await.unwrap(),
        free + locks - paid_out
    );
    running.shutdown().await;
    net.local.shutdown().await;
}
