//! A small demo in the test suite, through the real stack on loopback (embedded chain,
//! 3 trustee services, the coordinator): 6 households, one slot, in which one household
//! defaults. Every check of `sealgrid demo` runs (bids on chain exactly once, decrypted
//! histograms against the plaintext, the clearing of the published histograms, the
//! finalization's totals and defaulter, the default on chain, money conserved, the
//! withdrawal, the event stream) and the audit of the round passes. Then the commands
//! the demo prints at its end run as a user runs them, with the `sealgrid` binary: the
//! audit from the run's files, and the disclosure of a bid with the trustees the demo
//! keeps serving (`--keep-trustees`). The keys come from the demo's 3-party ceremony
//! (operator, regulator, community, then a beacon), cached under the target directory's
//! key store, so only the first run pays for it; the audit's `key-setup` check verifies
//! it, and fails for each way of breaking it.

use std::process::{Command, Output};

use sealgrid::commands::{next_steps, shell_words, DemoOutput};
use sealgrid::demo::observer::Silent;
use sealgrid::demo::{run, run_then, DemoConfig, DemoError, AUDITOR};
use sealgrid_prover::circuits::default_key_dir;

fn config(households: usize, slots: usize, dir: &std::path::Path) -> DemoConfig {
    DemoConfig {
        households,
        slots,
        // 16:30, when both sides bid (see `sealgrid demo --help`).
        first_slot: 66,
        seed: 1,
        key_dir: default_key_dir(),
        dir: dir.to_path_buf(),
    }
}

#[test]
fn six_households_one_slot_through_the_coordinator_with_a_defaulter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, (printed, ran)) =
        run_then(&config(6, 1, dir.path()), &Silent, |report, trustees| {
            // What `sealgrid demo --keep-trustees` prints for this run, run while its
            // trustees serve (a blocking thread: the trustees need the runtime's workers).
            let round = report.slots[0].round;
            let out = DemoOutput {
                exe: env!("CARGO_BIN_EXE_sealgrid").into(),
                dir: dir.path().to_path_buf(),
                key_dir: None,
                rounds: round..=round,
            };
            let printed = next_steps(&out, Some(trustees), AUDITOR);
            let commands: Vec<Vec<String>> = printed
                .lines()
                .filter_map(|l| l.strip_prefix("  "))
                .map(|l| shell_words(l).expect("a command line"))
                .collect();
            async move {
                let ran: Vec<Output> = tokio::task::spawn_blocking(move || {
                    commands
                        .iter()
                        .map(|argv| {
                            Command::new(&argv[0])
                                .args(&argv[1..])
                                .output()
                                .expect("runs")
                        })
                        .collect()
                })
                .await
                .expect("the commands ran");
                (printed, ran)
            }
        })
        .expect("every check passes");
    let s = &report.slots[0];
    assert_eq!(
        s.buys + s.sells,
        6,
        "the default slot needs k + 1 = 6 bids: every household bids"
    );
    assert!(s.cleared, "6 bids are above the k-anonymity floor of 5");
    assert!(s.volume > 0);
    assert_eq!((s.settled, s.defaults), (5, 1), "one household defaults");
    let (defaulter, round) = report.defaulter.expect("a defaulter");
    assert_eq!(round, s.round);
    assert!(s
        .trades
        .iter()
        .any(|t| t.household == defaulter && t.defaulted && t.pay == 0));
    assert!(s.signatures >= 2, "t = 2 trustee signatures");
    // 6 deposits, 6 bids, 5 settlements
    assert_eq!(s.proofs, 17);
    assert!(s.gas > 0, "the coordinator reports the receipts' gas");
    // Money: what was deposited is in free balances, withdrawn, with the operator, or
    // withheld in the market (the lone defaulter's lock, never decrypted).
    assert!(report.withdrawn > 0);
    assert!(
        report.withheld_locks > 0,
        "one defaulter: its lock is withheld"
    );
    assert_eq!(
        i128::from(report.deposited),
        i128::from(report.free_balances)
            + i128::from(report.withdrawn)
            + report.operator
            + i128::from(report.withheld_locks)
    );
    // The audit of the round from public data passed, every check of it.
    assert!(report.audit.passed());
    key_setup_is_checked(dir.path(), &report.audit);
    assert_eq!(report.audit.rounds.len(), 1);
    assert_eq!(report.audit.rounds[0].round, s.round);
    assert!(report.audit_checks() > 0);
    assert!(report.run_checks >= 4, "withdrawal, money twice, events");
    assert_eq!(
        report.checks(),
        s.checks + report.run_checks + report.audit_checks()
    );
    // The run's files.
    let bundle = format!("bundles/round-{}.pb", s.round);
    for f in ["chain.json", "market.json", "store.redb", &bundle] {
        assert!(dir.path().join(f).exists(), "{f}");
    }

    // The HTML report's data: the slot's histograms, gas and every household's trade.
    assert_eq!(s.h_buy.len(), report.market.levels);
    assert_eq!(
        s.h_buy.iter().chain(&s.h_sell).sum::<u64>(),
        s.trades.iter().map(|t| t.q).sum::<u64>()
    );
    let data = sealgrid::demo::html::report_data(&report, "demo", "now");
    assert_eq!(data.prosumers.len(), 6);
    assert!(data.prosumers.iter().all(|p| p.trades.len() == 1));
    assert_eq!(data.slots[0].gas, Some(s.gas));
    assert_eq!(data.slots[0].defaults, 1);
    assert!(data.checks.iter().all(|c| c.passed));
    sealgrid_report::render(&data).expect("the report renders");

    // The printed commands: the audit of the round, then the disclosure of bid 0 with the
    // kept trustees, both passing.
    let text = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(ran.len(), 2, "an audit and a disclose command: {printed}");
    let (audit, disclose) = (text(&ran[0]), text(&ran[1]));
    assert!(ran[0].status.success(), "{printed}\n{audit}");
    assert!(audit.contains(&format!("round {}\n", s.round)), "{audit}");
    assert!(
        audit.contains("✓ money:") && audit.contains("verdict: PASS (1 rounds)"),
        "{audit}"
    );
    assert!(dir.path().join("audit.html").exists(), "the audit's report");
    assert!(ran[1].status.success(), "{printed}\n{disclose}");
    assert!(
        disclose.contains(&format!("round {} bid #0", s.round)),
        "{disclose}"
    );
    assert!(disclose.contains("✓ opened with trustees"), "{disclose}");
    assert!(disclose.contains("verdict: PASS"), "{disclose}");
    assert!(
        s.trades.iter().any(|t| disclose.contains(&format!(
            "side {:?}, level {} (price {}), quantity {} Wh",
            t.side,
            t.level,
            report.market.price(t.level),
            t.q
        ))),
        "the opened bid is one the households made: {disclose}"
    );
}

