//! Every gadget against the native code, in every allocation mode, plus the
//! circomlibjs vectors and one failing case per check.

use super::*;
use crate::babyjubjub::{mul_biguint, Scalar, BASE8, GENERATOR};
use crate::gadget_test::{alloc, fp, MODES};
use crate::test_vectors::{fr, load};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::alloc::AllocationMode::{self, Constant, Input, Witness};
use ark_relations::gr1cs::ConstraintSystem;
use ark_std::UniformRand;
use bits::{enforce_below_order, enforce_le_constant};
use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use std::str::FromStr;

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(0xb1b5)
}

fn random_point(rng: &mut impl Rng) -> Point {
    (BASE8 * Scalar::rand(rng)).into_affine()
}

fn l() -> BigUint {
    BigUint::from(Scalar::MODULUS)
}

fn random_bits(rng: &mut impl Rng, n: usize) -> BigUint {
    let mut k = BigUint::default();
    for i in 0..n {
        k.set_bit(i as u64, rng.gen());
    }
    k
}

fn alloc_bits(
    cs: &ConstraintSystemRef<Fr>,
    k: &BigUint,
    n: usize,
    mode: AllocationMode,
) -> Vec<Boolean<Fr>> {
    assert!(k.bits() as usize <= n);
    (0..n).map(|i| alloc(cs, k.bit(i as u64), mode)).collect()
}

fn alloc_point(cs: &ConstraintSystemRef<Fr>, p: Point, mode: AllocationMode) -> PointVar {
    alloc(cs, p, mode)
}

fn pt(v: &serde_json::Value) -> Point {
    Point::new_unchecked(fr(&v[0]), fr(&v[1]))
}

/// Scalars every multiplication is tested with, for `n`-bit inputs.
fn scalars(rng: &mut impl Rng, n: usize) -> Vec<BigUint> {
    let one = BigUint::from(1u32);
    let mut v = vec![
        BigUint::default(),
        one.clone(),
        BigUint::from(2u32),
        BigUint::from(3u32),
        l() - &one,
        l(),
        l() + &one,
        random_bits(rng, n),
        (BigUint::from(1u32) << (n - 1)) - &one,
        (BigUint::from(1u32) << n) - &one,
        BigUint::from(1u32) << (n - 1),
    ];
    v.retain(|k| k.bits() as usize <= n);
    v
}

#[test]
fn allocation_accepts_subgroup_points() {
    let mut rng = rng();
    for mode in MODES {
        for p in [BASE8, Point::zero(), random_point(&mut rng)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let v = alloc_point(&cs, p, mode);
            assert_eq!(v.value().unwrap(), p);
            assert!(cs.is_satisfied().unwrap());
            let expect = if mode == Constant { 0 } else { 18 };
            assert_eq!(cs.num_constraints(), expect, "{mode:?}");
        }
    }
}

#[test]
fn allocation_rejects_points_outside_the_subgroup() {
    let mut rng = rng();
    let l = l();
    let order2 = Point::new_unchecked(Fr::zero(), -Fr::one());
    let order4 = mul_biguint(&GENERATOR, &(&l * 2u32));
    let order8 = mul_biguint(&GENERATOR, &l);
    let mixed = (random_point(&mut rng) + order8).into_affine();
    let off_curve = Point::new_unchecked(BASE8.x, BASE8.y + Fr::one());
    assert!(order4.is_on_curve() && !order4.is_zero());
    let v = load("babyjubjub.json");
    let mut bad = vec![order2, order4, order8, mixed, off_curve, GENERATOR];
    for case in v["decode"].as_array().unwrap() {
        if case["canonical"].as_bool().unwrap() && !case["in_subgroup"].as_bool().unwrap() {
            bad.push(pt(&case["point"]));
        }
    }
    for mode in [Input, Witness] {
        for p in &bad {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let _v = alloc_point(&cs, *p, mode);
            assert!(!cs.is_satisfied().unwrap(), "{mode:?} accepted {p}");
        }
    }
}

