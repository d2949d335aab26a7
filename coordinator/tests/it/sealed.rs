//! PROTOCOL §6 "sealed bids stay sealed", against the real stack: a local market
//! (embedded EVM, three trustees over gRPC reading the chain themselves, the coordinator)
//! and an attacker who reaches every trustee's port, as the coordinator or anyone on the
//! network could (issue #13 item 1). On the main before the fix every trustee answered
//! these calls during bidding; now each refuses until the set the aggregate covers can no
//! longer change on chain, and the honest round still clears and finalizes.

use sealgrid_committee::trustee::{PartialDecryptRequest, SettlementDecryptRequest};
use sealgrid_coordinator::start;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::trustee_client::TrusteeClient;
use tonic::Code;

use crate::common::*;

/// Every trustee refuses both aggregates of `round` with FAILED_PRECONDITION.
async fn every_trustee_refuses(net: &Net, round: u64, clearing: bool) {
    for url in &net.local.trustee_urls {
        let mut t = TrusteeClient::connect(url.clone(), &net.local.tls.coordinator)
            .await
            .expect("trustee");
        if clearing {
            let e = t
                .partial_decrypt(&PartialDecryptRequest { round })
                .await
                .expect_err("no clearing share while bidding is open");
            assert_eq!(e.code(), Some(Code::FailedPrecondition), "{e}");
        }
        let e = t
            .partial_decrypt_settlement(&SettlementDecryptRequest { round })
            .await
            .expect_err("no settlement share while settlement is open");
        assert_eq!(e.code(), Some(Code::FailedPrecondition), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_trustee_opens_an_aggregate_while_its_set_can_still_change() {
    let net = Net::new().await;
    let round = net.round;
    let times = net.times();
    let running = start(
        net.local.settings(SCHEDULE, net.plan()),
        net.local.chain.clone(),
    )
    .await
    .unwrap();
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    deposit_all(&net, &mut c, &mut wallets, 100).await;
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let subs = prove_bids(&net, &mut wallets, round, 200).await;
    // Bids land one by one; after each one the attacker asks every trustee.
    for (k, (bid, _, _)) in subs.iter().enumerate() {
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(bid.clone()),
            wait_for_chain: true,
        })
        .await
        .unwrap_or_else(|e| panic!("bid {k}: {e}"));
        every_trustee_refuses(&net, round, true).await;
    }

    // Past the deadline the coordinator closes the round on chain and clears it.
    net.clock.advance_to(times.bid_deadline);
    let status = wait_round(&mut c, round, "cleared", |r| r.clearing.is_some()).await;
    assert!(status.clearing.unwrap().cleared);
    // In the settlement window the settlement aggregates stay closed (nobody settles
    // here: every bid would count as a defaulter and its lock would be opened).
    net.clock.advance_to(times.settle_start);
    every_trustee_refuses(&net, round, false).await;

    // After the deadline the round finalizes: every bidder defaulted.
    net.clock.advance_to(times.settle_deadline + 1);
    let status = wait_round(&mut c, round, "finalized", |r| r.finalization.is_some()).await;
    assert_eq!(status.finalization.unwrap().defaulted.len(), subs.len());
    running.shutdown().await;
    net.local.shutdown().await;
}
