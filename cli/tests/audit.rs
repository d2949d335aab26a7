//! `sealgrid audit` and `sealgrid audit disclose` as a user runs them, on the audit
//! crate's fixture round: the audit passes on the untouched files and exits 1, naming
//! the check, on a tampered bundle; the disclosure opens a bid with trustees served over
//! gRPC, and is refused to an auditor the trustees do not know.

#[path = "../../audit/tests/it/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use sealgrid_prover::circuits::target_key_dir;
use sealgrid_trustee::chain::MemoryChain;
use sealgrid_trustee::demo::DemoCommittee;
use sealgrid_trustee::service::TrusteeService;
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

    // --- the audit passes, one line per check, and writes the report -----------------------
    // (and it opens the chain read-only: the state file and its log are the same bytes after)
    let sidecar = sealgrid_verifier_contract::embedded::sidecar_path(&f.state);
    let read = |p: &Path| std::fs::read(p).expect("chain file");
    let before = (read(&f.state), read(&sidecar));
    let o = audit(&bundles);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        (read(&f.state), read(&sidecar)) == before,
        "the audit changed the chain's files"
    );
    assert!(out.contains("✓ clearing-decryption:"), "{out}");
    assert!(out.contains("✓ verifying-keys:"), "{out}");
    for check in ["market-parameters", "committee", "registrations"] {
        assert!(out.contains(&format!("✓ {check}:")), "{check}: {out}");
    }
    assert!(out.contains("verdict: PASS"), "{out}");
    assert!(!out.contains('✗'), "{out}");
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
    assert!(out.contains("verdict: FAIL"), "{out}");

    // --- disclosure with the demo trustees served over gRPC ----------------------------------
    let mut chain = EmbeddedChain::open(&f.state).expect("reopens");
    let d = &f.market.deployment;
    let events = market_events(&mut chain, d.market, d.deployment_block).expect("events");
    let bids = posted_bids(&events, fixture::ROUND).expect("bids");
    drop(chain);
    let view = Arc::new(MemoryChain::default());
    view.set_round(fixture::ROUND, bids);
    let setup = &f.market.trustee_setup;
    let demo = DemoCommittee::new(setup.market.levels).expect("committee");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut urls = Vec::new();
    let mut stops = Vec::new();
    for t in demo
        .trustees(&setup.market, setup.domain)
        .into_iter()
        .take(2)
    {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binds");
        urls.push(format!("http://{}", listener.local_addr().expect("addr")));
        let service = TrusteeService::new(
            t,
            demo.public.clone(),
            view.clone(),
            ["regulator".to_owned()],
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        rt.spawn(sealgrid_trustee::serve(listener, service, async {
            // a dropped sender stops the server as well
            stopped.await.unwrap_or(());
        }));
    }
    let disclose = |auditor: &str| {
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
            "2",
            "--trustee",
            &urls[0],
            "--trustee",
            &urls[1],
            "--auditor",
            auditor,
        ])
    };
    let o = disclose("regulator");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    println!("{out}");
    let (side, level, q) = f.plain[2];
    assert!(
        out.contains(&format!("side {side:?}, level {level}"))
            && out.contains(&format!("quantity {q} Wh")),
        "{out}"
    );
    let o = disclose("stranger");
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("PermissionDenied") || out.contains("not an auditor"),
        "{out}"
    );
    for s in stops {
        // the server may have stopped already
        s.send(()).unwrap_or(());
    }
}
