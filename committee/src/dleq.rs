//! Chaum-Pedersen proof of equality of discrete logs, made non-interactive with
//! Fiat-Shamir through a merlin transcript.
//!
//! Statement: for public `(G, Y, C, D)`, the prover knows `x` with `Y = x·G` and
//! `D = x·C`. Here `Y` is a trustee's verification key for one slot, `C` the `C1` being
//! decrypted (an aggregate's or one disclosed bid's) and `D` the trustee's decryption
//! share. Proof `(e, z)`: `A1 = k·G`, `A2 = k·C`, `e = H(transcript)`, `z = k + e·x`;
//! the verifier recomputes `A1 = z·G − e·Y`, `A2 = z·C − e·D` and the challenge.
//!
//! The transcript starts with the protocol label [`DOMAIN`], then absorbs the context
//! (what is decrypted: clearing, settlement flows or defaulted locks of a round, or
//! disclosure of one bid; the slot, the trustee) and every statement point `G, Y, C, D`,
//! then the commitments `A1, A2`; the challenge is 64 bytes reduced mod `l`. Points are absorbed in circomlib's packed form,
//! which is canonical. The nonce comes from merlin's transcript RNG keyed with the
//! witness and fresh randomness (hedged), so a weak RNG alone does not leak `x`.
//!
//! All points must be in the prime-order subgroup: the types here only come from checked
//! decoders ([`crate::wire`]) or from arithmetic on such points.

use crate::ids::{BidId, TrusteeId};
use crate::wire;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use merlin::Transcript;
use sealgrid_circuits::babyjubjub::{base8, pack, Point, Scalar};
use serde::{Deserialize, Serialize};

/// Domain separator of every DLEQ transcript in sealgrid.
pub const DOMAIN: &[u8] = b"sealgrid/committee/dleq/v1";

/// What a decryption share is for: bound into its proof, so a share and proof made for
/// one purpose cannot be presented for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecryptionContext {
    /// The aggregate flows of a round, for clearing (`docs/PROTOCOL.md` §5).
    Clearing {
        /// The round.
        round: u64,
    },
    /// One bid's flows, opened for an auditor (escrowed disclosure).
    Disclosure {
        /// The round.
        round: u64,
        /// The bid opened.
        bid: BidId,
    },
    /// The aggregate settlement flows of a round (pay, credit, penalty; PROTOCOL §4.3
    /// S7), for finalization.
    Settlement {
        /// The round.
        round: u64,
    },
    /// The lock slot of the aggregate of a round's defaulted bids, for finalization.
    Defaulted {
        /// The round.
        round: u64,
    },
}

/// The public statement of one proof.
#[derive(Clone, Copy, Debug)]
pub struct DleqStatement<'a> {
    /// What is decrypted.
    pub context: &'a DecryptionContext,
    /// The trustee proving.
    pub trustee: TrusteeId,
    /// The slot (flow key index) the share is for.
    pub slot: u32,
    /// The trustee's verification key for the slot, `Y = x·G`.
    pub y: &'a Point,
    /// The ciphertext component decrypted, `C`.
    pub c: &'a Point,
    /// The decryption share, `D = x·C`.
    pub d: &'a Point,
}

/// A proof `(e, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DleqProof {
    /// The challenge.
    #[serde(with = "wire::scalar")]
    pub e: Scalar,
    /// The response.
    #[serde(with = "wire::scalar")]
    pub z: Scalar,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DleqError {
    /// The recomputed challenge differs: the share is not `x·C` for the `x` behind `Y`.
    #[error("DLEQ proof does not verify")]
    Invalid,
}

fn append_point(t: &mut Transcript, label: &'static [u8], p: &Point) {
    t.append_message(label, &pack(p));
}

fn transcript(st: &DleqStatement<'_>) -> Transcript {
    let mut t = Transcript::new(DOMAIN);
    match st.context {
        DecryptionContext::Clearing { round } => {
            t.append_message(b"purpose", b"clearing");
            t.append_u64(b"round", *round);
        }
        DecryptionContext::Disclosure { round, bid } => {
            t.append_message(b"purpose", b"disclosure");
            t.append_u64(b"round", *round);
            t.append_message(b"bid", &bid.0);
        }
        DecryptionContext::Settlement { round } => {
            t.append_message(b"purpose", b"settlement");
            t.append_u64(b"round", *round);
        }
        DecryptionContext::Defaulted { round } => {
            t.append_message(b"purpose", b"defaulted");
            t.append_u64(b"round", *round);
        }
    }
    t.append_u64(b"trustee", st.trustee.0 as u64);
    t.append_u64(b"slot", st.slot as u64);
    append_point(&mut t, b"G", &base8());
    append_point(&mut t, b"Y", st.y);
    append_point(&mut t, b"C", st.c);
    append_point(&mut t, b"D", st.d);
    t
}

