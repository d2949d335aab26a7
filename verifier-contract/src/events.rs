//! The market's events read back from any [`Chain`]: every log of the market address
//! decoded into the `sol!` bindings' [`MarketEvents`] (one variant per event of
//! `contracts/Market.sol`, so a new event is a new variant), with where it sits in the
//! chain; and a round's posted bids and settlements in the committee's form
//! ([`PostedBid`], [`PostedSettlement`]) for trustees, auditors and the coordinator.
//!
//! A log of the market address that does not decode as one of its events is an error
//! naming its block and log index, never skipped: the reader is pointed at the wrong
//! contract, or the bindings are stale.
//!
//! A well-formed event whose ciphertext words are not valid points is another matter:
//! the contract does not look at ciphertexts (PROTOCOL §3: the committee recomputes the
//! digest and ignores a bid whose posted ciphertexts do not match it), so any bidder
//! with a valid proof can post garbage words, and refusing the whole round for it would
//! let one bidder stop every trustee. Such a bid keeps its place in the round (its
//! index counts in the inclusion bitmap, its commitment in the defaulters list) with
//! *no* ciphertexts (`C1` the identity, no `C2`), which the committee excludes as
//! [`WrongSlotCount(0)`](sealgrid_committee::aggregate::ExclusionReason::WrongSlotCount).
//! Words `>= r` count as invalid: the proofs bind field elements, and the verifier
//! refuses non-canonical inputs for the same reason.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEventInterface;
use ark_ff::{BigInt, PrimeField};
use sealgrid_circuits::babyjubjub::Point;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_committee::AccountId;
use sealgrid_committee::BidId;

pub use crate::bindings::Market::MarketEvents;
use crate::chain::{Chain, ChainError, ChainLog, LogFilter};

/// One event of the market, typed, with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketEvent {
    /// The block that holds it.
    pub block_number: u64,
    /// Its transaction's position in the block.
    pub tx_index: u64,
    /// Its position in the block.
    pub log_index: u64,
    /// Its transaction (a stand-in hash on the embedded chain, see [`crate::embedded`]).
    pub tx_hash: Option<B256>,
    /// The event.
    pub event: MarketEvents,
}

impl MarketEvent {
    /// The round the event belongs to, for the round events (`RoundOpened`,
    /// `RoundPinned`, `RoundPhase`, `BidSubmitted`, `RoundCleared`, `Settled`, `Defaulted`,
    /// `RoundFinalized`, `SettlementWindow`, `RoundVoided`, `SettlementVoided`); `None`
    /// for the others.
    pub fn round(&self) -> Option<u64> {
        use MarketEvents as E;
        match &self.event {
            E::RoundOpened(e) => Some(e.round),
            E::RoundPinned(e) => Some(e.round),
            E::RoundPhase(e) => Some(e.round),
            E::BidSubmitted(e) => Some(e.round),
            E::RoundCleared(e) => Some(e.round),
            E::Settled(e) => Some(e.round),
            E::Defaulted(e) => Some(e.round),
            E::RoundFinalized(e) => Some(e.round),
            E::SettlementWindow(e) => Some(e.round),
            E::RoundVoided(e) => Some(e.round),
            E::SettlementVoided(e) => Some(e.round),
            E::ParamsSet(_)
            | E::CommitteeProposed(_)
            | E::CommitteeSet(_)
            | E::Registered(_)
            | E::SuspensionSet(_)
            | E::Deposited(_)
            | E::Withdrawn(_) => None,
        }
    }
}

/// Why the market's events could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The chain did not answer.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A log of the market address is not one of the market's events.
    #[error("block {block}, log {log_index}: not a Market event: {reason}")]
    Undecodable {
        /// The log's block.
        block: u64,
        /// The log's position in its block.
        log_index: u64,
        /// The decoder's complaint.
        reason: String,
    },
    /// A bid's index is not its position among the round's bids read: the events start
    /// after the round's first bid (read from an earlier block), or miss some.
    #[error(
        "round {round}: the bid at block {block}, log {log_index} has index {index} but is \
         bid #{position} of those read: read the events from an earlier block"
    )]
    BidOrder {
        /// The round.
        round: u64,
        /// The bid's index on chain.
        index: u32,
        /// Its position among the bids read.
        position: usize,
        /// The event's block.
        block: u64,
        /// The event's position in its block.
        log_index: u64,
    },
}

/// Decodes one log (of the market's address) as a market event.
pub fn decode(log: &ChainLog) -> Result<MarketEvent, EventError> {
    let event =
        MarketEvents::decode_raw_log(log.log.topics(), &log.log.data.data).map_err(|e| {
            EventError::Undecodable {
                block: log.block_number,
                log_index: log.log_index,
                reason: e.to_string(),
            }
        })?;
    Ok(MarketEvent {
        block_number: log.block_number,
        tx_index: log.tx_index,
        log_index: log.log_index,
        tx_hash: log.tx_hash,
        event,
    })
}

/// What `finalize` takes of a settled bid whose settlement it voids: the payout its
/// settlement made and the account that posted it (the contract checks both against
/// the bid's record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledBid {
    /// The payout commitment `P` of its settlement.
    pub payout: U256,
    /// The account.
    pub account: U256,
}

/// The payout commitment `P_out` each settlement of `round` made and the account that
/// settled, by settled bid.
pub fn settlement_payouts(
    events: &[MarketEvent],
    round: u64,
) -> std::collections::HashMap<sealgrid_committee::BidId, SettledBid> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            MarketEvents::Settled(s) if s.round == round => Some((
                sealgrid_committee::BidId(s.bid.to_be_bytes()),
                SettledBid {
                    payout: s.pOut,
                    account: s.acct,
                },
            )),
            _ => None,
        })
        .collect()
}

