//! Montgomery form `v^2 = u^3 + A u^2 + u` (A = 168698, B = 1) for the scalar
//! multiplications: cheaper incomplete formulas, used only where the callers prove the
//! exceptional cases cannot occur.
//!
//! Birational map (ERC-2494): `u = (1 + y) / (1 - y)`, `v = u / x`; back:
//! `x = u / v`, `y = (u - 1) / (u + 1)`. It is defined on every subgroup point but the
//! identity (which has no affine Montgomery image), and the inverse on every affine
//! Montgomery point except `(0, 0)` (order 2): `u = -1` would need `v^2 = A - 2 = d`, a
//! non-square.

use super::{div, lin_comb, PointVar};
use crate::babyjubjub::MONT_A;
use crate::Fr;
use ark_ff::{AdditiveGroup, Field, One, Zero};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::fields::{fp::FpVar, FieldVar};
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::SynthesisError;

/// A Montgomery point, never the point at infinity.
#[derive(Clone, Debug)]
pub(crate) struct MontVar {
    pub u: FpVar<Fr>,
    pub v: FpVar<Fr>,
}

impl MontVar {
    /// From Edwards; the caller guarantees `p` is not the identity (then `y != 1` and
    /// `x != 0`). 2 constraints.
    pub fn from_edwards(p: &PointVar) -> Result<Self, SynthesisError> {
        let u = div(&(FpVar::one() + &p.y), &(FpVar::one() - &p.y))?;
        let v = div(&u, &p.x)?;
        Ok(Self { u, v })
    }

    /// To Edwards; `v != 0` and `u != -1` for every subgroup point. 2 constraints.
    pub fn to_edwards(&self) -> Result<PointVar, SynthesisError> {
        let x = div(&self.u, &self.v)?;
        let y = div(&(&self.u - Fr::one()), &(&self.u + Fr::one()))?;
        Ok(PointVar::new_unchecked(x, y))
    }

    /// `self + other`, incomplete: the caller guarantees `self != +-other` (so
    /// `u1 != u2`, which makes lambda unique) and that the sum is not infinity.
    /// 3 constraints.
    pub fn add_incomplete(&self, other: &Self) -> Result<Self, SynthesisError> {
        let lambda = div(&(&other.v - &self.v), &(&other.u - &self.u))?;
        self.third_point(&lambda, &other.u)
    }

    /// `2 self`; exceptional only for points of order 1 or 2 (`v = 0`), never in the
    /// subgroup. 4 constraints.
    pub fn double(&self) -> Result<Self, SynthesisError> {
        let uu = self.u.square()?;
        let lambda = div(
            &lin_comb(
                Fr::one(),
                &[(Fr::from(3u64), &uu), (MONT_A.double(), &self.u)],
            ),
            &self.v.double()?,
        )?;
        self.third_point(&lambda, &self.u)
    }

    /// The sum of `self` and the point with abscissa `u2` on the line of slope `lambda`
    /// through `self` (`u2 = self.u` for a doubling): `u3 = lambda^2 - A - u1 - u2`,
    /// `v3 = lambda (u1 - u3) - v1`. Both are allocated as witnesses under 2 constraints,
    /// `lambda * lambda = u3 + A + u1 + u2` and `lambda * (u1 - u3) = v3 + v1`, rather
    /// than carried as linear combinations: in a chain of additions those would grow by
    /// the previous step's terms at every step (the fixed-base multiplication's
    /// accumulator held over a million matrix entries that way, issue #16).
    fn third_point(&self, lambda: &FpVar<Fr>, u2: &FpVar<Fr>) -> Result<Self, SynthesisError> {
        let cs = lambda.cs().or(self.u.cs()).or(self.v.cs()).or(u2.cs());
        if cs.is_none() {
            // every operand a constant: so is the sum
            let l = lambda.value()?;
            let (u1, v1) = (self.u.value()?, self.v.value()?);
            let u3 = l.square() - MONT_A - u1 - u2.value()?;
            let v3 = l * (u1 - u3) - v1;
            return Ok(Self {
                u: FpVar::Constant(u3),
                v: FpVar::Constant(v3),
            });
        }
        let u3 = FpVar::new_witness(cs.clone(), || {
            Ok(lambda.value()?.square() - MONT_A - self.u.value()? - u2.value()?)
        })?;
        lambda.mul_equals(
            lambda,
            &lin_comb(
                MONT_A,
                &[(Fr::one(), &u3), (Fr::one(), &self.u), (Fr::one(), u2)],
            ),
        )?;
        let v3 = FpVar::new_witness(cs, || {
            Ok(lambda.value()? * (self.u.value()? - u3.value()?) - self.v.value()?)
        })?;
        lambda.mul_equals(
            &lin_comb(Fr::zero(), &[(Fr::one(), &self.u), (-Fr::one(), &u3)]),
            &lin_comb(Fr::zero(), &[(Fr::one(), &v3), (Fr::one(), &self.v)]),
        )?;
        Ok(Self { u: u3, v: v3 })
    }
}
