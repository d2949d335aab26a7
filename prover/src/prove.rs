//! Proving.
//!
//! ark-groth16's `prove` only `debug_assert!`s that the witness satisfies the
//! constraints: in a release build an unsatisfied witness yields a proof that no
//! verifier accepts, and nobody learns which constraint failed. So this module
//! synthesises the circuit itself, checks satisfaction (naming the first unsatisfied
//! constraint), checks the circuit against the proving key's size, and then hands the
//! same matrices and assignment to ark-groth16 (the circuit is synthesised once).

use ark_ff::UniformRand;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use ark_std::rand::{CryptoRng, RngCore};

use crate::dyn_circuit::{DynCircuit, DynRng};
use crate::progress::{timed, Phase, Progress};
use crate::qap::Groth16;
use crate::{Fr, Proof, ProvingKey};

/// Why no proof was made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// Synthesis failed (for example a witness value was missing).
    #[error("synthesising the circuit failed: {0}")]
    Synthesis(#[source] SynthesisError),
    /// The witness does not satisfy the constraints.
    #[error("the witness does not satisfy constraint {0}")]
    Unsatisfied(String),
    /// The circuit does not have the size the proving key was made for.
    #[error(
        "the circuit does not fit the proving key: {what} is {circuit}, the key expects {key}"
    )]
    KeyMismatch {
        /// Which size differs.
        what: &'static str,
        /// The circuit's value.
        circuit: usize,
        /// The key's value.
        key: usize,
    },
    /// The circuit used a generalised-R1CS predicate that Groth16 cannot prove.
    #[error("the circuit uses predicate {0:?}; Groth16 proves R1CS only")]
    UnsupportedPredicate(String),
    /// ark-groth16 failed while proving.
    #[error("proving failed: {0}")]
    Prover(#[source] SynthesisError),
}

/// A proof together with the public inputs it proves, in the circuit's order.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvedStatement {
    /// The proof.
    pub proof: Proof,
    /// The public inputs, without the leading constant one.
    pub public_inputs: Vec<Fr>,
}

/// Proves `circuit` (with its witness) under `pk`. `rng` draws the proof's blinding
/// `r, s`: use a cryptographic RNG, or the proof leaks the witness. The key must be made
/// for the project's reduction ([`crate::qap`]): every key of the key store and every
/// key exported from a ceremony's `.zkey` is.
pub fn prove<C, R>(
    pk: &ProvingKey,
    circuit: C,
    rng: &mut R,
    progress: &dyn Progress,
) -> Result<ProvedStatement, ProveError>
where
    C: ConstraintSynthesizer<Fr>,
    R: RngCore + CryptoRng,
{
    prove_dyn(
        pk,
        DynCircuit::new(circuit),
        &mut DynRng::new(rng),
        progress,
    )
}

/// [`prove`]'s body, compiled once in this crate ([`crate::dyn_circuit`]).
fn prove_dyn(
    pk: &ProvingKey,
    circuit: DynCircuit<'_>,
    rng: &mut DynRng<'_>,
    progress: &dyn Progress,
) -> Result<ProvedStatement, ProveError> {
    let cs = timed(progress, Phase::Synthesize, "witness", || {
        let cs = ConstraintSystem::<Fr>::new_ref();
        // The same settings as ark-groth16's own prover.
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        });
        circuit
            .generate_constraints(cs.clone())
            .map_err(ProveError::Synthesis)?;
        cs.finalize();
        if !cs.is_satisfied().map_err(ProveError::Synthesis)? {
            let which = cs
                .which_is_unsatisfied()
                .map_err(ProveError::Synthesis)?
                .unwrap_or_else(|| "(unnamed)".to_owned());
            return Err(ProveError::Unsatisfied(which));
        }
        Ok(cs)
    })?;

    let num_inputs = cs.num_instance_variables();
    let num_constraints = cs.num_constraints();
    let num_witness = cs.num_witness_variables();
    let key_inputs = pk.vk.gamma_abc_g1.len();
    if num_inputs != key_inputs {
        return Err(ProveError::KeyMismatch {
            what: "the number of instance variables (with the constant one)",
            circuit: num_inputs,
            key: key_inputs,
        });
    }
    if num_inputs + num_witness != pk.a_query.len() {
        return Err(ProveError::KeyMismatch {
            what: "the number of variables",
            circuit: num_inputs + num_witness,
            key: pk.a_query.len(),
        });
    }

    let mut matrices = cs.to_matrices().map_err(ProveError::Synthesis)?;
    if let Some((label, _)) = matrices
        .iter()
        .find(|(label, m)| *label != R1CS_PREDICATE_LABEL && m.iter().any(|m| !m.is_empty()))
    {
        return Err(ProveError::UnsupportedPredicate(label.clone()));
    }
    let r1cs = matrices.remove(R1CS_PREDICATE_LABEL).unwrap_or_default();
    let instance = cs.instance_assignment().map_err(ProveError::Synthesis)?;
    let witness = cs.witness_assignment().map_err(ProveError::Synthesis)?;
    let public_inputs = instance[1..].to_vec();
    let full_assignment = [instance, witness].concat();

    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let proof = timed(progress, Phase::Prove, "proof", || {
        Groth16::create_proof_with_reduction_and_matrices(
            pk,
            r,
            s,
            &r1cs,
            num_inputs,
            num_constraints,
            &full_assignment,
        )
    })
    .map_err(ProveError::Prover)?;
    Ok(ProvedStatement {
        proof,
        public_inputs,
    })
}
