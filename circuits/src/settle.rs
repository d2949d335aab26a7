//! The settlement statement (`docs/PROTOCOL.md` §4.3): a bid's fill from the public
//! clearing, meter-backed delivery, payment, penalty, and the payout commitment, with the
//! side kept hidden.
//!
//! [`check`] restates the relation natively; [`circuit::SettleCircuit`] enforces it.

pub mod circuit;

use crate::babyjubjub::Scalar;
use crate::bid::BidOpening;
use crate::commitment::account_id;
use crate::eddsa::{PrivateKey, PublicKey, Signature};
use crate::flow::{FlowCiphertexts, FlowKeys};
use crate::market::params::{MarketParams, Side};
use crate::market::Clearing;
use crate::poseidon::hash_fixed;
use crate::public_inputs::{self, PublicInputsError};
use crate::Fr;

pub use circuit::SettleCircuit;

/// Number of settlement flows: paid in, credited, penalty.
pub const SETTLE_FLOWS: usize = 3;
/// Bits of a meter reading in Wh.
pub const READING_BITS: usize = 20;

/// The settle proof's public inputs, in the order of `docs/PROTOCOL.md` §4.3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleProofPublic {
    /// The round being settled.
    pub round: u64,
    /// The account id.
    pub acct: Fr,
    /// The bid commitment consumed.
    pub bid: Fr,
    /// The payout commitment created.
    pub p_out: Fr,
    /// The round's clearing, packed ([`Clearing::pack`]).
    pub clearing: Fr,
    /// The account's registered meter, `H(A.x, A.y)`.
    pub meter_id: Fr,
    /// Digest of the settlement flow ciphertexts.
    pub digest: Fr,
}

impl SettleProofPublic {
    /// Offset of `round`.
    pub const ROUND: usize = 0;
    /// Offset of `acct`.
    pub const ACCT: usize = 1;
    /// Offset of `bid`.
    pub const BID: usize = 2;
    /// Offset of `p_out`.
    pub const P_OUT: usize = 3;
    /// Offset of `clearing`.
    pub const CLEARING: usize = 4;
    /// Offset of `meter_id`.
    pub const METER_ID: usize = 5;
    /// Offset of `digest`.
    pub const DIGEST: usize = 6;
    /// Number of public inputs.
    pub const LEN: usize = 7;

    /// The one place that orders the public inputs.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let SettleProofPublic {
            round,
            acct,
            bid,
            p_out,
            clearing,
            meter_id,
            digest,
        } = self;
        vec![
            Fr::from(*round),
            *acct,
            *bid,
            *p_out,
            *clearing,
            *meter_id,
            *digest,
        ]
    }

    /// The inverse of [`Self::to_field_elements`], by the same offsets.
    ///
    /// # Errors
    ///
    /// Not [`Self::LEN`] inputs, or a round that does not fit a `u64`.
    pub fn from_field_elements(x: &[Fr]) -> Result<Self, PublicInputsError> {
        let x: [Fr; Self::LEN] = public_inputs::exactly(x)?;
        Ok(SettleProofPublic {
            round: public_inputs::round(x[Self::ROUND], Self::ROUND)?,
            acct: x[Self::ACCT],
            bid: x[Self::BID],
            p_out: x[Self::P_OUT],
            clearing: x[Self::CLEARING],
            meter_id: x[Self::METER_ID],
            digest: x[Self::DIGEST],
        })
    }
}

/// A meter's signed interval reading for one slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterReading {
    /// Energy imported from the grid in the slot, Wh.
    pub import_wh: u64,
    /// Energy exported to the grid in the slot, Wh.
    pub export_wh: u64,
    /// The meter's EdDSA-Poseidon signature over [`reading_message`].
    pub signature: Signature,
}

/// `meter_id = H(A.x, A.y)`.
pub fn meter_id(key: &PublicKey) -> Fr {
    hash_fixed([key.point().x, key.point().y])
}

/// The domain tag that opens every message a meter signs: the ASCII bytes of
/// `sealgrid/meter-reading/v1` read as a big-endian integer (25 bytes, below the field's
/// modulus). A meter key's signature on a reading can then never be taken for its
/// signature on any other Poseidon message of the same arity.
pub fn reading_domain() -> Fr {
    use ark_ff::PrimeField;
    Fr::from_be_bytes_mod_order(b"sealgrid/meter-reading/v1")
}

