//! A circuit's shape: its size and a digest of its constraint matrices.
//!
//! A Groth16 key fits exactly one constraint system. Keys cached on disk outlive the
//! code that made them, so the key store records the shape next to the keys and
//! treats a cached key whose shape differs from the circuit's as stale.

use ark_ff::{BigInteger, PrimeField};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Fr;

/// Why a circuit's shape could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// The circuit failed to synthesise (in setup mode no witness is needed).
    #[error("synthesising the circuit failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The circuit used a generalised-R1CS predicate that Groth16 cannot prove.
    #[error("the circuit uses predicate {0:?}; Groth16 proves R1CS only")]
    UnsupportedPredicate(String),
}

/// Size and matrix digest of a constraint system, as Groth16's setup sees it
/// (optimised for constraints, linear combinations inlined).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// Number of R1CS constraints.
    pub constraints: usize,
    /// Number of public inputs, not counting the constant one.
    pub public_inputs: usize,
    /// Number of witness (private) variables.
    pub witnesses: usize,
    /// SHA-256 over the sizes and the A, B, C matrices, hex.
    pub digest: String,
}

impl CircuitShape {
    /// Synthesises `circuit` without a witness and measures it.
    pub fn of<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self, ShapeError> {
        Self::of_dyn(crate::DynCircuit::new(circuit))
    }

    /// [`CircuitShape::of`]'s body, compiled once in this crate ([`crate::dyn_circuit`]).
    fn of_dyn(circuit: crate::DynCircuit<'_>) -> Result<Self, ShapeError> {
        Self::with_matrices(circuit).map(|(shape, _)| shape)
    }

    /// The shape and the R1CS it digests: the matrices a key of this shape was made
    /// from, which the prover can keep for that key ([`crate::prove::keep_matrices`]).
    pub(crate) fn with_matrices(
        circuit: crate::DynCircuit<'_>,
    ) -> Result<(Self, crate::prove::R1cs), ShapeError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        // The same settings as ark-groth16's generator, so that the digest describes
        // the matrices that the keys are made from.
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit.generate_constraints(cs.clone())?;
        cs.finalize();
        let matrices = cs.to_matrices()?;

        let mut h = Sha256::new();
        h.update(b"sealgrid-circuit-shape-v1");
        let num_instance = cs.num_instance_variables();
        let num_witness = cs.num_witness_variables();
        h.update((num_instance as u64).to_le_bytes());
        h.update((num_witness as u64).to_le_bytes());
        for (label, mats) in &matrices {
            if label != R1CS_PREDICATE_LABEL && mats.iter().any(|m| !m.is_empty()) {
                return Err(ShapeError::UnsupportedPredicate(label.clone()));
            }
            h.update((label.len() as u64).to_le_bytes());
            h.update(label.as_bytes());
            h.update((mats.len() as u64).to_le_bytes());
            for m in mats {
                h.update((m.len() as u64).to_le_bytes());
                for row in m {
                    h.update((row.len() as u64).to_le_bytes());
                    for (coeff, index) in row {
                        h.update(coeff.into_bigint().to_bytes_le());
                        h.update((*index as u64).to_le_bytes());
                    }
                }
            }
        }
        let shape = CircuitShape {
            constraints: cs.num_constraints(),
            public_inputs: num_instance - 1,
            witnesses: num_witness,
            digest: hex::encode(h.finalize()),
        };
        let mut matrices = matrices;
        let r1cs = crate::prove::R1cs {
            num_inputs: num_instance,
            num_witness,
            num_constraints: shape.constraints,
            matrices: matrices.remove(R1CS_PREDICATE_LABEL).unwrap_or_default(),
        };
        Ok((shape, r1cs))
    }
}
