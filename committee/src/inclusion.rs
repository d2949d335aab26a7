//! The inclusion bitmap of a round's bids (PROTOCOL §8): which of the round's posted
//! bids the committee summed. The clearing statement signs it, the market contract
//! records it (`Inclusion.record`) and reads it (`Inclusion.contains`) when a bid
//! settles; [`InclusionBitmap`] is the one Rust form of it, tested against the
//! contract's library on the embedded EVM (`verifier-contract/tests/it/inclusion.rs`).

use serde::{Deserialize, Serialize};

/// Bids per word.
const WORD_BITS: usize = 256;

/// Bit `i % 256` of word `i / 256` is set when bid `i` (the contract's bid index, the
/// order of acceptance) is included; words are big-endian `uint256`s, one per 256
/// posted bids, as the contract's `uint256[] included` takes them. Derefs to the words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InclusionBitmap(#[serde(with = "crate::wire::bytes32_vec")] Vec<[u8; 32]>);

impl InclusionBitmap {
    /// The bitmap over `posted` bids with `indices` set.
    ///
    /// # Panics
    ///
    /// If an index is not below `posted` (a caller's bug: indices are positions in
    /// the posted list).
    pub fn from_indices(posted: usize, indices: impl IntoIterator<Item = u32>) -> Self {
        let mut words = vec![[0u8; 32]; posted.div_ceil(WORD_BITS)];
        for i in indices {
            let i = i as usize;
            assert!(i < posted, "bid index {i} of {posted} posted bids");
            let bit = i % WORD_BITS;
            words[i / WORD_BITS][31 - bit / 8] |= 1 << (bit % 8);
        }
        InclusionBitmap(words)
    }

    /// The bitmap of these words, as the contract holds them.
    pub fn from_words(words: Vec<[u8; 32]>) -> Self {
        InclusionBitmap(words)
    }

    /// The words.
    pub fn words(&self) -> &[[u8; 32]] {
        &self.0
    }

    /// The words, owned.
    pub fn into_words(self) -> Vec<[u8; 32]> {
        self.0
    }

    /// Whether bid `index` is included. An index past the words is not, as the
    /// contract's storage reads zero there.
    pub fn contains(&self, index: u32) -> bool {
        let i = index as usize;
        let bit = i % WORD_BITS;
        self.0
            .get(i / WORD_BITS)
            .is_some_and(|w| w[31 - bit / 8] >> (bit % 8) & 1 == 1)
    }

    /// The number of included bids.
    pub fn count(&self) -> usize {
        self.0
            .iter()
            .flatten()
            .map(|b| b.count_ones() as usize)
            .sum()
    }

    /// Whether the contract records this bitmap for a round of `posted` bids (else it
    /// reverts `BadInclusion`): one word per 256 bids, no bit at or above `posted`.
    pub fn fits(&self, posted: usize) -> bool {
        self.0.len() == posted.div_ceil(WORD_BITS)
            && (0..self.0.len() * WORD_BITS)
                .skip(posted)
                .all(|i| !self.contains(i as u32))
    }
}

impl std::ops::Deref for InclusionBitmap {
    type Target = [[u8; 32]];

    fn deref(&self) -> &[[u8; 32]] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_sit_where_the_contract_reads_them() {
        let b = InclusionBitmap::from_indices(300, [0, 1, 9, 255, 256, 299]);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0][31], 0b11);
        assert_eq!(b[0][30], 0b10);
        assert_eq!(b[0][0], 0x80);
        assert_eq!(b[1][31], 1);
        assert_eq!(b[1][26], 0x08, "bit 43 of word 1: byte 31 - 5, bit 3");
        for i in 0..400 {
            assert_eq!(b.contains(i), [0, 1, 9, 255, 256, 299].contains(&i), "{i}");
        }
        assert_eq!(b.count(), 6);
        assert!(b.fits(300));
        assert!(!b.fits(299) && !b.fits(513));
        assert_eq!(InclusionBitmap::from_indices(0, []).len(), 0);
        assert!(InclusionBitmap::default().fits(0));
    }

    #[test]
    fn a_stray_high_bit_does_not_fit() {
        let mut w = InclusionBitmap::from_indices(10, [3]).into_words();
        w[0][30] |= 0x04; // bit 10
        let b = InclusionBitmap::from_words(w);
        assert!(!b.fits(10));
        assert!(b.fits(11));
        assert!(b.contains(10));
    }

    #[test]
    fn serde_keeps_the_hex_words() {
        let b = InclusionBitmap::from_indices(3, [0, 2]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, format!("[\"0x{}05\"]", "00".repeat(31)));
        assert_eq!(serde_json::from_str::<InclusionBitmap>(&json).unwrap(), b);
    }
}
