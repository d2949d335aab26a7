//! [`EvmChainView`] over the embedded EVM: a market deployed with the real bid
//! verifier, bids posted with real proofs; the view reads them back from the contract's
//! events as the committee consumes them (ids, ciphertexts, digests that check), picks
//! up a bid posted after its first read, and knows nothing of a round it did not see
//! open.
//!
//! The keys are the testkit's contract keys, from the same cache as the verifier-contract
//! tests (`<target>/tmp/sealgrid-contract-keys`), so a second run, or a run after those
//! tests, does no setup.

use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::BalanceOpening;
use sealgrid_circuits::commitment::account_id;
use sealgrid_circuits::market::Side;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::check_posted;
use sealgrid_testkit::bids;
use sealgrid_testkit::keys::TestKeys;
use sealgrid_testkit::market::prove_bid;
use sealgrid_trustee::chain::{ChainView, EvmChainView, SharedChain};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::{calldata, Chain, EmbeddedChain};

const OPERATOR: Address = Address::repeat_byte(0x0a);
const ROUND: u64 = 7;
const T0: u64 = 1_767_225_600;

fn transact<C: SolCall>(chain: &SharedChain, from: Address, to: Address, call: &C) {
    chain
        .lock()
        .expect("lock")
        .transact(from, to, call.abi_encode().into())
        .unwrap_or_else(|e| panic!("{} failed: {e}", C::SIGNATURE));
}

#[test]
fn the_view_reads_the_posted_bids_from_the_market_events() {
    let keys = TestKeys::contract(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let params = &keys.params;
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(T0);
    let verifier = chain
        .deploy(OPERATOR, calldata::verifier_init_code(&keys.bid.vk))
        .expect("verifier deploys")
        .contract_address
        .expect("created");
    let init = calldata::init_code(
        &Market::BYTECODE,
        &Market::constructorCall {
            token_: Address::repeat_byte(0x70),
            // only bids are posted here: the bid verifier stands in for the others
            balanceVerifier_: verifier,
            bidVerifier_: verifier,
            settleVerifier_: verifier,
            params_: Market::Params {
                levels: params.levels as u32,
                kAnonymity: params.k_anonymity as u32,
                maxUnsettled: 1,
                maxDefaults: 1,
            },
        },
    );
    let deployed = chain.deploy(OPERATOR, init).expect("market deploys");
    let market = deployed.contract_address.expect("created");
    let from_block = chain.block_number().expect("head");
    let chain: SharedChain = Arc::new(Mutex::new(Box::new(chain)));

    // Three prosumers registered with a funded free balance (the operator sets the
    // commitment: no deposit proof needed here).
    let openings: Vec<BalanceOpening> = (0..3u64)
        .map(|i| BalanceOpening {
            sk_acct: Fr::from(2000 + i),
            balance: 1_000_000,
            salt: Fr::from(7 + i),
        })
        .collect();
    for o in &openings {
        transact(
            &chain,
            OPERATOR,
            market,
            &Market::registerCall {
                acct: calldata::fr(&account_id(o.sk_acct)),
                meterId: U256::from(1u8),
                free: calldata::fr(&o.commitment()),
            },
        );
    }
    for call in [
        Market::openRoundCall {
            round: ROUND,
            bidDeadline: T0 + 1000,
            settleStart: T0 + 2000,
            settleDeadline: T0 + 3000,
        }
        .abi_encode(),
        Market::startBiddingCall { round: ROUND }.abi_encode(),
    ] {
        chain
            .lock()
            .expect("lock")
            .transact(OPERATOR, market, call.into())
            .expect("round opens");
    }

    let view = EvmChainView::new(chain.clone(), market, from_block);
    assert_eq!(view.accepted_bids(ROUND).expect("reads"), Some(vec![]));
    assert_eq!(view.accepted_bids(ROUND + 1).expect("reads"), None);

    let mut posted = Vec::new();
    for (i, (o, quote)) in openings
        .iter()
        .zip([(Side::Buy, 5, 10), (Side::Sell, 2, 7), (Side::Buy, 3, 4)])
        .enumerate()
    {
        let (b, call) = prove_bid(&keys, ROUND, o, quote, &mut rng);
        transact(&chain, Address::repeat_byte(0x10 + i as u8), market, &call);
        posted.push(bids::posted(&b));
        if i == 1 {
            // a read in the middle of bidding; the next read picks up the later bid
            assert_eq!(
                view.accepted_bids(ROUND).expect("reads"),
                Some(posted.clone())
            );
        }
    }
    let bids = view
        .accepted_bids(ROUND)
        .expect("reads")
        .expect("round known");
    assert_eq!(bids, posted);
    for b in &bids {
        assert_eq!(check_posted(b, 2 * params.levels + 1), Ok(()));
    }
    assert_eq!(view.settlements(ROUND).expect("reads"), vec![]);

    // a view that starts after the round opened knows nothing of it (rather than
    // giving a short list of bids)
    let head = chain.lock().expect("lock").block_number().expect("head");
    let late = EvmChainView::new(chain.clone(), market, head);
    assert_eq!(late.accepted_bids(ROUND).expect("reads"), None);
}
