//! Verification, one proof or a batch, and the one way in for proof bytes.
//!
//! ark-groth16's `verify_proof` zips the public inputs with the key's input bases,
//! so a short or long input list is silently truncated; here a count that differs
//! from the key's is an error. Proof points are checked (on the curve, in the prime
//! order subgroup) before any pairing, whether they come from bytes, from snarkjs
//! JSON or from memory.

use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{One, Zero};
use ark_groth16::Groth16;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError, Valid};
use ark_std::rand::{CryptoRng, RngCore};

use crate::{Curve, Fr, PreparedVerifyingKey, Proof, VerifyingKey};

type G1 = <Curve as Pairing>::G1;
type G1Affine = <Curve as Pairing>::G1Affine;
type G1Prepared = <Curve as Pairing>::G1Prepared;
type G2Prepared = <Curve as Pairing>::G2Prepared;

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The proof does not verify.
    #[error("the proof is invalid")]
    Rejected,
    /// The batch does not verify: at least one of its proofs is invalid (verify them
    /// one by one to find which).
    #[error("the batch of {proofs} proofs is invalid")]
    BatchRejected {
        /// The number of proofs in the batch.
        proofs: usize,
    },
    /// The number of public inputs is not the verifying key's.
    #[error("proof #{proof}: {got} public inputs given, the verifying key expects {expected}")]
    PublicInputCount {
        /// Index of the proof in the batch (0 for a single proof).
        proof: usize,
        /// What the verifying key expects.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A proof point is not on the curve or not in the prime-order subgroup.
    #[error("proof #{proof} has an invalid point: {source}")]
    InvalidPoint {
        /// Index of the proof in the batch (0 for a single proof).
        proof: usize,
        /// The failed check.
        #[source]
        source: SerializationError,
    },
    /// Proof bytes did not decode to valid points.
    #[error("proof bytes do not decode: {0}")]
    Decode(#[source] SerializationError),
    /// Proof bytes have bytes left over after the proof.
    #[error("proof bytes have {0} trailing bytes")]
    TrailingBytes(usize),
    /// The verifying key has no input bases at all.
    #[error("the verifying key has no input bases (IC is empty)")]
    MalformedKey,
}

/// Prepares a verifying key (computes `e(alpha, beta)` and negates `gamma`, `delta`).
pub fn prepare(vk: &VerifyingKey) -> PreparedVerifyingKey {
    ark_groth16::prepare_verifying_key(vk)
}

/// Encodes a proof: ark-serialize compressed, 128 bytes (A: 32, B: 64, C: 32).
pub fn proof_to_bytes(proof: &Proof) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(proof.compressed_size());
    // Writing to a Vec cannot fail.
    proof
        .serialize_compressed(&mut bytes)
        .expect("serialising into a Vec");
    bytes
}

/// Decodes a proof from [`proof_to_bytes`]'s encoding, checking that every
/// coordinate is canonical and every point is on the curve and in the subgroup.
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof, VerifyError> {
    let mut reader = bytes;
    let proof = Proof::deserialize_compressed(&mut reader).map_err(VerifyError::Decode)?;
    if !reader.is_empty() {
        return Err(VerifyError::TrailingBytes(reader.len()));
    }
    Ok(proof)
}

fn expected_inputs(vk: &VerifyingKey) -> Result<usize, VerifyError> {
    vk.gamma_abc_g1
        .len()
        .checked_sub(1)
        .ok_or(VerifyError::MalformedKey)
}

fn check_statement(
    vk: &VerifyingKey,
    index: usize,
    proof: &Proof,
    public_inputs: &[Fr],
) -> Result<(), VerifyError> {
    let expected = expected_inputs(vk)?;
    if public_inputs.len() != expected {
        return Err(VerifyError::PublicInputCount {
            proof: index,
            expected,
            got: public_inputs.len(),
        });
    }
    proof.check().map_err(|source| VerifyError::InvalidPoint {
        proof: index,
        source,
    })
}

