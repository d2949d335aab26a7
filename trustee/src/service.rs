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
use crate::store::{DisclosureLog, DisclosureRecord};
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
use sealgrid_proto::tls::CallerId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
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
    auditors: Arc<BTreeMap<CallerId, String>>,
    frozen: Arc<Frozen>,
    log: Arc<DisclosureLog>,
    limits: Arc<CallerLimits>,
    handed: Arc<AtomicU64>,
}

/// An auditor a trustee opens single bids for: known by its certificate
/// ([`CallerId`]), named for the disclosure records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auditor {
    /// The name written into the disclosure records.
    pub name: String,
    /// The SHA-256 of its certificate.
    pub identity: CallerId,
}

/// Requests of one caller a trustee works on at once; one more is refused with
/// `RESOURCE_EXHAUSTED` (word `busy`), so that one client cannot hold every worker.
pub const PER_CALLER_REQUESTS: usize = 2;

/// At most [`PER_CALLER_REQUESTS`] requests in progress per caller identity (the
/// certificate's hash; callers without one share a single slot set).
#[derive(Debug, Default)]
pub struct CallerLimits {
    slots: Mutex<HashMap<Option<CallerId>, Arc<tokio::sync::Semaphore>>>,
}

impl CallerLimits {
    /// A permit for `caller`, or `RESOURCE_EXHAUSTED` if it already has
    /// [`PER_CALLER_REQUESTS`] requests in progress.
    pub fn enter(
        &self,
        caller: Option<CallerId>,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        let sem = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(caller)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(PER_CALLER_REQUESTS)))
            .clone();
        sem.try_acquire_owned().map_err(|_| {
            warn!(target: TARGET, "refused: too many requests of one caller in progress");
            Status::resource_exhausted(format!(
                "busy: this caller already has {PER_CALLER_REQUESTS} requests in progress"
            ))
        })
    }
}

/// The authenticated caller of a request: the certificate the TLS handshake checked,
/// as the transport put it in the request ([`authenticate`]).
pub fn caller<T>(request: &Request<T>) -> Option<CallerId> {
    request.extensions().get::<CallerId>().copied()
}

