//! A whole round with real proofs, on any [`DevChain`] (the embedded EVM, a node over
//! JSON-RPC): register, deposit, bid, close, clear (trustee signatures), settle, finalize
//! (one defaulter), merge and withdraw; money conserved to the unit; each rejection with
//! its named error; and the market's events read back from the chain (`events`) match
//! what was posted: bids and settlements as the committee reads them, the clearing, the
//! default, the finalization.
//!
//! Times are relative to the chain's clock when the round starts, with windows long
//! enough (1,000 s) for a node whose clock runs while the proofs are made.

use std::ops::{Deref, DerefMut};

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolEvent};
use ark_ff::PrimeField;
use k256::ecdsa::SigningKey;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::{BalanceOpening, PayoutOpening};
use sealgrid_circuits::bid::BidOpening;
use sealgrid_circuits::commitment::account_id;
use sealgrid_circuits::market::clear;
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::sign::FinalizeTotals;
use sealgrid_committee::{BidId, InclusionBitmap};
use sealgrid_verifier_contract::artifacts::{Deployable, EvmTarget};
use sealgrid_verifier_contract::bindings::Groth16Verifier::Groth16VerifierErrors;
use sealgrid_verifier_contract::bindings::Market::{self, MarketErrors as ME};
use sealgrid_verifier_contract::bindings::{poseidon3_init_code, TestToken};
use sealgrid_verifier_contract::committee::{
    address_of, bitmap_words, clear_digest, finalize_digest, sign_sorted,
};
use sealgrid_verifier_contract::events::{
    market_events, posted_bids, posted_settlements, round_bids, EventError, MarketEvents,
};
use sealgrid_verifier_contract::{calldata, ChainError, DevChain, LogFilter, Receipt};

use sealgrid_testkit::bids::{histograms, posted, QUOTES};
use sealgrid_testkit::market::{
    self as kit, fund_operator, prove_balance, prove_bid, prove_deposit, prove_settlement,
    register, transact, Contracts,
};

use crate::common::{fixture, scalar_modulus, Circuit};

const ROUND: u64 = 7;
const OTHER_ROUND: u64 = 8;
/// The length of each phase window, in seconds.
pub(crate) const W: u64 = 1000;
pub(crate) const DEPOSIT: u64 = 1_000_000;

pub(crate) struct Env<C> {
    pub(crate) chain: C,
    pub(crate) chain_id: u64,
    pub(crate) operator: Address,
    pub(crate) token: Address,
    pub(crate) market: Address,
    pub(crate) trustees: Vec<SigningKey>,
    pub(crate) gas: Vec<(String, u64)>,
}

fn tx<H: DevChain, C: SolCall>(env: &mut Env<H>, from: Address, to: Address, call: &C) -> Receipt {
    transact(&mut env.chain, from, to, call)
}

pub(crate) fn market_tx<H: DevChain, C: SolCall>(
    env: &mut Env<H>,
    from: Address,
    call: &C,
    label: &str,
) -> Receipt {
    let market = env.market;
    let r = tx(env, from, market, call);
    env.gas.push((label.to_owned(), r.gas_used));
    r
}

pub(crate) fn market_err<H: DevChain, C: SolCall>(
    env: &mut Env<H>,
    from: Address,
    call: &C,
) -> ChainError {
    let market = env.market;
    match env.chain.sol_transact(from, market, call) {
        Ok(_) => panic!("{} succeeded but should have been refused", C::SIGNATURE),
        Err(e) => e,
    }
}

pub(crate) fn token_balance<H: DevChain>(env: &mut Env<H>, who: Address) -> u64 {
    let (token, operator) = (env.token, env.operator);
    let b = env
        .chain
        .sol_call(operator, token, &TestToken::balanceOfCall(who))
        .expect("balanceOf");
    u64::try_from(b).expect("small balance")
}

/// A prosumer of the kit (its account, free balance and meter) with its bid of the
/// round and, once settled, its payout.
pub(crate) struct Prosumer {
    pub(crate) who: kit::Prosumer,
    pub(crate) bid: Option<(BidOpening, U256)>,
    pub(crate) payout: Option<PayoutOpening>,
}

