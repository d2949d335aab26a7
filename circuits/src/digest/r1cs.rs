//! Gadget twin of [`crate::digest`]: the same Poseidon chain over `FpVar`s.
//!
//! Cost: one 16-input Poseidon gadget per chunk and nothing else (chaining and padding
//! are free). The chaining value `h_0 = 0` and the zero padding are constants, which the
//! Poseidon gadget folds: the first chunk and a padded last chunk cost a little less
//! than a full 16-input Poseidon (609 constraints): 3 fewer per constant state element
//! in the first round. Pinned by `digest_constraint_counts` (all elements variable):
//! 8 elements (a settlement's 4 points) 585, 15 elements 606, 36 elements (a bid's
//! 2K + 2 = 18 points, K = 8) 1,797, 60 elements 2,433. All-constant input gives a
//! constant and no constraint.

use crate::digest::{num_chunks, CHUNK};
use crate::poseidon::{r1cs as poseidon_r1cs, MAX_INPUTS};
use crate::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

/// The digest of `elements`, the twin of [`crate::digest::digest`].
///
/// # Errors
///
/// Whatever the constraint system reports (e.g. [`SynthesisError::AssignmentMissing`]
/// when proving without a value).
pub fn digest(elements: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let zero = FpVar::Constant(Fr::from(0u64));
    let mut h = zero.clone();
    for i in 0..num_chunks(elements.len()) {
        let start = (i * CHUNK).min(elements.len());
        let end = (start + CHUNK).min(elements.len());
        let mut inputs = Vec::with_capacity(MAX_INPUTS);
        inputs.push(h);
        inputs.extend_from_slice(&elements[start..end]);
        inputs.resize(MAX_INPUTS, zero.clone());
        h = poseidon_r1cs::hash(&inputs)?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest;
    use crate::gadget_test::{fp, fps, matches_native, MODES};
    use ark_ff::UniformRand;
    use ark_r1cs_std::{alloc::AllocationMode, prelude::*};
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn random(n: usize, seed: u64) -> Vec<Fr> {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        (0..n).map(|_| Fr::rand(&mut rng)).collect()
    }

    /// Constraints of the gadget on `n` witnesses.
    fn count(n: usize) -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xs = fps(&cs, &random(n, 7), AllocationMode::Witness);
        drop(digest(&xs).unwrap());
        assert!(cs.is_satisfied().unwrap());
        cs.num_constraints()
    }

    #[test]
    fn gadget_equals_native_in_every_mode() {
        for n in [0, 1, 15, 16, 36, 60] {
            let xs = random(n, n as u64);
            let expected = digest::digest(&xs);
            for mode in MODES {
                let (cs, d) = matches_native(mode, expected, &format!("n = {n}"), |cs, mode| {
                    digest(&fps(cs, &xs, mode)).unwrap()
                });
                let constant = mode == AllocationMode::Constant || n == 0;
                assert_eq!(d.is_constant(), constant, "n = {n}, {mode:?}");
                assert_eq!(cs.num_constraints() == 0, constant, "n = {n}, {mode:?}");
            }
        }
    }

    #[test]
    fn gadget_mixed_modes() {
        let xs = random(20, 3);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars: Vec<FpVar<Fr>> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| fp(&cs, *x, MODES[i % 3]))
            .collect();
        assert_eq!(digest(&vars).unwrap().value().unwrap(), digest::digest(&xs));
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn wrong_claimed_digest_is_unsatisfied() {
        for n in [1, 15, 16, 36] {
            let xs = random(n, 11);
            let expected = digest::digest(&xs);
            let mut tampered = xs.clone();
            tampered[n - 1] += Fr::from(1u64);
            for (elements, claim, ok) in [
                (&xs, expected, true),
                (&xs, expected + Fr::from(1u64), false),
                (&tampered, expected, false),
            ] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let vars = fps(&cs, elements, AllocationMode::Witness);
                let claimed = FpVar::new_input(cs.clone(), || Ok(claim)).unwrap();
                digest(&vars).unwrap().enforce_equal(&claimed).unwrap();
                assert_eq!(cs.is_satisfied().unwrap(), ok, "n = {n}");
            }
        }
    }

    #[test]
    fn setup_mode_has_the_same_shape() {
        for n in [8, 36] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            cs.set_mode(SynthesisMode::Setup);
            let vars: Vec<FpVar<Fr>> = (0..n)
                .map(|_| {
                    FpVar::new_witness(cs.clone(), || -> Result<Fr, _> { unreachable!() }).unwrap()
                })
                .collect();
            assert!(digest(&vars).unwrap().value().is_err());
            assert_eq!(cs.num_constraints(), count(n), "n = {n}");
        }
    }

    /// Prints (`cargo test -p sealgrid-circuits --lib digest_constraint_counts -- --nocapture`)
    /// and pins the digest's constraint counts at the lengths the protocol uses.
    #[test]
    fn digest_constraint_counts() {
        let rows = [
            ("digest, 8 elements (settle: 4 points)", count(8), 585),
            ("digest, 15 elements (1 full chunk)", count(15), 606),
            ("digest, 36 elements (bid, K = 8)", count(36), 1797),
            ("digest, 60 elements (4 full chunks)", count(60), 2433),
        ];
        for (what, got, _) in &rows {
            println!("{what:45} {got:>5} constraints");
        }
        for (what, got, pinned) in rows {
            assert_eq!(got, pinned, "{what}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn gadget_equals_native_random(n in 0..=61usize, seed in any::<u64>()) {
            let xs = random(n, seed);
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars = fps(&cs, &xs, AllocationMode::Witness);
            prop_assert_eq!(digest(&vars).unwrap().value().unwrap(), digest::digest(&xs));
            prop_assert!(cs.is_satisfied().unwrap());
        }
    }
}
