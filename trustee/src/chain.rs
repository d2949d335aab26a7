//! A trustee's own view of the chain: the bids the market contract accepted in a round,
//! and the settlements it accepted (each with its posted flow ciphertexts and digest `E`).
//! The trustee reads it itself and never takes a list of bids from its caller
//! (`docs/PROTOCOL.md` §7).
//!
//! Three views:
//!
//! - [`EvmChainView`]: the market contract's events, read from an EVM chain: a
//!   JSON-RPC node ([`EvmChainView::connect`], a trustee running as its own process) or
//!   a [`Chain`] shared with the rest of a single process (the embedded EVM). This is
//!   the view a real trustee uses;
//! - [`MemoryChain`]: rounds set by hand (tests);
//! - [`DirChain`]: `<dir>/round-<n>.json`, a JSON array of posted bids in acceptance
//!   order, and `<dir>/settlements-<n>.json`, the round's posted settlements in
//!   settlement order, both in the committee crate's serde form (demos without a chain).

use alloy_primitives::Address;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use sealgrid_verifier_contract::events::{self, MarketEvent, MarketEvents};
use sealgrid_verifier_contract::state::Phase;
use sealgrid_verifier_contract::{Chain, JsonRpcChain, LogFilter};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Why the chain could not be read.
#[derive(Debug, thiserror::Error)]
#[error("chain view unavailable: {0}")]
pub struct ChainError(pub String);

/// How far a round has gone on chain, in the trustee's own view: what decides whether an
/// aggregate of the round may be opened (`docs/PROTOCOL.md` §7). A set that can still
/// grow must never be decrypted, or two answers over sets that differ by one bid open
/// that bid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundGate {
    /// Bidding is closed on chain (the round's phase is `Closed` or later): no bid can be
    /// added to the round any more.
    pub bidding_closed: bool,
    /// The settlement window has ended on chain: the round was cleared (or voided), which
    /// set its effective settlement deadline (`SettlementWindow`), and the chain's time is
    /// past it (`settle` refuses after): no settlement can be added.
    pub settlement_closed: bool,
}

impl RoundGate {
    /// A round whose bids and settlements are final (hand-made views of finished rounds).
    pub const FINAL: RoundGate = RoundGate {
        bidding_closed: true,
        settlement_closed: true,
    };
}

/// The accepted bids of a round, in acceptance order.
pub trait ChainView: std::fmt::Debug + Send + Sync + 'static {
    /// `None` if the trustee knows nothing of the round.
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError>;

    /// How far the round has gone; `None` if the trustee knows nothing of it.
    fn round_gate(&self, round: u64) -> Result<Option<RoundGate>, ChainError>;

    /// The settlements accepted in the round so far, in settlement order (`id` is the
    /// settled bid, `digest` the settle proof's `E`); empty if none.
    fn settlements(&self, round: u64) -> Result<Vec<PostedSettlement>, ChainError>;
}

/// Rounds held in memory.
#[derive(Debug, Default)]
pub struct MemoryChain {
    rounds: RwLock<BTreeMap<u64, Vec<PostedBid>>>,
    settlements: RwLock<BTreeMap<u64, Vec<PostedSettlement>>>,
    gates: RwLock<BTreeMap<u64, RoundGate>>,
}

impl MemoryChain {
    /// Sets a round's accepted bids.
    pub fn set_round(&self, round: u64, bids: Vec<PostedBid>) {
        self.rounds
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(round, bids);
    }

    /// Sets a round's accepted settlements.
    pub fn set_settlements(&self, round: u64, settlements: Vec<PostedSettlement>) {
        self.settlements
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(round, settlements);
    }

    /// Sets how far a round has gone; a round set by hand without it is final
    /// ([`RoundGate::FINAL`]).
    pub fn set_gate(&self, round: u64, gate: RoundGate) {
        self.gates
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(round, gate);
    }
}

impl ChainView for MemoryChain {
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError> {
        Ok(self
            .rounds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&round)
            .cloned())
    }

    fn settlements(&self, round: u64) -> Result<Vec<PostedSettlement>, ChainError> {
        Ok(self
            .settlements
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&round)
            .cloned()
            .unwrap_or_default())
    }

    fn round_gate(&self, round: u64) -> Result<Option<RoundGate>, ChainError> {
        if !self
            .rounds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&round)
        {
            return Ok(None);
        }
        Ok(Some(
            self.gates
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&round)
                .copied()
                .unwrap_or(RoundGate::FINAL),
        ))
    }
}

