//! Prints the constraint count of every gadget of the cryptographic core and of the
//! protocol's circuits, beside circomlib's count for the same component where circomlib
//! has one (figures from `DESIGN.md`'s cost budget, circom --O2).
//!
//! ```sh
//! cargo run --release -p sealgrid-circuits --example constraint-report
//! ```
//!
//! Every count is of a fresh constraint system whose inputs are witnesses; bits handed
//! to a scalar multiplication are allocated beforehand and their booleanity (one
//! constraint per bit) is not counted, as circomlib's `EscalarMulFix`/`EscalarMulAny`
//! take bits as inputs too.

use ark_ec::CurveGroup;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef};
use ark_std::UniformRand;
use rand::SeedableRng;
use sealgrid_circuits::babyjubjub::r1cs::{
    fixed_base_mul, fixed_base_mul_many, variable_base_mul, PointVar,
};
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_circuits::balance::{BalanceCircuit, BalanceOpening, BalanceProofPrivate};
use sealgrid_circuits::bid::BidCircuit;
use sealgrid_circuits::eddsa::r1cs::{verify, PublicKeyVar, SignatureVar};
use sealgrid_circuits::eddsa::PrivateKey;
use sealgrid_circuits::elgamal::r1cs::{encrypt, encrypt_constant_key};
use sealgrid_circuits::elgamal::{PublicKey, SecretKey};
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::range::r1cs::{enforce_range, is_less_than};
use sealgrid_circuits::settle::SettleCircuit;
use sealgrid_circuits::{digest, poseidon, Fr};

type Cs = ConstraintSystemRef<Fr>;

/// Constraints added by `body` after `setup` (whose constraints are not counted).
fn count<T>(setup: impl Fn(&Cs) -> T, body: impl Fn(&Cs, T)) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let t = setup(&cs);
    let before = cs.num_constraints();
    body(&cs, t);
    assert!(
        cs.is_satisfied().expect("satisfaction check"),
        "a valid witness must satisfy"
    );
    cs.num_constraints() - before
}

fn witnesses(cs: &Cs, n: usize) -> Vec<FpVar<Fr>> {
    (0..n)
        .map(|i| FpVar::new_witness(cs.clone(), || Ok(Fr::from(i as u64 + 1))).expect("alloc"))
        .collect()
}

fn bits(cs: &Cs, value: &Scalar, n: usize) -> Vec<Boolean<Fr>> {
    let le = sealgrid_circuits::babyjubjub::scalar_to_bits_le(value);
    (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || Ok(le.get(i).copied().unwrap_or(false)))
                .expect("alloc")
        })
        .collect()
}

fn circuit<C: ConstraintSynthesizer<Fr>>(c: C) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).expect("synthesis");
    assert!(cs.is_satisfied().expect("satisfaction check"));
    cs.num_constraints()
}

fn row(what: &str, ours: usize, circomlib: &str) {
    println!("| {what} | {ours} | {circomlib} |");
}

