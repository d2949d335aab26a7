//! Issue #13 items 7, 9 and 10 against the real trustee service: three trustees served
//! over gRPC with mutual TLS (rustls), certificates made by a local CA
//! (`sealgrid_trustee::certs`, what `sealgrid-trustee certs` writes), real sealed bids,
//! real partial decryptions. The attacker reaches every trustee's port.
//!
//! Before these mechanisms (main at 375e20c) a trustee served plaintext to anyone,
//! opened a bid for whoever typed an allowed auditor name, recorded nothing, verified
//! every partial a `Sign` carried (2,000 copies of one: 21 s, then INTERNAL) and limited
//! nobody.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_committee::sign::TrusteeSigningKey;
use sealgrid_committee::trustee::{
    DisclosureRequest, PartialDecryptRequest, SignRequest, Trustee, TrusteeConfig,
};
use sealgrid_proto::committee::v1 as pb;
use sealgrid_proto::tls::MutualTls;
use sealgrid_proto::trustee_client::TrusteeClient;
use sealgrid_testkit::bids::{posted_all, random_bids};
use sealgrid_testkit::committee::{dkg, DOMAIN};
use sealgrid_trustee::certs::LocalCa;
use sealgrid_trustee::chain::{ChainError, ChainView, MemoryChain, RoundGate};
use sealgrid_trustee::service::{Auditor, TrusteeService, PER_CALLER_REQUESTS};
use sealgrid_trustee::store::{read_disclosures, DisclosureLog};
use sealgrid_trustee::{serve, Transport};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic::Code;

const ROUND: u64 = 1_990_000;
const N: usize = 3;

/// A chain view whose `round_gate` can be held: a request that reaches it waits there
/// until released, so a test knows exactly how many requests a trustee is working on.
#[derive(Debug, Default)]
struct Holdable {
    inner: MemoryChain,
    held: Mutex<bool>,
    released: Condvar,
    entered: AtomicUsize,
}

impl Holdable {
    fn hold(&self) {
        *self.held.lock().unwrap() = true;
    }
    fn release(&self) {
        *self.held.lock().unwrap() = false;
        self.released.notify_all();
    }
    async fn wait_entered(&self, n: usize) {
        while self.entered.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
    }
}

impl ChainView for Holdable {
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError> {
        self.inner.accepted_bids(round)
    }
    fn round_gate(&self, round: u64) -> Result<Option<RoundGate>, ChainError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let mut held = self.held.lock().unwrap();
        while *held {
            held = self.released.wait(held).unwrap();
        }
        drop(held);
        self.inner.round_gate(round)
    }
    fn settlements(&self, round: u64) -> Result<Vec<PostedSettlement>, ChainError> {
        self.inner.settlements(round)
    }
}

