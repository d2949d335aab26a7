//! Gadget twin of [`crate::eddsa`]: EdDSA-Poseidon verification inside a BN254 R1CS,
//! the statement of circomlib's `EdDSAPoseidonVerifier` (with `enabled = 1`).
//!
//! [`verify`] enforces, for a public key `A`, a message `msg` and a signature `(R8, S)`:
//!
//! 1. `A` is not the identity (`A.x != 0`, as circomlib checks);
//! 2. `S < l`, on `S`'s bits (circomlib: `CompConstant(l - 1)`), so `S + l` is refused;
//! 3. `hm = Poseidon(R8.x, R8.y, A.x, A.y, msg)`, decomposed into its 254 canonical bits
//!    (circomlib: `Num2Bits_strict`);
//! 4. `Base8 * S == R8 + hm * (8 * A)`, with `8 * A` by three doublings.
//!
//! `A` and `R8` are [`PointVar`]s, which are on the curve and in the prime-order subgroup
//! by construction: inputs and witnesses are checked when allocated, constants are the
//! circuit author's.
//!
//! Cost, key, message and signature witnesses: 3,732 constraints (circomlib's
//! `EdDSAPoseidonVerifier`: 4,207), of which allocation 287 (`A` and `R8` checks, 18
//! each; `S`'s 251 booleanity constraints) and [`verify`] 3,445: `A != 0` 1, `S < l` 151,
//! Poseidon 321, `hm`'s strict bits 385, `Base8 * S` 504, `8 A` 15, `hm * 8A` 2,060,
//! the addition 6, the equality 2. The tests pin these numbers. The two comparisons
//! with a constant use run checks ([`crate::babyjubjub::r1cs::bits`]), about 1 constraint per
//! run of bits of the constant; r1cs-std's comparison (2 per zero bit) costs 365 for
//! `S < l` and 385 for `hm < p`, 4,201 in all.

use super::{PublicKey, Signature};
use crate::babyjubjub::r1cs::bits::enforce_below_order;
use crate::babyjubjub::r1cs::{
    fixed_base_mul, fp_to_bits_le, variable_base_mul, PointVar, ScalarBound,
};
use crate::babyjubjub::{self, scalar_to_bits_le, Scalar};
use crate::{poseidon, Fr};
use ark_ff::{PrimeField, Zero};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{Namespace, SynthesisError};
use std::borrow::Borrow;

/// Bit length of the subgroup order `l` (251): `S < l` fits in this many bits.
pub const S_BITS: usize = Scalar::MODULUS_BIT_SIZE as usize;

/// A public key in the circuit: a point of the prime-order subgroup ([`PointVar`]'s
/// invariant). [`verify`] refuses the identity.
#[derive(Clone, Debug)]
pub struct PublicKeyVar(pub PointVar);

impl PublicKeyVar {
    /// The point `A`.
    pub fn point(&self) -> &PointVar {
        &self.0
    }
}

impl AllocVar<PublicKey, Fr> for PublicKeyVar {
    /// As [`PointVar`]: inputs and witnesses are checked on the curve and in the
    /// subgroup (18 constraints); constants are not (a [`PublicKey`] is valid by type).
    fn new_variable<T: Borrow<PublicKey>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let point = PointVar::new_variable(cs, || f().map(|pk| *pk.borrow().point()), mode)?;
        Ok(Self(point))
    }
}

/// A signature in the circuit: `R8` as a checked point, `S` as little-endian bits.
///
/// `s` may have any length and any origin: [`verify`] enforces `S < l` on it, so a
/// `SignatureVar` built by hand from raw bits is as safe as an allocated one.
#[derive(Clone, Debug)]
pub struct SignatureVar {
    /// `R8`, in the prime-order subgroup.
    pub r8: PointVar,
    /// `S`, little-endian bits (allocated: [`S_BITS`] of them).
    pub s: Vec<Boolean<Fr>>,
}

