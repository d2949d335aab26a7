//! The balance statement of `docs/PROTOCOL.md` §4.1: deposit, withdraw, and merge a
//! payout into the free balance, in one proof.
//!
//! - [`BalanceProofPublic`] / [`BalanceProofPrivate`]: the statement's public inputs and
//!   witness; [`BalanceProofPublic::to_field_elements`] is the one place that orders the
//!   public inputs (offsets [`BalanceProofPublic::ACCT`] …).
//! - [`check`]: the relation restated natively, one [`BalanceError`] variant per
//!   statement A1..A5 (A6 has no failing case: any recipient is allowed, the proof binds
//!   it). Tests check that the circuit is satisfied exactly when `check` passes.
//! - [`BalanceCircuit`] (in [`circuit`]): the Groth16 circuit.
//! - [`BalanceProofPrivate::transition`]: a valid (public, private) pair from the owner's
//!   current opening, for tests and for the prover.
//!
//! # `delta` as a field element
//!
//! `delta` is a signed integer ([`i128`]); in the circuit it is the field element
//! `delta mod p`, so a negative `delta` is `p - |delta|` ([`delta_to_field`]). A4 makes
//! every accepted `delta` lie in `(-2^65, 2^64)` (`balance_new - balance_old -
//! payout_amount` with all three in `[0, 2^64)`), far from `p/2`, so the signed reading
//! is unambiguous: the contract reads an input `d < 2^128` as `+d` and `d > p - 2^128`
//! as `-(p - d)`, and may refuse anything else ([`delta_from_field`]).

use crate::commitment::{account_id, balance_commitment};
use crate::market::params::BAL_BITS;
use crate::public_inputs::{self, PublicInputsError};
use crate::range::fits_in_bits;
use crate::Fr;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, UniformRand, Zero};
use ark_std::rand::Rng;

pub mod circuit;
#[cfg(test)]
mod tests;

pub use circuit::BalanceCircuit;

/// Public inputs of a balance proof (PROTOCOL §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceProofPublic {
    /// The account id `H(sk_acct)`, registered on chain.
    pub acct: Fr,
    /// The account's current free-balance commitment `H(balance_old, salt_old, acct)`.
    pub f_old: Fr,
    /// The new free-balance commitment `H(balance_new, salt_new, acct)`.
    pub f_new: Fr,
    /// Tokens moved in (`> 0`, deposit) or out to `recipient` (`< 0`, withdrawal); in
    /// the circuit `delta mod p` (see the module documentation).
    pub delta: i128,
    /// The payout commitment merged by this proof, or 0 for none.
    pub p_in: Fr,
    /// The withdrawal address as a field element (an EVM address, `< 2^160`); by
    /// convention 0 when nothing is withdrawn. Bound by the proof, not checked by it.
    pub recipient: Fr,
}

impl BalanceProofPublic {
    /// Offset of `acct` in [`Self::to_field_elements`].
    pub const ACCT: usize = 0;
    /// Offset of `f_old`.
    pub const F_OLD: usize = 1;
    /// Offset of `f_new`.
    pub const F_NEW: usize = 2;
    /// Offset of `delta`.
    pub const DELTA: usize = 3;
    /// Offset of `p_in`.
    pub const P_IN: usize = 4;
    /// Offset of `recipient`.
    pub const RECIPIENT: usize = 5;
    /// Number of public inputs.
    pub const NUM_INPUTS: usize = 6;

    /// The public inputs in the order of PROTOCOL §4.1, which the prover, the verifier
    /// contract and snarkjs's `public.json` share.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        self.to_field_array().to_vec()
    }

    /// [`Self::to_field_elements`] as an array. Destructures `self`, so a new field
    /// cannot be left out silently.
    pub(crate) fn to_field_array(self) -> [Fr; Self::NUM_INPUTS] {
        let Self {
            acct,
            f_old,
            f_new,
            delta,
            p_in,
            recipient,
        } = self;
        let mut out = [Fr::ZERO; Self::NUM_INPUTS];
        out[Self::ACCT] = acct;
        out[Self::F_OLD] = f_old;
        out[Self::F_NEW] = f_new;
        out[Self::DELTA] = delta_to_field(delta);
        out[Self::P_IN] = p_in;
        out[Self::RECIPIENT] = recipient;
        out
    }

    /// The inverse of [`Self::to_field_elements`], by the same offsets.
    ///
    /// # Errors
    ///
    /// Not [`Self::NUM_INPUTS`] inputs, or a `delta` outside the signed reading
    /// ([`delta_from_field`]).
    pub fn from_field_elements(x: &[Fr]) -> Result<Self, PublicInputsError> {
        let x: [Fr; Self::NUM_INPUTS] = public_inputs::exactly(x)?;
        Ok(Self {
            acct: x[Self::ACCT],
            f_old: x[Self::F_OLD],
            f_new: x[Self::F_NEW],
            delta: delta_from_field(x[Self::DELTA])
                .ok_or(PublicInputsError::Delta { index: Self::DELTA })?,
            p_in: x[Self::P_IN],
            recipient: x[Self::RECIPIENT],
        })
    }
}

