//! A trustee's own view of the chain: the bids the market contract accepted in a round,
//! and the settlements it accepted (each with its posted flow ciphertexts and digest `E`).
//! The trustee reads it itself and never takes a list of bids from its caller
//! (`docs/PROTOCOL.md` §7).
//!
//! Two views for now: [`MemoryChain`] (tests, the embedded single-process setup) and
//! [`DirChain`] (`<dir>/round-<n>.json`, a JSON array of posted bids in acceptance order,
//! and `<dir>/settlements-<n>.json`, the round's posted settlements in settlement order,
//! both in the committee crate's serde form). A view that follows the contract's events
//! replaces them once the contract crate exposes its event log.

use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::settlement::PostedSettlement;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

/// Why the chain could not be read.
#[derive(Debug, thiserror::Error)]
#[error("chain view unavailable: {0}")]
pub struct ChainError(pub String);

/// The accepted bids of a round, in acceptance order.
pub trait ChainView: std::fmt::Debug + Send + Sync + 'static {
    /// `None` if the trustee knows nothing of the round.
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError>;

    /// The settlements accepted in the round so far, in settlement order (`id` is the
    /// settled bid, `digest` the settle proof's `E`); empty if none.
    fn settlements(&self, round: u64) -> Result<Vec<PostedSettlement>, ChainError>;
}

/// Rounds held in memory.
#[derive(Debug, Default)]
pub struct MemoryChain {
    rounds: RwLock<BTreeMap<u64, Vec<PostedBid>>>,
    settlements: RwLock<BTreeMap<u64, Vec<PostedSettlement>>>,
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
