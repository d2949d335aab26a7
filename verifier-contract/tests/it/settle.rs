//! Settlement and finalization against the market contract on the embedded EVM, with
//! real proofs (issue #13 items 4 and 8): payouts frozen until their round is final and
//! a mismatching settlement voided at finalize (money conserved to the unit); the
//! settlement window measured from `clear`; a round nobody clears voided by anyone; a
//! round nobody finalizes expired by anyone; defaults recorded in pages that fit the
//! transaction gas cap.
//!
//! Each of these failed on main before the change: a late clear left no time to settle
//! (`DeadlinePassed`), a Closed round had no way out, a cleared round the committee did
//! not finalize kept every lock and payout, a mismatching seller kept its payout and the
//! market ended short.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use ark_ff::PrimeField;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::PayoutOpening;
use sealgrid_circuits::market::{clear, Clearing};
use sealgrid_circuits::Fr;
use sealgrid_committee::sign::FinalizeTotals;
use sealgrid_committee::InclusionBitmap;
use sealgrid_verifier_contract::bindings::Market::{self, MarketErrors as ME};
use sealgrid_verifier_contract::committee::{
    bitmap_words, clear_digest, finalize_digest, sign_sorted,
};
use sealgrid_verifier_contract::embedded::TX_GAS_LIMIT;
use sealgrid_verifier_contract::gas::{
    RECORD_DEFAULTS_BASE_GAS, RECORD_DEFAULTS_GAS_PER_BID, RECORD_DEFAULTS_PAGE,
};
use sealgrid_verifier_contract::state::{PayoutState, Phase};
use sealgrid_verifier_contract::{calldata, Chain as _, DevChain as _, EmbeddedChain};

use sealgrid_testkit::bids::{histograms, QUOTES};
use sealgrid_testkit::market::{prove_balance, prove_bid, prove_deposit, prove_settlement};

use crate::common::fixture;
use crate::round::{market_err, market_tx, setup, token_balance, warp, Env, Prosumer, DEPOSIT, W};

pub(crate) const ROUND: u64 = 11;

type Chain = EmbeddedChain;

/// Six prosumers deposit, bid `QUOTES` in `ROUND` (bid window `T0 .. T0 + W`, settlement
/// `T0 + 2W .. T0 + 3W`) and the round is closed. Returns the environment, the
/// prosumers (bids recorded), the locks and `T0`.
fn bidding(rng: &mut ChaCha20Rng) -> (Env<Chain>, Vec<Prosumer>, Vec<u64>, u64) {
    let (mut env, mut ps, t0) = open_for_bids(rng);
    let (calls, locks) = prove_bids(&mut ps, rng);
    for (p, call) in ps.iter().zip(&calls) {
        market_tx(&mut env, p.evm, call, "submitBid");
    }
    close(&mut env, t0);
    (env, ps, locks, t0)
}

/// Six prosumers deposit and `ROUND` is opened for bids (bid window `T0 .. T0 + W`,
/// settlement `T0 + 2W .. T0 + 3W`). Returns the environment, the prosumers and `T0`.
pub(crate) fn open_for_bids(rng: &mut ChaCha20Rng) -> (Env<Chain>, Vec<Prosumer>, u64) {
    let f = fixture();
    let (mut env, mut ps) = setup(EmbeddedChain::in_memory());
    for p in ps.iter_mut() {
        let step = prove_deposit(f, &p.opening, DEPOSIT, rng);
        market_tx(&mut env, p.evm, &step.deposit(), "deposit");
        p.opening = step.next;
    }
    let t0 = env.chain.now().expect("clock");
    let op = env.operator;
    market_tx(
        &mut env,
        op,
        &Market::openRoundCall {
            round: ROUND,
            bidDeadline: t0 + W,
            settleStart: t0 + 2 * W,
            settleDeadline: t0 + 3 * W,
        },
        "openRound",
    );
    market_tx(
        &mut env,
        op,
        &Market::startBiddingCall { round: ROUND },
        "startBidding",
    );
    (env, ps, t0)
}

/// Each prosumer proves its bid of `QUOTES` in `ROUND` (recorded in the prosumer, its
/// balance moved on): the calls and the locks.
pub(crate) fn prove_bids(
    ps: &mut [Prosumer],
    rng: &mut ChaCha20Rng,
) -> (Vec<Market::submitBidCall>, Vec<u64>) {
    let mut calls = Vec::new();
    let mut locks = Vec::new();
    for (p, &quote) in ps.iter_mut().zip(QUOTES.iter()) {
        let (b, call) = prove_bid(fixture(), ROUND, &p.opening, quote, rng);
        p.opening.balance -= b.private.lock;
        p.opening.salt = b.private.salt_new;
        assert_eq!(p.opening.commitment(), b.public.f_new);
        p.bid = Some((b.private.opening(), call.inp.bid));
        locks.push(b.private.lock);
        calls.push(call);
    }
    (calls, locks)
}

