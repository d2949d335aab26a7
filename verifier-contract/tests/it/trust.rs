//! Issue #13's attacks on the clearing, the committee and the registry, against the
//! contract on the embedded EVM with real proofs (PROTOCOL §5, §7, §8):
//!
//! - the on-chain Poseidon is circomlib's (the circuits' Poseidon) and `register` computes
//!   `H(0, 0, acct)` itself: no account starts with a balance nobody deposited; a meter
//!   backs one account;
//! - one bid per account per round, so the k-anonymity floor counts accounts (two
//!   attacker accounts with two bids each plus one victim do not clear a k = 5 round);
//! - the clear digest binds the round's bid count: signatures fetched over a view of 5 of
//!   6 bids, or the empty under-floor statement signed early, are refused once the round
//!   holds more bids;
//! - committee changes wait `committeeDelay` and a round signs with the committee it was
//!   opened under: an operator that proposes itself as a 1-of-1 committee can neither
//!   clear nor finalize a round in flight, nor a new one before the delay;
//! - `setParams` mid-round does not change the round (its levels and floor are pinned).

use alloy_primitives::{Address, U256};
use ark_ff::UniformRand;
use k256::ecdsa::SigningKey;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::BalanceOpening;
use sealgrid_circuits::commitment::balance_commitment;
use sealgrid_circuits::market::Side;
use sealgrid_circuits::poseidon::hash_fixed;
use sealgrid_circuits::Fr;
use sealgrid_committee::sign::{
    clearing_digest, Address as CAddress, ClearingStatement, SigningDomain,
};
use sealgrid_committee::InclusionBitmap;
use sealgrid_verifier_contract::bindings::Market::{self, MarketErrors as ME};
use sealgrid_verifier_contract::bindings::{poseidon3_init_code, Poseidon3, TestToken};
use sealgrid_verifier_contract::committee::{address_of, bitmap_words, sign_sorted};
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec, MarketDeployment};
use sealgrid_verifier_contract::{calldata, Chain, ChainError, DevChain, EmbeddedChain};

use sealgrid_testkit::market::{prove_bid, prove_deposit, register, transact, Contracts, Prosumer};

use crate::common::fixture;

const T0: u64 = 1_767_225_600;
const W: u64 = 1000;

fn trustees() -> Vec<SigningKey> {
    (1..=3u8)
        .map(|i| SigningKey::from_slice(&[i; 32]).expect("key"))
        .collect()
}

fn deploy(chain: &mut EmbeddedChain, delay: u64) -> (MarketDeployment, Address) {
    let operator = chain.add_account([0x0a; 32]).expect("operator");
    let f = fixture();
    let members: Vec<Address> = trustees().iter().map(address_of).collect();
    let d = deploy_market(
        chain,
        operator,
        &DeploySpec {
            params: &f.params,
            balance_vk: &f.balance.vk,
            bid_vk: &f.bid.vk,
            settle_vk: &f.settle.vk,
            trustees: &members,
            threshold: 2,
            max_unsettled: 4,
            max_defaults: 1,
            token: None,
            committee_delay: delay,
            evm: sealgrid_verifier_contract::artifacts::EvmTarget::Shanghai,
        },
    )
    .expect("deploys");
    (d, operator)
}

fn refused<C: alloy_sol_types::SolCall>(
    chain: &mut EmbeddedChain,
    from: Address,
    to: Address,
    call: &C,
) -> ME {
    match chain.sol_transact(from, to, call) {
        Ok(_) => panic!("{} succeeded but must be refused", C::SIGNATURE),
        Err(e) => e
            .decode::<ME>()
            .unwrap_or_else(|| panic!("{}: not a Market error: {e}", C::SIGNATURE)),
    }
}

fn open(chain: &mut EmbeddedChain, d: &MarketDeployment, round: u64, t: u64) {
    transact(
        chain,
        d.operator,
        d.market,
        &Market::openRoundCall {
            round,
            bidDeadline: t + W,
            settleStart: t + 2 * W,
            settleDeadline: t + 3 * W,
        },
    );
    transact(
        chain,
        d.operator,
        d.market,
        &Market::startBiddingCall { round },
    );
}

fn domain(d: &MarketDeployment) -> SigningDomain {
    SigningDomain {
        chain_id: d.chain_id,
        contract: CAddress(d.market.0 .0),
    }
}

