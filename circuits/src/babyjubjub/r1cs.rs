//! Gadget twin of [`crate::babyjubjub`]: [`PointVar`], a Baby Jubjub point in
//! circomlib's (ERC-2494) form inside a BN254 circuit.
//!
//! Invariant: every `PointVar` holds a point of the prime-order subgroup. Inputs and
//! witnesses are checked when allocated (on the curve and in the subgroup, 18
//! constraints); constants are the circuit author's and are not checked; every
//! operation maps subgroup points to subgroup points.
//!
//! Costs (constraints, both operands variables): [`PointVar::add`] 6 (3 with a
//! constant operand), [`PointVar::double`] 5, allocation check 18, `is_identity` 2,
//! select 2, `enforce_equal` 2. Scalar multiplication lives in [`fixed_base`] and
//! [`variable_base`]; scalar bit decomposition in [`bits`].

pub mod bits;
pub mod fixed_base;
mod mont;
pub mod variable_base;

pub use bits::{alloc_randomness_bits, alloc_scalar_bits, fp_to_bits_le, ScalarBound};
pub use fixed_base::{fixed_base_mul, fixed_base_mul_many};
pub use variable_base::variable_base_mul;

use super::{Point, COEFF_A, COEFF_D};
use crate::Fr;
use ark_ec::{AffineRepr, CurveConfig, CurveGroup};
use ark_ff::{Field, One, Zero};
use ark_r1cs_std::{
    alloc::{AllocVar, AllocationMode},
    boolean::Boolean,
    eq::EqGadget,
    fields::{
        fp::{AllocatedFp, FpVar},
        FieldVar,
    },
    select::CondSelectGadget,
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, Namespace, SynthesisError};
use std::borrow::Borrow;

/// A point of the prime-order subgroup in affine twisted Edwards coordinates.
#[derive(Clone, Debug)]
pub struct PointVar {
    /// x coordinate.
    pub x: FpVar<Fr>,
    /// y coordinate.
    pub y: FpVar<Fr>,
}

/// `num / den` as a new variable with one constraint `q * den = num` (free when `den` is
/// a constant). The caller guarantees `den != 0` for every satisfying assignment, which
/// makes `q` unique; the witness generator reports `DivisionByZero` otherwise.
pub(crate) fn div(num: &FpVar<Fr>, den: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    if let FpVar::Constant(d) = den {
        let inv = d.inverse().ok_or(SynthesisError::DivisionByZero)?;
        return Ok(num * inv);
    }
    let cs = num.cs().or(den.cs());
    let q = FpVar::new_witness(cs, || {
        let d = den
            .value()?
            .inverse()
            .ok_or(SynthesisError::DivisionByZero)?;
        Ok(num.value()? * d)
    })?;
    q.mul_equals(den, num)?;
    Ok(q)
}

/// `constant + sum(coeff * var)` as one flat linear combination (no constraint). Flat
/// combinations keep re-synthesis fast (see DESIGN.md on nested `+`).
pub(crate) fn lin_comb(constant: Fr, terms: &[(Fr, &FpVar<Fr>)]) -> FpVar<Fr> {
    let mut c = constant;
    let mut coeffs = Vec::with_capacity(terms.len());
    let mut vars: Vec<AllocatedFp<Fr>> = Vec::with_capacity(terms.len());
    for (k, v) in terms {
        match v {
            FpVar::Constant(x) => c += *k * x,
            FpVar::Var(a) => {
                if !k.is_zero() {
                    coeffs.push(*k);
                    vars.push(a.clone());
                }
            }
        }
    }
    match AllocatedFp::linear_combination(coeffs, &vars) {
        None => FpVar::Constant(c),
        Some(v) => FpVar::Var(v) + c,
    }
}

/// `b` as a field variable (0 or 1).
pub(crate) fn bit_fp(b: &Boolean<Fr>) -> FpVar<Fr> {
    FpVar::from(b.clone())
}

impl PointVar {
    /// A constant point; no variables, no constraints, no check.
    pub fn constant(p: Point) -> Self {
        let (x, y) = if p.is_zero() {
            (Fr::zero(), Fr::one())
        } else {
            (p.x, p.y)
        };
        Self {
            x: FpVar::Constant(x),
            y: FpVar::Constant(y),
        }
    }

    /// The identity `(0, 1)` as a constant.
    pub fn identity() -> Self {
        Self::constant(Point::zero())
    }