struct Committee {
    ca: LocalCa,
    urls: Vec<String>,
    /// Clones of the served services (their counters are shared).
    services: Vec<TrusteeService>,
    logs: Vec<PathBuf>,
    chains: Vec<Arc<Holdable>>,
    bids: Vec<PostedBid>,
    coordinator: MutualTls,
    regulator: MutualTls,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// Three trustees (t = 2) over mutual TLS, six real bids in a closed round, the
/// regulator's certificate on every auditor list.
async fn committee() -> Committee {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let market = MarketParams::default();
    let (public, shares) = dkg(&market, N as u16, 2, &mut rng);
    let public = Arc::new(public);
    let bids = posted_all(&random_bids(
        &market,
        &public.flow_keys(),
        ROUND,
        6,
        &mut rng,
    ));
    let ca = LocalCa::new("transport test CA").unwrap();
    let coordinator = ca.party("coordinator").unwrap();
    let regulator = ca.party("regulator").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Committee {
        urls: Vec::new(),
        services: Vec::new(),
        logs: Vec::new(),
        chains: Vec::new(),
        bids: bids.clone(),
        coordinator,
        regulator,
        stops: Vec::new(),
        _dir: dir,
        ca,
    };
    for (i, share) in shares.into_iter().enumerate() {
        let trustee = Trustee::new(
            share,
            public.clone(),
            TrusteeSigningKey::random(&mut rng),
            TrusteeConfig {
                market: market.clone(),
                domain: DOMAIN,
            },
        );
        let chain = Arc::new(Holdable::default());
        chain.inner.set_round(ROUND, bids.clone());
        let log = c
            ._dir
            .path()
            .join(format!("trustee-{}.disclosures.jsonl", i + 1));
        let service = TrusteeService::new(
            trustee,
            public.clone(),
            chain.clone(),
            [Auditor {
                name: "regulator".into(),
                identity: c.regulator.identity(),
            }],
            DisclosureLog::open(&log).unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        c.urls
            .push(format!("https://{}", listener.local_addr().unwrap()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let tls = c.ca.party(&format!("trustee-{}", i + 1)).unwrap();
        tokio::spawn(serve(
            listener,
            service.clone(),
            Transport::MutualTls(tls),
            async {
                stopped.await.ok();
            },
        ));
        c.services.push(service);
        c.logs.push(log);
        c.chains.push(chain);
        c.stops.push(stop);
    }
    c
}

impl Committee {
    async fn client(&self, i: usize, tls: &MutualTls) -> TrusteeClient {
        TrusteeClient::connect(self.urls[i].clone(), tls)
            .await
            .expect("an mTLS client with a certificate of the CA connects")
    }
    fn disclosure(&self, bid: usize) -> DisclosureRequest {
        DisclosureRequest {
            round: ROUND,
            bid: self.bids[bid].id,
            auditor: "regulator".into(),
        }
    }
    fn records(&self, i: usize) -> usize {
        read_disclosures(&self.logs[i]).unwrap().0.len()
    }
}

/// A call that must not be answered: a transport failure or a refusal, never a response.
/// The bound only keeps a hung connection from hanging the test; hanging is not being
/// served either.
async fn not_served<T>(call: impl std::future::Future<Output = Option<T>>) -> bool {
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(60), call).await,
        Err(_) | Ok(None)
    )
}

/// Item 7: a bid is opened only for the auditor's certificate, whatever name a caller
/// types, and never over plaintext, without a certificate, or with a certificate of
/// another CA; every disclosure answered is in the trustee's hash-chained log, and a
/// changed line breaks the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bid_is_opened_only_for_the_auditors_certificate_and_every_opening_is_logged() {
    let c = committee().await;
    let req = c.disclosure(2);

    // The coordinator (a certificate of the CA, not on the list) typing "regulator".
    let mut coord = c.client(0, &c.coordinator).await;
    let e = coord.disclose(&req).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::PermissionDenied), "{e}");
    assert!(e.to_string().contains("not-an-auditor"), "{e}");

    // A plaintext client.
    let url = c.urls[0].replace("https://", "http://");
    assert!(
        not_served(async {
            let mut t = TrusteeClient::connect_insecure_plaintext(url).await.ok()?;
            t.disclose(&req).await.ok()
        })
        .await,
        "a plaintext client was served"
    );

    // A TLS client that checks the trustee but shows no certificate.
    assert!(
        not_served(async {
            let ch = Endpoint::new(c.urls[0].clone())
                .ok()?
                .tls_config(
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(c.ca.cert_pem())),
                )
                .ok()?
                .connect()
                .await
                .ok()?;
            TrusteeClient::new(ch).disclose(&req).await.ok()
        })
        .await,
        "a client without a certificate was served"
    );

    // A "regulator" certificate made by another CA (same name, its own key).
    let forged = LocalCa::new("transport test CA")
        .unwrap()
        .leaf("regulator")
        .unwrap();
    let forged = MutualTls::from_pem(c.ca.cert_pem(), forged.cert, forged.key).unwrap();
    assert!(
        not_served(async {
            let mut t = TrusteeClient::connect(c.urls[0].clone(), &forged)
                .await
                .ok()?;
            t.disclose(&req).await.ok()
        })
        .await,
        "a certificate of another CA was served"
    );
    assert_eq!((0..N).map(|i| c.records(i)).sum::<usize>(), 0);

    // The regulator: two trustees open bid 2, then bid 4; each answer is recorded.
    for bid in [2, 4] {
        for i in 0..2 {
            let mut t = c.client(i, &c.regulator).await;
            t.disclose(&c.disclosure(bid))
                .await
                .expect("the auditor is served");
        }
    }
    for i in 0..2 {
        let (records, _) = read_disclosures(&c.logs[i]).expect("the chain verifies");
        assert_eq!(records.len(), 2);
        for (r, bid) in records.iter().zip([2, 4]) {
            assert_eq!((r.trustee as usize, r.round), (i + 1, ROUND));
            assert_eq!(r.bid, format!("0x{}", hex::encode(c.bids[bid].id.0)));
            assert_eq!(r.auditor, "regulator");
            assert_eq!(r.caller, c.regulator.identity().hex());
        }
    }
    assert_eq!(c.records(2), 0, "trustee 3 opened nothing");

    // A line changed afterwards (the first opening's bid rewritten) breaks the chain.
    let text = std::fs::read_to_string(&c.logs[0]).unwrap();
    let first = format!("0x{}", hex::encode(c.bids[2].id.0));
    let other = format!("0x{}", hex::encode(c.bids[5].id.0));
    std::fs::write(&c.logs[0], text.replacen(&first, &other, 1)).unwrap();
    let e = read_disclosures(&c.logs[0]).unwrap_err();
    assert!(e.to_string().contains("line 2: does not chain"), "{e}");
    // and a trustee refuses to append to a broken log
    assert!(DisclosureLog::open(&c.logs[0]).is_err());
}

