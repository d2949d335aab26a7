//! SYNTHETIC household profiles: a clear-sky PV bell curve and a load with morning and
//! evening peaks, drawn per household from the demo's seed. They make plausible net
//! positions for a pilot community; they are not measured data. Real standard load
//! profiles and PV yields replace them with issue #7.
//!
//! Model, per household `h`, at the middle `t` (hours) of a 15-minute slot:
//!
//! - PV, kW: `kwp_h · 0.8 · exp(−½((t − 13)/2.5)²)` between 06:00 and 20:00, 0 outside
//!   (a summer clear-sky bell peaking at 13:00 solar time at 80 % of the rated power).
//!   About a third of the households have no PV (`kwp_h = 0`), the others 3–10 kWp.
//! - Load, kW: `base_h + morning_h · exp(−½((t − 7.5)/1)²) + evening_h · exp(−½((t − 19)/1.5)²)`
//!   with `base_h` 0.2–0.5 kW, `morning_h` 0.5–1.5 kW, `evening_h` 0.8–2.5 kW.
//! - Each slot multiplies PV and load by a jitter in [0.85, 1.15] drawn from the seed,
//!   household and slot (passing clouds, appliances).
//!
//! Energy in a slot is power × slot length. The net position `pv − load` decides the
//! side (surplus sells, deficit buys) and the quantity; [`Strategy`] turns it into a
//! price level.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::params::Q_BITS;
use sealgrid_circuits::market::{MarketParams, Side};

/// Net positions smaller than this (Wh) sit the slot out: no bid.
pub const MIN_POSITION_WH: u64 = 20;

/// One household's synthetic daily model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// Rated PV power, kWp (0: no PV).
    pub kwp: f64,
    /// Base load, kW.
    pub base_kw: f64,
    /// Height of the morning load peak (07:30), kW.
    pub morning_kw: f64,
    /// Height of the evening load peak (19:00), kW.
    pub evening_kw: f64,
}

fn bell(t: f64, centre: f64, width: f64) -> f64 {
    let z = (t - centre) / width;
    (-0.5 * z * z).exp()
}

impl Profile {
    /// The profile of household `index`, drawn from `seed`.
    pub fn draw(seed: u64, index: usize) -> Profile {
        let mut rng = ChaCha20Rng::seed_from_u64(mix(seed, 0x9f0f11e, index as u64));
        let has_pv = rng.gen_range(0..3) != 0;
        Profile {
            kwp: if has_pv {
                rng.gen_range(3.0..10.0)
            } else {
                0.0
            },
            base_kw: rng.gen_range(0.2..0.5),
            morning_kw: rng.gen_range(0.5..1.5),
            evening_kw: rng.gen_range(0.8..2.5),
        }
    }

    /// PV power at hour `t`, kW.
    pub fn pv_kw(&self, t: f64) -> f64 {
        if (6.0..20.0).contains(&t) {
            self.kwp * 0.8 * bell(t, 13.0, 2.5)
        } else {
            0.0
        }
    }

    /// Load at hour `t`, kW.
    pub fn load_kw(&self, t: f64) -> f64 {
        self.base_kw + self.morning_kw * bell(t, 7.5, 1.0) + self.evening_kw * bell(t, 19.0, 1.5)
    }

    /// Production and consumption (Wh) in slot `slot_of_day` of length `slot_seconds`,
    /// with the slot's jitter.
    pub fn energy_wh(
        &self,
        seed: u64,
        index: usize,
        slot_of_day: u64,
        slot_seconds: u64,
    ) -> (u64, u64) {
        let hours = slot_seconds as f64 / 3600.0;
        let t = (slot_of_day as f64 + 0.5) * hours;
        let mut rng = ChaCha20Rng::seed_from_u64(mix(seed, index as u64, slot_of_day));
        let pv = self.pv_kw(t) * rng.gen_range(0.85..1.15) * hours * 1000.0;
        let load = self.load_kw(t) * rng.gen_range(0.85..1.15) * hours * 1000.0;
        (pv.round() as u64, load.round() as u64)
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
        let (side, q) = if pv_wh >= load_wh {
            (Side::Sell, pv_wh - load_wh)
        } else {
            (Side::Buy, load_wh - pv_wh)
        };
        if q < MIN_POSITION_WH {
            return None;
        }
        let q = q.min((1 << Q_BITS) - 1);
        let x = (q as f64 / self.scale_wh as f64).min(1.0);
        let top = (params.levels - 1) as f64;
        let level = match side {
            Side::Sell => ((1.0 - x) * top / 2.0).round(),
            Side::Buy => ((1.0 + x) * top / 2.0).round(),
        } as usize;
        Some(Intent { side, level, q })
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

    #[test]
    fn pv_peaks_at_noon_and_is_zero_at_night() {
        let p = Profile {
            kwp: 5.0,
            base_kw: 0.3,
            morning_kw: 1.0,
            evening_kw: 1.5,
        };
        assert_eq!(p.pv_kw(3.0), 0.0);
        assert!((p.pv_kw(13.0) - 4.0).abs() < 1e-9);
        assert!(p.pv_kw(13.0) > p.pv_kw(10.0));
        assert!(p.load_kw(19.0) > p.load_kw(13.0));
        assert!(p.load_kw(7.5) > p.load_kw(13.0));
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
    }

    #[test]
    fn profiles_are_deterministic_per_seed_and_household() {
        assert_eq!(Profile::draw(7, 3), Profile::draw(7, 3));
        assert_ne!(Profile::draw(7, 3), Profile::draw(7, 4));
        let p = Profile::draw(7, 3);
        assert_eq!(p.energy_wh(7, 3, 48, 900), p.energy_wh(7, 3, 48, 900));
    }
}
