//! The bid circuit is satisfied exactly when [`check`] passes: a valid bid, and one
//! broken witness per statement of `docs/PROTOCOL.md` §4.2.

use super::*;
use crate::circuit_test::satisfied;
use crate::market::params::Q_BITS;
use rand::SeedableRng;

struct Fixture {
    params: MarketParams,
    keys: FlowKeys,
    bid: PreparedBid,
}

fn fixture(side: Side, level: usize, q: u64, balance: u64) -> Fixture {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    let params = MarketParams::default();
    let (keys, _) = FlowKeys::random(2 * params.levels + 1, &mut rng);
    let bid = prepare(
        &params,
        &keys,
        7,
        Fr::from(1234u64),
        balance,
        Fr::from(99u64),
        side,
        level,
        q,
        &mut rng,
    )
    .expect("valid bid");
    Fixture { params, keys, bid }
}

/// Recomputes every public input from the private ones and the given flow messages, so a
/// test breaks exactly one statement.
fn public_for(
    f: &Fixture,
    round: u64,
    private: &BidProofPrivate,
    messages: &[u64],
) -> BidProofPublic {
    let acct = account_id(private.sk_acct);
    let balance_new = Fr::from(private.balance_old) - Fr::from(private.lock);
    BidProofPublic {
        round,
        acct,
        f_old: balance_commitment(Fr::from(private.balance_old), private.salt_old, acct),
        f_new: balance_commitment(balance_new, private.salt_new, acct),
        bid: private.opening().commitment(acct, round),
        digest: f.keys.encrypt(messages, &private.r).unwrap().digest(),
    }
}

fn circuit(f: &Fixture, public: BidProofPublic, private: BidProofPrivate) -> BidCircuit {
    BidCircuit {
        params: f.params.clone(),
        keys: f.keys.clone(),
        public,
        private,
    }
}

fn assert_rejected(
    f: &Fixture,
    public: BidProofPublic,
    private: BidProofPrivate,
    expect: BidError,
) {
    assert_eq!(check(&f.params, &f.keys, &public, &private), Err(expect));
    assert!(
        !satisfied(circuit(f, public, private)),
        "the circuit accepts what check rejects"
    );
}

fn messages(f: &Fixture, p: &BidProofPrivate) -> Vec<u64> {
    flow_messages(f.params.levels, p.side, p.level, p.q, p.lock)
}

#[test]
fn valid_bids_satisfy_the_circuit() {
    for (side, level, q) in [
        (Side::Buy, 0, 1),
        (Side::Buy, 7, 250_000),
        (Side::Sell, 3, 1_000),
        (Side::Sell, 7, (1 << 20) - 1),
    ] {
        let f = fixture(side, level, q, 10_000_000_000);
        assert_eq!(
            check(&f.params, &f.keys, &f.bid.public, &f.bid.private),
            Ok(())
        );
        assert!(satisfied(circuit(
            &f,
            f.bid.public.clone(),
            f.bid.private.clone()
        )));
    }
}

#[test]
fn a_bid_spending_the_whole_balance_is_valid() {
    let f = fixture(Side::Buy, 2, 1000, 110_000);
    assert_eq!(f.bid.private.lock, 110_000);
    assert!(satisfied(circuit(
        &f,
        f.bid.public.clone(),
        f.bid.private.clone()
    )));
}

#[test]
fn b1_wrong_account_secret() {
    let f = fixture(Side::Buy, 2, 1000, 1_000_000);
    let mut private = f.bid.private.clone();
    private.sk_acct += Fr::from(1u64);
    assert_rejected(&f, f.bid.public.clone(), private, BidError::Account);
}

#[test]
fn b2_stale_balance_commitment() {
    let f = fixture(Side::Buy, 2, 1000, 1_000_000);
    let mut public = f.bid.public.clone();
    // the commitment of an earlier state of the same account
    public.f_old = balance_commitment(Fr::from(2_000_000u64), Fr::from(5u64), public.acct);
    assert_rejected(&f, public, f.bid.private.clone(), BidError::OldBalance);
}

#[test]
fn b3_level_off_the_grid() {
    let f = fixture(Side::Buy, 2, 1000, 100_000_000);
    let mut private = f.bid.private.clone();
    private.level = f.params.levels; // one past the top: no slot is hot
    private.lock = 0;
    let public = public_for(&f, 7, &private, &vec![0; 2 * f.params.levels + 1]);
    assert!(matches!(
        check(&f.params, &f.keys, &public, &private),
        Err(BidError::Range(_))
    ));
    assert!(!satisfied(circuit(&f, public, private)));
}

#[test]
fn b3_quantity_out_of_range() {
    let f = fixture(Side::Sell, 2, 1000, 100_000_000_000);
    let mut private = f.bid.private.clone();
    private.q = 1 << Q_BITS;
    private.lock = private.q * f.params.penalty_rate;
    let public = public_for(&f, 7, &private, &messages(&f, &private));
    assert!(matches!(
        check(&f.params, &f.keys, &public, &private),
        Err(BidError::Range(_))
    ));
    assert!(!satisfied(circuit(&f, public, private)));
}

