//! Scalars as little-endian bits for the scalar multiplications, and the comparisons
//! of bits with a constant that make a decomposition canonical.
//!
//! The multiplications take any bit string and compute `k * P` for the integer `k` it
//! spells (so `k >= l` gives `(k mod l) * P`). Whether a statement needs the
//! decomposition to be unique is the statement's business: [`alloc_scalar_bits`] and
//! [`fp_to_bits_le`] give the canonical one, [`alloc_randomness_bits`] any 251 bits.
//!
//! Costs: [`ScalarBound::SubgroupOrder`] 251 booleanity constraints, 1 for the packing
//! and 151 for `< l`; [`ScalarBound::FieldModulus`] 254 booleanity constraints, 1 for the
//! packing and 130 for `< p` (circomlib's `Num2Bits_strict`). Both comparisons are run
//! checks ([`enforce_le_constant`]): r1cs-std's comparison (2 per zero bit) costs 365
//! for `< l` and 385 for `< p`.

use crate::babyjubjub::Scalar;
use crate::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    convert::ToBitsGadget,
    eq::EqGadget,
    fields::{fp::FpVar, FieldVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use std::borrow::Borrow;

/// Which bound a decomposition enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarBound {
    /// 251 bits spelling a value `< l` (a canonical [`Scalar`]).
    SubgroupOrder,
    /// 254 bits spelling a value `< p` (the unique bits of a field element; circomlib's
    /// `Num2Bits_strict`).
    FieldModulus,
}

/// Enforces that the little-endian `bits` encode an integer below `l`, the subgroup
/// order (circomlib: `CompConstant(l - 1)` on `S`'s bits). Any number of bits is
/// accepted; bits above the 251st are forced to zero. 151 constraints for 251 bits.
pub fn enforce_below_order(bits: &[Boolean<Fr>]) -> Result<(), SynthesisError> {
    let mut l_minus_1 = Scalar::MODULUS;
    // l is odd, so subtracting one only clears its lowest bit.
    l_minus_1.0[0] -= 1;
    enforce_le_constant(bits, &l_minus_1.to_bits_le())
}

/// Enforces `bits <= bound` as integers, both little-endian; `bits` must be booleans
/// (they are, as [`Boolean`]s).
///
/// Scanning from the top, `eq` says the bits so far equal the bound's. Where the bound
/// has a run of zeros, `eq * (sum of the run's bits) = 0`: while equal so far, those bits
/// must be zero (the sum of booleans is zero only if every one is). Where the bound has
/// a run of ones, the bits may be anything and `eq` becomes `eq AND` all of them,
/// computed only if a zero of the bound follows. If `bits > bound`, at the first
/// position from the top where they differ the bit is 1, the bound's 0 and `eq` is 1,
/// which the run's constraint refuses; if `bits <= bound` the honest `eq` satisfies all.
/// Bits above the bound's length must all be zero: one constraint on their sum.
///
/// Cost: 1 per run of zeros, 1 or 2 per run of ones followed by a zero (r1cs-std's
/// `kary_and`), 1 for the excess bits: about half of r1cs-std's
/// `enforce_smaller_or_equal_than_le` (2 per zero bit).
pub(crate) fn enforce_le_constant(
    bits: &[Boolean<Fr>],
    bound: &[bool],
) -> Result<(), SynthesisError> {
    let n = bound.iter().rposition(|b| *b).map_or(0, |top| top + 1);
    let sum = |bs: &[Boolean<Fr>]| -> FpVar<Fr> { bs.iter().map(|b| FpVar::from(b.clone())).sum() };
    if bits.len() > n {
        sum(&bits[n..]).enforce_equal(&FpVar::zero())?;
    }
    let mut low = bits[..bits.len().min(n)].to_vec();
    low.resize(n, Boolean::FALSE);

    let mut eq = Boolean::TRUE;
    let mut top = n;
    while top > 0 {
        let one = bound[top - 1];
        let mut bottom = top - 1;
        while bottom > 0 && bound[bottom - 1] == one {
            bottom -= 1;
        }
        let run = &low[bottom..top];
        if !one {
            FpVar::from(eq.clone()).mul_equals(&sum(run), &FpVar::zero())?;
        } else if bottom > 0 {
            let mut operands = Vec::with_capacity(run.len() + 1);
            operands.push(eq);
            operands.extend_from_slice(run);
            eq = Boolean::kary_and(&operands)?;
        }
        top = bottom;
    }
    Ok(())
}

/// The bits of `x` with the chosen bound enforced. For `SubgroupOrder`, `x` itself
/// must be `< l` (it is the packing of the bits), else the system is unsatisfiable.
pub fn fp_to_bits_le(
    x: &FpVar<Fr>,
    bound: ScalarBound,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    match bound {
        ScalarBound::FieldModulus => {
            let bits = x.to_non_unique_bits_le()?;
            if !x.is_constant() {
                let mut p_minus_1 = Fr::MODULUS;
                // p is odd, so subtracting one only clears its lowest bit.
                p_minus_1.0[0] -= 1;
                enforce_le_constant(&bits, &p_minus_1.to_bits_le())?;
            }
            Ok(bits)
        }
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
            enforce_below_order(&bits)?;
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
        enforce_below_order(&bits)?;
    }
    Ok(bits)
}

/// Allocates the 251 bits of an encryption's randomness as witnesses, with no bound:
/// the bits spell some `k < 2^251`, and the multiplications by them compute
/// `(k mod l) * P` for every base. A ciphertext made with `k` is therefore exactly the
/// ciphertext made with the scalar `k mod l`: a statement "these ciphertexts encrypt
/// these messages under some randomness" holds for the same messages whichever bit
/// string the prover chose, so a canonical decomposition (151 constraints for `< l`)
/// buys nothing there. An honest prover's `r` is a uniform [`Scalar`], and its
/// canonical bits are what this allocates. Not for a scalar whose bits must be unique
/// (a signature's `S`, a value the statement compares or hashes).
///
/// 251 booleanity constraints.
pub fn alloc_randomness_bits(
    cs: impl Into<Namespace<Fr>>,
    f: impl FnOnce() -> Result<Scalar, SynthesisError>,
) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let ns = cs.into();
    let cs = ns.cs();
    let value = f().map(|s| crate::babyjubjub::scalar_to_bits_le(&s));
    (0..Scalar::MODULUS_BIT_SIZE as usize)
        .map(|i| Boolean::new_witness(cs.clone(), || value.as_ref().map(|b| b[i]).map_err(|e| *e)))
        .collect()
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
