//! Rounds overlap (DESIGN "Rounds overlap", PROTOCOL §2): one account with two rounds in
//! flight, the first round's settlement arriving between the second bid and the merge.
//! Every step is a valid statement of its circuit, and no step makes another stale:
//! bids spend the free balance, settlement touches only its own bid's commitment and
//! creates a payout, and the owner merges the payout later.

use crate::balance::{self, BalanceCircuit, BalanceOpening, BalanceProofPrivate, PayoutOpening};
use crate::bid::{self, BidCircuit};
use crate::circuit_test::satisfied;
use crate::eddsa::PrivateKey;
use crate::flow::FlowKeys;
use crate::market::{clear, MarketParams, Side};
use crate::settle::{self, SettleCircuit};
use crate::Fr;
use rand::SeedableRng;

#[test]
fn two_rounds_in_flight_with_a_settlement_between_the_bids_and_the_merge() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let params = MarketParams::default();
    let (keys, _) = FlowKeys::random(2 * params.levels + 1, &mut rng);
    let sk = Fr::from(31337u64);
    let meter = PrivateKey::from_bytes([8; 32]);

    // Deposit 1,000,000 into an empty account.
    let empty = BalanceOpening {
        sk_acct: sk,
        balance: 0,
        salt: Fr::from(1u64),
    };
    let (public, private, f1) =
        BalanceProofPrivate::transition(&empty, None, 1_000_000, Fr::from(0u64), &mut rng).unwrap();
    assert_eq!(balance::check(&public, &private), Ok(()));
    assert!(satisfied(BalanceCircuit::new(public, private)));

    // Bid in round 100 (sell 2 kWh at level 1), from F1.
    let bid_a = bid::prepare(
        &params,
        &keys,
        100,
        sk,
        f1.balance,
        f1.salt,
        Side::Sell,
        1,
        2000,
        &mut rng,
    )
    .unwrap();
    assert_eq!(bid_a.public.f_old, f1.commitment());
    assert!(satisfied(BidCircuit {
        params: params.clone(),
        keys: keys.clone(),
        public: bid_a.public.clone(),
        private: bid_a.private.clone(),
    }));
    let f2 = BalanceOpening {
        sk_acct: sk,
        balance: f1.balance - bid_a.private.lock,
        salt: bid_a.private.salt_new,
    };
    assert_eq!(f2.commitment(), bid_a.public.f_new);

    // Bid in round 101 (buy 1 kWh at level 6), from F2: round 100 is still open.
    let bid_b = bid::prepare(
        &params,
        &keys,
        101,
        sk,
        f2.balance,
        f2.salt,
        Side::Buy,
        6,
        1000,
        &mut rng,
    )
    .unwrap();
    assert_eq!(bid_b.public.f_old, f2.commitment());
    assert!(satisfied(BidCircuit {
        params: params.clone(),
        keys: keys.clone(),
        public: bid_b.public.clone(),
        private: bid_b.private.clone(),
    }));
    let f3 = BalanceOpening {
        sk_acct: sk,
        balance: f2.balance - bid_b.private.lock,
        salt: bid_b.private.salt_new,
    };

    // Round 100 clears and settles now: the settlement needs only bid A's opening, so
    // F3 (which round 101's pending bid produced) stays current.
    let clearing = clear(
        &[0, 0, 0, 3000, 0, 0, 0, 0],
        &[0, 2000, 0, 0, 0, 0, 0, 0],
        6,
        5,
    )
    .unwrap();
    let reading = settle::sign_reading(&meter, 100, 0, 1800); // 200 Wh short
    let s = settle::prepare(
        &params,
        &keys,
        &clearing,
        100,
        sk,
        bid_a.private.opening(),
        meter.public_key(),
        reading,
        &mut rng,
    )
    .unwrap();
    assert_eq!(s.settlement.fill, 2000);
    assert!(s.settlement.penalty > 0);
    assert!(satisfied(SettleCircuit {
        params: params.clone(),
        keys: keys.clone(),
        clearing,
        public: s.public.clone(),
        private: s.private.clone(),
    }));

    // The owner merges the payout into F3 (and withdraws nothing).
    let payout = PayoutOpening {
        amount: s.settlement.payout,
        salt: s.private.payout_salt,
    };
    let (public, private, f4) =
        BalanceProofPrivate::transition(&f3, Some(&payout), 0, Fr::from(0u64), &mut rng).unwrap();
    assert_eq!(
        public.p_in, s.public.p_out,
        "the merge spends exactly the settlement's payout"
    );
    assert_eq!(public.f_old, f3.commitment());
    assert_eq!(balance::check(&public, &private), Ok(()));
    assert!(satisfied(BalanceCircuit::new(public, private)));

    // Money: deposit − both locks + round 100's payout; round 101's lock is still held.
    assert_eq!(
        f4.balance,
        1_000_000 - bid_a.private.lock - bid_b.private.lock + s.settlement.payout
    );
}
