//! Crash and restart in each phase of a round (issue #6 item 4): the coordinator is
//! killed (its tasks aborted mid-flight, no goodbye) right after it accepted bids, right
//! after bidding closed (while the committee decrypts), and right after it accepted
//! settlements; each time a new coordinator starts on the same store and chain. The
//! round completes, nothing accepted is lost, and nothing reaches the chain twice.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::Side;
use sealgrid_coordinator::start;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market::MarketEvents;
use sealgrid_verifier_contract::events::market_events;
use sealgrid_wallet::prosumer::{clearing_for, Wallet};
use tonic::Code;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_survives_a_crash_in_each_phase() {
    let net = Net::new().await;
    let keys = net.local.keys.clone();
    let d = net.local.market.deployment.clone();
    let settings = net.local.settings(SCHEDULE, net.plan());
    let round = net.round;
    let times = net.times();
    let mut rng = ChaCha20Rng::seed_from_u64(9);

    let mut running = start(settings.clone(), net.local.chain.clone())
        .await
        .unwrap();
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    deposit_all(&net, &mut c, &mut wallets, 400).await;
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let subs = prove_bids(&net, &mut wallets, round, 500).await;

    // --- crash 1: while bids are queued ----------------------------------------------------
    for s in &subs[..3] {
        let r = c
            .submit_bid(pb::SubmitBidRequest {
                bid: Some(s.0.clone()),
                wait_for_chain: false,
            })
            .await
            .expect("queued")
            .into_inner();
        assert_eq!(r.state, pb::SubmissionState::Queued as i32);
    }
    running.abort().await;
    running = start(settings.clone(), net.local.chain.clone())
        .await
        .expect("restarts");
    c = connect(running.addr).await;
    // what was accepted before the crash is remembered: a resubmission is a duplicate
    let again = c
        .submit_bid(pb::SubmitBidRequest {
            bid: Some(subs[1].0.clone()),
            wait_for_chain: false,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists, "{again:?}");
    for s in &subs[3..] {
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(s.0.clone()),
            wait_for_chain: true,
        })
        .await
        .expect("accepted");
    }
    let status = wait_round(&mut c, round, "six bids on chain", |r| r.bids_on_chain == 6).await;
    assert_eq!(status.bids_queued, 0);
    for (i, s) in subs.iter().enumerate() {
        let st = c
            .get_submission(pb::GetSubmissionRequest {
                bid: s.0.inputs.as_ref().unwrap().bid.clone(),
                settlement: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(st.state, pb::SubmissionState::OnChain as i32);
        let mut open = s.1.clone();
        open.index = Some(st.index);
        wallets[i].commit_bid(round, open, s.2);
    }

    // --- crash 2: as bidding closes, while the committee decrypts ----------------------------
    net.clock.advance_to(times.bid_deadline);
    wait_round(&mut c, round, "closed", |r| {
        r.phase >= pb::Phase::Closed as i32
    })
    .await;
    running.abort().await;
    running = start(settings.clone(), net.local.chain.clone())
        .await
        .expect("restarts");
    c = connect(running.addr).await;
    let status = wait_round(&mut c, round, "cleared with its record", |r| {
        r.phase >= pb::Phase::Cleared as i32 && r.clearing.is_some()
    })
    .await;
    let cl = status.clearing.unwrap();
    assert!(cl.cleared && cl.included == 6, "{cl:?}");
    let bundle = c
        .get_audit_bundle(pb::GetAuditBundleRequest { round })
        .await
        .expect("the audit bundle survives or is rebuilt")
        .into_inner();
    assert!(bundle.clearing_partials.len() >= 2);

    // --- crash 3: while settlements are queued -----------------------------------------------
    net.clock.advance_to(times.settle_start);
    let mut settles = Vec::new();
    for (i, slot) in wallets.iter_mut().enumerate() {
        let w = std::mem::replace(slot, Wallet::new(&mut rng));
        let (k, cl2) = (keys.clone(), cl.clone());
        let (w, r) = blocking(move || {
            let mut rng = ChaCha20Rng::seed_from_u64(600 + i as u64);
            let open = w.bids.get(&round).unwrap().clone();
            let clearing = clearing_for(&cl2, 8, 5, open.index.unwrap()).unwrap();
            let export = if open.opening.side == Side::Sell {
                open.opening.q
            } else {
                0
            };
            let reading = w.read_meter(round, 0, export);
            let r = w
                .settle_submission(&k, round, &clearing, reading, &mut rng)
                .unwrap();
            (w, r)
        })
        .await;
        *slot = w;
        settles.push(r);
    }
    for s in &settles[..3] {
        c.submit_settlement(pb::SubmitSettlementRequest {
            settlement: Some(s.0.clone()),
            wait_for_chain: false,
        })
        .await
        .expect("queued");
    }
    running.abort().await;
    running = start(settings.clone(), net.local.chain.clone())
        .await
        .expect("restarts");
    c = connect(running.addr).await;
    for s in &settles[3..] {
        c.submit_settlement(pb::SubmitSettlementRequest {
            settlement: Some(s.0.clone()),
            wait_for_chain: true,
        })
        .await
        .expect("accepted");
    }
    wait_round(&mut c, round, "six settlements", |r| r.settled == 6).await;
    net.clock.advance_to(times.settle_deadline + 1);
    let status = wait_round(&mut c, round, "finalized", |r| {
        r.phase == pb::Phase::Finalized as i32 && r.finalization.is_some()
    })
    .await;
    assert!(status.finalization.unwrap().defaulted.is_empty());

    // --- the chain: every bid and settlement once, one clearing, one finalization ------------
    let (market, from) = (d.market, d.deployment_block);
    let evs = net
        .local
        .chain
        .run(move |ch| {
            market_events(ch, market, from)
                .map_err(|e| sealgrid_verifier_contract::ChainError::Backend(e.to_string()))
        })
        .await
        .unwrap();
    let mut bids = BTreeMap::new();
    let mut settled = BTreeMap::new();
    let (mut cleared, mut finalized) = (0, 0);
    for e in &evs {
        match &e.event {
            MarketEvents::BidSubmitted(b) => *bids.entry(b.bid).or_insert(0) += 1,
            MarketEvents::Settled(s) => *settled.entry(s.bid).or_insert(0) += 1,
            MarketEvents::RoundCleared(_) => cleared += 1,
            MarketEvents::RoundFinalized(_) => finalized += 1,
            _ => {}
        }
    }
    assert_eq!(bids.len(), 6);
    assert!(bids.values().all(|&n| n == 1));
    assert_eq!(settled.len(), 6);
    assert!(settled.values().all(|&n| n == 1));
    assert_eq!((cleared, finalized), (1, 1));
    // the coordinator's own event log: gapless across the restarts, each bid accepted once
    let mut rx = events(&mut c, 0).await;
    let mut log = Vec::new();
    while let Ok(Some(e)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await
    {
        log.push(e);
    }
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.sequence, i as u64);
    }
    let accepted: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.event {
            Some(pb::market_event::Event::BidAccepted(b)) => Some(b.bid.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(accepted.len(), 6, "{log:#?}");
    let finals = log
        .iter()
        .filter(|e| matches!(e.event, Some(pb::market_event::Event::Finalized(_))))
        .count();
    assert_eq!(finals, 1);
    running.shutdown().await;
    net.local.shutdown().await;
}

/// A crash after a bid's event was stored but before its new state was (the two were
/// separate commits): at restart the bid is found on chain, and its event is not
/// appended a second time (issue #13 item 13). The crash is reproduced by putting the
/// stored submission back to queued while the coordinator is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bid_found_on_chain_after_a_crash_has_one_event() {
    use sealgrid_coordinator::store::{Kind, Store, SubmissionState};
    let net = Net::new().await;
    let settings = net.local.settings(SCHEDULE, net.plan());
    let round = net.round;
    let running = start(settings.clone(), net.local.chain.clone())
        .await
        .unwrap();
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    wallets.truncate(1);
    deposit_all(&net, &mut c, &mut wallets, 700).await;
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let subs = prove_bids(&net, &mut wallets, round, 710).await;
    let bid = subs[0].0.inputs.as_ref().unwrap().bid.clone();
    let r = c
        .submit_bid(pb::SubmitBidRequest {
            bid: Some(subs[0].0.clone()),
            wait_for_chain: true,
        })
        .await
        .expect("on chain")
        .into_inner();
    assert_eq!(r.state, pb::SubmissionState::OnChain as i32);
    running.abort().await;
    {
        let store = Store::open(&settings.store).expect("the store opens");
        let id: [u8; 32] = bid.clone().try_into().unwrap();
        let mut s = store.submission(Kind::Bid, &id).unwrap().expect("stored");
        s.state = SubmissionState::Queued;
        store.put_submissions(&[&s]).unwrap();
    }
    let running = start(settings.clone(), net.local.chain.clone())
        .await
        .expect("restarts");
    let mut c = connect(running.addr).await;
    let st = c
        .get_submission(pb::GetSubmissionRequest {
            bid: bid.clone(),
            settlement: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(st.state, pb::SubmissionState::OnChain as i32, "{st:?}");
    let mut rx = events(&mut c, 0).await;
    let mut log = Vec::new();
    while let Ok(Some(e)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await
    {
        log.push(e);
    }
    let accepted = log
        .iter()
        .filter(
            |e| matches!(&e.event, Some(pb::market_event::Event::BidAccepted(b)) if b.bid == bid),
        )
        .count();
    assert_eq!(accepted, 1, "{log:#?}");
    running.shutdown().await;
    net.local.shutdown().await;
}