/// Verifies one proof against its public inputs.
pub fn verify(
    pvk: &PreparedVerifyingKey,
    proof: &Proof,
    public_inputs: &[Fr],
) -> Result<(), VerifyError> {
    check_statement(&pvk.vk, 0, proof, public_inputs)?;
    // `verify_proof` never returns an error in ark-groth16 0.6 (its `Result` is kept
    // for the trait); treat one as a rejection all the same.
    match Groth16::<Curve>::verify_proof(pvk, proof, public_inputs) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(VerifyError::Rejected),
    }
}

/// Verifies a batch of proofs under one key with a random linear combination.
///
/// Proof `i` verifies iff `e(A_i, B_i) = e(alpha, beta) e(L_i, gamma) e(C_i, delta)`,
/// with `L_i = IC_0 + sum_j x_ij IC_j`. For random 128-bit `r_i` the batch checks
///
/// `prod_i e(r_i A_i, B_i) * e(-(sum r_i) alpha, beta) * e(sum r_i L_i, -gamma)
///  * e(sum r_i C_i, -delta) = 1`,
///
/// one multi-Miller loop of n + 3 pairings and one final exponentiation; `sum r_i L_i`
/// is one MSM over the key's IC with coefficients `sum_i r_i x_ij`. A batch with an
/// invalid proof passes with probability about 2^-128 over `rng`, which must be
/// unpredictable to whoever made the proofs. An empty batch is accepted.
pub fn batch_verify<'a, I, R>(
    pvk: &PreparedVerifyingKey,
    items: I,
    rng: &mut R,
) -> Result<(), VerifyError>
where
    I: IntoIterator<Item = (&'a Proof, &'a [Fr])>,
    R: RngCore + CryptoRng,
{
    let vk = &pvk.vk;
    let ic = &vk.gamma_abc_g1;
    let mut input_coeffs = vec![Fr::zero(); ic.len()];
    let mut r_sum = Fr::zero();
    let mut g1: Vec<G1Prepared> = Vec::new();
    let mut g2: Vec<G2Prepared> = Vec::new();
    let mut c_bases: Vec<G1Affine> = Vec::new();
    let mut c_scalars: Vec<Fr> = Vec::new();

    for (index, (proof, public_inputs)) in items.into_iter().enumerate() {
        check_statement(vk, index, proof, public_inputs)?;
        let r = loop {
            let r = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
            if r != 0 {
                break r;
            }
        };
        let limbs = [r as u64, (r >> 64) as u64];
        let r_fr = Fr::from(r);
        r_sum += r_fr;
        input_coeffs[0] += r_fr;
        for (coeff, x) in input_coeffs[1..].iter_mut().zip(public_inputs) {
            *coeff += r_fr * x;
        }
        g1.push(proof.a.mul_bigint(limbs).into_affine().into());
        g2.push(proof.b.into());
        c_bases.push(proof.c);
        c_scalars.push(r_fr);
    }
    let proofs = g1.len();
    if proofs == 0 {
        return Ok(());
    }

    // Lengths match by construction, so the MSMs cannot fail.
    let acc_inputs = G1::msm(ic, &input_coeffs).map_err(|_| VerifyError::MalformedKey)?;
    let acc_c = G1::msm(&c_bases, &c_scalars).map_err(|_| VerifyError::MalformedKey)?;
    g1.push((vk.alpha_g1 * -r_sum).into_affine().into());
    g2.push(vk.beta_g2.into());
    g1.push(acc_inputs.into_affine().into());
    g2.push(pvk.gamma_g2_neg_pc.clone());
    g1.push(acc_c.into_affine().into());
    g2.push(pvk.delta_g2_neg_pc.clone());

    let miller = Curve::multi_miller_loop(g1, g2);
    match Curve::final_exponentiation(miller) {
        Some(out) if out.0.is_one() => Ok(()),
        _ => Err(VerifyError::BatchRejected { proofs }),
    }
}
