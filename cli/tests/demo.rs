//! A small demo in the test suite: 6 households, one slot, every check of `sealgrid
//! demo` (batch verification, digest checks, decrypted histograms and settlement totals
//! against the plaintext, conservation, ledger). Keys come from the prover's cache under
//! the target directory, so only the first run pays for the setups.

use sealgrid::demo::observer::Silent;
use sealgrid::demo::{run, DemoConfig, DemoError};
use sealgrid_prover::circuits::default_key_dir;

fn config(households: usize, slots: usize) -> DemoConfig {
    DemoConfig {
        households,
        slots,
        // 16:30, when both sides bid (see `sealgrid demo --help`).
        first_slot: 66,
        seed: 1,
        key_dir: default_key_dir(),
    }
}

#[test]
fn six_households_one_slot_clear_settle_and_conserve() {
    let report = run(&config(6, 1), &Silent).expect("every check passes");
    let s = &report.slots[0];
    assert_eq!(
        s.buys + s.sells,
        6,
        "every household has a position at 16:30"
    );
    assert!(s.cleared, "6 bids are above the k-anonymity floor of 5");
    assert!(s.volume > 0);
    assert_eq!(s.settled, 6);
    assert!(s.signatures >= 2, "t = 2 trustee signatures");
    // 6 deposits, 6 bids, 6 settlements, 6 merges
    assert_eq!(s.proofs, 24);
    assert_eq!(
        i128::from(report.deposited),
        i128::from(report.free_balances) + report.operator
    );
    assert_eq!(report.checks(), s.checks);

    // The HTML report's data: the slot's histograms and every household's own trade.
    assert_eq!(s.h_buy.len(), report.market.levels);
    assert_eq!(
        s.h_buy.iter().chain(&s.h_sell).sum::<u64>(),
        s.trades.iter().map(|t| t.q).sum::<u64>()
    );
    let data = sealgrid::demo::html::report_data(&report, "demo", "now");
    assert_eq!(data.prosumers.len(), 6);
    assert!(data.prosumers.iter().all(|p| p.trades.len() == 1));
    sealgrid_report::render(&data).expect("the report renders");
}

#[test]
fn out_of_range_configurations_are_refused_before_any_work() {
    for (h, m) in [(0, 1), (6, 0)] {
        assert!(matches!(
            run(&config(h, m), &Silent),
            Err(DemoError::Config(_))
        ));
    }
    let late = DemoConfig {
        first_slot: 96,
        ..config(6, 1)
    };
    assert!(matches!(run(&late, &Silent), Err(DemoError::Config(_))));
}