#[test]
fn add_double_negate_match_native() {
    let mut rng = rng();
    let pts = [
        Point::zero(),
        BASE8,
        random_point(&mut rng),
        random_point(&mut rng),
    ];
    for m1 in MODES {
        for m2 in MODES {
            for a in &pts {
                for b in pts.iter().chain([&-*a, a]) {
                    let cs = ConstraintSystem::<Fr>::new_ref();
                    let (av, bv) = (alloc_point(&cs, *a, m1), alloc_point(&cs, *b, m2));
                    assert_eq!(
                        av.add(&bv).unwrap().value().unwrap(),
                        (*a + b).into_affine()
                    );
                    assert_eq!(
                        av.sub(&bv).unwrap().value().unwrap(),
                        (*a - b).into_affine()
                    );
                    assert_eq!(
                        av.double().unwrap().value().unwrap(),
                        (*a + a).into_affine()
                    );
                    assert_eq!(av.negate().value().unwrap(), -*a);
                    assert!(cs.is_satisfied().unwrap());
                }
            }
        }
    }
}

#[test]
fn add_matches_circomlibjs() {
    let v = load("babyjubjub.json");
    for case in v["add"].as_array().unwrap() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = alloc_point(&cs, pt(&case["a"]), Witness);
        let b = alloc_point(&cs, pt(&case["b"]), Input);
        let sum = alloc_point(&cs, pt(&case["sum"]), Witness);
        a.add(&b).unwrap().enforce_equal(&sum).unwrap();
        assert!(cs.is_satisfied().unwrap());
    }
}

#[test]
fn select_identity_and_equality() {
    let mut rng = rng();
    let (p, q) = (random_point(&mut rng), random_point(&mut rng));
    for mode in MODES {
        for c in [false, true] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (pv, qv) = (alloc_point(&cs, p, mode), alloc_point(&cs, q, mode));
            let cv: Boolean<Fr> = alloc(&cs, c, mode);
            let s = PointVar::conditionally_select(&cv, &pv, &qv).unwrap();
            assert_eq!(s.value().unwrap(), if c { p } else { q });
            assert!(!pv.is_identity().unwrap().value().unwrap());
            let id = alloc_point(&cs, Point::zero(), mode);
            assert!(id.is_identity().unwrap().value().unwrap());
            assert!(pv.is_eq(&pv).unwrap().value().unwrap());
            assert!(!pv.is_eq(&qv).unwrap().value().unwrap());
            assert!(cs.is_satisfied().unwrap());
            if mode != Constant {
                pv.enforce_equal(&qv).unwrap();
                assert!(!cs.is_satisfied().unwrap());
            }
        }
    }
}

fn check_mul(
    name: &str,
    p: Point,
    k: &BigUint,
    n: usize,
    pm: AllocationMode,
    bm: AllocationMode,
    f: impl Fn(&PointVar, &[Boolean<Fr>]) -> Result<PointVar, SynthesisError>,
) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let pv = alloc_point(&cs, p, pm);
    let bits = alloc_bits(&cs, k, n, bm);
    let r = f(&pv, &bits).unwrap();
    let expect = mul_biguint(&p, k);
    assert_eq!(
        r.value().unwrap(),
        expect,
        "{name}: k = {k}, n = {n}, {pm:?}/{bm:?}"
    );
    assert!(
        cs.is_satisfied().unwrap(),
        "{name}: k = {k}, n = {n}, {pm:?}/{bm:?}"
    );
    if bm != Constant || pm != Constant {
        // A wrong claimed result fails.
        let wrong = alloc_point(&cs, (expect + BASE8).into_affine(), Witness);
        r.enforce_equal(&wrong).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}

#[test]
fn fixed_base_mul_matches_native() {
    let mut rng = rng();
    // 251 and 252 bits end in a segment of one window (249 + 2, 249 + 3).
    for n in [1, 2, 3, 4, 64, 251, 252, 253, 254] {
        for k in scalars(&mut rng, n) {
            for bm in MODES {
                let base = if n % 2 == 0 {
                    BASE8
                } else {
                    random_point(&mut rng)
                };
                check_mul("fixed", base, &k, n, Constant, bm, |_, b| {
                    fixed_base_mul(&base, b)
                });
            }
        }
    }
}

