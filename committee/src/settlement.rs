//! Settlement and finalization of a round (`docs/PROTOCOL.md` §4.3 S7, §7, §8
//! `finalize`): the committee decrypts the round's settlement flow totals and the total
//! lock of its defaulted bids, and signs the finalize statement the market contract
//! checks.
//!
//! Two aggregates, each with its own decryption context (so a share made for one cannot
//! be presented for the other, nor for clearing):
//!
//! - **Settlement flows**, [`DecryptionContext::Settlement`]: every settlement posts
//!   `(C1', C2'_0, C2'_1, C2'_2)` encrypting `(pay, credit, penalty)` under the first
//!   three flow keys, with its digest `E` a public input of the settle proof. They are
//!   aggregated exactly like bids ([`crate::aggregate::aggregate`] with 3 slots): a
//!   settlement whose posted ciphertexts do not digest to `E` is excluded, reported and
//!   **voided**: `finalize` voids its payout (frozen until then) and its bid counts as a
//!   defaulter. Slots 0, 1, 2.
//! - **Defaulted locks**, [`DecryptionContext::Defaulted`]: the round's accepted bids
//!   with no settlement (recorded on chain by `recordDefaults`) and the voided
//!   settlements' bids are its defaulters; their bid ciphertexts are aggregated
//!   (2K + 1 slots, digest checked against `D`, exclusions reported) and only the lock
//!   slot 2K is decrypted. A defaulter whose posted ciphertexts do not match its digest
//!   stays a defaulter (the contract records it) but its lock is not in the total.
//!
//! An empty aggregate (no settlement, or no defaulter, passed the checks) has total 0
//! and nothing to decrypt. The settlement flows are refused under the market's
//! k-anonymity floor, like bids: with fewer settlements their totals would say too much
//! about single households. The defaulted locks of fewer than k-anonymity defaulters
//! (and more than 0) are **withheld**: never decrypted, total 0, and the contract keeps
//! them (its `finalize` requires `defaultedLocks = 0` then), so a lone defaulter's lock
//! (a seller's side and q) is never published.
//!
//! Totals are bounded by [`MAX_TOTAL_BITS`] = 56 bits (a lock is below 2^48, PROTOCOL
//! §4.2 B4, so 256 defaulted maximal locks still fit; money totals of 2^40 and more are
//! expected). Baby-step giant-step stops at the answer, so the cost is `value /
//! baby_steps` giant steps, not the bound's: with a table of 2^20 baby steps (about
//! 21 MB), a total near 2^40 costs 2^20 point additions, near 2^48 a table of 2^24 is the
//! sensible size.

use crate::aggregate::{
    aggregate, check_posted, Aggregate, AggregateError, Exclusion, ExclusionReason, PostedBid,
};
use crate::decrypt::{self, DecryptError, PartialDecryption, ShareRejection};
use crate::dkg::CommitteePublic;
use crate::dleq::DecryptionContext;
use crate::ids::{BidId, TrusteeId};
use crate::sign::FinalizeTotals;
use sealgrid_circuits::babyjubjub::Point;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::settle::SETTLE_FLOWS;
use std::collections::HashSet;

/// Decrypted settlement totals are below `2^MAX_TOTAL_BITS` (see the module docs).
pub const MAX_TOTAL_BITS: u32 = 56;

/// A settlement as the contract shows it: `id` is the settled bid's commitment `B`,
/// `ciphertexts` the posted `(C1', C2'_0, C2'_1, C2'_2)`, `digest` the proof's `E`.
/// Same shape as a posted bid, so it is aggregated by the same code.
pub type PostedSettlement = PostedBid;

/// The settlement flow slots `[pay, credit, penalty]` = `0, 1, 2`.
pub fn flow_slots() -> Vec<u32> {
    (0..SETTLE_FLOWS as u32).collect()
}

/// The lock slot of a bid's ciphertexts, `2K`.
pub fn lock_slot(levels: usize) -> u32 {
    2 * levels as u32
}

/// What a round's settlement looks like from the chain: both aggregates and the
/// defaulters. Only [`settlement_view`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementView {
    round: u64,
    flows: Option<Aggregate>,
    flows_excluded: Vec<Exclusion>,
    defaulters: Vec<BidId>,
    voided: Vec<BidId>,
    locks: Option<Aggregate>,
    locks_excluded: Vec<Exclusion>,
    locks_withheld: bool,
}

impl SettlementView {
    /// The round.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The aggregate of the settlement flows, `None` if no settlement passed the checks.
    pub fn flows(&self) -> Option<&Aggregate> {
        self.flows.as_ref()
    }

    /// The settlements whose flows are summed (settled bids' ids, settlement order).
    pub fn settled(&self) -> &[BidId] {
        self.flows.as_ref().map_or(&[], |a| a.included())
    }