    /// Wraps coordinates without any check. The caller guarantees the subgroup
    /// invariant (e.g. the coordinates come out of another gadget's checked result).
    pub fn new_unchecked(x: FpVar<Fr>, y: FpVar<Fr>) -> Self {
        Self { x, y }
    }

    /// Whether both coordinates are constants.
    pub fn is_constant(&self) -> bool {
        self.x.is_constant() && self.y.is_constant()
    }

    /// Complete twisted Edwards addition (a square, d non-square: no exceptions),
    /// circomlib's `BabyAdd` formulas. 6 constraints, 3 if one operand is constant.
    pub fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        let (x1, y1, x2, y2) = (&self.x, &self.y, &other.x, &other.y);
        let beta = x1 * y2;
        let gamma = y1 * x2;
        let delta = lin_comb(Fr::zero(), &[(-COEFF_A, x1), (Fr::one(), y1)]) * (x2 + y2);
        let tau = &beta * &gamma;
        let dtau = &tau * COEFF_D;
        // 1 + d tau != 0 and 1 - d tau != 0 for points on the curve (completeness).
        let x3 = div(&(&beta + &gamma), &(FpVar::one() + &dtau))?;
        let y3 = div(
            &lin_comb(
                Fr::zero(),
                &[(Fr::one(), &delta), (COEFF_A, &beta), (-Fr::one(), &gamma)],
            ),
            &(FpVar::one() - &dtau),
        )?;
        Ok(Self { x: x3, y: y3 })
    }

    /// `self - other`.
    pub fn sub(&self, other: &Self) -> Result<Self, SynthesisError> {
        self.add(&other.negate())
    }

    /// `-self = (-x, y)`; free.
    pub fn negate(&self) -> Self {
        Self {
            x: self.x.negate().expect("negation is infallible"),
            y: self.y.clone(),
        }
    }

    /// The doubling's shared products `(x y, x^2, y^2)`, 3 constraints.
    fn double_parts(&self) -> (FpVar<Fr>, FpVar<Fr>, FpVar<Fr>) {
        (&self.x * &self.y, &self.x * &self.x, &self.y * &self.y)
    }

    /// `2 self`: `x3 = 2xy / (a x^2 + y^2)`, `y3 = (y^2 - a x^2) / (2 - a x^2 - y^2)`,
    /// which on the curve equal `2xy / (1 + d x^2 y^2)` and
    /// `(y^2 - a x^2) / (1 - d x^2 y^2)`, denominators never zero. 5 constraints.
    pub fn double(&self) -> Result<Self, SynthesisError> {
        let (xy, xx, yy) = self.double_parts();
        let x3 = div(
            &xy.double()?,
            &lin_comb(Fr::zero(), &[(COEFF_A, &xx), (Fr::one(), &yy)]),
        )?;
        let y3 = div(
            &lin_comb(Fr::zero(), &[(Fr::one(), &yy), (-COEFF_A, &xx)]),
            &lin_comb(Fr::from(2u64), &[(-COEFF_A, &xx), (-Fr::one(), &yy)]),
        )?;
        Ok(Self { x: x3, y: y3 })
    }

    /// Enforces `out = 2 self` with `out`'s own variables as the result (saves the
    /// two equality constraints of `double` + `enforce_equal`). 5 constraints.
    fn enforce_double_is(&self, out: &Self) -> Result<(), SynthesisError> {
        let (xy, xx, yy) = self.double_parts();
        out.x.mul_equals(
            &lin_comb(Fr::zero(), &[(COEFF_A, &xx), (Fr::one(), &yy)]),
            &xy.double()?,
        )?;
        out.y.mul_equals(
            &lin_comb(Fr::from(2u64), &[(-COEFF_A, &xx), (-Fr::one(), &yy)]),
            &lin_comb(Fr::zero(), &[(Fr::one(), &yy), (-COEFF_A, &xx)]),
        )
    }

    /// Enforces `a x^2 + y^2 = 1 + d x^2 y^2`. 3 constraints.
    pub fn enforce_on_curve(&self) -> Result<(), SynthesisError> {
        let xx = &self.x * &self.x;
        let yy = &self.y * &self.y;
        (&xx * COEFF_D).mul_equals(
            &yy,
            &lin_comb(-Fr::one(), &[(COEFF_A, &xx), (Fr::one(), &yy)]),
        )
    }

    /// Whether `self` is the identity. In the prime-order subgroup `x = 0` only at the
    /// identity (`(0, -1)` has order 2), so this tests `x == 0`. 2 constraints.
    pub fn is_identity(&self) -> Result<Boolean<Fr>, SynthesisError> {
        self.x.is_zero()
    }
}

