//! PROTOCOL §6 "sealed bids stay sealed": a trustee opens a round's aggregates only from
//! its own chain view, once the set they cover can no longer change, and answers every
//! later ask over the set it first answered over. Before this, a trustee answered
//! `PartialDecrypt` and `PartialDecryptSettlement` whenever asked (issue #13 item 1): two
//! answers over k and k + 1 bids gave the (k + 1)th bid's side, level and quantity, and
//! the settlement aggregate during bidding gave every lock. These tests call the gRPC
//! service's handlers as an attacker holding a trustee's port would.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::bid;
use sealgrid_circuits::market::{MarketParams, Side};
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::dkg::{run_in_memory, DkgParams};
use sealgrid_committee::sign::{SigningDomain, TrusteeSigningKey};
use sealgrid_committee::trustee::{Trustee, TrusteeConfig};
use sealgrid_committee::BidId;
use sealgrid_proto::committee::v1 as pb;
use sealgrid_proto::committee::v1::trustee_server::Trustee as _;
use sealgrid_proto::tls::CallerId;
use sealgrid_trustee::chain::{MemoryChain, RoundGate};
use sealgrid_trustee::service::{Auditor, TrusteeService};
use sealgrid_trustee::store::DisclosureLog;
use std::sync::Arc;
use tonic::{Code, Request};

const ROUND: u64 = 1_980_000;
const AUDITOR: &str = "regulator";
/// The auditor's certificate identity. The handlers are called directly here, so the
/// request carries the identity the TLS interceptor would have set.
const AUDITOR_ID: CallerId = CallerId([0xa5; 32]);

/// One trustee of a 1-of-1 committee (the gate does not depend on the threshold), a
/// chain view set by hand, and seven real sealed bids of `ROUND`.
fn setup() -> (
    TrusteeService,
    Arc<MemoryChain>,
    Vec<PostedBid>,
    tempfile::TempDir,
) {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let market = MarketParams::default();
    let params = DkgParams {
        n: 1,
        t: 1,
        instances: 2 * market.levels + 1,
    };
    let (public, mut shares, _) = run_in_memory(params, &mut rng, |_| {}).unwrap();
    let keys = public.flow_keys();
    let bids = (0..7)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let b = bid::prepare(
                &market,
                &keys,
                ROUND,
                Fr::from(1000 + i as u64),
                1 << 40,
                Fr::from(7u64),
                side,
                rng.gen_range(0..market.levels),
                rng.gen_range(1..5_000),
                &mut rng,
            )
            .unwrap();
            PostedBid {
                id: BidId::from_commitment(b.public.bid),
                ciphertexts: b.ciphertexts.clone(),
                digest: b.public.digest,
                acct: None,
            }
        })
        .collect();
    let public = Arc::new(public);
    let trustee = Trustee::new(
        shares.remove(0),
        public.clone(),
        TrusteeSigningKey::random(&mut rng),
        TrusteeConfig {
            market,
            domain: SigningDomain {
                chain_id: 246,
                contract: sealgrid_committee::sign::Address([0x5f; 20]),
            },
        },
    );
    let chain = Arc::new(MemoryChain::default());
    let dir = tempfile::tempdir().unwrap();
    let log = DisclosureLog::open(&dir.path().join("disclosures.jsonl")).unwrap();
    let auditor = Auditor {
        name: AUDITOR.to_owned(),
        identity: AUDITOR_ID,
    };
    let service = TrusteeService::new(trustee, public, chain.clone(), [auditor], log);
    (service, chain, bids, dir)
}

const BIDDING: RoundGate = RoundGate {
    bidding_closed: false,
    settlement_closed: false,
};
const SETTLING: RoundGate = RoundGate {
    bidding_closed: true,
    settlement_closed: false,
};

async fn clearing_share(s: &TrusteeService) -> Result<pb::PartialDecryptResponse, tonic::Status> {
    s.partial_decrypt(Request::new(pb::PartialDecryptRequest { round: ROUND }))
        .await
        .map(|r| r.into_inner())
}

async fn settlement_share(
    s: &TrusteeService,
) -> Result<pb::PartialDecryptSettlementResponse, tonic::Status> {
    s.partial_decrypt_settlement(Request::new(pb::PartialDecryptSettlementRequest {
        round: ROUND,
    }))
    .await
    .map(|r| r.into_inner())
}

fn refused_because(r: Result<impl std::fmt::Debug, tonic::Status>, word: &str) {
    let e = r.expect_err("a trustee must refuse");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().starts_with(word), "{e:?}");
}

#[tokio::test]
async fn sealed_bids_stay_sealed_while_bidding_is_open() {
    let (service, chain, bids, _dir) = setup();
    chain.set_round(ROUND, bids[..5].to_vec());
    chain.set_gate(ROUND, BIDDING);
    // The subtraction attack: an aggregate over k bids, then over k + 1.
    refused_because(clearing_share(&service).await, "bidding-open:");
    chain.set_round(ROUND, bids[..6].to_vec());
    refused_because(clearing_share(&service).await, "bidding-open:");
    // Every bid is a defaulter while nothing has settled: the locks' aggregate.
    refused_because(settlement_share(&service).await, "settlement-open:");
    // Escrowed disclosure opens a bid of a closed round only.
    let mut req = Request::new(pb::DiscloseRequest {
        round: ROUND,
        bid: bids[0].id.0.to_vec(),
        auditor: AUDITOR.to_owned(),
    });
    req.extensions_mut().insert(AUDITOR_ID);
    let disclose = service.disclose(req).await;
    refused_because(disclose, "bidding-open:");
}

#[tokio::test]
async fn an_aggregate_is_answered_over_the_set_it_was_first_answered_over() {
    let (service, chain, bids, _dir) = setup();
    chain.set_round(ROUND, bids[..6].to_vec());
    chain.set_gate(ROUND, SETTLING);
    let first = clearing_share(&service).await.expect("bidding is closed");
    assert_eq!(first.included.len(), 6);
    // The view changes (a node that reorganised, a lying view): a second ask is still
    // answered over the first set, so no difference of two answers exists.
    chain.set_round(ROUND, bids.clone());
    let second = clearing_share(&service).await.expect("answered again");
    assert_eq!(second.included, first.included);
    // Settlement is still open on chain: no settlement aggregate, not even of locks.
    refused_because(settlement_share(&service).await, "settlement-open:");
    chain.set_gate(ROUND, RoundGate::FINAL);
    let s = settlement_share(&service)
        .await
        .expect("settlement is closed");
    assert_eq!(s.defaulters.len(), 6, "the frozen bids, none settled");
}

#[tokio::test]
async fn an_unknown_round_is_not_found() {
    let (service, _chain, _bids, _dir) = setup();
    let e = clearing_share(&service).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
}
