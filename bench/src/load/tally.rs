//! Lost and duplicated bids: what the coordinator answered against what the contract
//! holds. Pure, so that a test can show it catching both.

use std::collections::BTreeMap;

/// A bid id (the commitment `B`, big-endian).
pub type BidId = [u8; 32];

/// The comparison of the accepted answers with the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct bids the coordinator accepted.
    pub accepted: usize,
    /// Bids of the round on chain (`BidSubmitted` events).
    pub on_chain: usize,
    /// Accepted but not on chain.
    pub lost: Vec<BidId>,
    /// Accepted more than once (two accepted answers for one id).
    pub duplicate_answers: Vec<BidId>,
    /// On chain more than once.
    pub duplicate_on_chain: Vec<BidId>,
    /// On chain but never accepted (or not one of the benchmark's bids).
    pub unexpected: Vec<BidId>,
    /// On chain but `Market.bids(id)` not a live bid of the round.
    pub not_live: Vec<BidId>,
}

impl Tally {
    /// Compares the accepted answers, the round's `BidSubmitted` ids and the ids whose
    /// `Market.bids(id)` record is a live bid of the round.
    pub fn of(accepted: &[BidId], on_chain: &[BidId], live: &[BidId]) -> Tally {
        let count = |ids: &[BidId]| {
            let mut m: BTreeMap<BidId, usize> = BTreeMap::new();
            for id in ids {
                *m.entry(*id).or_default() += 1;
            }
            m
        };
        let (acc, chain) = (count(accepted), count(on_chain));
        let live: std::collections::BTreeSet<BidId> = live.iter().copied().collect();
        Tally {
            accepted: acc.len(),
            on_chain: on_chain.len(),
            lost: acc
                .keys()
                .filter(|id| !chain.contains_key(*id))
                .copied()
                .collect(),
            duplicate_answers: acc
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(id, _)| *id)
                .collect(),
            duplicate_on_chain: chain
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(id, _)| *id)
                .collect(),
            unexpected: chain
                .keys()
                .filter(|id| !acc.contains_key(*id))
                .copied()
                .collect(),
            not_live: chain
                .keys()
                .filter(|id| !live.contains(*id))
                .copied()
                .collect(),
        }
    }

    /// Nothing lost, nothing duplicated, nothing unexplained.
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty()
            && self.duplicate_answers.is_empty()
            && self.duplicate_on_chain.is_empty()
            && self.unexpected.is_empty()
            && self.not_live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u8) -> BidId {
        [i; 32]
    }

    #[test]
    fn a_clean_run_is_clean() {
        let ids = [id(1), id(2), id(3)];
        let t = Tally::of(&ids, &[id(3), id(1), id(2)], &ids);
        assert!(t.is_clean(), "{t:?}");
        assert_eq!((t.accepted, t.on_chain), (3, 3));
    }

    #[test]
    fn a_lost_bid_is_named() {
        let t = Tally::of(&[id(1), id(2)], &[id(1)], &[id(1)]);
        assert_eq!(t.lost, vec![id(2)]);
        assert!(!t.is_clean());
    }

    #[test]
    fn duplicates_are_named_on_either_side() {
        let t = Tally::of(&[id(1), id(1)], &[id(1), id(1)], &[id(1)]);
        assert_eq!(t.duplicate_answers, vec![id(1)]);
        assert_eq!(t.duplicate_on_chain, vec![id(1)]);
        assert!(!t.is_clean());
    }

    #[test]
    fn a_bid_on_chain_but_never_accepted_or_not_live_is_named() {
        let t = Tally::of(&[id(1)], &[id(1), id(9)], &[id(9)]);
        assert_eq!(t.unexpected, vec![id(9)]);
        assert_eq!(t.not_live, vec![id(1)]);
        assert!(!t.is_clean());
    }
}