fn challenge(mut t: Transcript, a1: &Point, a2: &Point) -> Scalar {
    append_point(&mut t, b"A1", a1);
    append_point(&mut t, b"A2", a2);
    let mut buf = [0u8; 64];
    t.challenge_bytes(b"e", &mut buf);
    Scalar::from_le_bytes_mod_order(&buf)
}

/// Proves `log_G Y = log_C D = x`. The caller guarantees `Y = x·G`, `D = x·C`.
pub fn prove<R: rand::RngCore + rand::CryptoRng>(
    st: &DleqStatement<'_>,
    x: &Scalar,
    rng: &mut R,
) -> DleqProof {
    let t = transcript(st);
    let mut nonce_rng = t
        .build_rng()
        .rekey_with_witness_bytes(b"x", &x.into_bigint().to_bytes_le())
        .finalize(rng);
    let k = Scalar::rand(&mut nonce_rng);
    let a1 = (base8() * k).into_affine();
    let a2 = (*st.c * k).into_affine();
    let e = challenge(t, &a1, &a2);
    DleqProof { e, z: k + e * x }
}

/// Verifies a proof against its statement.
pub fn verify(st: &DleqStatement<'_>, proof: &DleqProof) -> Result<(), DleqError> {
    let a1 = (base8() * proof.z - *st.y * proof.e).into_affine();
    let a2 = (*st.c * proof.z - *st.d * proof.e).into_affine();
    if challenge(transcript(st), &a1, &a2) == proof.e {
        Ok(())
    } else {
        Err(DleqError::Invalid)
    }
}

/// `x·C`, the decryption share of `C` under the secret `x`.
pub fn share(x: &Scalar, c: &Point) -> Point {
    (c.into_group() * x).into_affine()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn honest_proof_verifies_and_tampering_is_rejected() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let x = Scalar::rand(&mut rng);
        let y = (base8() * x).into_affine();
        let c = (base8() * Scalar::rand(&mut rng)).into_affine();
        let d = share(&x, &c);
        let ctx = DecryptionContext::Clearing { round: 42 };
        let st = DleqStatement {
            context: &ctx,
            trustee: TrusteeId(2),
            slot: 3,
            y: &y,
            c: &c,
            d: &d,
        };
        let proof = prove(&st, &x, &mut rng);
        assert_eq!(verify(&st, &proof), Ok(()));

        // a tampered response, a tampered challenge
        let bad = DleqProof {
            z: proof.z + Scalar::from(1u64),
            ..proof
        };
        assert_eq!(verify(&st, &bad), Err(DleqError::Invalid));
        let bad = DleqProof {
            e: proof.e + Scalar::from(1u64),
            ..proof
        };
        assert_eq!(verify(&st, &bad), Err(DleqError::Invalid));
        // a wrong share with the honest proof
        let d_bad = (d + base8()).into_affine();
        let st_bad = DleqStatement { d: &d_bad, ..st };
        assert_eq!(verify(&st_bad, &proof), Err(DleqError::Invalid));
        // the same proof in another context, slot or for another trustee
        let other = DecryptionContext::Clearing { round: 43 };
        assert_eq!(
            verify(
                &DleqStatement {
                    context: &other,
                    ..st
                },
                &proof
            ),
            Err(DleqError::Invalid)
        );
        assert_eq!(
            verify(&DleqStatement { slot: 4, ..st }, &proof),
            Err(DleqError::Invalid)
        );
        assert_eq!(
            verify(
                &DleqStatement {
                    trustee: TrusteeId(3),
                    ..st
                },
                &proof
            ),
            Err(DleqError::Invalid)
        );
    }

    /// Clearing, settlement and defaulted-lock shares of one round, same slot, same `C`:
    /// a proof made for one purpose verifies for no other.
    #[test]
    fn a_proof_verifies_in_its_own_context_only() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let x = Scalar::rand(&mut rng);
        let y = (base8() * x).into_affine();
        let c = (base8() * Scalar::rand(&mut rng)).into_affine();
        let d = share(&x, &c);
        let contexts = [
            DecryptionContext::Clearing { round: 5 },
            DecryptionContext::Settlement { round: 5 },
            DecryptionContext::Defaulted { round: 5 },
            DecryptionContext::Disclosure {
                round: 5,
                bid: BidId([0; 32]),
            },
        ];
        for made in &contexts {
            let st = |context| DleqStatement {
                context,
                trustee: TrusteeId(1),
                slot: 0,
                y: &y,
                c: &c,
                d: &d,
            };
            let proof = prove(&st(made), &x, &mut rng);
            for checked in &contexts {
                assert_eq!(
                    verify(&st(checked), &proof).is_ok(),
                    made == checked,
                    "made for {made:?}, checked for {checked:?}"
                );
            }
        }
    }
}