/// The message a meter signs: `H(tag, meter_id, round, import_wh, export_wh)`, `tag` the
/// [`reading_domain`].
pub fn reading_message(meter: Fr, round: u64, import_wh: u64, export_wh: u64) -> Fr {
    hash_fixed([
        reading_domain(),
        meter,
        Fr::from(round),
        Fr::from(import_wh),
        Fr::from(export_wh),
    ])
}

/// The energy a reading shows the household delivered to the grid over the slot: its
/// net export, `export_wh - import_wh` when positive, else 0. A seller is credited for
/// at most this much (statement S4): energy it drew from the grid in the same slot is
/// not energy it sold.
pub fn net_export(import_wh: u64, export_wh: u64) -> u64 {
    export_wh.saturating_sub(import_wh)
}

/// A meter signs its reading of one slot (the simulated meters of tests and demos).
pub fn sign_reading(
    meter_key: &PrivateKey,
    round: u64,
    import_wh: u64,
    export_wh: u64,
) -> MeterReading {
    let id = meter_id(&meter_key.public_key());
    MeterReading {
        import_wh,
        export_wh,
        signature: meter_key.sign(reading_message(id, round, import_wh, export_wh)),
    }
}

/// The settle proof's private inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleProofPrivate {
    /// The account secret.
    pub sk_acct: Fr,
    /// The opening of the bid being settled.
    pub bid: BidOpening,
    /// Salt of the payout commitment.
    pub payout_salt: Fr,
    /// The meter's public key.
    pub meter_key: PublicKey,
    /// The signed reading of the round's slot.
    pub reading: MeterReading,
    /// ElGamal randomness of the settlement flows.
    pub r: Scalar,
}

/// The money a settlement moves (statements S3..S5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Energy the bid trades, Wh.
    pub fill: u64,
    /// Buyer's payment.
    pub pay: u64,
    /// Seller's credit for delivered energy.
    pub credit: u64,
    /// Seller's penalty for shortfall.
    pub penalty: u64,
    /// What returns to the owner: `lock - pay + credit - penalty`.
    pub payout: u64,
}

impl Settlement {
    /// The flow message vector `[pay, credit, penalty]`.
    pub fn flows(&self) -> [u64; SETTLE_FLOWS] {
        [self.pay, self.credit, self.penalty]
    }
}

/// Which statement of `docs/PROTOCOL.md` §4.3 a witness breaks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettleError {
    /// Fewer than 3 flow keys.
    #[error("settlement needs {SETTLE_FLOWS} flow keys, {0} given")]
    Keys(usize),
    /// The clearing given is not the one packed in the public input.
    #[error("the clearing does not match the public clearing input")]
    Clearing,
    /// S1: account or bid commitment does not open.
    #[error("S1: the account secret or the bid opening does not match")]
    Bid,
    /// S2: the meter key is not the registered one.
    #[error("S2: the meter key is not the account's registered meter")]
    Meter,
    /// S2: the reading's signature is invalid (another slot, another meter, forged).
    #[error("S2: the meter reading's signature does not verify")]
    Reading,
    /// S2: a reading out of range.
    #[error("S2: a reading does not fit in {READING_BITS} bits")]
    ReadingRange,
    /// S3/S5: the payout would be negative.
    #[error("S5: negative payout")]
    NegativePayout,
    /// S6: the payout commitment does not match.
    #[error("S6: the payout commitment does not match")]
    Payout,
    /// S7: the flow digest does not match.
    #[error("S7: the settlement flow digest does not match")]
    Digest,
}

/// The settlement of a bid under a clearing and a meter's reading of the slot
/// (statements S3..S5): a seller is credited for its fill up to its [`net_export`].
pub fn settlement(
    params: &MarketParams,
    clearing: &Clearing,
    bid: &BidOpening,
    import_wh: u64,
    export_wh: u64,
) -> Result<Settlement, SettleError> {
    let delivered_wh = net_export(import_wh, export_wh);
    let fill = clearing.fill(bid.side, bid.level, bid.q);
    let price = params.price(clearing.level);
    let (pay, credit, penalty) = match bid.side {
        Side::Buy => (fill * price, 0, 0),
        Side::Sell => {
            let delivered = fill.min(delivered_wh);
            (
                0,
                delivered * price,
                (fill - delivered) * params.penalty_rate,
            )
        }
    };
    let payout = (bid.lock + credit)
        .checked_sub(pay + penalty)
        .ok_or(SettleError::NegativePayout)?;
    Ok(Settlement {
        fill,
        pay,
        credit,
        penalty,
        payout,
    })
}

