//! Uniform-price clearing of a call market from aggregate histograms
//! (`docs/PROTOCOL.md` §5). A pure function of the histograms: the contract, the
//! committee, the settle circuit's native twin and the auditor all compute it alike.

use super::params::{Side, RATION_BITS};
use crate::Fr;

/// The rationing of one side at the clearing level: a marginal bid of quantity q fills
/// `floor(q * num / den)`. Unrationed sides have `num == den`; a side with nothing at the
/// margin has `num = 0, den = 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SideRation {
    /// Volume left for the marginal bids of this side.
    pub num: u64,
    /// Total quantity of this side's bids at the clearing level.
    pub den: u64,
}

impl SideRation {
    fn new(num: u64, den: u64) -> SideRation {
        if den == 0 {
            SideRation { num: 0, den: 1 }
        } else {
            SideRation { num, den }
        }
    }

    /// `floor(q * num / den)`.
    pub fn apply(&self, q: u64) -> u64 {
        ((q as u128 * self.num as u128) / self.den as u128) as u64
    }
}

/// Why a histogram cannot be cleared.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClearingError {
    /// Buy and sell histograms of different lengths, or empty.
    #[error("histograms have {buy} buy and {sell} sell levels; both must be K >= 1")]
    Shape {
        /// Buy levels.
        buy: usize,
        /// Sell levels.
        sell: usize,
    },
    /// A side's total does not fit the rationing fields of the packed clearing.
    #[error("a side's total quantity {0} Wh does not fit in {RATION_BITS} bits")]
    Total(u128),
}

/// The result of clearing one round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clearing {
    /// False when the round had fewer bids than the k-anonymity floor: nothing trades.
    pub cleared: bool,
    /// Clearing level k*.
    pub level: usize,
    /// Traded volume V*, Wh.
    pub volume: u64,
    /// Buy-side rationing at k*.
    pub buy: SideRation,
    /// Sell-side rationing at k*.
    pub sell: SideRation,
}

/// Clears a round: `h_buy[k]`, `h_sell[k]` are the total quantities bid at level k,
/// `bids` the number of bids included, `k_anonymity` the floor under which the round does
/// not clear.
pub fn clear(
    h_buy: &[u64],
    h_sell: &[u64],
    bids: usize,
    k_anonymity: usize,
) -> Result<Clearing, ClearingError> {
    let k = h_buy.len();
    if k == 0 || h_sell.len() != k {
        return Err(ClearingError::Shape {
            buy: h_buy.len(),
            sell: h_sell.len(),
        });
    }
    let limit = 1u128 << RATION_BITS;
    for h in [h_buy, h_sell] {
        let total: u128 = h.iter().map(|&x| x as u128).sum();
        if total >= limit {
            return Err(ClearingError::Total(total));
        }
    }
    if bids < k_anonymity {
        return Ok(Clearing::NOT_CLEARED);
    }
    // demand[j] = D(j) = sum_{i >= j} h_buy[i], with demand[k] = 0;
    // supply[j + 1] = S(j) = sum_{i <= j} h_sell[i], with supply[0] = S(-1) = 0.
    let mut demand = vec![0u64; k + 1];
    for j in (0..k).rev() {
        demand[j] = demand[j + 1] + h_buy[j];
    }
    let mut supply = vec![0u64; k + 1];
    for j in 0..k {
        supply[j + 1] = supply[j] + h_sell[j];
    }
    let volume_at = |j: usize| demand[j].min(supply[j + 1]);
    let best = (0..k).map(volume_at).max().unwrap_or(0);
    // Tie-break (PROTOCOL §5): the lowest maximiser at which neither side's bids strictly
    // in the money exceed the volume. One always exists (proof in PROTOCOL §5).
    let level = (0..k)
        .find(|&j| volume_at(j) == best && demand[j + 1] <= best && supply[j] <= best)
        .expect("PROTOCOL §5: a level satisfying the tie-break always exists");
    Ok(Clearing {
        cleared: true,
        level,
        volume: best,
        buy: SideRation::new(best - demand[level + 1], h_buy[level]),
        sell: SideRation::new(best - supply[level], h_sell[level]),
    })
}

impl Clearing {
    /// "Not cleared" (PROTOCOL §5, §8): nothing trades and every fill is zero, so every
    /// lock comes back. The clearing of a round under the k-anonymity floor, and the
    /// one a bid left out of the round's inclusion bitmap settles against, whatever the
    /// floor. Its [`Clearing::pack`] is `MarketClearing.packedNotCleared()`
    /// (`1 << 49 | 1 << 129`), tested against the contract.
    ///
    /// Not `clear` of empty histograms: with a floor of 0 those clear (at level 0,
    /// volume 0), and their packing has the `cleared` bit the contract's lacks.
    pub const NOT_CLEARED: Clearing = Clearing {
        cleared: false,
        level: 0,
        volume: 0,
        buy: SideRation { num: 0, den: 1 },
        sell: SideRation { num: 0, den: 1 },
    };

