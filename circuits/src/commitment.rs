//! Salted Poseidon commitments and the protocol's account identifiers.
//!
//! - `commit(values, salt) = Poseidon(values ‖ salt)`: hiding while the salt is uniformly
//!   random and secret, binding because Poseidon is collision resistant. The salt goes
//!   last, so a commitment to `k` values is a Poseidon of `k + 1` inputs (at most 15
//!   values).
//! - `account_id(secret) = Poseidon(secret)`.
//! - `balance_commitment(balance, salt, account_id) = Poseidon(balance, salt, account_id)`:
//!   the order is the one `DESIGN.md` states; it is *not* `commit(&[balance,
//!   account_id], salt)`, whose salt would come last.
//!
//! The gadget twins in [`r1cs`] carry the same names.

use crate::poseidon::{self, PoseidonError};
use crate::Fr;

pub mod r1cs;

/// The most values one commitment can hold: Poseidon takes 16 inputs, one is the salt.
pub const MAX_VALUES: usize = poseidon::MAX_INPUTS - 1;

/// `Poseidon(values ‖ salt)`.
///
/// # Errors
///
/// [`PoseidonError::Arity`] (counting the salt) for more than [`MAX_VALUES`] values.
pub fn commit(values: &[Fr], salt: Fr) -> Result<Fr, PoseidonError> {
    if values.len() > MAX_VALUES {
        return Err(PoseidonError::Arity(values.len() + 1));
    }
    let mut inputs = [salt; poseidon::MAX_INPUTS];
    inputs[..values.len()].copy_from_slice(values);
    poseidon::hash(&inputs[..=values.len()])
}

/// An account's public identifier: `Poseidon(secret)`.
pub fn account_id(secret: Fr) -> Fr {
    poseidon::hash_fixed([secret])
}

/// A confidential balance: `Poseidon(balance, salt, account_id)`.
pub fn balance_commitment(balance: Fr, salt: Fr, account_id: Fr) -> Fr {
    poseidon::hash_fixed([balance, salt, account_id])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_poseidon_of_values_then_salt() {
        let (a, b, s) = (Fr::from(1u64), Fr::from(2u64), Fr::from(99u64));
        assert_eq!(commit(&[a, b], s), poseidon::hash(&[a, b, s]));
        assert_eq!(commit(&[], s), poseidon::hash(&[s]));
        let many = [a; MAX_VALUES];
        assert!(commit(&many, s).is_ok());
        assert_eq!(
            commit(&[a; MAX_VALUES + 1], s),
            Err(PoseidonError::Arity(MAX_VALUES + 2))
        );
    }

    #[test]
    fn account_and_balance_follow_the_design() {
        let (secret, balance, salt) = (Fr::from(7u64), Fr::from(1_000u64), Fr::from(5u64));
        let id = account_id(secret);
        assert_eq!(Ok(id), poseidon::hash(&[secret]));
        assert_eq!(
            Ok(balance_commitment(balance, salt, id)),
            poseidon::hash(&[balance, salt, id])
        );
    }

    #[test]
    fn commitments_differ_by_salt_and_value() {
        let v = [Fr::from(3u64)];
        let c = commit(&v, Fr::from(1u64)).unwrap();
        assert_ne!(c, commit(&v, Fr::from(2u64)).unwrap());
        assert_ne!(c, commit(&[Fr::from(4u64)], Fr::from(1u64)).unwrap());
    }
}