impl AllocVar<Signature, Fr> for SignatureVar {
    /// `R8` as a [`PointVar`] (checked unless constant), `S` as [`S_BITS`] booleans in
    /// the same mode. The `S < l` check is left to [`verify`], which makes it whatever
    /// the bits' origin; allocating does not pay it twice.
    fn new_variable<T: Borrow<Signature>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let cs = ns.cs();
        let sig = f().map(|s| *s.borrow());
        let r8 = PointVar::new_variable(cs.clone(), || sig.map(|s| s.r8), mode)?;
        let bits = sig.map(|s| scalar_to_bits_le(&s.s));
        let s = (0..S_BITS)
            .map(|i| {
                Boolean::new_variable(
                    cs.clone(),
                    || bits.as_ref().map(|b| b[i]).map_err(|e| *e),
                    mode,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { r8, s })
    }
}

/// circomlib's `EdDSAPoseidonVerifier`: enforces that `sig` is a valid signature of
/// `msg` under `pk` (the twin of [`PublicKey::verify`]).
///
/// # Errors
///
/// [`SynthesisError::Unsatisfiable`] when a check fails on constants alone (e.g. a
/// constant identity key); otherwise whatever the constraint system reports. A failed
/// check on variables leaves the system unsatisfied instead.
pub fn verify(
    pk: &PublicKeyVar,
    msg: &FpVar<Fr>,
    sig: &SignatureVar,
) -> Result<(), SynthesisError> {
    // 1. A is not the identity. In the subgroup x = 0 only there; under the identity
    //    key (Base8 * S, S) verifies for every message. r1cs-std's `enforce_not_equal`
    //    accepts two equal constants silently, so constants are judged here.
    match &pk.0.x {
        FpVar::Constant(x) if x.is_zero() => return Err(SynthesisError::Unsatisfiable),
        FpVar::Constant(_) => {}
        x @ FpVar::Var(_) => x.enforce_not_equal(&FpVar::zero())?,
    }
    // 2. S < l: without it S + l would verify too (Base8 has order l).
    enforce_below_order(&sig.s)?;
    // 3. and 4.
    enforce_equation(pk, msg, sig)
}

/// `Base8 * S == R8 + hm * (8 * A)` with `hm = Poseidon(R8, A, msg)`, and nothing else:
/// [`verify`] adds the checks on `A` and `S`.
fn enforce_equation(
    pk: &PublicKeyVar,
    msg: &FpVar<Fr>,
    sig: &SignatureVar,
) -> Result<(), SynthesisError> {
    let (a, r8) = (&pk.0, &sig.r8);
    // hm in its unique 254 bits: non-unique bits would let a prover pick hm + p, a
    // different challenge mod l.
    let hm = poseidon::r1cs::hash(&[
        r8.x.clone(),
        r8.y.clone(),
        a.x.clone(),
        a.y.clone(),
        msg.clone(),
    ])?;
    let hm_bits = fp_to_bits_le(&hm, ScalarBound::FieldModulus)?;
    let left = fixed_base_mul(&babyjubjub::base8(), &sig.s)?;
    let a8 = a.double()?.double()?.double()?;
    let right = r8.add(&variable_base_mul(&a8, &hm_bits)?)?;
    left.enforce_equal(&right)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::babyjubjub::Point;
    use crate::eddsa::tests::{public_key, signature};
    use crate::gadget_test::{self, fp, MODES};
    use crate::test_vectors;
    use ark_ec::CurveGroup;
    use ark_ff::One;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
    use num_bigint::BigUint;
    use std::str::FromStr;

    fn vectors(which: &str) -> Vec<serde_json::Value> {
        test_vectors::load("eddsa_poseidon.json")[which]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The key and message in the given modes, the signature as a witness.
    fn alloc(
        cs: &ConstraintSystemRef<Fr>,
        pk: PublicKey,
        msg: Fr,
        sig: Signature,
        mode: (AllocationMode, AllocationMode),
    ) -> (PublicKeyVar, FpVar<Fr>, SignatureVar) {
        let pk = gadget_test::alloc(cs, pk, mode.0);
        let msg = fp(cs, msg, mode.1);
        let sig = SignatureVar::new_witness(cs.clone(), || Ok(sig)).unwrap();
        (pk, msg, sig)
    }

    /// `S` as `len` raw witness bits, whatever its value.
    fn raw_bits(cs: &ConstraintSystemRef<Fr>, n: &BigUint, len: usize) -> Vec<Boolean<Fr>> {
        (0..len)
            .map(|i| Boolean::new_witness(cs.clone(), || Ok(n.bit(i as u64))).unwrap())
            .collect()
    }

    #[test]
    fn accepts_every_valid_vector() {
        for v in vectors("valid") {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let msg = test_vectors::fr(&v["message"]);
            let (pk, msg, sig) = alloc(
                &cs,
                public_key(&v).unwrap(),
                msg,
                signature(&v).unwrap(),
                (AllocationMode::Witness, AllocationMode::Witness),
            );
            verify(&pk, &msg, &sig).unwrap();
            assert!(cs.is_satisfied().unwrap(), "{}", v["message"]);
        }
    }

    #[test]
    fn accepts_in_every_allocation_mode() {
        for v in &vectors("valid")[..2] {
            let (pk, msg, sig) = (
                public_key(v).unwrap(),
                test_vectors::fr(&v["message"]),
                signature(v).unwrap(),
            );
            for pk_mode in MODES {
                for msg_mode in MODES {
                    let cs = ConstraintSystem::<Fr>::new_ref();
                    let (pkv, msgv, sigv) = alloc(&cs, pk, msg, sig, (pk_mode, msg_mode));
                    verify(&pkv, &msgv, &sigv).unwrap();
                    assert!(cs.is_satisfied().unwrap(), "{pk_mode:?}, {msg_mode:?}");
                }
            }
            // Everything constant: no constraint, nothing to satisfy, no error.
            let cs = ConstraintSystem::<Fr>::new_ref();
            let pkv = PublicKeyVar::new_constant(cs.clone(), pk).unwrap();
            let sigv = SignatureVar::new_constant(cs.clone(), sig).unwrap();
            verify(&pkv, &FpVar::constant(msg), &sigv).unwrap();
            assert_eq!(cs.num_constraints(), 0);
            // The signature as a public input.
            let cs = ConstraintSystem::<Fr>::new_ref();
            let pkv = PublicKeyVar::new_input(cs.clone(), || Ok(pk)).unwrap();
            let msgv = FpVar::new_input(cs.clone(), || Ok(msg)).unwrap();
            let sigv = SignatureVar::new_input(cs.clone(), || Ok(sig)).unwrap();
            verify(&pkv, &msgv, &sigv).unwrap();
            assert!(cs.is_satisfied().unwrap());
        }
    }

    /// Every invalid kind with the key and message as inputs (the settlement circuit's
    /// meter key is public) and as witnesses; the signature always a witness.
    #[test]
    fn rejects_every_invalid_kind() {
        let l = BigUint::from(Scalar::MODULUS);
        let mut seen = std::collections::BTreeSet::new();
        // The first two signatures' variants: all six kinds, twice.
        for v in &vectors("invalid")[..12] {
            let kind = v["kind"].as_str().unwrap();
            seen.insert(kind.to_owned());
            let pk = public_key(v).unwrap();
            let msg = test_vectors::fr(&v["message"]);
            let r8 = (test_vectors::fr(&v["r8"][0]), test_vectors::fr(&v["r8"][1]));
            let s = BigUint::from_str(v["s"].as_str().unwrap()).unwrap();
            for mode in [AllocationMode::Input, AllocationMode::Witness] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let pkv: PublicKeyVar = gadget_test::alloc(&cs, pk, mode);
                let msgv = fp(&cs, msg, mode);
                // Bypass the native checks: R8's coordinates and S's bits go in raw.
                // PointVar's allocation still checks R8 (curve, subgroup).
                let sigv = SignatureVar {
                    r8: PointVar::new_witness(cs.clone(), || Ok(Point::new_unchecked(r8.0, r8.1)))
                        .unwrap(),
                    s: raw_bits(&cs, &s, 253),
                };
                verify(&pkv, &msgv, &sigv).unwrap();
                assert!(!cs.is_satisfied().unwrap(), "{kind} accepted, {mode:?}");
                if kind == "s_plus_order" {
                    // The range check alone refuses it: the equation holds for S + l.
                    assert!(s >= l);
                    let cs = ConstraintSystem::<Fr>::new_ref();
                    let pkv = PublicKeyVar::new_witness(cs.clone(), || Ok(pk)).unwrap();
                    let msgv = FpVar::new_witness(cs.clone(), || Ok(msg)).unwrap();
                    let r8v =
                        PointVar::new_witness(cs.clone(), || Ok(Point::new_unchecked(r8.0, r8.1)))
                            .unwrap();
                    let sigv = SignatureVar {
                        r8: r8v,
                        s: raw_bits(&cs, &s, 253),
                    };
                    enforce_equation(&pkv, &msgv, &sigv).unwrap();
                    assert!(cs.is_satisfied().unwrap(), "S + l satisfies the equation");
                }
            }
        }
        assert_eq!(seen.len(), 6, "{seen:?}");
    }

    /// R8 off the curve is refused by the allocation check of R8 itself, in both
    /// variable modes, before any equation.
    #[test]
    fn off_curve_r8_fails_its_allocation_check() {
        let v = vectors("invalid")
            .into_iter()
            .find(|v| v["kind"] == "r8_off_curve")
            .unwrap();
        let r8 = Point::new_unchecked(test_vectors::fr(&v["r8"][0]), test_vectors::fr(&v["r8"][1]));
        assert!(!r8.is_on_curve());
        for mode in [AllocationMode::Input, AllocationMode::Witness] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let _r8: PointVar = gadget_test::alloc(&cs, r8, mode);
            assert!(!cs.is_satisfied().unwrap(), "{mode:?}");
        }
    }

