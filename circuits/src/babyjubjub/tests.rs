//! Native Baby Jubjub against circomlibjs's vectors, decoding rejections and the map to
//! ark-ed-on-bn254.

use super::*;
use crate::test_vectors::{fr, load};
use ark_ec::PrimeGroup;
use ark_ff::AdditiveGroup;
use ark_std::UniformRand;
use rand::SeedableRng;

fn pt(v: &serde_json::Value) -> Point {
    let p = Point::new_unchecked(fr(&v[0]), fr(&v[1]));
    assert!(p.is_on_curve());
    p
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(0x5ea1_9e1d)
}

#[test]
fn constants_match_circomlibjs() {
    let v = load("babyjubjub.json");
    assert_eq!(fr(&v["a"]), COEFF_A);
    assert_eq!(fr(&v["d"]), COEFF_D);
    assert_eq!(pt(&v["base8"]), BASE8);
    assert_eq!(pt(&v["generator"]), GENERATOR);
    assert_eq!(
        v["sub_order"].as_str().unwrap(),
        BigUint::from(Scalar::MODULUS).to_string()
    );
    let order = BigUint::from(Scalar::MODULUS) * 8u32;
    assert_eq!(v["order"].as_str().unwrap(), order.to_string());
    // Base8 = 8 * Generator, Generator has order exactly 8 l.
    assert_eq!(mul_integer(&GENERATOR, &[8]), BASE8);
    assert!(!GENERATOR.is_in_correct_subgroup_assuming_on_curve());
    assert!(mul_biguint(&GENERATOR, &order).is_zero());
    assert!(BASE8.is_on_curve() && BASE8.is_in_correct_subgroup_assuming_on_curve());
    assert_eq!(ProjectivePoint::generator(), BASE8.into_group());
    // cofactor inverse
    assert_eq!(
        BabyJubjubConfig::COFACTOR_INV * Scalar::from(8u64),
        Scalar::ONE
    );
    // a square, d non-square: the addition law is complete.
    assert!(COEFF_A.legendre().is_qr());
    assert!(COEFF_D.legendre().is_qnr());
    // Montgomery constants
    assert_eq!(MONT_A, (COEFF_A + COEFF_D).double() / (COEFF_A - COEFF_D));
    assert_eq!(MONT_B, Fr::from(4u64) / (COEFF_A - COEFF_D));
}

#[test]
fn add_matches_circomlibjs() {
    let v = load("babyjubjub.json");
    for case in v["add"].as_array().unwrap() {
        let (a, b) = (pt(&case["a"]), pt(&case["b"]));
        assert_eq!((a + b).into_affine(), pt(&case["sum"]));
    }
}

#[test]
fn mul_matches_circomlibjs() {
    let v = load("babyjubjub.json");
    for case in v["mul"].as_array().unwrap() {
        let base = pt(&case["base"]);
        let k = BigUint::from_str(case["scalar"].as_str().unwrap()).unwrap();
        let expect = pt(&case["result"]);
        assert_eq!(mul_biguint(&base, &k), expect);
        // Subgroup points: reducing the scalar mod l gives the same point.
        assert_eq!((base * Scalar::from(k)).into_affine(), expect);
    }
}

