//! The demo's run as a [`ReportData`] for the HTML report (`sealgrid_report`): the one
//! place that maps the demo's summaries to the report's model.

use sealgrid_circuits::market::Side;
use sealgrid_report::{Check, MarketInfo, ProsumerView, ReportData, SlotData, TradeView};

use super::report::DemoReport;

/// The report of a demo run. `generated_at` is shown as given (the caller reads the
/// clock). Every check the demo counted passed (a failed one stops the run), so the
/// checks are listed per slot as passed.
pub fn report_data(report: &DemoReport, title: &str, generated_at: &str) -> ReportData {
    let m = &report.market;
    let slots = report
        .slots
        .iter()
        .map(|s| SlotData {
            round: s.round,
            h_buy: s.h_buy.clone(),
            h_sell: s.h_sell.clone(),
            cleared: s.cleared,
            level: s.level,
            price: s.price,
            volume: s.volume,
            bids: s.buys + s.sells,
            settled: s.settled,
            // The demo's households always settle: no defaulter, no forfeit lock.
            defaults: 0,
            paid: s.paid,
            credited: s.credited,
            penalties: s.penalties,
            // No contract in the loop yet.
            gas: None,
        })
        .collect();
    let prosumers = report
        .households
        .iter()
        .enumerate()
        .map(|(i, name)| ProsumerView {
            name: name.clone(),
            trades: report
                .slots
                .iter()
                .flat_map(|s| s.trades.iter().map(move |t| (s.round, t)))
                .filter(|(_, t)| t.household == i)
                .map(|(round, t)| TradeView {
                    round,
                    side: match t.side {
                        Side::Buy => sealgrid_report::Side::Buy,
                        Side::Sell => sealgrid_report::Side::Sell,
                    },
                    level: t.level,
                    q: t.q,
                    fill: t.fill,
                    paid: t.pay,
                    credited: t.credit,
                    penalty: t.penalty,
                })
                .collect(),
        })
        .collect();
    let mut checks: Vec<Check> = report
        .slots
        .iter()
        .map(|s| Check {
            name: format!(
                "slot {} (round {}): {} checks (batch verification, decrypted histograms and totals against the plaintext, clearing, signatures, conservation, ledger)",
                s.start, s.round, s.checks
            ),
            passed: true,
        })
        .collect();
    checks.push(Check {
        name: format!(
            "tokens: deposited {} = free balances {} + operator {}",
            report.deposited, report.free_balances, report.operator
        ),
        passed: i128::from(report.deposited) == i128::from(report.free_balances) + report.operator,
    });
    ReportData {
        title: title.to_owned(),
        generated_at: generated_at.to_owned(),
        notes: vec![
            "Household profiles are SYNTHETIC (a PV bell curve and a load with morning and evening peaks). The market contract and the gRPC coordinator are not in the loop yet: no gas is measured.".into(),
            "The committee runs its DKG from a FIXED, public seed: it protects nothing in this demo.".into(),
        ],
        market: MarketInfo {
            levels: m.levels,
            floor: m.floor,
            tick: m.tick,
            slot_minutes: m.slot_seconds / 60,
        },
        slots,
        prosumers,
        checks,
    }
}
