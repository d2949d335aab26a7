//! What a slot produced, and the summary table.

use std::time::Duration;

use sealgrid_circuits::market::{MarketParams, Side};

/// One slot's public outcome and the demo's bookkeeping of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotSummary {
    /// The round number (`slot_start / slot_seconds`).
    pub round: u64,
    /// Slot start, `HH:MM` (UTC, demo day).
    pub start: String,
    /// Buy bids.
    pub buys: usize,
    /// Sell bids.
    pub sells: usize,
    /// Deposits made before bidding (first use or top-up).
    pub deposits: usize,
    /// False when the round had fewer bids than the k-anonymity floor.
    pub cleared: bool,
    /// Clearing level k*.
    pub level: usize,
    /// Clearing price p*, token units per Wh.
    pub price: u64,
    /// Traded volume V*, Wh.
    pub volume: u64,
    /// Settlements on chain.
    pub settled: usize,
    /// Bids that did not settle (the finalization lists them, their locks are forfeit).
    pub defaults: usize,
    /// Sellers whose meter showed less than their fill.
    pub short: usize,
    /// `Σ pay` (decrypted by the committee, published by the finalization).
    pub paid: u64,
    /// `Σ credit` (likewise).
    pub credited: u64,
    /// `Σ penalty` (likewise).
    pub penalties: u64,
    /// Trustee signatures on the clearing the contract accepted (from the audit bundle).
    pub signatures: usize,
    /// Number of Groth16 proofs made (balance, bid, settle).
    pub proofs: usize,
    /// Wall time spent proving.
    pub proving: Duration,
    /// Gas of the slot's transactions the coordinator relayed and reported: the balance
    /// updates made before bidding, the bids, the settlements (not `clear` and
    /// `finalize`, whose receipts the coordinator does not report).
    pub gas: u64,
    /// Checks passed.
    pub checks: usize,
    /// The aggregate buy histogram (K levels), as the committee decrypted and published it.
    pub h_buy: Vec<u64>,
    /// The aggregate sell histogram.
    pub h_sell: Vec<u64>,
    /// Each bid as its household saw it (private: the demo plays every household).
    pub trades: Vec<Trade>,
}

/// One household's bid and its settlement, as the household's own software knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    /// The household's index.
    pub household: usize,
    /// Buy or sell.
    pub side: Side,
    /// Limit price level.
    pub level: usize,
    /// Quantity bid, Wh.
    pub q: u64,
    /// Quantity traded, Wh.
    pub fill: u64,
    /// Payment.
    pub pay: u64,
    /// Credit for delivered energy.
    pub credit: u64,
    /// Shortfall penalty.
    pub penalty: u64,
    /// Did not settle: no pay, credit or penalty; the lock is forfeit.
    pub defaulted: bool,
}

/// The whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoReport {
    /// The market the run used.
    pub market: MarketParams,
    /// The households' display names, by index.
    pub households: Vec<String>,
    /// One summary per slot, in order.
    pub slots: Vec<SlotSummary>,
    /// Tokens deposited by all households.
    pub deposited: u64,
    /// Tokens withdrawn to payer addresses.
    pub withdrawn: u64,
    /// Tokens the operator received: `Σ pay − Σ credit + Σ penalty + Σ defaulted locks`
    /// over all slots (the finalizations' `to_operator`).
    pub operator: i128,
    /// Σ free balances at the end (every payout merged).
    pub free_balances: u64,
    /// Σ defaulters' locks withheld in the market (fewer than k_anonymity defaulters in
    /// their round: never decrypted, PROTOCOL §7).
    pub withheld_locks: u64,
    /// The household that defaulted and the round it defaulted in.
    pub defaulter: Option<(usize, u64)>,
    /// Gas of the balance updates after the last slot (payout merges, the withdrawal).
    pub closing_gas: u64,
    /// Checks of the whole run (event stream, final money, withdrawal), passed.
    pub run_checks: usize,
    /// The audit of every demo round from public data (`sealgrid_audit`).
    pub audit: sealgrid_audit::AuditReport,
}

impl DemoReport {
    /// Total checks passed: the slots', the run's and the audit's.
    pub fn checks(&self) -> usize {
        self.slots.iter().map(|s| s.checks).sum::<usize>() + self.run_checks + self.audit_checks()
    }

    /// The audit's verdicts.
    pub fn audit_checks(&self) -> usize {
        self.audit.market.len()
            + self
                .audit
                .rounds
                .iter()
                .map(|r| r.checks.len())
                .sum::<usize>()
    }

    /// The summary table, one row per slot and a totals row.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let header = [
            "slot",
            "round",
            "bids b/s",
            "k*",
            "p*",
            "volume Wh",
            "settled",
            "defaults",
            "short",
            "penalties",
            "sigs",
            "proofs",
            "proving",
            "gas",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
        for s in &self.slots {
            let (k, p) = if s.cleared {
                (s.level.to_string(), s.price.to_string())
            } else {
                ("-".into(), "not cleared".into())
            };
            rows.push(vec![
                s.start.clone(),
                s.round.to_string(),
                format!("{}/{}", s.buys, s.sells),
                k,
                p,
                s.volume.to_string(),
                s.settled.to_string(),
                s.defaults.to_string(),
                s.short.to_string(),
                s.penalties.to_string(),
                s.signatures.to_string(),
                s.proofs.to_string(),
                format!("{:.1} s", s.proving.as_secs_f64()),
                s.gas.to_string(),
            ]);
        }
        let sum = |f: fn(&SlotSummary) -> u64| self.slots.iter().map(f).sum::<u64>();
        let proving: Duration = self.slots.iter().map(|s| s.proving).sum();
        rows.push(vec![
            "total".into(),
            String::new(),
            format!("{}/{}", sum(|s| s.buys as u64), sum(|s| s.sells as u64)),
            String::new(),
            String::new(),
            sum(|s| s.volume).to_string(),
            sum(|s| s.settled as u64).to_string(),
            sum(|s| s.defaults as u64).to_string(),
            sum(|s| s.short as u64).to_string(),
            sum(|s| s.penalties).to_string(),
            String::new(),
            sum(|s| s.proofs as u64).to_string(),
            format!("{:.1} s", proving.as_secs_f64()),
            sum(|s| s.gas).to_string(),
        ]);
        let widths: Vec<usize> = (0..header.len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for (i, r) in rows.iter().enumerate() {
            if i == rows.len() - 1 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("  "));
                out.push('\n');
            }
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, w))| {
                    if c == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("  "));
                out.push('\n');
            }
        }
        out
    }
}