/// The bid window of `ROUND` (opened at `t0`) ends and the operator closes it.
pub(crate) fn close(env: &mut Env<Chain>, t0: u64) {
    warp(env, t0 + W);
    let op = env.operator;
    market_tx(
        env,
        op,
        &Market::closeRoundCall { round: ROUND },
        "closeRound",
    );
}

/// The committee (trustees 0 and 1) clears `ROUND` with every bid included.
pub(crate) fn clear_round(env: &mut Env<Chain>) -> (Clearing, Market::clearCall) {
    let f = fixture();
    let (h_buy, h_sell) = histograms(f.params.levels, QUOTES);
    let clearing = clear(&h_buy, &h_sell, QUOTES.len(), f.params.k_anonymity).expect("clears");
    let included = bitmap_words(&InclusionBitmap::from_indices(
        QUOTES.len(),
        0..QUOTES.len() as u32,
    ));
    let digest = clear_digest(
        env.chain_id,
        env.market,
        ROUND,
        QUOTES.len() as u32,
        &h_buy,
        &h_sell,
        &included,
    );
    let sigs = sign_sorted(&[&env.trustees[0], &env.trustees[1]], digest);
    let call = Market::clearCall {
        round: ROUND,
        hBuy: h_buy,
        hSell: h_sell,
        included,
        sigs,
    };
    (clearing, call)
}

/// Prosumer `i` settles against `clearing`: the call and its payout.
pub(crate) fn settlement(
    ps: &[Prosumer],
    i: usize,
    clearing: &Clearing,
    rng: &mut ChaCha20Rng,
) -> (
    sealgrid_circuits::settle::PreparedSettlement,
    Market::settleCall,
    PayoutOpening,
) {
    let p = &ps[i];
    let (opening, _) = p.bid.clone().expect("bid");
    let (s, call) = prove_settlement(
        fixture(),
        clearing,
        ROUND,
        p.opening.sk_acct,
        opening,
        &p.meter,
        rng,
    );
    let payout = PayoutOpening {
        amount: s.settlement.payout,
        salt: s.private.payout_salt,
    };
    (s, call, payout)
}

/// Prosumer `i` withdraws its whole free balance, merging `payout` if given; returns
/// the amount.
fn withdraw_all(
    env: &mut Env<Chain>,
    p: &mut Prosumer,
    payout: Option<&PayoutOpening>,
    rng: &mut ChaCha20Rng,
) -> u64 {
    let amount = p.opening.balance + payout.map_or(0, |x| x.amount);
    let recipient = Fr::from_be_bytes_mod_order(p.evm.as_slice());
    let step = prove_balance(
        fixture(),
        &p.opening,
        payout,
        -(amount as i128),
        recipient,
        rng,
    );
    let before = token_balance(env, p.evm);
    market_tx(env, p.evm, &step.withdraw(), "withdraw (with payout merge)");
    assert_eq!(token_balance(env, p.evm), before + amount);
    p.opening = step.next;
    amount
}

pub(crate) fn round_state(env: &mut Env<Chain>) -> Market::Round {
    let (op, market) = (env.operator, env.market);
    env.chain
        .sol_call(op, market, &Market::roundsCall { round: ROUND })
        .expect("rounds")
}

pub(crate) fn payout_state(env: &mut Env<Chain>, p_out: U256) -> PayoutState {
    let (op, market) = (env.operator, env.market);
    let r = env
        .chain
        .sol_call(op, market, &Market::payoutsCall(p_out))
        .expect("payouts");
    PayoutState::try_from(r.state).expect("a PayoutState")
}

fn stranger(env: &mut Env<Chain>) -> Address {
    env.chain.add_account([0x77; 32]).expect("a stranger")
}

