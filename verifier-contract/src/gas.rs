//! Gas bounds the market's callers size their transactions by. Each constant is an
//! upper bound a test measures on the contract (`tests/it/settle.rs`), so a change of
//! the contract that makes it false fails there.

use crate::embedded::TX_GAS_LIMIT;

/// `recordDefaults` with no bid: the transaction, the round's phase and deadline, the
/// counter's write.
pub const RECORD_DEFAULTS_BASE_GAS: u64 = 60_000;

/// `recordDefaults`, each further bid in the worst case (its bid, its account's record
/// and the round's counter all cold, its account tag's keccak, a `Defaulted` event, 64
/// bytes of calldata: the bid and its account).
pub const RECORD_DEFAULTS_GAS_PER_BID: u64 = 40_000;

/// The largest page of bids one `recordDefaults` transaction records within the
/// transaction gas cap (2^24 on the embedded chain and [`crate::JsonRpcChain`]).
pub const RECORD_DEFAULTS_PAGE: usize =
    ((TX_GAS_LIMIT - RECORD_DEFAULTS_BASE_GAS) / RECORD_DEFAULTS_GAS_PER_BID) as usize;