impl GR1CSVar<Fr> for PointVar {
    type Value = Point;

    fn cs(&self) -> ConstraintSystemRef<Fr> {
        self.x.cs().or(self.y.cs())
    }

    fn value(&self) -> Result<Point, SynthesisError> {
        let (x, y) = (self.x.value()?, self.y.value()?);
        if x.is_zero() && y.is_one() {
            Ok(Point::zero())
        } else {
            Ok(Point::new_unchecked(x, y))
        }
    }
}

impl AllocVar<Point, Fr> for PointVar {
    /// Constant: no variables, no check. Input and Witness: the coordinates, plus a
    /// witness `Q = (8^{-1} mod l) P` with `Q` on the curve and `P = 8 Q` enforced
    /// (18 constraints). `8 Q` for any curve point `Q` lies in the subgroup of order
    /// `l` (the group is cyclic of order `8 l`), and on the curve; so an off-curve,
    /// small-order or mixed-order `P` leaves the system unsatisfiable.
    fn new_variable<T: Borrow<Point>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let cs = ns.cs();
        let value = f().map(|p| *p.borrow());
        if mode == AllocationMode::Constant {
            return Ok(Self::constant(value?));
        }
        let value = value.ok();
        let coords = value.map(|p| {
            if p.is_zero() {
                (Fr::zero(), Fr::one())
            } else {
                (p.x, p.y)
            }
        });
        let get =
            |f: fn((Fr, Fr)) -> Fr| move || coords.map(f).ok_or(SynthesisError::AssignmentMissing);
        let x = FpVar::new_variable(cs.clone(), get(|c| c.0), mode)?;
        let y = FpVar::new_variable(cs.clone(), get(|c| c.1), mode)?;
        // The honest witness for Q; for a bad P any value will do, the constraints fail.
        let q = value.map(|p| {
            if p.is_on_curve() {
                let inv8 = <super::BabyJubjubConfig as CurveConfig>::COFACTOR_INV;
                (p * inv8).into_affine()
            } else {
                Point::zero()
            }
        });
        let q = Self::new_witness_unchecked(cs, q)?;
        q.enforce_on_curve()?;
        let q4 = q.double()?.double()?;
        let p = Self { x, y };
        q4.enforce_double_is(&p)?;
        Ok(p)
    }
}

impl PointVar {
    /// Witness coordinates with no constraint at all: for internal hints only.
    fn new_witness_unchecked(
        cs: ConstraintSystemRef<Fr>,
        value: Option<Point>,
    ) -> Result<Self, SynthesisError> {
        let coords = value.map(|p| {
            if p.is_zero() {
                (Fr::zero(), Fr::one())
            } else {
                (p.x, p.y)
            }
        });
        let x = FpVar::new_witness(cs.clone(), || {
            coords.map(|c| c.0).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let y = FpVar::new_witness(cs, || {
            coords.map(|c| c.1).ok_or(SynthesisError::AssignmentMissing)
        })?;
        Ok(Self { x, y })
    }
}

impl EqGadget<Fr> for PointVar {
    fn is_eq(&self, other: &Self) -> Result<Boolean<Fr>, SynthesisError> {
        Ok(self.x.is_eq(&other.x)? & self.y.is_eq(&other.y)?)
    }

    fn conditional_enforce_equal(
        &self,
        other: &Self,
        should_enforce: &Boolean<Fr>,
    ) -> Result<(), SynthesisError> {
        self.x.conditional_enforce_equal(&other.x, should_enforce)?;
        self.y.conditional_enforce_equal(&other.y, should_enforce)
    }

    fn enforce_equal(&self, other: &Self) -> Result<(), SynthesisError> {
        self.x.enforce_equal(&other.x)?;
        self.y.enforce_equal(&other.y)
    }
}

impl CondSelectGadget<Fr> for PointVar {
    fn conditionally_select(
        cond: &Boolean<Fr>,
        true_value: &Self,
        false_value: &Self,
    ) -> Result<Self, SynthesisError> {
        Ok(Self {
            x: FpVar::conditionally_select(cond, &true_value.x, &false_value.x)?,
            y: FpVar::conditionally_select(cond, &true_value.y, &false_value.y)?,
        })
    }
}

#[cfg(test)]
mod tests;