    /// Settlements left out of the flow aggregate, and why.
    pub fn flows_excluded(&self) -> &[Exclusion] {
        &self.flows_excluded
    }

    /// The accepted bids of the round without a settlement, in acceptance order: the
    /// bids `recordDefaults` records, whose number `finalize`'s digest binds.
    pub fn defaulters(&self) -> &[BidId] {
        &self.defaulters
    }

    /// The settled bids whose posted flow ciphertexts do not digest to their proven `E`
    /// (or are malformed), settlement order: `finalize` voids their payouts and they
    /// count as defaulters (their locks are in [`SettlementView::locks`]).
    pub fn voided(&self) -> &[BidId] {
        &self.voided
    }

    /// The aggregate of the defaulters' (and voided settlements') bid ciphertexts,
    /// `None` if none passed the checks or if they are withheld.
    pub fn locks(&self) -> Option<&Aggregate> {
        self.locks.as_ref()
    }

    /// The defaulters' locks are withheld: there are more than 0 and fewer than
    /// k-anonymity defaulters (voided settlements included), so their total is not
    /// decrypted (it is 0 in the statement and stays in the contract).
    pub fn locks_withheld(&self) -> bool {
        self.locks_withheld
    }

    /// Defaulters whose bid ciphertexts were left out of the lock aggregate, and why.
    pub fn locks_excluded(&self) -> &[Exclusion] {
        &self.locks_excluded
    }
}

/// Aggregates `posted`; `None` (and every exclusion) when nothing survives the checks.
fn aggregate_or_none(
    round: u64,
    slots: usize,
    posted: &[PostedBid],
) -> (Option<Aggregate>, Vec<Exclusion>) {
    match aggregate(round, slots, posted) {
        Ok(report) => (Some(report.aggregate), report.excluded),
        Err(AggregateError::Empty { .. }) => (None, all_exclusions(slots, posted)),
    }
}

/// Builds the view of a round from the accepted bids (acceptance order) and the
/// settlements the contract accepted (settlement order). `levels` is K, `k_anonymity`
/// the market's floor (for the withheld locks).
pub fn settlement_view(
    round: u64,
    levels: usize,
    k_anonymity: usize,
    bids: &[PostedBid],
    settlements: &[PostedSettlement],
) -> SettlementView {
    let settled: HashSet<BidId> = settlements.iter().map(|s| s.id).collect();
    let (flows, flows_excluded) = aggregate_or_none(round, SETTLE_FLOWS, settlements);
    // A settlement left out of the flow sum for any reason but being a repeat (which the
    // contract never shows) is voided: its payout would otherwise be paid while its
    // flows are not in the totals.
    let voided_set: HashSet<BidId> = flows_excluded
        .iter()
        .filter(|e| e.reason != ExclusionReason::Duplicate)
        .map(|e| e.id)
        .collect();
    let mut voided_seen = HashSet::new();
    let voided: Vec<BidId> = settlements
        .iter()
        .filter(|s| voided_set.contains(&s.id) && voided_seen.insert(s.id))
        .map(|s| s.id)
        .collect();
    let mut seen = HashSet::new();
    let defaulting: Vec<PostedBid> = bids
        .iter()
        .filter(|b| (!settled.contains(&b.id) || voided_set.contains(&b.id)) && seen.insert(b.id))
        .cloned()
        .collect();
    let defaulters = defaulting
        .iter()
        .filter(|b| !voided_set.contains(&b.id))
        .map(|b| b.id)
        .collect();
    let locks_withheld = !defaulting.is_empty() && defaulting.len() < k_anonymity;
    let (locks, locks_excluded) = if locks_withheld {
        (None, Vec::new())
    } else {
        aggregate_or_none(round, 2 * levels + 1, &defaulting)
    };
    SettlementView {
        round,
        flows,
        flows_excluded,
        defaulters,
        voided,
        locks,
        locks_excluded,
        locks_withheld,
    }
}

/// The exclusions of a list in which nothing survived (the aggregate reports only a
/// count then).
fn all_exclusions(slots: usize, posted: &[PostedBid]) -> Vec<Exclusion> {
    let mut seen = HashSet::new();
    posted
        .iter()
        .filter_map(|b| {
            check_posted(b, slots)
                .and_then(|()| {
                    if seen.insert(b.id) {
                        Ok(())
                    } else {
                        Err(ExclusionReason::Duplicate)
                    }
                })
                .err()
                .map(|reason| Exclusion { id: b.id, reason })
        })
        .collect()
}

