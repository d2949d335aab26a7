//! Variable-base scalar multiplication: LSB-first signed-digit double-and-add with
//! incomplete Montgomery formulas, complete Edwards formulas for the top bits and
//! the final corrections. 8 constraints per bit; 254 bits: about 2,060.
//!
//! # The recoding
//!
//! For `k = sum_{i<n} b_i 2^i`, let `s_i = 2 b_i - 1` in `{-1, 1}` for `i >= 1`. Then
//! `sum_{i=1}^{n-1} s_i 2^{i-1} = (k - b_0) - (2^{n-1} - 1)`, so
//! `k P = A + D_{n-1} + (b_0 - 1) P` with `A = sum_{i=1}^{n-1} s_i D_{i-1}` and
//! `D_i = 2^i P`. `A` starts at `s_1 D_0` (a conditional negation of `v`) and adds
//! `s_i D_{i-1}` for `i = 2 .. n-1`; `D_{n-1}` comes out of the doubling chain, so the
//! offset costs nothing to remove (an MSB-first ladder starting at `2P` would leave
//! `2^{n-1} P`, which is not at hand).
//!
//! # Soundness of the incomplete additions
//!
//! Write `A_{i-1} = a P` before adding digit `i`. `a = s_1 + sum_{2<=m<i} s_m 2^{m-1}` is
//! odd and `|a| <= 2^{i-1} - 1`. The addend is `+-2^{i-1} P`, even. Hence
//! `a -+ 2^{i-1}` is odd (never 0) and `|a -+ 2^{i-1}| <= 2^i - 1`; while
//! `2^i - 1 < l`, i.e. `i <= 250`, `a != +-2^{i-1} (mod l)`: the operands are never equal
//! or opposite, so `u_A != u_D` and lambda is unique; and the sum (odd, below `l` in
//! absolute value) is never the identity. Digits `i >= 251` (bit 251 onwards, only for
//! 252+ bit scalars) switch to complete Edwards additions. The doublings `D_i` are
//! never exceptional: `2^i P` has order `l` when `P` has. `P` itself must not be the
//! identity (no Montgomery image): the gadget multiplies `Base8` instead and selects the
//! identity at the end.

use super::{bit_fp, mont::MontVar, PointVar};
use crate::babyjubjub::BASE8;
use crate::Fr;
use ark_r1cs_std::{
    boolean::Boolean,
    fields::{fp::FpVar, FieldVar},
    select::CondSelectGadget,
    GR1CSVar,
};
use ark_relations::gr1cs::SynthesisError;

/// Last digit index added with incomplete formulas (weights up to `2^249`).
const LAST_INCOMPLETE_DIGIT: usize = 250;

/// `s v` with `s = 2 b - 1`: 1 constraint.
fn signed(b: &Boolean<Fr>, v: &FpVar<Fr>) -> FpVar<Fr> {
    let s = bit_fp(b).double().expect("infallible") - Fr::from(1u64);
    s * v
}

/// `k * p` for the integer `k` spelled by `bits` (little-endian, any length; `k >= l`
/// wraps mod l, `p` may be the identity). About 8 constraints per bit.
pub fn variable_base_mul(p: &PointVar, bits: &[Boolean<Fr>]) -> Result<PointVar, SynthesisError> {
    let n = bits.len();
    if n == 0 {
        return Ok(PointVar::identity());
    }
    if p.is_constant() && bits.iter().all(|b| b.is_constant()) {
        let k = super::bits::bits_value(bits)?;
        return Ok(PointVar::constant(crate::babyjubjub::mul_biguint(
            &p.value()?,
            &k,
        )));
    }
    if n == 1 {
        return PointVar::conditionally_select(&bits[0], p, &PointVar::identity());
    }
    // Replace the identity by Base8 (any non-identity subgroup point works) and undo at
    // the end.
    let is_id = p.is_identity()?;
    let p1 = PointVar::conditionally_select(&is_id, &PointVar::constant(BASE8), p)?;
    let m0 = MontVar::from_edwards(&p1)?;

    // Digit 1: A = s_1 D_0.
    let mut d = m0.clone();
    let mut acc = MontVar {
        u: m0.u.clone(),
        v: signed(&bits[1], &m0.v),
    };
    let mut edwards: Option<(PointVar, PointVar)> = None; // (A, D) once switched
    for (i, b) in bits.iter().enumerate().skip(2) {
        if i <= LAST_INCOMPLETE_DIGIT {
            d = d.double()?; // D_{i-1}
            let q = MontVar {
                u: d.u.clone(),
                v: signed(b, &d.v),
            };
            acc = acc.add_incomplete(&q)?;
        } else {
            let (a_e, d_e) = match edwards.take() {
                Some(x) => x,
                None => (acc.to_edwards()?, d.to_edwards()?),
            };
            let d_e = d_e.double()?;
            let q = PointVar::new_unchecked(signed(b, &d_e.x), d_e.y.clone());
            edwards = Some((a_e.add(&q)?, d_e));
        }
    }
    // D_{n-1} and A in Edwards form.
    let (a_e, d_last) = match edwards {
        Some((a_e, d_e)) => (a_e, d_e.double()?),
        None => (acc.to_edwards()?, d.double()?.to_edwards()?),
    };
    // (b_0 - 1) P: -P when b_0 = 0, the identity when b_0 = 1.
    let corr = PointVar::conditionally_select(&bits[0], &PointVar::identity(), &p1.negate())?;
    let r = a_e.add(&d_last)?.add(&corr)?;
    PointVar::conditionally_select(&is_id, &PointVar::identity(), &r)
}
