//! Household profiles from standard profiles, and the bidding strategy.
//!
//! The data is `data/profiles/profiles.csv`, embedded at build time and written by
//! `data/profiles/generate.py` (its docstring says how to regenerate it). It holds the
//! demo day, 2025-06-21 (a Saturday), as 96 quarter-hours counted from midnight UTC like
//! the demo's slots:
//!
//! - `h0_wh`: energy drawn per quarter-hour by a household consuming 1,000 kWh a year,
//!   from the BDEW H0 standard load profile with the BDEW dynamisation function
//!   (demandlib's `h0_dyn`), looked up in German legal time (UTC+2 that day). It is a
//!   standard profile: the average of many households, smooth, without the spikes of a
//!   single one.
//! - `pv_wh`: AC energy per quarter-hour of 1 kWp on a clear-sky day at Kassel, a fixed
//!   array tilted 35° facing south (pvlib: Ineichen clear sky, PVWatts model chain,
//!   14 % system losses, 96 % inverter). A cloudless day: the most PV that day can give.
//!
//! Each household `h` is drawn from the demo's seed: an annual consumption `E_h` of
//! 2,500–5,500 kWh/a and, for about two thirds of them, a PV array of `P_h` = 3–10 kWp
//! (the others have none), some of these with a battery (below). In a slot its
//! consumption is `E_h / 1000 · h0_wh` and its production `P_h · pv_wh`, each times its
//! own jitter in [0.85, 1.15] drawn from the seed, household and slot (passing clouds,
//! appliances switched on or off). Slots longer or shorter than a quarter-hour take the
//! energy of the quarter-hours they overlap.
//!
//! Half of the PV owners also have a battery of 5–10 kWh (usable), at most 0.5 kW per
//! kWh in or out, 95 % efficient each way. It charges from the household's surplus and
//! discharges into its deficit, so it shrinks the net position the household takes to
//! the market. Its state of charge is simulated from midnight UTC through the slot, the
//! day run twice so that midnight starts with what the evening left. On the demo day it
//! is full by late morning: it changes the evening (its owners stop buying), not noon.
//!
//! The net position `pv − load` at the grid connection (after the battery) decides the
//! side (surplus sells, deficit buys) and the quantity; [`Strategy`] turns it into a
//! price level.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::params::Q_BITS;
use sealgrid_circuits::market::{MarketParams, Side};

/// Net positions smaller than this (Wh) sit the slot out: no bid.
pub const MIN_POSITION_WH: u64 = 20;

/// Quarter-hours in the embedded day.
pub const QUARTER_HOURS: usize = 96;
/// Annual consumption (kWh/a) the `h0_wh` column is scaled to.
pub const H0_ANNUAL_KWH: f64 = 1_000.0;

/// The embedded dataset, `data/profiles/profiles.csv`.
pub const PROFILES_CSV: &str = include_str!("../../../data/profiles/profiles.csv");

/// Why the profile data does not parse.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileDataError {
    /// The column header is not `slot,utc_start,h0_wh,pv_wh`.
    #[error("the column header is {0:?}, expected \"slot,utc_start,h0_wh,pv_wh\"")]
    Header(String),
    /// A row does not have four comma-separated fields.
    #[error("line {line}: {fields} fields, expected 4")]
    Fields {
        /// 1-based line number.
        line: usize,
        /// Fields found.
        fields: usize,
    },
    /// A row's slot number or start time is not the next quarter-hour.
    #[error("line {line}: expected slot {slot} at {start}")]
    Order {
        /// 1-based line number.
        line: usize,
        /// The slot expected.
        slot: usize,
        /// Its start, `HH:MM`.
        start: String,
    },
    /// A value is not a finite number at or above 0.
    #[error("line {line}: {column} {value:?} is not a finite number >= 0")]
    Value {
        /// 1-based line number.
        line: usize,
        /// The column.
        column: &'static str,
        /// The text found.
        value: String,
    },
    /// The file does not have exactly 96 rows.
    #[error("{0} rows, expected {QUARTER_HOURS}")]
    Rows(usize),
}

