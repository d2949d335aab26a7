//! The balance circuit against its native relation: satisfied exactly when `check`
//! passes, and one invalid witness per statement of PROTOCOL §4.1, each asserting the
//! native error and an unsatisfied constraint system.

use super::circuit::synthesize;
use super::*;
use crate::range::pow2;
use ark_ff::Field;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use proptest::prelude::*;
use rand::SeedableRng;

type P = BalanceProofPublic;
type Fields = [Fr; P::NUM_INPUTS];

fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

/// Whether the circuit on (public, witness) is satisfied.
fn satisfied(public: &Fields, w: &Witness) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    synthesize(cs.clone(), public, w).unwrap();
    cs.is_satisfied().unwrap()
}

/// Asserts that the native check fails with `expected` and the circuit is unsatisfied.
fn assert_rejected(public: &Fields, w: &Witness, expected: BalanceError) {
    assert_eq!(check_fields(public, w), Err(expected));
    assert!(
        !satisfied(public, w),
        "circuit accepts what {expected} refuses"
    );
}

fn opening(seed: u64, balance: u64) -> BalanceOpening {
    let mut r = rng(seed);
    BalanceOpening {
        sk_acct: Fr::rand(&mut r),
        balance,
        salt: Fr::rand(&mut r),
    }
}

/// A valid merge of a 250-token payout and withdrawal of 400 from a balance of 1,000.
fn valid() -> (BalanceProofPublic, BalanceProofPrivate) {
    let prior = opening(1, 1_000);
    let payout = PayoutOpening {
        amount: 250,
        salt: Fr::from(77u64),
    };
    let (public, private, next) = BalanceProofPrivate::transition(
        &prior,
        Some(&payout),
        -400,
        Fr::from(0xc0ffeeu64),
        &mut rng(2),
    )
    .unwrap();
    assert_eq!(next.balance, 850);
    (public, private)
}

fn fields(public: &BalanceProofPublic, private: &BalanceProofPrivate) -> (Fields, Witness) {
    (public.to_field_array(), Witness::from(private))
}

#[test]
fn valid_transitions_are_accepted() {
    let prior = opening(3, 500);
    let payout = PayoutOpening {
        amount: 120,
        salt: Fr::from(5u64),
    };
    let recipient = Fr::from(0xabcdu64);
    for (payout, delta, recipient, expected) in [
        (None, 300, Fr::ZERO, 800),                             // deposit
        (None, -500, recipient, 0),                             // withdraw everything
        (Some(&payout), 0, Fr::ZERO, 620),                      // merge
        (Some(&payout), -620, recipient, 0),                    // merge and withdraw all
        (None, i128::from(u64::MAX) - 500, Fr::ZERO, u64::MAX), // fill to 2^64 - 1
    ] {
        let (public, private, next) =
            BalanceProofPrivate::transition(&prior, payout, delta, recipient, &mut rng(4)).unwrap();
        assert_eq!(next.balance, expected);
        assert_eq!(public.f_new, next.commitment());
        assert_eq!(check(&public, &private), Ok(()));
        let cs = ConstraintSystem::<Fr>::new_ref();
        BalanceCircuit::new(public, private)
            .generate_constraints(cs.clone())
            .unwrap();
        assert!(cs.is_satisfied().unwrap(), "delta {delta}");
    }
}

#[test]
fn transition_refuses_out_of_range_results() {
    let prior = opening(3, 500);
    for delta in [-501, i128::from(u64::MAX) - 499, i128::MIN, i128::MAX] {
        assert_eq!(
            BalanceProofPrivate::transition(&prior, None, delta, Fr::ZERO, &mut rng(4)),
            Err(BalanceError::Range(RangeFault::BalanceNew)),
            "delta {delta}"
        );
    }
}

#[test]
fn public_inputs_are_allocated_in_order() {
    let (public, private) = valid();
    let cs = ConstraintSystem::<Fr>::new_ref();
    BalanceCircuit::new(public, private)
        .generate_constraints(cs.clone())
        .unwrap();
    let cs = cs.borrow().unwrap();
    let instance = &cs.assignments.instance_assignment;
    // Instance variable 0 is the constant 1.
    assert_eq!(instance[0], Fr::ONE);
    assert_eq!(&instance[1..], public.to_field_elements().as_slice());
    assert_eq!(instance[1 + P::DELTA], -Fr::from(400u64));
    assert_eq!(instance[1 + P::RECIPIENT], public.recipient);
    assert_eq!(instance.len(), 1 + P::NUM_INPUTS);
}

