//! The settle circuit: `docs/PROTOCOL.md` §4.3, one commented block per statement.

use super::{settle_keys, SettleProofPrivate, SettleProofPublic, READING_BITS};
use crate::alloc::{public_inputs, witness};
use crate::babyjubjub::base8;
use crate::babyjubjub::r1cs::{alloc_randomness_bits, fixed_base_mul};
use crate::commitment::r1cs::account_id;
use crate::eddsa::r1cs::{verify, PublicKeyVar, SignatureVar};
use crate::flow::r1cs::encrypt;
use crate::flow::FlowKeys;
use crate::market::params::{MarketParams, Side, BAL_BITS, Q_BITS, RATION_BITS};
use crate::market::Clearing;
use crate::poseidon::r1cs::hash;
use crate::range::r1cs::{enforce_bits, enforce_less_than, enforce_range, is_less_than};
use crate::Fr;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, select::CondSelectGadget,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use rand::SeedableRng;

/// Bits of the clearing level field in the packed clearing.
const LEVEL_FIELD_BITS: usize = 8;
/// Bits of a level compared in the circuit (K <= 16).
const LEVEL_BITS: usize = 4;
/// Bits of a payment, credit or penalty: `fill · price < 2^20 · 2^20`.
const FLOW_BITS: usize = 40;

/// The settle circuit for one market parameter set and one committee epoch.
#[derive(Clone, Debug)]
pub struct SettleCircuit {
    /// Market parameters.
    pub params: MarketParams,
    /// The committee's flow keys; the settlement flows use the first three.
    pub keys: FlowKeys,
    /// The round's clearing; its packing is the public input `clearing`, and the
    /// circuit unpacks that input itself (the struct only supplies witness values).
    pub clearing: Clearing,
    /// Public inputs.
    pub public: SettleProofPublic,
    /// Witness.
    pub private: SettleProofPrivate,
}

impl SettleCircuit {
    /// A circuit with a valid witness of the right shape, for key generation.
    pub fn for_setup(params: &MarketParams, keys: &FlowKeys) -> SettleCircuit {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
        let sk = Fr::from(1u64);
        let bid = crate::bid::BidOpening {
            side: Side::Sell,
            level: 0,
            q: 1,
            lock: params.lock(Side::Sell, 0, 1).expect("valid default bid"),
            salt: Fr::from(2u64),
        };
        let clearing = crate::market::clear(&vec![1; params.levels], &vec![1; params.levels], 2, 0)
            .expect("a small histogram clears");
        let meter = crate::eddsa::PrivateKey::from_bytes([7; 32]);
        let reading = super::sign_reading(&meter, 0, 0, 1);
        let s = super::prepare(
            params,
            keys,
            &clearing,
            0,
            sk,
            bid,
            meter.public_key(),
            reading,
            &mut rng,
        )
        .expect("a valid setup settlement");
        SettleCircuit {
            params: params.clone(),
            keys: keys.clone(),
            clearing,
            public: s.public,
            private: s.private,
        }
    }
}