/// One day of standard profiles, per quarter-hour from 00:00 UTC.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardDay {
    /// H0 consumption, Wh per quarter-hour, for [`H0_ANNUAL_KWH`].
    pub h0_wh: [f64; QUARTER_HOURS],
    /// Clear-sky PV production, Wh (AC) per quarter-hour, for 1 kWp.
    pub pv_wh: [f64; QUARTER_HOURS],
}

impl StandardDay {
    /// Parses the CSV that `generate.py` writes: `#` comment lines, the column header,
    /// then exactly 96 rows `slot,HH:MM,h0_wh,pv_wh` in order.
    pub fn parse(csv: &str) -> Result<StandardDay, ProfileDataError> {
        let mut day = StandardDay {
            h0_wh: [0.0; QUARTER_HOURS],
            pv_wh: [0.0; QUARTER_HOURS],
        };
        let mut lines = csv
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        match lines.next() {
            Some((_, "slot,utc_start,h0_wh,pv_wh")) => {}
            other => {
                return Err(ProfileDataError::Header(
                    other.map_or(String::new(), |(_, l)| l.to_string()),
                ))
            }
        }
        let mut rows = 0;
        for (line, text) in lines {
            let fields: Vec<&str> = text.split(',').collect();
            let [slot, start, h0, pv] = fields[..] else {
                return Err(ProfileDataError::Fields {
                    line,
                    fields: fields.len(),
                });
            };
            let expected = format!("{:02}:{:02}", rows / 4, rows % 4 * 15);
            if rows >= QUARTER_HOURS || slot.parse() != Ok(rows) || start != expected {
                return Err(ProfileDataError::Order {
                    line,
                    slot: rows,
                    start: expected,
                });
            }
            let value = |column: &'static str, text: &str| match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(ProfileDataError::Value {
                    line,
                    column,
                    value: text.to_string(),
                }),
            };
            day.h0_wh[rows] = value("h0_wh", h0)?;
            day.pv_wh[rows] = value("pv_wh", pv)?;
            rows += 1;
        }
        if rows != QUARTER_HOURS {
            return Err(ProfileDataError::Rows(rows));
        }
        Ok(day)
    }

    /// The embedded day, parsed once.
    ///
    /// # Panics
    ///
    /// If the embedded CSV is malformed, naming the line and the rule. The unit test
    /// `embedded_profiles_parse_and_are_plausible` rules that out for every build.
    pub fn embedded() -> &'static StandardDay {
        static DAY: OnceLock<StandardDay> = OnceLock::new();
        DAY.get_or_init(|| {
            StandardDay::parse(PROFILES_CSV).unwrap_or_else(|e| {
                panic!("the embedded data/profiles/profiles.csv is malformed: {e}")
            })
        })
    }

    /// The energy of `column` between `from` and `to` seconds after midnight UTC,
    /// taking each quarter-hour's energy as spread evenly over it.
    fn energy(column: &[f64; QUARTER_HOURS], from: u64, to: u64) -> f64 {
        const Q: u64 = 900;
        let to = to.min(QUARTER_HOURS as u64 * Q);
        let mut sum = 0.0;
        let mut t = from;
        while t < to {
            let q = t / Q;
            let end = ((q + 1) * Q).min(to);
            sum += column[q as usize] * (end - t) as f64 / Q as f64;
            t = end;
        }
        sum
    }
}

/// A home battery's power limit, kW per kWh of capacity (0.5 C: a full charge in 2 h).
pub const BATTERY_C_RATE: f64 = 0.5;
/// A home battery's efficiency each way, charging and discharging (≈ 90 % round trip).
pub const BATTERY_EFFICIENCY: f64 = 0.95;

