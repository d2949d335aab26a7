//! Proving.
//!
//! ark-groth16's `prove` only `debug_assert!`s that the witness satisfies the
//! constraints: in a release build an unsatisfied witness yields a proof that no
//! verifier accepts, and nobody learns which constraint failed. So this module
//! synthesises the circuit itself, checks the circuit against the proving key's size, and
//! hands the matrices and the assignment to ark-groth16 with the project's reduction,
//! which checks every constraint on the way ([`crate::qap`]; a broken one is named by its
//! index).
//!
//! The matrices do not depend on the witness, so they are built once per proving key in
//! a process, by the first proof made with it, and kept; every later proof synthesises
//! the witness only (no constraint is built, no linear combination inlined).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ark_ff::UniformRand;
use ark_groth16::r1cs_to_qap::evaluate_constraint;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

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
    let key = KeyFingerprint::of(pk);
    let cached = matrix_cache()
        .lock()
        .map(|c| c.get(&key).cloned())
        .ok()
        .flatten();
    let fresh = cached.is_none();
    let (system, instance, witness) = timed(progress, Phase::Synthesize, "witness", || {
        synthesise(circuit, cached)
    })?;

    let num_inputs = instance.len();
    let key_inputs = pk.vk.gamma_abc_g1.len();
    if num_inputs != key_inputs {
        return Err(ProveError::KeyMismatch {
            what: "the number of instance variables (with the constant one)",
            circuit: num_inputs,
            key: key_inputs,
        });
    }
    if num_inputs + witness.len() != pk.a_query.len() {
        return Err(ProveError::KeyMismatch {
            what: "the number of variables",
            circuit: num_inputs + witness.len(),
            key: pk.a_query.len(),
        });
    }
    if num_inputs != system.num_inputs || witness.len() != system.num_witness {
        // Kept matrices fit the key's sizes (they are kept only then): a defence only.
        return Err(ProveError::KeyMismatch {
            what: "the number of variables of the constraint system proved with this key before",
            circuit: num_inputs + witness.len(),
            key: system.num_inputs + system.num_witness,
        });
    }
    let public_inputs = instance[1..].to_vec();
    let full_assignment = [instance, witness].concat();

    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let proof = timed(progress, Phase::Prove, "proof", || {
        Groth16::create_proof_with_reduction_and_matrices(
            pk,
            r,
            s,
            &system.matrices,
            num_inputs,
            system.num_constraints,
            &full_assignment,
        )
    });
    match proof {
        Ok(proof) => {
            if fresh {
                // Kept only once a proof fits them: the key's sizes and a witness that
                // satisfies them.
                if let Ok(mut cache) = matrix_cache().lock() {
                    cache.insert(key, system);
                }
            }
            Ok(ProvedStatement {
                proof,
                public_inputs,
            })
        }
        // The reduction refuses a witness that does not satisfy the matrices
        // ([`crate::qap`]); name the first constraint it breaks.
        Err(SynthesisError::Unsatisfiable) => {
            if !fresh {
                // Kept matrices of another circuit of the same size, proved with this key
                // by mistake, would refuse every right witness: the next proof builds
                // them again.
                if let Ok(mut cache) = matrix_cache().lock() {
                    cache.remove(&key);
                }
            }
            Err(ProveError::Unsatisfied(
                system.first_unsatisfied(&full_assignment).map_or_else(
                    || "(unknown)".to_owned(),
                    |i| format!("{R1CS_PREDICATE_LABEL} - {i}"),
                ),
            ))
        }
        Err(e) => Err(ProveError::Prover(e)),
    }
}

/// A circuit's R1CS as the prover uses it: the matrices (linear combinations inlined, as
/// the setup made the key from) and the sizes.
#[derive(Debug)]
pub(crate) struct R1cs {
    pub(crate) num_inputs: usize,
    pub(crate) num_witness: usize,
    pub(crate) num_constraints: usize,
    /// A, B and C.
    pub(crate) matrices: Vec<Matrix<Fr>>,
}

impl R1cs {
    /// The index of the first constraint `assignment` (the constant one, the instance,
    /// the witness) does not satisfy.
    fn first_unsatisfied(&self, assignment: &[Fr]) -> Option<usize> {
        let eval = |m: usize, i: usize| evaluate_constraint(&self.matrices[m][i], assignment);
        (0..self.num_constraints).find(|&i| eval(0, i) * eval(1, i) != eval(2, i))
    }
}

