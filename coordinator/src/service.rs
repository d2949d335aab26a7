//! The gRPC handlers: thin. Each decodes and checks a request's form, verifies proofs on
//! the blocking pool (a batch with one randomised batch check, falling back to one by
//! one only to name the bad ones), and hands the rest to the engine.

use std::pin::Pin;
use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;
use prost::Message;
use sealgrid_circuits::Fr;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_server::Coordinator;
use sealgrid_prover::{batch_verify, verify, PreparedVerifyingKey, Proof};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::committee::{deposit_digest, recover_deposit_signer};
use tokio::sync::oneshot;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::chain::ChainHandle;
use crate::engine::{Command, EngineHandle};
use crate::refusal::{Reason, Refusal};
use crate::store::{Kind, Submission, SubmissionState};
use crate::wire;

pub use sealgrid_market::Verifiers;

/// The coordinator service.
#[derive(Clone, Debug)]
pub struct CoordinatorService {
    /// The engine.
    pub engine: EngineHandle,
    /// The chain, for account reads.
    pub chain: ChainHandle,
    /// The market's description.
    pub info: Arc<pb::MarketInfo>,
    /// Proof verification.
    pub verifiers: Verifiers,
    /// Set when the coordinator stops: event streams end, so a graceful shutdown does
    /// not wait on them forever.
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// Proof checks running at once (one per core): a burst of calls then queues here in
    /// arrival order instead of sharing the cores among hundreds of blocking threads,
    /// which made every call of a burst as slow as the whole burst.
    pub verify_slots: Arc<tokio::sync::Semaphore>,
    /// One proof check per client at a time (by certificate, else by address), taken
    /// before a verify slot: one client's batches of broken proofs then hold at most one
    /// of the slots, never all of them.
    pub client_slots: Arc<ClientSlots>,
}

/// Who a caller is for the per-client limit: its client certificate when the service
/// asks for one, else its remote IP address (a loopback caller: its address and port,
/// since every local process shares the address).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// The SHA-256 of its certificate.
    Certificate(sealgrid_proto::tls::CallerId),
    /// Its IP address.
    Address(std::net::IpAddr),
    /// A connection from this machine.
    Local(std::net::SocketAddr),
    /// Neither is known (an in-process call).
    Unknown,
}

impl ClientKey {
    /// The caller of `request`.
    pub fn of<T>(request: &Request<T>) -> ClientKey {
        if let Some(id) = sealgrid_proto::tls::CallerId::of_peer(request.peer_certs()) {
            return ClientKey::Certificate(id);
        }
        match request.remote_addr() {
            Some(a) if a.ip().is_loopback() => ClientKey::Local(a),
            Some(a) => ClientKey::Address(a.ip()),
            None => ClientKey::Unknown,
        }
    }
}

/// One proof-check slot per client.
#[derive(Debug, Default)]
pub struct ClientSlots {
    slots: std::sync::Mutex<std::collections::HashMap<ClientKey, Arc<tokio::sync::Semaphore>>>,
}

impl ClientSlots {
    /// Waits for `client`'s slot. Slots of clients that hold none are forgotten.
    pub async fn enter(
        &self,
        client: ClientKey,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        let sem = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if slots.len() > 10_000 {
                slots.retain(|_, s| s.available_permits() == 0);
            }
            slots
                .entry(client)
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(1)))
                .clone()
        };
        sem.acquire_owned().await.map_err(|_| shutting_down())
    }
}

/// The largest request the coordinator decodes for a market of `levels` price levels
/// and batches of at most `max_batch` bids: a bid is a proof (8 words), its public
/// inputs and `2K + 1` ciphertext pairs; 4 KiB covers the proof, the inputs and every
/// tag, 80 bytes each ciphertext pair's two points and tags.
pub fn max_request_bytes(levels: usize, max_batch: u32) -> usize {
    64 * 1024 + max_batch.max(1) as usize * (4096 + (2 * levels + 1) * 80)
}

/// The coordinator is stopping: the engine or the proof checks are gone.
fn shutting_down() -> Status {
    Refusal::new(Reason::ShuttingDown, "the coordinator is stopping").status()
}

