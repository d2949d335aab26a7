//! Native ElGamal against the vectors built from circomlibjs's group operations, and
//! baby-step giant-step.

use super::*;
use crate::babyjubjub::scalar_from_decimal;
use crate::test_vectors::{fr, load};
use once_cell::sync::Lazy;
use rand::{Rng, SeedableRng};

/// One modest table for every test: 2^16 baby steps (about 1.3 MB).
pub(crate) static TABLE: Lazy<DlogTable> = Lazy::new(|| DlogTable::new(1 << 16));

fn pt(v: &serde_json::Value) -> Point {
    Point::new_unchecked(fr(&v[0]), fr(&v[1]))
}

#[test]
fn matches_vectors() {
    let v = load("elgamal.json");
    for case in v["vectors"].as_array().unwrap() {
        let sk = SecretKey(scalar_from_decimal(case["sk"].as_str().unwrap()).unwrap());
        let pk = sk.public_key();
        assert_eq!(pk.0, pt(&case["pk"]));
        assert_eq!(PublicKey::from_coordinates(pk.0.x, pk.0.y), Ok(pk));
        let r = scalar_from_decimal(case["r"].as_str().unwrap()).unwrap();
        let m: u64 = case["m"].as_str().unwrap().parse().unwrap();
        let ct = encrypt(&pk, m, &r);
        assert_eq!(ct.c1, pt(&case["c1"]));
        assert_eq!(ct.c2, pt(&case["c2"]));
        assert_eq!(
            decrypt_to_point(&sk, &ct),
            (BASE8 * Scalar::from(m)).into_affine()
        );
        if m < 1 << 24 {
            assert_eq!(decrypt(&sk, &ct, &TABLE, 24), Some(m));
        }
    }
}

#[test]
fn public_key_decoding_rejects_bad_points() {
    use ark_ff::{One, Zero};
    assert_eq!(
        PublicKey::from_coordinates(Fr::zero(), Fr::one()),
        Err(ElGamalError::IdentityKey)
    );
    let g = crate::babyjubjub::GENERATOR;
    assert_eq!(
        PublicKey::from_coordinates(g.x, g.y),
        Err(ElGamalError::Curve(CurveError::NotInSubgroup))
    );
    assert_eq!(
        PublicKey::from_coordinates(g.x, g.y + Fr::one()),
        Err(ElGamalError::Curve(CurveError::NotOnCurve))
    );
}

#[test]
fn ciphertexts_add_homomorphically() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let sk = SecretKey::random(&mut rng);
    let pk = sk.public_key();
    let ms: Vec<u64> = (0..17).map(|_| rng.gen_range(0..1u64 << 20)).collect();
    let rs: Vec<Scalar> = (0..17).map(|_| Scalar::rand(&mut rng)).collect();
    let cts: Vec<Ciphertext> = ms
        .iter()
        .zip(&rs)
        .map(|(m, r)| encrypt(&pk, *m, r))
        .collect();
    let sum: Ciphertext = cts.iter().sum();
    let total: u64 = ms.iter().sum();
    assert_eq!(sum, encrypt(&pk, total, &rs.iter().sum()));
    assert_eq!(
        cts[0] + cts[1],
        encrypt(&pk, ms[0] + ms[1], &(rs[0] + rs[1]))
    );
    assert_eq!(decrypt(&sk, &sum, &TABLE, 32), Some(total));
    assert_eq!(format!("{sk:?}"), "SecretKey(..)");
}

#[test]
fn baby_step_giant_step() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
    let g = |m: u64| (BASE8 * Scalar::from(m)).into_affine();
    assert_eq!(TABLE.baby_steps(), 1 << 16);
    for m in [
        0u64,
        1,
        2,
        (1 << 16) - 1,
        1 << 16,
        (1 << 16) + 1,
        (1 << 32) - 1,
    ] {
        assert_eq!(TABLE.solve(&g(m), 32), Some(m), "{m}");
    }
    for _ in 0..8 {
        let m = rng.gen_range(0..1u64 << 32);
        assert_eq!(TABLE.solve(&g(m), 32), Some(m));
    }
    // out of range: m >= 2^bits is not found
    assert_eq!(TABLE.solve(&g(1 << 20), 20), None);
    assert_eq!(TABLE.solve(&g(5), 2), None);
    // a tiny table still works, over more giant steps
    let small = DlogTable::new(7);
    for m in [0u64, 6, 7, 8, 1000] {
        assert_eq!(small.solve(&g(m), 10), Some(m));
    }
}

/// 40-bit messages. On the 2^16 table the worst case, 2^40 - 1, takes 2^24 giant
/// steps (about 7 s in a debug build), so this test balances the two sides with a
/// 2^20-step table (about 21 MB): 2^20 giant steps at most.
#[test]
fn baby_step_giant_step_40_bits() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let g = |m: u64| (BASE8 * Scalar::from(m)).into_affine();
    let t = std::time::Instant::now();
    let table = DlogTable::new(1 << 20);
    let built = t.elapsed();
    for m in [(1u64 << 40) - 1, rng.gen_range(0..1u64 << 40)] {
        assert_eq!(table.solve(&g(m), 40), Some(m));
    }
    println!(
        "2^20 baby steps built in {built:?}; 2 solves of 40 bits: {:?}",
        t.elapsed() - built
    );
}
