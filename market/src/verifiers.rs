//! The three circuits' prepared verifying keys, as the coordinator checks proofs with them
//! before relaying and the market file loads them from a key store.

use std::sync::Arc;

use sealgrid_prover::PreparedVerifyingKey;

/// The verifying keys of the three circuits.
#[derive(Clone, Debug)]
pub struct Verifiers {
    /// Balance updates.
    pub balance: Arc<PreparedVerifyingKey>,
    /// Bids.
    pub bid: Arc<PreparedVerifyingKey>,
    /// Settlements.
    pub settle: Arc<PreparedVerifyingKey>,
}