#[test]
fn delta_maps_to_the_field_and_back() {
    let p_minus = |x: u64| -Fr::from(x);
    assert_eq!(delta_to_field(-1), p_minus(1));
    assert_eq!(delta_to_field(5), Fr::from(5u64));
    for d in [0, 1, -1, 400, -400, i128::MAX, i128::MIN + 1, i128::MIN] {
        assert_eq!(delta_from_field(delta_to_field(d)), Some(d), "{d}");
    }
    // Between 2^128 and p - 2^128 no valid proof has a delta.
    assert_eq!(delta_from_field(pow2(200)), None);
    assert_eq!(delta_from_field(pow2(127)), None);
}

#[test]
fn blank_circuit_has_the_same_shape_in_setup_mode() {
    let (public, private) = valid();
    let cs = ConstraintSystem::<Fr>::new_ref();
    BalanceCircuit::new(public, private)
        .generate_constraints(cs.clone())
        .unwrap();
    let setup = ConstraintSystem::<Fr>::new_ref();
    setup.set_mode(SynthesisMode::Setup);
    BalanceCircuit::blank()
        .generate_constraints(setup.clone())
        .unwrap();
    assert_eq!(setup.num_constraints(), cs.num_constraints());
    assert_eq!(setup.num_instance_variables(), cs.num_instance_variables());
    assert_eq!(setup.num_witness_variables(), cs.num_witness_variables());
}

/// Prints (`cargo test -p sealgrid-circuits --lib balance_constraint_count -- --nocapture`)
/// and pins the balance circuit's size.
#[test]
fn balance_constraint_count() {
    let (public, private) = valid();
    let cs = ConstraintSystem::<Fr>::new_ref();
    BalanceCircuit::new(public, private)
        .generate_constraints(cs.clone())
        .unwrap();
    assert!(cs.is_satisfied().unwrap());
    println!(
        "balance circuit: {} constraints, {} public inputs, {} witness variables",
        cs.num_constraints(),
        cs.num_instance_variables() - 1,
        cs.num_witness_variables()
    );
    assert_eq!(cs.num_constraints(), 1196);
}

// One invalid witness per statement.

#[test]
fn a1_wrong_secret() {
    let (public, private) = valid();
    let (pf, mut w) = fields(&public, &private);
    w.sk_acct += Fr::ONE;
    assert_rejected(&pf, &w, BalanceError::Account);
}

#[test]
fn a2_wrong_opening_or_stale_f_old() {
    let (public, private) = valid();
    let (pf, w) = fields(&public, &private);
    // A wrong salt or balance for the current F_old.
    let mut wrong_salt = w;
    wrong_salt.salt_old += Fr::ONE;
    assert_rejected(&pf, &wrong_salt, BalanceError::OldBalance);
    // A stale F_old: the balance before a deposit, replayed against the opening after it.
    let prior = opening(1, 600);
    let (deposit, _, current) =
        BalanceProofPrivate::transition(&prior, None, 400, Fr::ZERO, &mut rng(9)).unwrap();
    let (mut stale, private, _) =
        BalanceProofPrivate::transition(&current, None, -1_000, Fr::from(1u64), &mut rng(10))
            .unwrap();
    stale.f_old = deposit.f_old;
    let (pf, w) = fields(&stale, &private);
    assert_rejected(&pf, &w, BalanceError::OldBalance);
}

#[test]
fn a3_payout_commitment_mismatch() {
    let (public, private) = valid();
    // P_in opens to another amount than the one merged.
    let mut bad = public;
    bad.p_in = PayoutOpening {
        amount: private.payout_amount - 1,
        salt: private.payout_salt,
    }
    .commitment(public.acct);
    let (pf, w) = fields(&bad, &private);
    assert_rejected(&pf, &w, BalanceError::Payout(PayoutFault::Opening));
    // Another account's payout.
    let mut other = public;
    other.p_in = PayoutOpening {
        amount: private.payout_amount,
        salt: private.payout_salt,
    }
    .commitment(public.acct + Fr::ONE);
    let (pf, w) = fields(&other, &private);
    assert_rejected(&pf, &w, BalanceError::Payout(PayoutFault::Opening));
}

