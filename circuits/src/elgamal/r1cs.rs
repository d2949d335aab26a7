//! Gadget twin of [`crate::elgamal`]: encryption inside a circuit.
//!
//! The message `m` comes as an [`FpVar`] with a bit length; [`message_bits`] range-checks
//! it (`m < 2^m_bits`, booleanity of every bit) and `m G` is a fixed-base
//! multiplication over those bits. The randomness comes as little-endian bits (e.g.
//! from [`alloc_scalar_bits`](crate::babyjubjub::r1cs::alloc_scalar_bits)); any bit
//! string is a valid randomness (`r >= l` just wraps), and the native twin takes the
//! scalar those bits spell.
//!
//! Two ways to hold the key:
//! - a circuit constant ([`encrypt_constant_key`], [`encrypt_constant_keys`]): all
//!   multiplications are fixed-base; several keys share `r`'s bits through
//!   [`fixed_base_mul_many`] (one `c1 = r G` for all of them);
//! - a [`PointVar`] ([`encrypt`]): `r PK` is a variable-base multiplication.

use crate::babyjubjub::r1cs::{fixed_base_mul, fixed_base_mul_many, variable_base_mul, PointVar};
use crate::babyjubjub::BASE8;
use crate::elgamal::{Ciphertext, PublicKey};
use crate::Fr;
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    eq::EqGadget,
    fields::fp::FpVar,
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, Namespace, SynthesisError};
use std::borrow::Borrow;

/// A ciphertext `(c1, c2)` of two checked points.
#[derive(Clone, Debug)]
pub struct CiphertextVar {
    /// `r G`.
    pub c1: PointVar,
    /// `m G + r PK`.
    pub c2: PointVar,
}

impl CiphertextVar {
    /// Component-wise addition (encrypts the sum of the messages). 12 constraints.
    pub fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        Ok(Self {
            c1: self.c1.add(&other.c1)?,
            c2: self.c2.add(&other.c2)?,
        })
    }
}

impl GR1CSVar<Fr> for CiphertextVar {
    type Value = Ciphertext;

    fn cs(&self) -> ConstraintSystemRef<Fr> {
        self.c1.cs().or(self.c2.cs())
    }

    fn value(&self) -> Result<Ciphertext, SynthesisError> {
        Ok(Ciphertext {
            c1: self.c1.value()?,
            c2: self.c2.value()?,
        })
    }
}

impl AllocVar<Ciphertext, Fr> for CiphertextVar {
    /// Both points checked as any [`PointVar`] (36 constraints for input or witness).
    fn new_variable<T: Borrow<Ciphertext>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let cs = ns.cs();
        let v = f().map(|c| *c.borrow());
        Ok(Self {
            c1: PointVar::new_variable(cs.clone(), || v.map(|c| c.c1), mode)?,
            c2: PointVar::new_variable(cs, || v.map(|c| c.c2), mode)?,
        })
    }
}

impl EqGadget<Fr> for CiphertextVar {
    fn is_eq(&self, other: &Self) -> Result<Boolean<Fr>, SynthesisError> {
        Ok(self.c1.is_eq(&other.c1)? & self.c2.is_eq(&other.c2)?)
    }

    fn conditional_enforce_equal(
        &self,
        other: &Self,
        should_enforce: &Boolean<Fr>,
    ) -> Result<(), SynthesisError> {
        self.c1
            .conditional_enforce_equal(&other.c1, should_enforce)?;
        self.c2.conditional_enforce_equal(&other.c2, should_enforce)
    }
}

/// The `m_bits` little-endian bits of `m`, enforcing `m < 2^m_bits` (`m_bits < 254`):
/// `m_bits` booleanity constraints and one for the packing.
pub fn message_bits(m: &FpVar<Fr>, m_bits: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    Ok(m.to_bits_le_with_top_bits_zero(m_bits)?.0)
}

/// Encrypts `m` (`< 2^m_bits`) to a constant key with randomness bits `r_bits`.
pub fn encrypt_constant_key(
    pk: &PublicKey,
    m: &FpVar<Fr>,
    m_bits: usize,
    r_bits: &[Boolean<Fr>],
) -> Result<CiphertextVar, SynthesisError> {
    Ok(encrypt_constant_keys(&[*pk], std::slice::from_ref(m), m_bits, r_bits)?.remove(0))
}

/// Encrypts `ms[i]` to `pks[i]`, every one with the same randomness: one shared
/// `c1 = r G`, and the `1 + pks.len()` fixed-base multiplications by `r` share its
/// bits' window products. Reusing `r` across keys is safe only if the keys are
/// independent (no known relation between their discrete logs): `c2_i - c2_j` reveals
/// `(m_i - m_j) G` when `pk_i = pk_j`.
pub fn encrypt_constant_keys(
    pks: &[PublicKey],
    ms: &[FpVar<Fr>],
    m_bits: usize,
    r_bits: &[Boolean<Fr>],
) -> Result<Vec<CiphertextVar>, SynthesisError> {
    assert_eq!(pks.len(), ms.len(), "one message per key");
    let bases: Vec<_> = std::iter::once(BASE8)
        .chain(pks.iter().map(|pk| pk.0))
        .collect();
    let mut rs = fixed_base_mul_many(&bases, r_bits)?.into_iter();
    let c1 = rs.next().expect("r G");
    ms.iter()
        .zip(rs)
        .map(|(m, r_pk)| {
            let m_g = fixed_base_mul(&BASE8, &message_bits(m, m_bits)?)?;
            Ok(CiphertextVar {
                c1: c1.clone(),
                c2: m_g.add(&r_pk)?,
            })
        })
        .collect()
}

/// Encrypts `m` (`< 2^m_bits`) to a key held in the circuit (checked when it was
/// allocated): `r G` and `m G` fixed-base, `r PK` variable-base.
pub fn encrypt(
    pk: &PointVar,
    m: &FpVar<Fr>,
    m_bits: usize,
    r_bits: &[Boolean<Fr>],
) -> Result<CiphertextVar, SynthesisError> {
    let c1 = fixed_base_mul(&BASE8, r_bits)?;
    let m_g = fixed_base_mul(&BASE8, &message_bits(m, m_bits)?)?;
    let r_pk = variable_base_mul(pk, r_bits)?;
    Ok(CiphertextVar {
        c1,
        c2: m_g.add(&r_pk)?,
    })
}

#[cfg(test)]
mod tests;
