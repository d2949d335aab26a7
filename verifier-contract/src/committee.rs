//! What trustees sign (`Market.clearDigest`, `Market.finalizeDigest`), computed off
//! chain, and the inclusion bitmap of a round's bids.

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;

/// `keccak256(abi.encode(keccak256("sealgrid.clear.v1"), chainid, market, round, hBuy,
/// hSell, included))`.
pub fn clear_digest(
    chain_id: u64,
    market: Address,
    round: u64,
    h_buy: &[u64],
    h_sell: &[u64],
    included: &[U256],
) -> B256 {
    let tag = keccak256("sealgrid.clear.v1");
    keccak256(
        (
            tag,
            U256::from(chain_id),
            market,
            round,
            h_buy.to_vec(),
            h_sell.to_vec(),
            included.to_vec(),
        )
            .abi_encode_params(),
    )
}

/// The flow totals a finalization posts: `(pay, credit, penalty, defaultedLocks)`.
pub type FlowTotals = (U256, U256, U256, U256);

/// `keccak256(abi.encode(keccak256("sealgrid.finalize.v1"), chainid, market, round,
/// totals, defaulted))`.
pub fn finalize_digest(
    chain_id: u64,
    market: Address,
    round: u64,
    totals: FlowTotals,
    defaulted: &[U256],
) -> B256 {
    let tag = keccak256("sealgrid.finalize.v1");
    keccak256(
        (
            tag,
            U256::from(chain_id),
            market,
            round,
            totals,
            defaulted.to_vec(),
        )
            .abi_encode_params(),
    )
}

/// The inclusion bitmap over a round's `n` bid indices: bit `i % 256` of word `i / 256`.
pub fn inclusion_bitmap(n: usize, included: impl Fn(usize) -> bool) -> Vec<U256> {
    let mut words = vec![U256::ZERO; n.div_ceil(256)];
    for i in (0..n).filter(|&i| included(i)) {
        words[i / 256] |= U256::from(1u8) << (i % 256);
    }
    words
}