/// Rounds as JSON files in a directory.
#[derive(Debug, Clone)]
pub struct DirChain {
    /// The directory.
    pub dir: PathBuf,
}

impl DirChain {
    fn read<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ChainError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ChainError(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ChainError(format!("{}: {e}", path.display()))),
        }
    }
}

impl ChainView for DirChain {
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError> {
        self.read(&format!("round-{round}.json"))
    }

    fn settlements(&self, round: u64) -> Result<Vec<PostedSettlement>, ChainError> {
        Ok(self
            .read(&format!("settlements-{round}.json"))?
            .unwrap_or_default())
    }

    /// A directory holds finished rounds only (demos without a chain): a round whose
    /// file exists is final. A trustee that serves a live market reads the chain
    /// ([`EvmChainView`]).
    fn round_gate(&self, round: u64) -> Result<Option<RoundGate>, ChainError> {
        Ok(self.accepted_bids(round)?.map(|_| RoundGate::FINAL))
    }
}

/// A chain shared between its users in one process (the embedded EVM that the
/// coordinator transacts on and the trustees read).
pub type SharedChain = Arc<Mutex<Box<dyn Chain + Send>>>;

/// The market's events on an EVM chain, read by the trustee itself.
///
/// Events are read incrementally: each call reads the logs of the blocks committed
/// since the previous one (up to the latest block), decodes them and keeps them, so a
/// long-lived trustee does not download the market's whole history per request. The
/// latest block is taken as final: fine for the embedded chain, ganache and chains
/// with instant finality; a node that can reorganise needs a view that waits for
/// confirmations (not written yet).
pub struct EvmChainView {
    chain: SharedChain,
    market: Address,
    /// Blocks, the newest included, that must hold an event before it is read
    /// ([`EvmChainView::with_confirmations`]).
    confirmations: u64,
    seen: Mutex<Seen>,
}

/// The events read so far and the first block not read yet.
struct Seen {
    events: Vec<MarketEvent>,
    next_block: u64,
}

impl std::fmt::Debug for EvmChainView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmChainView")
            .field("market", &self.market)
            .finish_non_exhaustive()
    }
}

impl EvmChainView {
    /// The market at `market` on `chain`, its events read from block `from_block` on
    /// (the market's deployment block, or 0): a round's bids must all lie after it.
    pub fn new(chain: SharedChain, market: Address, from_block: u64) -> Self {
        EvmChainView {
            chain,
            market,
            confirmations: 1,
            seen: Mutex::new(Seen {
                events: Vec::new(),
                next_block: from_block,
            }),
        }
    }

    /// The market at `market` on the node at `url` (JSON-RPC over HTTP, read only).
    pub fn connect(url: &str, market: Address, from_block: u64) -> Result<Self, ChainError> {
        let chain = JsonRpcChain::read_only(url).map_err(|e| ChainError(format!("{url}: {e}")))?;
        Ok(Self::new(
            Arc::new(Mutex::new(Box::new(chain))),
            market,
            from_block,
        ))
    }

    /// Reads only the events of blocks that `blocks` blocks hold, their own included
    /// (default 1: up to the latest block; 0 counts as 1). The view keeps what it read,
    /// so on a chain whose recent blocks can be replaced (a reorg) an event read from a
    /// block that is then dropped would stay in it: the bid set a round's aggregate is
    /// opened over could then differ from the chain's, and two answers over sets one
    /// bid apart open that bid. With the same depth as the coordinator's relay
    /// (`confirmations`), the view reads nothing a reorg of fewer blocks can undo.
    pub fn with_confirmations(mut self, blocks: u64) -> Self {
        self.confirmations = blocks.max(1);
        self
    }

    /// The market's address.
    pub fn market(&self) -> Address {
        self.market
    }

    /// The chain's id (`block.chainid`).
    pub fn chain_id(&self) -> Result<u64, ChainError> {
        self.chain
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .chain_id()
            .map_err(|e| ChainError(e.to_string()))
    }

