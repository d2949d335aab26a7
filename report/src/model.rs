//! The report's data model: plain values, independent of where they came from (the demo,
//! which plays every household, or an audit that re-reads rounds from public chain data
//! and knows no private view).

use crate::ReportError;

/// Minutes in a day.
pub const DAY_MINUTES: u64 = 24 * 60;

/// Everything a report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportData {
    /// Page title.
    pub title: String,
    /// When the report was made, as the caller wants it shown (no clock is read here:
    /// the same data renders to the same bytes). See [`utc_timestamp`].
    pub generated_at: String,
    /// Paragraphs shown under the title (what the data is, what it is not).
    pub notes: Vec<String>,
    /// The price grid and slot length.
    pub market: MarketInfo,
    /// The rounds, in order.
    pub slots: Vec<SlotData>,
    /// Private views, one per prosumer (empty for an audit: only an owner knows its trades).
    pub prosumers: Vec<ProsumerView>,
    /// Named checks and whether they passed.
    pub checks: Vec<Check>,
}

/// The market's public price grid (`docs/PROTOCOL.md` §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketInfo {
    /// Number of price levels K.
    pub levels: usize,
    /// Price of level 0, token base units per Wh.
    pub floor: u64,
    /// Price step between levels.
    pub tick: u64,
    /// Slot length in minutes; a round is keyed by `slot_start / slot_length`, so
    /// `round * slot_minutes` is the slot's start in minutes since the Unix epoch.
    pub slot_minutes: u64,
}

impl MarketInfo {
    /// Price of level `k`: `floor + k * tick`.
    pub fn price(&self, level: usize) -> u64 {
        self.floor + level as u64 * self.tick
    }

    /// The start of `round`, in minutes since the Unix epoch.
    pub fn start_minutes(&self, round: u64) -> u64 {
        round * self.slot_minutes
    }
}

/// One round's public outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotData {
    /// The round number (`slot_start / slot_length`).
    pub round: u64,
    /// Decrypted aggregate buy histogram: `h_buy[k]` Wh bid at level k (K entries).
    pub h_buy: Vec<u64>,
    /// Decrypted aggregate sell histogram (K entries).
    pub h_sell: Vec<u64>,
    /// False when the round did not clear (under the k-anonymity floor): nothing traded,
    /// and `level`, `price` and `volume` mean nothing.
    pub cleared: bool,
    /// Clearing level k*.
    pub level: usize,
    /// Clearing price p*, token base units per Wh.
    pub price: u64,
    /// Traded volume V*, Wh.
    pub volume: u64,
    /// Bids accepted (sealed: the split into buys and sells is not public).
    pub bids: usize,
    /// Settlements accepted.
    pub settled: usize,
    /// Bids that did not settle in time (their locks are forfeit).
    pub defaults: usize,
    /// Decrypted `Σ pay`.
    pub paid: u64,
    /// Decrypted `Σ credit`.
    pub credited: u64,
    /// Decrypted `Σ penalty`.
    pub penalties: u64,
    /// Gas the round's transactions used, when they went to a chain.
    pub gas: Option<u64>,
}

impl SlotData {
    /// Demand `D(k) = Σ_{j>=k} h_buy[j]`: what buyers take at price `p_k`.
    pub fn demand(&self) -> Vec<u64> {
        let mut d = self.h_buy.clone();
        for k in (0..d.len().saturating_sub(1)).rev() {
            d[k] += d[k + 1];
        }
        d
    }

    /// Supply `S(k) = Σ_{j<=k} h_sell[j]`: what sellers offer at price `p_k`.
    pub fn supply(&self) -> Vec<u64> {
        let mut s = self.h_sell.clone();
        for k in 1..s.len() {
            s[k] += s[k - 1];
        }
        s
    }
}

/// Which side of the market a bid was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Bought energy.
    Buy,
    /// Sold energy.
    Sell,
}

impl Side {
    /// `"buy"` or `"sell"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// One prosumer's own record of its trades: private data only its owner knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProsumerView {
    /// Display name (any text: it is escaped).
    pub name: String,
    /// Its bids, in round order.
    pub trades: Vec<TradeView>,
}

