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
//!
//! and signs a result only after checking it against the partial decryptions
//! ([`Trustee::sign`]): `C2_j − Σλ·D_j = h_j·G` for every slot, one scalar
//! multiplication per slot, no discrete log.
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
use crate::sign::{
    clearing_digest, Address, ClearingStatement, EthSignature, SignError, SigningDomain,
    TrusteeSigningKey,
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
            return Err(TrusteeError::TooFewBids {
                bids: agg.included().len(),
                floor,
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
        let statement = ClearingStatement {
            round: req.round,
            h_buy: req.h_buy.clone(),
            h_sell: req.h_sell.clone(),
            included: agg.inclusion_bitmap(),
        };
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
