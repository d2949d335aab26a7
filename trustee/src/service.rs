//! The tonic service: thin handlers that decode and check a request
//! (`sealgrid_proto::convert`), hand the work to the committee's [`Trustee`] on a blocking
//! thread (DLEQ proofs and aggregation are CPU work), map its refusal to a `Status` in one
//! place ([`refusal`]) and encode the answer.
//!
//! The [`Trustee`] is immutable (`&self` everywhere), so the handlers share it through an
//! `Arc`. Logs carry rounds, counts and ids, never a key: the share's and the signing
//! key's `Debug` are redacted, and nothing here formats them.
//!
//! Every answer that involves a round's ciphertexts is gated on the trustee's own chain
//! view (`docs/PROTOCOL.md` §7), whoever asks: the clearing aggregate, the clearing
//! signature and a disclosure only once bidding is closed on chain, the settlement
//! aggregates and the finalization signature only once the settlement deadline has
//! passed on chain. The set a (round, purpose) is answered over is frozen at its first
//! answer ([`Frozen`]), so every later ask is answered over the same set: an aggregate
//! cannot be turned into a decryption oracle by asking twice.

use crate::chain::{ChainView, RoundGate};
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
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
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
    frozen: Arc<Frozen>,
}

/// The sets each round's aggregates were first answered over, per purpose. Once bidding
/// (settlement) is closed on chain the set cannot change, so freezing it changes no
/// honest answer; it keeps every later answer over the first set even if the view were
/// to change (a node that reorganises, a view read from elsewhere after a restart).
///
/// Only the latest [`FROZEN_ROUNDS`] rounds are kept: an older round is answered from the
/// chain again, where its sets are final.
#[derive(Debug, Default)]
pub struct Frozen {
    bids: Mutex<BTreeMap<u64, Vec<PostedBid>>>,
    settlements: Mutex<BTreeMap<u64, (Vec<PostedBid>, Vec<PostedSettlement>)>>,
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
            frozen: Arc::new(Frozen::default()),
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

/// Rounds whose frozen sets are kept (two days of 15-minute slots).
pub const FROZEN_ROUNDS: usize = 192;

/// Keeps `value` as `round`'s frozen set unless one is there already, and answers with
/// the one kept; forgets the oldest rounds beyond [`FROZEN_ROUNDS`].
fn freeze<T: Clone>(map: &Mutex<BTreeMap<u64, T>>, round: u64, value: T) -> T {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    let kept = map.entry(round).or_insert(value).clone();
    while map.len() > FROZEN_ROUNDS {
        map.pop_first();
    }
    kept
}

fn unavailable(e: crate::chain::ChainError) -> Status {
    warn!(target: TARGET, error = %e, "chain view unavailable");
    Status::unavailable(e.to_string())
}

fn unknown(round: u64) -> Status {
    warn!(target: TARGET, "round unknown");
    Status::not_found(format!("round {round} is unknown to this trustee"))
}

/// How far `round` has gone in the trustee's own view: `NOT_FOUND` if it knows nothing
/// of it.
fn gate(chain: &dyn ChainView, round: u64) -> Result<RoundGate, Status> {
    chain
        .round_gate(round)
        .map_err(unavailable)?
        .ok_or_else(|| unknown(round))
}

/// The round's accepted bids, once bidding is closed on chain (`FAILED_PRECONDITION`
/// before: a set that can still grow is never aggregated), frozen at the first answer.
fn closed_bids(
    chain: &dyn ChainView,
    frozen: &Frozen,
    round: u64,
) -> Result<Vec<PostedBid>, Status> {
    if let Some(bids) = frozen
        .bids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&round)
    {
        return Ok(bids.clone());
    }
    if !gate(chain, round)?.bidding_closed {
        warn!(target: TARGET, "refused: bidding still open on chain");
        return Err(Status::failed_precondition(format!(
            "bidding-open: round {round} is not closed on chain; its bids are aggregated \
             only once no bid can be added"
        )));
    }
    let bids = chain
        .accepted_bids(round)
        .map_err(unavailable)?
        .ok_or_else(|| unknown(round))?;
    Ok(freeze(&frozen.bids, round, bids))
}

/// The round's accepted bids and settlements, once the settlement deadline has passed
/// on chain (`FAILED_PRECONDITION` before), frozen at the first answer.
fn closed_settlement(
    chain: &dyn ChainView,
    frozen: &Frozen,
    round: u64,
) -> Result<(Vec<PostedBid>, Vec<PostedSettlement>), Status> {
    if let Some(v) = frozen
        .settlements
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&round)
    {
        return Ok(v.clone());
    }
    if !gate(chain, round)?.settlement_closed {
        warn!(target: TARGET, "refused: settlement still open on chain");
        return Err(Status::failed_precondition(format!(
            "settlement-open: round {round}'s settlement deadline has not passed on chain; \
             its settlements are aggregated only once none can be added"
        )));
    }
    let bids = closed_bids(chain, frozen, round)?;
    let settlements = chain.settlements(round).map_err(unavailable)?;
    Ok(freeze(&frozen.settlements, round, (bids, settlements)))
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
        let (trustee, chain, frozen) = (
            self.trustee.clone(),
            self.chain.clone(),
            self.frozen.clone(),
        );
        let resp = blocking(move || {
            let bids = closed_bids(chain.as_ref(), &frozen, req.round)?;
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
        let (trustee, chain, frozen) = (
            self.trustee.clone(),
            self.chain.clone(),
            self.frozen.clone(),
        );
        let resp = blocking(move || {
            let bids = closed_bids(chain.as_ref(), &frozen, req.round)?;
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
        let (trustee, chain, frozen) = (
            self.trustee.clone(),
            self.chain.clone(),
            self.frozen.clone(),
        );
        let resp = blocking(move || {
            let (bids, settlements) = closed_settlement(chain.as_ref(), &frozen, req.round)?;
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
        let (trustee, chain, frozen) = (
            self.trustee.clone(),
            self.chain.clone(),
            self.frozen.clone(),
        );
        let resp = blocking(move || {
            let (bids, settlements) = closed_settlement(chain.as_ref(), &frozen, req.round)?;
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
        let (trustee, chain, frozen) = (
            self.trustee.clone(),
            self.chain.clone(),
            self.frozen.clone(),
        );
        let resp = blocking(move || {
            let bids = closed_bids(chain.as_ref(), &frozen, req.round)?;
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
