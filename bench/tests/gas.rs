//! Gas of `clear` at K = 8 with 5 included bids (the floor k), each submitted for real (the `gas`
//! binary measures 1,000 in release).

use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_bench::gas::{measure_clear, KeySet};
use sealgrid_verifier_contract::EmbeddedChain;

/// The key directory of sealgrid-verifier-contract's integration tests, whose fixture
/// draws its keys from the same seed (4): the keys are made once for both test suites.
fn key_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sealgrid-contract-keys")
}

#[test]
fn clear_gas_with_five_included_bids() {
    let set = KeySet::load_or_setup(&key_dir(), &mut ChaCha20Rng::seed_from_u64(4)).expect("keys");
    assert_eq!(set.params.levels, 8);
    let keys = set.keys();
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(1_767_225_600);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let g = measure_clear(&mut chain, &keys, 5, 1, &mut rng).expect("measures");
    eprintln!(
        "gas clear (K = 8, {} included bids): {}; submitBid {}..{}; closeRound {}",
        g.bids, g.clear, g.submit_bid.0, g.submit_bid.1, g.close_round
    );
    assert_eq!(g.bids, 5, "{g:?}");
    assert!(g.clear > 0 && g.clear < 1_000_000, "{g:?}");
    // The same five bids in one `submitBids`: the round clears the same, each bid
    // costs less than alone.
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(1_767_225_600);
    let b = measure_clear(&mut chain, &keys, 5, 5, &mut rng).expect("measures");
    eprintln!("gas per bid in a batch of 5: {}", b.submit_bid.0);
    assert_eq!((b.bids, b.batch), (5, 5), "{b:?}");
    assert!(b.submit_bid.1 < g.submit_bid.0, "{b:?} against {g:?}");
}
