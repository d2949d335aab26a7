//! Proving a batch of statements with a progress bar, and verifying a batch the way the
//! coordinator would before relaying it (one random linear combination per batch).

use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use sealgrid_prover::{batch_verify, prove, Fr, KeyPair, NoProgress, Proof, SealgridCircuit};

use super::observer::Observer;
use super::DemoError;

/// A proof with the public inputs it proves.
#[derive(Clone, Debug)]
pub struct Proven {
    /// The proof.
    pub proof: Proof,
    /// Its public inputs, in the statement's order.
    pub inputs: Vec<Fr>,
}

/// Proves each `(circuit, expected public inputs)` under `keys` (blinding from the OS),
/// checking that the circuit's public inputs are the statement's. Returns the proofs and
/// the wall time spent.
pub fn prove_batch(
    keys: &KeyPair,
    statements: Vec<(SealgridCircuit, Vec<Fr>)>,
    what: &str,
    observer: &dyn Observer,
) -> Result<(Vec<Proven>, Duration), DemoError> {
    let start = Instant::now();
    observer.begin(what, statements.len() as u64);
    let mut out = Vec::with_capacity(statements.len());
    for (circuit, inputs) in statements {
        let st = prove(&keys.pk, circuit, &mut OsRng, &NoProgress).map_err(|source| {
            DemoError::Prove {
                what: what.to_owned(),
                source,
            }
        })?;
        if st.public_inputs != inputs {
            return Err(DemoError::Check(format!(
                "{what}: the circuit's public inputs differ from the statement's"
            )));
        }
        out.push(Proven {
            proof: st.proof,
            inputs,
        });
        observer.advance();
    }
    observer.end();
    Ok((out, start.elapsed()))
}

/// Batch-verifies `proofs` under `keys` (the coordinator's check before relaying).
pub fn verify_batch(keys: &KeyPair, proofs: &[Proven], what: &str) -> Result<(), DemoError> {
    let pvk = keys.prepared_vk();
    batch_verify(
        &pvk,
        proofs.iter().map(|p| (&p.proof, &p.inputs[..])),
        &mut OsRng,
    )
    .map_err(|source| DemoError::Verify {
        what: what.to_owned(),
        source,
    })
}
