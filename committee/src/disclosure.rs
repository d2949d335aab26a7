//! Escrowed disclosure, auditor side: verify `t` trustees' partial decryptions of one
//! named bid's ciphertexts against public data only (the committee's verification keys,
//! the bid's posted ciphertexts and its proven digest), and open the bid.
//!
//! The shares are `x_lj·C1` for that bid's own `C1 = r·G` (fresh `r` per bid), so they
//! decrypt that bid and no other; trustees pick `C1` themselves from the named bid
//! ([`crate::trustee::Trustee::disclose`]), never from the request.

use crate::aggregate::PostedBid;
use crate::decrypt::{self, DecryptError, PartialDecryption, ShareRejection};
use crate::dkg::CommitteePublic;
use crate::dleq::DecryptionContext;
use crate::ids::TrusteeId;
use ark_ec::{AffineRepr, CurveGroup};
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::params::{ParamsError, Q_BITS};
use sealgrid_circuits::market::{MarketParams, Side};

/// The slots a disclosure opens: all 2K + 1.
pub fn disclosure_slots(levels: usize) -> Vec<u32> {
    (0..=2 * levels as u32).collect()
}

/// Why a disclosure was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// The posted ciphertexts do not match the proven digest (or have the wrong shape).
    #[error("the bid's posted ciphertexts do not match its proven digest")]
    DigestMismatch,
    /// Threshold decryption failed (fewer than `t` valid shares).
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// The opened vector is not one quantity at one level.
    #[error("the opened flows are not one-hot")]
    NotOneHot,
    /// The opened quantity or level is out of range.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The lock slot does not hold the lock the bid implies.
    #[error("the lock slot does not hold the bid's lock {expected}")]
    LockMismatch {
        /// The lock the bid implies.
        expected: u64,
    },
}

/// An opened bid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosedBid {
    /// Buy or sell.
    pub side: Side,
    /// Price level.
    pub level: usize,
    /// Quantity, Wh.
    pub q: u64,
    /// Margin locked.
    pub lock: u64,
    /// Trustees whose shares opened it.
    pub used: Vec<TrusteeId>,
    /// Trustees whose responses failed verification.
    pub rejected: Vec<(TrusteeId, ShareRejection)>,
}

/// Verifies the trustees' responses and opens the bid. Public inputs only.
pub fn verify_disclosure(
    public: &CommitteePublic,
    market: &MarketParams,
    round: u64,
    bid: &PostedBid,
    responses: &[PartialDecryption],
    table: &DlogTable,
) -> Result<DisclosedBid, DisclosureError> {
    let k = market.levels;
    let ct = &bid.ciphertexts;
    if ct.c2.len() != 2 * k + 1 || ct.digest() != bid.digest {
        return Err(DisclosureError::DigestMismatch);
    }
    let slots = disclosure_slots(k);
    let context = DecryptionContext::Disclosure { round, bid: bid.id };
    let combined = decrypt::combine(public, &context, &ct.c1, &ct.c2, &slots, responses)?;
    // exactly one of the 2K quantity slots is non-zero
    let nonzero: Vec<usize> = (0..2 * k)
        .filter(|&j| !combined.points[j].is_zero())
        .collect();
    let [slot] = nonzero[..] else {
        return Err(DisclosureError::NotOneHot);
    };
    let q = decrypt::solve(
        table,
        &[slot as u32],
        &combined.points[slot..=slot],
        Q_BITS as u32,
    )?[0];
    let (side, level) = if slot < k {
        (Side::Buy, slot)
    } else {
        (Side::Sell, slot - k)
    };
    // the lock need not be searched for: it follows from the bid (B4), check it
    let lock = market.lock(side, level, q)?;
    if combined.points[2 * k] != (base8() * Scalar::from(lock)).into_affine() {
        return Err(DisclosureError::LockMismatch { expected: lock });
    }
    Ok(DisclosedBid {
        side,
        level,
        q,
        lock,
        used: combined.used,
        rejected: combined.rejected,
    })
}
