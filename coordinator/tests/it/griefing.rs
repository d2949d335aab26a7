//! Issue #13 item 9 at the coordinator: a client's batches of broken bid proofs hold at
//! most one proof-check worker, so another client's valid bid is checked and queued while
//! they are still being verified. Before (main at 375e20c) every batch took a worker of
//! its own: `available_parallelism` batches of 1,000 broken proofs held every worker for
//! seconds and every other client's bid waited behind them.
//!
//! The coordinator serves mutual TLS here (`tls_client_ca`): the clients are told apart
//! by their certificates (two certificates of the local market's CA).

use sealgrid_coordinator::{start, TlsFiles};
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use sealgrid_proto::tls::MutualTls;
use tonic::transport::{Channel, Endpoint};

use crate::common::*;

async fn mtls_client(port: u16, tls: &MutualTls) -> CoordinatorClient<Channel> {
    let channel = Endpoint::new(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls.client())
        .unwrap()
        .connect()
        .await
        .expect("an mTLS client of the CA connects");
    CoordinatorClient::new(channel).max_decoding_message_size(64 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broken_proofs_of_one_client_do_not_hold_back_another_clients_bid() {
    let net = Net::new().await;
    let round = net.round;
    let tls = &net.local.tls;
    let files = tls.files("coordinator");
    let mut settings = net.local.settings(SCHEDULE, net.plan());
    settings.tls = Some(TlsFiles {
        cert: files.cert,
        key: files.key,
        client_ca: Some(files.ca),
    });
    let max_batch = settings.max_batch as usize;
    let running = start(settings, net.local.chain.clone()).await.unwrap();
    let port = running.addr.port();
    // Two clients, two certificates of the CA.
    let attacker_tls = tls.regulator.clone();
    let honest_tls = tls.trustees[0].clone();
    let mut honest = mtls_client(port, &honest_tls).await;

    // A client without a certificate gets nothing.
    let plain = async {
        let mut c = CoordinatorClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .ok()?;
        c.get_market(pb::GetMarketRequest {}).await.ok()
    };
    let plain = tokio::time::timeout(std::time::Duration::from_secs(60), plain).await;
    assert!(
        !matches!(plain, Ok(Some(_))),
        "a plaintext client was served"
    );

    let mut wallets = net.wallets().await;
    let wallets = &mut wallets[..2];
    deposit_all(&net, &mut honest, wallets, 300).await;
    wait_round(&mut honest, round, "bidding", |r| {
        r.phase == pb::Phase::Bidding as i32
    })
    .await;
    let subs = prove_bids(&net, wallets, round, 400).await;
    // A well-formed bid whose proof is another bid's: it passes every form check and
    // fails only the pairing check.
    let broken = pb::BidSubmission {
        proof: subs[1].0.proof.clone(),
        ..subs[0].0.clone()
    };
    let batch = pb::SubmitBidsRequest {
        bids: vec![broken; max_batch],
        wait_for_chain: false,
    };
    // As many full batches as there are proof-check workers, all from one client.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut attacks = Vec::new();
    for _ in 0..workers {
        let mut attacker = mtls_client(port, &attacker_tls).await;
        let batch = batch.clone();
        attacks.push(tokio::spawn(
            async move { attacker.submit_bids(batch).await },
        ));
    }
    // The honest client's valid bid is checked and queued while they are verified.
    let r = honest
        .submit_bid(pb::SubmitBidRequest {
            bid: Some(subs[1].0.clone()),
            wait_for_chain: false,
        })
        .await
        .expect("the valid bid is accepted")
        .into_inner();
    assert_eq!(r.state, pb::SubmissionState::Queued as i32, "{r:?}");
    let done = attacks.iter().filter(|a| a.is_finished()).count();
    assert_eq!(
        done, 0,
        "the honest bid waited until an attacker's batch had been verified"
    );
    for a in attacks {
        let results = a.await.unwrap().expect("answered").into_inner().results;
        assert_eq!(results.len(), max_batch);
        for r in results {
            match r.result {
                Some(pb::submit_bid_result::Result::Refused(r)) => {
                    assert_eq!(r.reason, pb::RefusalReason::InvalidProof as i32, "{r:?}")
                }
                other => panic!("a broken proof was not refused: {other:?}"),
            }
        }
    }
    running.shutdown().await;
    net.local.shutdown().await;
}
