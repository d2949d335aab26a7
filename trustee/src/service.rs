//! The tonic service: thin handlers that decode and check a request
//! (`sealgrid_proto::convert`), hand the work to the committee's [`Trustee`] on a blocking
//! thread (DLEQ proofs and aggregation are CPU work), map its refusal to a `Status` in one
//! place ([`refusal`]) and encode the answer.
//!
//! The [`Trustee`] is immutable (`&self` everywhere), so the handlers share it through an
//! `Arc`; there is no state to serialise. Logs carry rounds, counts and ids, never a key:
//! the share's and the signing key's `Debug` are redacted, and nothing here formats them.

use crate::chain::ChainView;
use sealgrid_committee::aggregate::{AggregateError, PostedBid};
use sealgrid_committee::decrypt::DecryptError;
use sealgrid_committee::dkg::CommitteePublic;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_committee::trustee::{
    DisclosureRequest, FinalizeRequest, PartialDecryptRequest, SettlementDecryptRequest,
    SignRequest, Trustee, TrusteeError,
};
use sealgrid_proto::committee::v1 as pb;
use sealgrid_proto::convert::TrusteeInfo;
use std::collections::BTreeSet;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::{info, warn};

const TARGET: &str = "sealgrid::trustee";

/// One trustee behind gRPC.
#[derive(Debug, Clone)]
pub struct TrusteeService {
    trustee: Arc<Trustee>,
    public: Arc<CommitteePublic>,
    chain: Arc<dyn ChainView>,
    auditors: Arc<BTreeSet<String>>,
}

impl TrusteeService {
    /// A service for `trustee`, reading rounds from `chain`, opening bids for the named
    /// `auditors` only. The names are not authenticated (no TLS on loopback): before the
    /// service leaves one machine, disclosure requests need signed auditor credentials.
    pub fn new(
        trustee: Trustee,
        public: Arc<CommitteePublic>,
        chain: Arc<dyn ChainView>,
        auditors: impl IntoIterator<Item = String>,
    ) -> Self {
        TrusteeService {
            trustee: Arc::new(trustee),
            public,
            chain,
            auditors: Arc::new(auditors.into_iter().collect()),
        }
    }

    /// The trustee's public information.
    pub fn info(&self) -> TrusteeInfo {
        let id = self.trustee.id();
        let verification_keys = self
            .public
            .verification_keys
            .iter()
            .find(|v| v.trustee == id)
            .map(|v| v.keys.clone())
            .unwrap_or_default();
        TrusteeInfo {
            trustee: id,
            address: self.trustee.address(),
            verification_keys,
            committee_size: self.public.params.n,
            threshold: self.public.params.t,
        }
    }

    /// The generated tonic server around this service.
    pub fn into_server(self) -> pb::trustee_server::TrusteeServer<Self> {
        pb::trustee_server::TrusteeServer::new(self)
    }
}

/// The `Status` for a refusal of the committee's [`Trustee`]: the caller's fault
/// (`INVALID_ARGUMENT`), the round's state (`FAILED_PRECONDITION`), or ours (`INTERNAL`).
pub fn refusal(e: &TrusteeError) -> Status {
    use TrusteeError as E;
    let msg = e.to_string();
    match e {
        E::TooFewBids { .. } | E::Aggregate(AggregateError::Empty { .. }) => {
            Status::failed_precondition(msg)
        }
        E::UnknownBid(_) | E::DigestMismatch(_) => Status::failed_precondition(msg),
        E::Shape(_)
        | E::WrongResult(_)
        | E::WrongTotal(_)
        | E::Decrypt(DecryptError::NotEnoughShares { .. }) => Status::invalid_argument(msg),
        E::Decrypt(_) | E::WrongRound { .. } | E::Sign(_) => Status::internal(msg),
    }
}

/// The trustee's own view of `round`: `NOT_FOUND` if it knows nothing of it.
fn view(chain: &dyn ChainView, round: u64) -> Result<Vec<PostedBid>, Status> {
    chain
        .accepted_bids(round)
        .map_err(|e| {
            warn!(target: TARGET, error = %e, "chain view unavailable");
            Status::unavailable(e.to_string())
        })?
        .ok_or_else(|| {
            warn!(target: TARGET, "round unknown");
            Status::not_found(format!("round {round} is unknown to this trustee"))
        })
}

/// The trustee's own view of `round`'s settlement: its accepted bids (`NOT_FOUND` if
/// the round is unknown) and its accepted settlements.
fn settlement_view(
    chain: &dyn ChainView,
    round: u64,
) -> Result<(Vec<PostedBid>, Vec<PostedSettlement>), Status> {
    let bids = view(chain, round)?;
    let settlements = chain.settlements(round).map_err(|e| {
        warn!(target: TARGET, error = %e, "chain view unavailable");
        Status::unavailable(e.to_string())
    })?;
    Ok((bids, settlements))
}

/// Runs CPU work off the async workers, inside the request's span.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|_| Status::internal("trustee worker failed"))?
}

fn refused(e: TrusteeError) -> Status {
    let status = refusal(&e);
    warn!(target: TARGET, code = ?status.code(), error = %e, "refused");
    status
}