#[test]
fn a3_payout_without_commitment() {
    // P_in = 0 but 250 tokens merged; F_new honestly includes them.
    let prior = opening(1, 1_000);
    let payout = PayoutOpening {
        amount: 250,
        salt: Fr::from(77u64),
    };
    let (mut public, private, _) =
        BalanceProofPrivate::transition(&prior, Some(&payout), 0, Fr::ZERO, &mut rng(2)).unwrap();
    public.p_in = Fr::ZERO;
    let (pf, w) = fields(&public, &private);
    assert_rejected(
        &pf,
        &w,
        BalanceError::Payout(PayoutFault::AmountWithoutCommitment),
    );
}

/// Public inputs and witness for `balance_new = balance_old + payout + delta` computed in
/// the field, with every commitment consistent: only A4's range checks can fail.
fn forced(balance_old: Fr, payout_amount: Fr, delta: Fr) -> (Fields, Witness) {
    let prior = opening(21, 0);
    let acct = prior.acct();
    let w = Witness {
        sk_acct: prior.sk_acct,
        balance_old,
        salt_old: prior.salt,
        salt_new: Fr::from(8u64),
        payout_amount,
        payout_salt: Fr::from(9u64),
    };
    let balance_new = balance_old + payout_amount + delta;
    let mut pf = [Fr::ZERO; P::NUM_INPUTS];
    pf[P::ACCT] = acct;
    pf[P::F_OLD] = balance_commitment(balance_old, w.salt_old, acct);
    pf[P::F_NEW] = balance_commitment(balance_new, w.salt_new, acct);
    pf[P::DELTA] = delta;
    pf[P::P_IN] = payout_commitment(payout_amount, w.payout_salt, acct);
    (pf, w)
}

#[test]
fn a4_withdrawing_more_than_the_balance() {
    // 100 - 150 = -50, i.e. p - 50 in the field.
    let (pf, w) = forced(Fr::from(100u64), Fr::ZERO, delta_to_field(-150));
    assert_rejected(&pf, &w, BalanceError::Range(RangeFault::BalanceNew));
    // With the payout it would be fine: 100 + 60 - 150 = 10.
    let (pf, w) = forced(Fr::from(100u64), Fr::from(60u64), delta_to_field(-150));
    assert_eq!(check_fields(&pf, &w), Ok(()));
    assert!(satisfied(&pf, &w));
}

#[test]
fn a4_new_balance_overflows_64_bits() {
    let (pf, w) = forced(Fr::from(u64::MAX), Fr::ZERO, Fr::ONE);
    assert_rejected(&pf, &w, BalanceError::Range(RangeFault::BalanceNew));
}

#[test]
fn a4_balance_old_out_of_range() {
    // balance_old = p - 1 ("-1"), forced through the field: with delta = +101 the new
    // balance would be an honest-looking 100, minted from a negative balance.
    let (pf, w) = forced(-Fr::ONE, Fr::ZERO, Fr::from(101u64));
    assert_rejected(&pf, &w, BalanceError::Range(RangeFault::BalanceOld));
    // balance_old = 2^64 withdrawn to 0.
    let (pf, w) = forced(pow2(64), Fr::ZERO, -pow2(64));
    assert_rejected(&pf, &w, BalanceError::Range(RangeFault::BalanceOld));
}

#[test]
fn a4_payout_amount_out_of_range() {
    // A payout of p - 1000 against a balance of 2000 and delta 0: new balance 1000.
    let (pf, w) = forced(Fr::from(2_000u64), -Fr::from(1_000u64), Fr::ZERO);
    assert_rejected(&pf, &w, BalanceError::Range(RangeFault::PayoutAmount));
}

#[test]
fn a5_wrong_f_new() {
    let (public, private) = valid();
    // F_new committing to one more token than balance_old + payout + delta.
    let mut bad = public;
    bad.f_new = balance_commitment(Fr::from(851u64), private.salt_new, public.acct);
    let (pf, w) = fields(&bad, &private);
    assert_rejected(&pf, &w, BalanceError::NewBalance);
    // Or a delta that does not match F_new.
    let mut bad = public;
    bad.delta -= 1;
    let (pf, w) = fields(&bad, &private);
    assert_rejected(&pf, &w, BalanceError::NewBalance);
    // Or the wrong salt.
    let (pf, mut w) = fields(&public, &private);
    w.salt_new += Fr::ONE;
    assert_rejected(&pf, &w, BalanceError::NewBalance);
}