async fn ask<T>(
    engine: &EngineHandle,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, Status> {
    let (tx, rx) = oneshot::channel();
    engine
        .tx
        .send(make(tx))
        .await
        .map_err(|_| shutting_down())?;
    rx.await.map_err(|_| shutting_down())
}

fn levels(info: &pb::MarketInfo) -> usize {
    info.grid.as_ref().map(|g| g.levels as usize).unwrap_or(0)
}

/// Verifies proofs; returns per item whether it verified.
fn verify_all(pvk: &PreparedVerifyingKey, items: &[(&Proof, &[Fr])]) -> Vec<bool> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut rng = rand::rngs::OsRng;
    if batch_verify(pvk, items.iter().map(|(p, x)| (*p, *x)), &mut rng).is_ok() {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|(p, x)| verify(pvk, p, x).is_ok())
        .collect()
}

fn response_of(s: &Submission) -> pb::SubmitBidResponse {
    let mut r = pb::SubmitBidResponse {
        bid: s.bid.to_vec(),
        ..Default::default()
    };
    match &s.state {
        SubmissionState::Queued => r.state = pb::SubmissionState::Queued as i32,
        SubmissionState::OnChain {
            index,
            block,
            gas_used,
        } => {
            r.state = pb::SubmissionState::OnChain as i32;
            r.index = *index;
            r.block = *block;
            r.gas_used = *gas_used;
        }
        SubmissionState::Failed { error } => {
            r.state = pb::SubmissionState::Failed as i32;
            r.error = error.clone();
        }
    }
    r
}

impl CoordinatorService {
    async fn wait(&self, kind: Kind, bid: [u8; 32]) -> Result<Submission, Status> {
        ask(&self.engine, |reply| Command::Wait { kind, bid, reply }).await
    }

