//! A small test circuit built from ark-r1cs-std directly.

use ark_ff::Field;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_prover::Fr;

/// Knowledge of `a`, `b` with `a * b = product`, `a < 2^32`, and `a` squared `rounds`
/// times equal to `tower`. Public inputs, in order: `product`, `tower`.
#[derive(Clone, Debug)]
pub struct MulRange {
    pub a: Option<Fr>,
    pub b: Option<Fr>,
    pub product: Option<Fr>,
    pub tower: Option<Fr>,
    pub rounds: usize,
}

impl MulRange {
    /// An honest instance.
    pub fn new(a: u64, b: u64, rounds: usize) -> Self {
        let (a, b) = (Fr::from(a), Fr::from(b));
        let mut tower = a;
        for _ in 0..rounds {
            tower = tower.square();
        }
        MulRange {
            a: Some(a),
            b: Some(b),
            product: Some(a * b),
            tower: Some(tower),
            rounds,
        }
    }

    /// The instance without values, for setup.
    pub fn blank(rounds: usize) -> Self {
        MulRange {
            a: None,
            b: None,
            product: None,
            tower: None,
            rounds,
        }
    }

    /// The public inputs, computed natively.
    pub fn public_inputs(&self) -> Vec<Fr> {
        vec![self.product.unwrap(), self.tower.unwrap()]
    }
}

impl ConstraintSynthesizer<Fr> for MulRange {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let missing = || SynthesisError::AssignmentMissing;
        let a = FpVar::new_witness(cs.clone(), || self.a.ok_or_else(missing))?;
        let b = FpVar::new_witness(cs.clone(), || self.b.ok_or_else(missing))?;
        let product = FpVar::new_input(cs.clone(), || self.product.ok_or_else(missing))?;
        let tower = FpVar::new_input(cs.clone(), || self.tower.ok_or_else(missing))?;

        // a * b = product
        (&a * &b).enforce_equal(&product)?;
        // a < 2^32: the decomposition itself enforces that the bits above 32 are zero.
        let (_bits, _rest_enforced_zero) = a.to_bits_le_with_top_bits_zero(32)?;
        // a^(2^rounds) = tower
        let mut x = a;
        for _ in 0..self.rounds {
            x = x.square()?;
        }
        x.enforce_equal(&tower)
    }
}

/// A deterministic RNG for tests (never for real keys).
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}