/// One bid as its owner sees it after settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeView {
    /// The round.
    pub round: u64,
    /// Buy or sell.
    pub side: Side,
    /// Limit price level.
    pub level: usize,
    /// Quantity bid, Wh.
    pub q: u64,
    /// Quantity traded, Wh.
    pub fill: u64,
    /// Payment (buyer).
    pub paid: u64,
    /// Credit for delivered energy (seller).
    pub credited: u64,
    /// Penalty for shortfall (seller).
    pub penalty: u64,
}

/// A named check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
}

impl ReportData {
    /// Refuses data the plots cannot draw: a grid of no level, a zero tick or slot
    /// length, a histogram whose length is not K, a clearing level off the grid.
    pub fn validate(&self) -> Result<(), ReportError> {
        let m = &self.market;
        if m.levels == 0 || m.tick == 0 || m.slot_minutes == 0 {
            return Err(ReportError::Data(format!(
                "market grid: {} levels, tick {}, {} min slots (each must be positive)",
                m.levels, m.tick, m.slot_minutes
            )));
        }
        for s in &self.slots {
            if s.h_buy.len() != m.levels || s.h_sell.len() != m.levels {
                return Err(ReportError::Data(format!(
                    "round {}: histograms of {} buy and {} sell levels, K = {}",
                    s.round,
                    s.h_buy.len(),
                    s.h_sell.len(),
                    m.levels
                )));
            }
            if s.cleared && s.level >= m.levels {
                return Err(ReportError::Data(format!(
                    "round {}: clearing level {} is not below K = {}",
                    s.round, s.level, m.levels
                )));
            }
        }
        Ok(())
    }

    /// Midnight (UTC) of the first slot's day, in minutes since the epoch: the origin
    /// of the time axes.
    pub(crate) fn day_origin(&self) -> u64 {
        let first = self
            .slots
            .iter()
            .map(|s| s.round)
            .chain(
                self.prosumers
                    .iter()
                    .flat_map(|p| p.trades.iter().map(|t| t.round)),
            )
            .min()
            .unwrap_or(0);
        self.market.start_minutes(first) / DAY_MINUTES * DAY_MINUTES
    }

    /// A round's start in minutes after [`Self::day_origin`].
    pub(crate) fn minutes_of(&self, round: u64) -> u64 {
        self.market.start_minutes(round) - self.day_origin()
    }
}

/// `HH:MM` for minutes after the first day's midnight; later days get a `+Nd ` prefix.
pub fn time_label(minutes: u64) -> String {
    let (day, m) = (minutes / DAY_MINUTES, minutes % DAY_MINUTES);
    let hm = format!("{:02}:{:02}", m / 60, m % 60);
    if day == 0 {
        hm
    } else {
        format!("+{day}d {hm}")
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the Unix epoch (for
/// [`ReportData::generated_at`]; the caller reads the clock).
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let (days, secs) = (unix_seconds / 86_400, unix_seconds % 86_400);
    // Days to the proleptic Gregorian calendar (H. Hinnant, "chrono-compatible low-level
    // date algorithms", civil_from_days), for days >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(h_buy: Vec<u64>, h_sell: Vec<u64>) -> SlotData {
        SlotData {
            round: 0,
            h_buy,
            h_sell,
            cleared: false,
            level: 0,
            price: 0,
            volume: 0,
            bids: 0,
            settled: 0,
            defaults: 0,
            paid: 0,
            credited: 0,
            penalties: 0,
            gas: None,
        }
    }

    #[test]
    fn curves_are_the_cumulative_histograms() {
        let s = slot(vec![1, 2, 3, 4], vec![10, 20, 30, 40]);
        assert_eq!(s.demand(), vec![10, 9, 7, 4]);
        assert_eq!(s.supply(), vec![10, 30, 60, 100]);
        let empty = slot(vec![], vec![]);
        assert!(empty.demand().is_empty() && empty.supply().is_empty());
    }

    #[test]
    fn timestamps_and_labels() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00 UTC");
        // The demo day, 2025-06-21, at 16:30:05.
        assert_eq!(
            utc_timestamp(1_750_464_000 + 16 * 3600 + 30 * 60 + 5),
            "2025-06-21 16:30:05 UTC"
        );
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(time_label(16 * 60 + 30), "16:30");
        assert_eq!(time_label(DAY_MINUTES + 15), "+1d 00:15");
    }
}
