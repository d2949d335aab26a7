//! The settle circuit is satisfied exactly when [`check`] passes: valid settlements for
//! every position relative to the clearing, and one broken witness per statement of
//! `docs/PROTOCOL.md` §4.3.

use super::*;
use crate::circuit_test::satisfied;
use crate::market::clear;
use rand::SeedableRng;

const ROUND: u64 = 96;

struct Fixture {
    params: MarketParams,
    keys: FlowKeys,
    clearing: Clearing,
    meter: PrivateKey,
}

fn fixture() -> Fixture {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let params = MarketParams::default();
    let (keys, _) = FlowKeys::random(2 * params.levels + 1, &mut rng);
    // buyers: 3000 Wh at level 5, 1000 at level 3; sellers: 2000 at level 1, 3000 at 3.
    // Volume 4000 at k* = 3: buyers at 3 rationed 1000/1000 (unrationed), sellers at 3
    // rationed 2000/3000.
    let clearing = clear(
        &[0, 0, 0, 1000, 0, 3000, 0, 0],
        &[0, 2000, 0, 3000, 0, 0, 0, 0],
        6,
        5,
    )
    .unwrap();
    assert_eq!((clearing.level, clearing.volume), (3, 4000));
    Fixture {
        params,
        keys,
        clearing,
        meter: PrivateKey::from_bytes([3; 32]),
    }
}

fn opening(f: &Fixture, side: Side, level: usize, q: u64) -> BidOpening {
    BidOpening {
        side,
        level,
        q,
        lock: f.params.lock(side, level, q).unwrap(),
        salt: Fr::from(555u64),
    }
}

/// A settlement whose meter read `export_wh` exported and nothing imported.
fn prepared(f: &Fixture, bid: BidOpening, export_wh: u64) -> PreparedSettlement {
    prepared_with(f, bid, 0, export_wh)
}

fn prepared_with(
    f: &Fixture,
    bid: BidOpening,
    import_wh: u64,
    export_wh: u64,
) -> PreparedSettlement {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
    let reading = sign_reading(&f.meter, ROUND, import_wh, export_wh);
    prepare(
        &f.params,
        &f.keys,
        &f.clearing,
        ROUND,
        Fr::from(77u64),
        bid,
        f.meter.public_key(),
        reading,
        &mut rng,
    )
    .expect("valid settlement")
}

fn circuit(f: &Fixture, public: SettleProofPublic, private: SettleProofPrivate) -> SettleCircuit {
    SettleCircuit {
        params: f.params.clone(),
        keys: f.keys.clone(),
        clearing: f.clearing,
        public,
        private,
    }
}

fn assert_rejected(
    f: &Fixture,
    public: SettleProofPublic,
    private: SettleProofPrivate,
    expect: SettleError,
) {
    assert_eq!(
        check(&f.params, &f.keys, &f.clearing, &public, &private),
        Err(expect)
    );
    assert!(
        !satisfied(circuit(f, public, private)),
        "the circuit accepts what check rejects"
    );
}

/// Public inputs for a claimed settlement `s` (right or wrong), everything else honest.
fn public_claiming(f: &Fixture, p: &PreparedSettlement, s: &Settlement) -> SettleProofPublic {
    let acct = p.public.acct;
    SettleProofPublic {
        p_out: hash_fixed([Fr::from(s.payout), p.private.payout_salt, acct]),
        digest: p.private.ciphertexts(&f.keys, s).digest(),
        ..p.public.clone()
    }
}

