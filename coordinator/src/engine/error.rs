//! Why the engine could not start, or why a round step failed (the step is then retried
//! after a back-off; its error is only logged).

use sealgrid_committee::aggregate::AggregateError;
use sealgrid_verifier_contract::ChainError;

use crate::schedule::ScheduleError;
use crate::store::StoreError;

/// An engine failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configured schedule is unusable.
    #[error("{0}")]
    Schedule(#[from] ScheduleError),
    /// The store failed (or belongs to another market).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A stored round's state could not be read from the contract.
    #[error("reading round {round}: {source}")]
    ReadRound {
        /// The round.
        round: u64,
        /// The chain's failure.
        source: ChainError,
    },
    /// A queued submission's bid could not be read from the contract.
    #[error("reading a bid: {0}")]
    ReadBid(#[source] ChainError),
    /// A round's posted bids and settlements could not be read from the chain's events.
    #[error("reading round {round} from the chain: {source}")]
    RoundEvents {
        /// The round.
        round: u64,
        /// The chain's failure.
        source: ChainError,
    },
    /// No bid could be aggregated.
    #[error("{0}")]
    Aggregate(#[from] AggregateError),
    /// The committee did not produce its decryptions or signatures (the driver reports
    /// why in words).
    #[error("{0}")]
    Committee(String),
    /// After a restart, the clearing the committee computed again is not the one the
    /// contract holds.
    #[error("the committee's clearing is not the one on chain")]
    ClearingMismatch,
    /// The chain's time has not passed the round's settlement deadline yet, so the
    /// trustees (who decide from their own chain view) will not open its settlement.
    #[error("round {round}: the chain's time {chain_time} has not passed the settlement deadline {deadline}")]
    ChainTimeBehind {
        /// The round.
        round: u64,
        /// The chain's time.
        chain_time: u64,
        /// The round's settlement deadline.
        deadline: u64,
    },
    /// A transaction or call of a round step failed.
    #[error("{0}")]
    Chain(#[from] ChainError),
}
