//! Gadget twins of [`crate::commitment`]: the same functions over `FpVar`, each one
//! Poseidon gadget and nothing else (no constraint beyond the hash's).

use crate::poseidon::{self, r1cs as poseidon_r1cs};
use crate::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

/// `Poseidon(values ‖ salt)`, the twin of [`crate::commitment::commit`].
///
/// # Errors
///
/// [`SynthesisError::ArityMismatch`] for more than
/// [`MAX_VALUES`](crate::commitment::MAX_VALUES) values; otherwise what the constraint
/// system reports.
pub fn commit(values: &[FpVar<Fr>], salt: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    if values.len() >= poseidon::MAX_INPUTS {
        return Err(SynthesisError::ArityMismatch);
    }
    let mut inputs = Vec::with_capacity(values.len() + 1);
    inputs.extend_from_slice(values);
    inputs.push(salt.clone());
    poseidon_r1cs::hash(&inputs)
}

/// `Poseidon(secret)`, the twin of [`crate::commitment::account_id`].
pub fn account_id(secret: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon_r1cs::hash(std::slice::from_ref(secret))
}

/// `Poseidon(balance, salt, account_id)`, the twin of
/// [`crate::commitment::balance_commitment`].
pub fn balance_commitment(
    balance: &FpVar<Fr>,
    salt: &FpVar<Fr>,
    account_id: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    poseidon_r1cs::hash(&[balance.clone(), salt.clone(), account_id.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commitment;
    use crate::gadget_test::{fp, MODES};
    use ark_ff::UniformRand;
    use ark_r1cs_std::{alloc::AllocationMode, prelude::*};
    use ark_relations::gr1cs::ConstraintSystem;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn gadgets_equal_native_in_every_mode() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let [v0, v1, salt, secret, balance] = [(); 5].map(|_| Fr::rand(&mut rng));
        let id = commitment::account_id(secret);
        for mode in MODES {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let c = commit(
                &[fp(&cs, v0, mode), fp(&cs, v1, mode)],
                &fp(&cs, salt, mode),
            )
            .unwrap();
            assert_eq!(
                c.value().unwrap(),
                commitment::commit(&[v0, v1], salt).unwrap()
            );
            let id_var = account_id(&fp(&cs, secret, mode)).unwrap();
            assert_eq!(id_var.value().unwrap(), id);
            let b =
                balance_commitment(&fp(&cs, balance, mode), &fp(&cs, salt, mode), &id_var).unwrap();
            assert_eq!(
                b.value().unwrap(),
                commitment::balance_commitment(balance, salt, id)
            );
            assert!(cs.is_satisfied().unwrap(), "{mode:?}");
            assert_eq!(cs.num_constraints() == 0, mode == AllocationMode::Constant);
        }
    }

    #[test]
    fn commit_rejects_too_many_values() {
        let values = vec![FpVar::Constant(Fr::from(1u64)); commitment::MAX_VALUES + 1];
        let salt = FpVar::Constant(Fr::from(2u64));
        assert_eq!(
            commit(&values, &salt).unwrap_err(),
            SynthesisError::ArityMismatch
        );
        assert!(commit(&values[1..], &salt).is_ok());
    }

    /// Opening `public` with (balance, salt, secret): the account id is derived in circuit.
    fn open_balance(public: Fr, balance: Fr, salt: Fr, secret: Fr) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let public = FpVar::new_input(cs.clone(), || Ok(public)).unwrap();
        let w = |x| fp(&cs, x, AllocationMode::Witness);
        let id = account_id(&w(secret)).unwrap();
        balance_commitment(&w(balance), &w(salt), &id)
            .unwrap()
            .enforce_equal(&public)
            .unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn wrong_opening_fails() {
        let (balance, salt, secret) = (Fr::from(500u64), Fr::from(77u64), Fr::from(3u64));
        let public = commitment::balance_commitment(balance, salt, commitment::account_id(secret));
        assert!(open_balance(public, balance, salt, secret));
        let one = Fr::from(1u64);
        assert!(
            !open_balance(public, balance + one, salt, secret),
            "balance"
        );
        assert!(!open_balance(public, balance, salt + one, secret), "salt");
        assert!(!open_balance(public, balance, salt, secret + one), "secret");
        // Swapping balance and salt is a different commitment.
        assert!(!open_balance(public, salt, balance, secret), "order");
    }

    /// Counts one gadget on fresh witnesses.
    fn count(arity: usize, f: impl Fn(&[FpVar<Fr>])) -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xs: Vec<FpVar<Fr>> = (0..arity)
            .map(|i| fp(&cs, Fr::from(i as u64 + 1), AllocationMode::Witness))
            .collect();
        f(&xs);
        assert!(cs.is_satisfied().unwrap());
        cs.num_constraints()
    }

    /// Prints (`cargo test -p sealgrid-circuits --lib constraint_counts -- --nocapture`)
    /// and pins the constraint counts of the crypto core's cheap gadgets.
    #[test]
    fn constraint_counts() {
        use crate::range::r1cs as range;
        let poseidon = |n| count(n, |xs| drop(poseidon_r1cs::hash(xs).unwrap()));
        let rows = [
            ("poseidon, 1 input", poseidon(1), 213),
            ("poseidon, 2 inputs", poseidon(2), 240),
            ("poseidon, 3 inputs", poseidon(3), 261),
            ("poseidon, 4 inputs", poseidon(4), 297),
            ("poseidon, 5 inputs", poseidon(5), 321),
            ("poseidon, 6 inputs", poseidon(6), 354),
            ("poseidon, 16 inputs", poseidon(16), 609),
            (
                "commit(1 value, salt)",
                count(2, |xs| drop(commit(&xs[..1], &xs[1]).unwrap())),
                240,
            ),
            (
                "account_id(secret)",
                count(1, |xs| drop(account_id(&xs[0]).unwrap())),
                213,
            ),
            (
                "balance_commitment(balance, salt, id)",
                count(3, |xs| {
                    drop(balance_commitment(&xs[0], &xs[1], &xs[2]).unwrap())
                }),
                261,
            ),
            (
                "range check, 64 bits (enforce_range)",
                count(1, |xs| range::enforce_range(&xs[0], 64).unwrap()),
                64,
            ),
            (
                "range check + bits, 64 bits (enforce_bits)",
                count(1, |xs| drop(range::enforce_bits(&xs[0], 64).unwrap())),
                65,
            ),
            (
                "is_less_than, 64 bits",
                count(2, |xs| {
                    drop(range::is_less_than(&xs[0], &xs[1], 64).unwrap())
                }),
                65,
            ),
            (
                "enforce_less_than, 64 bits",
                count(2, |xs| {
                    range::enforce_less_than(&xs[0], &xs[1], 64).unwrap()
                }),
                64,
            ),
            (
                "enforce_less_or_equal, 64 bits",
                count(2, |xs| {
                    range::enforce_less_or_equal(&xs[0], &xs[1], 64).unwrap()
                }),
                64,
            ),
        ];
        for (what, got, _) in &rows {
            println!("{what:45} {got:>5} constraints");
        }
        for (what, got, pinned) in rows {
            assert_eq!(got, pinned, "{what}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn commit_opens_only_to_its_values(k in 0..=3usize, seed in any::<u64>()) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let values: Vec<Fr> = (0..k).map(|_| Fr::rand(&mut rng)).collect();
            let salt = Fr::rand(&mut rng);
            let public = commitment::commit(&values, salt).unwrap();
            for wrong_salt in [false, true] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let vs: Vec<_> = values.iter().map(|x| fp(&cs, *x, AllocationMode::Witness)).collect();
                let s = if wrong_salt { salt + Fr::from(1u64) } else { salt };
                let c = commit(&vs, &fp(&cs, s, AllocationMode::Witness)).unwrap();
                c.enforce_equal(&FpVar::new_input(cs.clone(), || Ok(public)).unwrap()).unwrap();
                prop_assert_eq!(cs.is_satisfied().unwrap(), !wrong_salt);
            }
        }
    }
}
