//! Range-check and comparison gadgets, twins of [`crate::range`].
//!
//! Costs (n-bit operands):
//! - [`enforce_range`]: `n` constraints (`n - 1` bit witnesses; the top bit is the linear
//!   combination `(v - low bits) / 2^(n-1)`, so one booleanity constraint on it also
//!   binds the sum). 64 bits: 64.
//! - [`enforce_bits`]: `n + 1` (n booleans, one sum), for callers that need the bits.
//! - [`enforce_less_than`], [`enforce_less_or_equal`]: `n`, a range check of `b - a - 1`
//!   or `b - a`.
//! - [`is_less_than`], [`is_less_or_equal`]: `n + 1`: `d = a - b + 2^n` is split into a
//!   boolean top bit (`a >= b`) and an `n`-bit remainder.
//!
//! # Preconditions
//!
//! Comparisons assume both operands already lie in `[0, 2^n)` (range-checked elsewhere,
//! or bounded by construction). They do **not** check it, and on unbounded values they are
//! unsound: `a = p - 1` satisfies `enforce_less_than(a, 0, n)`. Widths above
//! [`MAX_BITS`] are refused with [`SynthesisError::ArityMismatch`]; a statement on
//! constants that is false is refused with [`SynthesisError::Unsatisfiable`] (as
//! arkworks does for unequal constants), while on variables it leaves the constraint
//! system unsatisfied.

use crate::range::{fits_in_bits, pow2, MAX_BITS};
use crate::Fr;
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

/// An affine form over at most two field variables, with its value when known.
struct Affine {
    cs: ConstraintSystemRef<Fr>,
    terms: Vec<(Fr, Variable)>,
    value: Option<Fr>,
}

impl Affine {
    /// `sum c_i * v_i + k`, flat.
    fn new(parts: &[(Fr, &FpVar<Fr>)], k: Fr) -> Self {
        let mut cs = ConstraintSystemRef::None;
        let mut terms = Vec::with_capacity(parts.len() + 1);
        let mut constant = k;
        let mut value = Some(k);
        for (c, v) in parts {
            match v {
                FpVar::Constant(x) => constant += *c * x,
                FpVar::Var(a) => {
                    cs = cs.or(a.cs.clone());
                    terms.push((*c, a.variable));
                }
            }
            value = value.and_then(|acc| v.value().ok().map(|x| acc + *c * x));
        }
        if !constant.is_zero() {
            terms.push((constant, Variable::One));
        }
        Self { cs, terms, value }
    }

    fn is_constant(&self) -> bool {
        self.cs.is_none()
    }

    fn lc(&self) -> LinearCombination<Fr> {
        let mut lc = LinearCombination(self.terms.clone());
        lc.compactify();
        lc
    }
}

fn check_width(n: usize) -> Result<(), SynthesisError> {
    if n > MAX_BITS {
        Err(SynthesisError::ArityMismatch)
    } else {
        Ok(())
    }
}

/// A constant statement: true is free, false is refused.
fn constant_holds(holds: bool) -> Result<(), SynthesisError> {
    if holds {
        Ok(())
    } else {
        Err(SynthesisError::Unsatisfiable)
    }
}

/// `x * (1 - x) = 0`.
fn enforce_boolean(cs: &ConstraintSystemRef<Fr>, x: Variable) -> Result<(), SynthesisError> {
    cs.enforce_r1cs_constraint(
        || x.into(),
        || LinearCombination(vec![(Fr::ONE, Variable::One), (-Fr::ONE, x)]),
        LinearCombination::zero,
    )
}

