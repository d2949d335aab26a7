//! A trustee's own view of the chain: the bids the market contract accepted in a round.
//! The trustee reads it itself and never takes a list of bids from its caller
//! (`docs/PROTOCOL.md` §7).
//!
//! Two views for now: [`MemoryChain`] (tests, the embedded single-process setup) and
//! [`DirChain`] (`<dir>/round-<n>.json`, a JSON array of posted bids in acceptance order,
//! in the committee crate's serde form). A view that follows the contract's events
//! replaces them once the contract crate exposes its event log.

use sealgrid_committee::aggregate::PostedBid;
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
}

/// Rounds held in memory.
#[derive(Debug, Default)]
pub struct MemoryChain {
    rounds: RwLock<BTreeMap<u64, Vec<PostedBid>>>,
}

impl MemoryChain {
    /// Sets a round's accepted bids.
    pub fn set_round(&self, round: u64, bids: Vec<PostedBid>) {
        self.rounds
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(round, bids);
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
}

/// Rounds as JSON files in a directory.
#[derive(Debug, Clone)]
pub struct DirChain {
    /// The directory.
    pub dir: PathBuf,
}

impl ChainView for DirChain {
    fn accepted_bids(&self, round: u64) -> Result<Option<Vec<PostedBid>>, ChainError> {
        let path = self.dir.join(format!("round-{round}.json"));
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ChainError(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ChainError(format!("{}: {e}", path.display()))),
        }
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
    }
}
