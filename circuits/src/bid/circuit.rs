//! The bid circuit: `docs/PROTOCOL.md` §4.2, one commented block per statement.

use super::{BidProofPrivate, BidProofPublic};
use crate::alloc::{public_inputs, witness};
use crate::babyjubjub::base8;
use crate::babyjubjub::r1cs::{alloc_randomness_bits, fixed_base_mul};
use crate::commitment::r1cs::{account_id, balance_commitment};
use crate::flow::r1cs::{encrypt, select_or_identity};
use crate::flow::FlowKeys;
use crate::market::params::{MarketParams, Side, BAL_BITS, BPS, Q_BITS};
use crate::poseidon::r1cs::hash;
use crate::range::r1cs::{enforce_bits, enforce_less_than, enforce_range};
use crate::Fr;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use rand::SeedableRng;

/// Bits of a lock: `q · p · (BPS + margin) / BPS < 2^20 · 2^20 · 2 = 2^41` for buyers,
/// `q · penalty_rate < 2^40` for sellers; 48 leaves room and keeps `lock·G` cheap.
pub const LOCK_BITS: usize = 48;
/// Bits of the rounding remainder of a buyer's lock, `< BPS = 10000 < 2^14`.
const REM_BITS: usize = 14;

/// The bid circuit for one market parameter set and one committee epoch's flow keys
/// (both are circuit constants: a new setup per epoch).
#[derive(Clone, Debug)]
pub struct BidCircuit {
    /// Market parameters (K, price grid, margin, penalty rate).
    pub params: MarketParams,
    /// The committee's 2K + 1 flow keys.
    pub keys: FlowKeys,
    /// Public inputs.
    pub public: BidProofPublic,
    /// Witness.
    pub private: BidProofPrivate,
}

impl BidCircuit {
    /// A circuit with a valid witness of the right shape, for key generation (the setup
    /// only needs the shape; any valid witness gives it).
    pub fn for_setup(params: &MarketParams, keys: &FlowKeys) -> BidCircuit {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
        let salt = Fr::from(1u64);
        let bid = super::prepare(
            params,
            keys,
            0,
            Fr::from(1u64),
            u64::MAX >> 1,
            salt,
            Side::Buy,
            0,
            1,
            &mut rng,
        )
        .expect("a small bid from a large balance is valid");
        BidCircuit {
            params: params.clone(),
            keys: keys.clone(),
            public: bid.public,
            private: bid.private,
        }
    }
}

impl ConstraintSynthesizer<Fr> for BidCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let BidCircuit {
            params,
            keys,
            public,
            private,
        } = self;
        let k = params.levels;
        if keys.len() != 2 * k + 1 {
            return Err(SynthesisError::Unsatisfiable);
        }

        // Public inputs, in `BidProofPublic::to_field_elements` order.
        let inputs = public_inputs(&cs, public.to_field_elements())?;
        let round = &inputs[BidProofPublic::ROUND];
        let acct = &inputs[BidProofPublic::ACCT];
        let f_old = &inputs[BidProofPublic::F_OLD];
        let f_new = &inputs[BidProofPublic::F_NEW];
        let bid = &inputs[BidProofPublic::BID];
        let digest = &inputs[BidProofPublic::DIGEST];

        let witness = |v: Fr| witness(&cs, v);

        // B1: acct = H(sk_acct).
        let sk = witness(private.sk_acct)?;
        account_id(&sk)?.enforce_equal(acct)?;

        // B2: f_old = H(balance_old, salt_old, acct), balance_old < 2^64.
        let balance_old = witness(Fr::from(private.balance_old))?;
        enforce_range(&balance_old, BAL_BITS)?;
        let salt_old = witness(private.salt_old)?;
        balance_commitment(&balance_old, &salt_old, acct)?.enforce_equal(f_old)?;

        // B3: side is a bit; the level is one-hot over K levels (so level < K);
        // 1 <= q < 2^20.
        let side = Boolean::new_witness(cs.clone(), || Ok(private.side == Side::Sell))?;
        let onehot = (0..k)
            .map(|j| Boolean::new_witness(cs.clone(), || Ok(private.level == j)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut hot_count = FpVar::zero();
        let mut level = FpVar::zero();
        for (j, e) in onehot.iter().enumerate() {
            let e = FpVar::from(e.clone());
            level += &e * Fr::from(j as u64);
            hot_count += e;
        }
        hot_count.enforce_equal(&FpVar::one())?;
        let q = witness(Fr::from(private.q))?;
        let q_bits = enforce_bits(&q, Q_BITS)?;
        q.enforce_not_equal(&FpVar::zero())?;

        // B4: the lock follows from the bid. With expected = q·p_level·(BPS + margin) for a
        // buyer and q·penalty_rate·BPS for a seller: BPS·lock = expected + rem with
        // 0 <= rem < BPS (buyer: lock = ceil(expected / BPS)) and rem = 0 for a seller.
        let price = &level * Fr::from(params.tick) + Fr::from(params.floor);
        let q_price = &q * &price;
        let buy_amount = &q_price * Fr::from(BPS + params.margin_bps);
        let sell_amount = &q * Fr::from(params.penalty_rate * BPS);
        let side_fp = FpVar::from(side.clone());
        let expected = &buy_amount + &side_fp * &(&sell_amount - &buy_amount);
        let lock = witness(Fr::from(private.lock))?;
        let lock_bits = enforce_bits(&lock, LOCK_BITS)?;
        let rem = &lock * Fr::from(BPS) - &expected;
        enforce_range(&rem, REM_BITS)?;
        enforce_less_than(&rem, &FpVar::constant(Fr::from(BPS)), REM_BITS)?;
        side_fp.mul_equals(&rem, &FpVar::zero())?;

        // B5: balance_new = balance_old - lock >= 0 (a negative value wraps to a field
        // element far above 2^64 and fails the range check).
        let balance_new = &balance_old - &lock;
        enforce_range(&balance_new, BAL_BITS)?;

        // B6: f_new = H(balance_new, salt_new, acct).
        let salt_new = witness(private.salt_new)?;
        balance_commitment(&balance_new, &salt_new, acct)?.enforce_equal(f_new)?;

        // B7: bid = H(side, level, q, lock, salt_bid, acct, round).
        let salt_bid = witness(private.salt_bid)?;
        hash(&[
            side_fp,
            level,
            q,
            lock,
            salt_bid,
            acct.clone(),
            round.clone(),
        ])?
        .enforce_equal(bid)?;

        // B8: C1 = r·G, C2_j = m_j·G + r·PK_j with m the one-hot vector holding q at
        // slot side·K + level and the lock at slot 2K.
        // r's bits are not bounded by l: any bit string encrypts with r mod l
        // (`alloc_randomness_bits`).
        let r_bits = alloc_randomness_bits(cs.clone(), || Ok(private.r))?;
        let q_point = fixed_base_mul(&base8(), &q_bits)?;
        let lock_point = fixed_base_mul(&base8(), &lock_bits)?;
        let mut messages = Vec::with_capacity(2 * k + 1);
        let not_side = !&side;
        for e in &onehot {
            messages.push(select_or_identity(&(e & &not_side), &q_point)?);
        }
        for e in &onehot {
            messages.push(select_or_identity(&(e & &side), &q_point)?);
        }
        messages.push(lock_point);
        let ciphertexts = encrypt(&keys, &r_bits, &messages)?;

        // B9: digest = the Poseidon digest of the ciphertexts.
        ciphertexts.digest()?.enforce_equal(digest)?;
        Ok(())
    }
}