/// Witness of a balance proof (PROTOCOL §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceProofPrivate {
    /// The account secret.
    pub sk_acct: Fr,
    /// The balance `f_old` commits to.
    pub balance_old: u64,
    /// The salt of `f_old`.
    pub salt_old: Fr,
    /// The fresh salt of `f_new`.
    pub salt_new: Fr,
    /// The amount `p_in` commits to; 0 when `p_in = 0`.
    pub payout_amount: u64,
    /// The salt of `p_in`; unconstrained (any value) when `p_in = 0`.
    pub payout_salt: Fr,
}

/// The witness as field elements, the form the circuit and [`check_fields`] take; tests
/// use it to force values the typed [`BalanceProofPrivate`] cannot hold (`>= 2^64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Witness {
    pub(crate) sk_acct: Fr,
    pub(crate) balance_old: Fr,
    pub(crate) salt_old: Fr,
    pub(crate) salt_new: Fr,
    pub(crate) payout_amount: Fr,
    pub(crate) payout_salt: Fr,
}

impl From<&BalanceProofPrivate> for Witness {
    fn from(p: &BalanceProofPrivate) -> Self {
        Self {
            sk_acct: p.sk_acct,
            balance_old: Fr::from(p.balance_old),
            salt_old: p.salt_old,
            salt_new: p.salt_new,
            payout_amount: Fr::from(p.payout_amount),
            payout_salt: p.payout_salt,
        }
    }
}

/// The owner's opening of a free balance `F = H(balance, salt, acct)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceOpening {
    /// The account secret.
    pub sk_acct: Fr,
    /// The balance.
    pub balance: u64,
    /// The commitment's salt.
    pub salt: Fr,
}

impl BalanceOpening {
    /// `acct = H(sk_acct)`.
    pub fn acct(&self) -> Fr {
        account_id(self.sk_acct)
    }

    /// `F = H(balance, salt, acct)`.
    pub fn commitment(&self) -> Fr {
        balance_commitment(Fr::from(self.balance), self.salt, self.acct())
    }
}

/// The opening of an unspent payout `P = H(amount, salt, acct)` (PROTOCOL §2, S6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayoutOpening {
    /// The amount paid out.
    pub amount: u64,
    /// The commitment's salt.
    pub salt: Fr,
}

impl PayoutOpening {
    /// `P = H(amount, salt, acct)`.
    pub fn commitment(&self, acct: Fr) -> Fr {
        payout_commitment(Fr::from(self.amount), self.salt, acct)
    }
}

/// `P = H(amount, salt, acct)`: the same shape as a free balance (PROTOCOL §2).
fn payout_commitment(amount: Fr, salt: Fr, acct: Fr) -> Fr {
    balance_commitment(amount, salt, acct)
}

/// Which part of A3 fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutFault {
    /// `p_in != 0` but it does not open to `(payout_amount, payout_salt, acct)`.
    Opening,
    /// `p_in = 0` but `payout_amount != 0`.
    AmountWithoutCommitment,
}

/// Which value of A4 is out of `[0, 2^64)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFault {
    /// `balance_old`.
    BalanceOld,
    /// `payout_amount`.
    PayoutAmount,
    /// `balance_new = balance_old + payout_amount + delta`: negative (e.g. withdrawing
    /// more than the balance) or `>= 2^64`.
    BalanceNew,
}

/// The first statement of PROTOCOL §4.1 a (public, private) pair violates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// A1.
    #[error("A1: acct is not H(sk_acct)")]
    Account,
    /// A2.
    #[error("A2: F_old does not open to (balance_old, salt_old, acct)")]
    OldBalance,
    /// A3.
    #[error("A3: payout: {0:?}")]
    Payout(PayoutFault),
    /// A4.
    #[error("A4: {0:?} is not in [0, 2^64)")]
    Range(RangeFault),
    /// A5.
    #[error("A5: F_new does not open to (balance_new, salt_new, acct)")]
    NewBalance,
}

/// `delta` as the circuit's field element: `delta mod p` (negative as `p - |delta|`).
pub fn delta_to_field(delta: i128) -> Fr {
    Fr::from(delta)
}

/// The signed reading of a `delta` input: `d < 2^128` is `+d`, `d > p - 2^128` is
/// `-(p - d)`; `None` in between (no valid proof has such a `delta`) and for
/// magnitudes an `i128` cannot hold.
pub fn delta_from_field(d: Fr) -> Option<i128> {
    let small = |x: Fr| -> Option<u128> {
        let big = x.into_bigint();
        (big.num_bits() <= 128).then(|| u128::from(big.0[0]) | (u128::from(big.0[1]) << 64))
    };
    if let Some(v) = small(d) {
        i128::try_from(v).ok()
    } else {
        let m = small(-d)?;
        0i128.checked_sub_unsigned(m)
    }
}

