//! Gas of `clear` at K = 8 with 10 included bids, each submitted for real (the `gas`
//! binary measures 1,000 in release).

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_verifier_contract::gas::{measure_clear, Keys};
use sealgrid_verifier_contract::EmbeddedChain;

use crate::common::fixture;

#[test]
fn clear_gas_with_ten_included_bids() {
    let f = fixture();
    assert_eq!(f.params.levels, 8);
    let keys = Keys {
        params: &f.params,
        flow: &f.flow,
        balance: &f.balance,
        bid: &f.bid,
        settle: &f.settle,
    };
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(1_767_225_600);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let g = measure_clear(&mut chain, &keys, 10, &mut rng).expect("measures");
    eprintln!(
        "gas clear (K = 8, {} included bids): {}; submitBid {}..{}; closeRound {}",
        g.bids, g.clear, g.submit_bid.0, g.submit_bid.1, g.close_round
    );
    assert!(g.clear > 0 && g.clear < 1_000_000, "{g:?}");
}