/// PROTOCOL §8: the settlement window runs from `clear`. A clear posted after the
/// round's `settleDeadline` used to leave no time at all (`DeadlinePassed`: every bidder
/// a defaulter, every lock to the operator).
#[test]
fn a_late_clear_leaves_bidders_the_whole_settlement_window() {
    let mut rng = ChaCha20Rng::seed_from_u64(101);
    let (mut env, ps, _, t0) = bidding(&mut rng);
    let (clearing, clear_call) = clear_round(&mut env);
    let late = t0 + 3 * W + 500;
    warp(&mut env, late);
    let r = market_tx(&mut env, ps[0].evm, &clear_call, "clear (late)");
    let window = r
        .logs
        .iter()
        .find_map(|l| Market::SettlementWindow::decode_log_data(&l.data).ok())
        .expect("SettlementWindow");
    assert_eq!(window.settleEnd, late + W);
    assert_eq!(round_state(&mut env).settleEnd, late + W);
    let (_, call, _) = settlement(&ps, 0, &clearing, &mut rng);
    market_tx(&mut env, ps[0].evm, &call, "settle");
    // the window closes one settlement window after the clear
    let (_, call, _) = settlement(&ps, 1, &clearing, &mut rng);
    warp(&mut env, late + W + 1);
    let e = market_err(&mut env, ps[1].evm, &call);
    assert!(
        matches!(e.decode::<ME>(), Some(ME::DeadlinePassed(_))),
        "{e}"
    );
}

/// PROTOCOL §8: a Closed round the committee never clears is voided by anyone after its
/// settlement deadline; bidders settle against "not cleared" (the whole lock back),
/// defaults are recorded by anyone in pages, and a round the committee never finalizes
/// is expired by anyone: each settler withdraws everything it deposited. Also measures
/// `recordDefaults` per bid and checks the page size against the gas cap.
#[test]
fn a_round_nobody_clears_or_finalizes_is_voided_and_expired_and_locks_come_back() {
    let mut rng = ChaCha20Rng::seed_from_u64(102);
    let (mut env, mut ps, locks, t0) = bidding(&mut rng);
    let who = stranger(&mut env);
    let void = Market::voidRoundCall { round: ROUND };
    let e = market_err(&mut env, who, &void);
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    warp(&mut env, t0 + 3 * W + 1);
    let r = market_tx(&mut env, who, &void, "voidRound");
    assert!(r
        .logs
        .iter()
        .any(|l| Market::RoundVoided::decode_log_data(&l.data).is_ok()));
    let on = round_state(&mut env);
    assert_eq!(Phase::try_from(on.phase), Ok(Phase::Cleared));
    assert_eq!(on.clearing, calldata::fr(&Clearing::NOT_CLEARED.pack()));
    let settle_end = t0 + 3 * W + 1 + W;
    assert_eq!(on.settleEnd, settle_end);
    // the committee's clear comes too late
    let (_, clear_call) = clear_round(&mut env);
    let e = market_err(&mut env, who, &clear_call);
    assert!(matches!(e.decode::<ME>(), Some(ME::WrongPhase(_))), "{e}");

    // prosumers 0 and 1 settle against "not cleared": their whole lock comes back
    let mut payouts = Vec::new();
    for i in 0..2 {
        let (s, call, payout) = settlement(&ps, i, &Clearing::NOT_CLEARED, &mut rng);
        assert_eq!(s.settlement.payout, locks[i]);
        market_tx(&mut env, ps[i].evm, &call, "settle");
        payouts.push((payout, call.inp.pOut));
    }
    // a payout is frozen while its round is not final
    let recipient = Fr::from_be_bytes_mod_order(ps[0].evm.as_slice());
    let merge = prove_balance(
        fixture(),
        &ps[0].opening,
        Some(&payouts[0].0),
        0,
        recipient,
        &mut rng,
    )
    .deposit();
    let e = market_err(&mut env, ps[0].evm, &merge);
    assert!(matches!(e.decode::<ME>(), Some(ME::PayoutFrozen(_))), "{e}");

    // after the window anyone records the four defaults, in pages
    let bid = |i: usize| ps[i].bid.as_ref().expect("bid").1;
    let record = |who: Vec<usize>| Market::recordDefaultsCall {
        round: ROUND,
        defaulted: who.iter().map(|&i| bid(i)).collect(),
        accounts: who.iter().map(|&i| calldata::fr(&ps[i].acct())).collect(),
    };
    let e = market_err(&mut env, who, &record(vec![2]));
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    warp(&mut env, settle_end + 1);
    let expire = Market::expireCall { round: ROUND };
    let e = market_err(&mut env, who, &expire);
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    let one = market_tx(&mut env, who, &record(vec![2]), "recordDefaults (1 bid)").gas_used;
    let three = market_tx(
        &mut env,
        who,
        &record(vec![3, 4, 5]),
        "recordDefaults (3 bids)",
    )
    .gas_used;
    let per_bid = (three - one) / 2;
    let base = one - per_bid;
    eprintln!("gas recordDefaults: {base} + {per_bid} per bid");
    assert!(per_bid <= RECORD_DEFAULTS_GAS_PER_BID, "{per_bid}");
    assert!(base <= RECORD_DEFAULTS_BASE_GAS, "{base}");
    assert!(
        RECORD_DEFAULTS_BASE_GAS + RECORD_DEFAULTS_PAGE as u64 * RECORD_DEFAULTS_GAS_PER_BID
            <= TX_GAS_LIMIT
    );
    // 800 defaulters take two pages
    assert!(RECORD_DEFAULTS_PAGE >= 400, "{RECORD_DEFAULTS_PAGE}");
    assert_eq!(round_state(&mut env).defaulted, 4);
    for i in 2..6 {
        let info = env
            .chain
            .sol_call(
                env.operator,
                env.market,
                &Market::prosumersCall(calldata::fr(&ps[i].acct())),
            )
            .expect("prosumers");
        assert_eq!((info.unsettled, info.defaults), (0, 1), "prosumer {i}");
    }

    // nobody finalizes: one settlement window later anyone expires the round
    let e = market_err(&mut env, who, &expire);
    assert!(matches!(e.decode::<ME>(), Some(ME::TooEarly(_))), "{e}");
    warp(&mut env, settle_end + W + 1);
    let (op, market) = (env.operator, env.market);
    let operator_before = token_balance(&mut env, op);
    market_tx(&mut env, who, &expire, "expire");
    assert_eq!(
        Phase::try_from(round_state(&mut env).phase),
        Ok(Phase::Expired)
    );
    assert_eq!(token_balance(&mut env, op), operator_before);
    // each settler withdraws everything it deposited
    for (i, (payout, _)) in payouts.iter().enumerate() {
        let amount = withdraw_all(&mut env, &mut ps[i], Some(payout), &mut rng);
        assert_eq!(amount, DEPOSIT);
    }
    // the defaulters' locks stay in the market: the money is all there
    let free: u64 = ps.iter().map(|p| p.opening.balance).sum();
    let kept: u64 = locks[2..].iter().sum();
    assert_eq!(token_balance(&mut env, market), free + kept);
}