/// The relation of PROTOCOL §4.1, restated natively: `Ok` exactly when the circuit is
/// satisfied by this pair.
///
/// # Errors
///
/// The first statement (in order A1..A5) that fails.
pub fn check(
    public: &BalanceProofPublic,
    private: &BalanceProofPrivate,
) -> Result<(), BalanceError> {
    check_fields(&public.to_field_array(), &Witness::from(private))
}

/// [`check`] on field elements, as the circuit sees them.
pub(crate) fn check_fields(
    public: &[Fr; BalanceProofPublic::NUM_INPUTS],
    w: &Witness,
) -> Result<(), BalanceError> {
    type P = BalanceProofPublic;
    let acct = public[P::ACCT];
    // A1: acct = H(sk_acct).
    if account_id(w.sk_acct) != acct {
        return Err(BalanceError::Account);
    }
    // A2: F_old = H(balance_old, salt_old, acct).
    if balance_commitment(w.balance_old, w.salt_old, acct) != public[P::F_OLD] {
        return Err(BalanceError::OldBalance);
    }
    // A3: P_in != 0 => P_in = H(payout_amount, payout_salt, acct); P_in = 0 => no payout.
    let p_in = public[P::P_IN];
    if p_in.is_zero() {
        if !w.payout_amount.is_zero() {
            return Err(BalanceError::Payout(PayoutFault::AmountWithoutCommitment));
        }
    } else if payout_commitment(w.payout_amount, w.payout_salt, acct) != p_in {
        return Err(BalanceError::Payout(PayoutFault::Opening));
    }
    // A4: balance_new = balance_old + payout_amount + delta in the field; all three in
    // [0, 2^64).
    for (v, fault) in [
        (w.balance_old, RangeFault::BalanceOld),
        (w.payout_amount, RangeFault::PayoutAmount),
    ] {
        if !fits_in_bits(v, BAL_BITS) {
            return Err(BalanceError::Range(fault));
        }
    }
    let balance_new = w.balance_old + w.payout_amount + public[P::DELTA];
    if !fits_in_bits(balance_new, BAL_BITS) {
        return Err(BalanceError::Range(RangeFault::BalanceNew));
    }
    // A5: F_new = H(balance_new, salt_new, acct).
    if balance_commitment(balance_new, w.salt_new, acct) != public[P::F_NEW] {
        return Err(BalanceError::NewBalance);
    }
    // A6: any recipient is allowed; the proof binds it (see `circuit`).
    Ok(())
}

impl BalanceProofPrivate {
    /// A valid balance proof's (public, private) pair from the owner's current opening
    /// `prior`: merge `payout` if given (`p_in = 0` otherwise), move `delta` tokens
    /// (deposit `> 0`, withdrawal `< 0`, 0 for a pure merge), bind `recipient` (0 by
    /// convention unless withdrawing). The new salt is drawn from `rng`. Also returns the
    /// opening of `f_new`, the owner's next state.
    ///
    /// # Errors
    ///
    /// [`BalanceError::Range`] with [`RangeFault::BalanceNew`] if the new balance would be
    /// negative or `>= 2^64`.
    pub fn transition<R: Rng + ?Sized>(
        prior: &BalanceOpening,
        payout: Option<&PayoutOpening>,
        delta: i128,
        recipient: Fr,
        rng: &mut R,
    ) -> Result<(BalanceProofPublic, Self, BalanceOpening), BalanceError> {
        let acct = prior.acct();
        let (payout_amount, payout_salt, p_in) = match payout {
            Some(p) => (p.amount, p.salt, p.commitment(acct)),
            None => (0, Fr::ZERO, Fr::ZERO),
        };
        let balance = i128::from(prior.balance)
            .checked_add(i128::from(payout_amount))
            .and_then(|b| b.checked_add(delta))
            .and_then(|b| u64::try_from(b).ok())
            .ok_or(BalanceError::Range(RangeFault::BalanceNew))?;
        let next = BalanceOpening {
            sk_acct: prior.sk_acct,
            balance,
            salt: Fr::rand(rng),
        };
        let public = BalanceProofPublic {
            acct,
            f_old: prior.commitment(),
            f_new: next.commitment(),
            delta,
            p_in,
            recipient,
        };
        let private = Self {
            sk_acct: prior.sk_acct,
            balance_old: prior.balance,
            salt_old: prior.salt,
            salt_new: next.salt,
            payout_amount,
            payout_salt,
        };
        debug_assert_eq!(check(&public, &private), Ok(()));
        Ok((public, private, next))
    }
}