/// Enforces `x < 2^n` for a non-constant affine `x`, in `n` constraints (1 if `n = 0`).
fn range_affine(x: &Affine, n: usize) -> Result<(), SynthesisError> {
    let cs = &x.cs;
    if n == 0 {
        return cs.enforce_r1cs_constraint(
            || x.lc(),
            || Variable::One.into(),
            LinearCombination::zero,
        );
    }
    let bits_of = x.value.map(|v| v.into_bigint());
    // Low bits b_0 .. b_{n-2} as plain witnesses, each with a booleanity constraint.
    let mut low = Vec::with_capacity(n - 1);
    for i in 0..n - 1 {
        let b = cs.new_witness_variable(|| {
            bits_of
                .map(|v| Fr::from(v.get_bit(i)))
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        enforce_boolean(cs, b)?;
        low.push(b);
    }
    // Top bit: (x - sum 2^i b_i) / 2^(n-1). Booleanity of this combination makes
    // x = sum_{i<n} 2^i b_i with every b_i a bit, hence x < 2^n (no wrap: n <= 252).
    let inv = pow2(n - 1).inverse().expect("2^k is invertible");
    let top = cs.new_lc(|| {
        let mut lc = x.lc() * inv;
        let mut coeff = -inv;
        for b in &low {
            lc.0.push((coeff, *b));
            coeff.double_in_place();
        }
        lc.compactify();
        lc
    })?;
    enforce_boolean(cs, top)
}

/// Enforces `v < 2^n`: `n` constraints for a variable (1 if `n = 0`), none for a constant.
///
/// # Errors
///
/// [`SynthesisError::ArityMismatch`] for `n > MAX_BITS`; [`SynthesisError::Unsatisfiable`]
/// for a constant `v >= 2^n`.
pub fn enforce_range(v: &FpVar<Fr>, n: usize) -> Result<(), SynthesisError> {
    check_width(n)?;
    let x = Affine::new(&[(Fr::ONE, v)], Fr::ZERO);
    if x.is_constant() {
        return constant_holds(fits_in_bits(v.value()?, n));
    }
    range_affine(&x, n)
}

/// Enforces `v < 2^n` and returns its `n` little-endian bits: `n + 1` constraints for a
/// variable (`n` booleanity, one sum), constant bits for a constant.
///
/// # Errors
///
/// As [`enforce_range`].
pub fn enforce_bits(v: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    check_width(n)?;
    if let FpVar::Constant(c) = v {
        constant_holds(fits_in_bits(*c, n))?;
        let big = c.into_bigint();
        return Ok((0..n).map(|i| Boolean::constant(big.get_bit(i))).collect());
    }
    let cs = v.cs();
    let value = v.value().ok().map(|x| x.into_bigint());
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|x| x.get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // One flat sum: v = sum 2^i b_i (a single constraint, no nested combinations).
    let x = Affine::new(&[(Fr::ONE, v)], Fr::ZERO);
    cs.enforce_r1cs_constraint(
        || {
            let mut lc = x.lc();
            let mut coeff = -Fr::ONE;
            for b in &bits {
                lc.0.push((coeff, b.variable()));
                coeff.double_in_place();
            }
            lc.compactify();
            lc
        },
        || Variable::One.into(),
        LinearCombination::zero,
    )?;
    Ok(bits)
}

/// Enforces `a < b` for `a, b < 2^n` (**precondition, not checked**): `n` constraints.
///
/// # Errors
///
/// As [`enforce_range`] (a false statement on constants is `Unsatisfiable`).
pub fn enforce_less_than(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<(), SynthesisError> {
    // a < b  <=>  b - a - 1 in [0, 2^n), given a, b in [0, 2^n).
    enforce_difference_in_range(a, b, -Fr::ONE, n)
}

/// Enforces `a <= b` for `a, b < 2^n` (**precondition, not checked**): `n` constraints.
///
/// # Errors
///
/// As [`enforce_less_than`].
pub fn enforce_less_or_equal(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<(), SynthesisError> {
    enforce_difference_in_range(a, b, Fr::ZERO, n)
}

/// `b - a + k < 2^n`.
fn enforce_difference_in_range(
    a: &FpVar<Fr>,
    b: &FpVar<Fr>,
    k: Fr,
    n: usize,
) -> Result<(), SynthesisError> {
    check_width(n)?;
    let d = Affine::new(&[(Fr::ONE, b), (-Fr::ONE, a)], k);
    if d.is_constant() {
        return constant_holds(fits_in_bits(
            d.value.ok_or(SynthesisError::AssignmentMissing)?,
            n,
        ));
    }
    range_affine(&d, n)
}

/// The bit `a < b` for `a, b < 2^n` (**precondition, not checked**): `n + 1` constraints,
/// a constant for constant operands.
///
/// `d = a - b + 2^n` lies in `[1, 2^(n+1))`; its bit `n` is `a >= b`. The gadget
/// allocates that bit as a boolean and range-checks `d - 2^n * bit` to `n` bits.
///
/// # Errors
///
/// [`SynthesisError::ArityMismatch`] for `n > MAX_BITS`; for constants out of the
/// precondition (`d >= 2^(n+1)`), [`SynthesisError::Unsatisfiable`].
pub fn is_less_than(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<Boolean<Fr>, SynthesisError> {
    check_width(n)?;
    let two_n = pow2(n);
    let d = Affine::new(&[(Fr::ONE, a), (-Fr::ONE, b)], two_n);
    if d.is_constant() {
        let d = d.value.ok_or(SynthesisError::AssignmentMissing)?;
        constant_holds(fits_in_bits(d, n + 1))?;
        return Ok(Boolean::constant(!d.into_bigint().get_bit(n)));
    }
    let d_bits = d.value.map(|v| v.into_bigint());
    let ge = Boolean::new_witness(d.cs.clone(), || {
        d_bits
            .map(|v| v.get_bit(n))
            .ok_or(SynthesisError::AssignmentMissing)
    })?;
    let mut rest = d;
    rest.terms.push((-two_n, ge.variable()));
    rest.value = rest
        .value
        .and_then(|v| ge.value().ok().map(|g| v - two_n * Fr::from(g)));
    range_affine(&rest, n)?;
    Ok(!ge)
}

/// The bit `a <= b` for `a, b < 2^n` (**precondition, not checked**): `n + 1`
/// constraints. Errors as [`is_less_than`].
pub fn is_less_or_equal(
    a: &FpVar<Fr>,
    b: &FpVar<Fr>,
    n: usize,
) -> Result<Boolean<Fr>, SynthesisError> {
    Ok(!is_less_than(b, a, n)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget_test::{fp, MODES};
    use crate::poseidon::test_util::Tamper;
    use crate::range;
    use ark_r1cs_std::{alloc::AllocationMode, eq::EqGadget};
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use proptest::prelude::*;

    /// Runs `f` on `x` allocated in `mode`: `Some(satisfied)`, or `None` if `f` refused.
    fn check(
        x: Fr,
        mode: AllocationMode,
        f: impl Fn(&FpVar<Fr>) -> Result<(), SynthesisError>,
    ) -> Option<bool> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = fp(&cs, x, mode);
        match f(&v) {
            Ok(()) => Some(cs.is_satisfied().unwrap()),
            Err(e) => {
                assert_eq!(e, SynthesisError::Unsatisfiable);
                None
            }
        }
    }

    #[test]
    fn range_accepts_max_rejects_overflow_in_every_mode() {
        for n in [1, 8, 64, 200, MAX_BITS] {
            let max = pow2(n) - Fr::ONE;
            for mode in MODES {
                let is_const = mode == AllocationMode::Constant;
                let reject = if is_const { None } else { Some(false) };
                for f in [
                    (|v: &FpVar<Fr>, n| enforce_range(v, n)) as fn(&FpVar<Fr>, usize) -> _,
                    |v, n| enforce_bits(v, n).map(|_| ()),
                ] {
                    assert_eq!(check(Fr::ZERO, mode, |v| f(v, n)), Some(true));
                    assert_eq!(check(max, mode, |v| f(v, n)), Some(true), "n = {n}");
                    assert_eq!(check(pow2(n), mode, |v| f(v, n)), reject, "n = {n}");
                    assert_eq!(check(-Fr::ONE, mode, |v| f(v, n)), reject, "n = {n}");
                }
            }
        }
    }

    #[test]
    fn range_zero_bits_means_zero() {
        assert_eq!(
            check(Fr::ZERO, AllocationMode::Witness, |v| enforce_range(v, 0)),
            Some(true)
        );
        assert_eq!(
            check(Fr::ONE, AllocationMode::Witness, |v| enforce_range(v, 0)),
            Some(false)
        );
        assert_eq!(
            check(Fr::ONE, AllocationMode::Witness, |v| enforce_bits(v, 0)
                .map(|_| ())),
            Some(false)
        );
    }

    #[test]
    fn range_refuses_too_wide() {
        let v = FpVar::Constant(Fr::ONE);
        assert_eq!(
            enforce_range(&v, MAX_BITS + 1),
            Err(SynthesisError::ArityMismatch)
        );
        assert_eq!(
            enforce_bits(&v, MAX_BITS + 1).unwrap_err(),
            SynthesisError::ArityMismatch
        );
        assert_eq!(
            is_less_than(&v, &v, MAX_BITS + 1).unwrap_err(),
            SynthesisError::ArityMismatch
        );
    }

    #[test]
    fn bits_equal_native() {
        let x = Fr::from(0xdead_beef_u64);
        let expected = range::to_bits_le(x, 40).unwrap();
        for mode in MODES {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits = enforce_bits(&fp(&cs, x, mode), 40).unwrap();
            assert_eq!(bits.value().unwrap(), expected, "{mode:?}");
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn constraint_counts() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        enforce_range(&fp(&cs, Fr::from(5u64), AllocationMode::Witness), 64).unwrap();
        assert_eq!(cs.num_constraints(), 64);
        let cs = ConstraintSystem::<Fr>::new_ref();
        enforce_bits(&fp(&cs, Fr::from(5u64), AllocationMode::Witness), 64).unwrap();
        assert_eq!(cs.num_constraints(), 65);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (a, b) = (
            fp(&cs, Fr::from(5u64), AllocationMode::Witness),
            fp(&cs, Fr::from(9u64), AllocationMode::Witness),
        );
        let lt = is_less_than(&a, &b, 64).unwrap();
        assert!(lt.value().unwrap());
        assert_eq!(cs.num_constraints(), 65);
        enforce_less_than(&a, &b, 64).unwrap();
        assert_eq!(cs.num_constraints(), 65 + 64);
        // Setup mode has the same shape.
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        let w = || FpVar::new_witness(cs.clone(), || -> Result<Fr, _> { unreachable!() }).unwrap();
        let lt = is_less_than(&w(), &w(), 64).unwrap();
        assert!(lt.value().is_err());
        assert_eq!(cs.num_constraints(), 65);
    }

    /// All comparison gadgets on (a, b) in the given modes, against the native relations.
    fn compare_all(a: Fr, b: Fr, n: usize, ma: AllocationMode, mb: AllocationMode) {
        let lt = range::is_less_than(a, b, n).unwrap();
        let le = range::is_less_or_equal(a, b, n).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (va, vb) = (fp(&cs, a, ma), fp(&cs, b, mb));
        assert_eq!(is_less_than(&va, &vb, n).unwrap().value().unwrap(), lt);
        assert_eq!(is_less_or_equal(&va, &vb, n).unwrap().value().unwrap(), le);
        assert!(cs.is_satisfied().unwrap());
        for (f, holds) in [
            (enforce_less_than as fn(&_, &_, usize) -> _, lt),
            (enforce_less_or_equal, le),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (va, vb) = (fp(&cs, a, ma), fp(&cs, b, mb));
            match f(&va, &vb, n) {
                Ok(()) => assert_eq!(
                    cs.is_satisfied().unwrap(),
                    holds,
                    "{a} ? {b}, {ma:?} {mb:?}"
                ),
                Err(e) => {
                    assert_eq!(e, SynthesisError::Unsatisfiable);
                    assert!(
                        !holds && ma == AllocationMode::Constant && mb == AllocationMode::Constant
                    );
                }
            }
        }
    }

    #[test]
    fn comparisons_less_greater_equal_in_every_mode() {
        let n = 64;
        let max = pow2(n) - Fr::ONE;
        let pairs = [
            (Fr::from(3u64), Fr::from(5u64)),
            (Fr::from(5u64), Fr::from(3u64)),
            (Fr::from(7u64), Fr::from(7u64)),
            (Fr::ZERO, max),
            (max, Fr::ZERO),
            (max, max),
            (max - Fr::ONE, max),
        ];
        for (a, b) in pairs {
            for ma in MODES {
                for mb in MODES {
                    compare_all(a, b, n, ma, mb);
                }
            }
        }
    }

    #[test]
    fn comparison_with_a_tampered_witness_fails() {
        let (a, b) = (Fr::from(3u64), Fr::from(5u64));
        let cs = ConstraintSystem::<Fr>::new_ref();
        let va = fp(&cs, a, AllocationMode::Witness);
        let vb = fp(&cs, b, AllocationMode::Witness);
        let lt = is_less_than(&va, &vb, 16).unwrap();
        lt.enforce_equal(&Boolean::new_input(cs.clone(), || Ok(true)).unwrap())
            .unwrap();
        let mut tamper = Tamper::new(&cs);
        assert!(tamper.is_satisfied());
        // Witness 0 and 1 are a and b; 2 is the `a >= b` bit; then the low bits.
        assert!(!tamper.satisfied_with(2, Fr::ONE), "flipped comparison bit");
        for i in 3..tamper.num_witnesses() {
            let flipped = Fr::ONE - tamper.witness(i);
            assert!(!tamper.satisfied_with(i, flipped), "bit witness {i}");
        }
        // Changing b alone (keeping every bit) breaks the decomposition.
        assert!(!tamper.satisfied_with(1, b + Fr::ONE));
    }

    #[test]
    fn claimed_wrong_comparison_fails() {
        for (a, b, claim) in [(3u64, 5u64, false), (5, 3, true), (4, 4, true)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let va = fp(&cs, Fr::from(a), AllocationMode::Witness);
            let vb = fp(&cs, Fr::from(b), AllocationMode::Witness);
            let claimed = Boolean::new_witness(cs.clone(), || Ok(claim)).unwrap();
            is_less_than(&va, &vb, 8)
                .unwrap()
                .enforce_equal(&claimed)
                .unwrap();
            assert!(!cs.is_satisfied().unwrap(), "{a} < {b} claimed {claim}");
        }
    }

    #[test]
    fn unbounded_operands_are_unsound_as_documented() {
        // p - 1 ("-1") is not < 2^n; enforce_less_than(p - 1, 0) nevertheless holds.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = fp(&cs, -Fr::ONE, AllocationMode::Witness);
        let b = fp(&cs, Fr::ZERO, AllocationMode::Witness);
        enforce_less_than(&a, &b, 64).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // With the precondition enforced, the statement fails as it should.
        enforce_range(&a, 64).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn comparisons_equal_native(a in any::<u64>(), b in any::<u64>(), n in 1..=64usize) {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            let (a, b) = (Fr::from(a & mask), Fr::from(b & mask));
            compare_all(a, b, n, AllocationMode::Witness, AllocationMode::Witness);
        }

        #[test]
        fn range_equals_native(x in any::<u128>(), n in 0..=128usize) {
            let x = Fr::from(x);
            let expected = range::fits_in_bits(x, n);
            prop_assert_eq!(check(x, AllocationMode::Witness, |v| enforce_range(v, n)), Some(expected));
            prop_assert_eq!(check(x, AllocationMode::Witness, |v| enforce_bits(v, n).map(|_| ())), Some(expected));
        }
    }
}