/// A decrypted settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementOutcome {
    /// The round.
    pub round: u64,
    /// The totals `finalize` posts.
    pub totals: FinalizeTotals,
    /// The defaulters `recordDefaults` records.
    pub defaulters: Vec<BidId>,
    /// The settlements `finalize` voids.
    pub voided: Vec<BidId>,
    /// Trustees whose flow shares were used (empty if there was nothing to decrypt).
    pub flows_used: Vec<TrusteeId>,
    /// Trustees whose lock shares were used.
    pub locks_used: Vec<TrusteeId>,
    /// Trustees whose responses failed verification, and why (flows, then locks).
    pub rejected: Vec<(TrusteeId, ShareRejection)>,
}

/// Combines one aggregate's shares: the points `M_j = v_j·G` and who contributed.
/// `None` aggregate: nothing to combine, the values are 0.
pub(crate) fn combine_aggregate(
    public: &CommitteePublic,
    context: DecryptionContext,
    agg: Option<&Aggregate>,
    slots: &[u32],
    partials: &[PartialDecryption],
) -> Result<Option<decrypt::Combined>, DecryptError> {
    agg.map(|agg| {
        let ct = agg.ciphertexts();
        decrypt::combine(public, &context, &ct.c1, &ct.c2, slots, partials)
    })
    .transpose()
}

/// Coordinator side: verifies and combines the trustees' settlement shares
/// (`flow_partials` in the settlement context, `lock_partials` in the defaulted
/// context, any `t` valid ones each) and solves the totals.
pub fn decrypt_settlement(
    public: &CommitteePublic,
    levels: usize,
    view: &SettlementView,
    flow_partials: &[PartialDecryption],
    lock_partials: &[PartialDecryption],
    table: &DlogTable,
) -> Result<SettlementOutcome, DecryptError> {
    let round = view.round;
    let flows = combine_aggregate(
        public,
        DecryptionContext::Settlement { round },
        view.flows(),
        &flow_slots(),
        flow_partials,
    )?;
    let locks = combine_aggregate(
        public,
        DecryptionContext::Defaulted { round },
        view.locks(),
        &[lock_slot(levels)],
        lock_partials,
    )?;
    let solve = |c: &Option<decrypt::Combined>, slots: &[u32]| -> Result<Vec<u64>, DecryptError> {
        match c {
            Some(c) => decrypt::solve(table, slots, &c.points, MAX_TOTAL_BITS),
            None => Ok(vec![0; slots.len()]),
        }
    };
    let f = solve(&flows, &flow_slots())?;
    let l = solve(&locks, &[lock_slot(levels)])?;
    let (flows_used, mut rejected) =
        flows.map_or((Vec::new(), Vec::new()), |c| (c.used, c.rejected));
    let (locks_used, locks_rejected) =
        locks.map_or((Vec::new(), Vec::new()), |c| (c.used, c.rejected));
    rejected.extend(locks_rejected);
    Ok(SettlementOutcome {
        round,
        totals: FinalizeTotals {
            pay: f[0],
            credit: f[1],
            penalty: f[2],
            defaulted_locks: l[0],
        },
        defaulters: view.defaulters.clone(),
        voided: view.voided.clone(),
        flows_used,
        locks_used,
        rejected,
    })
}

/// Which total of [`FinalizeTotals`] a check is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Total {
    /// `pay`.
    Pay,
    /// `credit`.
    Credit,
    /// `penalty`.
    Penalty,
    /// `defaultedLocks`.
    DefaultedLocks,
}

impl std::fmt::Display for Total {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Total::Pay => "pay",
            Total::Credit => "credit",
            Total::Penalty => "penalty",
            Total::DefaultedLocks => "defaulted_locks",
        })
    }
}

/// Trustee side of signing: checks claimed totals against combined points, `v·G = M`
/// (one scalar multiplication each, no discrete log); an absent aggregate needs 0.
pub(crate) fn check_totals(
    claimed: &FinalizeTotals,
    flows: Option<&[Point]>,
    locks: Option<&[Point]>,
) -> Result<(), Total> {
    use ark_ec::CurveGroup;
    use sealgrid_circuits::babyjubjub::{base8, Scalar};
    let is = |v: u64, p: Option<&Point>| match p {
        Some(p) => (base8() * Scalar::from(v)).into_affine() == *p,
        None => v == 0,
    };
    let checks = [
        (Total::Pay, claimed.pay, flows.map(|f| &f[0])),
        (Total::Credit, claimed.credit, flows.map(|f| &f[1])),
        (Total::Penalty, claimed.penalty, flows.map(|f| &f[2])),
        (
            Total::DefaultedLocks,
            claimed.defaulted_locks,
            locks.map(|l| &l[0]),
        ),
    ];
    for (which, v, p) in checks {
        if !is(v, p) {
            return Err(which);
        }
    }
    Ok(())
}
