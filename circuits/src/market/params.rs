//! Market parameters (`docs/PROTOCOL.md` §1) and the arithmetic every party must agree
//! on: price levels, locks.

/// Bits of a bid quantity in Wh: `1 <= q < 2^Q_BITS`.
pub const Q_BITS: usize = 20;
/// Bits of a price or rate in token base units per Wh.
pub const PRICE_BITS: usize = 20;
/// Bits of a confidential balance, lock or payout.
pub const BAL_BITS: usize = 64;
/// Bits of each clearing rationing numerator and denominator.
pub const RATION_BITS: usize = 40;
/// Largest number of price levels a circuit supports.
pub const MAX_LEVELS: usize = 16;
/// Basis points in one.
pub const BPS: u64 = 10_000;

/// Which side of the market a bid is on. The circuits encode buy as 0, sell as 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Wants energy, pays at most its limit price.
    Buy,
    /// Offers energy, accepts at least its limit price.
    Sell,
}

impl Side {
    /// The circuit encoding: 0 for buy, 1 for sell.
    pub fn bit(self) -> u64 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }
}

/// Why a parameter set or a bid is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    /// K outside 2..=16.
    #[error("number of price levels {0} is outside 2..={MAX_LEVELS}")]
    Levels(usize),
    /// The highest price level does not fit the circuits' price range.
    #[error("price of the top level {0} does not fit in {PRICE_BITS} bits")]
    Price(u64),
    /// Margin ratio of 100 % or more.
    #[error("margin ratio {0} bps is not below {BPS}")]
    Margin(u64),
    /// Penalty rate out of range.
    #[error("penalty rate {0} does not fit in {PRICE_BITS} bits")]
    Penalty(u64),
    /// A bid's price level is not on the grid.
    #[error("price level {level} is not below K = {levels}")]
    Level {
        /// The level asked for.
        level: usize,
        /// K.
        levels: usize,
    },
    /// A bid's quantity is zero or too large.
    #[error("quantity {0} Wh is outside 1..2^{Q_BITS}")]
    Quantity(u64),
}

/// The market's public parameters (serde: a trustee's setup file carries them).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MarketParams {
    /// Slot length in seconds; a round is keyed by `slot_start / slot_seconds`.
    pub slot_seconds: u64,
    /// Number of price levels K.
    pub levels: usize,
    /// Price of level 0 (at or above the feed-in tariff), token base units per Wh.
    pub floor: u64,
    /// Price step between levels.
    pub tick: u64,
    /// Buyer margin ratio in basis points.
    pub margin_bps: u64,
    /// Seller collateral and shortfall penalty per Wh.
    pub penalty_rate: u64,
    /// Minimum number of bids for a round to clear.
    pub k_anonymity: usize,
}

impl Default for MarketParams {
    fn default() -> Self {
        MarketParams {
            slot_seconds: 900,
            levels: 8,
            floor: 60,
            tick: 20,
            margin_bps: 1_000,
            penalty_rate: 100,
            k_anonymity: 5,
        }
    }
}

impl MarketParams {
    /// Checks every bound of `docs/PROTOCOL.md` §1.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if !(2..=MAX_LEVELS).contains(&self.levels) {
            return Err(ParamsError::Levels(self.levels));
        }
        let top = self
            .floor
            .saturating_add(self.tick.saturating_mul(self.levels as u64 - 1));
        if top >= 1 << PRICE_BITS {
            return Err(ParamsError::Price(top));
        }
        if self.margin_bps >= BPS {
            return Err(ParamsError::Margin(self.margin_bps));
        }
        if self.penalty_rate >= 1 << PRICE_BITS {
            return Err(ParamsError::Penalty(self.penalty_rate));
        }
        Ok(())
    }

    /// Price of level `k`: `floor + k * tick`.
    pub fn price(&self, level: usize) -> u64 {
        self.floor + level as u64 * self.tick
    }

    /// Checks a bid's level and quantity.
    pub fn check_bid(&self, level: usize, q: u64) -> Result<(), ParamsError> {
        if level >= self.levels {
            return Err(ParamsError::Level {
                level,
                levels: self.levels,
            });
        }
        if q == 0 || q >= 1 << Q_BITS {
            return Err(ParamsError::Quantity(q));
        }
        Ok(())
    }

    /// The margin a bid locks (`docs/PROTOCOL.md` §1, statement B4): a buyer locks
    /// `ceil(q * p_level * (1 + margin))`, a seller `q * penalty_rate`.
    pub fn lock(&self, side: Side, level: usize, q: u64) -> Result<u64, ParamsError> {
        self.check_bid(level, q)?;
        Ok(match side {
            Side::Buy => {
                // q < 2^20, price < 2^20, BPS + margin < 2^15: the product fits in u64.
                let x = q * self.price(level) * (BPS + self.margin_bps);
                x.div_ceil(BPS)
            }
            Side::Sell => q * self.penalty_rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_parameters_are_valid() {
        assert_eq!(MarketParams::default().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        let p = MarketParams::default();
        let bad = MarketParams {
            levels: 1,
            ..p.clone()
        };
        assert_eq!(bad.validate(), Err(ParamsError::Levels(1)));
        let bad = MarketParams {
            levels: 17,
            ..p.clone()
        };
        assert_eq!(bad.validate(), Err(ParamsError::Levels(17)));
        let bad = MarketParams {
            margin_bps: BPS,
            ..p.clone()
        };
        assert_eq!(bad.validate(), Err(ParamsError::Margin(BPS)));
        let bad = MarketParams {
            floor: 1 << PRICE_BITS,
            ..p.clone()
        };
        assert!(matches!(bad.validate(), Err(ParamsError::Price(_))));
        let bad = MarketParams {
            penalty_rate: 1 << PRICE_BITS,
            ..p
        };
        assert!(matches!(bad.validate(), Err(ParamsError::Penalty(_))));
    }

    #[test]
    fn locks_follow_the_bid() {
        let p = MarketParams::default();
        // level 2: price 100; 1000 Wh * 100 * 1.1 = 110_000
        assert_eq!(p.lock(Side::Buy, 2, 1000), Ok(110_000));
        // rounding up: 1 Wh * 60 * 1.1 = 66
        assert_eq!(p.lock(Side::Buy, 0, 1), Ok(66));
        let odd = MarketParams {
            margin_bps: 1,
            ..p.clone()
        };
        // 1 * 60 * 1.0001 = 60.006 -> 61
        assert_eq!(odd.lock(Side::Buy, 0, 1), Ok(61));
        assert_eq!(p.lock(Side::Sell, 7, 1000), Ok(100_000));
        assert_eq!(
            p.lock(Side::Buy, 8, 1),
            Err(ParamsError::Level {
                level: 8,
                levels: 8
            })
        );
        assert_eq!(p.lock(Side::Sell, 0, 0), Err(ParamsError::Quantity(0)));
        assert_eq!(
            p.lock(Side::Sell, 0, 1 << Q_BITS),
            Err(ParamsError::Quantity(1 << Q_BITS))
        );
    }
}
