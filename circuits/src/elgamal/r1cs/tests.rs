//! Encryption gadgets against the native code in every allocation mode, against the
//! vectors, and a ciphertext of another message failing.

use super::*;
use crate::babyjubjub::r1cs::alloc_scalar_bits;
use crate::babyjubjub::{scalar_from_decimal, Scalar};
use crate::elgamal::{encrypt as native_encrypt, SecretKey};
use crate::gadget_test::{alloc, fp, matches_native, MODES};
use crate::test_vectors::load;
use ark_r1cs_std::alloc::AllocationMode::{self, Constant, Witness};
use ark_relations::gr1cs::ConstraintSystem;
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(0xe1)
}

/// Allocates (m, r bits, pk) in `cs` and runs one of the three encryptions.
fn run(
    cs: &ConstraintSystemRef<Fr>,
    which: usize,
    pk: &PublicKey,
    m: u64,
    r: &Scalar,
    mode: AllocationMode,
) -> CiphertextVar {
    let mv = fp(cs, Fr::from(m), mode);
    let r_bits = alloc_scalar_bits(cs.clone(), || Ok(*r), mode).unwrap();
    match which {
        0 => encrypt_constant_key(pk, &mv, 64, &r_bits).unwrap(),
        1 => encrypt_constant_keys(&[*pk, *pk], &[mv.clone(), mv], 64, &r_bits)
            .unwrap()
            .remove(1),
        _ => {
            let pkv: PointVar = alloc(cs, pk.0, mode);
            encrypt(&pkv, &mv, 64, &r_bits).unwrap()
        }
    }
}

#[test]
fn gadgets_match_native_in_every_mode() {
    let mut rng = rng();
    let pk = SecretKey::random(&mut rng).public_key();
    let l_minus_one = -Scalar::from(1u64);
    for (m, r) in [
        (0u64, Scalar::from(0u64)),
        (1, Scalar::from(1u64)),
        (u64::MAX, l_minus_one),
        (rng.gen(), Scalar::rand(&mut rng)),
    ] {
        for mode in MODES {
            for which in 0..3 {
                let native = native_encrypt(&pk, m, &r);
                let (cs, ct) = matches_native(mode, native, &which.to_string(), |cs, mode| {
                    run(cs, which, &pk, m, &r, mode)
                });
                // A ciphertext of another message fails.
                if mode != Constant {
                    let other = CiphertextVar::new_witness(cs.clone(), || {
                        Ok(native_encrypt(&pk, m.wrapping_add(1), &r))
                    })
                    .unwrap();
                    ct.enforce_equal(&other).unwrap();
                    assert!(!cs.is_satisfied().unwrap());
                }
            }
        }
    }
}

#[test]
fn gadgets_match_vectors() {
    let v = load("elgamal.json");
    for case in v["vectors"].as_array().unwrap().iter().take(6) {
        let sk = SecretKey(scalar_from_decimal(case["sk"].as_str().unwrap()).unwrap());
        let r = scalar_from_decimal(case["r"].as_str().unwrap()).unwrap();
        let m: u64 = case["m"].as_str().unwrap().parse().unwrap();
        let want = native_encrypt(&sk.public_key(), m, &r);
        for which in 0..3 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let ct = run(&cs, which, &sk.public_key(), m, &r, Witness);
            let wv = CiphertextVar::new_input(cs.clone(), || Ok(want)).unwrap();
            ct.enforce_equal(&wv).unwrap();
            assert!(cs.is_satisfied().unwrap());
        }
    }
}

#[test]
fn message_range_is_enforced() {
    let mut rng = rng();
    let pk = SecretKey::random(&mut rng).public_key();
    let cs = ConstraintSystem::<Fr>::new_ref();
    let mv = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u128 << 64))).unwrap();
    let r_bits = alloc_scalar_bits(cs.clone(), || Ok(Scalar::from(5u64)), Witness).unwrap();
    let _ct = encrypt_constant_key(&pk, &mv, 64, &r_bits).unwrap();
    assert!(!cs.is_satisfied().unwrap());
}

#[test]
fn sums_of_ciphertext_vars_match_native() {
    let mut rng = rng();
    let pk = SecretKey::random(&mut rng).public_key();
    let cts: Vec<Ciphertext> = (0..3)
        .map(|_| native_encrypt(&pk, rng.gen_range(0..1000), &Scalar::rand(&mut rng)))
        .collect();
    for mode in MODES {
        matches_native(mode, cts.iter().sum(), "", |cs, mode| {
            let vars: Vec<CiphertextVar> = cts.iter().map(|c| alloc(cs, *c, mode)).collect();
            vars[0].add(&vars[1]).unwrap().add(&vars[2]).unwrap()
        });
    }
}

/// Constraint counts; `cargo test -p sealgrid-circuits elgamal_constraint_counts -- --nocapture`.
#[test]
fn elgamal_constraint_counts() {
    let mut rng = rng();
    let sk = SecretKey::random(&mut rng);
    let pk = sk.public_key();
    let r = Scalar::rand(&mut rng);
    let m = rng.gen::<u64>();
    let base = {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let _m = FpVar::new_witness(cs.clone(), || Ok(Fr::from(m))).unwrap();
        alloc_scalar_bits(cs.clone(), || Ok(r), Witness).unwrap();
        cs.num_constraints()
    };
    let count = |which| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        run(&cs, which, &pk, m, &r, Witness);
        cs.num_constraints()
    };
    let constant = count(0) - base;
    let variable = count(2) - base - 18;
    let many = |k: usize| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let keys: Vec<PublicKey> = (0..k)
            .map(|_| SecretKey::random(&mut rand::thread_rng()).public_key())
            .collect();
        let ms: Vec<FpVar<Fr>> = (0..k)
            .map(|_| FpVar::new_witness(cs.clone(), || Ok(Fr::from(m))).unwrap())
            .collect();
        let r_bits = alloc_scalar_bits(cs.clone(), || Ok(r), Witness).unwrap();
        encrypt_constant_keys(&keys, &ms, 64, &r_bits).unwrap();
        assert!(cs.is_satisfied().unwrap());
        cs.num_constraints()
    };
    println!("ElGamal encryption, 64-bit m, 251-bit r (r's bits and < l check: {base}, excluded):");
    println!("  constant key: {constant}");
    println!("  key as PointVar (its 18-constraint allocation excluded): {variable}");
    println!(
        "  17 constant keys sharing r: {} (r bits included)",
        many(17)
    );
}
