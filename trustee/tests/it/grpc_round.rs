//! A round over gRPC: five trustee servers on 127.0.0.1:0 in this process, shares from an
//! in-memory DKG sealed to disk and loaded back, ten real bids (circuits' `bid::prepare`
//! under the DKG keys); a coordinator client collects partial decryptions (trustee 2 runs
//! with a wrong share and is named), combines and clears, collects signatures and checks
//! the threshold; an auditor opens one bid; eight bids settle and two default, and the
//! coordinator collects settlement shares, combines the totals and collects finalize
//! signatures; every server shuts down gracefully. Every log
//! line the run produced is captured and searched for the secrets.

use ark_ff::{BigInteger, PrimeField};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::babyjubjub::Scalar;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::{clear, MarketParams};
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::aggregate;
use sealgrid_committee::decrypt::ShareRejection;
use sealgrid_committee::disclosure::verify_disclosure;
use sealgrid_committee::dkg::KeyShare;
use sealgrid_committee::round::decrypt_and_clear;
use sealgrid_committee::settlement::{decrypt_settlement, settlement_view, PostedSettlement};
use sealgrid_committee::sign::{clearing_digest, recover, verify_threshold, TrusteeSigningKey};
use sealgrid_committee::sign::{finalize_digest, FinalizeTotals};
use sealgrid_committee::trustee::{
    DisclosureRequest, FinalizeRequest, PartialDecryptRequest, SettlementDecryptRequest,
    SignRequest, Trustee, TrusteeConfig,
};
use sealgrid_committee::{wire, BidId, TrusteeId};
use sealgrid_proto::committee::v1 as pb;
use sealgrid_proto::trustee_client::TrusteeClient;
use sealgrid_testkit::bids::{histograms, posted_all, quote, random_bids};
use sealgrid_testkit::committee::{dkg, wrong_share, DOMAIN};
use sealgrid_trustee::certs::LocalCa;
use sealgrid_trustee::chain::MemoryChain;
use sealgrid_trustee::service::{Auditor, TrusteeService};
use sealgrid_trustee::store::{self, DisclosureLog, KdfParams, Passphrase, TrusteeSecrets};
use sealgrid_trustee::{load_trustee, serve, LoadError, Transport, TrusteeSetup};
use std::sync::{Arc, Mutex, OnceLock};
use tonic::Code;

const ROUND: u64 = 1_970_000;
/// A round with too few bids for the k-anonymity floor (5).
const THIN_ROUND: u64 = ROUND + 1;
const CHEATER: usize = 1; // trustee 2