/// The `clear` call of `st` signed by `keys` (the committee crate's digest).
fn clear_call(
    d: &MarketDeployment,
    st: &ClearingStatement,
    keys: &[&SigningKey],
) -> Market::clearCall {
    let digest = clearing_digest(&domain(d), st);
    Market::clearCall {
        round: st.round,
        hBuy: st.h_buy.clone(),
        hSell: st.h_sell.clone(),
        included: bitmap_words(&st.included),
        sigs: sign_sorted(keys, digest.into()),
    }
}

fn statement(round: u64, bids: u32, h_buy: Vec<u64>, h_sell: Vec<u64>) -> ClearingStatement {
    ClearingStatement {
        round,
        bids,
        h_buy,
        h_sell,
        included: InclusionBitmap::from_indices(bids as usize, 0..bids),
    }
}

fn round_state(chain: &mut EmbeddedChain, d: &MarketDeployment, round: u64) -> Market::Round {
    chain
        .sol_call(d.operator, d.market, &Market::roundsCall { round: round })
        .expect("rounds")
}

#[test]
fn the_on_chain_poseidon_is_the_circuits_poseidon() {
    let mut chain = EmbeddedChain::in_memory();
    let from = chain.add_account([0x0c; 32]).expect("account");
    let at = chain
        .deploy(from, poseidon3_init_code())
        .expect("deploys")
        .contract_address
        .expect("created");
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let mut cases: Vec<[Fr; 3]> = (0..24)
        .map(|_| [Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng)])
        .collect();
    cases.push([Fr::from(0u64); 3]);
    cases.push([Fr::from(0u64), Fr::from(0u64), Fr::from(1u64)]);
    cases.push([-Fr::from(1u64); 3]);
    for x in cases {
        let on_chain = chain
            .sol_call(
                from,
                at,
                &Poseidon3::poseidonCall {
                    input: x.map(|v| calldata::fr(&v)),
                },
            )
            .expect("poseidon");
        assert_eq!(on_chain, calldata::fr(&hash_fixed(x)), "{x:?}");
    }
}

#[test]
fn register_computes_the_empty_balance_and_a_meter_backs_one_account() {
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(T0);
    let (d, operator) = deploy(&mut chain, 0);
    let c = Contracts::from(&d);
    let p = Prosumer::join(&mut chain, 0);
    let r = register(&mut chain, &c, &p, 0);
    eprintln!("gas register: {}", r.gas_used);
    let on_chain = chain
        .sol_call(
            operator,
            d.market,
            &Market::prosumersCall(calldata::fr(&p.acct())),
        )
        .expect("prosumers");
    let empty = balance_commitment(Fr::from(0u64), Fr::from(0u64), p.acct());
    assert_eq!(on_chain.free, calldata::fr(&empty));
    // the operator can no longer give an account a balance (the 2^64 - 1 of issue #13
    // item 3): the commitment is the contract's, and the first deposit proof must open it
    let rich = BalanceOpening {
        sk_acct: p.opening.sk_acct,
        balance: u64::MAX,
        salt: Fr::from(0u64),
    };
    assert_ne!(on_chain.free, calldata::fr(&rich.commitment()));
    // a second account on the same meter
    let mut sybil = Prosumer::join(&mut chain, 1);
    sybil.meter = p.meter.clone();
    let e = refused(&mut chain, operator, d.market, &sybil.registration());
    assert!(matches!(e, ME::MeterTaken(_)), "{e:?}");
    assert!(chain
        .sol_call(
            operator,
            d.market,
            &Market::meterTakenCall(p.registration().meterId)
        )
        .expect("meterTaken"));
}

/// A prosumer of these tests with a deposit made and its current balance's opening.
fn funded(chain: &mut EmbeddedChain, c: &Contracts, i: u8, rng: &mut ChaCha20Rng) -> Prosumer {
    let mut p = Prosumer::join(chain, i);
    register(chain, c, &p, 1_000_000);
    let step = prove_deposit(fixture(), &p.opening, 1_000_000, rng);
    transact(chain, p.evm, c.market, &step.deposit());
    p.opening = step.next;
    p
}