/// One household: how much it consumes in a year, how much PV it has, and its battery.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// Annual consumption, kWh/a: scales the H0 profile.
    pub annual_kwh: f64,
    /// Rated PV power, kWp (0: no PV): scales the PV yield per kWp.
    pub kwp: f64,
    /// Usable battery capacity, kWh (0: no battery).
    pub battery_kwh: f64,
}

impl Profile {
    /// The profile of household `index`, drawn from `seed`: 2,500–5,500 kWh/a (to
    /// 10 kWh); with probability ⅔ a PV array of 3–10 kWp (to 0.1 kWp); and for half of
    /// the PV owners a battery of 5–10 kWh (to 0.5 kWh).
    pub fn draw(seed: u64, index: usize) -> Profile {
        let mut rng = ChaCha20Rng::seed_from_u64(mix(seed, 0x9f0f11e, index as u64));
        let has_pv = rng.gen_range(0..3) != 0;
        let kwp: f64 = rng.gen_range(3.0..10.0);
        let annual_kwh: f64 = rng.gen_range(2_500.0..5_500.0);
        let has_battery = has_pv && rng.gen_bool(0.5);
        let battery_kwh: f64 = rng.gen_range(5.0..10.0);
        Profile {
            annual_kwh: (annual_kwh / 10.0).round() * 10.0,
            kwp: if has_pv {
                (kwp * 10.0).round() / 10.0
            } else {
                0.0
            },
            battery_kwh: if has_battery {
                (battery_kwh * 2.0).round() / 2.0
            } else {
                0.0
            },
        }
    }

    /// Expected production and consumption (Wh), without jitter or battery, between
    /// `from` and `to` seconds after midnight UTC of the demo day.
    pub fn expected_wh(&self, from: u64, to: u64) -> (f64, f64) {
        let day = StandardDay::embedded();
        (
            self.kwp * StandardDay::energy(&day.pv_wh, from, to),
            self.annual_kwh / H0_ANNUAL_KWH * StandardDay::energy(&day.h0_wh, from, to),
        )
    }

    /// Production and consumption (Wh) in slot `slot_of_day`, with the slot's jitter,
    /// before the battery.
    fn jittered_wh(
        &self,
        seed: u64,
        index: usize,
        slot_of_day: u64,
        slot_seconds: u64,
    ) -> (f64, f64) {
        let from = slot_of_day * slot_seconds;
        let (pv, load) = self.expected_wh(from, from + slot_seconds);
        let mut rng = ChaCha20Rng::seed_from_u64(mix(seed, index as u64, slot_of_day));
        let pv = pv * rng.gen_range(0.85..1.15);
        let load = load * rng.gen_range(0.85..1.15);
        (pv, load)
    }

    /// The battery's (charge, discharge) in a slot, Wh at the house's connection, and
    /// its state of charge (Wh stored) afterwards, from `stored` before it. It charges
    /// from surplus and discharges into deficit, within its power and capacity.
    fn battery_step(&self, pv: f64, load: f64, stored: f64, slot_seconds: u64) -> (f64, f64, f64) {
        let capacity = self.battery_kwh * 1_000.0;
        let limit = capacity * BATTERY_C_RATE * slot_seconds as f64 / 3_600.0;
        if pv >= load {
            let charge = (pv - load)
                .min(limit)
                .min((capacity - stored) / BATTERY_EFFICIENCY);
            (charge, 0.0, stored + charge * BATTERY_EFFICIENCY)
        } else {
            let discharge = (load - pv).min(limit).min(stored * BATTERY_EFFICIENCY);
            (0.0, discharge, stored - discharge / BATTERY_EFFICIENCY)
        }
    }

