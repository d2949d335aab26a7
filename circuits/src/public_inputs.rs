//! What can go wrong reading a statement's public inputs back from field elements: the
//! inverse of each `XProofPublic::to_field_elements` (`from_field_elements`) refuses
//! these, so every reader (the coordinator, the auditor) gets a typed statement or a
//! reason, never a hand-ordered list.

use crate::Fr;
use ark_ff::{BigInteger, PrimeField};

/// Why field elements are not a statement's public inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicInputsError {
    /// Not the statement's number of inputs.
    #[error("{got} public inputs, the statement has {expected}")]
    Count {
        /// The statement's number of inputs.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// The round does not fit a `u64` (the contract refuses such a round too).
    #[error("public input {index} (the round) does not fit in 64 bits")]
    Round {
        /// Offset of the round.
        index: usize,
    },
    /// `delta` is neither `< 2^128` nor `> p - 2^128` (PROTOCOL §4.1; the contract
    /// refuses it with `BadDelta`).
    #[error("public input {index} (delta) is not a signed amount below 2^128 in magnitude")]
    Delta {
        /// Offset of `delta`.
        index: usize,
    },
}

/// The `N` inputs as an array, or [`PublicInputsError::Count`].
pub(crate) fn exactly<const N: usize>(x: &[Fr]) -> Result<[Fr; N], PublicInputsError> {
    x.try_into().map_err(|_| PublicInputsError::Count {
        expected: N,
        got: x.len(),
    })
}

/// The round at offset `index`, if it fits a `u64`.
pub(crate) fn round(x: Fr, index: usize) -> Result<u64, PublicInputsError> {
    let big = x.into_bigint();
    if big.num_bits() > 64 {
        return Err(PublicInputsError::Round { index });
    }
    Ok(big.0[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::BalanceProofPublic;
    use crate::bid::BidProofPublic;
    use crate::settle::SettleProofPublic;
    use ark_ff::UniformRand;
    use ark_std::rand::SeedableRng;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;

    fn frs(seed: u64) -> [Fr; 7] {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        std::array::from_fn(|_| Fr::rand(&mut rng))
    }

    proptest! {
        #[test]
        fn every_statement_reads_back_what_it_wrote(
            seed in any::<u64>(),
            round in any::<u64>(),
            delta in -(1i128 << 66)..(1i128 << 66),
        ) {
            let f = frs(seed);
            let bid = BidProofPublic {
                round, acct: f[0], f_old: f[1], f_new: f[2], bid: f[3], digest: f[4],
            };
            prop_assert_eq!(BidProofPublic::from_field_elements(&bid.to_field_elements()), Ok(bid));
            let settle = SettleProofPublic {
                round, acct: f[0], bid: f[1], p_out: f[2], clearing: f[3], meter_id: f[4],
                digest: f[5],
            };
            prop_assert_eq!(
                SettleProofPublic::from_field_elements(&settle.to_field_elements()),
                Ok(settle)
            );
            let balance = BalanceProofPublic {
                acct: f[0], f_old: f[1], f_new: f[2], delta, p_in: f[3], recipient: f[4],
            };
            prop_assert_eq!(
                BalanceProofPublic::from_field_elements(&balance.to_field_elements()),
                Ok(balance)
            );
        }
    }

    #[test]
    fn the_inverse_reads_by_the_named_offsets() {
        let x: Vec<Fr> = (1..=7u64).map(Fr::from).collect();
        let s = SettleProofPublic::from_field_elements(&x).expect("reads");
        assert_eq!(s.round, 1 + SettleProofPublic::ROUND as u64);
        assert_eq!(s.clearing, Fr::from(1 + SettleProofPublic::CLEARING as u64));
        assert_eq!(s.digest, Fr::from(1 + SettleProofPublic::DIGEST as u64));
        let b = BidProofPublic::from_field_elements(&x[..6]).expect("reads");
        assert_eq!(b.f_new, Fr::from(1 + BidProofPublic::F_NEW as u64));
        let mut y = x[..6].to_vec();
        y[BalanceProofPublic::DELTA] = -Fr::from(5u64);
        let a = BalanceProofPublic::from_field_elements(&y).expect("reads");
        assert_eq!(a.delta, -5);
        assert_eq!(
            a.recipient,
            Fr::from(1 + BalanceProofPublic::RECIPIENT as u64)
        );
    }

    #[test]
    fn malformed_inputs_are_refused_with_their_reason() {
        let x: Vec<Fr> = (1..=7u64).map(Fr::from).collect();
        assert_eq!(
            BidProofPublic::from_field_elements(&x),
            Err(PublicInputsError::Count {
                expected: 6,
                got: 7
            })
        );
        assert_eq!(
            SettleProofPublic::from_field_elements(&x[..6]),
            Err(PublicInputsError::Count {
                expected: 7,
                got: 6
            })
        );
        let mut big_round = x.clone();
        big_round[SettleProofPublic::ROUND] = Fr::from(u64::MAX) + Fr::from(1u64);
        assert_eq!(
            SettleProofPublic::from_field_elements(&big_round),
            Err(PublicInputsError::Round { index: 0 })
        );
        let mut max_round = x[..6].to_vec();
        max_round[BidProofPublic::ROUND] = Fr::from(u64::MAX);
        assert_eq!(
            BidProofPublic::from_field_elements(&max_round).map(|b| b.round),
            Ok(u64::MAX)
        );
        // p/2 is far from both signed ranges
        let mut mid = x[..6].to_vec();
        mid[BalanceProofPublic::DELTA] = Fr::from(Fr::MODULUS_MINUS_ONE_DIV_TWO);
        assert_eq!(
            BalanceProofPublic::from_field_elements(&mid),
            Err(PublicInputsError::Delta { index: 3 })
        );
    }
}
