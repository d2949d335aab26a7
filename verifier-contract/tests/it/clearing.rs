//! The Solidity clearing (`MarketClearing`) computes exactly
//! `sealgrid_circuits::market::clear` and `Clearing::pack`, tie-break, rationing,
//! k-anonymity floor and refusals included, on random histograms.

use alloy_primitives::{Address, U256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::clearing::ClearingError;
use sealgrid_circuits::market::{clear, Clearing};
use sealgrid_verifier_contract::bindings::ClearingHarness;
use sealgrid_verifier_contract::{calldata, Chain, ChainError, EmbeddedChain};

use crate::common::OPERATOR;

fn harness() -> (EmbeddedChain, Address) {
    let mut chain = EmbeddedChain::in_memory();
    let r = chain
        .deploy(OPERATOR, ClearingHarness::BYTECODE.clone())
        .expect("deploys");
    (chain, r.contract_address.expect("created"))
}

fn sol_clear(
    chain: &mut EmbeddedChain,
    at: Address,
    h_buy: &[u64],
    h_sell: &[u64],
    bids: usize,
    k_anonymity: usize,
) -> Result<ClearingHarness::clearReturn, ChainError> {
    chain.sol_call(
        OPERATOR,
        at,
        &ClearingHarness::clearCall {
            hBuy: h_buy.to_vec(),
            hSell: h_sell.to_vec(),
            bids: U256::from(bids),
            kAnonymity: U256::from(k_anonymity),
        },
    )
}

fn assert_same(
    rust: Result<Clearing, ClearingError>,
    sol: Result<ClearingHarness::clearReturn, ChainError>,
    case: &str,
) {
    match (rust, sol) {
        (Ok(c), Ok(s)) => {
            let r = &s.result;
            assert_eq!(r.cleared, c.cleared, "{case}");
            assert_eq!(r.level, U256::from(c.level), "{case}");
            assert_eq!(r.volume, U256::from(c.volume), "{case}");
            assert_eq!(r.numBuy, U256::from(c.buy.num), "{case}");
            assert_eq!(r.denBuy, U256::from(c.buy.den), "{case}");
            assert_eq!(r.numSell, U256::from(c.sell.num), "{case}");
            assert_eq!(r.denSell, U256::from(c.sell.den), "{case}");
            assert_eq!(s.packed, calldata::fr(&c.pack()), "{case}");
        }
        (Err(ClearingError::Shape { buy, sell }), Err(e)) => {
            match e.decode::<ClearingHarness::ClearingHarnessErrors>() {
                Some(ClearingHarness::ClearingHarnessErrors::HistogramShape(x)) => {
                    assert_eq!(
                        (x.buy, x.sell),
                        (U256::from(buy), U256::from(sell)),
                        "{case}"
                    )
                }
                other => panic!("{case}: expected HistogramShape, got {other:?} ({e})"),
            }
        }
        (Err(ClearingError::Total(total)), Err(e)) => {
            match e.decode::<ClearingHarness::ClearingHarnessErrors>() {
                Some(ClearingHarness::ClearingHarnessErrors::HistogramTotal(x)) => {
                    assert_eq!(x.total, U256::from(total), "{case}")
                }
                other => panic!("{case}: expected HistogramTotal, got {other:?} ({e})"),
            }
        }
        (rust, sol) => panic!("{case}: Rust {rust:?} but Solidity {sol:?}"),
    }
}

#[test]
fn solidity_clearing_equals_rust_on_random_histograms() {
    let (mut chain, at) = harness();
    let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
    for i in 0..400 {
        let k = rng.gen_range(2..=16);
        // Sparse, small, tie-prone histograms most of the time; large ones sometimes.
        let scale = match i % 4 {
            0 => 3,
            1 => 20,
            2 => 100_000,
            _ => 1 << 38,
        };
        let mut h = || -> Vec<u64> {
            (0..k)
                .map(|_| {
                    if rng.gen_bool(0.4) {
                        0
                    } else {
                        rng.gen_range(0..scale)
                    }
                })
                .collect()
        };
        let (h_buy, h_sell) = (h(), h());
        let bids = rng.gen_range(0..12);
        let k_anon = rng.gen_range(0..8);
        let case = format!("#{i}: buy {h_buy:?} sell {h_sell:?} bids {bids} floor {k_anon}");
        assert_same(
            clear(&h_buy, &h_sell, bids, k_anon),
            sol_clear(&mut chain, at, &h_buy, &h_sell, bids, k_anon),
            &case,
        );
    }
}

#[test]
fn solidity_clearing_equals_rust_on_the_documented_edge_cases() {
    let (mut chain, at) = harness();
    let cases: [(&[u64], &[u64], usize, usize); 8] = [
        // simple crossing, buyers rationed
        (&[0, 0, 0, 0, 0, 10, 0, 0], &[0, 0, 6, 0, 0, 0, 0, 0], 5, 5),
        // ties where the lowest maximiser is wrong
        (&[0, 0, 0, 8], &[0, 5, 0, 0], 5, 1),
        // no crossing
        (&[4, 0, 7, 0, 0, 0, 0, 0], &[0, 0, 0, 0, 0, 3, 0, 9], 9, 5),
        // one side empty
        (&[0, 0, 0, 5, 0, 2, 0, 0], &[0; 8], 6, 5),
        // rounding dust
        (&[0, 0, 0, 0, 3], &[2, 0, 0, 0, 0], 5, 5),
        // under the anonymity floor
        (&[0, 5], &[5, 0], 4, 5),
        // shape and total refusals
        (&[1, 2], &[1], 5, 5),
        (&[1 << 40, 0], &[0, 0], 5, 5),
    ];
    for (i, (b, s, n, k)) in cases.iter().enumerate() {
        assert_same(
            clear(b, s, *n, *k),
            sol_clear(&mut chain, at, b, s, *n, *k),
            &format!("edge case #{i}"),
        );
    }
}

/// "Not cleared" (`Clearing::NOT_CLEARED`) packs as `MarketClearing.packedNotCleared`,
/// the clearing `Market.settle` expects of a bid left out of the bitmap, whatever the
/// floor. Both ways at the edge `k_anonymity = 0`: there the clearing of empty
/// histograms clears, in Rust and in Solidity alike, and so is not "not cleared" (the
/// coordinator once derived "not cleared" that way); under a floor of 1 or more it is.
#[test]
fn not_cleared_is_the_contracts_at_every_floor() {
    let (mut chain, at) = harness();
    let sol = chain
        .sol_call(OPERATOR, at, &ClearingHarness::packedNotClearedCall {})
        .expect("packedNotCleared");
    assert_eq!(calldata::fr(&Clearing::NOT_CLEARED.pack()), sol);
    for k_anon in 0..4 {
        let zeros = [0u64; 8];
        let rust = clear(&zeros, &zeros, 0, k_anon).expect("clears");
        let s = sol_clear(&mut chain, at, &zeros, &zeros, 0, k_anon).expect("clears");
        assert_same(Ok(rust), Ok(s.clone()), &format!("empty, floor {k_anon}"));
        let not_cleared = rust == Clearing::NOT_CLEARED;
        assert_eq!(not_cleared, k_anon > 0, "floor {k_anon}");
        assert_eq!(s.packed == sol, k_anon > 0, "floor {k_anon}");
    }
}
