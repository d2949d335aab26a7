//! Allocation helpers shared by the protocol's circuits.

use crate::Fr;
use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// Allocates a statement's public inputs, in the order given (the order of its
/// `to_field_elements`, the one place that orders them).
pub fn public_inputs(
    cs: &ConstraintSystemRef<Fr>,
    values: Vec<Fr>,
) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    values
        .into_iter()
        .map(|v| FpVar::new_input(cs.clone(), || Ok(v)))
        .collect()
}

/// Allocates one private value as a witness.
pub fn witness(cs: &ConstraintSystemRef<Fr>, value: Fr) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || Ok(value))
}