    /// Checks and queues bids; one result per bid.
    pub async fn submit(
        &self,
        client: ClientKey,
        bids: Vec<pb::BidSubmission>,
        wait: bool,
    ) -> Result<Vec<Result<pb::SubmitBidResponse, Refusal>>, Status> {
        let k = levels(&self.info);
        let pvk = self.verifiers.bid.clone();
        let own = self.client_slots.enter(client).await?;
        let slot = self
            .verify_slots
            .acquire()
            .await
            .map_err(|_| shutting_down())?;
        // Form, digest and proofs, off the async threads.
        let checked = tokio::task::spawn_blocking(move || {
            let forms: Vec<Result<wire::BidForm, Refusal>> =
                bids.iter().map(|b| wire::bid(b, k)).collect();
            let ok: Vec<(usize, &wire::BidForm)> = forms
                .iter()
                .enumerate()
                .filter_map(|(i, f)| f.as_ref().ok().map(|f| (i, f)))
                .collect();
            let items: Vec<(&Proof, &[Fr])> = ok
                .iter()
                .map(|(_, f)| (&f.proof, f.inputs.as_slice()))
                .collect();
            let verdicts = verify_all(&pvk, &items);
            let bad: Vec<usize> = ok
                .iter()
                .zip(verdicts)
                .filter(|(_, v)| !v)
                .map(|((i, _), _)| *i)
                .collect();
            forms
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    if bad.contains(&i) {
                        Err(Refusal::new(
                            Reason::InvalidProof,
                            "the bid proof does not verify against its public inputs",
                        ))
                    } else {
                        f
                    }
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?;
        drop(slot);
        drop(own);
        let mut slots: Vec<Option<Result<pb::SubmitBidResponse, Refusal>>> = Vec::new();
        let mut good = Vec::new();
        for c in checked {
            match c {
                Ok(f) => {
                    slots.push(None);
                    good.push(f);
                }
                Err(r) => slots.push(Some(Err(r))),
            }
        }
        let answers = if good.is_empty() {
            Vec::new()
        } else {
            ask(&self.engine, |reply| Command::SubmitBids {
                bids: good,
                reply,
            })
            .await?
        };
        let mut answers = answers.into_iter();
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            let r = match s {
                Some(r) => r,
                None => match answers.next() {
                    Some(Ok(bid)) => {
                        if wait {
                            Ok(response_of(&self.wait(Kind::Bid, bid).await?))
                        } else {
                            Ok(pb::SubmitBidResponse {
                                bid: bid.to_vec(),
                                state: pb::SubmissionState::Queued as i32,
                                ..Default::default()
                            })
                        }
                    }
                    Some(Err(r)) => Err(r),
                    None => Err(Refusal::new(
                        Reason::Internal,
                        "the engine answered too few bids",
                    )),
                },
            };
            out.push(r);
        }
        Ok(out)
    }

    async fn balance(
        &self,
        client: ClientKey,
        form: wire::BalanceForm,
        call: Vec<u8>,
    ) -> Result<pb::BalanceUpdateResponse, Status> {
        let pvk = self.verifiers.balance.clone();
        let f = form.clone();
        let own = self.client_slots.enter(client).await?;
        let slot = self
            .verify_slots
            .acquire()
            .await
            .map_err(|_| shutting_down())?;
        let ok = tokio::task::spawn_blocking(move || verify(&pvk, &f.proof, &f.inputs).is_ok())
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        drop(slot);
        drop(own);
        if !ok {
            return Err(Refusal::new(
                Reason::InvalidProof,
                "the balance proof does not verify against its public inputs",
            )
            .status());
        }
        let f_new = form.inp.fNew;
        let receipt = ask(&self.engine, |reply| Command::Balance {
            call,
            form: Box::new(form),
            reply,
        })
        .await?
        .map_err(|r| r.status())?;
        let block = self.chain.block_number().await.unwrap_or(0);
        Ok(pb::BalanceUpdateResponse {
            f_new: f_new.to_be_bytes::<32>().to_vec(),
            block,
            gas_used: receipt.gas_used,
        })
    }
}

/// Sends the stored events from `from` on that `wanted` selects; the next sequence
/// number to expect, or `None` when the client has gone (or the store failed, which the
/// client is told).
async fn replay(
    store: &crate::store::Store,
    from: u64,
    tx: &tokio::sync::mpsc::Sender<Result<pb::MarketEvent, Status>>,
    wanted: &impl Fn(&pb::MarketEvent) -> bool,
) -> Option<u64> {
    let mut next = from;
    loop {
        let stored = match store.events(next, 1024) {
            Ok(v) => v,
            Err(e) => {
                // The client may have gone; nothing more to send either way.
                tx.send(Err(Status::internal(e.to_string()))).await.ok();
                return None;
            }
        };
        if stored.is_empty() {
            return Some(next);
        }
        for (seq, bytes) in stored {
            next = seq + 1;
            let Ok(e) = pb::MarketEvent::decode(bytes.as_slice()) else {
                continue;
            };
            if wanted(&e) && tx.send(Ok(e)).await.is_err() {
                return None;
            }
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::MarketEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Coordinator for CoordinatorService {
    async fn get_market(
        &self,
        _: Request<pb::GetMarketRequest>,
    ) -> Result<Response<pb::MarketInfo>, Status> {
        Ok(Response::new((*self.info).clone()))
    }

    async fn get_round(
        &self,
        req: Request<pb::GetRoundRequest>,
    ) -> Result<Response<pb::RoundStatus>, Status> {
        let round = req.get_ref().round;
        ask(&self.engine, |reply| Command::GetRound { round, reply })
            .await?
            .map(Response::new)
            .ok_or_else(|| {
                Refusal::new(
                    Reason::UnknownRound,
                    format!("round {round} is not scheduled"),
                )
                .status()
            })
    }

    async fn list_rounds(
        &self,
        req: Request<pb::ListRoundsRequest>,
    ) -> Result<Response<pb::ListRoundsResponse>, Status> {
        let mut rounds = ask(&self.engine, |reply| Command::ListRounds { reply }).await?;
        let limit = req.get_ref().limit as usize;
        if limit > 0 {
            rounds.truncate(limit);
        }
        Ok(Response::new(pb::ListRoundsResponse { rounds }))
    }

    async fn get_account(
        &self,
        req: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::AccountStatus>, Status> {
        let acct = wire::field("acct", &req.get_ref().acct).map_err(|r| r.status())?;
        let acct_b: [u8; 32] = wire::field_bytes(&acct)
            .try_into()
            .map_err(|_| Status::internal("field bytes"))?;
        let p = self
            .chain
            .call(Market::prosumersCall(U256::from_be_bytes(acct_b)))
            .await
            .map_err(|e| Refusal::from_chain(&e).status())?;
        if !p.registered {
            return Err(Refusal::new(
                Reason::UnknownAccount,
                format!("account 0x{}", hex::encode(acct_b)),
            )
            .status());
        }
        let next = ask(&self.engine, |reply| Command::NextFree {
            acct: acct_b,
            reply,
        })
        .await?;
        let free = p.free.to_be_bytes::<32>();
        Ok(Response::new(pb::AccountStatus {
            acct: acct_b.to_vec(),
            meter_id: p.meterId.to_be_bytes::<32>().to_vec(),
            free_on_chain: free.to_vec(),
            free_next: next.unwrap_or(free).to_vec(),
            unsettled: p.unsettled,
            defaults: p.defaults,
            suspended: p.suspended,
        }))
    }

    async fn submit_bid(
        &self,
        req: Request<pb::SubmitBidRequest>,
    ) -> Result<Response<pb::SubmitBidResponse>, Status> {
        let client = ClientKey::of(&req);
        let req = req.into_inner();
        let bid = req
            .bid
            .ok_or_else(|| Refusal::new(Reason::Malformed, "bid missing").status())?;
        let mut r = self.submit(client, vec![bid], req.wait_for_chain).await?;
        match r.pop() {
            Some(Ok(resp)) => Ok(Response::new(resp)),
            Some(Err(refusal)) => Err(refusal.status()),
            None => Err(Status::internal("no answer")),
        }
    }

    async fn submit_bids(
        &self,
        req: Request<pb::SubmitBidsRequest>,
    ) -> Result<Response<pb::SubmitBidsResponse>, Status> {
        let client = ClientKey::of(&req);
        let req = req.into_inner();
        let max = self.info.max_batch as usize;
        if req.bids.is_empty() || req.bids.len() > max {
            return Err(Refusal::new(
                Reason::BatchSize,
                format!("a batch holds 1 to {max} bids, not {}", req.bids.len()),
            )
            .status());
        }
        let results = self
            .submit(client, req.bids, req.wait_for_chain)
            .await?
            .into_iter()
            .map(|r| pb::SubmitBidResult {
                result: Some(match r {
                    Ok(a) => pb::submit_bid_result::Result::Accepted(a),
                    Err(f) => pb::submit_bid_result::Result::Refused(f.to_pb()),
                }),
            })
            .collect();
        Ok(Response::new(pb::SubmitBidsResponse { results }))
    }

    async fn submit_settlement(
        &self,
        req: Request<pb::SubmitSettlementRequest>,
    ) -> Result<Response<pb::SubmitSettlementResponse>, Status> {
        let client = ClientKey::of(&req);
        let req = req.into_inner();
        let s = req
            .settlement
            .ok_or_else(|| Refusal::new(Reason::Malformed, "settlement missing").status())?;
        let pvk = self.verifiers.settle.clone();
        let own = self.client_slots.enter(client).await?;
        let slot = self
            .verify_slots
            .acquire()
            .await
            .map_err(|_| shutting_down())?;
        let form = tokio::task::spawn_blocking(move || {
            let f = wire::settlement(&s)?;
            if verify(&pvk, &f.proof, &f.inputs).is_err() {
                return Err(Refusal::new(
                    Reason::InvalidProof,
                    "the settlement proof does not verify against its public inputs",
                ));
            }
            Ok(f)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()));
        drop(slot);
        drop(own);
        let form = form?.map_err(|r| r.status())?;
        let bid = ask(&self.engine, |reply| Command::SubmitSettlement {
            settlement: Box::new(form),
            reply,
        })
        .await?
        .map_err(|r| r.status())?;
        let resp = if req.wait_for_chain {
            let r = response_of(&self.wait(Kind::Settlement, bid).await?);
            pb::SubmitSettlementResponse {
                bid: r.bid,
                state: r.state,
                block: r.block,
                gas_used: r.gas_used,
                error: r.error,
            }
        } else {
            pb::SubmitSettlementResponse {
                bid: bid.to_vec(),
                state: pb::SubmissionState::Queued as i32,
                ..Default::default()
            }
        };
        Ok(Response::new(resp))
    }

    async fn deposit(
        &self,
        req: Request<pb::DepositRequest>,
    ) -> Result<Response<pb::BalanceUpdateResponse>, Status> {
        let client = ClientKey::of(&req);
        let req = req.into_inner();
        let form = wire::balance(req.update.as_ref()).map_err(|r| r.status())?;
        if req.payer.len() != 20 {
            return Err(Refusal::new(Reason::Malformed, "payer is not a 20-byte address").status());
        }
        if req.payer_signature.len() != 65 {
            return Err(
                Refusal::new(Reason::Malformed, "payer_signature is not 65 bytes").status(),
            );
        }
        let sig = &req.payer_signature;
        let payer = Address::from_slice(&req.payer);
        let sig = Market::Signature {
            r: B256::from_slice(&sig[..32]),
            s: B256::from_slice(&sig[32..64]),
            v: sig[64],
        };
        // The payer's EIP-712 signature first: it needs no chain read, and the
        // allowance and balance of a payer who did not sign are nobody's business.
        let digest = deposit_digest(
            self.info.chain_id,
            Address::from_slice(&self.info.market),
            payer,
            &form.inp,
        );
        if recover_deposit_signer(digest, &sig) != Some(payer) {
            return Err(Refusal::new(
                Reason::BadSignature,
                format!("the deposit is not signed by payer {payer}"),
            )
            .status());
        }
        let call = Market::depositForCall {
            payer,
            proof: form.words,
            inp: form.inp.clone(),
            sig,
        }
        .abi_encode();
        Ok(Response::new(self.balance(client, form, call).await?))
    }

    async fn withdraw(
        &self,
        req: Request<pb::WithdrawRequest>,
    ) -> Result<Response<pb::BalanceUpdateResponse>, Status> {
        let client = ClientKey::of(&req);
        let req = req.into_inner();
        let form = wire::balance(req.update.as_ref()).map_err(|r| r.status())?;
        let call = Market::withdrawCall {
            proof: form.words,
            inp: form.inp.clone(),
        }
        .abi_encode();
        Ok(Response::new(self.balance(client, form, call).await?))
    }

    async fn get_submission(
        &self,
        req: Request<pb::GetSubmissionRequest>,
    ) -> Result<Response<pb::SubmissionStatus>, Status> {
        let req = req.into_inner();
        let bid = wire::field("bid", &req.bid).map_err(|r| r.status())?;
        let bid: [u8; 32] = wire::field_bytes(&bid)
            .try_into()
            .map_err(|_| Status::internal("field bytes"))?;
        let kind = if req.settlement {
            Kind::Settlement
        } else {
            Kind::Bid
        };
        let s = ask(&self.engine, |reply| Command::GetSubmission {
            kind,
            bid,
            reply,
        })
        .await?
        .ok_or_else(|| {
            Refusal::new(Reason::UnknownSubmission, format!("0x{}", hex::encode(bid))).status()
        })?;
        let r = response_of(&s);
        Ok(Response::new(pb::SubmissionStatus {
            bid: r.bid,
            round: s.round,
            state: r.state,
            index: r.index,
            block: r.block,
            gas_used: r.gas_used,
            error: r.error,
        }))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(
        &self,
        req: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let pb::StreamEventsRequest {
            from_sequence,
            round,
        } = req.into_inner();
        // Subscribe first, then read what is stored: nothing falls between the two.
        let mut live = self.engine.live.subscribe();
        let store = self.engine.store.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::MarketEvent, Status>>(256);
        let mut stop = self.stop.clone();
        tokio::spawn(async move {
            let wanted = |e: &pb::MarketEvent| round == 0 || e.round == round;
            let Some(mut next) = replay(&store, from_sequence, &tx, &wanted).await else {
                return;
            };
            loop {
                let next_live = tokio::select! {
                    e = live.recv() => e,
                    _ = stop.wait_for(|s| *s) => return,
                };
                match next_live {
                    Ok(e) => {
                        if e.sequence < next {
                            continue;
                        }
                        next = e.sequence + 1;
                        if wanted(&e) && tx.send(Ok(e)).await.is_err() {
                            return;
                        }
                    }
                    // Too slow for the live feed: catch up from the store.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        match replay(&store, next, &tx, &wanted).await {
                            Some(n) => next = n,
                            None => return,
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_audit_bundle(
        &self,
        req: Request<pb::GetAuditBundleRequest>,
    ) -> Result<Response<pb::AuditBundle>, Status> {
        let round = req.get_ref().round;
        ask(&self.engine, |reply| Command::AuditBundle { round, reply })
            .await?
            .map(Response::new)
            .map_err(|r| r.status())
    }
}