/// The demo's keys come from its 3-party ceremony, which the audit verified; each way of
/// breaking that link fails the `key-setup` check: no transcript (a single party's keys),
/// a committee whose flow keys are not the circuits' (the transcript is for other
/// circuits), and a key with one more contribution than recorded (neither the record's
/// nor the deployed verifier's).
fn key_setup_is_checked(dir: &std::path::Path, audit: &sealgrid_audit::AuditReport) {
    use sealgrid_audit::setup::{key_setup, KEY_SETUP};
    use sealgrid_ceremony::market::Depth;
    let c = audit.check(None, KEY_SETUP).expect("the key-setup check");
    assert!(c.passed, "{}", c.detail);
    assert!(
        c.detail
            .contains("by operator, regulator, community, beacon (beacon)"),
        "{}",
        c.detail
    );
    let market = sealgrid_market::MarketFile::load(&dir.join("market.json")).expect("market file");
    let setup = market
        .setup
        .as_ref()
        .expect("the market file records the ceremony");
    assert_eq!(setup.bid.contributions.len(), 4, "3 parties and the beacon");
    let ceremony = dir.join("ceremony");
    let keys = sealgrid_audit::VerifyingKeys::load(&market, &default_key_dir()).expect("keys");
    let check = |m: &sealgrid_market::MarketFile, d: &std::path::Path| {
        key_setup(m, &keys, d, Depth::Keys, &|_| {})
    };
    assert!(check(&market, &ceremony).passed);

    // no transcript: keys of a single party
    let single = sealgrid_market::MarketFile {
        setup: None,
        ..market.clone()
    };
    let c = check(&single, &ceremony);
    assert!(
        !c.passed && c.detail.contains("single party"),
        "{}",
        c.detail
    );

    // another committee's flow keys: the transcripts are not for its circuits
    let mut other = market.clone();
    let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(99);
    other.trustee_setup.committee =
        sealgrid_testkit::committee::dkg(&market.trustee_setup.market, 3, 2, &mut rng).0;
    let c = check(&other, &ceremony);
    assert!(!c.passed && c.detail.contains("bid:"), "{}", c.detail);

    // one contribution more than recorded: a valid transcript, but not the market's
    let more = tempfile::tempdir().expect("temp dir");
    for f in ["phase1.ptau", "balance.zkey", "settle.zkey"] {
        std::fs::copy(ceremony.join(f), more.path().join(f)).expect("copies");
    }
    let bid = sealgrid_ceremony::Zkey::read(&ceremony.join("bid.zkey")).expect("bid key");
    let (extra, _) = sealgrid_ceremony::phase2::contribute(&bid, Some("late"), b"", &|_| {});
    extra.write(&more.path().join("bid.zkey")).expect("writes");
    let c = check(&market, more.path());
    assert!(!c.passed, "{}", c.detail);
    assert!(
        c.detail.contains("bid: the transcript hash is")
            && c.detail
                .contains("bid: the deployed verifying key is not the transcript's output"),
        "{}",
        c.detail
    );
}

#[test]
fn out_of_range_configurations_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 5 households cannot keep the floor of 5 bids once one defaults.
    for (h, m) in [(0, 1), (5, 1), (6, 0)] {
        assert!(matches!(
            run(&config(h, m, dir.path()), &Silent),
            Err(DemoError::Config(_))
        ));
    }
    let late = DemoConfig {
        first_slot: 96,
        ..config(6, 1, dir.path())
    };
    assert!(matches!(run(&late, &Silent), Err(DemoError::Config(_))));
}
