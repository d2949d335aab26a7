//! Aggregation of a round's flow ciphertexts, slot by slot (`docs/PROTOCOL.md` §3).
//!
//! Input: the bids the market contract accepted, each with the ciphertexts posted beside
//! its proof and the digest `D` that proof took as a public input. A bid is included only
//! if its posted ciphertexts have the round's shape (2K + 1 slots) and digest to `D`;
//! otherwise the proof says nothing about them, so the bid is excluded and reported.
//! Digests are recomputed and the sums taken in parallel (rayon).
//!
//! Two ways to run it, same result:
//!
//! - [`aggregate`], in one batch at round close. The digest checks dominate (three
//!   16-input Poseidons per bid, about 1.2 ms per bid per core with the current native
//!   Poseidon), so 10,000 bids take seconds.
//! - [`Aggregator`], as bids arrive during the bidding window: each accepted bid is
//!   checked and added when the contract emits it, and round close only normalises the
//!   running sums. This keeps the digest checks off the close-time critical path.

use crate::ids::{AccountId, BidId};
use crate::inclusion::InclusionBitmap;
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
    /// The bidding account, where the view knows it (the contract's `BidSubmitted`
    /// event names it): only an account's first bid of a round is aggregated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<AccountId>,
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
    /// The account bid earlier in the round (one bid per account per round: the
    /// contract refuses a second, so a view that shows one is reported and it is left
    /// out, and the k-anonymity floor counts accounts).
    SecondBidOfAccount,
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
    /// Positions of the included bids in the posted list (the contract's bid indices).
    indices: Vec<u32>,
    /// How many bids were posted (included or not).
    posted: u32,
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

    /// The included bids' positions in the posted list, which is the contract's order
    /// of acceptance: the bid indices the market contract numbers a round's bids by.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// How many bids were posted (included or not): the round's bid count in this view,
    /// which the clearing statement signs.
    pub fn posted(&self) -> u32 {
        self.posted
    }

    /// The inclusion bitmap the market contract checks (PROTOCOL §8): the included
    /// bids' indices among the posted ones.
    pub fn inclusion_bitmap(&self) -> InclusionBitmap {
        InclusionBitmap::from_indices(self.posted as usize, self.indices.iter().copied())
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

/// Checks one posted bid's shape and digest.
pub fn check_posted(bid: &PostedBid, slots: usize) -> Result<(), ExclusionReason> {
    if bid.ciphertexts.c2.len() != slots {
        Err(ExclusionReason::WrongSlotCount(bid.ciphertexts.c2.len()))
    } else if bid.ciphertexts.digest() != bid.digest {
        Err(ExclusionReason::DigestMismatch)
    } else {
        Ok(())
    }
}

/// Incremental aggregation: [`Aggregator::push`] each accepted bid as it arrives,
/// [`Aggregator::finish`] at round close. Same result as [`aggregate`] on the same list.
#[derive(Clone, Debug)]
pub struct Aggregator {
    round: u64,
    slots: usize,
    seen: HashSet<BidId>,
    accounts: HashSet<AccountId>,
    included: Vec<BidId>,
    indices: Vec<u32>,
    posted: u32,
    excluded: Vec<Exclusion>,
    /// `[ΣC1, ΣC2_0, …]`, projective.
    acc: Vec<ProjectivePoint>,
}

impl Aggregator {
    /// An empty aggregate of `slots` (2K + 1) slots for `round`.
    pub fn new(round: u64, slots: usize) -> Aggregator {
        Aggregator {
            round,
            slots,
            seen: HashSet::new(),
            accounts: HashSet::new(),
            included: Vec::new(),
            indices: Vec::new(),
            posted: 0,
            excluded: Vec::new(),
            acc: vec![ProjectivePoint::ZERO; slots + 1],
        }
    }

    /// Checks a bid and adds it, or records why it was excluded (and returns that).
    pub fn push(&mut self, bid: &PostedBid) -> Result<(), ExclusionReason> {
        let verdict = check_posted(bid, self.slots)
            .and_then(|()| {
                if self.seen.insert(bid.id) {
                    Ok(())
                } else {
                    Err(ExclusionReason::Duplicate)
                }
            })
            .and_then(|()| match bid.acct {
                Some(a) if !self.accounts.insert(a) => Err(ExclusionReason::SecondBidOfAccount),
                _ => Ok(()),
            });
        match verdict {
            Ok(()) => {
                self.acc[0] += bid.ciphertexts.c1;
                for (a, p) in self.acc[1..].iter_mut().zip(&bid.ciphertexts.c2) {
                    *a += p;
                }
                self.included.push(bid.id);
                self.indices.push(self.posted);
            }
            Err(reason) => self.excluded.push(Exclusion { id: bid.id, reason }),
        }
        self.posted += 1;
        verdict
    }

    /// Bids included so far.
    pub fn len(&self) -> usize {
        self.included.len()
    }

    /// True before any bid was included.
    pub fn is_empty(&self) -> bool {
        self.included.is_empty()
    }

    /// Round close: the aggregate and the exclusions.
    pub fn finish(self) -> Result<AggregationReport, AggregateError> {
        if self.included.is_empty() {
            return Err(AggregateError::Empty {
                excluded: self.excluded.len(),
            });
        }
        let affine = ProjectivePoint::normalize_batch(&self.acc);
        Ok(AggregationReport {
            aggregate: Aggregate {
                round: self.round,
                included: self.included,
                indices: self.indices,
                posted: self.posted,
                sum: FlowCiphertexts {
                    c1: affine[0],
                    c2: affine[1..].to_vec(),
                },
            },
            excluded: self.excluded,
        })
    }
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
        .map(|b| check_posted(b, slots).err())
        .collect();
    let mut seen = HashSet::with_capacity(bids.len());
    let mut accounts: HashSet<AccountId> = HashSet::with_capacity(bids.len());
    let mut excluded = Vec::new();
    let mut included_bids: Vec<&PostedBid> = Vec::with_capacity(bids.len());
    let mut indices = Vec::with_capacity(bids.len());
    for (i, (b, v)) in bids.iter().zip(verdicts).enumerate() {
        let reason = v
            .or_else(|| (!seen.insert(b.id)).then_some(ExclusionReason::Duplicate))
            .or_else(|| {
                b.acct
                    .is_some_and(|a| !accounts.insert(a))
                    .then_some(ExclusionReason::SecondBidOfAccount)
            });
        match reason {
            Some(reason) => excluded.push(Exclusion { id: b.id, reason }),
            None => {
                included_bids.push(b);
                indices.push(i as u32);
            }
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
            indices,
            posted: bids.len() as u32,
            sum: FlowCiphertexts {
                c1: affine[0],
                c2: affine[1..].to_vec(),
            },
        },
        excluded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_std::UniformRand;
    use rand::SeedableRng;
    use sealgrid_circuits::babyjubjub::{base8, Scalar};
    use sealgrid_circuits::flow::FlowKeys;

    #[test]
    fn batch_and_incremental_agree_and_exclude_the_same_bids() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
        let (keys, secrets) = FlowKeys::random(5, &mut rng);
        let mut bids: Vec<PostedBid> = (0..6u8)
            .map(|i| {
                let ct = keys
                    .encrypt(&[i as u64, 1, 0, 2, 10], &Scalar::rand(&mut rng))
                    .unwrap();
                PostedBid {
                    id: BidId([i; 32]),
                    digest: ct.digest(),
                    acct: None,
                    ciphertexts: ct,
                }
            })
            .collect();
        // bid 1: ciphertexts changed after proving; bid 4: a slot dropped; bid 5 repeats bid 0
        bids[1].ciphertexts.c2[0] = (bids[1].ciphertexts.c2[0] + base8()).into_affine();
        bids[4].ciphertexts.c2.pop();
        bids[5] = bids[0].clone();
        let batch = aggregate(9, 5, &bids).unwrap();
        let mut inc = Aggregator::new(9, 5);
        let verdicts: Vec<_> = bids.iter().map(|b| inc.push(b)).collect();
        assert_eq!(
            verdicts,
            vec![
                Ok(()),
                Err(ExclusionReason::DigestMismatch),
                Ok(()),
                Ok(()),
                Err(ExclusionReason::WrongSlotCount(4)),
                Err(ExclusionReason::Duplicate)
            ]
        );
        assert_eq!(inc.finish().unwrap(), batch);
        assert_eq!(
            batch.aggregate.included(),
            [0u8, 2, 3].map(|i| BidId([i; 32]))
        );
        // the sum decrypts to the included bids' messages: slot 0 holds 0 + 2 + 3
        let sum = batch.aggregate.ciphertexts();
        assert_eq!(
            sum.decrypt_to_point(0, &secrets[0]),
            (base8() * Scalar::from(5u64)).into_affine()
        );
        assert_eq!(
            sum.decrypt_to_point(4, &secrets[4]),
            (base8() * Scalar::from(30u64)).into_affine()
        );
        assert_eq!(
            aggregate(9, 5, &bids[1..2]),
            Err(AggregateError::Empty { excluded: 1 })
        );
    }
}