impl Deref for Prosumer {
    type Target = kit::Prosumer;
    fn deref(&self) -> &kit::Prosumer {
        &self.who
    }
}

impl DerefMut for Prosumer {
    fn deref_mut(&mut self) -> &mut kit::Prosumer {
        &mut self.who
    }
}

/// Enough native coin for every account's gas on a node (the embedded chain charges none).
const GAS_MONEY: u128 = 10u128.pow(18);

pub(crate) fn setup<C: DevChain>(chain: C) -> (Env<C>, Vec<Prosumer>) {
    setup_for(chain, EvmTarget::Shanghai)
}

/// [`setup`] with the contracts built for `evm`.
pub(crate) fn setup_for<C: DevChain>(mut chain: C, evm: EvmTarget) -> (Env<C>, Vec<Prosumer>) {
    let chain_id = chain.chain_id().expect("chain id");
    let operator = chain.add_account([0x0a; 32]).expect("operator key");
    chain
        .fund(operator, U256::from(10 * GAS_MONEY))
        .expect("operator funded");
    let verifier = |chain: &mut C, c: Circuit| {
        let vk = &fixture().pair(c.kind()).vk;
        chain
            .deploy(operator, calldata::verifier_init_code_for(vk, evm))
            .expect("verifier deploys")
            .contract_address
            .expect("created")
    };
    let balance_v = verifier(&mut chain, Circuit::Balance);
    let bid_v = verifier(&mut chain, Circuit::Bid);
    let settle_v = verifier(&mut chain, Circuit::Settle);
    let token = chain
        .deploy(operator, evm.bytecode(Deployable::TestToken))
        .expect("token")
        .contract_address
        .expect("created");
    let poseidon = chain
        .deploy(operator, poseidon3_init_code())
        .expect("poseidon")
        .contract_address
        .expect("created");
    let init = calldata::init_code(
        &evm.bytecode(Deployable::Market),
        &Market::constructorCall {
            token_: token,
            balanceVerifier_: balance_v,
            bidVerifier_: bid_v,
            settleVerifier_: settle_v,
            poseidon_: poseidon,
            committeeDelay_: 0,
            params_: Market::Params {
                levels: fixture().params.levels as u32,
                kAnonymity: fixture().params.k_anonymity as u32,
                maxUnsettled: 1,
                maxDefaults: 1,
            },
        },
    );
    let deployed = chain.deploy(operator, init).expect("market deploys");
    let market = deployed.contract_address.expect("created");
    let mut env = Env {
        chain,
        chain_id,
        operator,
        token,
        market,
        trustees: (1..=3u8)
            .map(|i| SigningKey::from_slice(&[i; 32]).expect("key"))
            .collect(),
        gas: vec![("deploy Market".into(), deployed.gas_used)],
    };
    let members: Vec<Address> = env.trustees.iter().map(address_of).collect();
    market_tx(
        &mut env,
        operator,
        &Market::proposeCommitteeCall {
            members,
            t: U256::from(2),
        },
        "proposeCommittee (first: current at once)",
    );
    // The operator funds negative residuals (dust bought by the grid).
    let contracts = Contracts {
        operator,
        token,
        market,
    };
    fund_operator(&mut env.chain, &contracts, DEPOSIT);

    let mut prosumers = Vec::new();
    for i in 0..6u8 {
        let who = kit::Prosumer::join(&mut env.chain, i);
        env.chain
            .fund(who.evm, U256::from(GAS_MONEY))
            .expect("prosumer funded");
        let r = register(&mut env.chain, &contracts, &who, DEPOSIT);
        env.gas.push(("register".into(), r.gas_used));
        prosumers.push(Prosumer {
            who,
            bid: None,
            payout: None,
        });
    }
    (env, prosumers)
}

/// Runs the whole round on `chain` and returns the gas of each kind of transaction
/// (label, least, most).
pub fn whole_round<C: DevChain>(chain: C) -> Vec<(String, u64, u64)> {
    whole_round_for(chain, EvmTarget::Shanghai)
}