fn main() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    println!("| gadget | sealgrid | circomlib |");
    println!("| --- | ---: | ---: |");
    let circomlib_poseidon = ["213", "240", "261", "297", "321", "354"];
    for n in 1..=6 {
        let c = count(
            |cs| witnesses(cs, n),
            |_, x| drop(poseidon::r1cs::hash(&x).expect("hash")),
        );
        row(
            &format!("Poseidon, {n} input{}", if n > 1 { "s" } else { "" }),
            c,
            circomlib_poseidon[n - 1],
        );
    }
    let c = count(
        |cs| witnesses(cs, 16),
        |_, x| drop(poseidon::r1cs::hash(&x).expect("hash")),
    );
    row("Poseidon, 16 inputs", c, "—");

    let k = Scalar::rand(&mut rng);
    let c = count(
        |cs| bits(cs, &k, 253),
        |_, b| drop(fixed_base_mul(&base8(), &b).expect("mul")),
    );
    row("fixed-base scalar mul, 253 bits", c, "523");
    let c = count(
        |cs| bits(cs, &k, 251),
        |_, b| drop(fixed_base_mul(&base8(), &b).expect("mul")),
    );
    row("fixed-base scalar mul, 251 bits (a scalar below l)", c, "—");
    let p = (base8() * Scalar::rand(&mut rng)).into_affine();
    let c = count(
        |cs| {
            (
                PointVar::new_witness(cs.clone(), || Ok(p)).expect("alloc"),
                bits(cs, &k, 254),
            )
        },
        |_, (pv, b)| drop(variable_base_mul(&pv, &b).expect("mul")),
    );
    row("variable-base scalar mul, 254 bits", c, "2310");
    let (keys, _) = FlowKeys::random(18, &mut rng);
    let c7 = count(
        |cs| bits(cs, &k, 253),
        |_, b| drop(fixed_base_mul_many(&keys.keys()[..7], &b).expect("mul")),
    );
    let c18 = count(
        |cs| bits(cs, &k, 253),
        |_, b| drop(fixed_base_mul_many(keys.keys(), &b).expect("mul")),
    );
    row(
        "fixed-base mul sharing one scalar's bits, per base beyond 7 (253 bits)",
        (c18 - c7) / 11,
        "—",
    );
    row(
        "point from outside (on curve + prime-order subgroup)",
        count(
            |_| (),
            |cs, _| drop(PointVar::new_witness(cs.clone(), || Ok(p)).expect("alloc")),
        ),
        "—",
    );

    let meter = PrivateKey::from_bytes([5; 32]);
    let msg = Fr::from(42u64);
    let sig = meter.sign(msg);
    let c = count(
        |cs| FpVar::new_witness(cs.clone(), || Ok(msg)).expect("alloc"),
        |cs, m| {
            let pk =
                PublicKeyVar::new_witness(cs.clone(), || Ok(meter.public_key())).expect("alloc");
            let s = SignatureVar::new_witness(cs.clone(), || Ok(sig)).expect("alloc");
            verify(&pk, &m, &s).expect("verify")
        },
    );
    row(
        "EdDSA-Poseidon verify (S bits, R8 and key checks included)",
        c,
        "4207",
    );

    let sk = SecretKey::random(&mut rng);
    let pk: PublicKey = sk.public_key();
    let r = Scalar::rand(&mut rng);
    let m = Fr::from(123_456u64);
    let c = count(
        |cs| {
            (
                FpVar::new_witness(cs.clone(), || Ok(m)).expect("alloc"),
                bits(cs, &r, 251),
            )
        },
        |_, (mv, rb)| drop(encrypt_constant_key(&pk, &mv, 64, &rb).expect("encrypt")),
    );
    row(
        "ElGamal encrypt, constant key, 64-bit m (m's bits included)",
        c,
        "—",
    );
    let c = count(
        |cs| {
            (
                PointVar::new_witness(cs.clone(), || Ok(pk.0)).expect("alloc"),
                FpVar::new_witness(cs.clone(), || Ok(m)).expect("alloc"),
                bits(cs, &r, 251),
            )
        },
        |_, (pkv, mv, rb)| drop(encrypt(&pkv, &mv, 64, &rb).expect("encrypt")),
    );
    row(
        "ElGamal encrypt, key as variable, 64-bit m (m's bits included)",
        c,
        "—",
    );

    let c = count(
        |cs| witnesses(cs, 1),
        |_, x| enforce_range(&x[0], 64).expect("range"),
    );
    row("64-bit range check", c, "65 (Num2Bits(64))");
    let c = count(
        |cs| witnesses(cs, 2),
        |_, x| drop(is_less_than(&x[0], &x[1], 64).expect("cmp")),
    );
    row("64-bit comparison", c, "65 (LessThan(64))");
    let c = count(
        |cs| witnesses(cs, 36),
        |_, x| drop(digest::r1cs::digest(&x).expect("digest")),
    );
    row("ciphertext digest, 36 elements (bid, K = 8)", c, "—");

    println!();
    println!("| circuit (K = 8) | constraints |");
    println!("| --- | ---: |");
    let params = MarketParams::default();
    let (keys, _) = FlowKeys::random(2 * params.levels + 1, &mut rng);
    let prior = BalanceOpening {
        sk_acct: Fr::from(3u64),
        balance: 1000,
        salt: Fr::from(4u64),
    };
    let (public, private, _) =
        BalanceProofPrivate::transition(&prior, None, 500, Fr::from(0xabcu64), &mut rng)
            .expect("valid deposit");
    println!(
        "| balance | {} |",
        circuit(BalanceCircuit::new(public, private))
    );
    println!(
        "| bid | {} |",
        circuit(BidCircuit::for_setup(&params, &keys))
    );
    println!(
        "| settle | {} |",
        circuit(SettleCircuit::for_setup(&params, &keys))
    );
}