/// Proves and posts a bid of `p` in `round`, chaining its balance; the gas used.
fn bid(
    chain: &mut EmbeddedChain,
    c: &Contracts,
    p: &mut Prosumer,
    round: u64,
    quote: (Side, usize, u64),
    rng: &mut ChaCha20Rng,
) -> Result<u64, ChainError> {
    let (b, call) = prove_bid(fixture(), round, &p.opening, quote, rng);
    let r = chain.sol_transact(p.evm, c.market, &call)?;
    p.opening = BalanceOpening {
        sk_acct: p.opening.sk_acct,
        balance: p.opening.balance - b.private.lock,
        salt: b.private.salt_new,
    };
    Ok(r.gas_used)
}

#[test]
fn early_signatures_and_second_bids_do_not_choose_the_clearing_set() {
    let f = fixture();
    let k = f.params.levels;
    assert_eq!(f.params.k_anonymity, 5);
    let mut rng = ChaCha20Rng::seed_from_u64(1313);
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(T0);
    let (d, _) = deploy(&mut chain, 0);
    let c = Contracts::from(&d);
    let keys = trustees();
    let (t1, t2) = (&keys[0], &keys[1]);
    let mut ps: Vec<Prosumer> = (0..6u8)
        .map(|i| funded(&mut chain, &c, i, &mut rng))
        .collect();

    // Round 1: six accounts, one bid each; signatures fetched early.
    const R1: u64 = 1;
    open(&mut chain, &d, R1, T0);
    let quotes = [
        (Side::Buy, 5, 10),
        (Side::Sell, 2, 7),
        (Side::Buy, 4, 3),
        (Side::Sell, 3, 5),
        (Side::Buy, 6, 2),
        (Side::Sell, 1, 4),
    ];
    let (mut h_buy, mut h_sell) = (vec![0u64; k], vec![0u64; k]);
    let mut early_empty = None;
    let mut early_five = None;
    let mut submit_gas = Vec::new();
    for (i, &(side, level, q)) in quotes.iter().enumerate() {
        submit_gas
            .push(bid(&mut chain, &c, &mut ps[i], R1, (side, level, q), &mut rng).expect("bid"));
        match side {
            Side::Buy => h_buy[level] += q,
            Side::Sell => h_sell[level] += q,
        }
        if i == 0 {
            // a second bid of the same account in the same round (a valid proof chained
            // from its balance after the first)
            let e = bid(
                &mut chain,
                &c,
                &mut ps[0].clone(),
                R1,
                (Side::Sell, 2, 1),
                &mut rng,
            )
            .expect_err("a second bid of the account");
            assert!(
                matches!(e.decode::<ME>(), Some(ME::AccountAlreadyBid(_))),
                "{e}"
            );
        }
        if i == 3 {
            // the under-floor statement over the 4 bids so far: empty histograms
            early_empty = Some(statement(R1, 4, vec![0; k], vec![0; k]));
        }
        if i == 4 {
            // the real histograms of the first 5 bids (what a view of 5 bids gets)
            early_five = Some(statement(R1, 5, h_buy.clone(), h_sell.clone()));
        }
    }
    eprintln!("gas submitBid: {submit_gas:?}");
    chain.warp(T0 + W).expect("clock");
    transact(
        &mut chain,
        d.operator,
        d.market,
        &Market::closeRoundCall { round: R1 },
    );
    // posted after the sixth bid: refused (the contract signs its own count, 6)
    for early in [early_empty.expect("signed"), early_five.expect("signed")] {
        let e = refused(
            &mut chain,
            d.operator,
            d.market,
            &clear_call(&d, &early, &[t1, t2]),
        );
        assert!(matches!(e, ME::BadSignature(_)), "{e:?}");
    }
    // the statement over the round's own 6 bids clears it
    let full = statement(R1, 6, h_buy.clone(), h_sell.clone());
    let r = transact(
        &mut chain,
        d.operator,
        d.market,
        &clear_call(&d, &full, &[t1, t2]),
    );
    eprintln!("gas clear (6 bids): {}", r.gas_used);
    let on = round_state(&mut chain, &d, R1);
    assert_eq!(on.included, 6);
    assert_eq!(
        on.clearing.bit(0),
        true,
        "6 accounts reach the floor of 5: cleared"
    );

    // Round 2 (issue #13 item 6): two attacker accounts with two bids each and one victim
    // at k = 5. The second bids are refused, so the round holds 3 bids and does not clear.
    const R2: u64 = 2;
    let t = chain.now().expect("now");
    open(&mut chain, &d, R2, t);
    let mut posted = 0u32;
    for (who, quotes) in [
        (0usize, [(Side::Buy, 5, 1), (Side::Buy, 6, 1)]),
        (1, [(Side::Sell, 2, 1), (Side::Sell, 1, 1)]),
    ] {
        bid(&mut chain, &c, &mut ps[who], R2, quotes[0], &mut rng).expect("first bid");
        posted += 1;
        let e = bid(
            &mut chain,
            &c,
            &mut ps[who].clone(),
            R2,
            quotes[1],
            &mut rng,
        )
        .expect_err("second bid");
        assert!(
            matches!(e.decode::<ME>(), Some(ME::AccountAlreadyBid(_))),
            "{e}"
        );
    }
    bid(&mut chain, &c, &mut ps[2], R2, (Side::Buy, 4, 3), &mut rng).expect("victim's bid");
    posted += 1;
    assert_eq!(posted, 3);
    for (who, expect) in [(0usize, true), (2, true), (3, false)] {
        let has = chain
            .sol_call(
                d.operator,
                d.market,
                &Market::hasBidCall {
                    round: R2,
                    acct: calldata::fr(&ps[who].acct()),
                },
            )
            .expect("hasBid");
        assert_eq!(has, expect, "{who}");
    }
    chain.warp(t + W).expect("clock");
    transact(
        &mut chain,
        d.operator,
        d.market,
        &Market::closeRoundCall { round: R2 },
    );
    assert_eq!(round_state(&mut chain, &d, R2).bids, 3);
    let mut hb = vec![0u64; k];
    hb[5] = 1;
    hb[4] = 3;
    let mut hs = vec![0u64; k];
    hs[2] = 1;
    let st = statement(R2, 3, hb, hs);
    transact(
        &mut chain,
        d.operator,
        d.market,
        &clear_call(&d, &st, &[t1, t2]),
    );
    let on = round_state(&mut chain, &d, R2);
    assert_eq!(
        on.clearing,
        calldata::fr(&sealgrid_circuits::market::Clearing::NOT_CLEARED.pack()),
        "3 accounts are under the floor of 5: not cleared"
    );
}

