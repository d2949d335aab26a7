//! The balance circuit (PROTOCOL §4.1): one commented block per statement, each ending
//! in the constraint that binds it.
//!
//! Cost: 1,196 constraints (pinned by `balance_constraint_count`): three Poseidon-3
//! (A2, A3, A5) and one Poseidon-1 (A1), three 64-bit range checks (A4), an `is_zero`
//! and two conditional equalities (A3), three equalities and one square (A6).

use super::{BalanceProofPrivate, BalanceProofPublic, Witness};
use crate::commitment::r1cs::{account_id, balance_commitment};
use crate::market::params::BAL_BITS;
use crate::range::r1cs::enforce_range;
use crate::Fr;
use ark_ff::{AdditiveGroup, Field};
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

/// The balance statement as a Groth16 circuit over BN254.
///
/// Not `Option`-wrapped: for setup, use [`BalanceCircuit::blank`]. arkworks' Groth16
/// setup runs `generate_constraints` in setup mode, where no witness closure is called
/// and no value is read, so any witness gives the same shape; the blank one (all zeros)
/// does not satisfy the relation and need not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceCircuit {
    /// The public inputs.
    pub public: BalanceProofPublic,
    /// The witness.
    pub private: BalanceProofPrivate,
}

impl BalanceCircuit {
    /// The circuit for one (public, private) pair.
    pub fn new(public: BalanceProofPublic, private: BalanceProofPrivate) -> Self {
        Self { public, private }
    }

    /// An all-zero instance with the circuit's shape, for key generation.
    pub fn blank() -> Self {
        Self {
            public: BalanceProofPublic {
                acct: Fr::ZERO,
                f_old: Fr::ZERO,
                f_new: Fr::ZERO,
                delta: 0,
                p_in: Fr::ZERO,
                recipient: Fr::ZERO,
            },
            private: BalanceProofPrivate {
                sk_acct: Fr::ZERO,
                balance_old: 0,
                salt_old: Fr::ZERO,
                salt_new: Fr::ZERO,
                payout_amount: 0,
                payout_salt: Fr::ZERO,
            },
        }
    }
}

impl ConstraintSynthesizer<Fr> for BalanceCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        synthesize(
            cs,
            &self.public.to_field_array(),
            &Witness::from(&self.private),
        )
    }
}

/// The circuit on field elements; tests call it with witnesses the typed structs cannot
/// hold.
pub(crate) fn synthesize(
    cs: ConstraintSystemRef<Fr>,
    public: &[Fr; BalanceProofPublic::NUM_INPUTS],
    w: &Witness,
) -> Result<(), SynthesisError> {
    // Public inputs, allocated first and in `to_field_elements` order: instance
    // variable `1 + i` is public input `i`.
    let mut inputs = Vec::with_capacity(public.len());
    for x in public {
        inputs.push(FpVar::new_input(cs.clone(), || Ok(*x))?);
    }
    type P = BalanceProofPublic;
    let acct = &inputs[P::ACCT];
    let f_old = &inputs[P::F_OLD];
    let f_new = &inputs[P::F_NEW];
    let delta = &inputs[P::DELTA];
    let p_in = &inputs[P::P_IN];
    let recipient = &inputs[P::RECIPIENT];

    // Witnesses.
    let witness = |x: Fr| FpVar::new_witness(cs.clone(), || Ok(x));
    let sk_acct = witness(w.sk_acct)?;
    let balance_old = witness(w.balance_old)?;
    let salt_old = witness(w.salt_old)?;
    let salt_new = witness(w.salt_new)?;
    let payout_amount = witness(w.payout_amount)?;
    let payout_salt = witness(w.payout_salt)?;

    // A1: acct = H(sk_acct). The public `acct` is used from here on.
    account_id(&sk_acct)?.enforce_equal(acct)?;

    // A2: F_old = H(balance_old, salt_old, acct). (balance_old's range: A4.)
    balance_commitment(&balance_old, &salt_old, acct)?.enforce_equal(f_old)?;

    // A3: if P_in != 0, P_in = H(payout_amount, payout_salt, acct); if P_in = 0,
    // payout_amount = 0. `is_zero` (2 constraints) selects which half binds; the hash is
    // computed either way (the shape cannot depend on the witness), and with P_in = 0
    // payout_salt is free.
    let no_payout = p_in.is_zero()?;
    balance_commitment(&payout_amount, &payout_salt, acct)?
        .conditional_enforce_equal(p_in, &!&no_payout)?;
    payout_amount.conditional_enforce_equal(&FpVar::zero(), &no_payout)?;

    // A4: balance_old, payout_amount < 2^64; balance_new = balance_old + payout_amount +
    // delta in the field (one flat linear combination, no constraint), and
    // 0 <= balance_new < 2^64. With the two operands below 2^64 and balance_new in
    // range, the integer delta is in (-2^65, 2^64): no wrap-around can mint tokens.
    enforce_range(&balance_old, BAL_BITS)?;
    enforce_range(&payout_amount, BAL_BITS)?;
    let balance_new: FpVar<Fr> = [&balance_old, &payout_amount, delta].into_iter().sum();
    enforce_range(&balance_new, BAL_BITS)?;

    // A5: F_new = H(balance_new, salt_new, acct).
    balance_commitment(&balance_new, &salt_new, acct)?.enforce_equal(f_new)?;

    // A6: recipient is bound. arkworks' Groth16 already binds every public input (its
    // QAP gets one extra row per instance variable), but a public input used by no
    // constraint is what optimisers (circom's) and other backends drop, and it leaves
    // nothing in the constraint system to test. So recipient enters one constraint,
    // recipient * recipient = recipient_sq (Tornado Cash's device), cheap and inert.
    let recipient_sq = FpVar::new_witness(cs.clone(), || Ok(recipient.value()?.square()))?;
    recipient.mul_equals(recipient, &recipient_sq)?;

    Ok(())
}
