//! Threshold decryption with proofs (`docs/PROTOCOL.md` §3): each trustee sends, per
//! slot `j`, its share `D_lj = x_lj·C1` with a DLEQ proof against its verification key
//! `Y_lj`; any `t` valid shares combine by Lagrange interpolation in the exponent,
//! `s_j·C1 = Σ_l λ_l·D_lj`, and `M_j = C2_j − s_j·C1 = m_j·G`; `m_j` comes from a
//! baby-step giant-step table built once ([`DlogTable`]).
//!
//! A trustee with any invalid share is rejected as a whole and named; the result comes
//! from the `t` valid trustees with the smallest ids, so it does not depend on arrival
//! order.

use crate::dkg::{CommitteePublic, KeyShare};
use crate::dleq::{self, DecryptionContext, DleqProof, DleqStatement};
use crate::ids::TrusteeId;
use crate::wire;
use ark_ec::{AdditiveGroup, CurveGroup};
use ark_ff::Field;
use rayon::prelude::*;
use sealgrid_circuits::babyjubjub::{Point, ProjectivePoint, Scalar};
use sealgrid_circuits::elgamal::DlogTable;
use serde::{Deserialize, Serialize};

/// One slot's decryption share with its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptionShare {
    /// The slot (flow key index).
    pub slot: u32,
    /// `D = x_slot·C1`.
    #[serde(with = "wire::point")]
    pub d: Point,
    /// DLEQ proof of `log_G Y = log_C1 D`.
    pub proof: DleqProof,
}

/// A trustee's shares for a list of slots of one `C1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialDecryption {
    /// The trustee.
    pub trustee: TrusteeId,
    /// What is decrypted.
    pub context: DecryptionContext,
    /// One share per requested slot, in request order.
    pub shares: Vec<DecryptionShare>,
}

/// Why a trustee's partial decryption was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareRejection {
    /// Not a committee member.
    UnknownTrustee,
    /// For another context (round, purpose or bid).
    WrongContext,
    /// Not exactly the requested slots, in order.
    WrongSlots,
    /// The DLEQ proof of this slot's share fails.
    BadProof {
        /// The slot.
        slot: u32,
    },
    /// A second response from the same trustee.
    Duplicate,
}

/// Why a decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// Fewer than `t` trustees gave valid shares.
    #[error("{valid} valid partial decryptions, threshold {threshold}; rejected: {rejected:?}")]
    NotEnoughShares {
        /// Valid ones.
        valid: usize,
        /// `t`.
        threshold: usize,
        /// Who was rejected, why.
        rejected: Vec<(TrusteeId, ShareRejection)>,
    },
    /// A slot index outside the key set, or `C2` missing for it.
    #[error("slot {0} is not a flow slot")]
    BadSlot(u32),
    /// The key share lacks the slot.
    #[error("the key share has no slot {0}")]
    MissingKeyShare(u32),
    /// A decrypted value is not below `2^max_bits`.
    #[error("slot {slot}: no discrete log below 2^{max_bits}")]
    Dlog {
        /// The slot.
        slot: u32,
        /// The bound.
        max_bits: u32,
    },
}

/// Trustee side: shares and proofs of `c1` for `slots`.
pub fn partial_decrypt<R: rand::RngCore + rand::CryptoRng>(
    key: &KeyShare,
    public: &CommitteePublic,
    context: DecryptionContext,
    c1: &Point,
    slots: &[u32],
    rng: &mut R,
) -> Result<PartialDecryption, DecryptError> {
    let shares = slots
        .iter()
        .map(|&slot| {
            let x = key
                .share(slot as usize)
                .ok_or(DecryptError::MissingKeyShare(slot))?;
            let y = public
                .verification_key(key.id, slot as usize)
                .ok_or(DecryptError::BadSlot(slot))?;
            let d = dleq::share(x, c1);
            let st = DleqStatement {
                context: &context,
                trustee: key.id,
                slot,
                y,
                c: c1,
                d: &d,
            };
            Ok(DecryptionShare {
                slot,
                d,
                proof: dleq::prove(&st, x, rng),
            })
        })
        .collect::<Result<_, DecryptError>>()?;
    Ok(PartialDecryption {
        trustee: key.id,
        context,
        shares,
    })
}