#[test]
fn every_position_settles() {
    let f = fixture();
    let cases = [
        // (side, level, q, export, fill)
        (Side::Buy, 5, 3000, 0, 3000), // strictly in the money
        (Side::Buy, 3, 1000, 0, 1000), // at the margin, side not rationed
        (Side::Buy, 2, 500, 0, 0),     // out of the money
        (Side::Sell, 1, 2000, 2000, 2000),
        (Side::Sell, 3, 3000, 5000, 2000), // rationed 2000/3000
        (Side::Sell, 3, 1000, 0, 666),     // rationed, rounds down, delivers nothing
        (Side::Sell, 1, 2000, 1500, 2000), // under-delivers 500
        (Side::Sell, 6, 800, 800, 0),
    ];
    for (side, level, q, export, fill) in cases {
        let p = prepared(&f, opening(&f, side, level, q), export);
        assert_eq!(p.settlement.fill, fill, "{side:?} at {level}");
        assert_eq!(
            check(&f.params, &f.keys, &f.clearing, &p.public, &p.private),
            Ok(p.settlement)
        );
        assert!(
            satisfied(circuit(&f, p.public, p.private)),
            "{side:?} at {level}"
        );
    }
}

#[test]
fn money_follows_the_rules() {
    let f = fixture();
    let price = f.params.price(3);
    let buy = prepared(&f, opening(&f, Side::Buy, 5, 3000), 0).settlement;
    assert_eq!((buy.pay, buy.credit, buy.penalty), (3000 * price, 0, 0));
    assert_eq!(
        buy.payout,
        f.params.lock(Side::Buy, 5, 3000).unwrap() - 3000 * price
    );
    let short = prepared(&f, opening(&f, Side::Sell, 1, 2000), 1500).settlement;
    assert_eq!(short.credit, 1500 * price);
    assert_eq!(short.penalty, 500 * f.params.penalty_rate);
    assert_eq!(
        short.payout,
        2000 * f.params.penalty_rate + 1500 * price - 500 * f.params.penalty_rate
    );
}

#[test]
fn an_uncleared_round_releases_every_lock() {
    let mut f = fixture();
    f.clearing = clear(
        &[0, 0, 0, 1000, 0, 3000, 0, 0],
        &[0, 2000, 0, 3000, 0, 0, 0, 0],
        4,
        5,
    )
    .unwrap();
    assert!(!f.clearing.cleared);
    for (side, level) in [(Side::Buy, 5), (Side::Sell, 1)] {
        let bid = opening(&f, side, level, 1000);
        let p = prepared(&f, bid.clone(), 0);
        assert_eq!(p.settlement.fill, 0);
        assert_eq!(p.settlement.payout, bid.lock);
        assert!(satisfied(circuit(&f, p.public, p.private)));
    }
}

#[test]
fn s1_wrong_bid_opening() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 2000);
    for tamper in 0..3 {
        let mut private = p.private.clone();
        match tamper {
            0 => private.bid.q += 1,
            1 => private.bid.side = Side::Buy, // claim to be a buyer
            _ => private.bid.lock += 1,
        }
        assert_rejected(&f, p.public.clone(), private, SettleError::Bid);
    }
}

#[test]
fn s1_proof_for_another_round() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Buy, 5, 3000), 0);
    let mut public = p.public.clone();
    public.round += 1;
    assert_rejected(&f, public, p.private, SettleError::Bid);
}

#[test]
fn s2_forged_meter_signature() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 2000);
    let mut private = p.private.clone();
    // signed by another key over the same message
    let forger = PrivateKey::from_bytes([9; 32]);
    let id = meter_id(&f.meter.public_key());
    private.reading.signature = forger.sign(reading_message(id, ROUND, 0, 2000));
    assert_rejected(&f, p.public.clone(), private, SettleError::Reading);
}

#[test]
fn s2_inflated_reading() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 1500);
    let mut private = p.private.clone();
    private.reading.export_wh = 2000; // the meter signed 1500
    let s = settlement(&f.params, &f.clearing, &private.bid, 0, 2000).unwrap();
    let public = public_claiming(&f, &p, &s);
    assert_rejected(&f, public, private, SettleError::Reading);
}