#[test]
fn b3_zero_quantity() {
    let f = fixture(Side::Sell, 2, 1000, 1_000_000);
    let mut private = f.bid.private.clone();
    private.q = 0;
    private.lock = 0;
    let public = public_for(&f, 7, &private, &messages(&f, &private));
    assert!(matches!(
        check(&f.params, &f.keys, &public, &private),
        Err(BidError::Range(_))
    ));
    assert!(!satisfied(circuit(&f, public, private)));
}

#[test]
fn b4_lock_not_matching_the_bid() {
    for side in [Side::Buy, Side::Sell] {
        let f = fixture(side, 2, 1000, 1_000_000);
        for delta in [-1i64, 1] {
            let mut private = f.bid.private.clone();
            let expected = private.lock;
            private.lock = (expected as i64 + delta) as u64;
            let public = public_for(&f, 7, &private, &messages(&f, &private));
            assert_rejected(
                &f,
                public,
                private.clone(),
                BidError::Lock {
                    lock: private.lock,
                    expected,
                },
            );
        }
    }
}

#[test]
fn b5_insufficient_margin() {
    let f = fixture(Side::Buy, 7, 5000, 10_000_000);
    let mut private = f.bid.private.clone();
    private.balance_old = private.lock - 1;
    let public = public_for(&f, 7, &private, &messages(&f, &private));
    assert_rejected(
        &f,
        public,
        private.clone(),
        BidError::InsufficientMargin {
            lock: private.lock,
            balance: private.lock - 1,
        },
    );
}

#[test]
fn b6_wrong_new_balance() {
    let f = fixture(Side::Buy, 2, 1000, 1_000_000);
    let mut public = f.bid.public.clone();
    // keeps the lock in the free balance
    public.f_new = balance_commitment(Fr::from(1_000_000u64), f.bid.private.salt_new, public.acct);
    assert_rejected(&f, public, f.bid.private.clone(), BidError::NewBalance);
}

#[test]
fn b7_proof_for_another_round() {
    let f = fixture(Side::Sell, 2, 1000, 1_000_000);
    let mut public = f.bid.public.clone();
    public.round += 1;
    assert_rejected(&f, public, f.bid.private.clone(), BidError::BidCommitment);
}

#[test]
fn b7_proof_for_another_account() {
    let f = fixture(Side::Sell, 2, 1000, 1_000_000);
    let mut public = f.bid.public.clone();
    public.acct = account_id(Fr::from(9999u64));
    assert_rejected(&f, public, f.bid.private.clone(), BidError::Account);
}

#[test]
fn b8_ciphertext_of_another_quantity() {
    let f = fixture(Side::Buy, 3, 1000, 1_000_000);
    let p = f.bid.private.clone();
    let mut m = messages(&f, &p);
    m[3] += 1;
    let public = public_for(&f, 7, &p, &m);
    assert_rejected(&f, public, p, BidError::Digest);
}

#[test]
fn b8_two_hot_slots() {
    let f = fixture(Side::Buy, 3, 1000, 1_000_000);
    let p = f.bid.private.clone();
    let mut m = messages(&f, &p);
    m[4] = p.q;
    let public = public_for(&f, 7, &p, &m);
    assert_rejected(&f, public, p, BidError::Digest);
}

#[test]
fn b8_quantity_in_the_other_sides_slots() {
    for side in [Side::Buy, Side::Sell] {
        let f = fixture(side, 3, 1000, 1_000_000);
        let p = f.bid.private.clone();
        let other = match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let m = flow_messages(f.params.levels, other, p.level, p.q, p.lock);
        let public = public_for(&f, 7, &p, &m);
        assert_rejected(&f, public, p, BidError::Digest);
    }
}

#[test]
fn b8_lock_slot_holding_another_value() {
    let f = fixture(Side::Sell, 3, 1000, 1_000_000);
    let p = f.bid.private.clone();
    let mut m = messages(&f, &p);
    m[2 * f.params.levels] = 0;
    let public = public_for(&f, 7, &p, &m);
    assert_rejected(&f, public, p, BidError::Digest);
}

#[test]
fn b9_wrong_digest() {
    let f = fixture(Side::Sell, 3, 1000, 1_000_000);
    let mut public = f.bid.public.clone();
    public.digest += Fr::from(1u64);
    assert_rejected(&f, public, f.bid.private.clone(), BidError::Digest);
}

#[test]
fn bid_constraint_count() {
    let f = fixture(Side::Buy, 3, 1000, 1_000_000);
    let (n, instance) =
        crate::circuit_test::shape(circuit(&f, f.bid.public.clone(), f.bid.private.clone()));
    println!("bid circuit, K = {}: {n} constraints", f.params.levels);
    // Pinned: a change of the count is a change of the statement or of a gadget, and
    // shows here. With the inputs and the constant one the system fits 2^13, the domain
    // of half the FFT and h-query work of 2^14 (issue #16).
    assert_eq!((n, instance), (7823, 7));
    assert!(n + instance <= 1 << 13);
}
