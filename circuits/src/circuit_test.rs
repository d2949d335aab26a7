//! Test helpers for whole circuits.

use crate::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisError};

/// True when the circuit synthesises and its constraint system is satisfied. Synthesis
/// refusing a witness outright (`Unsatisfiable`, e.g. two unequal constants) counts as
/// not satisfied; any other synthesis error is a bug in the test and panics.
pub(crate) fn satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    match circuit.generate_constraints(cs.clone()) {
        Ok(()) => {}
        Err(SynthesisError::Unsatisfiable) => return false,
        Err(e) => panic!("synthesis failed: {e}"),
    }
    cs.finalize();
    cs.is_satisfied().expect("satisfaction check")
}

/// Constraints and instance variables (the inputs and the constant one) of the circuit:
/// the prover's evaluation domain is the next power of two above their sum.
pub(crate) fn shape<C: ConstraintSynthesizer<Fr>>(circuit: C) -> (usize, usize) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.finalize();
    (cs.num_constraints(), cs.num_instance_variables())
}