#[test]
fn fixed_base_mul_many_matches_native() {
    let mut rng = rng();
    // 2 and 4 bases: 3-bit monomial windows; 8 bases: 4-bit windows (with the identity
    // among them). 251 bits end in a segment of one window (249 + 2 and 248 + 3 bits).
    for (count, ns) in [
        (2, &[5, 251, 253][..]),
        (4, &[251, 254][..]),
        (8, &[5, 251, 252, 254][..]),
    ] {
        let bases: Vec<Point> = (1..count)
            .map(|i| match i {
                7 => Point::zero(),
                _ => random_point(&mut rng),
            })
            .chain([BASE8])
            .collect();
        for &n in ns {
            for k in scalars(&mut rng, n).into_iter().step_by(2) {
                for bm in MODES {
                    let cs = ConstraintSystem::<Fr>::new_ref();
                    let bits = alloc_bits(&cs, &k, n, bm);
                    let rs = fixed_base_mul_many(&bases, &bits).unwrap();
                    for (r, b) in rs.iter().zip(&bases) {
                        assert_eq!(r.value().unwrap(), mul_biguint(b, &k));
                    }
                    assert!(cs.is_satisfied().unwrap());
                }
            }
        }
    }
}

#[test]
fn variable_base_mul_matches_native() {
    let mut rng = rng();
    for n in [1, 2, 3, 8, 253, 254, 256] {
        for k in scalars(&mut rng, n) {
            for pm in MODES {
                for bm in MODES {
                    for p in [random_point(&mut rng), Point::zero()] {
                        check_mul("variable", p, &k, n, pm, bm, variable_base_mul);
                    }
                }
            }
        }
    }
}

#[test]
fn multiplications_match_circomlibjs() {
    let v = load("babyjubjub.json");
    for case in v["mul"].as_array().unwrap() {
        let base = pt(&case["base"]);
        let k = BigUint::from_str(case["scalar"].as_str().unwrap()).unwrap();
        let expect = pt(&case["result"]);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits = alloc_bits(&cs, &k, 254, Witness);
        let pv = alloc_point(&cs, base, Witness);
        let want = alloc_point(&cs, expect, Input);
        fixed_base_mul(&base, &bits)
            .unwrap()
            .enforce_equal(&want)
            .unwrap();
        variable_base_mul(&pv, &bits)
            .unwrap()
            .enforce_equal(&want)
            .unwrap();
        fixed_base_mul_many(&[base, BASE8], &bits).unwrap()[0]
            .enforce_equal(&want)
            .unwrap();
        assert!(cs.is_satisfied().unwrap());
    }
}

#[test]
fn scalar_bits_are_canonical() {
    let l = l();
    let p = BigUint::from(Fr::MODULUS);
    let one = BigUint::from(1u32);
    for (value, bound, ok) in [
        (&l - &one, ScalarBound::SubgroupOrder, true),
        (l.clone(), ScalarBound::SubgroupOrder, false),
        (&p - &one, ScalarBound::SubgroupOrder, false),
        (&p - &one, ScalarBound::FieldModulus, true),
        (l.clone(), ScalarBound::FieldModulus, true),
    ] {
        for mode in [Input, Witness] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let x = fp(&cs, Fr::from(value.clone()), mode);
            let bits = fp_to_bits_le(&x, bound).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{value} {bound:?}");
            if ok {
                assert_eq!(bits::bits_value(&bits).unwrap(), value);
            }
        }
        let c = fp_to_bits_le(&FpVar::Constant(Fr::from(value.clone())), bound);
        assert_eq!(c.is_ok(), ok);
    }
    for mode in MODES {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let s = -Scalar::from(1u64);
        let bits = alloc_scalar_bits(cs.clone(), || Ok(s), mode).unwrap();
        assert_eq!(bits::bits_value(&bits).unwrap(), &l - &one);
        assert!(cs.is_satisfied().unwrap());
    }
    // A witness above l fails: allocate l's bits by hand and compare.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let bits = alloc_bits(&cs, &l, 251, Witness);
    let x = Boolean::le_bits_to_fp(&bits).unwrap();
    fp_to_bits_le(&x, ScalarBound::SubgroupOrder).unwrap();
    assert!(!cs.is_satisfied().unwrap());
}

