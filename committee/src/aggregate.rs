//! Aggregation of a round's flow ciphertexts, slot by slot (`docs/PROTOCOL.md` §3).
//!
//! Input: the bids the market contract accepted, each with the ciphertexts posted beside
//! its proof and the digest `D` that proof took as a public input. A bid is included only
//! if its posted ciphertexts have the round's shape (2K + 1 slots) and digest to `D`;
//! otherwise the proof says nothing about them, so the bid is excluded and reported.
//! Digests are recomputed and the sums taken in parallel (rayon).

use crate::ids::BidId;
use crate::wire;
use ark_ec::{AdditiveGroup, CurveGroup};
use rayon::prelude::*;
use sealgrid_circuits::babyjubjub::{Point, ProjectivePoint};
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::Fr;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A bid as the contract shows it: accepted (its proof verified), with its posted
/// ciphertexts and the digest from its proof's public inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedBid {
    /// The bid commitment.
    pub id: BidId,
    /// The ciphertexts posted beside the proof (from the contract's event).
    #[serde(with = "wire::flow_ciphertexts")]
    pub ciphertexts: FlowCiphertexts,
    /// `D` from the accepted proof's public inputs.
    #[serde(with = "wire::fr")]
    pub digest: Fr,
}

/// Why a posted bid was left out of the aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExclusionReason {
    /// The posted ciphertexts do not digest to the proven `D`.
    DigestMismatch,
    /// The posted ciphertexts do not have 2K + 1 slots.
    WrongSlotCount(usize),
    /// The id appeared earlier in the list (only the first is kept).
    Duplicate,
}

/// A bid left out, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The bid.
    pub id: BidId,
    /// Why.
    pub reason: ExclusionReason,
}

/// The slot-wise sum of the included bids' ciphertexts. Only [`aggregate`] makes one,
/// so holding an `Aggregate` means it was computed from a list of posted bids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregate {
    round: u64,
    included: Vec<BidId>,
    sum: FlowCiphertexts,
}

impl Aggregate {
    /// The round.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The bids summed, in input order.
    pub fn included(&self) -> &[BidId] {
        &self.included
    }

    /// `ΣC1` and `ΣC2_j`.
    pub fn ciphertexts(&self) -> &FlowCiphertexts {
        &self.sum
    }
}

/// An aggregate and the bids excluded from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationReport {
    /// The sum over the included bids.
    pub aggregate: Aggregate,
    /// The bids left out, in input order.
    pub excluded: Vec<Exclusion>,
}

/// Why no aggregate could be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    /// No bid survived the checks (or none was given).
    #[error("no bid to aggregate ({excluded} excluded)")]
    Empty {
        /// Bids excluded.
        excluded: usize,
    },
}

/// Below this many bids per task, rayon's split costs more than it saves.
const MIN_CHUNK: usize = 256;

/// Checks every posted bid and sums the included ones slot by slot. `slots` is 2K + 1.
pub fn aggregate(
    round: u64,
    slots: usize,
    bids: &[PostedBid],
) -> Result<AggregationReport, AggregateError> {
    // Digest checks in parallel: the expensive part (three 16-input Poseidons per bid).
    let verdicts: Vec<Option<ExclusionReason>> = bids
        .par_iter()
        .with_min_len(16)
        .map(|b| {
            if b.ciphertexts.c2.len() != slots {
                Some(ExclusionReason::WrongSlotCount(b.ciphertexts.c2.len()))
            } else if b.ciphertexts.digest() != b.digest {
                Some(ExclusionReason::DigestMismatch)
            } else {
                None
            }
        })
        .collect();
    let mut seen = HashSet::with_capacity(bids.len());
    let mut excluded = Vec::new();
    let mut included_bids: Vec<&PostedBid> = Vec::with_capacity(bids.len());
    for (b, v) in bids.iter().zip(verdicts) {
        let reason = v.or_else(|| (!seen.insert(b.id)).then_some(ExclusionReason::Duplicate));
        match reason {
            Some(reason) => excluded.push(Exclusion { id: b.id, reason }),
            None => included_bids.push(b),
        }
    }
    if included_bids.is_empty() {
        return Err(AggregateError::Empty {
            excluded: excluded.len(),
        });
    }
    // Slot-wise sums: accumulators [ΣC1, ΣC2_0, …, ΣC2_2K] in projective form, one per
    // rayon task, added together at the end.
    let zero = || vec![ProjectivePoint::ZERO; slots + 1];
    let acc = included_bids
        .par_iter()
        .with_min_len(MIN_CHUNK)
        .fold(zero, |mut acc, b| {
            acc[0] += b.ciphertexts.c1;
            for (a, p) in acc[1..].iter_mut().zip(&b.ciphertexts.c2) {
                *a += p;
            }
            acc
        })
        .reduce(zero, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        });
    let affine: Vec<Point> = ProjectivePoint::normalize_batch(&acc);
    Ok(AggregationReport {
        aggregate: Aggregate {
            round,
            included: included_bids.iter().map(|b| b.id).collect(),
            sum: FlowCiphertexts {
                c1: affine[0],
                c2: affine[1..].to_vec(),
            },
        },
        excluded,
    })
}
