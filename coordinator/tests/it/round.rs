//! A whole round through the coordinator: deposits (relayed, payer-signed), sealed bids
//! (single and batched, with refusals named by code and reason), clearing by the
//! committee, settlements, finalization with one defaulter; money conserved; the event
//! stream complete and resumable; the audit bundle filled.

use alloy_primitives::U256;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::clear;
use sealgrid_coordinator::refusal::Refusal;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::market_event::Event;
use sealgrid_testkit::bids::{exported, histograms, IMPORTED};
use sealgrid_wallet::prosumer::{clearing_for, Wallet};
use tonic::Code;

use crate::common::*;

fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, word: &str) {
    match r {
        Ok(v) => panic!("accepted, expected {code:?} {word}: {v:?}"),
        Err(s) => {
            assert_eq!(s.code(), code, "{s:?}");
            assert!(s.message().starts_with(word), "{s:?}");
            // the status details name the reason whose word the message starts with
            let r = Refusal::of_status(&s).expect("the refusal in the status details");
            assert_eq!((r.code, r.message.as_str()), (code as i32, s.message()));
            assert_eq!(
                pb::RefusalReason::try_from(r.reason).map(|x| x.as_str_name()),
                Ok(format!("REFUSAL_REASON_{}", word.to_uppercase().replace('-', "_")).as_str()),
                "{s:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_with_six_prosumers_runs_through_the_coordinator() {
    let net = Net::new().await;
    let keys = net.local.keys.clone();
    let d = net.local.market.deployment.clone();
    let running = net.start().await;
    let mut c = connect(running.addr).await;
    let mut rx = events(&mut c, 0).await;
    let mut seen = Vec::new();

    // --- the market as a client sees it --------------------------------------------
    let info = c
        .get_market(pb::GetMarketRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.market, d.market.to_vec());
    assert_eq!(info.grid.as_ref().unwrap().levels, 8);
    let committee = info.committee.as_ref().unwrap();
    assert_eq!((committee.size, committee.threshold), (3, 2));
    assert_eq!(committee.flow_keys.len(), 17);
    assert_eq!(info.verifying_keys.len(), 3);
    assert!(info.verifying_keys.iter().all(|k| k.sha256.len() == 32));

    // --- deposits --------------------------------------------------------------------
    let mut wallets = net.wallets().await;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for (i, slot) in wallets.iter_mut().enumerate() {
        let w = std::mem::replace(slot, Wallet::new(&mut rng));
        let k = keys.clone();
        let (w, (req, next)) = blocking(move || {
            let mut rng = ChaCha20Rng::seed_from_u64(100 + i as u64);
            let r = w
                .deposit_submission(&k, DEPOSIT, d.chain_id, d.market, &mut rng)
                .unwrap();
            (w, r)
        })
        .await;
        if i == 0 {
            // a deposit signed by someone else than the payer (before the real one, so
            // that its balance is still current and the signature is what is refused)
            let mut forged = req.clone();
            forged.payer = vec![0x11; 20];
            refused(
                c.deposit(forged).await,
                Code::PermissionDenied,
                "bad-signature",
            );
        }
        let resp = c
            .deposit(req.clone())
            .await
            .expect("deposit relayed")
            .into_inner();
        assert!(resp.gas_used > 0);
        eprintln!("gas depositFor (relayed, payer-signed): {}", resp.gas_used);
        if i == 0 {
            // the same deposit again: its F_old is spent
            refused(
                c.deposit(req.clone()).await,
                Code::FailedPrecondition,
                "stale-balance",
            );
        }
        *slot = w;
        slot.commit_balance(next);
    }
    assert_eq!(
        net.local.token_balance(d.market).await.unwrap(),
        DEPOSIT * wallets.len() as u64
    );

    // --- bids ------------------------------------------------------------------------
    let round = net.round;
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let mut subs = Vec::new();
    for (i, &(side, level, q)) in QUOTES.iter().enumerate() {
        let w = std::mem::replace(&mut wallets[i], Wallet::new(&mut rng));
        let k = keys.clone();
        let (w, r) = blocking(move || {
            let mut rng = ChaCha20Rng::seed_from_u64(200 + i as u64);
            let r = w
                .bid_submission(&k, round, side, level, q, &mut rng)
                .unwrap();
            (w, r)
        })
        .await;
        wallets[i] = w;
        subs.push(r);
    }
    // refusals before anything is relayed
    let mut wrong_digest = subs[0].0.clone();
    // two slots' points swapped: valid points, other ciphertexts than proven
    wrong_digest.ciphertexts.swap(1, 2);
    refused(
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(wrong_digest),
            wait_for_chain: false,
        })
        .await,
        Code::InvalidArgument,
        "digest-mismatch",
    );
    let mut tampered = subs[0].0.clone();
    tampered.proof.as_mut().unwrap().words.swap(0, 6);
    tampered.proof.as_mut().unwrap().words.swap(1, 7);
    refused(
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(tampered),
            wait_for_chain: false,
        })
        .await,
        Code::InvalidArgument,
        "invalid-proof",
    );
    let mut other_round = subs[0].0.clone();
    other_round.inputs.as_mut().unwrap().round = round + 5;
    refused(
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(other_round),
            wait_for_chain: false,
        })
        .await,
        Code::InvalidArgument,
        "invalid-proof",
    );
    let mut off_curve = subs[0].0.clone();
    off_curve.ciphertexts[0] = vec![0; 32];
    refused(
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(off_curve),
            wait_for_chain: false,
        })
        .await,
        Code::InvalidArgument,
        "bad-point",
    );
    // two prosumers alone, waiting for the chain
    for (i, (bid, _, _)) in subs.iter().enumerate().take(2) {
        let r = c
            .submit_bid(pb::SubmitBidRequest {
                bid: Some(bid.clone()),
                wait_for_chain: true,
            })
            .await
            .expect("bid accepted")
            .into_inner();
        assert_eq!(r.state, pb::SubmissionState::OnChain as i32, "{r:?}");
        assert_eq!(r.index, i as u32);
    }
    refused(
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(subs[0].0.clone()),
            wait_for_chain: false,
        })
        .await,
        Code::AlreadyExists,
        "duplicate",
    );
    // the others through an aggregator's batch, with a duplicate and a bad proof inside
    let mut bad = subs[3].0.clone();
    bad.proof.as_mut().unwrap().words.swap(6, 0);
    bad.proof.as_mut().unwrap().words.swap(7, 1);
    let batch = vec![
        subs[2].0.clone(),
        subs[1].0.clone(),
        bad,
        subs[3].0.clone(),
        subs[4].0.clone(),
        subs[5].0.clone(),
    ];
    let results = c
        .submit_bids(pb::SubmitBidsRequest {
            bids: batch,
            wait_for_chain: true,
        })
        .await
        .expect("batch")
        .into_inner()
        .results;
    let outcome: Vec<Result<u32, (i32, String)>> = results
        .iter()
        .map(|r| match r.result.as_ref().unwrap() {
            pb::submit_bid_result::Result::Accepted(a) => {
                assert_eq!(a.state, pb::SubmissionState::OnChain as i32, "{a:?}");
                Ok(a.index)
            }
            pb::submit_bid_result::Result::Refused(f) => Err((f.code, f.message.clone())),
        })
        .collect();
    let reasons: Vec<Option<i32>> = results
        .iter()
        .map(|r| match r.result.as_ref().unwrap() {
            pb::submit_bid_result::Result::Refused(f) => Some(f.reason),
            pb::submit_bid_result::Result::Accepted(_) => None,
        })
        .collect();
    assert_eq!(
        &reasons[1..3],
        &[
            Some(pb::RefusalReason::Duplicate as i32),
            Some(pb::RefusalReason::InvalidProof as i32)
        ]
    );
    assert_eq!(outcome[0], Ok(2));
    assert!(
        matches!(&outcome[1], Err((c, m)) if *c == Code::AlreadyExists as i32 && m.starts_with("duplicate")),
        "{outcome:?}"
    );
    assert!(
        matches!(&outcome[2], Err((c, m)) if *c == Code::InvalidArgument as i32 && m.starts_with("invalid-proof")),
        "{outcome:?}"
    );
    assert_eq!(&outcome[3..], &[Ok(3), Ok(4), Ok(5)]);
    for (i, (_, open, next)) in subs.iter().enumerate() {
        let mut open = open.clone();
        open.index = Some(i as u32);
        wallets[i].commit_bid(round, open, *next);
    }
    // a second bid from a balance that is no longer current
    let w0 = &wallets[0];
    let acct0 = w0.acct();
    let account = c
        .get_account(pb::GetAccountRequest {
            acct: sealgrid_verifier_contract::calldata::fr(&acct0)
                .to_be_bytes::<32>()
                .to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(account.unsettled, 1);
    assert_eq!(account.free_on_chain, account.free_next);
    assert_eq!(
        U256::from_be_slice(&account.free_on_chain),
        sealgrid_verifier_contract::calldata::fr(&w0.balance.commitment())
    );
    // a second bid of the same account in the round, proved from its current balance:
    // one bid per account per round (issue #13 items 5 and 6)
    let w = std::mem::replace(&mut wallets[0], Wallet::new(&mut rng));
    let k = keys.clone();
    let (w, second) = blocking(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(299);
        let r = w
            .bid_submission(
                &k,
                round,
                sealgrid_circuits::market::Side::Sell,
                2,
                1,
                &mut rng,
            )
            .unwrap();
        (w, r)
    })
    .await;
    wallets[0] = w;
    let status = c
        .submit_bid(pb::SubmitBidRequest {
            bid: Some(second.0),
            wait_for_chain: false,
        })
        .await
        .expect_err("a second bid of the account");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert_eq!(
        Refusal::of_status(&status).map(|r| r.reason),
        Some(pb::RefusalReason::AccountAlreadyBid as i32),
        "{status:?}"
    );

    // --- close and clear ----------------------------------------------------------------
    let times = net.times();
    net.clock.advance_to(times.bid_deadline);
    let cleared = wait_for(&mut rx, &mut seen, "the clearing", |e| {
        matches!(e, Event::Cleared(_))
    })
    .await;
    let Some(Event::Cleared(pb::RoundCleared {
        clearing: Some(cl), ..
    })) = cleared.event
    else {
        unreachable!()
    };
    let (h_buy, h_sell) = histograms(8, QUOTES);
    assert_eq!(
        (cl.h_buy.clone(), cl.h_sell.clone()),
        (h_buy.clone(), h_sell.clone())
    );
    let expected = clear(&h_buy, &h_sell, 6, 5).unwrap();
    assert!(cl.cleared && cl.volume == expected.volume && cl.level as usize == expected.level);
    assert_eq!(cl.included, 6);
    let bundle = c
        .get_audit_bundle(pb::GetAuditBundleRequest { round })
        .await
        .unwrap()
        .into_inner();
    assert!(bundle.clearing_partials.len() >= 2);
    assert_eq!(bundle.clearing_signatures.len(), 2);
    assert_eq!(bundle.included.len(), 6);

    // --- settlement -----------------------------------------------------------------------
    refused(
        c.submit_settlement(pb::SubmitSettlementRequest {
            settlement: None,
            wait_for_chain: false,
        })
        .await,
        Code::InvalidArgument,
        "malformed",
    );
    net.clock.advance_to(times.settle_start);
    let defaulter = 5;
    let mut payouts = 0u64;
    let mut settle_subs = Vec::new();
    for (i, slot) in wallets.iter_mut().enumerate() {
        if i == defaulter {
            continue;
        }
        let w = std::mem::replace(slot, Wallet::new(&mut rng));
        let (k, cl2) = (keys.clone(), cl.clone());
        let (w, r) = blocking(move || {
            let mut rng = ChaCha20Rng::seed_from_u64(300 + i as u64);
            let open = w.bids.get(&round).unwrap().clone();
            let clearing = clearing_for(&cl2, 8, 5, open.index.unwrap()).unwrap();
            // sellers deliver a little more than half of what they offered
            let reading = w.read_meter(round, IMPORTED, exported(&open.opening));
            let r = w
                .settle_submission(&k, round, &clearing, reading, &mut rng)
                .unwrap();
            (w, r)
        })
        .await;
        *slot = w;
        settle_subs.push((i, r));
    }
    for (i, (sub, payout, _)) in &settle_subs {
        let r = c
            .submit_settlement(pb::SubmitSettlementRequest {
                settlement: Some(sub.clone()),
                wait_for_chain: true,
            })
            .await
            .expect("settlement accepted")
            .into_inner();
        assert_eq!(r.state, pb::SubmissionState::OnChain as i32, "{r:?}");
        payouts += payout.amount;
        wallets[*i].commit_settlement(round, *payout);
    }
    refused(
        c.submit_settlement(pb::SubmitSettlementRequest {
            settlement: Some(settle_subs[0].1 .0.clone()),
            wait_for_chain: false,
        })
        .await,
        Code::AlreadyExists,
        "already-settled",
    );

    // --- finalize ----------------------------------------------------------------------------
    net.clock.advance_to(times.settle_deadline + 1);
    let fin = wait_for(&mut rx, &mut seen, "the finalization", |e| {
        matches!(e, Event::Finalized(_))
    })
    .await;
    let Some(Event::Finalized(pb::RoundFinalized {
        finalization: Some(f),
        ..
    })) = fin.event
    else {
        unreachable!()
    };
    let defaulted_bid =
        sealgrid_verifier_contract::calldata::fr(&wallets[defaulter].bids[&round].id);
    assert_eq!(
        f.defaulted,
        vec![defaulted_bid.to_be_bytes::<32>().to_vec()]
    );
    let status = c
        .get_round(pb::GetRoundRequest { round })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.phase, pb::Phase::Finalized as i32);
    assert_eq!((status.bids_on_chain, status.settled), (6, 5));
    // money conserved to the unit: the market holds the free balances, the payouts and
    // the lone defaulter's lock (withheld: under the k-anonymity floor it is never
    // decrypted)
    assert_eq!(f.totals.unwrap().defaulted_locks, 0);
    let free: u64 = wallets.iter().map(|w| w.balance.balance).sum();
    let withheld = wallets[defaulter].bids[&round].opening.lock;
    assert_eq!(
        net.local.token_balance(d.market).await.unwrap(),
        free + payouts + withheld
    );
    let p5 = net
        .local
        .prosumer(sealgrid_verifier_contract::calldata::fr(
            &wallets[defaulter].acct(),
        ))
        .await
        .unwrap();
    assert_eq!((p5.unsettled, p5.defaults), (0, 1));

    // --- the event log: complete, in order, resumable ------------------------------------------
    let all: Vec<pb::MarketEvent> = seen.clone();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.sequence, i as u64, "{all:#?}");
    }
    let count = |p: fn(&Event) -> bool| {
        all.iter()
            .filter(|e| e.event.as_ref().is_some_and(p))
            .count()
    };
    assert_eq!(count(|e| matches!(e, Event::Opened(_))), 1);
    assert_eq!(count(|e| matches!(e, Event::BidAccepted(_))), 6);
    assert_eq!(count(|e| matches!(e, Event::Closed(_))), 1);
    assert_eq!(count(|e| matches!(e, Event::SettlementAccepted(_))), 5);
    let mut again = events(&mut c, 3).await;
    let first = again.recv().await.unwrap();
    assert_eq!(first.sequence, 3);
    assert_eq!(first, all[3]);
    let bundle = c
        .get_audit_bundle(pb::GetAuditBundleRequest { round })
        .await
        .unwrap()
        .into_inner();
    // one defaulter, under the floor: its lock is withheld, so no lock shares at all
    assert!(bundle.settlement_partials.len() >= 2);
    assert!(bundle.defaulted_partials.is_empty());
    assert_eq!(bundle.finalize_signatures.len(), 2);

    running.shutdown().await;
    net.local.shutdown().await;
}
