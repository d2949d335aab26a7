//! The checks of one round, each a named verdict (`docs/PROTOCOL.md` §3–§8):
//!
//! 1. [`BID_PROOFS`], [`SETTLE_PROOFS`]: each `BidSubmitted` / `Settled` came from a
//!    `submitBid` / `settle` transaction whose inputs and ciphertexts are the event's,
//!    and whose Groth16 proof verifies against the market's key with the public inputs
//!    in the contract's order.
//! 2. [`CIPHERTEXT_DIGESTS`]: each posted bid's ciphertexts digest to its proven `D`
//!    (2K + 1 slots), each settlement's to its `E` (3 slots).
//! 3. [`AGGREGATES`]: the aggregate rebuilt from the events includes and excludes what
//!    the bundle says, and its inclusion bitmap is the contract's and the `clear`
//!    transaction's, with the `RoundCleared` count.
//! 4. [`HISTOGRAMS`], [`CLEARING_DECRYPTION`], [`SETTLEMENT_DECRYPTION`]: the bundle's
//!    histograms are the posted ones; every partial decryption's DLEQ proofs verify
//!    against the trustees' verification keys and the rebuilt aggregates, at least `t`
//!    do, and every `t` of the valid ones combine to exactly the posted histograms (in
//!    the exponent: `C2_j − Σ λ_l·D_lj = h_j·G`, no discrete log needed) and the posted
//!    finalize totals.
//! 5. [`CLEARING_SIGNATURES`], [`FINALIZE_SIGNATURES`]: the signatures of the `clear`
//!    and `finalize` transactions and of the bundle recover, over the digests
//!    recomputed off chain, to at least `t` distinct committee members.
//! 6. [`CLEARING`]: the clearing recomputed from the histograms is `RoundCleared`'s.
//! 7. [`MONEY`]: `RoundFinalized`'s residual is `pay + penalty − credit +
//!    defaultedLocks` of the signed totals, each settlement created its payout, and the
//!    defaulters are exactly the bids without a settlement.

use std::collections::BTreeSet;

use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use ark_ec::{AdditiveGroup, CurveGroup};
use sealgrid_circuits::babyjubjub::{base8, Point, ProjectivePoint, Scalar};
use sealgrid_circuits::market::clear;
use sealgrid_committee::aggregate::{aggregate, check_posted, PostedBid};
use sealgrid_committee::decrypt::{lagrange_at_zero, verify_partial, PartialDecryption};
use sealgrid_committee::dkg::CommitteePublic;
use sealgrid_committee::dleq::DecryptionContext;
use sealgrid_committee::round::histogram_slots;
use sealgrid_committee::settlement::{flow_slots, lock_slot, settlement_view};
use sealgrid_committee::sign::{
    clearing_digest, finalize_digest, recover, Address, ClearingStatement, EthSignature,
    FinalizeStatement, FinalizeTotals,
};
use sealgrid_committee::{BidId, TrusteeId};
use sealgrid_market::file::MarketFile;
use sealgrid_proto::market::v1::AuditBundle;
use sealgrid_prover::PreparedVerifyingKey;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::committee::{bitmap_from_words, bitmap_words};
use sealgrid_verifier_contract::events::{posted_bids, posted_settlements, MarketEvents};

mod decryption;
mod outcome;
mod proofs;

use crate::bundle::{self, Bundle};
use crate::market::verify;
use crate::record::PublicRecord;
use crate::words::{self, short};
use crate::Check;

/// Only when the round does not exist: the one check reported for it.
pub const OPENED: &str = "opened";
/// Check names, in report order.
pub const BID_PROOFS: &str = "bid-proofs";
/// See the module doc.
pub const SETTLE_PROOFS: &str = "settle-proofs";
/// See the module doc.
pub const CIPHERTEXT_DIGESTS: &str = "ciphertext-digests";
/// See the module doc.
pub const AGGREGATES: &str = "aggregates";
/// See the module doc.
pub const HISTOGRAMS: &str = "histograms";
/// See the module doc.
pub const CLEARING_DECRYPTION: &str = "clearing-decryption";
/// See the module doc.
pub const SETTLEMENT_DECRYPTION: &str = "settlement-decryption";
/// See the module doc.
pub const CLEARING_SIGNATURES: &str = "clearing-signatures";
/// See the module doc.
pub const FINALIZE_SIGNATURES: &str = "finalize-signatures";
/// See the module doc.
pub const CLEARING: &str = "clearing";
/// See the module doc.
pub const MONEY: &str = "money";

fn bid_name(id: &BidId) -> String {
    format!("bid {}", short(&id.0))
}

