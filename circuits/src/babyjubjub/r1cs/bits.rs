//! Scalars as little-endian bits for the scalar multiplications.
//!
//! The multiplications take any bit string and compute `k * P` for the integer `k` it
//! spells (so `k >= l` gives `(k mod l) * P`). Whether a statement needs the
//! decomposition to be unique is the statement's business: these helpers give the
//! canonical one.
//!
//! Costs: [`ScalarBound::SubgroupOrder`] 251 booleanity constraints, 1 for the packing
//! and the `< l` comparison (about 1 per zero bit of `l - 1` plus one per run of ones;
//! the tests print the total); [`ScalarBound::FieldModulus`] is r1cs-std's `to_bits_le`
//! (254 bits, `< p`).

use crate::babyjubjub::Scalar;
use crate::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    convert::ToBitsGadget,
    fields::fp::FpVar,
    GR1CSVar,
};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use std::borrow::Borrow;

/// Which bound a decomposition enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarBound {
    /// 251 bits spelling a value `< l` (a canonical [`Scalar`]).
    SubgroupOrder,
    /// 254 bits spelling a value `< p` (the unique bits of a field element).
    FieldModulus,
}

/// Enforces `bits < l` (251 bits).
fn enforce_below_l(bits: &[Boolean<Fr>]) -> Result<(), SynthesisError> {
    let mut l_minus_one = Scalar::MODULUS;
    l_minus_one.sub_with_borrow(&1u64.into());
    let run = Boolean::enforce_smaller_or_equal_than_le(bits, l_minus_one)?;
    // l - 1 is even, so the comparison never ends inside a run of ones.
    debug_assert!(run.is_empty());
    Ok(())
}

/// The bits of `x` with the chosen bound enforced. For `SubgroupOrder`, `x` itself
/// must be `< l` (it is the packing of the bits), else the system is unsatisfiable.
pub fn fp_to_bits_le(
    x: &FpVar<Fr>,
    bound: ScalarBound,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    match bound {
        ScalarBound::FieldModulus => x.to_bits_le(),
        ScalarBound::SubgroupOrder => {
            let n = Scalar::MODULUS_BIT_SIZE as usize;
            if let FpVar::Constant(c) = x {
                let big = c.into_bigint();
                if big >= Scalar::MODULUS {
                    return Err(SynthesisError::Unsatisfiable);
                }
                return Ok(big.to_bits_le()[..n]
                    .iter()
                    .map(|b| Boolean::constant(*b))
                    .collect());
            }
            let (bits, _rest) = x.to_bits_le_with_top_bits_zero(n)?;
            enforce_below_l(&bits)?;
            Ok(bits)
        }
    }
}

/// Allocates a scalar as 251 bits in the given mode; inputs and witnesses are checked
/// `< l`, constants are not (they are canonical by construction).
pub fn alloc_scalar_bits<T: Borrow<Scalar>>(
    cs: impl Into<Namespace<Fr>>,
    f: impl FnOnce() -> Result<T, SynthesisError>,
    mode: AllocationMode,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let ns = cs.into();
    let cs = ns.cs();
    let value = f().map(|s| crate::babyjubjub::scalar_to_bits_le(s.borrow()));
    let n = Scalar::MODULUS_BIT_SIZE as usize;
    let bits = (0..n)
        .map(|i| {
            Boolean::new_variable(
                cs.clone(),
                || value.as_ref().map(|b| b[i]).map_err(|e| *e),
                mode,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if mode != AllocationMode::Constant {
        enforce_below_l(&bits)?;
    }
    Ok(bits)
}

/// The integer value of little-endian bits (for tests and witness generation).
pub fn bits_value(bits: &[Boolean<Fr>]) -> Result<num_bigint::BigUint, SynthesisError> {
    let mut out = num_bigint::BigUint::default();
    for (i, b) in bits.iter().enumerate() {
        if b.value()? {
            out.set_bit(i as u64, true);
        }
    }
    Ok(out)
}