impl ConstraintSynthesizer<Fr> for SettleCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let SettleCircuit {
            params,
            keys,
            clearing,
            public,
            private,
        } = self;
        if keys.len() < super::SETTLE_FLOWS {
            return Err(SynthesisError::Unsatisfiable);
        }

        // Public inputs, in `SettleProofPublic::to_field_elements` order.
        let inputs = public_inputs(&cs, public.to_field_elements())?;
        let round = &inputs[SettleProofPublic::ROUND];
        let acct = &inputs[SettleProofPublic::ACCT];
        let bid = &inputs[SettleProofPublic::BID];
        let p_out = &inputs[SettleProofPublic::P_OUT];
        let clearing_in = &inputs[SettleProofPublic::CLEARING];
        let meter_id = &inputs[SettleProofPublic::METER_ID];
        let digest = &inputs[SettleProofPublic::DIGEST];

        let witness = |v: Fr| witness(&cs, v);
        let from_u64 = |v: u64| Fr::from(v);

        // The packed clearing, unpacked: every field range-checked, so the packing is
        // unique and the fields are the ones the contract posted.
        let cleared = Boolean::new_witness(cs.clone(), || Ok(clearing.cleared))?;
        let kstar = witness(from_u64(clearing.level as u64))?;
        // k* < 2^LEVEL_BITS (it is compared with 4-bit levels), so its 8-bit field's
        // higher bits are zero and the packing is unique.
        enforce_range(&kstar, LEVEL_BITS)?;
        let mut fields = Vec::new();
        for v in [
            clearing.buy.num,
            clearing.buy.den,
            clearing.sell.num,
            clearing.sell.den,
        ] {
            let f = witness(from_u64(v))?;
            enforce_range(&f, RATION_BITS)?;
            fields.push(f);
        }
        let mut packed = FpVar::from(cleared.clone());
        let mut shift = 1;
        packed += &kstar * Fr::from(2u64);
        shift += LEVEL_FIELD_BITS;
        for f in &fields {
            packed += f * pow2(shift);
            shift += RATION_BITS;
        }
        packed.enforce_equal(clearing_in)?;
        let (num_b, den_b, num_s, den_s) = (&fields[0], &fields[1], &fields[2], &fields[3]);

        // S1: acct = H(sk_acct); bid = H(side, level, q, lock, salt_bid, acct, round).
        // The opening's ranges (level < K <= 16, q < 2^20, lock < 2^48) are not enforced
        // again: the contract settles only a bid it accepted with a bid proof, whose B3
        // and B4 enforce them on this same opening (PROTOCOL §4.3).
        let sk = witness(private.sk_acct)?;
        account_id(&sk)?.enforce_equal(acct)?;
        let side = Boolean::new_witness(cs.clone(), || Ok(private.bid.side == Side::Sell))?;
        let side_fp = FpVar::from(side.clone());
        let level = witness(from_u64(private.bid.level as u64))?;
        let q = witness(from_u64(private.bid.q))?;
        let lock = witness(from_u64(private.bid.lock))?;
        let salt_bid = witness(private.bid.salt)?;
        hash(&[
            side_fp.clone(),
            level.clone(),
            q.clone(),
            lock.clone(),
            salt_bid,
            acct.clone(),
            round.clone(),
        ])?
        .enforce_equal(bid)?;

        // S2: meter_id = H(A.x, A.y); (R8, S) signs H(tag, meter_id, round, import, export).
        let meter = PublicKeyVar::new_witness(cs.clone(), || Ok(private.meter_key))?;
        hash(&[meter.point().x.clone(), meter.point().y.clone()])?.enforce_equal(meter_id)?;
        let import = witness(from_u64(private.reading.import_wh))?;
        enforce_range(&import, READING_BITS)?;
        let export = witness(from_u64(private.reading.export_wh))?;
        enforce_range(&export, READING_BITS)?;
        let tag = FpVar::Constant(super::reading_domain());
        let msg = hash(&[
            tag,
            meter_id.clone(),
            round.clone(),
            import.clone(),
            export.clone(),
        ])?;
        let signature = SignatureVar::new_witness(cs.clone(), || Ok(private.reading.signature))?;
        verify(&meter, &msg, &signature)?;

        // S3: the fill. Buyers fill fully above k*, sellers below; the side at k* gets
        // floor(q · num / den), enforced as 0 <= q·num - fill·den < den.
        let below = is_less_than(&level, &kstar, LEVEL_BITS)?;
        let at = level.is_eq(&kstar)?;
        let above = !(&below | &at);
        let full = Boolean::conditionally_select(&side, &below, &above)?;
        let num = FpVar::conditionally_select(&side, num_s, num_b)?;
        let den = FpVar::conditionally_select(&side, den_s, den_b)?;
        let rationed = witness({
            let ration = if private.bid.side == Side::Sell {
                clearing.sell
            } else {
                clearing.buy
            };
            from_u64(ration.apply(private.bid.q))
        })?;
        enforce_range(&rationed, Q_BITS)?;
        let rem = &q * &num - &rationed * &den;
        enforce_range(&rem, RATION_BITS)?;
        enforce_less_than(&rem, &den, RATION_BITS)?;
        let traded = FpVar::from(full) * &q + FpVar::from(at) * &rationed;
        let fill = FpVar::from(cleared) * &traded;

        // S4: p* = floor + k*·tick; buyer pays fill·p*; seller is credited
        // min(fill, net)·p* and penalised (fill - min(fill, net))·penalty_rate, net its net
        // export.
        let price = &kstar * Fr::from(params.tick) + Fr::from(params.floor);
        let value = &fill * &price;
        let pay = &value - &side_fp * &value;
        // net export: export - import if import < export, else 0
        let surplus = is_less_than(&import, &export, READING_BITS)?;
        let net = FpVar::from(surplus) * &(&export - &import);
        let short = is_less_than(&net, &fill, Q_BITS.max(READING_BITS))?;
        let delivered = FpVar::conditionally_select(&short, &net, &fill)?;
        let credit = &side_fp * &(&delivered * &price);
        let penalty = &side_fp * &(&fill - &delivered) * Fr::from(params.penalty_rate);

        // S5: payout = lock - pay + credit - penalty, 0 <= payout < 2^64.
        let payout = &lock - &pay + &credit - &penalty;
        enforce_range(&payout, BAL_BITS)?;

        // S6: p_out = H(payout, payout_salt, acct).
        let payout_salt = witness(private.payout_salt)?;
        hash(&[payout, payout_salt, acct.clone()])?.enforce_equal(p_out)?;

        // S7: the flow ciphertexts of (pay, credit, penalty) under PK_0..PK_2 and their
        // digest.
        // r's bits are not bounded by l: any bit string encrypts with r mod l
        // (`alloc_randomness_bits`).
        let r_bits = alloc_randomness_bits(cs.clone(), || Ok(private.r))?;
        let mut messages = Vec::with_capacity(3);
        for v in [&pay, &credit, &penalty] {
            let bits = enforce_bits(v, FLOW_BITS)?;
            messages.push(fixed_base_mul(&base8(), &bits)?);
        }
        let ciphertexts = encrypt(&settle_keys(&keys), &r_bits, &messages)?;
        ciphertexts.digest()?.enforce_equal(digest)?;
        Ok(())
    }
}

fn pow2(n: usize) -> Fr {
    use ark_ff::Field;
    Fr::from(2u64).pow([n as u64])
}