#[test]
fn a_committee_change_waits_its_delay_and_never_signs_a_round_in_flight() {
    const DELAY: u64 = 24 * 3600;
    let f = fixture();
    let k = f.params.levels;
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(T0);
    let (d, operator) = deploy(&mut chain, DELAY);
    let keys = trustees();
    let (t1, t2) = (&keys[0], &keys[1]);
    // the market holds other people's money
    transact(
        &mut chain,
        operator,
        d.token,
        &TestToken::mintCall {
            to: d.market,
            value: U256::from(3_000_000u64),
        },
    );
    let balance = |chain: &mut EmbeddedChain, who: Address| -> U256 {
        chain
            .sol_call(operator, d.token, &TestToken::balanceOfCall(who))
            .expect("balanceOf")
    };

    // round 1 in flight under epoch 1
    open(&mut chain, &d, 1, T0);
    // the operator proposes itself as a 1-of-1 committee
    let own = SigningKey::from_slice(&[0x66; 32]).expect("key");
    let r = transact(
        &mut chain,
        operator,
        d.market,
        &Market::proposeCommitteeCall {
            members: vec![address_of(&own)],
            t: U256::from(1),
        },
    );
    let proposed = r
        .logs
        .iter()
        .find_map(|l| {
            <Market::CommitteeProposed as alloy_sol_types::SolEvent>::decode_log_data(&l.data).ok()
        })
        .expect("CommitteeProposed");
    assert_eq!((proposed.epoch, proposed.activatesAt), (2, T0 + DELAY));
    // not at once
    let e = refused(
        &mut chain,
        operator,
        d.market,
        &Market::activateCommitteeCall {},
    );
    assert!(matches!(e, ME::CommitteeNotYetActive(_)), "{e:?}");
    chain.warp(T0 + W).expect("clock");
    transact(
        &mut chain,
        operator,
        d.market,
        &Market::closeRoundCall { round: 1 },
    );
    let empty = statement(1, 0, vec![0; k], vec![0; k]);
    let e = refused(
        &mut chain,
        operator,
        d.market,
        &clear_call(&d, &empty, &[&own]),
    );
    assert!(
        matches!(e, ME::TooFewSignatures(_) | ME::BadSignature(_)),
        "{e:?}"
    );
    // a round opened now is still epoch 1's
    open(&mut chain, &d, 2, T0 + W);
    assert_eq!(round_state(&mut chain, &d, 2).epoch, 1);

    // after the delay the new committee is current, but round 1 and 2 keep the old one
    chain.warp(T0 + DELAY).expect("clock");
    transact(
        &mut chain,
        d.operator,
        d.market,
        &Market::activateCommitteeCall {},
    );
    assert_eq!(
        chain
            .sol_call(operator, d.market, &Market::committeeEpochCall {})
            .expect("epoch"),
        2
    );
    let e = refused(
        &mut chain,
        operator,
        d.market,
        &clear_call(&d, &empty, &[&own]),
    );
    assert!(
        matches!(e, ME::TooFewSignatures(_) | ME::BadSignature(_)),
        "{e:?}"
    );
    transact(
        &mut chain,
        operator,
        d.market,
        &clear_call(&d, &empty, &[t1, t2]),
    );
    // finalize round 1 (no bid, nothing locked) paying the market's balance to the
    // operator: the operator's own signature does not count for round 1
    chain.warp(T0 + DELAY + 4 * W).expect("clock");
    let before = balance(&mut chain, d.market);
    let totals = Market::FlowTotals {
        pay: before,
        credit: U256::ZERO,
        penalty: U256::ZERO,
        defaultedLocks: U256::ZERO,
    };
    let digest = chain
        .sol_call(
            operator,
            d.market,
            &Market::finalizeDigestCall {
                round: 1,
                totals: totals.clone(),
                defaulted: 0,
                voided: vec![],
            },
        )
        .expect("finalizeDigest");
    let e = refused(
        &mut chain,
        operator,
        d.market,
        &Market::finalizeCall {
            round: 1,
            totals,
            voided: vec![],
            voidedPayouts: vec![],
            voidedAccounts: vec![],
            sigs: sign_sorted(&[&own], digest),
        },
    );
    assert!(
        matches!(e, ME::TooFewSignatures(_) | ME::BadSignature(_)),
        "{e:?}"
    );
    assert_eq!(balance(&mut chain, d.market), before);
    // round 2, opened before the activation, still needs epoch 1
    assert_eq!(round_state(&mut chain, &d, 2).epoch, 1);
    // a round opened after the activation is the new committee's: 24 h of warning
    open(&mut chain, &d, 3, T0 + DELAY + 4 * W);
    assert_eq!(round_state(&mut chain, &d, 3).epoch, 2);
    let (members, t) = chain
        .sol_call(operator, d.market, &Market::committeeAtCall { epoch: 1 })
        .map(|r| (r._0, r._1))
        .expect("committeeAt");
    assert_eq!(members, keys.iter().map(address_of).collect::<Vec<_>>());
    assert_eq!(t, U256::from(2));
}