    /// The fill of a bid (`docs/PROTOCOL.md` statement S3).
    pub fn fill(&self, side: Side, level: usize, q: u64) -> u64 {
        if !self.cleared {
            return 0;
        }
        use std::cmp::Ordering::*;
        match (side, level.cmp(&self.level)) {
            (Side::Buy, Greater) | (Side::Sell, Less) => q,
            (Side::Buy, Equal) => self.buy.apply(q),
            (Side::Sell, Equal) => self.sell.apply(q),
            (Side::Buy, Less) | (Side::Sell, Greater) => 0,
        }
    }

    /// The clearing as the settle circuit's single public input:
    /// `cleared | k* << 1 | num_b << 9 | den_b << 49 | num_s << 89 | den_s << 129`.
    pub fn pack(&self) -> Fr {
        let mut v = num_bigint::BigUint::from(self.cleared as u8);
        let mut shift = 1;
        for (x, bits) in [
            (self.level as u64, 8),
            (self.buy.num, RATION_BITS),
            (self.buy.den, RATION_BITS),
            (self.sell.num, RATION_BITS),
            (self.sell.den, RATION_BITS),
        ] {
            v |= num_bigint::BigUint::from(x) << shift;
            shift += bits;
        }
        Fr::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fills(c: &Clearing, h_buy: &[u64], h_sell: &[u64]) -> (u64, u64) {
        // one bid per level holding the level's whole quantity
        let buy = (0..h_buy.len())
            .map(|j| c.fill(Side::Buy, j, h_buy[j]))
            .sum();
        let sell = (0..h_sell.len())
            .map(|j| c.fill(Side::Sell, j, h_sell[j]))
            .sum();
        (buy, sell)
    }

    #[test]
    fn simple_crossing() {
        // buyers: 10 at level 5, sellers: 6 at level 2 -> volume 6, buyers rationed
        let c = clear(&[0, 0, 0, 0, 0, 10, 0, 0], &[0, 0, 6, 0, 0, 0, 0, 0], 5, 5).unwrap();
        assert!(c.cleared);
        assert_eq!(c.volume, 6);
        // levels 2..=5 all trade 6; below 5 the buyers strictly in the money (10) would
        // exceed the volume, so k* = 5 and the buyers at the margin are rationed.
        assert_eq!(c.level, 5);
        assert_eq!(c.buy, SideRation { num: 6, den: 10 });
        assert_eq!(c.fill(Side::Buy, 5, 10), 6);
        assert_eq!(
            c.fill(Side::Sell, 2, 6),
            6,
            "seller strictly in the money fills fully"
        );
    }

    #[test]
    fn tie_with_careless_lowest_maximiser() {
        // Maximum volume 5 at levels 1..=3; sellers: 5 at level 1; buyers: 8 at level 3.
        // At level 1 the buyers strictly in the money (8 at level 3) exceed the volume,
        // so the lowest maximiser alone is wrong.
        let h_buy = [0, 0, 0, 8];
        let h_sell = [0, 5, 0, 0];
        let c = clear(&h_buy, &h_sell, 5, 1).unwrap();
        assert_eq!(c.volume, 5);
        assert_eq!(c.level, 3);
        assert_eq!(c.buy, SideRation { num: 5, den: 8 });
        assert_eq!(c.sell, SideRation { num: 0, den: 1 });
        let (buy, sell) = fills(&c, &h_buy, &h_sell);
        assert_eq!(buy, 5);
        assert_eq!(sell, 5);
    }

    #[test]
    fn no_crossing_trades_nothing() {
        // buyers at most level 2, sellers at least level 5
        let h_buy = [4, 0, 7, 0, 0, 0, 0, 0];
        let h_sell = [0, 0, 0, 0, 0, 3, 0, 9];
        let c = clear(&h_buy, &h_sell, 9, 5).unwrap();
        assert_eq!(c.volume, 0);
        assert_eq!(fills(&c, &h_buy, &h_sell), (0, 0));
    }

    #[test]
    fn one_side_empty_trades_nothing() {
        let h_buy = [0, 0, 0, 5, 0, 2, 0, 0];
        let c = clear(&h_buy, &[0; 8], 6, 5).unwrap();
        assert_eq!(c.volume, 0);
        assert_eq!(fills(&c, &h_buy, &[0; 8]), (0, 0));
        let c = clear(&[0; 8], &h_buy, 6, 5).unwrap();
        assert_eq!(c.volume, 0);
        assert_eq!(fills(&c, &[0; 8], &h_buy), (0, 0));
        let c = clear(&[0; 8], &[0; 8], 6, 5).unwrap();
        assert_eq!((c.volume, c.level), (0, 0));
    }

    #[test]
    fn rounding_dust_goes_to_the_grid() {
        // buyers: three bids of 1 at level 4 (aggregated 3); sellers: 2 at level 0
        let c = clear(&[0, 0, 0, 0, 3], &[2, 0, 0, 0, 0], 5, 5).unwrap();
        assert_eq!(c.volume, 2);
        assert_eq!(c.level, 4);
        assert_eq!(c.buy, SideRation { num: 2, den: 3 });
        let buy: u64 = (0..3).map(|_| c.fill(Side::Buy, 4, 1)).sum();
        assert_eq!(buy, 0, "each 1 Wh bid gets floor(2/3) = 0");
        assert_eq!(c.volume - buy, 2, "buy dust");
        assert_eq!(
            c.fill(Side::Sell, 0, 2),
            2,
            "the seller strictly in the money fills fully"
        );
    }

    #[test]
    fn under_the_anonymity_floor_nothing_clears() {
        let c = clear(&[0, 5], &[5, 0], 4, 5).unwrap();
        assert!(!c.cleared);
        assert_eq!(c.fill(Side::Buy, 1, 5), 0);
        assert_eq!(c.fill(Side::Sell, 0, 5), 0);
    }

    #[test]
    fn not_cleared_fills_nothing_and_packs_as_the_contract() {
        let c = Clearing::NOT_CLEARED;
        for level in 0..4 {
            assert_eq!(c.fill(Side::Buy, level, 9), 0);
            assert_eq!(c.fill(Side::Sell, level, 9), 0);
        }
        let expect = num_bigint::BigUint::from(1u8) << 49 | num_bigint::BigUint::from(1u8) << 129;
        assert_eq!(c.pack(), Fr::from(expect));
        // under the floor, `clear` gives it; empty histograms with no floor do not
        assert_eq!(clear(&[0; 3], &[0; 3], 0, 1), Ok(Clearing::NOT_CLEARED));
        let empty = clear(&[0; 3], &[0; 3], 0, 0).unwrap();
        assert!(empty.cleared);
        assert_ne!(empty.pack(), c.pack());
    }

    #[test]
    fn malformed_histograms_are_refused() {
        assert_eq!(
            clear(&[1, 2], &[1], 5, 5),
            Err(ClearingError::Shape { buy: 2, sell: 1 })
        );
        assert_eq!(
            clear(&[], &[], 5, 5),
            Err(ClearingError::Shape { buy: 0, sell: 0 })
        );
        assert!(matches!(
            clear(&[1 << 40, 0], &[0, 0], 5, 5),
            Err(ClearingError::Total(_))
        ));
    }

    #[test]
    fn packing_places_each_field() {
        let c = Clearing {
            cleared: true,
            level: 3,
            volume: 9,
            buy: SideRation { num: 5, den: 7 },
            sell: SideRation { num: 2, den: 2 },
        };
        let expect = num_bigint::BigUint::from(1u8)
            | num_bigint::BigUint::from(3u8) << 1
            | num_bigint::BigUint::from(5u8) << 9
            | num_bigint::BigUint::from(7u8) << 49
            | num_bigint::BigUint::from(2u8) << 89
            | num_bigint::BigUint::from(2u8) << 129;
        assert_eq!(c.pack(), Fr::from(expect));
    }

    /// Individual bids: (side, level, q).
    fn bids_strategy() -> impl Strategy<Value = (usize, Vec<(Side, usize, u64)>)> {
        (2usize..=8).prop_flat_map(|k| {
            let bid = (any::<bool>(), 0..k, 1u64..1000)
                .prop_map(|(s, l, q)| (if s { Side::Sell } else { Side::Buy }, l, q));
            (Just(k), prop::collection::vec(bid, 0..30))
        })
    }

    proptest! {
        #[test]
        fn clearing_invariants((k, bids) in bids_strategy()) {
            let mut h_buy = vec![0u64; k];
            let mut h_sell = vec![0u64; k];
            for &(side, level, q) in &bids {
                match side {
                    Side::Buy => h_buy[level] += q,
                    Side::Sell => h_sell[level] += q,
                }
            }
            let c = clear(&h_buy, &h_sell, bids.len(), 0).unwrap();
            // a pure function of the histograms
            prop_assert_eq!(c, clear(&h_buy, &h_sell, bids.len(), 0).unwrap());
            // the volume is the maximum tradable
            let best = (0..k).map(|j| {
                let d: u64 = h_buy[j..].iter().sum();
                let s: u64 = h_sell[..=j].iter().sum();
                d.min(s)
            }).max().unwrap();
            prop_assert_eq!(c.volume, best);
            let (mut buy, mut sell) = (0u64, 0u64);
            for &(side, level, q) in &bids {
                let f = c.fill(side, level, q);
                // no fill exceeds its bid
                prop_assert!(f <= q);
                // nobody trades against their limit
                if f > 0 {
                    match side {
                        Side::Buy => prop_assert!(level >= c.level),
                        Side::Sell => prop_assert!(level <= c.level),
                    }
                }
                // no bid strictly in the money is rationed
                let in_money = match side {
                    Side::Buy => level > c.level,
                    Side::Sell => level < c.level,
                };
                if in_money { prop_assert_eq!(f, q); }
                match side { Side::Buy => buy += f, Side::Sell => sell += f }
            }
            // no side trades beyond the volume; dust is below one unit per marginal bid
            prop_assert!(buy <= c.volume);
            prop_assert!(sell <= c.volume);
            let marginal = |s: Side| bids.iter().filter(|b| b.0 == s && b.1 == c.level).count() as u64;
            prop_assert!(c.volume - buy <= marginal(Side::Buy));
            prop_assert!(c.volume - sell <= marginal(Side::Sell));
        }
    }
}