fn pass(name: &str, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        passed: true,
        detail: detail.into(),
    }
}

fn fail(name: &str, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        passed: false,
        detail: detail.into(),
    }
}

/// `(H_buy, H_sell)`.
type Histograms<'a> = (&'a [u64], &'a [u64]);

/// What the round's `clear` transaction posted.
struct Cleared {
    event: Market::RoundCleared,
    call: Result<Market::clearCall, String>,
}

/// What the round's `finalize` transaction posted.
struct Finalized {
    event: Market::RoundFinalized,
    call: Result<Market::finalizeCall, String>,
}

fn totals_of(t: &Market::FlowTotals) -> Option<FinalizeTotals> {
    Some(FinalizeTotals {
        pay: words::u64_of(t.pay)?,
        credit: words::u64_of(t.credit)?,
        penalty: words::u64_of(t.penalty)?,
        defaulted_locks: words::u64_of(t.defaultedLocks)?,
    })
}

/// Every check of `round`.
pub fn round_checks(
    record: &PublicRecord,
    market: &MarketFile,
    prepared: &[PreparedVerifyingKey; 3],
    bundle: Option<&AuditBundle>,
    round: u64,
) -> Vec<Check> {
    let levels = market.trustee_setup.market.levels;
    if !record.opened_rounds().contains(&round) {
        return vec![fail(
            OPENED,
            format!(
                "round {round} was never opened on chain (as of block {})",
                record.block
            ),
        )];
    }
    let bids = match posted_bids(&record.events, round) {
        Ok(b) => b,
        Err(e) => return vec![fail(BID_PROOFS, format!("the round's events: {e}"))],
    };
    let settlements = posted_settlements(&record.events, round);
    let mut cleared = None;
    let mut finalized = None;
    for e in record.round_events(round) {
        match &e.event {
            MarketEvents::RoundCleared(c) => {
                let call = record.input_of(e).and_then(|i| {
                    Market::clearCall::abi_decode(i)
                        .map_err(|x| format!("the clear transaction does not decode: {x}"))
                });
                cleared = Some(Cleared {
                    event: c.clone(),
                    call,
                });
            }
            MarketEvents::RoundFinalized(f) => {
                let call = record.input_of(e).and_then(|i| {
                    Market::finalizeCall::abi_decode(i)
                        .map_err(|x| format!("the finalize transaction does not decode: {x}"))
                });
                finalized = Some(Finalized {
                    event: f.clone(),
                    call,
                });
            }
            _ => {}
        }
    }
    let bundle =
        bundle.map(|b| bundle::decode(b).map_err(|e| format!("malformed audit bundle: {e}")));
    let bundle = match bundle {
        None => Err(format!("no audit bundle for round {round}")),
        Some(b) => b,
    };
    let ctx = RoundCtx {
        record,
        market,
        public: &market.trustee_setup.committee,
        round,
        levels,
        bids: &bids,
        settlements: &settlements,
        cleared: cleared.as_ref(),
        finalized: finalized.as_ref(),
        bundle: bundle.as_ref(),
    };
    vec![
        ctx.bid_proofs(&prepared[1]),
        ctx.settle_proofs(&prepared[2]),
        ctx.ciphertext_digests(),
        ctx.aggregates(),
        ctx.histograms(),
        ctx.clearing_decryption(),
        ctx.settlement_decryption(),
        ctx.clearing_signatures(),
        ctx.finalize_signatures(),
        ctx.clearing(),
        ctx.money(),
    ]
}

struct RoundCtx<'a> {
    record: &'a PublicRecord,
    market: &'a MarketFile,
    public: &'a CommitteePublic,
    round: u64,
    levels: usize,
    bids: &'a [PostedBid],
    settlements: &'a [PostedBid],
    cleared: Option<&'a Cleared>,
    finalized: Option<&'a Finalized>,
    bundle: Result<&'a Bundle, &'a String>,
}

impl RoundCtx<'_> {
    /// The histograms the `clear` transaction posted.
    pub(super) fn posted_histograms(&self) -> Option<Result<Histograms<'_>, String>> {
        let c = self.cleared?;
        Some(match &c.call {
            Ok(call) => Ok((&call.hBuy[..], &call.hSell[..])),
            Err(e) => Err(e.clone()),
        })
    }

    /// The totals the `finalize` transaction posted.
    pub(super) fn posted_totals(&self) -> Option<Result<FinalizeTotals, String>> {
        let f = self.finalized?;
        Some(match &f.call {
            Ok(call) => {
                totals_of(&call.totals).ok_or_else(|| "a finalize total exceeds 64 bits".into())
            }
            Err(e) => Err(e.clone()),
        })
    }
}
