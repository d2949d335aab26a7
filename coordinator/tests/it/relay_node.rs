//! The relay on a node with real blocks (ganache from `verifier-contract/node`, a
//! block every 2 seconds): deposits that reach the coordinator together go to the
//! chain together (issue #14, "Must have" item 3) and share blocks, instead of one
//! block each; each caller still gets its own answer, and a replay that arrives in the
//! same run is refused as stale once the deposit it repeats is on chain.
//!
//! And the crash test on such a node: a coordinator killed while its batch of bids
//! waits in the node's pool restarts, and every bid lands once.
//!
//! Without Node.js or ganache the test says so and passes, unless
//! `SEALGRID_REQUIRE_NODE=1` (as CI sets when Node.js is present): then it fails.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alloy_sol_types::SolEvent;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::MarketParams;
use sealgrid_coordinator::{Backend, ChainClient, Clock, RoundPlan, Schedule};
use sealgrid_local::OPERATOR_SECRET;
use sealgrid_local::{LocalConfig, LocalMarket};
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::NoProgress;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::chain::LogFilter;
use sealgrid_verifier_contract::devnode::{self, DevNode, NodeConfig, NodeKind};
use sealgrid_verifier_contract::rpc::GANACHE_DEV_KEY;
use sealgrid_verifier_contract::{Chain, DevChain, JsonRpcChain};
use sealgrid_wallet::prosumer::Wallet;
use tonic::Code;

use crate::common::*;

/// Ganache on 127.0.0.1 with a block of at most 30 M gas every 2 seconds, and its URL;
/// `None` (after saying why) when this machine cannot run it and nobody requires it.
fn ganache(log_dir: &Path) -> Option<(DevNode, String)> {
    if !devnode::required_or_skipped(NodeKind::Ganache, "the relay on a node with real blocks") {
        return None;
    }
    let node = devnode::start(
        &NodeConfig::interval(NodeKind::Ganache, Duration::from_secs(2)),
        &log_dir.join("ganache.log"),
    )
    .expect("ganache starts");
    let url = node.url.clone();
    Some((node, url))
}

/// A local market (default parameters, the target directory's keys) deployed on the
/// node at `url`, its files in `dir`.
async fn market_on(dir: &Path, url: &str) -> LocalMarket {
    LocalMarket::setup_on_node(
        LocalConfig {
            dir: dir.join("market"),
            params: MarketParams::default(),
            key_dir: sealgrid_prover::circuits::target_key_dir(),
            max_unsettled: 2,
            max_defaults: 1,
            persist_chain: false,
            clock: Clock::wall(),
            ceremony: None,
        },
        url,
        Arc::new(NoProgress),
    )
    .await
    .expect("a market on the node")
}

