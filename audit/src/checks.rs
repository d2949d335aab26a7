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
use sealgrid_coordinator::market::MarketFile;
use sealgrid_proto::market::v1::AuditBundle;
use sealgrid_prover::PreparedVerifyingKey;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::events::{posted_bids, posted_settlements, MarketEvents};

use crate::bundle::{self, Bundle};
use crate::market::verify;
use crate::record::PublicRecord;
use crate::words::{self, short};
use crate::Check;

/// The packed "not cleared" (fill 0, lock back) that bids left out of the bitmap settle
/// against (PROTOCOL §8): `1<<49 | 1<<129`.
const PACKED_NOT_CLEARED: U256 = U256::from_limbs([1 << 49, 0, 1 << 1, 0]);

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
    fn bid_proofs(&self, pvk: &PreparedVerifyingKey) -> Check {
        let mut failures = Vec::new();
        let mut n = 0;
        for e in self.record.round_events(self.round) {
            let MarketEvents::BidSubmitted(b) = &e.event else {
                continue;
            };
            n += 1;
            let at = format!("bid #{} {}", b.index, short(&words::word(&b.bid)));
            let call = match self.record.input_of(e).and_then(|i| {
                Market::submitBidCall::abi_decode(i)
                    .map_err(|x| format!("the transaction is not a submitBid call: {x}"))
            }) {
                Ok(c) => c,
                Err(why) => {
                    failures.push(format!("{at}: {why}"));
                    continue;
                }
            };
            let i = &call.inp;
            if (i.round, i.acct, i.bid, i.fNew, i.digest)
                != (U256::from(b.round), b.acct, b.bid, b.fNew, b.digest)
                || call.ciphertexts != b.ciphertexts
            {
                failures.push(format!(
                    "{at}: the transaction's inputs are not the event's"
                ));
                continue;
            }
            let publics = [i.round, i.acct, i.fOld, i.fNew, i.bid, i.digest];
            if let Err(why) = verify(pvk, &call.proof, &publics) {
                failures.push(format!("{at}: {why}"));
            }
        }
        Check::from_failures(BID_PROOFS, format!("{n} bid proofs verify"), failures)
    }

    fn settle_proofs(&self, pvk: &PreparedVerifyingKey) -> Check {
        let mut failures = Vec::new();
        let mut n = 0;
        for e in self.record.round_events(self.round) {
            let MarketEvents::Settled(s) = &e.event else {
                continue;
            };
            n += 1;
            let at = format!("settlement of bid {}", short(&words::word(&s.bid)));
            let call = match self.record.input_of(e).and_then(|i| {
                Market::settleCall::abi_decode(i)
                    .map_err(|x| format!("the transaction is not a settle call: {x}"))
            }) {
                Ok(c) => c,
                Err(why) => {
                    failures.push(format!("{at}: {why}"));
                    continue;
                }
            };
            let i = &call.inp;
            if (i.round, i.acct, i.bid, i.pOut, i.digest)
                != (U256::from(s.round), s.acct, s.bid, s.pOut, s.digest)
                || call.ciphertexts != s.ciphertexts
            {
                failures.push(format!(
                    "{at}: the transaction's inputs are not the event's"
                ));
                continue;
            }
            if let Some(expected) = self.settle_clearing(s.bid) {
                if i.clearing != expected {
                    failures.push(format!(
                        "{at}: proven against clearing {:#x}, the round's for this bid is {expected:#x}",
                        i.clearing
                    ));
                    continue;
                }
            }
            let publics = [
                i.round, i.acct, i.bid, i.pOut, i.clearing, i.meterId, i.digest,
            ];
            if let Err(why) = verify(pvk, &call.proof, &publics) {
                failures.push(format!("{at}: {why}"));
            }
        }
        Check::from_failures(SETTLE_PROOFS, format!("{n} settle proofs verify"), failures)
    }

    /// The packed clearing a settlement of `bid` must be proven against (PROTOCOL §8):
    /// the round's, if the contract's bitmap includes the bid, else "not cleared".
    /// `None` if the round has no `RoundCleared` or the bid is not one of its bids.
    fn settle_clearing(&self, bid: U256) -> Option<U256> {
        let cleared = self.cleared?;
        let index = self
            .record
            .round_events(self.round)
            .find_map(|e| match &e.event {
                MarketEvents::BidSubmitted(b) if b.bid == bid => Some(b.index as usize),
                _ => None,
            })?;
        let words = self.record.inclusion.get(&self.round)?;
        let included = words.get(index / 256).is_some_and(|w| w.bit(index % 256));
        Some(if included {
            cleared.event.packed
        } else {
            PACKED_NOT_CLEARED
        })
    }

    /// PROTOCOL §3: a bid whose posted ciphertexts do not digest to its proven `D` is
    /// ignored, so such a bid is a failure only if the committee did not exclude it (the
    /// bundle's `excluded`, same reason). A settlement whose ciphertexts do not digest
    /// to its `E` is left out of the flow totals by every trustee (§7): noted, and the
    /// settlement-decryption check holds the totals to that.
    fn ciphertext_digests(&self) -> Check {
        let mut failures = Vec::new();
        let mut ignored = Vec::new();
        for b in self.bids {
            let Err(reason) = check_posted(b, 2 * self.levels + 1) else {
                continue;
            };
            let excluded = self.bundle.map(|x| {
                x.excluded
                    .iter()
                    .any(|e| e.id == b.id && e.reason == reason)
            });
            match excluded {
                Ok(true) => ignored.push(format!("{}: {reason:?}", bid_name(&b.id))),
                Ok(false) => failures.push(format!(
                    "{}: {reason:?}, yet the committee did not exclude it",
                    bid_name(&b.id)
                )),
                Err(e) => failures.push(format!("{}: {reason:?} ({e})", bid_name(&b.id))),
            }
        }
        for b in self.settlements {
            if let Err(reason) = check_posted(b, flow_slots().len()) {
                ignored.push(format!("settlement of {}: {reason:?}", bid_name(&b.id)));
            }
        }
        let mut ok = format!(
            "{} bids digest to D, {} settlements to E",
            self.bids.len(),
            self.settlements.len()
        );
        if !ignored.is_empty() {
            ok = format!(
                "{ok}, but for the ones ignored as PROTOCOL §3 says: {}",
                ignored.join(", ")
            );
        }
        Check::from_failures(CIPHERTEXT_DIGESTS, ok, failures)
    }

    fn aggregates(&self) -> Check {
        let Some(cleared) = self.cleared else {
            return pass(AGGREGATES, "round not cleared: nothing to compare");
        };
        let report = match aggregate(self.round, 2 * self.levels + 1, self.bids) {
            Ok(r) => r,
            Err(e) => return fail(AGGREGATES, format!("no aggregate: {e}")),
        };
        let agg = &report.aggregate;
        let mut failures = Vec::new();
        match self.bundle {
            Err(e) => failures.push(e.clone()),
            Ok(b) => {
                if b.included != agg.included() {
                    failures.push(format!(
                        "the bundle includes {} bids, the rebuilt aggregate {}: bundle-only {:?}, \
                         chain-only {:?}",
                        b.included.len(),
                        agg.included().len(),
                        b.included
                            .iter()
                            .filter(|x| !agg.included().contains(x))
                            .map(bid_name)
                            .collect::<Vec<_>>(),
                        agg.included()
                            .iter()
                            .filter(|x| !b.included.contains(x))
                            .map(bid_name)
                            .collect::<Vec<_>>(),
                    ));
                }
                if b.excluded != report.excluded {
                    failures.push(format!(
                        "the bundle excludes {:?}, the rebuilt aggregate {:?}",
                        b.excluded, report.excluded
                    ));
                }
            }
        }
        let bitmap: Vec<U256> = agg
            .inclusion_bitmap()
            .iter()
            .map(|w| U256::from_be_bytes(*w))
            .collect();
        let on_chain = self
            .record
            .inclusion
            .get(&self.round)
            .cloned()
            .unwrap_or_default();
        if on_chain != bitmap {
            failures.push(format!(
                "the contract's inclusion bitmap {on_chain:?} is not the rebuilt {bitmap:?}"
            ));
        }
        match &cleared.call {
            Err(e) => failures.push(e.clone()),
            Ok(c) if c.included != bitmap => failures.push(format!(
                "the clear transaction's bitmap {:?} is not the rebuilt {bitmap:?}",
                c.included
            )),
            Ok(_) => {}
        }
        if cleared.event.includedBids as usize != agg.included().len() {
            failures.push(format!(
                "RoundCleared counts {} included bids, the rebuilt aggregate {}",
                cleared.event.includedBids,
                agg.included().len()
            ));
        }
        Check::from_failures(
            AGGREGATES,
            format!(
                "{} of {} bids included ({} excluded), as bundle, bitmap and RoundCleared say",
                agg.included().len(),
                self.bids.len(),
                report.excluded.len()
            ),
            failures,
        )
    }

    /// The histograms the `clear` transaction posted.
    fn posted_histograms(&self) -> Option<Result<Histograms<'_>, String>> {
        let c = self.cleared?;
        Some(match &c.call {
            Ok(call) => Ok((&call.hBuy[..], &call.hSell[..])),
            Err(e) => Err(e.clone()),
        })
    }

    fn histograms(&self) -> Check {
        let Some(posted) = self.posted_histograms() else {
            return pass(HISTOGRAMS, "round not cleared: no histograms posted");
        };
        let (hb, hs) = match posted {
            Ok(h) => h,
            Err(e) => return fail(HISTOGRAMS, e),
        };
        match self.bundle {
            Err(e) => fail(HISTOGRAMS, e.clone()),
            Ok(b) => match &b.histograms {
                None => fail(HISTOGRAMS, "the bundle has no clearing"),
                Some((bb, bs)) if bb[..] != *hb || bs[..] != *hs => fail(
                    HISTOGRAMS,
                    format!(
                        "the bundle's histograms H_buy {bb:?}, H_sell {bs:?} are not the posted \
                         H_buy {hb:?}, H_sell {hs:?}"
                    ),
                ),
                Some(_) => pass(
                    HISTOGRAMS,
                    format!("bundle and clear transaction agree: H_buy {hb:?}, H_sell {hs:?}"),
                ),
            },
        }
    }

    fn clearing_decryption(&self) -> Check {
        let Some(posted) = self.posted_histograms() else {
            return pass(CLEARING_DECRYPTION, "round not cleared: nothing decrypted");
        };
        let (hb, hs) = match posted {
            Ok(h) => h,
            Err(e) => return fail(CLEARING_DECRYPTION, e),
        };
        let b = match self.bundle {
            Ok(b) => b,
            Err(e) => return fail(CLEARING_DECRYPTION, e.clone()),
        };
        let report = match aggregate(self.round, 2 * self.levels + 1, self.bids) {
            Ok(r) => r,
            Err(e) => return fail(CLEARING_DECRYPTION, format!("no aggregate: {e}")),
        };
        let ct = report.aggregate.ciphertexts();
        let expected: Vec<u64> = hb.iter().chain(hs).copied().collect();
        let slots = histogram_slots(self.levels);
        if expected.len() != slots.len() {
            return fail(
                CLEARING_DECRYPTION,
                format!(
                    "{} histogram values posted, the market has {} slots",
                    expected.len(),
                    slots.len()
                ),
            );
        }
        let context = DecryptionContext::Clearing { round: self.round };
        let (used, failures) = check_decryption(
            self.public,
            &context,
            &ct.c1,
            &ct.c2,
            &slots,
            &b.clearing_partials,
            &expected,
            "the posted histograms",
        );
        Check::from_failures(
            CLEARING_DECRYPTION,
            format!(
                "{used} valid partial decryptions; every t of them yield the posted histograms"
            ),
            failures,
        )
    }

    /// The totals the `finalize` transaction posted.
    fn posted_totals(&self) -> Option<Result<FinalizeTotals, String>> {
        let f = self.finalized?;
        Some(match &f.call {
            Ok(call) => {
                totals_of(&call.totals).ok_or_else(|| "a finalize total exceeds 64 bits".into())
            }
            Err(e) => Err(e.clone()),
        })
    }

    fn settlement_decryption(&self) -> Check {
        let Some(posted) = self.posted_totals() else {
            return pass(
                SETTLEMENT_DECRYPTION,
                "round not finalized: nothing decrypted",
            );
        };
        let totals = match posted {
            Ok(t) => t,
            Err(e) => return fail(SETTLEMENT_DECRYPTION, e),
        };
        let b = match self.bundle {
            Ok(b) => b,
            Err(e) => return fail(SETTLEMENT_DECRYPTION, e.clone()),
        };
        let mut failures = Vec::new();
        match b.totals {
            None => failures.push("the bundle has no finalization totals".into()),
            Some(t) if t != totals => failures.push(format!(
                "the bundle's totals {t:?} are not the posted {totals:?}"
            )),
            Some(_) => {}
        }
        let view = settlement_view(self.round, self.levels, self.bids, self.settlements);
        let mut used = Vec::new();
        let parts = [
            (
                DecryptionContext::Settlement { round: self.round },
                view.flows(),
                flow_slots(),
                &b.settlement_partials,
                vec![totals.pay, totals.credit, totals.penalty],
                "the posted pay, credit and penalty totals",
            ),
            (
                DecryptionContext::Defaulted { round: self.round },
                view.locks(),
                vec![lock_slot(self.levels)],
                &b.defaulted_partials,
                vec![totals.defaulted_locks],
                "the posted defaulted-locks total",
            ),
        ];
        for (context, agg, slots, partials, expected, what) in parts {
            match agg {
                None if expected.iter().any(|&x| x != 0) => failures.push(format!(
                    "nothing to decrypt for {what}, yet they are {expected:?}, not 0"
                )),
                None => {}
                Some(agg) => {
                    let ct = agg.ciphertexts();
                    let (n, f) = check_decryption(
                        self.public,
                        &context,
                        &ct.c1,
                        &ct.c2,
                        &slots,
                        partials,
                        &expected,
                        what,
                    );
                    used.push(n);
                    failures.extend(f);
                }
            }
        }
        Check::from_failures(
            SETTLEMENT_DECRYPTION,
            format!("valid partial decryptions {used:?}; every t of them yield the posted totals {totals:?}"),
            failures,
        )
    }

    fn committee_addresses(&self) -> &[Address] {
        &self.market.trustees
    }

    fn clearing_signatures(&self) -> Check {
        let Some(cleared) = self.cleared else {
            return pass(CLEARING_SIGNATURES, "round not cleared: nothing signed");
        };
        let call = match &cleared.call {
            Ok(c) => c,
            Err(e) => return fail(CLEARING_SIGNATURES, e.clone()),
        };
        let st = ClearingStatement {
            round: self.round,
            h_buy: call.hBuy.clone(),
            h_sell: call.hSell.clone(),
            included: call.included.iter().map(words::word).collect(),
        };
        let digest = clearing_digest(&self.market.trustee_setup.domain, &st);
        let on_chain: Vec<EthSignature> = call.sigs.iter().map(words::signature).collect();
        self.signatures(
            CLEARING_SIGNATURES,
            &digest,
            &on_chain,
            self.bundle.map(|b| &b.clearing_signatures[..]),
        )
    }

    fn finalize_signatures(&self) -> Check {
        let Some(finalized) = self.finalized else {
            return pass(FINALIZE_SIGNATURES, "round not finalized: nothing signed");
        };
        let call = match &finalized.call {
            Ok(c) => c,
            Err(e) => return fail(FINALIZE_SIGNATURES, e.clone()),
        };
        let Some(totals) = totals_of(&call.totals) else {
            return fail(FINALIZE_SIGNATURES, "a finalize total exceeds 64 bits");
        };
        let st = FinalizeStatement {
            round: self.round,
            totals,
            defaulted: call
                .defaulted
                .iter()
                .map(|w| BidId(words::word(w)))
                .collect(),
        };
        let digest = finalize_digest(&self.market.trustee_setup.domain, &st);
        let on_chain: Vec<EthSignature> = call.sigs.iter().map(words::signature).collect();
        self.signatures(
            FINALIZE_SIGNATURES,
            &digest,
            &on_chain,
            self.bundle.map(|b| &b.finalize_signatures[..]),
        )
    }

    fn signatures(
        &self,
        name: &str,
        digest: &[u8; 32],
        on_chain: &[EthSignature],
        bundle: Result<&[EthSignature], &String>,
    ) -> Check {
        let t = self.public.params.t as usize;
        let committee = self.committee_addresses();
        let mut failures = Vec::new();
        let mut counts = Vec::new();
        let lists: [(&str, Result<&[EthSignature], &String>); 2] =
            [("transaction", Ok(on_chain)), ("bundle", bundle)];
        for (source, sigs) in lists {
            let sigs = match sigs {
                Ok(s) => s,
                Err(e) => {
                    failures.push(e.clone());
                    continue;
                }
            };
            let mut signers: Vec<Address> = Vec::new();
            for (i, s) in sigs.iter().enumerate() {
                match recover(digest, s) {
                    Err(e) => {
                        failures.push(format!("{source} signature #{i} does not recover: {e}"))
                    }
                    Ok(a) if !committee.contains(&a) => failures.push(format!(
                        "{source} signature #{i} recovers to {a:?}, not a committee member"
                    )),
                    Ok(a) if signers.contains(&a) => {
                        failures.push(format!("{source} signature #{i}: {a:?} signed twice"))
                    }
                    Ok(a) => signers.push(a),
                }
            }
            if signers.len() < t {
                failures.push(format!(
                    "{source}: {} distinct committee signers, threshold {t}",
                    signers.len()
                ));
            }
            counts.push(format!("{source} {}", signers.len()));
        }
        Check::from_failures(
            name,
            format!(
                "distinct committee signers over the recomputed digest: {} (t = {t})",
                counts.join(", ")
            ),
            failures,
        )
    }

    fn clearing(&self) -> Check {
        let Some(cleared) = self.cleared else {
            return pass(CLEARING, "round not cleared");
        };
        let (hb, hs) = match self.posted_histograms() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return fail(CLEARING, e),
            None => return fail(CLEARING, "no clear transaction"),
        };
        let ev = &cleared.event;
        let k = self.market.trustee_setup.market.k_anonymity;
        let c = match clear(hb, hs, ev.includedBids as usize, k) {
            Ok(c) => c,
            Err(e) => return fail(CLEARING, format!("the posted histograms do not clear: {e}")),
        };
        let recomputed = (
            c.cleared,
            U256::from(c.level),
            U256::from(c.volume),
            crate::market_fr(&c.pack()),
        );
        let event = (ev.cleared, ev.level, ev.volume, ev.packed);
        if recomputed != event {
            return fail(
                CLEARING,
                format!(
                    "recomputed (cleared, level, volume, packed) = {recomputed:?}, RoundCleared says {event:?}"
                ),
            );
        }
        pass(
            CLEARING,
            format!(
                "cleared {} at level {}, volume {} Wh (k-anonymity floor {k})",
                c.cleared, c.level, c.volume
            ),
        )
    }

    fn money(&self) -> Check {
        let Some(fin) = self.finalized else {
            return pass(MONEY, "round not finalized");
        };
        let mut failures = Vec::new();
        let ev = &fin.event;
        let Some(totals) = totals_of(&ev.totals) else {
            return fail(MONEY, "a RoundFinalized total exceeds 64 bits");
        };
        let residual = totals.pay as i128 + totals.penalty as i128 - totals.credit as i128
            + totals.defaulted_locks as i128;
        if i128::try_from(ev.toOperator).ok() != Some(residual) {
            failures.push(format!(
                "RoundFinalized pays the operator {}, the totals {totals:?} give {residual}",
                ev.toOperator
            ));
        }
        if let Some(Ok(posted)) = self.posted_totals() {
            if posted != totals {
                failures.push(format!(
                    "RoundFinalized's totals {totals:?} are not the signed {posted:?}"
                ));
            }
        }
        for e in self.record.round_events(self.round) {
            if let MarketEvents::Settled(s) = &e.event {
                let state = self.record.payouts.get(&s.pOut).copied().unwrap_or(0);
                if state == 0 {
                    failures.push(format!(
                        "the settlement of bid {} created no payout {}",
                        short(&words::word(&s.bid)),
                        short(&words::word(&s.pOut))
                    ));
                }
            }
        }
        let view = settlement_view(self.round, self.levels, self.bids, self.settlements);
        let expected: BTreeSet<BidId> = view.defaulters().iter().copied().collect();
        let listed: BTreeSet<BidId> = self
            .record
            .round_events(self.round)
            .filter_map(|e| match &e.event {
                MarketEvents::Defaulted(d) => Some(BidId(words::word(&d.bid))),
                _ => None,
            })
            .collect();
        if listed != expected {
            failures.push(format!(
                "defaulters listed {:?}, bids without a settlement {:?}",
                listed.iter().map(bid_name).collect::<Vec<_>>(),
                expected.iter().map(bid_name).collect::<Vec<_>>()
            ));
        }
        Check::from_failures(
            MONEY,
            format!(
                "operator residual {residual} = pay {} + penalty {} − credit {} + defaulted locks {}; \
                 {} payouts; {} defaulters",
                totals.pay,
                totals.penalty,
                totals.credit,
                totals.defaulted_locks,
                self.settlements.len(),
                expected.len()
            ),
            failures,
        )
    }
}