/// Checks one trustee's partial decryption against public data only.
pub fn verify_partial(
    public: &CommitteePublic,
    context: &DecryptionContext,
    c1: &Point,
    slots: &[u32],
    p: &PartialDecryption,
) -> Result<(), ShareRejection> {
    if p.context != *context {
        return Err(ShareRejection::WrongContext);
    }
    if p.shares.len() != slots.len() || p.shares.iter().zip(slots).any(|(s, &j)| s.slot != j) {
        return Err(ShareRejection::WrongSlots);
    }
    for s in &p.shares {
        let y = public
            .verification_key(p.trustee, s.slot as usize)
            .ok_or(ShareRejection::UnknownTrustee)?;
        let st = DleqStatement {
            context,
            trustee: p.trustee,
            slot: s.slot,
            y,
            c: c1,
            d: &s.d,
        };
        dleq::verify(&st, &s.proof).map_err(|_| ShareRejection::BadProof { slot: s.slot })?;
    }
    Ok(())
}

/// `λ_i = Π_{j≠i} x_j / (x_j − x_i)`: Lagrange coefficients at 0 for the set `ids`.
pub fn lagrange_at_zero(ids: &[TrusteeId]) -> Vec<Scalar> {
    ids.iter()
        .map(|i| {
            let (num, den) = ids
                .iter()
                .filter(|j| *j != i)
                .fold((Scalar::ONE, Scalar::ONE), |(n, d), j| {
                    (n * j.x(), d * (j.x() - i.x()))
                });
            num * den.inverse().expect("distinct non-zero ids")
        })
        .collect()
}

/// The combined decryption of some slots: `M_j = m_j·G`, and who contributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combined {
    /// `m_j·G` per requested slot, in request order.
    pub points: Vec<Point>,
    /// The `t` trustees whose shares were used.
    pub used: Vec<TrusteeId>,
    /// Trustees whose responses were rejected, and why.
    pub rejected: Vec<(TrusteeId, ShareRejection)>,
}

/// Verifies every response (in parallel), keeps the `t` valid ones with the smallest
/// ids, and computes `M_j = C2_j − Σ λ_l·D_lj` for each requested slot. `c2[j]` is the
/// `C2` of slot `j` (indexed by slot number).
pub fn combine(
    public: &CommitteePublic,
    context: &DecryptionContext,
    c1: &Point,
    c2: &[Point],
    slots: &[u32],
    responses: &[PartialDecryption],
) -> Result<Combined, DecryptError> {
    for &s in slots {
        if s as usize >= c2.len() || s as usize >= public.flow_keys.len() {
            return Err(DecryptError::BadSlot(s));
        }
    }
    let verdicts: Vec<Result<(), ShareRejection>> = responses
        .par_iter()
        .map(|p| verify_partial(public, context, c1, slots, p))
        .collect();
    let mut rejected = Vec::new();
    let mut valid: Vec<&PartialDecryption> = Vec::new();
    for (p, v) in responses.iter().zip(verdicts) {
        match v {
            Err(e) => rejected.push((p.trustee, e)),
            Ok(()) if valid.iter().any(|q| q.trustee == p.trustee) => {
                rejected.push((p.trustee, ShareRejection::Duplicate))
            }
            Ok(()) => valid.push(p),
        }
    }
    let t = public.params.t as usize;
    if valid.len() < t {
        return Err(DecryptError::NotEnoughShares {
            valid: valid.len(),
            threshold: t,
            rejected,
        });
    }
    valid.sort_by_key(|p| p.trustee);
    valid.truncate(t);
    let used: Vec<TrusteeId> = valid.iter().map(|p| p.trustee).collect();
    let lambda = lagrange_at_zero(&used);
    let points: Vec<ProjectivePoint> = slots
        .iter()
        .enumerate()
        .map(|(k, &slot)| {
            let s_c1 = valid
                .iter()
                .zip(&lambda)
                .fold(ProjectivePoint::ZERO, |acc, (p, l)| acc + p.shares[k].d * l);
            c2[slot as usize] - s_c1
        })
        .collect();
    Ok(Combined {
        points: ProjectivePoint::normalize_batch(&points),
        used,
        rejected,
    })
}

/// Discrete logs of the combined points, in parallel: `m_j < 2^max_bits`.
pub fn solve(
    table: &DlogTable,
    slots: &[u32],
    points: &[Point],
    max_bits: u32,
) -> Result<Vec<u64>, DecryptError> {
    slots
        .par_iter()
        .zip(points)
        .map(|(&slot, p)| {
            table
                .solve(p, max_bits)
                .ok_or(DecryptError::Dlog { slot, max_bits })
        })
        .collect()
}
