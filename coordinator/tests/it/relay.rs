//! The relay refuses what the contract would refuse before it costs a transaction
//! (issue #13 items 9 and 13): a spent deposit replayed twenty times is twenty refusals
//! and no transaction, while queued bids still land; a deposit the payer cannot fund is
//! a precondition, not an internal error; a deposit that follows a queued bid waits for
//! it; a bid already posted to the contract directly is named a duplicate.

use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_coordinator::refusal::Refusal;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::chain::LogFilter;
use sealgrid_verifier_contract::Chain;
use tonic::Code;

use crate::common::*;

/// The number of the chain's latest block: the embedded chain mines one transaction per
/// block, reverted ones included, so this counts transactions.
async fn transactions(net: &Net) -> u64 {
    net.local
        .chain
        .run(|c| c.block_number())
        .await
        .expect("block number")
}

/// The `BidSubmitted` events after block `after`: (block, bid commitment).
async fn bids_posted(net: &Net, after: u64) -> Vec<(u64, U256)> {
    let market = net.local.market.deployment.market;
    net.local
        .chain
        .run(move |c| c.logs(&LogFilter::since(market, after + 1)))
        .await
        .expect("logs")
        .iter()
        .filter_map(|l| {
            Market::BidSubmitted::decode_log_data(&l.log.data)
                .ok()
                .map(|e| (l.block_number, e.bid))
        })
        .collect()
}