/// Everything logged in this test binary.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        tracing_subscriber::fmt()
            // `gr1cs` off: ark-r1cs-std's gadget spans print their arguments, and an FpVar's
            // Debug is its whole constraint system (the other tests of this binary prove:
            // gigabytes per proof)
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "sealgrid=trace,tonic=debug,gr1cs=off,r1cs=off,info",
            ))
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .init();
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn secret_strings(key: &KeyShare, signer: &TrusteeSigningKey) -> Vec<String> {
    let mut out = vec![hex(&signer.to_bytes())];
    for j in 0..key.len() {
        let x = key.share(j).unwrap();
        out.push(x.into_bigint().to_string());
        out.push(hex(&wire::scalar_to_bytes(x)));
        out.push(hex(&x.into_bigint().to_bytes_be()));
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_trustees_over_grpc_decrypt_clear_sign_and_disclose() {
    let logs = logs();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let market = MarketParams::default();
    let (public, shares) = dkg(&market, 5, 3, &mut rng);
    let setup = TrusteeSetup {
        committee: public.clone(),
        market: market.clone(),
        domain: DOMAIN,
    };
    let public = Arc::new(public);

    // Shares at rest: sealed, loaded back and checked against the committee. Trustee 2's
    // file holds a wrong share (slot 3 off by one): loading refuses it, so it is built
    // directly, as a trustee that skips the check would run.
    let dir = tempfile::tempdir().unwrap();
    let mut secrets_printed = Vec::new();
    let mut trustees = Vec::new();
    for (i, key) in shares.into_iter().enumerate() {
        let signer = TrusteeSigningKey::random(&mut rng);
        let key = if i == CHEATER {
            wrong_share(&key, &[3])
        } else {
            key
        };
        secrets_printed.extend(secret_strings(&key, &signer));
        let path = dir.path().join(format!("trustee-{}.share", i + 1));
        let pass = Passphrase::new(format!("passphrase of trustee {}", i + 1)).unwrap();
        let secrets = TrusteeSecrets { key, signer };
        store::seal(&path, &secrets, &pass, KdfParams::INSECURE_FOR_TESTS).unwrap();
        let trustee = if i == CHEATER {
            let err = load_trustee(&path, &pass, &setup).unwrap_err();
            assert!(
                matches!(
                    err,
                    LoadError::Share {
                        id: TrusteeId(2),
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains("does not match the committee"));
            let back = store::open(&path, &pass).unwrap();
            Trustee::new(
                back.key,
                public.clone(),
                back.signer,
                TrusteeConfig {
                    market: market.clone(),
                    domain: setup.domain,
                },
            )
        } else {
            load_trustee(&path, &pass, &setup).unwrap()
        };
        trustees.push(trustee);
    }
    // a setup whose market does not validate, or does not fit the committee's keys
    let share_1 = dir.path().join("trustee-1.share");
    let pass_1 = Passphrase::new("passphrase of trustee 1").unwrap();
    let mut bad = setup.clone();
    bad.market.levels = 1;
    assert!(matches!(
        load_trustee(&share_1, &pass_1, &bad),
        Err(LoadError::Market(_))
    ));
    bad.market.levels = 7;
    assert!(matches!(
        load_trustee(&share_1, &pass_1, &bad),
        Err(LoadError::KeyCount {
            keys: 17,
            levels: 7
        })
    ));
    let wrong = Passphrase::new("guess").unwrap();
    assert!(matches!(
        load_trustee(&dir.path().join("trustee-1.share"), &wrong, &setup),
        Err(LoadError::Store(store::StoreError::Decrypt(_)))
    ));

    // The chain: ten accepted bids in ROUND, three in THIN_ROUND; each trustee reads its
    // own copy.
    let flow = setup.committee.flow_keys();
    let bids = random_bids(&market, &flow, ROUND, 10, &mut rng);
    let thin = random_bids(&market, &flow, THIN_ROUND, 3, &mut rng);
    let chain_view = posted_all(&bids);

    // Five servers on 127.0.0.1:0 over mutual TLS with self-made certificates: the
    // coordinator's client, the regulator's (the one auditor) and the trustees'.
    let ca = LocalCa::new("grpc_round CA").unwrap();
    let coordinator = ca.party("coordinator").unwrap();
    let regulator = ca.party("regulator").unwrap();
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    let mut auditor_clients = Vec::new();
    let mut services = Vec::new();
    let mut chains = Vec::new();
    let mut disclosure_logs = Vec::new();
    for (i, trustee) in trustees.into_iter().enumerate() {
        let chain = Arc::new(MemoryChain::default());
        chains.push(chain.clone());
        chain.set_round(ROUND, chain_view.clone());
        chain.set_round(THIN_ROUND, posted_all(&thin));
        let log_path = dir
            .path()
            .join(format!("trustee-{}.disclosures.jsonl", i + 1));
        disclosure_logs.push(log_path.clone());
        let service = TrusteeService::new(
            trustee,
            public.clone(),
            chain,
            [Auditor {
                name: "regulator".into(),
                identity: regulator.identity(),
            }],
            DisclosureLog::open(&log_path).unwrap(),
        );
        services.push(format!("{service:?}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let tls = ca.party(&format!("trustee-{}", i + 1)).unwrap();
        let handle = tokio::spawn(serve(listener, service, Transport::MutualTls(tls), async {
            stopped.await.ok();
        }));
        servers.push((stop, handle));
        clients.push(
            TrusteeClient::connect(format!("https://{addr}"), &coordinator)
                .await
                .unwrap(),
        );
        auditor_clients.push(
            TrusteeClient::connect(format!("https://{addr}"), &regulator)
                .await
                .unwrap(),
        );
    }

    // GetInfo: ids in order, verification keys as the DKG published them.
    let mut committee = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let info = c.info().await.unwrap();
        assert_eq!(info.trustee, TrusteeId(i as u16 + 1));
        assert_eq!((info.committee_size, info.threshold), (5, 3));
        assert_eq!(info.verification_keys, public.verification_keys[i].keys);
        committee.push(info.address);
    }

    // The coordinator collects partial decryptions from all five, concurrently.
    let req = PartialDecryptRequest { round: ROUND };
    let answers = futures_join(clients.iter().cloned().map(|mut c| {
        let req = req.clone();
        async move { c.partial_decrypt(&req).await }
    }))
    .await;
    let report = aggregate(ROUND, 2 * market.levels + 1, &chain_view).unwrap();
    let partials: Vec<_> = answers
        .into_iter()
        .map(|a| {
            let a = a.unwrap();
            assert_eq!(a.included, report.aggregate.included());
            assert!(a.excluded.is_empty());
            a.partial
        })
        .collect();
    let table = DlogTable::new(1 << 12);
    let outcome = decrypt_and_clear(&public, &market, &report, &partials, &table).unwrap();
    assert_eq!(
        outcome.rejected,
        vec![(TrusteeId(2), ShareRejection::BadProof { slot: 3 })]
    );
    assert_eq!(outcome.used, [1, 3, 4].map(TrusteeId).to_vec());
    let (buy, sell) = histograms(market.levels, bids.iter().map(quote));
    assert_eq!((&outcome.h_buy, &outcome.h_sell), (&buy, &sell));
    assert_eq!(
        outcome.clearing,
        clear(&buy, &sell, 10, market.k_anonymity).unwrap()
    );

    // Signatures over gRPC; any three verify as the contract would check them.
    let sign_req = SignRequest {
        round: ROUND,
        h_buy: buy.clone(),
        h_sell: sell.clone(),
        partials: partials.clone(),
    };
    let mut sigs = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let r = c.sign(&sign_req).await.unwrap();
        assert_eq!(r.trustee, TrusteeId(i as u16 + 1));
        // all ten posted bids summed: bits 0..=9 of the first word
        assert_eq!(outcome.included.len(), chain_view.len());
        assert_eq!(r.statement.included, report.aggregate.inclusion_bitmap());
        assert_eq!(r.statement.included[0][30..], [0x03, 0xff]);
        let digest = clearing_digest(&setup.domain, &r.statement);
        assert_eq!(recover(&digest, &r.signature), Ok(committee[i]));
        sigs.push((digest, r.signature));
    }
    assert!(sigs.iter().all(|(d, _)| *d == sigs[0].0));
    let only: Vec<_> = sigs.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        verify_threshold(&committee, 3, &sigs[0].0, &only[2..])
            .unwrap()
            .len(),
        3
    );

    // Refusals carry precise codes.
    let mut lie = sign_req.clone();
    lie.h_buy[0] += 1;
    assert_eq!(
        clients[0].sign(&lie).await.unwrap_err().code(),
        Some(Code::InvalidArgument)
    );
    let mut short = sign_req.clone();
    short.h_sell.pop();
    assert_eq!(
        clients[0].sign(&short).await.unwrap_err().code(),
        Some(Code::InvalidArgument)
    );
    let two = SignRequest {
        partials: partials[..2].to_vec(),
        ..sign_req.clone()
    };
    assert_eq!(
        clients[0].sign(&two).await.unwrap_err().code(),
        Some(Code::InvalidArgument)
    );
    let thin_req = PartialDecryptRequest { round: THIN_ROUND };
    let e = clients[0].partial_decrypt(&thin_req).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::FailedPrecondition), "{e}");
    assert!(e.to_string().contains("k-anonymity"));
    let unknown = PartialDecryptRequest { round: 42 };
    assert_eq!(
        clients[0]
            .partial_decrypt(&unknown)
            .await
            .unwrap_err()
            .code(),
        Some(Code::NotFound)
    );
    // a malformed point (outside the prime-order subgroup) in a hand-made message
    let mut raw = pb::SignRequest::from(&sign_req);
    raw.partials[0].shares[0].d =
        wire::point_to_bytes(&sealgrid_circuits::babyjubjub::generator()).to_vec();
    let e = clients[0].raw().sign(raw).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().starts_with("partials[0].shares[0].d"),
        "{}",
        e.message()
    );

    // Escrowed disclosure of bid 4, verified by the auditor from public data.
    let target = &chain_view[4];
    let dreq = DisclosureRequest {
        round: ROUND,
        bid: target.id,
        auditor: "regulator".into(),
    };
    let mut opened_shares = Vec::new();
    for c in auditor_clients.iter_mut().take(4) {
        opened_shares.push(c.disclose(&dreq).await.unwrap().partial);
    }
    // each of the four recorded it, chained, naming the regulator's certificate
    for (i, log) in disclosure_logs.iter().enumerate() {
        let (records, _) = store::read_disclosures(log).unwrap();
        if i < 4 {
            assert_eq!(records.len(), 1, "trustee {}", i + 1);
            assert_eq!(records[0].trustee as usize, i + 1);
            assert_eq!(
                (records[0].round, records[0].auditor.as_str()),
                (ROUND, "regulator")
            );
            assert_eq!(records[0].caller, regulator.identity().hex());
        } else {
            assert!(records.is_empty());
        }
    }
    let opened =
        verify_disclosure(&public, &market, ROUND, target, &opened_shares, &table).unwrap();
    let b = &bids[4].private;
    assert_eq!(
        (opened.side, opened.level, opened.q, opened.lock),
        (b.side, b.level, b.q, b.lock)
    );
    assert_eq!(opened.used, [1, 3, 4].map(TrusteeId).to_vec());
    assert_eq!(
        opened.rejected,
        vec![(TrusteeId(2), ShareRejection::BadProof { slot: 3 })]
    );
    // the coordinator's certificate is not an auditor's, whatever name it types
    assert_eq!(
        clients[0].disclose(&dreq).await.unwrap_err().code(),
        Some(Code::PermissionDenied)
    );
    let no_bid = DisclosureRequest {
        bid: BidId([1; 32]),
        ..dreq.clone()
    };
    assert_eq!(
        auditor_clients[0]
            .disclose(&no_bid)
            .await
            .unwrap_err()
            .code(),
        Some(Code::FailedPrecondition)
    );

    // Settlement: bids 8 and 9 default, the others settle (flow ciphertexts under the
    // first three flow keys); bid 5's posted flows do not match its E and are excluded.
    let settle_keys = sealgrid_circuits::settle::settle_keys(&public.flow_keys());
    let mut flows = Vec::new();
    let mut settlements = Vec::new();
    for (i, b) in chain_view.iter().enumerate().take(8) {
        let v = [(i as u64 + 1) << 33, 1_000 * i as u64, 7 * i as u64];
        let ct = settle_keys
            .encrypt(&v, &<Scalar as ark_ff::UniformRand>::rand(&mut rng))
            .unwrap();
        let mut s = PostedSettlement {
            id: b.id,
            digest: ct.digest(),
            acct: None,
            ciphertexts: ct,
        };
        if i == 5 {
            s.digest += Fr::from(1u64);
        } else {
            flows.push(v);
        }
        settlements.push(s);
    }
    // all three bids of THIN_ROUND settle (a round under the k-anonymity floor)
    let thin_settlements: Vec<PostedSettlement> = posted_all(&thin)
        .iter()
        .map(|b| {
            let ct = settle_keys
                .encrypt(&[5, 0, 0], &<Scalar as ark_ff::UniformRand>::rand(&mut rng))
                .unwrap();
            PostedSettlement {
                id: b.id,
                digest: ct.digest(),
                acct: None,
                ciphertexts: ct,
            }
        })
        .collect();
    for chain in &chains {
        chain.set_settlements(ROUND, settlements.clone());
        chain.set_settlements(THIN_ROUND, thin_settlements.clone());
    }
    let sreq = SettlementDecryptRequest { round: ROUND };
    let (mut flow_partials, mut lock_partials) = (Vec::new(), Vec::new());
    for c in clients.iter_mut() {
        let r = c.partial_decrypt_settlement(&sreq).await.unwrap();
        assert_eq!(r.defaulters, [chain_view[8].id, chain_view[9].id]);
        assert_eq!(r.settled.len(), 7);
        assert_eq!(r.flows_excluded.len(), 1);
        assert_eq!(r.flows_excluded[0].id, chain_view[5].id);
        flow_partials.extend(r.flows);
        lock_partials.extend(r.locks);
    }
    let view = settlement_view(
        ROUND,
        market.levels,
        market.k_anonymity as usize,
        &chain_view,
        &settlements,
    );
    let big_table = DlogTable::new(1 << 16);
    let settled = decrypt_settlement(
        &public,
        market.levels,
        &view,
        &flow_partials,
        &lock_partials,
        &big_table,
    )
    .unwrap();
    // trustee 2's wrong share is of slot 3 only: its settlement and lock shares are good
    assert!(settled.rejected.is_empty());
    let expected = FinalizeTotals {
        pay: flows.iter().map(|f| f[0]).sum(),
        credit: flows.iter().map(|f| f[1]).sum(),
        penalty: flows.iter().map(|f| f[2]).sum(),
        // two defaulters, under the floor: their locks are withheld, never decrypted
        defaulted_locks: 0,
    };
    assert!(expected.pay > 1 << 36);
    assert_eq!(settled.totals, expected);
    let freq = FinalizeRequest {
        round: ROUND,
        totals: settled.totals,
        flow_partials,
        lock_partials,
    };
    let mut fin_sigs = Vec::new();
    let mut fin_digest = None;
    for (i, c) in clients.iter_mut().enumerate() {
        let r = c.sign_finalize(&freq).await.unwrap();
        assert_eq!(r.statement.defaulted, [chain_view[8].id, chain_view[9].id]);
        let d = finalize_digest(&setup.domain, &r.statement);
        assert_eq!(*fin_digest.get_or_insert(d), d);
        assert_eq!(recover(&d, &r.signature), Ok(committee[i]));
        fin_sigs.push(r.signature);
    }
    assert_eq!(
        verify_threshold(&committee, 3, &fin_digest.unwrap(), &fin_sigs[..3])
            .unwrap()
            .len(),
        3
    );
    let lie = FinalizeRequest {
        totals: FinalizeTotals {
            credit: expected.credit + 1,
            ..expected
        },
        ..freq.clone()
    };
    let e = clients[0].sign_finalize(&lie).await.unwrap_err();
    assert_eq!(e.code(), Some(Code::InvalidArgument), "{e}");
    assert!(e.to_string().contains("credit"), "{e}");
    let mut raw = pb::SignFinalizeRequest::from(&freq);
    raw.totals = None;
    let e = clients[0].raw().sign_finalize(raw).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "totals: missing")
    );
    // THIN_ROUND has three accepted bids, under the floor: it cannot have cleared, so its
    // settlements' flows are zero by the settle circuit and their sum is decrypted
    // whatever their number (PROTOCOL §5, "Under the floor"); the settlement floor binds
    // rounds with at least k bids (committee tests).
    let thin = clients[0]
        .partial_decrypt_settlement(&SettlementDecryptRequest { round: THIN_ROUND })
        .await
        .expect("a round under the floor finalizes");
    assert!(thin.flows.is_some() && thin.defaulters.is_empty());
    assert_eq!(thin.settled.len(), 3);
    assert_eq!(
        clients[0]
            .partial_decrypt_settlement(&SettlementDecryptRequest { round: 42 })
            .await
            .unwrap_err()
            .code(),
        Some(Code::NotFound)
    );

    // Graceful shutdown: every server returns Ok.
    drop(clients);
    drop(auditor_clients);
    for (stop, handle) in servers {
        stop.send(()).unwrap();
        handle.await.unwrap().unwrap();
    }

    // No secret in the service's Debug output nor in any log line.
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("partial decryption"),
        "logs captured: {logged}"
    );
    assert!(logged.contains("round=1970000"));
    assert!(logged.contains("signed finalization"));
    for s in &secrets_printed {
        assert!(!logged.contains(s.as_str()), "a secret was logged");
        for d in &services {
            assert!(!d.contains(s.as_str()), "a secret in Debug output");
        }
    }
}

/// Runs futures concurrently and returns their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(
    fs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
