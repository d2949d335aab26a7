//! A trustee and its API as plain request/response structs (serde), so that a tonic
//! service (issue #5, item 6, once the proto crate exists) only has to map them.
//!
//! Every handler takes the trustee's own view of the chain (`chain_view`: the bids the
//! contract accepted in the round, read by the trustee itself), never a list supplied
//! by the caller: the trustee decides what it decrypts. It decrypts only
//!
//! - the aggregate of a round, recomputed by itself, with at least `k_anonymity` bids
//!   ([`Trustee::partial_decrypt`]);
//! - one named bid, for an auditor ([`Trustee::disclose`]; checking the auditor's
//!   authority is the service's job);
//! - a round's settlement flow aggregate (k-anonymity floor again) and the lock slot of
//!   its defaulters' aggregate ([`Trustee::partial_decrypt_settlement`], see
//!   [`crate::settlement`]);
//!
//! and signs a result only after checking it against the partial decryptions
//! ([`Trustee::sign`], [`Trustee::sign_finalize`]): `C2_j − Σλ·D_j = h_j·G` for every
//! slot, one scalar multiplication per slot, no discrete log.
//!
//! The handlers that take `chain_view` aggregate it in one batch; a service that follows
//! the chain keeps an [`crate::aggregate::Aggregator`] per round instead, fed as bids are
//! accepted, and calls the `*_aggregate` variants at close (the digest checks then stay
//! off the close-time path).

use crate::aggregate::{aggregate, Aggregate, AggregateError, Exclusion, PostedBid};
use crate::decrypt::{self, DecryptError, PartialDecryption};
use crate::disclosure::disclosure_slots;
use crate::dkg::{CommitteePublic, KeyShare};
use crate::dleq::DecryptionContext;
use crate::ids::{BidId, TrusteeId};
use crate::round::histogram_slots;
use crate::settlement::{
    check_totals, combine_aggregate, flow_slots, lock_slot, settlement_view, PostedSettlement,
    SettlementView, Total,
};
use crate::sign::{
    clearing_digest, finalize_digest, Address, ClearingStatement, EthSignature, FinalizeStatement,
    FinalizeTotals, SignError, SigningDomain, TrusteeSigningKey,
};
use ark_ec::CurveGroup;
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_circuits::market::MarketParams;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Ask for a partial decryption of a round's aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialDecryptRequest {
    /// The round.
    pub round: u64,
}

/// A trustee's shares of the aggregate, and what it summed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialDecryptResponse {
    /// Shares of slots `0..2K` with proofs.
    pub partial: PartialDecryption,
    /// The bids the trustee summed.
    pub included: Vec<BidId>,
    /// The bids it left out.
    pub excluded: Vec<Exclusion>,
}

/// Ask for a signature on a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// The round.
    pub round: u64,
    /// Claimed `H_buy`.
    pub h_buy: Vec<u64>,
    /// Claimed `H_sell`.
    pub h_sell: Vec<u64>,
    /// The partial decryptions the result was combined from (at least `t` valid).
    pub partials: Vec<PartialDecryption>,
}

/// A trustee's signature on a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignResponse {
    /// The trustee.
    pub trustee: TrusteeId,
    /// Its signing address.
    pub address: Address,
    /// The statement signed (the included bids are the trustee's own aggregate's).
    pub statement: ClearingStatement,
    /// `r ‖ s ‖ v` over [`clearing_digest`].
    pub signature: EthSignature,
}

/// An auditor asks to open one bid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureRequest {
    /// The round.
    pub round: u64,
    /// The bid to open.
    pub bid: BidId,
    /// Who asks (the service authenticates and authorises the auditor).
    pub auditor: String,
}

/// A trustee's shares of one bid's ciphertexts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureResponse {
    /// Shares of slots `0..=2K` with proofs, in the disclosure context.
    pub partial: PartialDecryption,
}

/// Ask for partial decryptions of a round's settlement (flow totals, defaulted locks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementDecryptRequest {
    /// The round.
    pub round: u64,
}

/// A trustee's shares of a round's settlement aggregates, and what it summed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementDecryptResponse {
    /// Shares of slots 0, 1, 2 (pay, credit, penalty) of the settlement flow aggregate in
    /// the settlement context; `None` when no settlement passed the checks (totals 0).
    pub flows: Option<PartialDecryption>,
    /// The share of slot 2K (the lock) of the defaulters' bid aggregate in the defaulted
    /// context; `None` when no defaulter's ciphertexts passed the checks (total 0).
    pub locks: Option<PartialDecryption>,
    /// The settlements summed (settled bids' ids, settlement order).
    pub settled: Vec<BidId>,
    /// Settlements left out of the flow aggregate.
    pub flows_excluded: Vec<Exclusion>,
    /// The accepted bids without a settlement, acceptance order.
    pub defaulters: Vec<BidId>,
    /// Defaulters left out of the lock aggregate.
    pub locks_excluded: Vec<Exclusion>,
}