/// PROTOCOL §8, issue #13 item 4: a seller settles directly on the contract with two of
/// its posted flow points swapped (the proof stands: the contract does not recompute E).
/// On main its payout (credit included) was spendable while the trustees left its flows
/// out of the totals, and the market ended 980 short. Now the payout is frozen until
/// finalize, the committee voids it, every honest prosumer withdraws everything and the
/// market's balance is exactly what is still owed or withheld.
#[test]
fn a_settlement_with_swapped_flow_points_is_voided_and_money_is_conserved() {
    let mut rng = ChaCha20Rng::seed_from_u64(103);
    let (mut env, mut ps, locks, t0) = bidding(&mut rng);
    let (clearing, clear_call) = clear_round(&mut env);
    let op = env.operator;
    market_tx(&mut env, op, &clear_call, "clear");
    warp(&mut env, t0 + 2 * W);
    let cheater = 3; // a seller in the money
    let mut payouts = Vec::new();
    let mut totals = FinalizeTotals::default();
    for i in 0..ps.len() {
        let (s, mut call, payout) = settlement(&ps, i, &clearing, &mut rng);
        if i == cheater {
            assert!(s.settlement.credit > 0);
            // swap C2'_0 (pay) and C2'_1 (credit)
            call.ciphertexts.swap(1, 2);
        } else {
            totals.pay += s.settlement.pay;
            totals.credit += s.settlement.credit;
            totals.penalty += s.settlement.penalty;
        }
        market_tx(&mut env, ps[i].evm, &call, "settle");
        payouts.push((payout, call.inp.pOut, call.inp.bid));
    }
    warp(&mut env, t0 + 3 * W + 1);
    // one defaulter (the voided one), under the floor: its lock is withheld
    let chain_totals = Market::FlowTotals {
        pay: U256::from(totals.pay),
        credit: U256::from(totals.credit),
        penalty: U256::from(totals.penalty),
        defaultedLocks: U256::ZERO,
    };
    let voided = vec![payouts[cheater].2];
    let digest = finalize_digest(
        env.chain_id,
        env.market,
        ROUND,
        (
            chain_totals.pay,
            chain_totals.credit,
            chain_totals.penalty,
            chain_totals.defaultedLocks,
        ),
        0,
        &voided,
    );
    let sigs = sign_sorted(&[&env.trustees[1], &env.trustees[2]], digest);
    let fin = |voided_payouts: Vec<U256>, voided_accounts: Vec<U256>| Market::finalizeCall {
        round: ROUND,
        totals: chain_totals.clone(),
        voided: voided.clone(),
        voidedPayouts: voided_payouts,
        voidedAccounts: voided_accounts,
        sigs: sigs.clone(),
    };
    let acct = |i: usize| calldata::fr(&ps[i].acct());
    // the payout named must be the voided bid's own, and so must the account charged
    // with the default (or a missing one)
    for (named, accounts) in [
        (vec![payouts[0].1], vec![acct(cheater)]),
        (vec![payouts[cheater].1], vec![acct(0)]),
        (vec![payouts[cheater].1], vec![]),
    ] {
        let e = market_err(&mut env, op, &fin(named, accounts));
        assert!(matches!(e.decode::<ME>(), Some(ME::BadVoided(_))), "{e}");
    }
    let r = market_tx(
        &mut env,
        op,
        &fin(vec![payouts[cheater].1], vec![acct(cheater)]),
        "finalize (1 voided)",
    );
    assert!(r
        .logs
        .iter()
        .any(|l| Market::SettlementVoided::decode_log_data(&l.data).is_ok()));
    assert_eq!(
        payout_state(&mut env, payouts[cheater].1),
        PayoutState::Void
    );
    let info = env
        .chain
        .sol_call(
            op,
            env.market,
            &Market::prosumersCall(calldata::fr(&ps[cheater].acct())),
        )
        .expect("prosumers");
    assert_eq!((info.unsettled, info.defaults), (0, 1));
    // the cheater's payout cannot be spent
    let recipient = Fr::from_be_bytes_mod_order(ps[cheater].evm.as_slice());
    let merge = prove_balance(
        fixture(),
        &ps[cheater].opening,
        Some(&payouts[cheater].0),
        0,
        recipient,
        &mut rng,
    )
    .deposit();
    let e = market_err(&mut env, ps[cheater].evm, &merge);
    assert!(matches!(e.decode::<ME>(), Some(ME::PayoutVoid(_))), "{e}");
    // every honest prosumer withdraws everything; the cheater its free balance
    for i in 0..ps.len() {
        let payout = (i != cheater).then_some(payouts[i].0);
        withdraw_all(&mut env, &mut ps[i], payout.as_ref(), &mut rng);
    }
    // what is left is the cheater's withheld lock, to the unit
    let market = env.market;
    assert_eq!(token_balance(&mut env, market), locks[cheater]);
}