/// Constraint counts; `cargo test -p sealgrid-circuits constraint_counts -- --nocapture`.
#[test]
fn constraint_counts() {
    let mut rng = rng();
    let count = |f: &dyn Fn(&ConstraintSystemRef<Fr>)| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        f(&cs);
        assert!(cs.is_satisfied().unwrap());
        cs.num_constraints()
    };
    let k253 = random_bits(&mut rng, 253);
    let k254 = random_bits(&mut rng, 254);
    let bits_only = count(&|cs| drop(alloc_bits(cs, &k253, 253, Witness)));
    let fixed = count(&|cs| {
        let b = alloc_bits(cs, &k253, 253, Witness);
        fixed_base_mul(&BASE8, &b).unwrap();
    }) - bits_only;
    let p = random_point(&mut rng);
    let bits254 = count(&|cs| drop(alloc_bits(cs, &k254, 254, Witness)));
    let variable = count(&|cs| {
        let pv = alloc_point(cs, p, Witness);
        let b = alloc_bits(cs, &k254, 254, Witness);
        variable_base_mul(&pv, &b).unwrap();
    }) - bits254
        - 18;
    let variable253 = count(&|cs| {
        let pv = alloc_point(cs, p, Witness);
        let b = alloc_bits(cs, &k253, 253, Witness);
        variable_base_mul(&pv, &b).unwrap();
    }) - bits_only
        - 18;
    let many = |m: usize| {
        let bases: Vec<Point> = (0..m)
            .map(|i| mul_biguint(&BASE8, &BigUint::from(i as u32 + 7)))
            .collect();
        count(&|cs| {
            let b = alloc_bits(cs, &k253, 253, Witness);
            fixed_base_mul_many(&bases, &b).unwrap();
        }) - bits_only
    };
    let (m2, m3, m7, m18) = (many(2), many(3), many(7), many(18));
    let to_bits_l = count(&|cs| {
        let x = FpVar::new_witness(cs.clone(), || Ok(Fr::from(7u64))).unwrap();
        fp_to_bits_le(&x, ScalarBound::SubgroupOrder).unwrap();
    });
    let to_bits_p = count(&|cs| {
        let x = FpVar::new_witness(cs.clone(), || Ok(Fr::from(7u64))).unwrap();
        fp_to_bits_le(&x, ScalarBound::FieldModulus).unwrap();
    });
    println!("constraint counts (bit booleanity excluded unless stated):");
    println!("  point allocation (input or witness), on-curve + subgroup: 18");
    println!("  bits booleanity: 1 per bit (253 bits: {bits_only})");
    println!("  fixed_base_mul, 253 bits: {fixed}");
    println!("  variable_base_mul, 254 bits: {variable}; 253 bits: {variable253}");
    println!(
        "  fixed_base_mul_many, 253 bits: 2 bases {m2}, 3 bases {m3}, 7 bases {m7}, 18 bases {m18}, per extra base (7..18) {}",
        (m18 - m7) / 11
    );
    println!(
        "  fp_to_bits_le < l (251 bits incl. booleanity): {to_bits_l}; < p (254 bits): {to_bits_p}"
    );
    assert!(fixed <= 523, "fixed-base {fixed}");
    assert!(variable <= 2310, "variable-base {variable}");
}

fn below_order_holds(n: &BigUint, len: usize) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let bits = alloc_bits(&cs, n, len, Witness);
    enforce_below_order(&bits).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn below_order_boundaries() {
    let l = BigUint::from(Scalar::MODULUS);
    let one = BigUint::one();
    for len in [251, 253, 254] {
        assert!(below_order_holds(&BigUint::from(0u8), len));
        assert!(below_order_holds(&(&l - &one), len), "l - 1, {len} bits");
        assert!(!below_order_holds(&l, len), "l, {len} bits");
        assert!(!below_order_holds(&(&l + &one), len), "l + 1, {len} bits");
        assert!(!below_order_holds(&((&one << 251) - &one), len));
    }
    // S + l for S < l needs 252 bits: the excess bit alone must fail.
    assert!(!below_order_holds(&(&l + &l - &one), 253));
    assert!(!below_order_holds(&(&one << 252u32), 253));
    // Short vectors are padded, not misaligned.
    assert!(below_order_holds(&BigUint::from(5u8), 3));
}