    /// Runs `f` on every event of the market up to the latest block deep enough
    /// ([`EvmChainView::with_confirmations`]).
    fn with_events<T>(&self, f: impl FnOnce(&[MarketEvent]) -> T) -> Result<T, ChainError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let fail = |e: &dyn std::fmt::Display| ChainError(format!("market {}: {e}", self.market));
        {
            let mut chain = self.chain.lock().unwrap_or_else(|e| e.into_inner());
            let head = chain
                .block_number()
                .map_err(|e| fail(&e))?
                .saturating_sub(self.confirmations - 1);
            if head >= seen.next_block {
                let logs = chain
                    .logs(&LogFilter {
                        address: self.market,
                        from_block: seen.next_block,
                        to_block: Some(head),
                    })
                    .map_err(|e| fail(&e))?;
                let new = logs
                    .iter()
                    .map(events::decode)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(&e))?;
                seen.events.extend(new);
                seen.next_block = head + 1;
            }
        }
        Ok(f(&seen.events))
    }
}

impl ChainView for EvmChainView {
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError> {
        self.with_events(|evs| {
            let opened = evs
                .iter()
                .any(|e| matches!(&e.event, MarketEvents::RoundOpened(o) if o.round == round));
            if !opened {
                return Ok(None);
            }
            events::posted_bids(evs, round)
                .map(Some)
                .map_err(|e| ChainError(format!("market {}: {e}", self.market)))
        })?
    }

    fn settlements(&self, round: u64) -> Result<Vec<PostedSettlement>, ChainError> {
        self.with_events(|evs| events::posted_settlements(evs, round))
    }

    fn round_gate(&self, round: u64) -> Result<Option<RoundGate>, ChainError> {
        let seen = self.with_events(|evs| {
            let opened = evs
                .iter()
                .any(|e| matches!(&e.event, MarketEvents::RoundOpened(o) if o.round == round));
            // The effective deadline is set when the round is cleared or voided (a late
            // clear moves it past `settleDeadline`); until then settlement has not begun.
            let deadline = evs.iter().rev().find_map(|e| match &e.event {
                MarketEvents::SettlementWindow(w) if w.round == round => Some(w.settleEnd),
                _ => None,
            });
            let closed = evs.iter().any(|e| {
                // Closed and every later phase (Cleared, Settling, Finalized) mean that
                // bidding is over.
                matches!(&e.event, MarketEvents::RoundPhase(p)
                    if p.round == round && Phase::try_from(p.phase).is_ok_and(|p| p >= Phase::Closed))
            });
            opened.then_some((deadline, closed))
        })?;
        let Some((settle_end, bidding_closed)) = seen else {
            return Ok(None);
        };
        let Some(settle_end) = settle_end else {
            return Ok(Some(RoundGate {
                bidding_closed,
                settlement_closed: false,
            }));
        };
        // `settle` accepts block.timestamp <= the effective deadline: once the chain's
        // time is past it, no settlement can land any more.
        let now = self
            .chain
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .chain_time()
            .map_err(|e| ChainError(format!("market {}: {e}", self.market)))?;
        Ok(Some(RoundGate {
            bidding_closed,
            settlement_closed: bidding_closed && now > settle_end,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_chain_reads_known_rounds_and_reports_unknown_and_broken_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("round-5.json"), "[]").unwrap();
        std::fs::write(dir.path().join("round-6.json"), r#"[{"id": "0x12"}]"#).unwrap();
        let chain = DirChain {
            dir: dir.path().to_owned(),
        };
        assert_eq!(chain.accepted_bids(5).unwrap(), Some(vec![]));
        assert!(chain.accepted_bids(7).unwrap().is_none());
        let e = chain.accepted_bids(6).unwrap_err();
        assert!(e.to_string().contains("round-6.json"), "{e}");
        assert_eq!(chain.settlements(5).unwrap(), vec![]);
        std::fs::write(dir.path().join("settlements-5.json"), "[]").unwrap();
        assert_eq!(chain.settlements(5).unwrap(), vec![]);
        std::fs::write(dir.path().join("settlements-6.json"), "{").unwrap();
        let e = chain.settlements(6).unwrap_err();
        assert!(e.to_string().contains("settlements-6.json"), "{e}");
    }
}