/// Verifies each partial decryption (naming the trustee and slot of a failure), and
/// that every `t` of the valid ones combine to `expected[k]·G` in slot `slots[k]`.
/// Returns the number of valid partials and the failures.
#[allow(clippy::too_many_arguments)]
fn check_decryption(
    public: &CommitteePublic,
    context: &DecryptionContext,
    c1: &Point,
    c2: &[Point],
    slots: &[u32],
    partials: &[PartialDecryption],
    expected: &[u64],
    what: &str,
) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut valid: Vec<&PartialDecryption> = Vec::new();
    for p in partials {
        match verify_partial(public, context, c1, slots, p) {
            Err(r) => failures.push(format!(
                "trustee {}: partial decryption rejected: {r:?}",
                p.trustee.0
            )),
            Ok(()) if valid.iter().any(|q| q.trustee == p.trustee) => {
                failures.push(format!("trustee {}: two partial decryptions", p.trustee.0))
            }
            Ok(()) => valid.push(p),
        }
    }
    let t = public.params.t as usize;
    if valid.len() < t {
        failures.push(format!(
            "{} valid partial decryptions, threshold {t}",
            valid.len()
        ));
        return (valid.len(), failures);
    }
    valid.sort_by_key(|p| p.trustee);
    let targets: Vec<Point> = expected
        .iter()
        .map(|&v| (base8() * Scalar::from(v)).into_affine())
        .collect();
    for subset in combinations(valid.len(), t) {
        let chosen: Vec<&PartialDecryption> = subset.iter().map(|&i| valid[i]).collect();
        let ids: Vec<TrusteeId> = chosen.iter().map(|p| p.trustee).collect();
        let lambda = lagrange_at_zero(&ids);
        for (k, &slot) in slots.iter().enumerate() {
            let Some(c2_j) = c2.get(slot as usize) else {
                failures.push(format!("slot {slot} missing from the aggregate"));
                continue;
            };
            let s_c1 = chosen
                .iter()
                .zip(&lambda)
                .fold(ProjectivePoint::ZERO, |acc, (p, l)| acc + p.shares[k].d * l);
            let m = (*c2_j - s_c1).into_affine();
            if m != targets[k] {
                failures.push(format!(
                    "trustees {:?} combine slot {slot} to a value other than {} ({what})",
                    ids.iter().map(|i| i.0).collect::<Vec<_>>(),
                    expected[k]
                ));
            }
        }
    }
    (valid.len(), failures)
}

/// Every `k`-subset of `0..n`, as sorted index lists (at most 64 of them: beyond that,
/// the first 64 in lexicographic order).
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if out.len() >= 64 {
            return;
        }
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(0, n, k, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_not_cleared_is_the_contracts() {
        // MarketClearing.packedNotCleared(): (1 << 49) | (1 << 129)
        let expected = (U256::from(1u8) << 49) | (U256::from(1u8) << 129);
        assert_eq!(PACKED_NOT_CLEARED, expected);
    }

    #[test]
    fn combinations_are_every_t_subset() {
        assert_eq!(combinations(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(combinations(2, 2), vec![vec![0, 1]]);
    }
}