/// [`whole_round`] with the contracts built for `evm`.
pub fn whole_round_for<C: DevChain>(chain: C, evm: EvmTarget) -> Vec<(String, u64, u64)> {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let (mut env, mut ps) = setup_for(chain, evm);
    let market_addr = env.market;
    let chain_id = env.chain_id;
    #[allow(non_snake_case)]
    let OPERATOR = env.operator;

    // --- deposits -----------------------------------------------------------------
    for p in ps.iter_mut() {
        let step = prove_deposit(f, &p.opening, DEPOSIT, &mut rng);
        let call = step.deposit();
        market_tx(&mut env, p.evm, &call, "deposit");
        // replaying the deposit: its F_old is no longer current
        assert!(matches!(
            market_err(&mut env, p.evm, &call).decode::<ME>(),
            Some(ME::StaleBalance(_))
        ));
        p.opening = step.next;
    }
    assert_eq!(token_balance(&mut env, market_addr), 6 * DEPOSIT);

    // --- rounds open ----------------------------------------------------------------
    #[allow(non_snake_case)]
    let T0 = env.chain.now().expect("clock");
    for r in [ROUND, OTHER_ROUND] {
        market_tx(
            &mut env,
            OPERATOR,
            &Market::openRoundCall {
                round: r,
                bidDeadline: T0 + W,
                settleStart: T0 + 2 * W,
                settleDeadline: T0 + 3 * W,
            },
            "openRound",
        );
    }
    // bidding before the phase: refused
    let bids = QUOTES;
    let mut submits = Vec::new();
    let mut expected_bids = Vec::new();
    for (p, &quote) in ps.iter().zip(bids.iter()) {
        let (b, call) = prove_bid(f, ROUND, &p.opening, quote, &mut rng);
        expected_bids.push(posted(&b));
        submits.push((
            call,
            b.private.opening(),
            b.public.f_new,
            b.private.salt_new,
            b.private.lock,
        ));
    }
    let e = market_err(&mut env, ps[0].evm, &submits[0].0);
    assert!(matches!(e.decode::<ME>(), Some(ME::WrongPhase(_))), "{e}");
    for r in [ROUND, OTHER_ROUND] {
        market_tx(
            &mut env,
            OPERATOR,
            &Market::startBiddingCall { round: r },
            "startBidding",
        );
    }

    // --- refusals at bid time ---------------------------------------------------------
    // an unregistered account
    let mut c = submits[0].0.clone();
    c.inp.acct = calldata::fr(&account_id(Fr::from(999u64)));
    assert!(matches!(
        market_err(&mut env, ps[0].evm, &c).decode::<ME>(),
        Some(ME::NotRegistered(_))
    ));
    // a suspended account
    let acct0 = calldata::fr(&ps[0].acct());
    market_tx(
        &mut env,
        OPERATOR,
        &Market::setSuspendedCall {
            acct: acct0,
            suspended: true,
        },
        "setSuspended",
    );
    assert!(matches!(
        market_err(&mut env, ps[0].evm, &submits[0].0).decode::<ME>(),
        Some(ME::AccountSuspended(_))
    ));
    market_tx(
        &mut env,
        OPERATOR,
        &Market::setSuspendedCall {
            acct: acct0,
            suspended: false,
        },
        "setSuspended",
    );
    // the proof of round 7 posted as a bid of round 8
    let mut c = submits[1].0.clone();
    c.inp.round = U256::from(OTHER_ROUND);
    assert!(matches!(
        market_err(&mut env, ps[1].evm, &c).decode::<ME>(),
        Some(ME::InvalidProof(_))
    ));
    // a tampered proof
    let mut c = submits[1].0.clone();
    c.proof.swap(0, 6);
    c.proof.swap(1, 7);
    assert!(matches!(
        market_err(&mut env, ps[1].evm, &c).decode::<ME>(),
        Some(ME::InvalidProof(_))
    ));
    // an input >= r, the verifier's error bubbles up
    let mut c = submits[1].0.clone();
    c.inp.digest += scalar_modulus();
    assert!(matches!(
        market_err(&mut env, ps[1].evm, &c).decode::<Groth16VerifierErrors>(),
        Some(Groth16VerifierErrors::InputNotInField(_))
    ));

    // --- bids -------------------------------------------------------------------------
    for (i, (call, opening, f_new, salt_new, lock)) in submits.iter().enumerate() {
        let r = market_tx(&mut env, ps[i].evm, call, "submitBid");
        let ev = Market::BidSubmitted::decode_log_data(&r.logs[0].data).expect("BidSubmitted");
        assert_eq!(ev.ciphertexts, call.ciphertexts);
        assert_eq!(ev.index, i as u32);
        let p = &mut ps[i];
        p.opening = BalanceOpening {
            sk_acct: p.opening.sk_acct,
            balance: p.opening.balance - lock,
            salt: *salt_new,
        };
        assert_eq!(p.opening.commitment(), *f_new);
        p.bid = Some((opening.clone(), call.inp.bid));
    }
    // replay of a bid
    assert!(matches!(
        market_err(&mut env, ps[0].evm, &submits[0].0).decode::<ME>(),
        Some(ME::BidReplay(_))
    ));
    // one unsettled round is the limit here: a second bid (round 8) is refused before
    // its proof is even looked at
    let mut c = submits[0].0.clone();
    c.inp.round = U256::from(OTHER_ROUND);
    c.inp.bid += U256::from(1u8);
    assert!(matches!(
        market_err(&mut env, ps[0].evm, &c).decode::<ME>(),
        Some(ME::TooManyUnsettled(_))
    ));
    let locks: u64 = submits.iter().map(|s| s.4).sum();
    let free: u64 = ps.iter().map(|p| p.opening.balance).sum();
    assert_eq!(free + locks, 6 * DEPOSIT);
    assert_eq!(token_balance(&mut env, market_addr), free + locks);

    // --- close and clear --------------------------------------------------------------
    let e = market_err(
        &mut env,
        ps[0].evm,
        &Market::closeRoundCall { round: ROUND },
    );
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))));
    warp(&mut env, T0 + W);
    market_tx(
        &mut env,
        ps[0].evm,
        &Market::closeRoundCall { round: ROUND },
        "closeRound",
    );
    let (h_buy, h_sell) = histograms(f.params.levels, bids);
    let clearing = clear(&h_buy, &h_sell, bids.len(), f.params.k_anonymity).expect("clears");
    assert!(clearing.cleared && clearing.volume > 0, "{clearing:?}");
    let bitmap = InclusionBitmap::from_indices(bids.len(), 0..bids.len() as u32);
    let included = bitmap_words(&bitmap);
    let posted_count = bids.len() as u32;
    let digest = clear_digest(
        chain_id,
        market_addr,
        ROUND,
        posted_count,
        &h_buy,
        &h_sell,
        &included,
    );
    let on_chain = env
        .chain
        .sol_call(
            OPERATOR,
            market_addr,
            &Market::clearDigestCall {
                round: ROUND,
                bidCount: posted_count,
                hBuy: h_buy.clone(),
                hSell: h_sell.clone(),
                included: included.clone(),
            },
        )
        .expect("clearDigest");
    assert_eq!(digest, on_chain);
    let clear_call = |sigs: Vec<Market::Signature>| Market::clearCall {
        round: ROUND,
        hBuy: h_buy.clone(),
        hSell: h_sell.clone(),
        included: included.clone(),
        sigs,
    };
    let (t0, t1, t2) = (
        &env.trustees[0].clone(),
        &env.trustees[1].clone(),
        &env.trustees[2].clone(),
    );
    // too few signatures
    let e = market_err(&mut env, OPERATOR, &clear_call(sign_sorted(&[t0], digest)));
    assert!(
        matches!(e.decode::<ME>(), Some(ME::TooFewSignatures(_))),
        "{e}"
    );
    // a signature by an outsider
    let outsider = SigningKey::from_slice(&[9u8; 32]).expect("key");
    let e = market_err(
        &mut env,
        OPERATOR,
        &clear_call(sign_sorted(&[t0, &outsider], digest)),
    );
    assert!(matches!(e.decode::<ME>(), Some(ME::BadSignature(_))), "{e}");
    // the same trustee twice
    let mut twice = sign_sorted(&[t0], digest);
    twice.push(twice[0].clone());
    let e = market_err(&mut env, OPERATOR, &clear_call(twice));
    assert!(matches!(e.decode::<ME>(), Some(ME::BadSignature(_))), "{e}");
    // signatures over other histograms
    let mut other = h_buy.clone();
    other[0] += 1;
    let wrong = clear_digest(
        chain_id,
        market_addr,
        ROUND,
        posted_count,
        &other,
        &h_sell,
        &included,
    );
    let e = market_err(
        &mut env,
        OPERATOR,
        &clear_call(sign_sorted(&[t0, t1], wrong)),
    );
    assert!(matches!(e.decode::<ME>(), Some(ME::BadSignature(_))), "{e}");
    // signatures over a view with another bid count
    let wrong = clear_digest(
        chain_id,
        market_addr,
        ROUND,
        posted_count - 1,
        &h_buy,
        &h_sell,
        &included,
    );
    let e = market_err(
        &mut env,
        OPERATOR,
        &clear_call(sign_sorted(&[t0, t1], wrong)),
    );
    assert!(matches!(e.decode::<ME>(), Some(ME::BadSignature(_))), "{e}");
    let r = market_tx(
        &mut env,
        OPERATOR,
        &clear_call(sign_sorted(&[t1, t2], digest)),
        "clear (6 bids, K = 8)",
    );
    let ev = r
        .logs
        .iter()
        .find_map(|l| Market::RoundCleared::decode_log_data(&l.data).ok())
        .expect("RoundCleared");
    assert_eq!(ev.packed, calldata::fr(&clearing.pack()));
    assert_eq!(ev.volume, U256::from(clearing.volume));
    assert_eq!(ev.level, U256::from(clearing.level));
    // the contract reads the bitmap as the committee's type does, past its end too
    for index in 0..bids.len() as u32 + 2 {
        let on_chain = env
            .chain
            .sol_call(
                OPERATOR,
                market_addr,
                &Market::isIncludedCall {
                    round: ROUND,
                    index,
                },
            )
            .expect("isIncluded");
        assert_eq!(on_chain, bitmap.contains(index), "bid {index}");
    }

    // --- settlement -----------------------------------------------------------------------
    let defaulter = 5;
    let mut settles = Vec::new();
    let mut expected_settlements = Vec::new();
    let mut totals = (0u64, 0u64, 0u64);
    for (i, p) in ps.iter().enumerate() {
        if i == defaulter {
            continue;
        }
        let (opening, _) = p.bid.clone().expect("bid");
        let (s, call) = prove_settlement(
            f,
            &clearing,
            ROUND,
            p.opening.sk_acct,
            opening,
            &p.meter,
            &mut rng,
        );
        expected_settlements.push(PostedBid {
            id: BidId::from_commitment(s.public.bid),
            ciphertexts: s.ciphertexts.clone(),
            digest: s.public.digest,
            acct: None,
        });
        totals.0 += s.settlement.pay;
        totals.1 += s.settlement.credit;
        totals.2 += s.settlement.penalty;
        settles.push((
            i,
            call,
            PayoutOpening {
                amount: s.settlement.payout,
                salt: s.private.payout_salt,
            },
        ));
    }
    // too early: delivery has not ended
    let e = market_err(&mut env, OPERATOR, &settles[0].1);
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    warp(&mut env, T0 + 2 * W);
    // the wrong round: round 8 is still bidding
    let mut c = settles[0].1.clone();
    c.inp.round = U256::from(OTHER_ROUND);
    assert!(matches!(
        market_err(&mut env, OPERATOR, &c).decode::<ME>(),
        Some(ME::WrongPhase(_))
    ));
    // another clearing than the round's
    let mut c = settles[0].1.clone();
    c.inp.clearing += U256::from(2u8);
    assert!(matches!(
        market_err(&mut env, OPERATOR, &c).decode::<ME>(),
        Some(ME::WrongClearing(_))
    ));
    for (i, call, payout) in &settles {
        market_tx(&mut env, OPERATOR, call, "settle");
        ps[*i].payout = Some(*payout);
    }
    // double settlement
    let e = market_err(&mut env, OPERATOR, &settles[0].1);
    assert!(
        matches!(e.decode::<ME>(), Some(ME::AlreadySettled(_))),
        "{e}"
    );

    // --- finalize -----------------------------------------------------------------------
    // A payout is frozen until its round is final: merging it now is refused.
    let p = &ps[0];
    let payout = p.payout.expect("settled");
    let amount = 500u64;
    let recipient = Fr::from_be_bytes_mod_order(p.evm.as_slice());
    let merge = prove_balance(
        f,
        &p.opening,
        Some(&payout),
        -(amount as i128),
        recipient,
        &mut rng,
    )
    .withdraw();
    let e = market_err(&mut env, p.evm, &merge);
    assert!(matches!(e.decode::<ME>(), Some(ME::PayoutFrozen(_))), "{e}");
    // One defaulter, under the k-anonymity floor (5): its lock is withheld, never
    // decrypted, and stays in the market.
    let defaulted_lock = submits[defaulter].4;
    let flow_totals = Market::FlowTotals {
        pay: U256::from(totals.0),
        credit: U256::from(totals.1),
        penalty: U256::from(totals.2),
        defaultedLocks: U256::ZERO,
    };
    let totals_tuple = |t: &Market::FlowTotals| (t.pay, t.credit, t.penalty, t.defaultedLocks);
    let defaulted = vec![ps[defaulter].bid.as_ref().expect("bid").1];
    let digest = finalize_digest(
        chain_id,
        market_addr,
        ROUND,
        totals_tuple(&flow_totals),
        1,
        &[],
    );
    let fin = |sigs| Market::finalizeCall {
        round: ROUND,
        totals: flow_totals.clone(),
        voided: vec![],
        voidedPayouts: vec![],
        voidedAccounts: vec![],
        sigs,
    };
    let e = market_err(&mut env, OPERATOR, &fin(sign_sorted(&[t0, t2], digest)));
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    let record = Market::recordDefaultsCall {
        round: ROUND,
        defaulted: defaulted.clone(),
        accounts: vec![calldata::fr(&ps[defaulter].acct())],
    };
    let e = market_err(&mut env, OPERATOR, &record);
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    warp(&mut env, T0 + 3 * W + 1);
    // a settlement after the deadline is refused
    let e = market_err(&mut env, OPERATOR, &settles[0].1);
    assert!(
        matches!(e.decode::<ME>(), Some(ME::DeadlinePassed(_))),
        "{e}"
    );
    // the unsettled bid is not recorded yet
    let e = market_err(&mut env, OPERATOR, &fin(sign_sorted(&[t0, t2], digest)));
    assert!(
        matches!(e.decode::<ME>(), Some(ME::DefaultsPending(_))),
        "{e}"
    );
    // a settled bid is no defaulter
    let e = market_err(
        &mut env,
        OPERATOR,
        &Market::recordDefaultsCall {
            round: ROUND,
            defaulted: vec![ps[0].bid.as_ref().expect("bid").1],
            accounts: vec![calldata::fr(&ps[0].acct())],
        },
    );
    assert!(
        matches!(e.decode::<ME>(), Some(ME::BadDefaulters(_))),
        "{e}"
    );
    // the default is charged to the account that bid, none other: another account,
    // or none, is refused (the bid's record keeps its account's tag)
    for accounts in [vec![calldata::fr(&ps[0].acct())], vec![]] {
        let e = market_err(
            &mut env,
            OPERATOR,
            &Market::recordDefaultsCall {
                accounts,
                ..record.clone()
            },
        );
        assert!(
            matches!(e.decode::<ME>(), Some(ME::BadDefaulters(_))),
            "{e}"
        );
    }
    // anyone records the default, once: a second page with it changes nothing
    let stranger = ps[1].evm;
    market_tx(&mut env, stranger, &record, "recordDefaults (1 bid)");
    market_tx(
        &mut env,
        stranger,
        &record,
        "recordDefaults (already recorded)",
    );
    // the committee's digest binds the number of defaults: 0 is refused
    let e = market_err(
        &mut env,
        OPERATOR,
        &fin(sign_sorted(
            &[t0, t2],
            finalize_digest(
                chain_id,
                market_addr,
                ROUND,
                totals_tuple(&flow_totals),
                0,
                &[],
            ),
        )),
    );
    assert!(matches!(e.decode::<ME>(), Some(ME::BadSignature(_))), "{e}");
    // a lone defaulter's lock may not be published
    let mut published = flow_totals.clone();
    published.defaultedLocks = U256::from(defaulted_lock);
    let mut c = fin(sign_sorted(
        &[t0, t2],
        finalize_digest(
            chain_id,
            market_addr,
            ROUND,
            totals_tuple(&published),
            1,
            &[],
        ),
    ));
    c.totals = published;
    assert!(matches!(
        market_err(&mut env, OPERATOR, &c).decode::<ME>(),
        Some(ME::BadDefaulters(_))
    ));
    let operator_before = token_balance(&mut env, OPERATOR);
    let market_before = token_balance(&mut env, market_addr);
    market_tx(
        &mut env,
        OPERATOR,
        &fin(sign_sorted(&[t0, t2], digest)),
        "finalize",
    );
    // The contract pays the residual the committee's totals give.
    let to_operator = FinalizeTotals {
        pay: totals.0,
        credit: totals.1,
        penalty: totals.2,
        defaulted_locks: 0,
    }
    .operator_residual();
    assert_eq!(
        token_balance(&mut env, OPERATOR) as i128,
        operator_before as i128 + to_operator
    );
    assert_eq!(
        token_balance(&mut env, market_addr) as i128,
        market_before as i128 - to_operator
    );
    // money conserved to the unit: the market holds exactly the free balances, the
    // unspent payouts and the withheld lock
    let free: u64 = ps.iter().map(|p| p.opening.balance).sum();
    let payouts: u64 = ps.iter().filter_map(|p| p.payout.map(|x| x.amount)).sum();
    assert_eq!(
        token_balance(&mut env, market_addr),
        free + payouts + defaulted_lock
    );
    // the defaulter's default is on record: it may not bid any more
    let acct5 = calldata::fr(&ps[defaulter].acct());
    let info = env
        .chain
        .sol_call(OPERATOR, market_addr, &Market::prosumersCall(acct5))
        .expect("prosumers");
    assert_eq!((info.unsettled, info.defaults), (0, 1));
    market_tx(
        &mut env,
        OPERATOR,
        &Market::openRoundCall {
            round: ROUND + 2,
            bidDeadline: T0 + 10 * W,
            settleStart: T0 + 11 * W,
            settleDeadline: T0 + 12 * W,
        },
        "openRound",
    );
    market_tx(
        &mut env,
        OPERATOR,
        &Market::startBiddingCall { round: ROUND + 2 },
        "startBidding",
    );
    let mut c = submits[defaulter].0.clone();
    c.inp.round = U256::from(ROUND + 2);
    c.inp.bid += U256::from(1u8);
    assert!(matches!(
        market_err(&mut env, ps[defaulter].evm, &c).decode::<ME>(),
        Some(ME::TooManyDefaults(_))
    ));

    // --- merge the payout and withdraw ------------------------------------------------
    let p = &ps[0];
    let call = merge;
    let wallet_before = token_balance(&mut env, p.evm);
    let evm = p.evm;
    market_tx(&mut env, evm, &call, "withdraw (with payout merge)");
    assert_eq!(token_balance(&mut env, evm), wallet_before + amount);
    // the payout is spent: merging it again is refused
    let e = market_err(&mut env, evm, &call);
    assert!(
        matches!(
            e.decode::<ME>(),
            Some(ME::StaleBalance(_) | ME::PayoutSpent(_))
        ),
        "{e}"
    );
    assert_eq!(
        token_balance(&mut env, market_addr),
        free + payouts + defaulted_lock - amount,
        "conservation after the withdrawal"
    );

    // --- the events, read back ---------------------------------------------------------
    let events = market_events(&mut env.chain, market_addr, 0).expect("events decode");
    let head = env.chain.block_number().expect("block number");
    assert!(events
        .windows(2)
        .all(|w| (w[0].block_number, w[0].log_index) < (w[1].block_number, w[1].log_index)));
    assert!(events.iter().all(|e| e.block_number <= head));
    assert_eq!(posted_bids(&events, ROUND).expect("bids"), expected_bids);
    assert_eq!(posted_bids(&events, OTHER_ROUND).expect("bids"), vec![]);
    assert_eq!(posted_settlements(&events, ROUND), expected_settlements);
    let of_round = |want: fn(&MarketEvents) -> bool| -> Vec<MarketEvents> {
        events
            .iter()
            .filter(|e| e.round() == Some(ROUND) && want(&e.event))
            .map(|e| e.event.clone())
            .collect()
    };
    let cleared = of_round(|e| matches!(e, MarketEvents::RoundCleared(_)));
    let [MarketEvents::RoundCleared(c)] = &cleared[..] else {
        panic!("one RoundCleared: {cleared:?}")
    };
    assert!(c.cleared);
    assert_eq!(c.packed, calldata::fr(&clearing.pack()));
    assert_eq!(
        (c.level, c.volume, c.includedBids),
        (
            U256::from(clearing.level),
            U256::from(clearing.volume),
            bids.len() as u32
        )
    );
    let defaults = of_round(|e| matches!(e, MarketEvents::Defaulted(_)));
    let [MarketEvents::Defaulted(d)] = &defaults[..] else {
        panic!("one Defaulted: {defaults:?}")
    };
    assert_eq!((d.acct, d.bid), (acct5, defaulted[0]));
    let finalized = of_round(|e| matches!(e, MarketEvents::RoundFinalized(_)));
    let [MarketEvents::RoundFinalized(fin_ev)] = &finalized[..] else {
        panic!("one RoundFinalized: {finalized:?}")
    };
    assert_eq!(fin_ev.totals, flow_totals);
    assert_eq!(fin_ev.toOperator.as_i64() as i128, to_operator);
    let phases: Vec<u8> = of_round(|e| matches!(e, MarketEvents::RoundPhase(_)))
        .into_iter()
        .filter_map(|e| match e {
            MarketEvents::RoundPhase(p) => Some(p.phase),
            _ => None,
        })
        .collect();
    // Bidding, Closed, Cleared, Settling, Finalized
    assert_eq!(phases, vec![2, 3, 4, 5, 6]);
    // the Rust mirror of Market.Phase reads the contract's values the same way
    use sealgrid_verifier_contract::state::Phase;
    assert_eq!(
        phases
            .iter()
            .map(|&p| Phase::try_from(p))
            .collect::<Vec<_>>(),
        [
            Phase::Bidding,
            Phase::Closed,
            Phase::Cleared,
            Phase::Settling,
            Phase::Finalized
        ]
        .map(Ok)
    );
    // a reader that starts after the round's first bid is told so, not given a short list
    let second_bid = events
        .iter()
        .filter(|e| matches!(&e.event, MarketEvents::BidSubmitted(b) if b.round == ROUND))
        .nth(1)
        .expect("a second bid")
        .block_number;
    let e = round_bids(&mut env.chain, market_addr, second_bid, ROUND).unwrap_err();
    assert!(
        matches!(
            e,
            EventError::BidOrder {
                index: 1,
                position: 0,
                ..
            }
        ),
        "{e}"
    );
    // a block range that ends before the first bid holds no bid
    let before = env
        .chain
        .logs(&LogFilter {
            address: market_addr,
            from_block: 0,
            to_block: Some(second_bid - 1),
        })
        .expect("logs");
    assert!(before.iter().all(|l| l.block_number < second_bid));
    assert_eq!(
        posted_bids(
            &events[..events
                .iter()
                .filter(|e| e.block_number < second_bid)
                .count()],
            ROUND
        )
        .expect("bids")
        .len(),
        1
    );

    let mut seen = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for (label, gas) in &env.gas {
        let e = seen.entry(label.clone()).or_insert((u64::MAX, 0));
        e.0 = e.0.min(*gas);
        e.1 = e.1.max(*gas);
    }
    seen.into_iter().map(|(l, (lo, hi))| (l, lo, hi)).collect()
}

pub(crate) fn warp<C: DevChain>(env: &mut Env<C>, timestamp: u64) {
    env.chain.warp(timestamp).expect("clock moves forward");
}