/// `enforce_le_constant` against the plain comparison, exhaustively on 9-bit values,
/// for bounds with every kind of run (single ones, runs of 2, 3 and 4+ ones, which
/// `kary_and` builds differently; leading, inner and trailing zero runs).
#[test]
fn le_constant_matches_integer_comparison() {
    for bound in [
        0b1u16,
        0b10,
        0b11,
        0b1011_0011,
        0b1111_0000,
        0b1000_0001,
        0b1111_1111,
        0b1010_1010,
        0b1110_1111,
        0b1_1110_0111,
    ] {
        let bound_bits: Vec<bool> = (0..16).map(|i| bound >> i & 1 == 1).collect();
        for v in 0u16..512 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits = alloc_bits(&cs, &BigUint::from(v), 9, Witness);
            enforce_le_constant(&bits, &bound_bits).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), v <= bound, "{v} <= {bound}");
        }
    }
}

#[test]
fn strict_bits_of_field_elements() {
    let p = BigUint::from(Fr::MODULUS);
    let mut p_minus_1 = Fr::MODULUS;
    p_minus_1.0[0] -= 1;
    let p_minus_1 = p_minus_1.to_bits_le();
    // The bound itself, and the values a prover would substitute for hm: hm + p.
    for (n, ok) in [
        (&p - 1u8, true),
        (BigUint::from(0u8), true),
        (p.clone(), false),
        (&p + 1u8, false),
        ((BigUint::one() << 254u32) - 1u8, false),
    ] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits = alloc_bits(&cs, &n, 254, Witness);
        enforce_le_constant(&bits, &p_minus_1).unwrap();
        assert_eq!(cs.is_satisfied().unwrap(), ok, "{n}");
    }
    // The gadget: bits equal the native ones; cost pinned.
    for x in [Fr::zero(), -Fr::one(), Fr::from(12345u64), -Fr::from(2u64)] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xv = FpVar::new_witness(cs.clone(), || Ok(x)).unwrap();
        let bits = fp_to_bits_le(&xv, ScalarBound::FieldModulus).unwrap();
        let expected = x.into_bigint().to_bits_le();
        let got: Vec<bool> = bits.iter().map(|b| b.value().unwrap()).collect();
        assert_eq!(got, expected[..254]);
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 255 + 130);
    }
    let bits = fp_to_bits_le(&FpVar::constant(-Fr::one()), ScalarBound::FieldModulus).unwrap();
    assert!(bits.iter().all(|b| b.is_constant()));
}

#[test]
fn below_order_cost() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let bits = alloc_bits(&cs, &BigUint::from(7u8), 251, Witness);
    let before = cs.num_constraints();
    enforce_below_order(&bits).unwrap();
    assert_eq!(cs.num_constraints() - before, 151);
}

/// Randomness bits: the canonical bits of `r` at 251 booleanity constraints and no
/// bound, and a bit string spelling `r + l` (which the bound would refuse) multiplies to
/// exactly the points `r` gives, for every base: the ciphertexts cannot tell them apart.
#[test]
fn randomness_bits_are_unbounded_and_encrypt_with_r_mod_l() {
    let mut rng = rng();
    let bases: Vec<Point> = (0..3).map(|_| random_point(&mut rng)).collect();
    let r = Scalar::from(123_456_789u64);
    let cs = ConstraintSystem::<Fr>::new_ref();
    let bits = alloc_randomness_bits(cs.clone(), || Ok(r)).unwrap();
    assert_eq!(bits.len(), 251);
    assert_eq!(cs.num_constraints(), 251);
    assert_eq!(
        bits::bits_value(&bits).unwrap(),
        BigUint::from(123_456_789u64)
    );
    let wrapped = BigUint::from(123_456_789u64) + l();
    let wrapped_bits = alloc_bits(&cs, &wrapped, 251, Witness);
    let a = fixed_base_mul_many(&bases, &bits).unwrap();
    let b = fixed_base_mul_many(&bases, &wrapped_bits).unwrap();
    for ((pa, pb), base) in a.iter().zip(&b).zip(&bases) {
        assert_eq!(pa.value().unwrap(), pb.value().unwrap());
        assert_eq!(pa.value().unwrap(), (*base * r).into_affine());
    }
    assert!(cs.is_satisfied().unwrap());
    // The bound refuses the same string.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let wrapped_bits = alloc_bits(&cs, &wrapped, 251, Witness);
    enforce_below_order(&wrapped_bits).unwrap();
    assert!(!cs.is_satisfied().unwrap());
}