/// The proving keys whose circuits' matrices this process has built: a key's matrices are
/// built by the first proof made with it (a full synthesis) and kept once that proof is
/// made; every later proof synthesises its witness only. A kept entry never makes a
/// wrong proof: the reduction checks every constraint against the witness, so a circuit
/// that does not fit the kept matrices is refused as unsatisfied (and the entry dropped).
fn matrix_cache() -> &'static Mutex<HashMap<KeyFingerprint, Arc<R1cs>>> {
    static CACHE: OnceLock<Mutex<HashMap<KeyFingerprint, Arc<R1cs>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Keeps `system` as `pk`'s matrices, so that the next proof with `pk` synthesises its
/// witness only. For the key store, which has just checked that `pk` was made from a
/// circuit of exactly this shape (the digest covers every coefficient of the matrices):
/// then these are the matrices the setup used. Refused (nothing kept) if the sizes do not
/// fit the key; and a kept entry never makes a wrong proof anyway (see [`matrix_cache`]).
pub(crate) fn keep_matrices(pk: &ProvingKey, system: R1cs) {
    let fits = system.num_inputs == pk.vk.gamma_abc_g1.len()
        && system.num_inputs + system.num_witness == pk.a_query.len()
        && system.matrices.len() == 3
        && system
            .matrices
            .iter()
            .all(|m| m.len() == system.num_constraints);
    if fits {
        if let Ok(mut cache) = matrix_cache().lock() {
            cache
                .entry(KeyFingerprint::of(pk))
                .or_insert_with(|| Arc::new(system));
        }
    }
}

/// Whether this process holds `pk`'s constraint matrices: then the next proof with `pk`
/// synthesises its witness only. They are kept by the first proof with `pk`, or by
/// [`crate::KeyStore::get_or_setup`] when it loads a cached key whose circuit it has just
/// measured (the measurement builds the same matrices).
pub fn keeps_matrices_for(pk: &ProvingKey) -> bool {
    matrix_cache()
        .lock()
        .map(|c| c.contains_key(&KeyFingerprint::of(pk)))
        .unwrap_or(false)
}

/// A proving key's identity: SHA-256 of its verifying key and query sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct KeyFingerprint([u8; 32]);

impl KeyFingerprint {
    fn of(pk: &ProvingKey) -> Self {
        let mut bytes = Vec::with_capacity(1024);
        pk.vk
            .serialize_uncompressed(&mut bytes)
            .expect("serialising into a vector cannot fail");
        let mut h = Sha256::new();
        h.update(b"sealgrid-prover-key-v1");
        h.update(&bytes);
        for len in [
            pk.a_query.len(),
            pk.b_g1_query.len(),
            pk.b_g2_query.len(),
            pk.h_query.len(),
            pk.l_query.len(),
        ] {
            h.update((len as u64).to_le_bytes());
        }
        KeyFingerprint(h.finalize().into())
    }
}

/// Synthesises `circuit`'s assignment (the constant one and the instance, then the
/// witness). With `cached` matrices only the witness is computed; without, the matrices
/// are built too (ark-groth16's settings, so they are the ones the setup made the key
/// from).
fn synthesise(
    circuit: DynCircuit<'_>,
    cached: Option<Arc<R1cs>>,
) -> Result<(Arc<R1cs>, Vec<Fr>, Vec<Fr>), ProveError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: cached.is_none(),
        generate_lc_assignments: false,
    });
    circuit
        .generate_constraints(cs.clone())
        .map_err(ProveError::Synthesis)?;
    cs.finalize();
    let instance = cs.instance_assignment().map_err(ProveError::Synthesis)?;
    let witness = cs.witness_assignment().map_err(ProveError::Synthesis)?;
    let system = match cached {
        Some(system) => system,
        None => {
            let mut matrices = cs.to_matrices().map_err(ProveError::Synthesis)?;
            if let Some((label, _)) = matrices.iter().find(|(label, m)| {
                *label != R1CS_PREDICATE_LABEL && m.iter().any(|m| !m.is_empty())
            }) {
                return Err(ProveError::UnsupportedPredicate(label.clone()));
            }
            Arc::new(R1cs {
                num_inputs: cs.num_instance_variables(),
                num_witness: cs.num_witness_variables(),
                num_constraints: cs.num_constraints(),
                matrices: matrices.remove(R1CS_PREDICATE_LABEL).unwrap_or_default(),
            })
        }
    };
    Ok((system, instance, witness))
}