/// Restates the settle relation natively (statements S1..S7).
pub fn check(
    params: &MarketParams,
    keys: &FlowKeys,
    clearing: &Clearing,
    public: &SettleProofPublic,
    private: &SettleProofPrivate,
) -> Result<Settlement, SettleError> {
    if keys.len() < SETTLE_FLOWS {
        return Err(SettleError::Keys(keys.len()));
    }
    // The packed clearing is the public input; the struct is its unpacked form.
    if clearing.pack() != public.clearing {
        return Err(SettleError::Clearing);
    }
    // S1
    let acct = account_id(private.sk_acct);
    if acct != public.acct || private.bid.commitment(acct, public.round) != public.bid {
        return Err(SettleError::Bid);
    }
    // S2
    let id = meter_id(&private.meter_key);
    if id != public.meter_id {
        return Err(SettleError::Meter);
    }
    let r = &private.reading;
    if r.import_wh >= 1 << READING_BITS || r.export_wh >= 1 << READING_BITS {
        return Err(SettleError::ReadingRange);
    }
    private
        .meter_key
        .verify(
            reading_message(id, public.round, r.import_wh, r.export_wh),
            &r.signature,
        )
        .map_err(|_| SettleError::Reading)?;
    // S3, S4, S5
    let s = settlement(params, clearing, &private.bid, r.import_wh, r.export_wh)?;
    // S6
    if hash_fixed([Fr::from(s.payout), private.payout_salt, acct]) != public.p_out {
        return Err(SettleError::Payout);
    }
    // S7
    if private.ciphertexts(keys, &s).digest() != public.digest {
        return Err(SettleError::Digest);
    }
    Ok(s)
}

impl SettleProofPrivate {
    /// The settlement flow ciphertexts under the first three flow keys (statement S7).
    pub fn ciphertexts(&self, keys: &FlowKeys, s: &Settlement) -> FlowCiphertexts {
        settle_keys(keys)
            .encrypt(&s.flows(), &self.r)
            .expect("three keys, three flows")
    }
}

/// The keys the settlement flows are encrypted under: the first three flow keys.
pub fn settle_keys(keys: &FlowKeys) -> FlowKeys {
    FlowKeys::new(keys.keys()[..SETTLE_FLOWS].to_vec()).expect("a prefix of valid keys is valid")
}

/// A settlement ready to prove.
#[derive(Clone, Debug)]
pub struct PreparedSettlement {
    /// Public inputs.
    pub public: SettleProofPublic,
    /// Witness.
    pub private: SettleProofPrivate,
    /// What the settlement moves.
    pub settlement: Settlement,
    /// The flow ciphertexts to post beside the proof.
    pub ciphertexts: FlowCiphertexts,
}

/// Builds a valid settlement for a bid from the public clearing and the meter's reading.
#[allow(clippy::too_many_arguments)]
pub fn prepare<R: rand::Rng>(
    params: &MarketParams,
    keys: &FlowKeys,
    clearing: &Clearing,
    round: u64,
    sk_acct: Fr,
    bid: BidOpening,
    meter_key: PublicKey,
    reading: MeterReading,
    rng: &mut R,
) -> Result<PreparedSettlement, SettleError> {
    use ark_std::UniformRand;
    let acct = account_id(sk_acct);
    let s = settlement(params, clearing, &bid, reading.import_wh, reading.export_wh)?;
    let private = SettleProofPrivate {
        sk_acct,
        bid,
        payout_salt: Fr::rand(rng),
        meter_key,
        reading,
        r: Scalar::rand(rng),
    };
    let ciphertexts = private.ciphertexts(keys, &s);
    let public = SettleProofPublic {
        round,
        acct,
        bid: private.bid.commitment(acct, round),
        p_out: hash_fixed([Fr::from(s.payout), private.payout_salt, acct]),
        clearing: clearing.pack(),
        meter_id: meter_id(&private.meter_key),
        digest: ciphertexts.digest(),
    };
    check(params, keys, clearing, &public, &private)?;
    Ok(PreparedSettlement {
        public,
        private,
        settlement: s,
        ciphertexts,
    })
}

#[cfg(test)]
mod tests;