#[tonic::async_trait]
impl pb::trustee_server::Trustee for TrusteeService {
    #[tracing::instrument(target = "sealgrid::trustee", skip_all, fields(trustee = self.trustee.id().0))]
    async fn get_info(
        &self,
        _request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::GetInfoResponse>, Status> {
        Ok(Response::new((&self.info()).into()))
    }

    #[tracing::instrument(target = "sealgrid::trustee", skip_all,
        fields(trustee = self.trustee.id().0, round = request.get_ref().round))]
    async fn partial_decrypt(
        &self,
        request: Request<pb::PartialDecryptRequest>,
    ) -> Result<Response<pb::PartialDecryptResponse>, Status> {
        let req = PartialDecryptRequest::from(request.get_ref());
        let (trustee, chain) = (self.trustee.clone(), self.chain.clone());
        let resp = blocking(move || {
            let bids = view(chain.as_ref(), req.round)?;
            trustee
                .partial_decrypt(&req, &bids, &mut rand::rngs::OsRng)
                .map_err(refused)
        })
        .await?;
        info!(target: TARGET, included = resp.included.len(), excluded = resp.excluded.len(), "partial decryption");
        Ok(Response::new((&resp).into()))
    }

    #[tracing::instrument(target = "sealgrid::trustee", skip_all,
        fields(trustee = self.trustee.id().0, round = request.get_ref().round))]
    async fn sign(
        &self,
        request: Request<pb::SignRequest>,
    ) -> Result<Response<pb::SignResponse>, Status> {
        let req = SignRequest::try_from(request.get_ref())?;
        let (trustee, chain) = (self.trustee.clone(), self.chain.clone());
        let resp = blocking(move || {
            let bids = view(chain.as_ref(), req.round)?;
            trustee.sign(&req, &bids).map_err(refused)
        })
        .await?;
        info!(target: TARGET, included = resp.statement.included.len(), "signed");
        Ok(Response::new((&resp).into()))
    }

    #[tracing::instrument(target = "sealgrid::trustee", skip_all,
        fields(trustee = self.trustee.id().0, round = request.get_ref().round))]
    async fn partial_decrypt_settlement(
        &self,
        request: Request<pb::PartialDecryptSettlementRequest>,
    ) -> Result<Response<pb::PartialDecryptSettlementResponse>, Status> {
        let req = SettlementDecryptRequest::from(request.get_ref());
        let (trustee, chain) = (self.trustee.clone(), self.chain.clone());
        let resp = blocking(move || {
            let (bids, settlements) = settlement_view(chain.as_ref(), req.round)?;
            trustee
                .partial_decrypt_settlement(&req, &bids, &settlements, &mut rand::rngs::OsRng)
                .map_err(refused)
        })
        .await?;
        info!(target: TARGET, settled = resp.settled.len(),
            flows_excluded = resp.flows_excluded.len(), defaulters = resp.defaulters.len(),
            locks_excluded = resp.locks_excluded.len(), "settlement partial decryption");
        Ok(Response::new((&resp).into()))
    }

    #[tracing::instrument(target = "sealgrid::trustee", skip_all,
        fields(trustee = self.trustee.id().0, round = request.get_ref().round))]
    async fn sign_finalize(
        &self,
        request: Request<pb::SignFinalizeRequest>,
    ) -> Result<Response<pb::SignFinalizeResponse>, Status> {
        let req = FinalizeRequest::try_from(request.get_ref())?;
        let (trustee, chain) = (self.trustee.clone(), self.chain.clone());
        let resp = blocking(move || {
            let (bids, settlements) = settlement_view(chain.as_ref(), req.round)?;
            trustee
                .sign_finalize(&req, &bids, &settlements)
                .map_err(refused)
        })
        .await?;
        info!(target: TARGET, defaulted = resp.statement.defaulted.len(), "signed finalization");
        Ok(Response::new((&resp).into()))
    }

    #[tracing::instrument(target = "sealgrid::trustee", skip_all,
        fields(trustee = self.trustee.id().0, round = request.get_ref().round,
               auditor = %request.get_ref().auditor))]
    async fn disclose(
        &self,
        request: Request<pb::DiscloseRequest>,
    ) -> Result<Response<pb::DiscloseResponse>, Status> {
        let req = DisclosureRequest::try_from(request.get_ref())?;
        if !self.auditors.contains(&req.auditor) {
            warn!(target: TARGET, "disclosure refused: not an auditor");
            return Err(Status::permission_denied(format!(
                "{:?} is not an auditor of this trustee",
                req.auditor
            )));
        }
        let (trustee, chain) = (self.trustee.clone(), self.chain.clone());
        let resp = blocking(move || {
            let bids = view(chain.as_ref(), req.round)?;
            trustee
                .disclose(&req, &bids, &mut rand::rngs::OsRng)
                .map_err(refused)
        })
        .await?;
        info!(target: TARGET, bid = ?req_bid(&resp), "disclosed one bid");
        Ok(Response::new((&resp).into()))
    }
}

fn req_bid(
    r: &sealgrid_committee::trustee::DisclosureResponse,
) -> Option<sealgrid_committee::BidId> {
    match r.partial.context {
        sealgrid_committee::dleq::DecryptionContext::Disclosure { bid, .. } => Some(bid),
        _ => None,
    }
}
