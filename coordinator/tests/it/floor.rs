//! A round under the k-anonymity floor (3 bids, floor 5): nothing is decrypted, the
//! committee signs the empty result, the contract records "not cleared", the
//! settlements release the locks and the round finalizes (one defaulter, whose lock is
//! withheld: never decrypted alone). Without this a small round would keep its bidders' locks forever.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_proto::market::v1 as pb;
use sealgrid_wallet::prosumer::{clearing_for, Wallet};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_under_the_floor_does_not_clear_and_releases_every_lock() {
    let net = Net::new().await;
    let keys = net.local.keys.clone();
    let d = net.local.market.deployment.clone();
    let round = net.round;
    let times = net.times();
    let running = net.start().await;
    let mut c = connect(running.addr).await;
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut wallets: Vec<Wallet> = net.wallets().await.into_iter().take(3).collect();
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    for (i, slot) in wallets.iter_mut().enumerate() {
        let w = std::mem::replace(slot, Wallet::new(&mut rng));
        let k = keys.clone();
        let (side, level, q) = QUOTES[i];
        let (w, (dep, next), (bid, open, after)) = blocking(move || {
            let mut rng = ChaCha20Rng::seed_from_u64(700 + i as u64);
            let dep = w
                .deposit_submission(&k, DEPOSIT, d.chain_id, d.market, &mut rng)
                .unwrap();
            let mut w = w;
            w.commit_balance(dep.1);
            let bid = w
                .bid_submission(&k, round, side, level, q, &mut rng)
                .unwrap();
            (w, dep, bid)
        })
        .await;
        let _ = next;
        c.deposit(dep).await.expect("deposit");
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
        *slot = w;
        slot.commit_bid(round, open, after);
    }
    net.clock.advance_to(times.bid_deadline);
    let status = wait_round(&mut c, round, "cleared (not)", |r| r.clearing.is_some()).await;
    let cl = status.clearing.unwrap();
    assert!(!cl.cleared && cl.volume == 0, "{cl:?}");
    assert_eq!(cl.h_buy, vec![0; 8]);
    let bundle = c
        .get_audit_bundle(pb::GetAuditBundleRequest { round })
        .await
        .unwrap()
        .into_inner();
    assert!(
        bundle.clearing_partials.is_empty(),
        "nothing may be decrypted under the floor"
    );

    net.clock.advance_to(times.settle_start);
    let mut payouts = 0;
    for (i, slot) in wallets.iter_mut().enumerate().take(2) {
        let w = std::mem::replace(slot, Wallet::new(&mut rng));
        let (k, cl2) = (keys.clone(), cl.clone());
        let (w, (sub, payout, s)) = blocking(move || {
            let mut rng = ChaCha20Rng::seed_from_u64(800 + i as u64);
            let open = w.bids.get(&round).unwrap().clone();
            let clearing = clearing_for(&cl2, 8, 5, open.index.unwrap()).unwrap();
            let reading = w.read_meter(round, 1, 0);
            let r = w
                .settle_submission(&k, round, &clearing, reading, &mut rng)
                .unwrap();
            (w, r)
        })
        .await;
        // not cleared: the whole lock comes back
        assert_eq!((s.fill, s.pay, s.credit, s.penalty), (0, 0, 0, 0));
        assert_eq!(payout.amount, w.bids[&round].opening.lock);
        c.submit_settlement(pb::SubmitSettlementRequest {
            settlement: Some(sub),
            wait_for_chain: true,
        })
        .await
        .expect("settled");
        payouts += payout.amount;
        *slot = w;
        slot.commit_settlement(round, payout);
    }
    net.clock.advance_to(times.settle_deadline + 1);
    let status = wait_round(&mut c, round, "finalized", |r| r.finalization.is_some()).await;
    let f = status.finalization.unwrap();
    let t = f.totals.unwrap();
    // one defaulter, under the k-anonymity floor: its lock is never decrypted (it would
    // publish a seller's side and quantity) and stays in the market
    let lock2 = wallets[2].bids[&round].opening.lock;
    assert_eq!(
        (t.pay, t.credit, t.penalty, t.defaulted_locks),
        (0, 0, 0, 0)
    );
    assert_eq!(f.to_operator, 0);
    let free: u64 = wallets.iter().map(|w| w.balance.balance).sum();
    assert_eq!(
        net.local.token_balance(d.market).await.unwrap(),
        free + payouts + lock2
    );
    running.shutdown().await;
    net.local.shutdown().await;
}