/// Item 10: a trustee answers nothing over plaintext, and a client (the coordinator's
/// `TrusteeClient`) talks only to a trustee whose certificate its CA signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trustees_are_reached_only_over_mutual_tls() {
    let c = committee().await;
    let url = c.urls[1].replace("https://", "http://");
    assert!(
        not_served(async {
            let mut t = TrusteeClient::connect_insecure_plaintext(url).await.ok()?;
            t.partial_decrypt(&PartialDecryptRequest { round: ROUND })
                .await
                .ok()
        })
        .await,
        "plain http was answered"
    );
    // over mTLS the same call is answered
    let mut t = c.client(1, &c.coordinator).await;
    t.partial_decrypt(&PartialDecryptRequest { round: ROUND })
        .await
        .expect("served over mTLS");

    // An impostor trustee, its certificate from another CA: the coordinator's client
    // refuses it.
    let other = LocalCa::new("impostor CA").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let impostor = c.services[0].clone();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        listener,
        impostor,
        Transport::MutualTls(other.party("trustee-1").unwrap()),
        async {
            stopped.await.ok();
        },
    ));
    assert!(
        not_served(async {
            let mut t = TrusteeClient::connect(format!("https://{addr}"), &c.coordinator)
                .await
                .ok()?;
            t.info().await.ok()
        })
        .await,
        "the coordinator talked to a trustee its CA did not certify"
    );
}