    #[test]
    fn refuses_the_identity_key() {
        // Under the identity key, (Base8 * S, S) satisfies the equation for any message.
        let s = Scalar::from(12345u64);
        let forged = Signature::new((babyjubjub::base8() * s).into_affine(), s).unwrap();
        let identity = PublicKey(Point::zero());
        let msg = Fr::from(99u64);
        for mode in [AllocationMode::Input, AllocationMode::Witness] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (pk, msgv, sig) = alloc(&cs, identity, msg, forged, (mode, mode));
            enforce_equation(&pk, &msgv, &sig).unwrap();
            assert!(cs.is_satisfied().unwrap(), "the equation alone holds");
            verify(&pk, &msgv, &sig).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "{mode:?}");
        }
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (pk, msgv, sig) = alloc(
            &cs,
            identity,
            msg,
            forged,
            (AllocationMode::Constant, AllocationMode::Witness),
        );
        assert_eq!(verify(&pk, &msgv, &sig), Err(SynthesisError::Unsatisfiable));
    }

    #[test]
    fn gadget_agrees_with_native_on_random_keys() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        for i in 0..3u64 {
            let key = super::super::PrivateKey::random(&mut rng);
            let msg = Fr::from(1000 + i);
            let sig = key.sign(msg);
            for (m, expected) in [(msg, true), (msg + Fr::one(), false)] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let (pk, msgv, sigv) = alloc(
                    &cs,
                    key.public_key(),
                    m,
                    sig,
                    (AllocationMode::Input, AllocationMode::Input),
                );
                verify(&pk, &msgv, &sigv).unwrap();
                assert_eq!(key.public_key().verify(m, &sig).is_ok(), expected);
                assert_eq!(cs.is_satisfied().unwrap(), expected);
            }
        }
    }

    /// The cost of [`verify`] with key, message and signature witnesses, the
    /// allocation checks of `A` and `R8` (18 each) included; circomlib's
    /// `EdDSAPoseidonVerifier` is 4,207.
    #[test]
    fn constraint_count() {
        let v = &vectors("valid")[0];
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (pk, msg, sig) = alloc(
            &cs,
            public_key(v).unwrap(),
            test_vectors::fr(&v["message"]),
            signature(v).unwrap(),
            (AllocationMode::Witness, AllocationMode::Witness),
        );
        let allocated = cs.num_constraints();
        verify(&pk, &msg, &sig).unwrap();
        let total = cs.num_constraints();
        println!(
            "eddsa verify: {allocated} allocation + {} verify = {total}",
            total - allocated
        );
        assert!(cs.is_satisfied().unwrap());
        assert_eq!((allocated, total), (287, 3732));
    }
}