    /// The battery's (charge, discharge) in slot `slot_of_day`, Wh. The day is run
    /// twice from an empty battery, so that midnight starts with what the evening left
    /// (a day that repeats), then up to the slot.
    fn battery_wh(
        &self,
        seed: u64,
        index: usize,
        slot_of_day: u64,
        slot_seconds: u64,
    ) -> (f64, f64) {
        let step = |stored: f64, s: u64| {
            let (pv, load) = self.jittered_wh(seed, index, s, slot_seconds);
            self.battery_step(pv, load, stored, slot_seconds)
        };
        let day = 0..86_400 / slot_seconds;
        let midnight = day.fold(0.0, |stored, s| step(stored, s).2);
        let stored = (0..slot_of_day).fold(midnight, |stored, s| step(stored, s).2);
        let (charge, discharge, _) = step(stored, slot_of_day);
        (charge, discharge)
    }

    /// Net production and consumption (Wh) at the grid connection in slot
    /// `slot_of_day` of length `slot_seconds`: PV and load with the slot's jitter, less
    /// what the battery takes from the surplus or gives to the deficit.
    pub fn energy_wh(
        &self,
        seed: u64,
        index: usize,
        slot_of_day: u64,
        slot_seconds: u64,
    ) -> (u64, u64) {
        let (pv, load) = self.jittered_wh(seed, index, slot_of_day, slot_seconds);
        let (charge, discharge) = if self.battery_kwh > 0.0 {
            self.battery_wh(seed, index, slot_of_day, slot_seconds)
        } else {
            (0.0, 0.0)
        };
        (
            (pv - charge).round() as u64,
            (load - discharge).round() as u64,
        )
    }
}

/// A household's intended bid for a slot: side, price level, quantity (Wh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intent {
    /// Buy (deficit) or sell (surplus).
    pub side: Side,
    /// Price level on the market's grid.
    pub level: usize,
    /// Quantity, Wh.
    pub q: u64,
}

/// The demo's bidding strategy: a price level from the net position. The larger a
/// household's position, the more it wants to trade: a seller with a large surplus asks
/// a low price, a buyer with a large deficit bids a high one. Positions are measured
/// against `scale_wh` (a large position for one slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strategy {
    /// A position of this size or more (Wh) gets the most eager price.
    pub scale_wh: u64,
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy { scale_wh: 1_000 }
    }
}

impl Strategy {
    /// The bid for a net position `pv − load`; `None` when the position is under
    /// [`MIN_POSITION_WH`].
    ///
    /// With `x = min(|net| / scale, 1)` and `top = K − 1`: a seller asks level
    /// `round((1 − x) · top / 2)` (0 … ½ top), a buyer bids `round((1 + x) · top / 2)`
    /// (½ top … top). The ranges meet in the middle, so the curves cross whenever both
    /// sides bid; where the price lands depends on which side is long.
    pub fn intent(&self, params: &MarketParams, pv_wh: u64, load_wh: u64) -> Option<Intent> {
        let intent = self.small_intent(params, pv_wh, load_wh);
        (intent.q >= MIN_POSITION_WH).then_some(intent)
    }

    /// The bid for a net position however small (at least 1 Wh): what a household that
    /// would sit the slot out bids when the slot needs it to reach the market's
    /// k-anonymity floor (see `demo::bidding`). Same side and price rule as
    /// [`Strategy::intent`].
    pub fn small_intent(&self, params: &MarketParams, pv_wh: u64, load_wh: u64) -> Intent {
        let (side, q) = if pv_wh >= load_wh {
            (Side::Sell, pv_wh - load_wh)
        } else {
            (Side::Buy, load_wh - pv_wh)
        };
        let q = q.clamp(1, (1 << Q_BITS) - 1);
        let x = (q as f64 / self.scale_wh as f64).min(1.0);
        let top = (params.levels - 1) as f64;
        let level = match side {
            Side::Sell => ((1.0 - x) * top / 2.0).round(),
            Side::Buy => ((1.0 + x) * top / 2.0).round(),
        } as usize;
        Intent { side, level, q }
    }
}