#[test]
fn s2_reading_signed_without_the_domain_tag() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 2000);
    let mut private = p.private.clone();
    // the meter's own signature, on the message as it was before the tag
    let id = meter_id(&f.meter.public_key());
    let untagged = hash_fixed([id, Fr::from(ROUND), Fr::from(0u64), Fr::from(2000u64)]);
    private.reading.signature = f.meter.sign(untagged);
    assert_rejected(&f, p.public.clone(), private, SettleError::Reading);
}

#[test]
fn s2_reading_of_another_slot() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 2000);
    let mut private = p.private.clone();
    private.reading = sign_reading(&f.meter, ROUND - 1, 10, 2000);
    assert_rejected(&f, p.public.clone(), private, SettleError::Reading);
}

#[test]
fn s2_reading_of_another_meter() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 2000);
    let mut private = p.private.clone();
    let other = PrivateKey::from_bytes([4; 32]);
    private.meter_key = other.public_key();
    private.reading = sign_reading(&other, ROUND, 10, 2000);
    assert_rejected(&f, p.public.clone(), private, SettleError::Meter);
}

#[test]
fn s2_reading_out_of_range() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 2000);
    let mut private = p.private.clone();
    private.reading = sign_reading(&f.meter, ROUND, 10, 1 << READING_BITS);
    let s = settlement(&f.params, &f.clearing, &private.bid, 10, 1 << READING_BITS).unwrap();
    let public = public_claiming(&f, &p, &s);
    assert_rejected(&f, public, private, SettleError::ReadingRange);
}

#[test]
fn s3_wrong_fill() {
    let f = fixture();
    // a seller at the margin claims a full fill instead of 2000/3000
    let p = prepared(&f, opening(&f, Side::Sell, 3, 3000), 3000);
    let price = f.params.price(3);
    let wrong = Settlement {
        fill: 3000,
        pay: 0,
        credit: 3000 * price,
        penalty: 0,
        payout: p.private.bid.lock + 3000 * price,
    };
    let public = public_claiming(&f, &p, &wrong);
    assert_rejected(&f, public, p.private, SettleError::Payout);
}

#[test]
fn s3_wrong_rounding() {
    let f = fixture();
    // 1000 * 2000 / 3000 = 666.67: rounding up to 667 is refused
    let p = prepared(&f, opening(&f, Side::Sell, 3, 1000), 1000);
    assert_eq!(p.settlement.fill, 666);
    let price = f.params.price(3);
    let up = Settlement {
        fill: 667,
        credit: 667 * price,
        payout: p.private.bid.lock + 667 * price,
        ..p.settlement
    };
    let public = public_claiming(&f, &p, &up);
    assert_rejected(&f, public, p.private, SettleError::Payout);
}

#[test]
fn s4_a_seller_is_credited_for_its_net_export_only() {
    let f = fixture();
    let price = f.params.price(3);
    let rate = f.params.penalty_rate;
    // sells 2000 at level 1 (filled in full); its meter exported 2000 but imported 500
    let p = prepared_with(&f, opening(&f, Side::Sell, 1, 2000), 500, 2000);
    let s = p.settlement;
    assert_eq!(
        (s.fill, s.credit, s.penalty),
        (2000, 1500 * price, 500 * rate)
    );
    assert!(satisfied(circuit(&f, p.public.clone(), p.private.clone())));
    // credit for the gross export is refused
    let gross = Settlement {
        credit: 2000 * price,
        penalty: 0,
        payout: p.private.bid.lock + 2000 * price,
        ..s
    };
    let public = public_claiming(&f, &p, &gross);
    assert_rejected(&f, public, p.private.clone(), SettleError::Payout);

    // imported more than it exported: it delivered nothing
    let p = prepared_with(&f, opening(&f, Side::Sell, 1, 2000), 2500, 2000);
    assert_eq!(
        (p.settlement.credit, p.settlement.penalty),
        (0, 2000 * rate)
    );
    assert!(satisfied(circuit(&f, p.public.clone(), p.private.clone())));
    let claimed = Settlement {
        credit: 2000 * price,
        penalty: 0,
        payout: p.private.bid.lock + 2000 * price,
        ..p.settlement
    };
    let public = public_claiming(&f, &p, &claimed);
    assert_rejected(&f, public, p.private, SettleError::Payout);
}