/// PROTOCOL §4.3, S1: the settle circuit does not check the bid opening's ranges again;
/// it relies on the contract settling only a bid it accepted with a bid proof, whose B3
/// and B4 enforce them. A prosumer opens a bid commitment it never posted, with a
/// quantity no bid proof allows (q = 2^20) and a lock B4 would refuse: the settle proof
/// is made and verifies, and the contract refuses the settlement as an unknown bid.
#[test]
fn a_settlement_of_a_bid_never_posted_is_refused_though_its_proof_verifies() {
    use sealgrid_circuits::bid::BidOpening;
    use sealgrid_circuits::market::params::{Side, Q_BITS};
    let mut rng = ChaCha20Rng::seed_from_u64(107);
    let (mut env, ps, _, t0) = bidding(&mut rng);
    let (clearing, clear_call) = clear_round(&mut env);
    market_tx(&mut env, ps[0].evm, &clear_call, "clear");
    warp(&mut env, t0 + 2 * W);
    let p = &ps[0];
    let (posted, _) = p.bid.clone().expect("bid");
    let forged = BidOpening {
        side: Side::Buy,
        level: posted.level,
        q: 1 << Q_BITS,
        lock: 1 << 40,
        salt: Fr::from(4242u64),
    };
    let (s, call) = prove_settlement(
        fixture(),
        &clearing,
        ROUND,
        p.opening.sk_acct,
        forged,
        &p.meter,
        &mut rng,
    );
    let proof = calldata::proof_from_words(&call.proof).expect("a proof");
    let pvk = sealgrid_prover::verify::prepare(&fixture().settle.vk);
    sealgrid_prover::verify::verify(&pvk, &proof, &s.public.to_field_elements())
        .expect("the settle circuit does not check the opening's ranges");
    let e = market_err(&mut env, p.evm, &call);
    assert!(matches!(e.decode::<ME>(), Some(ME::UnknownBid(_))), "{e}");
}
