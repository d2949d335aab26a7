//! [`EvmChainView`] over the embedded EVM: a market deployed with the real bid
//! verifier, bids posted with real proofs; the view reads them back from the contract's
//! events as the committee consumes them (ids, ciphertexts, digests that check), picks
//! up a bid posted after its first read, and knows nothing of a round it did not see
//! open. A view with a confirmation depth reads a bid only once that many blocks hold
//! it.
//!
//! The keys are the testkit's contract keys, from the same cache as the verifier-contract
//! tests (`<target>/tmp/sealgrid-contract-keys`), so a second run, or a run after those
//! tests, does no setup.

use std::sync::{Arc, Mutex};

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::BalanceOpening;
use sealgrid_circuits::market::Side;
use sealgrid_committee::aggregate::check_posted;
use sealgrid_testkit::bids;
use sealgrid_testkit::keys::TestKeys;
use sealgrid_testkit::market::{prove_bid, prove_deposit, register, Contracts, Prosumer};
use sealgrid_trustee::chain::{ChainView, EvmChainView, SharedChain};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec};
use sealgrid_verifier_contract::EmbeddedChain;

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
    // A market as the operator deploys it (the three verifiers, the on-chain Poseidon,
    // a test token, a one-trustee committee).
    let deployment = deploy_market(
        &mut chain,
        OPERATOR,
        &DeploySpec {
            params,
            balance_vk: &keys.balance.vk,
            bid_vk: &keys.bid.vk,
            settle_vk: &keys.settle.vk,
            trustees: &[Address::repeat_byte(0x77)],
            threshold: 1,
            max_unsettled: 1,
            max_defaults: 1,
            token: None,
            committee_delay: 0,
            evm: sealgrid_verifier_contract::artifacts::EvmTarget::Shanghai,
        },
    )
    .expect("market deploys");
    let (market, from_block) = (deployment.market, deployment.deployment_block);
    let contracts = Contracts::from(&deployment);

    // Three prosumers, registered (empty balance, the contract's H(0, 0, acct)) and
    // funded by a deposit proof each.
    let mut openings: Vec<BalanceOpening> = Vec::new();
    for i in 0..3u8 {
        let p = Prosumer::join(&mut chain, i);
        register(&mut chain, &contracts, &p, 1_000_000);
        let step = prove_deposit(&keys, &p.opening, 1_000_000, &mut rng);
        sealgrid_testkit::market::transact(&mut chain, p.evm, market, &step.deposit());
        openings.push(step.next);
    }
    let chain: SharedChain = Arc::new(Mutex::new(Box::new(chain)));
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
    let deep = EvmChainView::new(chain.clone(), market, from_block).with_confirmations(3);
    assert_eq!(view.accepted_bids(ROUND).expect("reads"), Some(vec![]));
    // the round's opening is in the last two blocks: not deep enough yet
    assert_eq!(deep.accepted_bids(ROUND).expect("reads"), None);
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

    // the bids are in the last three blocks (one each): three confirmations hold only
    // the first; two blocks later (two more rounds opened), all three
    assert_eq!(
        deep.accepted_bids(ROUND).expect("reads"),
        Some(posted[..1].to_vec())
    );
    for round in [ROUND + 1, ROUND + 2] {
        transact(
            &chain,
            OPERATOR,
            market,
            &Market::openRoundCall {
                round,
                bidDeadline: T0 + 1000,
                settleStart: T0 + 2000,
                settleDeadline: T0 + 3000,
            },
        );
    }
    assert_eq!(
        deep.accepted_bids(ROUND).expect("reads"),
        Some(posted.clone())
    );

    // a view that starts after the round opened knows nothing of it (rather than
    // giving a short list of bids)
    let head = chain.lock().expect("lock").block_number().expect("head");
    let late = EvmChainView::new(chain.clone(), market, head);
    assert_eq!(late.accepted_bids(ROUND).expect("reads"), None);
}