/// Every event of the market at `market` from block `from_block` (its deployment block,
/// or 0) to the latest, in the order it emitted them.
pub fn market_events<C: Chain + ?Sized>(
    chain: &mut C,
    market: Address,
    from_block: u64,
) -> Result<Vec<MarketEvent>, EventError> {
    chain
        .logs(&LogFilter::since(market, from_block))?
        .iter()
        .map(decode)
        .collect()
}

/// The bids posted in `round`, in acceptance order (their on-chain index), each with
/// the ciphertexts and the digest `D` of its event. `events` must include the round's
/// first bid ([`EventError::BidOrder`] otherwise).
pub fn posted_bids(events: &[MarketEvent], round: u64) -> Result<Vec<PostedBid>, EventError> {
    let mut bids = Vec::new();
    for e in events {
        let MarketEvents::BidSubmitted(b) = &e.event else {
            continue;
        };
        if b.round != round {
            continue;
        }
        if b.index as usize != bids.len() {
            return Err(EventError::BidOrder {
                round,
                index: b.index,
                position: bids.len(),
                block: e.block_number,
                log_index: e.log_index,
            });
        }
        let mut bid = posted(b.bid, b.digest, &b.ciphertexts);
        bid.acct = Some(AccountId(b.acct.to_be_bytes::<32>()));
        bids.push(bid);
    }
    Ok(bids)
}

/// The settlements accepted in `round`, in settlement order: `id` the settled bid,
/// `ciphertexts` the flow ciphertexts, `digest` the settle proof's `E`.
pub fn posted_settlements(events: &[MarketEvent], round: u64) -> Vec<PostedSettlement> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            MarketEvents::Settled(s) if s.round == round => {
                Some(posted(s.bid, s.digest, &s.ciphertexts))
            }
            _ => None,
        })
        .collect()
}

/// [`posted_bids`] read from the chain.
pub fn round_bids<C: Chain + ?Sized>(
    chain: &mut C,
    market: Address,
    from_block: u64,
    round: u64,
) -> Result<Vec<PostedBid>, EventError> {
    posted_bids(&market_events(chain, market, from_block)?, round)
}

/// [`posted_settlements`] read from the chain.
pub fn round_settlements<C: Chain + ?Sized>(
    chain: &mut C,
    market: Address,
    from_block: u64,
    round: u64,
) -> Result<Vec<PostedSettlement>, EventError> {
    Ok(posted_settlements(
        &market_events(chain, market, from_block)?,
        round,
    ))
}

fn posted(id: U256, digest: U256, words: &[U256]) -> PostedBid {
    PostedBid {
        id: BidId::from_commitment(scalar(id).unwrap_or_else(|| reduce(id))),
        ciphertexts: flow_ciphertexts(words).unwrap_or_else(|| FlowCiphertexts {
            c1: Point::zero(),
            c2: Vec::new(),
        }),
        digest: scalar(digest).unwrap_or_else(|| reduce(digest)),
        acct: None,
    }
}

/// The ciphertexts `calldata::ciphertexts` encodes, read back from their words (one
/// packed point each); `None` unless every word is a point of the prime-order subgroup.
pub fn flow_ciphertexts(words: &[U256]) -> Option<FlowCiphertexts> {
    crate::calldata::ciphertext_points(words).ok()
}

/// `x` as a field element, if canonical (`< r`).
fn scalar(x: U256) -> Option<Fr> {
    Fr::from_bigint(BigInt::new(*x.as_limbs()))
}

/// `x mod r`: bid commitments and digests are checked `< r` by the verifier before an
/// event is emitted, so this only runs on a contract that no longer checks them.
fn reduce(x: U256) -> Fr {
    Fr::from_be_bytes_mod_order(&x.to_be_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calldata;
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use sealgrid_circuits::flow::FlowKeys;

    #[test]
    fn ciphertext_words_round_trip_and_garbage_is_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let (keys, _) = FlowKeys::random(3, &mut rng);
        let ct = keys
            .encrypt(&[1, 2, 3], &UniformRand::rand(&mut rng))
            .expect("encrypts");
        let words = calldata::ciphertexts(&ct);
        assert_eq!(flow_ciphertexts(&words), Some(ct.clone()));
        assert_eq!(words.len(), 4, "one word per point");
        // y of C2_1 moved on to the next value that is not a packed subgroup point
        let mut off_curve = words.clone();
        loop {
            off_curve[2] += U256::from(1u8);
            let le = off_curve[2].to_le_bytes::<32>();
            if sealgrid_circuits::babyjubjub::unpack(&le).is_err() {
                break;
            }
        }
        assert_eq!(flow_ciphertexts(&off_curve), None);
        assert_eq!(
            calldata::ciphertext_points(&off_curve).map_err(|(i, _)| i),
            Err(2)
        );
        // the sign bit flipped: the point's inverse, a different ciphertext
        let mut negated = words.clone();
        negated[1] ^= U256::from(1u8) << 255;
        assert_ne!(flow_ciphertexts(&negated), Some(ct.clone()));
        assert_eq!(flow_ciphertexts(&[]), None);
        // y >= p
        let mut big = words.clone();
        big[0] = U256::MAX >> 1;
        assert_eq!(flow_ciphertexts(&big), None);
        assert_eq!(
            calldata::ciphertext_points(&big).map_err(|(i, _)| i),
            Err(0)
        );
    }
}