/// The interceptor every trustee server runs before its handlers: replaces whatever
/// [`CallerId`] a request carries by the identity of the client certificate of its TLS
/// connection (none on a plaintext one).
pub fn authenticate(mut request: Request<()>) -> Result<Request<()>, Status> {
    let id = CallerId::of_peer(request.peer_certs());
    request.extensions_mut().remove::<CallerId>();
    if let Some(id) = id {
        request.extensions_mut().insert(id);
    }
    Ok(request)
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
    /// A service for `trustee`, reading rounds from `chain`, opening bids only for a
    /// caller whose certificate is one of `auditors`', and recording every disclosure in
    /// `log` before answering.
    pub fn new(
        trustee: Trustee,
        public: Arc<CommitteePublic>,
        chain: Arc<dyn ChainView>,
        auditors: impl IntoIterator<Item = Auditor>,
        log: DisclosureLog,
    ) -> Self {
        TrusteeService {
            trustee: Arc::new(trustee),
            public,
            chain,
            auditors: Arc::new(auditors.into_iter().map(|a| (a.identity, a.name)).collect()),
            frozen: Arc::new(Frozen::default()),
            log: Arc::new(log),
            limits: Arc::new(CallerLimits::default()),
            handed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many requests were handed to the committee's cryptography (aggregation,
    /// proofs, verification of partials) since the start: a request refused on its form
    /// or its caller is not counted.
    pub fn requests_worked(&self) -> u64 {
        self.handed.load(Ordering::Relaxed)
    }

    /// The largest request this trustee decodes: a `Sign` or `SignFinalize` with one
    /// partial decryption of every slot from each of the `n` trustees, with room to
    /// spare; anything longer is refused (`OUT_OF_RANGE`) before it is decoded.
    pub fn max_request_bytes(&self) -> usize {
        let n = self.public.params.n as usize;
        let slots = self.public.params.instances;
        // A share is a slot number, a point and a proof of two scalars with their tags
        // (about 110 bytes); 160 leaves room for every varint at its longest.
        16 * 1024 + n * (64 + slots * 160) * 2
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

    /// The generated tonic server around this service, its requests capped at
    /// [`TrusteeService::max_request_bytes`].
    pub fn into_server(self) -> pb::trustee_server::TrusteeServer<Self> {
        let max = self.max_request_bytes();
        pb::trustee_server::TrusteeServer::new(self).max_decoding_message_size(max)
    }

    /// Refuses, before anything is decoded or verified, a list of partial decryptions
    /// longer than the committee or naming a trustee twice (`INVALID_ARGUMENT`, words
    /// `too-many-partials` and `duplicate-partial`): each partial costs the trustee a DLEQ
    /// verification per slot, and no honest request holds more than one per trustee.
    fn check_partials(&self, what: &str, ids: impl Iterator<Item = u32>) -> Result<(), Status> {
        let n = self.public.params.n as usize;
        let mut seen = BTreeSet::new();
        for (i, id) in ids.enumerate() {
            if i >= n {
                warn!(target: TARGET, "refused: more partials than trustees");
                return Err(Status::invalid_argument(format!(
                    "too-many-partials: {what} holds more than the committee's {n}"
                )));
            }
            if !seen.insert(id) {
                warn!(target: TARGET, trustee = id, "refused: a trustee's partial twice");
                return Err(Status::invalid_argument(format!(
                    "duplicate-partial: {what}[{i}] is a second partial of trustee {id}"
                )));
            }
        }
        Ok(())
    }

    /// Counts a request handed to the cryptography.
    fn work(&self) {
        self.handed.fetch_add(1, Ordering::Relaxed);
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
        let _permit = self.limits.enter(caller(&request))?;
        let req = PartialDecryptRequest::from(request.get_ref());
        self.work();
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
        let _permit = self.limits.enter(caller(&request))?;
        self.check_partials(
            "partials",
            request.get_ref().partials.iter().map(|p| p.trustee_id),
        )?;
        let req = SignRequest::try_from(request.get_ref())?;
        self.work();
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
        let _permit = self.limits.enter(caller(&request))?;
        let req = SettlementDecryptRequest::from(request.get_ref());
        self.work();
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
        let _permit = self.limits.enter(caller(&request))?;
        let raw = request.get_ref();
        self.check_partials(
            "flow_partials",
            raw.flow_partials.iter().map(|p| p.trustee_id),
        )?;
        self.check_partials(
            "lock_partials",
            raw.lock_partials.iter().map(|p| p.trustee_id),
        )?;
        let req = FinalizeRequest::try_from(request.get_ref())?;
        self.work();
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
        fields(trustee = self.trustee.id().0, round = request.get_ref().round))]
    async fn disclose(
        &self,
        request: Request<pb::DiscloseRequest>,
    ) -> Result<Response<pb::DiscloseResponse>, Status> {
        // Authorised by the certificate the caller proved it holds, never by the name in
        // the request (which is only echoed in the record).
        let who = caller(&request);
        let Some((identity, name)) =
            who.and_then(|id| self.auditors.get(&id).map(|n| (id, n.clone())))
        else {
            warn!(target: TARGET, caller = ?who.map(|c| c.hex()), "disclosure refused: not an auditor's certificate");
            return Err(Status::permission_denied(format!(
                "not-an-auditor: the caller's certificate ({}) is not on this trustee's auditor list",
                who.map_or("none".to_owned(), |c| c.hex())
            )));
        };
        let _permit = self.limits.enter(who)?;
        let req = DisclosureRequest::try_from(request.get_ref())?;
        self.work();
        let (trustee, chain, frozen, log) = (
            self.trustee.clone(),
            self.chain.clone(),
            self.frozen.clone(),
            self.log.clone(),
        );
        let id = self.trustee.id();
        let resp = blocking(move || {
            let bids = closed_bids(chain.as_ref(), &frozen, req.round)?;
            let resp = trustee
                .disclose(&req, &bids, &mut rand::rngs::OsRng)
                .map_err(refused)?;
            // Recorded durably before the shares leave: a disclosure that is not in the
            // log did not happen.
            log.append(DisclosureRecord::now(
                id.0, req.round, req.bid, &name, identity,
            ))
            .map_err(|e| {
                warn!(target: TARGET, error = %e, "disclosure not recorded: refused");
                Status::internal(format!("the disclosure could not be recorded: {e}"))
            })?;
            Ok(resp)
        })
        .await?;
        info!(target: TARGET, bid = ?req_bid(&resp), auditor = %identity, "disclosed one bid (recorded)");
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
