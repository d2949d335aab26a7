//! The relay: queued submissions go to the contract one at a time, in arrival order;
//! what the contract accepted joins its round, what it refused is marked failed.

use std::time::Duration;

use alloy_primitives::U256;
use alloy_sol_types::{SolCall, SolEvent};
use ark_ff::PrimeField;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_committee::BidId;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;

use super::{answer, Engine};
use crate::refusal::Refusal;
use crate::store::{Kind, Submission, SubmissionState};

impl Engine {
    /// Relays the oldest queued submission.
    pub(super) async fn relay_one(&mut self) {
        let Some(key) = self.queue.front().copied() else {
            return;
        };
        let Some(sub) = self.subs.get(&key).cloned() else {
            self.queue.pop_front();
            return;
        };
        let result = self.chain.transact_raw(sub.call.clone()).await;
        let mut sub = sub;
        match result {
            Ok(receipt) => {
                self.queue.pop_front();
                let index = match sub.kind {
                    Kind::Bid => receipt
                        .logs
                        .iter()
                        .find_map(|l| Market::BidSubmitted::decode_log_data(&l.data).ok())
                        .map(|e| e.index)
                        .unwrap_or(0),
                    Kind::Settlement => 0,
                };
                let block = self.chain.block_number().await.unwrap_or(0);
                sub.state = SubmissionState::OnChain {
                    index,
                    block,
                    gas_used: receipt.gas_used,
                };
                self.on_relayed(&sub, index, block);
            }
            Err(e) => {
                let refusal = Refusal::from_chain(&e);
                if refusal.code() == tonic::Code::Unavailable {
                    // The chain is unreachable: keep it queued and try again later.
                    tracing::warn!(error = %e, "relay failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    return;
                }
                self.queue.pop_front();
                tracing::warn!(bid = %hex::encode(sub.bid), kind = ?sub.kind, error = %refusal.message, "the contract refused a queued submission");
                sub.state = SubmissionState::Failed {
                    error: refusal.message,
                };
            }
        }
        if let Err(e) = self.store.put_submissions(&[&sub]) {
            tracing::error!(%e, "a relayed submission's state could not be stored");
        }
        if let Some(rs) = self.rounds.get_mut(&sub.round) {
            rs.queued = rs.queued.saturating_sub(1);
        }
        if sub.kind == Kind::Bid {
            self.unqueue_bid(&sub.acct);
        }
        if sub.kind == Kind::Bid && self.next_free.get(&sub.acct) == Some(&sub.f_new) {
            self.next_free.remove(&sub.acct);
        }
        if matches!(sub.state, SubmissionState::Failed { .. }) {
            self.rebuild_next_free();
        }
        self.subs.insert(key, sub.clone());
        for w in self.waiters.remove(&key).unwrap_or_default() {
            answer(w, sub.clone());
        }
    }

    fn on_relayed(&mut self, sub: &Submission, index: u32, block: u64) {
        let round = sub.round;
        match sub.kind {
            Kind::Bid => {
                if let (Some(p), Some(rs)) = (posted_bid(sub), self.rounds.get_mut(&round)) {
                    rs.bids.push((p, sub.acct));
                }
                self.events.record(
                    round,
                    pb::market_event::Event::BidAccepted(pb::BidAccepted {
                        bid: sub.bid.to_vec(),
                        acct: sub.acct.to_vec(),
                        index,
                        block,
                    }),
                );
            }
            Kind::Settlement => {
                let p_out = Market::settleCall::abi_decode(&sub.call)
                    .map(|c| c.inp.pOut.to_be_bytes::<32>().to_vec())
                    .unwrap_or_default();
                if let (Some(p), Some(rs)) = (posted_settlement(sub), self.rounds.get_mut(&round)) {
                    rs.settlements.push(p);
                    if rs.phase == pb::Phase::Cleared {
                        rs.phase = pb::Phase::Settling;
                    }
                }
                self.events.record(
                    round,
                    pb::market_event::Event::SettlementAccepted(pb::SettlementAccepted {
                        bid: sub.bid.to_vec(),
                        acct: sub.acct.to_vec(),
                        p_out,
                        block,
                    }),
                );
            }
        }
    }
}

pub(super) fn posted_bid(s: &Submission) -> Option<PostedBid> {
    let c = Market::submitBidCall::abi_decode(&s.call).ok()?;
    let ciphertexts = ciphertexts_of(&c.ciphertexts)?;
    Some(PostedBid {
        id: BidId(s.bid),
        ciphertexts,
        digest: Fr::from_be_bytes_mod_order(&c.inp.digest.to_be_bytes::<32>()),
        acct: Some(sealgrid_committee::AccountId(s.acct)),
    })
}

pub(super) fn posted_settlement(s: &Submission) -> Option<PostedSettlement> {
    let c = Market::settleCall::abi_decode(&s.call).ok()?;
    let ciphertexts = ciphertexts_of(&c.ciphertexts)?;
    Some(PostedSettlement {
        id: BidId(s.bid),
        ciphertexts,
        digest: Fr::from_be_bytes_mod_order(&c.inp.digest.to_be_bytes::<32>()),
        acct: None,
    })
}

fn ciphertexts_of(words: &[U256]) -> Option<FlowCiphertexts> {
    sealgrid_verifier_contract::events::flow_ciphertexts(words)
}