/// A 64-bit seed from a demo seed and two indices (splitmix64-style finaliser), so that
/// every household and slot draws from its own stream.
pub(crate) fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(b.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealgrid_circuits::market::{clear, Clearing};

    #[test]
    fn embedded_profiles_parse_and_are_plausible() {
        let day = StandardDay::parse(PROFILES_CSV).unwrap();
        assert_eq!(day.h0_wh.len(), QUARTER_HOURS);
        assert!(day.h0_wh.iter().chain(&day.pv_wh).all(|&v| v >= 0.0));
        // H0 averages 1000 kWh / 365 = 2.74 kWh a day; a summer Saturday with the
        // dynamisation factor of late June (about 0.81) sits lower.
        let h0_day: f64 = day.h0_wh.iter().sum::<f64>() / 1000.0;
        assert!((2.0..3.2).contains(&h0_day), "H0 day {h0_day} kWh");
        // Clear-sky June day in central Germany: 5–8 kWh per kWp; no sun at night.
        let pv_day: f64 = day.pv_wh.iter().sum::<f64>() / 1000.0;
        assert!((5.0..8.0).contains(&pv_day), "PV day {pv_day} kWh/kWp");
        assert_eq!(day.pv_wh[0], 0.0);
        assert_eq!(day.pv_wh[95], 0.0);
        // Solar noon at Kassel is near 11:15 UTC: the peak must be close.
        let peak = (0..QUARTER_HOURS)
            .max_by(|&a, &b| day.pv_wh[a].total_cmp(&day.pv_wh[b]))
            .unwrap();
        assert!((43..=47).contains(&peak), "PV peaks in quarter-hour {peak}");
        assert_eq!(StandardDay::embedded(), &day);
    }

    fn csv(rows: &[String]) -> String {
        let mut s = String::from("# comment\nslot,utc_start,h0_wh,pv_wh\n");
        for r in rows {
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    fn good_rows() -> Vec<String> {
        (0..QUARTER_HOURS)
            .map(|i| format!("{i},{:02}:{:02},10.5,1.25", i / 4, i % 4 * 15))
            .collect()
    }

    #[test]
    fn parse_rejects_each_malformation() {
        assert!(StandardDay::parse(&csv(&good_rows())).is_ok());
        assert_eq!(
            StandardDay::parse("slot,start,h0,pv\n"),
            Err(ProfileDataError::Header("slot,start,h0,pv".into()))
        );
        let mut rows = good_rows();
        rows[3] = "3,00:45,10.5".into();
        assert_eq!(
            StandardDay::parse(&csv(&rows)),
            Err(ProfileDataError::Fields { line: 6, fields: 3 })
        );
        let mut rows = good_rows();
        rows.swap(4, 5);
        assert!(matches!(
            StandardDay::parse(&csv(&rows)),
            Err(ProfileDataError::Order { slot: 4, .. })
        ));
        let mut rows = good_rows();
        rows[7] = "7,01:45,-0.1,0".into();
        assert!(matches!(
            StandardDay::parse(&csv(&rows)),
            Err(ProfileDataError::Value {
                column: "h0_wh",
                ..
            })
        ));
        let mut rows = good_rows();
        rows[8] = "8,02:00,1,NaN".into();
        assert!(matches!(
            StandardDay::parse(&csv(&rows)),
            Err(ProfileDataError::Value {
                column: "pv_wh",
                ..
            })
        ));
        let rows = good_rows();
        assert_eq!(
            StandardDay::parse(&csv(&rows[..95])),
            Err(ProfileDataError::Rows(95))
        );
        let mut rows = good_rows();
        rows.push("96,24:00,1,1".into());
        assert!(matches!(
            StandardDay::parse(&csv(&rows)),
            Err(ProfileDataError::Order { slot: 96, .. })
        ));
    }

    #[test]
    fn households_scale_the_standard_day() {
        let day = StandardDay::embedded();
        let p = Profile {
            annual_kwh: 4_000.0,
            kwp: 5.0,
            battery_kwh: 0.0,
        };
        let (pv, load) = p.expected_wh(0, 86_400);
        let h0: f64 = day.h0_wh.iter().sum();
        let pv1: f64 = day.pv_wh.iter().sum();
        assert!((load - 4.0 * h0).abs() < 1e-6);
        assert!((pv - 5.0 * pv1).abs() < 1e-6);
        // A half-hour slot is two quarter-hours; a 5-minute one a third of one.
        let (pv, load) = p.expected_wh(44 * 900, 46 * 900);
        assert!((pv - 5.0 * (day.pv_wh[44] + day.pv_wh[45])).abs() < 1e-9);
        assert!((load - 4.0 * (day.h0_wh[44] + day.h0_wh[45])).abs() < 1e-9);
        let (_, load) = p.expected_wh(44 * 900 + 300, 44 * 900 + 600);
        assert!((load - 4.0 * day.h0_wh[44] / 3.0).abs() < 1e-9);
        // The jitter stays within ±15 %.
        let (pv, load) = p.energy_wh(7, 0, 44, 900);
        let (epv, eload) = p.expected_wh(44 * 900, 45 * 900);
        assert!((pv as f64 - epv).abs() <= 0.15 * epv + 1.0);
        assert!((load as f64 - eload).abs() <= 0.15 * eload + 1.0);
    }

    #[test]
    fn batteries_shrink_positions_within_their_limits() {
        let with = Profile {
            annual_kwh: 2_500.0,
            kwp: 5.0,
            battery_kwh: 10.0,
        };
        let without = Profile {
            battery_kwh: 0.0,
            ..with
        };
        let limit = 10_000.0 * BATTERY_C_RATE / 4.0;
        let mut stored = 0.0;
        for slot in 0..QUARTER_HOURS as u64 {
            let (pv, load) = with.energy_wh(1, 0, slot, 900);
            let (pv0, load0) = without.energy_wh(1, 0, slot, 900);
            let (net, net0) = (pv as i64 - load as i64, pv0 as i64 - load0 as i64);
            // Same sign or flat, never larger, and no more than the power limit apart.
            assert!(net * net0 >= 0 && net.abs() <= net0.abs(), "slot {slot}");
            assert!((net0 - net).abs() as f64 <= limit + 1.0, "slot {slot}");
            let (jpv, jload) = with.jittered_wh(1, 0, slot, 900);
            let (charge, discharge, next) = with.battery_step(jpv, jload, stored, 900);
            assert!(charge == 0.0 || discharge == 0.0);
            assert!(
                (0.0..=10_000.0 + 1e-9).contains(&next),
                "slot {slot}: {next} Wh"
            );
            stored = next;
        }
        // 18:00 UTC, PV gone: the battery, full since the afternoon, covers the evening.
        let (pv, load) = with.energy_wh(1, 0, 72, 900);
        assert_eq!(pv, load, "PV covers part of the load, the battery the rest");
        assert!(without.energy_wh(1, 0, 72, 900).1 > 50);
        // Noon: the battery is full, the surplus goes to the market again.
        let (pv, load) = with.energy_wh(1, 0, 48, 900);
        assert_eq!((pv, load), without.energy_wh(1, 0, 48, 900));
    }

    #[test]
    fn drawn_households_are_in_range() {
        let profiles: Vec<Profile> = (0..300).map(|i| Profile::draw(1, i)).collect();
        assert!(profiles
            .iter()
            .all(|p| (2_500.0..=5_500.0).contains(&p.annual_kwh)));
        assert!(profiles
            .iter()
            .all(|p| p.kwp == 0.0 || (3.0..=10.0).contains(&p.kwp)));
        let without = profiles.iter().filter(|p| p.kwp == 0.0).count();
        assert!((70..130).contains(&without), "{without} of 300 without PV");
        assert!(profiles.iter().all(
            |p| p.battery_kwh == 0.0 || (p.kwp > 0.0 && (5.0..=10.0).contains(&p.battery_kwh))
        ));
        let batteries = profiles.iter().filter(|p| p.battery_kwh > 0.0).count();
        assert!(
            (70..130).contains(&batteries),
            "{batteries} of 300 with a battery"
        );
    }

    /// `--start` of `sealgrid demo` by default (cli/src/main.rs), as a slot of the day.
    const DEFAULT_START_SLOT: u64 = 66;

    /// Bids and the clearing of `households` drawn from `seed` in `slot`:
    /// (buyers, sellers, clearing).
    fn simulate(households: usize, seed: u64, slot: u64) -> (usize, usize, Clearing) {
        let params = MarketParams::default();
        let strategy = Strategy::default();
        let (mut h_buy, mut h_sell) = (vec![0; params.levels], vec![0; params.levels]);
        let (mut buys, mut sells) = (0, 0);
        for i in 0..households {
            let p = Profile::draw(seed, i);
            let (pv, load) = p.energy_wh(seed, i, slot, params.slot_seconds);
            if let Some(intent) = strategy.intent(&params, pv, load) {
                match intent.side {
                    Side::Buy => (buys += 1, h_buy[intent.level] += intent.q),
                    Side::Sell => (sells += 1, h_sell[intent.level] += intent.q),
                };
            }
        }
        let c = clear(&h_buy, &h_sell, buys + sells, params.k_anonymity).unwrap();
        (buys, sells, c)
    }

    /// The default demo (12 households, 4 slots from 16:30) has both sides in the
    /// market and trades in at least 3 of its 4 slots, for seed 1 (the default) and a
    /// few others. (Around noon every slot trades too, but PV owners are so long that
    /// the price sits at the floor; from 17:30 UTC nobody sells.)
    #[test]
    fn the_default_demo_window_has_both_sides_and_trades() {
        for seed in 1..=5 {
            let mut trading = 0;
            for slot in DEFAULT_START_SLOT..DEFAULT_START_SLOT + 4 {
                let (buys, sells, c) = simulate(12, seed, slot);
                if buys > 0 && sells > 0 && c.cleared && c.volume > 0 {
                    trading += 1;
                }
            }
            assert!(trading >= 3, "seed {seed}: {trading} of 4 slots trade");
        }
    }

    #[test]
    fn strategy_sides_levels_and_the_dead_band() {
        let params = MarketParams::default();
        let s = Strategy::default();
        assert_eq!(s.intent(&params, 510, 500), None);
        let big_sell = s.intent(&params, 2_000, 100).unwrap();
        assert_eq!(
            (big_sell.side, big_sell.level, big_sell.q),
            (Side::Sell, 0, 1_900)
        );
        let small_sell = s.intent(&params, 150, 100).unwrap();
        assert_eq!((small_sell.side, small_sell.level), (Side::Sell, 3));
        let big_buy = s.intent(&params, 0, 3_000).unwrap();
        assert_eq!((big_buy.side, big_buy.level), (Side::Buy, 7));
        let small_buy = s.intent(&params, 0, 50).unwrap();
        assert_eq!((small_buy.side, small_buy.level), (Side::Buy, 4));
        // Inside the dead band a household asked to bid (the k-anonymity floor) bids its
        // small position, at least 1 Wh; outside it the same as `intent`.
        let tiny = s.small_intent(&params, 510, 500);
        assert_eq!((tiny.side, tiny.level, tiny.q), (Side::Sell, 3, 10));
        assert_eq!(s.small_intent(&params, 500, 500).q, 1);
        assert_eq!(s.small_intent(&params, 0, 3_000), big_buy);
    }

    #[test]
    fn profiles_are_deterministic_per_seed_and_household() {
        assert_eq!(Profile::draw(7, 3), Profile::draw(7, 3));
        assert_ne!(Profile::draw(7, 3), Profile::draw(7, 4));
        let p = Profile::draw(7, 3);
        assert_eq!(p.energy_wh(7, 3, 48, 900), p.energy_wh(7, 3, 48, 900));
    }
}