/// Eight deposits sent at once: the first goes alone (nothing else has arrived), the
/// seven behind it, and a replay of the first, in one run. Before the pipelined relay
/// each deposit took a block of its own (eight blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deposits_that_arrive_together_share_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((_node, url)) = ganache(dir.path()) else {
        return;
    };
    let local = market_on(dir.path(), &url).await;
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let mut wallets: Vec<Wallet> = (0..8).map(|_| Wallet::new(&mut rng)).collect();
    local
        .register_many(&wallets.iter().collect::<Vec<_>>(), MINTED)
        .await
        .expect("registered");
    // no rounds: only the deposits reach the market
    let plan = RoundPlan {
        first: None,
        count: Some(0),
    };
    let running = sealgrid_coordinator::start(local.settings(SCHEDULE, plan), local.chain.clone())
        .await
        .expect("coordinator starts");
    let d = local.market.deployment.clone();
    let mut requests = Vec::new();
    for (i, w) in wallets.iter_mut().enumerate() {
        let k = local.keys.clone();
        let (req, _) = on_wallet(w, move |w| {
            let mut rng = ChaCha20Rng::seed_from_u64(100 + i as u64);
            w.deposit_submission(&k, DEPOSIT, d.chain_id, d.market, &mut rng)
                .expect("proves")
        })
        .await;
        requests.push(req);
    }
    // the first again, last
    requests.push(requests[0].clone());
    let market = d.market;
    let before = local.chain.run(|c| c.block_number()).await.expect("block");
    let client = connect(running.addr).await;
    let sends: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, req)| {
            let mut c = client.clone();
            tokio::spawn(async move {
                // in this order at the coordinator
                tokio::time::sleep(Duration::from_millis(20 * i as u64)).await;
                c.deposit(req).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for s in sends {
        answers.push(s.await.expect("the request task"));
    }
    for (i, a) in answers[..8].iter().enumerate() {
        assert!(a.is_ok(), "deposit {i}: {a:?}");
    }
    let replay = answers[8].as_ref().expect_err("the replay is refused");
    assert_eq!(replay.code(), Code::FailedPrecondition, "{replay:?}");
    assert!(replay.message().starts_with("stale-balance"), "{replay:?}");

    let deposits: Vec<(u64, alloy_primitives::U256)> = local
        .chain
        .run(move |c| c.logs(&LogFilter::since(market, before + 1)))
        .await
        .expect("logs")
        .iter()
        .filter_map(|l| {
            Market::Deposited::decode_log_data(&l.log.data)
                .ok()
                .map(|e| (l.block_number, e.acct))
        })
        .collect();
    let accounts: BTreeSet<_> = deposits.iter().map(|(_, a)| *a).collect();
    let registered: BTreeSet<_> = wallets.iter().map(|w| w.registration().acct).collect();
    assert_eq!(deposits.len(), 8, "{deposits:?}");
    assert_eq!(accounts, registered);
    let blocks: BTreeSet<u64> = deposits.iter().map(|(b, _)| *b).collect();
    eprintln!("8 deposits in blocks {blocks:?}");
    assert!(blocks.len() <= 3, "8 deposits in the blocks {blocks:?}");
    running.shutdown().await;
    local.shutdown().await;
}

/// A new connection to the node as the operator: what a restarted coordinator process
/// has (no nonces counted, no receipts awaited).
fn operator_on(url: &str) -> ChainClient {
    let url = url.to_owned();
    ChainClient::spawn(move || {
        let mut c = JsonRpcChain::connect(&url, GANACHE_DEV_KEY)?;
        c.add_account(OPERATOR_SECRET)?;
        Ok(Backend::Rpc(c))
    })
    .expect("connects to the node")
}

/// Issue #14 item 3, the crash tests on a node with real blocks: the coordinator is
/// killed while its batch of six bids waits in the node's pool (sent, not yet in a
/// block), and a new one starts on the same store with a new connection to the node.
/// Nothing is lost and nothing lands twice: six bids on chain, six `BidSubmitted`
/// events for six distinct bids, each submission on chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinator_killed_with_its_bids_in_the_node_s_pool_restarts_and_each_lands_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((_node, url)) = ganache(dir.path()) else {
        return;
    };
    let local = market_on(dir.path(), &url).await;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut wallets: Vec<Wallet> = (0..QUOTES.len()).map(|_| Wallet::new(&mut rng)).collect();
    local
        .register_many(&wallets.iter().collect::<Vec<_>>(), MINTED)
        .await
        .expect("registered");
    // a round on the node's own clock, its bidding open now and for 150 s more
    let schedule = Schedule {
        slot_seconds: 30,
        bidding_seconds: 600,
        gate_closure_seconds: 0,
        settle_seconds: 600,
    };
    let round = schedule.next_biddable(Clock::wall().now(), 150);
    let plan = RoundPlan {
        first: Some(round),
        count: Some(1),
    };
    let settings = local.settings(schedule, plan);
    let running = sealgrid_coordinator::start(settings.clone(), operator_on(&url))
        .await
        .expect("coordinator starts");
    let mut c = connect(running.addr).await;
    let d = local.market.deployment.clone();
    for (i, w) in wallets.iter_mut().enumerate() {
        let k = local.keys.clone();
        let (req, next) = on_wallet(w, move |w| {
            let mut rng = ChaCha20Rng::seed_from_u64(200 + i as u64);
            w.deposit_submission(&k, DEPOSIT, d.chain_id, d.market, &mut rng)
                .expect("proves")
        })
        .await;
        c.deposit(req).await.expect("deposit relayed");
        w.commit_balance(next);
    }
    wait_round(&mut c, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let mut subs = Vec::new();
    for (i, (w, &(side, level, q))) in wallets.iter_mut().zip(QUOTES.iter()).enumerate() {
        let k = local.keys.clone();
        let (sub, _, _) = on_wallet(w, move |w| {
            let mut rng = ChaCha20Rng::seed_from_u64(300 + i as u64);
            w.bid_submission(&k, round, side, level, q, &mut rng)
                .expect("proves")
        })
        .await;
        subs.push(sub);
    }
    let market = d.market;
    let before = local.chain.run(|c| c.block_number()).await.expect("block");
    for s in &subs {
        let r = c
            .submit_bid(pb::SubmitBidRequest {
                bid: Some(s.clone()),
                wait_for_chain: false,
            })
            .await
            .expect("queued")
            .into_inner();
        assert_eq!(r.state, pb::SubmissionState::Queued as i32);
    }
    // the batch in the node's pool, not yet in a block: then the crash
    let mut pool = JsonRpcChain::read_only(&url).expect("connects");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let content = pool
            .rpc("txpool_content", serde_json::json!([]))
            .expect("txpool_content");
        let pending = content
            .get("pending")
            .and_then(|p| p.as_object())
            .is_some_and(|p| !p.is_empty());
        if pending {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bids never reached the node's pool"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let on_chain_at_crash = local
        .chain
        .run(move |c| c.logs(&LogFilter::since(market, before + 1)))
        .await
        .expect("logs")
        .iter()
        .filter(|l| Market::BidSubmitted::decode_log_data(&l.log.data).is_ok())
        .count();
    eprintln!("bids on chain when the pool held the rest: {on_chain_at_crash}");
    assert!(on_chain_at_crash < QUOTES.len(), "nothing was in flight");
    running.abort().await;

    let running = sealgrid_coordinator::start(settings, operator_on(&url))
        .await
        .expect("restarts");
    let mut c = connect(running.addr).await;
    let status = wait_round(&mut c, round, "six bids on chain", |r| {
        r.bids_on_chain == QUOTES.len() as u32
    })
    .await;
    assert_eq!(status.bids_queued, 0, "{status:?}");
    let bids: Vec<_> = local
        .chain
        .run(move |c| c.logs(&LogFilter::since(market, before + 1)))
        .await
        .expect("logs")
        .iter()
        .filter_map(|l| Market::BidSubmitted::decode_log_data(&l.log.data).ok())
        .map(|e| e.bid)
        .collect();
    let distinct: BTreeSet<_> = bids.iter().collect();
    assert_eq!(bids.len(), QUOTES.len(), "each bid once: {bids:?}");
    assert_eq!(distinct.len(), QUOTES.len());
    for s in &subs {
        let st = c
            .get_submission(pb::GetSubmissionRequest {
                bid: s.inputs.as_ref().expect("inputs").bid.clone(),
                settlement: false,
            })
            .await
            .expect("known")
            .into_inner();
        assert_eq!(st.state, pb::SubmissionState::OnChain as i32, "{st:?}");
    }
    running.shutdown().await;
    local.shutdown().await;
}
