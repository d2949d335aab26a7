//! `sealgrid audit` and `sealgrid audit disclose` as a user runs them, on the audit
//! crate's fixture round: every check of the round passes on the untouched files (the
//! fixture's single-party keys fail `key-setup`, and only that), and a tampered bundle
//! fails the check about it; the disclosure opens a bid with trustees served over
//! gRPC, and is refused to an auditor the trustees do not know.

#[path = "../../../audit/tests/it/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use sealgrid_proto::tls::{CallerId, MutualTls};
use sealgrid_prover::circuits::target_key_dir;
use sealgrid_trustee::certs::LocalCa;
use sealgrid_trustee::chain::MemoryChain;
use sealgrid_trustee::demo::DemoCommittee;
use sealgrid_trustee::service::{Auditor, TrusteeService};
use sealgrid_trustee::store::DisclosureLog;
use sealgrid_trustee::Transport;
use sealgrid_verifier_contract::events::{market_events, posted_bids};
use sealgrid_verifier_contract::EmbeddedChain;

fn sealgrid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealgrid"))
        .args(args)
        .output()
        .expect("runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn audit_and_disclose_commands() {
    let f = fixture::build();
    let dir = f._dir.path();
    let market = dir.join("market.json");
    f.market.save(&market).expect("market file");
    let bundles = dir.join("bundles");
    sealgrid_audit::bundle::write(&bundles, &f.bundle).expect("bundle");
    let keys = target_key_dir();
    let report = dir.join("audit.html");
    let audit = |bundles: &Path| {
        sealgrid(&[
            "audit",
            "--market",
            s(&market),
            "--embedded-state",
            s(&f.state),
            "--bundles",
            s(bundles),
            "--key-dir",
            s(&keys),
            "--rounds",
            "7..7",
            "--report",
            s(&report),
        ])
    };

    // --- every check of the round passes, one line per check, and the report is written;
    // the fixture's keys come from a single party's setup (no ceremony), which the
    // `key-setup` check reports as the one failure (exit 1) ---------------------------------
    // (and it opens the chain read-only: the state file and its log are the same bytes after)
    let sidecar = sealgrid_verifier_contract::embedded::sidecar_path(&f.state);
    let read = |p: &Path| std::fs::read(p).expect("chain file");
    let before = (read(&f.state), read(&sidecar));
    let o = audit(&bundles);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("✗ key-setup: the market file records no ceremony: the keys were made by a single party"),
        "{out}"
    );
    assert!(out.contains("verdict: FAIL (1 checks failed)"), "{out}");
    assert!(
        (read(&f.state), read(&sidecar)) == before,
        "the audit changed the chain's files"
    );
    assert!(out.contains("✓ clearing-decryption:"), "{out}");
    assert!(out.contains("✓ verifying-keys:"), "{out}");
    for check in ["market-parameters", "committee", "registrations"] {
        assert!(out.contains(&format!("✓ {check}:")), "{check}: {out}");
    }
    assert_eq!(out.matches('✗').count(), 1, "{out}");
    println!("{out}");
    let html = std::fs::read_to_string(&report).expect("report written");
    assert!(
        html.contains("round 7: money"),
        "the checks are in the report"
    );

    // --- a bundle whose histograms are not the posted ones: exit 1, the check named ----------
    let mut b = f.bundle.clone();
    b.clearing.as_mut().expect("clearing").h_sell[1] += 1;
    let tampered = dir.join("tampered");
    sealgrid_audit::bundle::write(&tampered, &b).expect("bundle");
    let o = audit(&tampered);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("✗ histograms:"), "{out}");
    assert!(out.contains("verdict: FAIL (2 checks failed)"), "{out}");

    // --- disclosure with the demo trustees served over gRPC ----------------------------------
    let mut chain = EmbeddedChain::open(&f.state).expect("reopens");
    let d = &f.market.deployment;
    let events = market_events(&mut chain, d.market, d.deployment_block).expect("events");
    let bids = posted_bids(&events, fixture::ROUND).expect("bids");
    let bids_ids: Vec<[u8; 32]> = bids.iter().map(|b| b.id.0).collect();
    drop(chain);
    let view = Arc::new(MemoryChain::default());
    view.set_round(fixture::ROUND, bids);
    let setup = &f.market.trustee_setup;
    let demo = DemoCommittee::new(setup.market.levels).expect("committee");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Self-made certificates: the two trustees', the regulator's (on their auditor
    // lists) and a stranger's, all signed by the same local CA.
    let certs_dir = tempfile::tempdir().expect("tempdir");
    let certs = LocalCa::new("test CA")
        .expect("CA")
        .write(
            certs_dir.path(),
            &["trustee-1", "trustee-2", "regulator", "stranger"].map(String::from),
        )
        .expect("certificates");
    let regulator = CallerId::of_pem_file(&certs[2].1.cert).expect("regulator");
    let mut urls = Vec::new();
    let mut stops = Vec::new();
    let mut logs = Vec::new();
    for (i, t) in demo
        .trustees(&setup.market, setup.domain)
        .into_iter()
        .take(2)
        .enumerate()
    {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binds");
        urls.push(format!("https://{}", listener.local_addr().expect("addr")));
        let log = certs_dir
            .path()
            .join(format!("trustee-{}.disclosures.jsonl", i + 1));
        logs.push(log.clone());
        let service = TrusteeService::new(
            t,
            demo.public.clone(),
            view.clone(),
            [Auditor {
                name: "regulator".into(),
                identity: regulator,
            }],
            DisclosureLog::open(&log).expect("log"),
        );
        let tls = MutualTls::load(&certs[i].1).expect("trustee TLS");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        rt.spawn(sealgrid_trustee::serve(
            listener,
            service,
            Transport::MutualTls(tls),
            async {
                // a dropped sender stops the server as well
                stopped.await.unwrap_or(());
            },
        ));
    }
    // `auditor` is the name typed into the request, `cert` whose certificate is shown.
    let disclose = |auditor: &str, cert: &str, bid: &str| {
        let dir = certs_dir.path();
        sealgrid(&[
            "audit",
            "disclose",
            "--market",
            s(&market),
            "--embedded-state",
            s(&f.state),
            "--round",
            "7",
            "--bid",
            bid,
            "--trustee",
            &urls[0],
            "--trustee",
            &urls[1],
            "--auditor",
            auditor,
            "--tls-ca",
            s(&dir.join("ca.pem")),
            "--tls-cert",
            s(&dir.join(format!("{cert}.pem"))),
            "--tls-key",
            s(&dir.join(format!("{cert}.key"))),
        ])
    };
    let audit_logs = || {
        let mut args = vec![
            "audit",
            "--market",
            s(&market),
            "--embedded-state",
            s(&f.state),
            "--bundles",
            s(&bundles),
            "--key-dir",
            s(&keys),
            "--rounds",
            "7",
        ];
        for l in &logs {
            args.extend(["--disclosures", s(l)]);
        }
        let o = sealgrid(&args);
        let out = text(&o);
        // every check but `key-setup` (the fixture's single-party keys) passed
        let passed = out
            .lines()
            .filter(|l| l.trim_start().starts_with('✗'))
            .all(|l| l.trim_start().starts_with("✗ key-setup:"));
        (passed, out)
    };
    // Issue #13 item 7: asking as "regulator" without the regulator's certificate is
    // refused by every trustee, opens nothing and records nothing.
    let o = disclose("regulator", "stranger", "2");
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(out.matches("not-an-auditor").count(), 2, "{out}");
    assert!(out.contains("does not have permission"), "{out}");
    assert!(out.contains("0 disclosure shares"), "{out}");
    let (_, out) = audit_logs();
    assert!(!out.contains("disclosed to"), "{out}");

    let o = disclose("regulator", "regulator", "2");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    println!("{out}");
    let (side, level, q) = f.plain[2];
    assert!(
        out.contains(&format!("side {side:?}, level {level}"))
            && out.contains(&format!("quantity {q} Wh")),
        "{out}"
    );
    // The disclosure is recorded by both trustees and reported by the audit.
    let (passed, out) = audit_logs();
    println!("{out}");
    assert!(passed, "{out}");
    assert!(
        out.contains(&format!(
            "round 7 bid {} disclosed to regulator ({regulator}) by trustees [1, 2]",
            sealgrid_audit::words::short(&bids_ids[2])
        )),
        "{out}"
    );
    // A second opening (bid 3) chains to the first; the audit lists both.
    assert!(disclose("regulator", "regulator", "3").status.success());
    let (passed, out) = audit_logs();
    assert!(passed && out.contains("2 records, each chained"), "{out}");
    // A recorded line changed afterwards (the first opening's bid rewritten to another
    // bid's) fails the audit: the next line no longer chains to it.
    let hex_of = |b: &[u8; 32]| format!("0x{}", hex::encode(b));
    let text0 = std::fs::read_to_string(&logs[0]).expect("log");
    let forged = text0.replacen(&hex_of(&bids_ids[2]), &hex_of(&bids_ids[4]), 1);
    assert_ne!(forged, text0);
    std::fs::write(&logs[0], forged).expect("rewrite");
    let (passed, out) = audit_logs();
    assert!(!passed && out.contains("line 2: does not chain"), "{out}");
    assert!(out.contains("verdict: FAIL"), "{out}");
    // So does a line replayed.
    std::fs::write(&logs[1], {
        let t = std::fs::read_to_string(&logs[1]).expect("log");
        format!("{t}{}\n", t.lines().next().expect("a line"))
    })
    .expect("rewrite");
    let (passed, out) = audit_logs();
    assert!(!passed && out.contains("line 3: does not chain"), "{out}");
    for s in stops {
        // the server may have stopped already
        s.send(()).unwrap_or(());
    }
}