#[test]
fn s4_shortfall_without_penalty() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 1, 2000), 1500);
    let dodged = Settlement {
        penalty: 0,
        payout: p.settlement.payout + p.settlement.penalty,
        ..p.settlement
    };
    let public = public_claiming(&f, &p, &dodged);
    assert_rejected(&f, public, p.private, SettleError::Payout);
}

#[test]
fn s5_negative_payout() {
    let f = fixture();
    // a buyer whose lock does not cover its payment (a bid no valid bid proof creates)
    let mut bid = opening(&f, Side::Buy, 5, 3000);
    bid.lock = 10;
    let p = {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let reading = sign_reading(&f.meter, ROUND, 10, 0);
        let private = SettleProofPrivate {
            sk_acct: Fr::from(77u64),
            bid: bid.clone(),
            payout_salt: Fr::from(1u64),
            meter_key: f.meter.public_key(),
            reading,
            r: {
                use ark_std::UniformRand;
                Scalar::rand(&mut rng)
            },
        };
        let acct = account_id(private.sk_acct);
        let price = f.params.price(3);
        let s = Settlement {
            fill: 3000,
            pay: 3000 * price,
            credit: 0,
            penalty: 0,
            payout: 0,
        };
        let wrapped = Fr::from(10u64) - Fr::from(3000 * price);
        let public = SettleProofPublic {
            round: ROUND,
            acct,
            bid: bid.commitment(acct, ROUND),
            p_out: hash_fixed([wrapped, private.payout_salt, acct]),
            clearing: f.clearing.pack(),
            meter_id: meter_id(&f.meter.public_key()),
            digest: private.ciphertexts(&f.keys, &s).digest(),
        };
        (public, private)
    };
    assert_rejected(&f, p.0, p.1, SettleError::NegativePayout);
}

#[test]
fn s6_wrong_payout_salt() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Buy, 5, 3000), 0);
    let mut private = p.private.clone();
    private.payout_salt += Fr::from(1u64);
    // the digest stays honest; only the payout commitment breaks
    assert_rejected(&f, p.public.clone(), private, SettleError::Payout);
}

#[test]
fn s7_flows_of_another_amount() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Buy, 5, 3000), 0);
    let mut public = p.public.clone();
    let hidden = Settlement {
        pay: p.settlement.pay - 1,
        ..p.settlement
    };
    public.digest = p.private.ciphertexts(&f.keys, &hidden).digest();
    assert_rejected(&f, public, p.private, SettleError::Digest);
}

#[test]
fn clearing_input_must_match_the_posted_clearing() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 3, 3000), 3000);
    // the prover pretends its side was not rationed
    let mut posted = f.clearing;
    posted.sell.num = posted.sell.den;
    let mut public = p.public.clone();
    public.clearing = posted.pack();
    assert_eq!(
        check(&f.params, &f.keys, &f.clearing, &public, &p.private),
        Err(SettleError::Clearing)
    );
    // the circuit unpacks the public input itself, so a witness clearing that differs
    // from it cannot satisfy it
    assert!(!satisfied(circuit(&f, public, p.private)));
}

#[test]
fn settle_constraint_count() {
    let f = fixture();
    let p = prepared(&f, opening(&f, Side::Sell, 3, 3000), 3000);
    let (n, instance) = crate::circuit_test::shape(circuit(&f, p.public, p.private));
    println!("settle circuit, K = {}: {n} constraints", f.params.levels);
    // Pinned: a change of the count is a change of the statement or of a gadget, and
    // shows here. With the inputs and the constant one the system fits 2^13, the domain
    // of half the FFT and h-query work of 2^14 (issue #16).
    assert_eq!((n, instance), (8161, 8));
    assert!(n + instance <= 1 << 13);
}