/// Ask for a signature on a round's finalization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeRequest {
    /// The round.
    pub round: u64,
    /// Claimed totals.
    pub totals: FinalizeTotals,
    /// Settlement-context partial decryptions the flow totals were combined from.
    pub flow_partials: Vec<PartialDecryption>,
    /// Defaulted-context partial decryptions the defaulted-locks total was combined from.
    pub lock_partials: Vec<PartialDecryption>,
}

/// A trustee's signature on a round's finalization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeResponse {
    /// The trustee.
    pub trustee: TrusteeId,
    /// Its signing address.
    pub address: Address,
    /// The statement signed (the defaulters are the trustee's own view's).
    pub statement: FinalizeStatement,
    /// `r ‖ s ‖ v` over [`finalize_digest`].
    pub signature: EthSignature,
}

/// Why a trustee refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrusteeError {
    /// No aggregate could be formed.
    #[error(transparent)]
    Aggregate(#[from] AggregateError),
    /// The aggregate has fewer bids than the k-anonymity floor: decrypting it could
    /// reveal single bids.
    #[error("aggregate of {bids} bids is under the k-anonymity floor {floor}")]
    TooFewBids {
        /// Bids included.
        bids: usize,
        /// The floor.
        floor: usize,
    },
    /// The aggregate is for another round than the request.
    #[error("aggregate is for round {aggregate}, request for round {request}")]
    WrongRound {
        /// Aggregate's round.
        aggregate: u64,
        /// Request's round.
        request: u64,
    },
    /// Combining the partial decryptions failed.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// The claimed histograms do not match the decryption.
    #[error("claimed histogram value of slot {0} does not match the decryption")]
    WrongResult(u32),
    /// A claimed settlement total does not match the decryption.
    #[error("claimed {0} total does not match the decryption")]
    WrongTotal(Total),
    /// The histograms have the wrong length.
    #[error("histograms need K = {0} levels each")]
    Shape(usize),
    /// The named bid is not among the round's accepted bids.
    #[error("bid {0:?} is not an accepted bid of the round")]
    UnknownBid(BidId),
    /// The named bid's posted ciphertexts do not match its proven digest.
    #[error("bid {0:?}'s posted ciphertexts do not match its proven digest")]
    DigestMismatch(BidId),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// What a trustee needs besides its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrusteeConfig {
    /// The market's parameters (K, the k-anonymity floor).
    pub market: MarketParams,
    /// Where its signatures are valid.
    pub domain: SigningDomain,
}

/// One trustee: its DKG key share, the committee's public keys, its signing key.
#[derive(Debug)]
pub struct Trustee {
    key: KeyShare,
    public: Arc<CommitteePublic>,
    signer: TrusteeSigningKey,
    config: TrusteeConfig,
}

impl Trustee {
    /// A trustee from its DKG output and signing key.
    pub fn new(
        key: KeyShare,
        public: Arc<CommitteePublic>,
        signer: TrusteeSigningKey,
        config: TrusteeConfig,
    ) -> Self {
        Trustee {
            key,
            public,
            signer,
            config,
        }
    }

    /// Its id.
    pub fn id(&self) -> TrusteeId {
        self.key.id
    }