fn refused_with(r: Result<impl std::fmt::Debug, tonic::Status>, code: Code, word: &str) {
    let s = r.expect_err("refused");
    assert_eq!(s.code(), code, "{s:?}");
    assert!(s.message().starts_with(word), "{s:?}");
    let r = Refusal::of_status(&s).expect("the refusal in the details");
    assert_eq!(
        pb::RefusalReason::try_from(r.reason).map(|x| x.as_str_name()),
        Ok(format!("REFUSAL_REASON_{}", word.to_uppercase().replace('-', "_")).as_str()),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replays_of_a_spent_deposit_cost_no_transaction_and_bids_still_land() {
    let net = Net::new().await;
    let d = net.local.market.deployment.clone();
    let running = net.start().await;
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    let k = net.local.keys.clone();
    let (spent, next) = on_wallet(&mut wallets[0], move |w| {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        w.deposit_submission(&k, DEPOSIT, d.chain_id, d.market, &mut rng)
            .unwrap()
    })
    .await;
    c.deposit(spent.clone()).await.expect("the first use lands");
    wallets[0].commit_balance(next);
    deposit_all(&net, &mut c, &mut wallets[1..4], 20).await;
    // a deposit of more tokens than the payer holds
    let k = net.local.keys.clone();
    let (unfunded, _) = on_wallet(&mut wallets[5], move |w| {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        w.deposit_submission(&k, 2 * MINTED, d.chain_id, d.market, &mut rng)
            .unwrap()
    })
    .await;
    wait_round(&mut c, net.round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let bids = prove_bids(&net, &mut wallets[1..4], net.round, 30).await;

    let before = transactions(&net).await;
    for (bid, _, _) in &bids {
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(bid.clone()),
            wait_for_chain: false,
        })
        .await
        .expect("queued");
    }
    for _ in 0..20 {
        refused_with(
            c.deposit(spent.clone()).await,
            Code::FailedPrecondition,
            "stale-balance",
        );
    }
    refused_with(
        c.deposit(unfunded).await,
        Code::FailedPrecondition,
        "insufficient-tokens",
    );
    let status = wait_round(&mut c, net.round, "three bids on chain", |r| {
        r.bids_on_chain == 3 && r.bids_queued == 0
    })
    .await;
    assert_eq!(status.bids_on_chain, 3);
    // the three bids (alone or in batches: as many transactions as blocks with a
    // `BidSubmitted`), and not one transaction for the refusals
    let bid_blocks: std::collections::BTreeSet<u64> = bids_posted(&net, before)
        .await
        .iter()
        .map(|b| b.0)
        .collect();
    assert!((1..=3).contains(&bid_blocks.len()), "{bid_blocks:?}");
    assert_eq!(transactions(&net).await - before, bid_blocks.len() as u64);
    running.shutdown().await;
    net.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deposit_after_a_queued_bid_waits_for_it_and_a_bid_posted_directly_is_a_duplicate() {
    let net = Net::new().await;
    let d = net.local.market.deployment.clone();
    let running = net.start().await;
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    wallets.truncate(2);
    deposit_all(&net, &mut c, &mut wallets, 40).await;
    wait_round(&mut c, net.round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let mut bids = prove_bids(&net, &mut wallets, net.round, 50).await;

    // wallet 0: its bid queued, then a deposit proven from the bid's F_new
    let (bid0, open0, next0) = bids.remove(0);
    c.submit_bid(pb::SubmitBidRequest {
        bid: Some(bid0),
        wait_for_chain: false,
    })
    .await
    .expect("queued");
    wallets[0].commit_bid(net.round, open0, next0);
    let k = net.local.keys.clone();
    let (dep, next) = on_wallet(&mut wallets[0], move |w| {
        let mut rng = ChaCha20Rng::seed_from_u64(60);
        w.deposit_submission(&k, 1_000, d.chain_id, d.market, &mut rng)
            .unwrap()
    })
    .await;
    c.deposit(dep)
        .await
        .expect("the deposit lands after the bid it follows");
    wallets[0].commit_balance(next);

    // wallet 1: its bid posted to the contract directly, then given to the coordinator
    let (bid1, _, _) = bids.remove(0);
    let form = sealgrid_coordinator::wire::bid(&bid1, 8).expect("well formed");
    let (market, poster) = (d.market, alloy_primitives::Address::repeat_byte(0x77));
    let call = alloy_sol_types::SolCall::abi_encode(&form.call);
    net.local
        .chain
        .run(move |ch| ch.transact(poster, market, call.into()))
        .await
        .expect("posted directly");
    // the coordinator says it is there (not that the account's balance is stale)
    refused_with(
        c.submit_bid(pb::SubmitBidRequest {
            bid: Some(bid1),
            wait_for_chain: true,
        })
        .await,
        Code::AlreadyExists,
        "duplicate",
    );
    // the relayed bid (the direct one is the contract's, not the relay's)
    let status = wait_round(&mut c, net.round, "the relayed bid", |r| {
        r.bids_on_chain == 1
    })
    .await;
    assert_eq!(status.bids_queued, 0);
    assert_eq!(
        net.local.token_balance(d.market).await.unwrap(),
        2 * DEPOSIT + 1_000
    );
    running.shutdown().await;
    net.local.shutdown().await;
}

/// A batch the contract refuses (all or none) for one item: three bids queued together,
/// one of them posted to the contract directly while they wait for their batch (the
/// coordinator lingers 3 s for a fuller one). The batch is refused (`BidReplay` names
/// the bid); the other two land together in one batch, and the one posted directly is
/// looked up alone, found on chain and reported as such, not failed; no bid is on chain
/// twice. (Before, a refused batch stalled the queue for good: tried by replacing the
/// fallback with a retry, the round waited with three bids queued.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_refused_for_one_item_relays_the_others_and_loses_nothing() {
    let net = Net::new().await;
    let d = net.local.market.deployment.clone();
    let mut settings = net.local.settings(SCHEDULE, net.plan());
    settings.relay_linger_ms = 3_000;
    let running = sealgrid_coordinator::start(settings, net.local.chain.clone())
        .await
        .expect("coordinator starts");
    let mut c = connect(running.addr).await;
    let mut wallets = net.wallets().await;
    wallets.truncate(3);
    deposit_all(&net, &mut c, &mut wallets, 70).await;
    wait_round(&mut c, net.round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let bids = prove_bids(&net, &mut wallets, net.round, 80).await;
    let before = transactions(&net).await;
    let results = c
        .submit_bids(pb::SubmitBidsRequest {
            bids: bids.iter().map(|(b, _, _)| b.clone()).collect(),
            wait_for_chain: false,
        })
        .await
        .expect("answered")
        .into_inner()
        .results;
    assert_eq!(results.len(), 3);
    // bid 1 posted directly while the three linger in the queue
    let form = sealgrid_coordinator::wire::bid(&bids[1].0, 8).expect("well formed");
    let (market, poster) = (d.market, alloy_primitives::Address::repeat_byte(0x78));
    let call = SolCall::abi_encode(&form.call);
    net.local
        .chain
        .run(move |ch| ch.transact(poster, market, call.into()))
        .await
        .expect("posted directly");
    let status = wait_round(&mut c, net.round, "three bids on chain", |r| {
        r.bids_on_chain >= 2 && r.bids_queued == 0
    })
    .await;
    for (i, (b, _, _)) in bids.iter().enumerate() {
        let st = c
            .get_submission(pb::GetSubmissionRequest {
                bid: b.inputs.as_ref().unwrap().bid.clone(),
                settlement: false,
            })
            .await
            .expect("known")
            .into_inner();
        assert_eq!(
            st.state,
            pb::SubmissionState::OnChain as i32,
            "bid {i}: {st:?} ({status:?})"
        );
    }
    // three bids on chain, each once
    let events = bids_posted(&net, before).await;
    let mut posted: Vec<U256> = events.iter().map(|b| b.1).collect();
    posted.sort();
    let mut want: Vec<U256> = bids
        .iter()
        .map(|(b, _, _)| U256::from_be_slice(&b.inputs.as_ref().unwrap().bid))
        .collect();
    want.sort();
    assert_eq!(posted, want);
    let bid_blocks: std::collections::BTreeSet<u64> = events.iter().map(|b| b.0).collect();
    assert_eq!(
        bid_blocks.len(),
        2,
        "the direct post and one batch of the other two: {bid_blocks:?}"
    );
    running.shutdown().await;
    net.local.shutdown().await;
}

/// The operator's registrations go first and the mints and approvals only for the
/// prosumers registered: one whose registration is refused (already registered) gets no
/// tokens, and the others of the same call are registered and funded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_registration_mints_nothing_and_the_others_stand() {
    let net = Net::new().await;
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let first = sealgrid_wallet::prosumer::Wallet::new(&mut rng);
    net.local
        .register(&first, MINTED)
        .await
        .expect("registered");
    let other = sealgrid_wallet::prosumer::Wallet::new(&mut rng);
    let err = net
        .local
        .register_many(&[&first, &other], MINTED)
        .await
        .expect_err("registering an account twice is refused");
    assert!(err.to_string().contains("prosumer 0"), "{err}");
    assert!(err.to_string().contains("register"), "{err}");
    assert_eq!(
        net.local.token_balance(first.address()).await.unwrap(),
        MINTED,
        "no second mint for a refused registration"
    );
    assert_eq!(
        net.local.token_balance(other.address()).await.unwrap(),
        MINTED
    );
    let acct = sealgrid_verifier_contract::calldata::fr(&other.acct());
    assert!(net.local.prosumer(acct).await.unwrap().registered);
}