#[test]
fn decoding_matches_circomlibjs() {
    let v = load("babyjubjub.json");
    for case in v["decode"].as_array().unwrap() {
        let (x, y) = (
            case["point"][0].as_str().unwrap(),
            case["point"][1].as_str().unwrap(),
        );
        let got = point_from_decimal(x, y);
        let want = if !case["canonical"].as_bool().unwrap() {
            Err(CurveError::NonCanonicalCoordinate)
        } else if !case["on_curve"].as_bool().unwrap() {
            Err(CurveError::NotOnCurve)
        } else if !case["in_subgroup"].as_bool().unwrap() {
            Err(CurveError::NotInSubgroup)
        } else {
            Ok(Point::new_unchecked(
                fr_from_decimal(x).unwrap(),
                fr_from_decimal(y).unwrap(),
            ))
        };
        assert_eq!(got, want, "{case}");
        // The same through 32-byte little-endian coordinates.
        let le = |s: &str| {
            let mut b = BigUint::from_str(s).unwrap().to_bytes_le();
            b.resize(32, 0);
            <[u8; 32]>::try_from(b.as_slice()).unwrap()
        };
        assert_eq!(point_from_le_bytes(&le(x), &le(y)), want);
        if let Some(packed) = case.get("packed") {
            let bytes: [u8; 32] = hex::decode(packed.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let p = want.clone().unwrap();
            assert_eq!(pack(&p), bytes);
            assert!(case["unpacks"].as_bool().unwrap());
            assert_eq!(unpack(&bytes), Ok(p));
        }
    }
}

#[test]
fn unpack_rejects_bad_encodings() {
    let mut rng = rng();
    // y >= p (here y = p and y = p + 1 with the top bit clear)
    let mut modulus = [0u8; 32];
    modulus.copy_from_slice(&Fr::MODULUS.to_bytes_le());
    assert_eq!(unpack(&modulus), Err(CurveError::NonCanonicalCoordinate));
    // identity (0, 1) is fine; (0, 1) with the sign bit is not canonical
    let mut one = fr_to_le_bytes(&Fr::ONE);
    assert_eq!(unpack(&one), Ok(Point::zero()));
    one[31] |= 0x80;
    assert_eq!(unpack(&one), Err(CurveError::InvalidPacking));
    // (0, -1) has order 2
    assert_eq!(
        unpack(&fr_to_le_bytes(&-Fr::ONE)),
        Err(CurveError::NotInSubgroup)
    );
    // a y with no x: find one
    let mut found_bad_y = false;
    let mut found_outside = false;
    for _ in 0..64 {
        let y = Fr::rand(&mut rng);
        match unpack(&fr_to_le_bytes(&y)) {
            Err(CurveError::InvalidPacking) => found_bad_y = true,
            Err(CurveError::NotInSubgroup) => found_outside = true,
            Ok(p) => assert_eq!(unpack(&pack(&p)), Ok(p)),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(found_bad_y && found_outside);
    // a point outside the subgroup, packed
    let outside = (BASE8 + GENERATOR).into_affine();
    assert_eq!(unpack(&pack(&outside)), Err(CurveError::NotInSubgroup));
}

#[test]
fn scalar_and_field_decoding_reject_non_canonical() {
    let l = BigUint::from(Scalar::MODULUS);
    let p = BigUint::from(Fr::MODULUS);
    let one = BigUint::from(1u32);
    assert_eq!(
        scalar_from_decimal(&(&l - &one).to_string()),
        Ok(-Scalar::ONE)
    );
    assert_eq!(
        scalar_from_decimal(&l.to_string()),
        Err(CurveError::NonCanonicalScalar)
    );
    assert!(matches!(
        scalar_from_decimal("12a"),
        Err(CurveError::NotDecimal(_))
    ));
    assert!(matches!(
        scalar_from_decimal(""),
        Err(CurveError::NotDecimal(_))
    ));
    assert!(matches!(
        fr_from_decimal("-1"),
        Err(CurveError::NotDecimal(_))
    ));
    let le = |n: &BigUint| {
        let mut b = n.to_bytes_le();
        b.resize(32, 0);
        <[u8; 32]>::try_from(b.as_slice()).unwrap()
    };
    assert_eq!(scalar_from_le_bytes(&le(&(&l - &one))), Ok(-Scalar::ONE));
    assert_eq!(
        scalar_from_le_bytes(&le(&l)),
        Err(CurveError::NonCanonicalScalar)
    );
    assert_eq!(fr_from_le_bytes(&le(&(&p - &one))), Ok(-Fr::ONE));
    assert_eq!(
        fr_from_le_bytes(&le(&p)),
        Err(CurveError::NonCanonicalCoordinate)
    );
    assert_eq!(
        fr_from_decimal(&p.to_string()),
        Err(CurveError::NonCanonicalCoordinate)
    );
    assert_eq!(
        scalar_to_bits_le(&-Scalar::ONE).len(),
        Scalar::MODULUS_BIT_SIZE as usize
    );
}

#[test]
fn ark_form_is_an_isomorphism() {
    use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective};
    let mut rng = rng();
    let s = ark_form::sqrt_a();
    assert_eq!(s.square(), COEFF_A);
    // identity and generators
    assert_eq!(ark_form::to_ark(&Point::zero()), EdwardsAffine::zero());
    let ark_gen = EdwardsAffine::generator();
    let back = ark_form::from_ark(&ark_gen);
    assert!(back.is_on_curve() && back.is_in_correct_subgroup_assuming_on_curve());
    assert_ne!(back, BASE8);
    let b8 = ark_form::to_ark(&BASE8);
    assert!(b8.is_on_curve() && b8.is_in_correct_subgroup_assuming_on_curve());
    for _ in 0..16 {
        let (k1, k2) = (Scalar::rand(&mut rng), Scalar::rand(&mut rng));
        let p = (BASE8 * k1).into_affine();
        let q = (BASE8 * k2).into_affine();
        let (pa, qa) = (ark_form::to_ark(&p), ark_form::to_ark(&q));
        assert!(pa.is_on_curve() && pa.is_in_correct_subgroup_assuming_on_curve());
        assert_eq!(ark_form::from_ark(&pa), p);
        // homomorphism: f(p + q) = f(p) + f(q), f(k p) = k f(p), f(-p) = -f(p)
        assert_eq!(
            ark_form::to_ark(&(p + q).into_affine()),
            (pa + qa).into_affine()
        );
        assert_eq!(
            ark_form::to_ark(&(p * k2).into_affine()),
            (EdwardsProjective::from(pa) * k2).into_affine()
        );
        assert_eq!(ark_form::to_ark(&-p), -pa);
        // the other direction on ark's own points
        let r = (ark_gen * k1).into_affine();
        assert_eq!(
            ark_form::from_ark(&(r + pa).into_affine()),
            (ark_form::from_ark(&r) + p).into_affine()
        );
    }
    // Points outside the subgroup map outside it too.
    let g = ark_form::to_ark(&GENERATOR);
    assert!(g.is_on_curve() && !g.is_in_correct_subgroup_assuming_on_curve());
}
