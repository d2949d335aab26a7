//! `sealgrid_committee::InclusionBitmap` is what the contract's `Inclusion` library
//! records (`Market.clear`) and reads (`Market.settle`): the same bits, the same count,
//! the same refusals, on random and edge-case bitmaps.

use alloy_primitives::{Address, U256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_committee::InclusionBitmap;
use sealgrid_verifier_contract::bindings::ClearingHarness;
use sealgrid_verifier_contract::committee::{bitmap_from_words, bitmap_words};
use sealgrid_verifier_contract::{Chain, EmbeddedChain};

use crate::common::OPERATOR;

fn harness() -> (EmbeddedChain, Address) {
    let mut chain = EmbeddedChain::in_memory();
    let r = chain
        .deploy(OPERATOR, ClearingHarness::BYTECODE.clone())
        .expect("deploys");
    (chain, r.contract_address.expect("created"))
}

/// The contract's reading of `words` over `posted` bids, at every index of the words
/// and two past them; against the Rust type's.
fn assert_same(chain: &mut EmbeddedChain, at: Address, posted: usize, words: &[U256], case: &str) {
    let bitmap = bitmap_from_words(words);
    let indices: Vec<u32> = (0..(256 * words.len() + 2) as u32).collect();
    let sol = chain
        .sol_call(
            OPERATOR,
            at,
            &ClearingHarness::inclusionCall {
                n: U256::from(posted),
                included: words.to_vec(),
                indices: indices.clone(),
            },
        )
        .expect("no revert");
    assert_eq!(sol.ok, bitmap.fits(posted), "{case}");
    if sol.ok {
        assert_eq!(sol.count, U256::from(bitmap.count()), "{case}");
        let rust: Vec<bool> = indices.iter().map(|&i| bitmap.contains(i)).collect();
        assert_eq!(sol.hits, rust, "{case}");
    }
}

#[test]
fn the_contract_reads_the_bitmap_the_committee_builds() {
    let (mut chain, at) = harness();
    let mut rng = ChaCha20Rng::seed_from_u64(0x1c);
    for i in 0..60 {
        let posted = match i % 4 {
            0 => rng.gen_range(0..4),
            1 => rng.gen_range(250..260),
            2 => 256 * rng.gen_range(1..3),
            _ => rng.gen_range(1..700),
        };
        let p = rng.gen_range(0.0..=1.0);
        let indices: Vec<u32> = (0..posted as u32).filter(|_| rng.gen_bool(p)).collect();
        let bitmap = InclusionBitmap::from_indices(posted, indices.iter().copied());
        assert_eq!(bitmap.count(), indices.len());
        assert_same(
            &mut chain,
            at,
            posted,
            &bitmap_words(&bitmap),
            &format!("#{i}: {posted} posted, {} included", indices.len()),
        );
    }
}

#[test]
fn the_contract_refuses_the_bitmaps_that_do_not_fit() {
    let (mut chain, at) = harness();
    let one = U256::from(1u8);
    let cases: [(usize, Vec<U256>); 6] = [
        // a bit at index n
        (10, vec![one << 10]),
        // the top bit of a full word is fine, of a short one not
        (256, vec![one << 255]),
        (255, vec![one << 255]),
        // too many words, too few
        (10, vec![one, U256::ZERO]),
        (257, vec![U256::MAX]),
        // no bids, no words
        (0, vec![]),
    ];
    for (i, (posted, words)) in cases.iter().enumerate() {
        assert_same(&mut chain, at, *posted, words, &format!("case #{i}"));
    }
    assert!(bitmap_from_words(&[one << 255]).fits(256));
    assert!(!bitmap_from_words(&[one << 255]).fits(255));
}