    /// Its signing address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    fn slots(&self) -> usize {
        2 * self.config.market.levels + 1
    }

    /// Handles a [`PartialDecryptRequest`]: aggregates its own view, then decrypts.
    pub fn partial_decrypt<R: rand::RngCore + rand::CryptoRng>(
        &self,
        req: &PartialDecryptRequest,
        chain_view: &[PostedBid],
        rng: &mut R,
    ) -> Result<PartialDecryptResponse, TrusteeError> {
        let report = aggregate(req.round, self.slots(), chain_view)?;
        let partial = self.partial_decrypt_aggregate(&report.aggregate, rng)?;
        Ok(PartialDecryptResponse {
            partial,
            included: report.aggregate.included().to_vec(),
            excluded: report.excluded,
        })
    }

    /// Decrypts an aggregate the trustee computed itself (an [`Aggregate`] only comes
    /// from [`aggregate`]); refuses one under the k-anonymity floor.
    pub fn partial_decrypt_aggregate<R: rand::RngCore + rand::CryptoRng>(
        &self,
        agg: &Aggregate,
        rng: &mut R,
    ) -> Result<PartialDecryption, TrusteeError> {
        let floor = self.config.market.k_anonymity;
        if agg.included().len() < floor {
            return Err(TrusteeError::TooFewBids {
                bids: agg.included().len(),
                floor,
            });
        }
        let context = DecryptionContext::Clearing { round: agg.round() };
        let slots = histogram_slots(self.config.market.levels);
        Ok(decrypt::partial_decrypt(
            &self.key,
            &self.public,
            context,
            &agg.ciphertexts().c1,
            &slots,
            rng,
        )?)
    }

    /// Handles a [`SignRequest`]: aggregates its own view, then checks and signs.
    pub fn sign(
        &self,
        req: &SignRequest,
        chain_view: &[PostedBid],
    ) -> Result<SignResponse, TrusteeError> {
        let report = aggregate(req.round, self.slots(), chain_view)?;
        self.sign_aggregate(req, &report.aggregate)
    }

    /// Checks the claimed histograms against the partial decryptions of the trustee's own
    /// aggregate, then signs.
    pub fn sign_aggregate(
        &self,
        req: &SignRequest,
        agg: &Aggregate,
    ) -> Result<SignResponse, TrusteeError> {
        if agg.round() != req.round {
            return Err(TrusteeError::WrongRound {
                aggregate: agg.round(),
                request: req.round,
            });
        }
        let k = self.config.market.levels;
        if req.h_buy.len() != k || req.h_sell.len() != k {
            return Err(TrusteeError::Shape(k));
        }
        let floor = self.config.market.k_anonymity;
        if agg.included().len() < floor {
            // Under the floor the round does not clear (PROTOCOL §5) and nothing is
            // decrypted; the trustee signs the empty result so that the contract records
            // "not cleared" and every bid's lock can be released by its settlement.
            if req.h_buy.iter().chain(&req.h_sell).any(|&h| h != 0) || !req.partials.is_empty() {
                return Err(TrusteeError::TooFewBids {
                    bids: agg.included().len(),
                    floor,
                });
            }
            return self.sign_statement(ClearingStatement {
                round: req.round,
                bids: agg.posted(),
                h_buy: req.h_buy.clone(),
                h_sell: req.h_sell.clone(),
                included: agg.inclusion_bitmap(),
            });
        }
        let ct = agg.ciphertexts();
        let slots = histogram_slots(k);
        let context = DecryptionContext::Clearing { round: req.round };
        let combined = decrypt::combine(
            &self.public,
            &context,
            &ct.c1,
            &ct.c2,
            &slots,
            &req.partials,
        )?;
        for ((slot, point), h) in slots
            .iter()
            .zip(&combined.points)
            .zip(req.h_buy.iter().chain(&req.h_sell))
        {
            if (base8() * Scalar::from(*h)).into_affine() != *point {
                return Err(TrusteeError::WrongResult(*slot));
            }
        }
        self.sign_statement(ClearingStatement {
            round: req.round,
            bids: agg.posted(),
            h_buy: req.h_buy.clone(),
            h_sell: req.h_sell.clone(),
            included: agg.inclusion_bitmap(),
        })
    }

    fn sign_statement(&self, statement: ClearingStatement) -> Result<SignResponse, TrusteeError> {
        let signature = self
            .signer
            .sign_digest(&clearing_digest(&self.config.domain, &statement))?;
        Ok(SignResponse {
            trustee: self.id(),
            address: self.address(),
            statement,
            signature,
        })
    }

    /// Handles a [`SettlementDecryptRequest`]: builds the round's settlement view from
    /// its own chain view (accepted bids and accepted settlements), then decrypts.
    pub fn partial_decrypt_settlement<R: rand::RngCore + rand::CryptoRng>(
        &self,
        req: &SettlementDecryptRequest,
        chain_view: &[PostedBid],
        settlements: &[PostedSettlement],
        rng: &mut R,
    ) -> Result<SettlementDecryptResponse, TrusteeError> {
        let view = settlement_view(
            req.round,
            self.config.market.levels,
            self.config.market.k_anonymity,
            chain_view,
            settlements,
        );
        let (flows, locks) = self.partial_decrypt_settlement_view(&view, rng)?;
        Ok(SettlementDecryptResponse {
            flows,
            locks,
            settled: view.settled().to_vec(),
            flows_excluded: view.flows_excluded().to_vec(),
            defaulters: view.defaulters().to_vec(),
            locks_excluded: view.locks_excluded().to_vec(),
        })
    }

    fn check_settlement_floor(&self, view: &SettlementView) -> Result<(), TrusteeError> {
        let floor = self.config.market.k_anonymity;
        let n = view.settled().len();
        // A round with fewer accepted bids than the floor did not clear: every one of its
        // settlements has zero flows (the settle circuit's fill is 0), so their sum says
        // nothing and is decrypted whatever their number.
        let bids = view.settled().len() + view.voided().len() + view.defaulters().len();
        if view.flows().is_some() && n < floor && bids >= floor {
            return Err(TrusteeError::TooFewBids { bids: n, floor });
        }
        Ok(())
    }

    /// Decrypts a settlement view the trustee computed itself: slots 0, 1, 2 of the flow
    /// aggregate (refused under the k-anonymity floor) and the lock slot of the
    /// defaulters' aggregate, each in its own context.
    #[allow(clippy::type_complexity)]
    pub fn partial_decrypt_settlement_view<R: rand::RngCore + rand::CryptoRng>(
        &self,
        view: &SettlementView,
        rng: &mut R,
    ) -> Result<(Option<PartialDecryption>, Option<PartialDecryption>), TrusteeError> {
        self.check_settlement_floor(view)?;
        let round = view.round();
        let flows = view
            .flows()
            .map(|agg| {
                decrypt::partial_decrypt(
                    &self.key,
                    &self.public,
                    DecryptionContext::Settlement { round },
                    &agg.ciphertexts().c1,
                    &flow_slots(),
                    rng,
                )
            })
            .transpose()?;
        let locks = view
            .locks()
            .map(|agg| {
                decrypt::partial_decrypt(
                    &self.key,
                    &self.public,
                    DecryptionContext::Defaulted { round },
                    &agg.ciphertexts().c1,
                    &[lock_slot(self.config.market.levels)],
                    rng,
                )
            })
            .transpose()?;
        Ok((flows, locks))
    }

    /// Handles a [`FinalizeRequest`]: builds its own settlement view, then checks and
    /// signs.
    pub fn sign_finalize(
        &self,
        req: &FinalizeRequest,
        chain_view: &[PostedBid],
        settlements: &[PostedSettlement],
    ) -> Result<FinalizeResponse, TrusteeError> {
        let view = settlement_view(
            req.round,
            self.config.market.levels,
            self.config.market.k_anonymity,
            chain_view,
            settlements,
        );
        self.sign_finalize_view(req, &view)
    }

    /// Checks the claimed totals against the partial decryptions of the trustee's own
    /// settlement aggregates (`v·G = C2 − Σλ·D` for each total; an absent aggregate needs
    /// 0), then signs the finalize statement with its own view's defaulters.
    pub fn sign_finalize_view(
        &self,
        req: &FinalizeRequest,
        view: &SettlementView,
    ) -> Result<FinalizeResponse, TrusteeError> {
        if view.round() != req.round {
            return Err(TrusteeError::WrongRound {
                aggregate: view.round(),
                request: req.round,
            });
        }
        self.check_settlement_floor(view)?;
        let round = req.round;
        let flows = combine_aggregate(
            &self.public,
            DecryptionContext::Settlement { round },
            view.flows(),
            &flow_slots(),
            &req.flow_partials,
        )?;
        let locks = combine_aggregate(
            &self.public,
            DecryptionContext::Defaulted { round },
            view.locks(),
            &[lock_slot(self.config.market.levels)],
            &req.lock_partials,
        )?;
        check_totals(
            &req.totals,
            flows.as_ref().map(|c| c.points.as_slice()),
            locks.as_ref().map(|c| c.points.as_slice()),
        )
        .map_err(TrusteeError::WrongTotal)?;
        let statement = FinalizeStatement {
            round,
            totals: req.totals,
            defaulted: view.defaulters().to_vec(),
            voided: view.voided().to_vec(),
        };
        let signature = self
            .signer
            .sign_digest(&finalize_digest(&self.config.domain, &statement))?;
        Ok(FinalizeResponse {
            trustee: self.id(),
            address: self.address(),
            statement,
            signature,
        })
    }

    /// Handles a [`DisclosureRequest`]: decrypts the named bid of its own view, only it.
    pub fn disclose<R: rand::RngCore + rand::CryptoRng>(
        &self,
        req: &DisclosureRequest,
        chain_view: &[PostedBid],
        rng: &mut R,
    ) -> Result<DisclosureResponse, TrusteeError> {
        let bid = chain_view
            .iter()
            .find(|b| b.id == req.bid)
            .ok_or(TrusteeError::UnknownBid(req.bid))?;
        if bid.ciphertexts.c2.len() != self.slots() || bid.ciphertexts.digest() != bid.digest {
            return Err(TrusteeError::DigestMismatch(req.bid));
        }
        let context = DecryptionContext::Disclosure {
            round: req.round,
            bid: req.bid,
        };
        let slots = disclosure_slots(self.config.market.levels);
        let partial = decrypt::partial_decrypt(
            &self.key,
            &self.public,
            context,
            &bid.ciphertexts.c1,
            &slots,
            rng,
        )?;
        Ok(DisclosureResponse { partial })
    }
}