/// Item 9: `Sign` carrying a trustee's partial twice, more partials than trustees, or
/// 2,000 copies of one partial is refused before any partial is decoded or verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_refuses_repeated_or_surplus_partials_before_verifying_any() {
    let c = committee().await;
    let mut clients = Vec::new();
    let mut partials = Vec::new();
    for i in 0..N {
        let mut t = c.client(i, &c.coordinator).await;
        partials.push(
            t.partial_decrypt(&PartialDecryptRequest { round: ROUND })
                .await
                .unwrap()
                .partial,
        );
        clients.push(t);
    }
    let worked = c.services[0].requests_worked();
    assert_eq!(worked, 1, "the partial decryption");
    let levels = MarketParams::default().levels;
    let sign = |partials: Vec<_>| {
        pb::SignRequest::from(&SignRequest {
            round: ROUND,
            h_buy: vec![0; levels],
            h_sell: vec![0; levels],
            partials,
        })
    };
    let t = clients[0].raw();

    let e = t
        .sign(sign(vec![partials[1].clone(), partials[1].clone()]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("duplicate-partial"), "{e:?}");

    let mut surplus = sign(partials.clone());
    let mut fourth = surplus.partials[0].clone();
    fourth.trustee_id = N as u32 + 1;
    surplus.partials.push(fourth);
    let e = t.sign(surplus).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("too-many-partials"), "{e:?}");

    // The same in SignFinalize's two lists.
    let p = pb::SignRequest::from(&SignRequest {
        round: ROUND,
        h_buy: vec![],
        h_sell: vec![],
        partials: vec![partials[2].clone()],
    })
    .partials
    .remove(0);
    let e = t
        .sign_finalize(pb::SignFinalizeRequest {
            round: ROUND,
            flow_partials: vec![],
            lock_partials: vec![p.clone(), p],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("duplicate-partial"), "{e:?}");

    // 2,000 copies of one partial: longer than any honest request, refused by the size
    // cap before it is decoded.
    let flood = sign(vec![partials[0].clone(); 2000]);
    let e = t.sign(flood).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("too large"), "{e:?}");

    assert_eq!(
        c.services[0].requests_worked(),
        worked,
        "a refused request reached the cryptography"
    );
    // an honest request with the three partials is still worked on
    t.sign(sign(partials.clone())).await.ok();
    assert_eq!(c.services[0].requests_worked(), worked + 1);
}

/// Item 9: one caller gets at most `PER_CALLER_REQUESTS` requests worked on at once; one
/// more is refused at once (RESOURCE_EXHAUSTED) while another caller is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_caller_cannot_hold_every_worker_of_a_trustee() {
    let c = committee().await;
    let chain = c.chains[0].clone();
    chain.hold();
    let coord = c.client(0, &c.coordinator).await;
    let req = PartialDecryptRequest { round: ROUND };
    let mut held = Vec::new();
    for _ in 0..PER_CALLER_REQUESTS {
        let (mut t, req) = (coord.clone(), req.clone());
        held.push(tokio::spawn(async move { t.partial_decrypt(&req).await }));
    }
    chain.wait_entered(PER_CALLER_REQUESTS).await;
    let mut third = coord.clone();
    let e = tokio::select! {
        r = third.partial_decrypt(&req) => r.expect_err("a third request of the same caller"),
        _ = chain.wait_entered(PER_CALLER_REQUESTS + 1) => {
            chain.release();
            panic!("a third request of the same caller was worked on");
        }
    };
    assert_eq!(e.code(), Some(Code::ResourceExhausted), "{e}");
    assert!(e.to_string().contains("busy"), "{e}");
    // another caller (the regulator's certificate) still gets a worker
    let mut other = c.client(0, &c.regulator).await;
    let other = tokio::spawn(async move { other.partial_decrypt(&req).await });
    chain.wait_entered(PER_CALLER_REQUESTS + 1).await;
    chain.release();
    other.await.unwrap().expect("the other caller is served");
    for h in held {
        h.await.unwrap().expect("the held requests finish");
    }
    // and the caller's slots are free again
    c.client(0, &c.coordinator)
        .await
        .partial_decrypt(&PartialDecryptRequest { round: ROUND })
        .await
        .expect("served again");
}

/// The request-size cap holds for every method: a `Disclose` padded past it is refused
/// before it is decoded, even from the auditor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_longer_than_the_cap_is_not_decoded() {
    let c = committee().await;
    let cap = c.services[0].max_request_bytes();
    let mut t = c.client(0, &c.regulator).await;
    let mut raw = pb::DiscloseRequest::from(&c.disclosure(1));
    raw.auditor = "x".repeat(cap + 1);
    let e = t.raw().disclose(raw).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert_eq!(c.services[0].requests_worked(), 0);
    assert_eq!(c.records(0), 0);
    for s in c.stops {
        s.send(()).ok();
    }
}