#[test]
fn set_params_mid_round_does_not_change_the_round() {
    let f = fixture();
    let k = f.params.levels;
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(T0);
    let (d, operator) = deploy(&mut chain, 0);
    let keys = trustees();
    open(&mut chain, &d, 1, T0);
    transact(
        &mut chain,
        operator,
        d.market,
        &Market::setParamsCall {
            p: Market::Params {
                levels: 4,
                kAnonymity: 2,
                maxUnsettled: 4,
                maxDefaults: 1,
            },
        },
    );
    let on = round_state(&mut chain, &d, 1);
    assert_eq!(
        (on.levels as usize, on.kAnonymity as usize),
        (k, f.params.k_anonymity)
    );
    chain.warp(T0 + W).expect("clock");
    transact(
        &mut chain,
        operator,
        d.market,
        &Market::closeRoundCall { round: 1 },
    );
    // the round's K histograms clear it (before the snapshot: HistogramShape for ever)
    let st = statement(1, 0, vec![0; k], vec![0; k]);
    transact(
        &mut chain,
        operator,
        d.market,
        &clear_call(&d, &st, &[&keys[0], &keys[1]]),
    );
    // a round opened after setParams takes the new levels
    open(&mut chain, &d, 2, T0 + W);
    assert_eq!(round_state(&mut chain, &d, 2).levels, 4);
}