#[test]
fn a6_recipient_is_constrained() {
    // Any recipient is allowed (no native failure); the proof binds it. In the
    // constraint system: overwriting the recipient's instance value after synthesis
    // breaks the recipient constraint, while every other statement is untouched.
    let (public, private) = valid();
    let cs = ConstraintSystem::<Fr>::new_ref();
    BalanceCircuit::new(public, private)
        .generate_constraints(cs.clone())
        .unwrap();
    let mut copy = cs.borrow().unwrap().clone();
    copy.finalize();
    // Drop the cached linear-combination values (see `poseidon::test_util::Tamper`).
    copy.assignments.lc_assignment.truncate(1);
    assert!(copy.is_satisfied().unwrap());
    copy.assignments.instance_assignment[1 + P::RECIPIENT] += Fr::ONE;
    assert!(!copy.is_satisfied().unwrap());
    // And a different recipient is a different, equally valid statement.
    let mut other = public;
    other.recipient = Fr::from(0xbeefu64);
    let (pf, w) = fields(&other, &private);
    assert_eq!(check_fields(&pf, &w), Ok(()));
    assert!(satisfied(&pf, &w));
}

/// What a proptest case corrupts.
#[derive(Clone, Copy, Debug)]
enum Corrupt {
    Nothing,
    Secret,
    SaltOld,
    PayoutSalt,
    DropPayoutCommitment,
    Delta,
    SaltNew,
    Recipient,
}

fn corruption() -> impl Strategy<Value = Corrupt> {
    prop_oneof![
        3 => Just(Corrupt::Nothing),
        1 => Just(Corrupt::Secret),
        1 => Just(Corrupt::SaltOld),
        1 => Just(Corrupt::PayoutSalt),
        1 => Just(Corrupt::DropPayoutCommitment),
        1 => Just(Corrupt::Delta),
        1 => Just(Corrupt::SaltNew),
        1 => Just(Corrupt::Recipient),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random balances, payouts and deltas (some of them overdrawing), one random
    /// corruption or none: the circuit is satisfied exactly when `check` passes.
    #[test]
    fn circuit_agrees_with_check(
        seed in any::<u64>(),
        balance_old in any::<u64>(),
        payout in proptest::option::of(any::<u64>()),
        delta in any::<i64>(),
        corrupt in corruption(),
    ) {
        let mut r = rng(seed);
        let sk_acct = Fr::rand(&mut r);
        let acct = account_id(sk_acct);
        let payout_amount = payout.unwrap_or(0);
        let payout_salt = Fr::rand(&mut r);
        let mut w = Witness::from(&BalanceProofPrivate {
            sk_acct,
            balance_old,
            salt_old: Fr::rand(&mut r),
            salt_new: Fr::rand(&mut r),
            payout_amount,
            payout_salt,
        });
        let mut pf = [Fr::ZERO; P::NUM_INPUTS];
        pf[P::ACCT] = acct;
        pf[P::F_OLD] = balance_commitment(w.balance_old, w.salt_old, acct);
        pf[P::DELTA] = delta_to_field(i128::from(delta));
        let balance_new = w.balance_old + w.payout_amount + pf[P::DELTA];
        pf[P::F_NEW] = balance_commitment(balance_new, w.salt_new, acct);
        if payout.is_some() {
            pf[P::P_IN] = payout_commitment(w.payout_amount, payout_salt, acct);
        }
        pf[P::RECIPIENT] = Fr::rand(&mut r);
        match corrupt {
            Corrupt::Nothing => {}
            Corrupt::Secret => w.sk_acct += Fr::ONE,
            Corrupt::SaltOld => w.salt_old += Fr::ONE,
            Corrupt::PayoutSalt => w.payout_salt += Fr::ONE,
            Corrupt::DropPayoutCommitment => pf[P::P_IN] = Fr::ZERO,
            Corrupt::Delta => pf[P::DELTA] += Fr::ONE,
            Corrupt::SaltNew => w.salt_new += Fr::ONE,
            Corrupt::Recipient => pf[P::RECIPIENT] += Fr::ONE,
        }
        let native = check_fields(&pf, &w);
        prop_assert_eq!(native.is_ok(), satisfied(&pf, &w), "{:?}", native);
        let in_range = (0..1i128 << 64).contains(
            &(i128::from(balance_old) + i128::from(payout_amount) + i128::from(delta)),
        );
        if matches!(corrupt, Corrupt::Nothing | Corrupt::Recipient) {
            prop_assert_eq!(native.is_ok(), in_range);
        }
    }
}
