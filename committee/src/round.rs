//! Coordinator side of a round's decryption: combine the trustees' partial decryptions of
//! the aggregate into the histograms `H_buy`, `H_sell` and clear them
//! (`docs/PROTOCOL.md` §5). Only public data goes in; nothing here holds a secret.

use crate::aggregate::{AggregationReport, Exclusion};
use crate::decrypt::{self, DecryptError, PartialDecryption, ShareRejection};
use crate::dkg::CommitteePublic;
use crate::dleq::DecryptionContext;
use crate::ids::{BidId, TrusteeId};
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::clearing::ClearingError;
use sealgrid_circuits::market::{clear, Clearing, MarketParams};

/// Decrypted slot sums are below `2^MAX_FLOW_BITS` (PROTOCOL §3).
pub const MAX_FLOW_BITS: u32 = 40;

/// The histogram slots `0..2K` (the lock slot 2K is not decrypted at clearing).
pub fn histogram_slots(levels: usize) -> Vec<u32> {
    (0..2 * levels as u32).collect()
}

/// Why a round could not be decrypted or cleared.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoundError {
    /// Threshold decryption failed.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// The histograms cannot be cleared.
    #[error(transparent)]
    Clearing(#[from] ClearingError),
    /// The aggregate has the wrong number of slots for the market.
    #[error("aggregate has {0} slots, the market needs 2K + 1")]
    Shape(usize),
}

/// A decrypted and cleared round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundOutcome {
    /// The round.
    pub round: u64,
    /// `H_buy[k]`.
    pub h_buy: Vec<u64>,
    /// `H_sell[k]`.
    pub h_sell: Vec<u64>,
    /// The bids summed.
    pub included: Vec<BidId>,
    /// The bids left out of the aggregate.
    pub excluded: Vec<Exclusion>,
    /// The trustees whose shares were used.
    pub used: Vec<TrusteeId>,
    /// Trustees whose responses failed verification.
    pub rejected: Vec<(TrusteeId, ShareRejection)>,
    /// The clearing of `docs/PROTOCOL.md` §5.
    pub clearing: Clearing,
}

/// Combines the responses (any `t` valid ones), solves the discrete logs with `table`,
/// and clears.
pub fn decrypt_and_clear(
    public: &CommitteePublic,
    market: &MarketParams,
    report: &AggregationReport,
    responses: &[PartialDecryption],
    table: &DlogTable,
) -> Result<RoundOutcome, RoundError> {
    let agg = &report.aggregate;
    let ct = agg.ciphertexts();
    let k = market.levels;
    if ct.c2.len() != 2 * k + 1 {
        return Err(RoundError::Shape(ct.c2.len()));
    }
    let slots = histogram_slots(k);
    let context = DecryptionContext::Clearing { round: agg.round() };
    let combined = decrypt::combine(public, &context, &ct.c1, &ct.c2, &slots, responses)?;
    let values = decrypt::solve(table, &slots, &combined.points, MAX_FLOW_BITS)?;
    let (h_buy, h_sell) = values.split_at(k);
    let clearing = clear(h_buy, h_sell, agg.included().len(), market.k_anonymity)?;
    Ok(RoundOutcome {
        round: agg.round(),
        h_buy: h_buy.to_vec(),
        h_sell: h_sell.to_vec(),
        included: agg.included().to_vec(),
        excluded: report.excluded.clone(),
        used: combined.used,
        rejected: combined.rejected,
        clearing,
    })
}
