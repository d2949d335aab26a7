//! The bid statement (`docs/PROTOCOL.md` §4.2): a sealed bid with its margin locked from
//! the confidential free balance, and its flows encrypted for the committee.
//!
//! [`check`] restates the relation natively; [`circuit::BidCircuit`] enforces it; the
//! tests show the two agree, statement by statement.

pub mod circuit;

use crate::babyjubjub::Scalar;
use crate::commitment::{account_id, balance_commitment};
use crate::flow::{FlowCiphertexts, FlowKeys};
use crate::market::params::{MarketParams, ParamsError, Side, BAL_BITS};
use crate::poseidon::hash_fixed;
use crate::public_inputs::{self, PublicInputsError};
use crate::Fr;

pub use circuit::BidCircuit;

/// The bid proof's public inputs, in the order of `docs/PROTOCOL.md` §4.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BidProofPublic {
    /// The round (delivery slot index) the bid is for.
    pub round: u64,
    /// The bidder's account id, `H(sk_acct)`.
    pub acct: Fr,
    /// The free balance commitment the bid spends from (must be current on chain).
    pub f_old: Fr,
    /// The free balance commitment after the lock is taken out.
    pub f_new: Fr,
    /// The bid commitment `H(side, level, q, lock, salt, acct, round)`.
    pub bid: Fr,
    /// Digest of the flow ciphertexts.
    pub digest: Fr,
}

impl BidProofPublic {
    /// Offsets of each public input in [`Self::to_field_elements`].
    pub const ROUND: usize = 0;
    /// Offset of `acct`.
    pub const ACCT: usize = 1;
    /// Offset of `f_old`.
    pub const F_OLD: usize = 2;
    /// Offset of `f_new`.
    pub const F_NEW: usize = 3;
    /// Offset of `bid`.
    pub const BID: usize = 4;
    /// Offset of `digest`.
    pub const DIGEST: usize = 5;
    /// Number of public inputs.
    pub const LEN: usize = 6;

    /// The one place that orders the public inputs.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let BidProofPublic {
            round,
            acct,
            f_old,
            f_new,
            bid,
            digest,
        } = self;
        vec![Fr::from(*round), *acct, *f_old, *f_new, *bid, *digest]
    }

    /// The inverse of [`Self::to_field_elements`], by the same offsets.
    ///
    /// # Errors
    ///
    /// Not [`Self::LEN`] inputs, or a round that does not fit a `u64`.
    pub fn from_field_elements(x: &[Fr]) -> Result<Self, PublicInputsError> {
        let x: [Fr; Self::LEN] = public_inputs::exactly(x)?;
        Ok(BidProofPublic {
            round: public_inputs::round(x[Self::ROUND], Self::ROUND)?,
            acct: x[Self::ACCT],
            f_old: x[Self::F_OLD],
            f_new: x[Self::F_NEW],
            bid: x[Self::BID],
            digest: x[Self::DIGEST],
        })
    }
}

/// The bid proof's private inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BidProofPrivate {
    /// The account secret.
    pub sk_acct: Fr,
    /// Free balance before the bid.
    pub balance_old: u64,
    /// Salt of `f_old`.
    pub salt_old: Fr,
    /// Salt of `f_new`.
    pub salt_new: Fr,
    /// Buy or sell.
    pub side: Side,
    /// Price level, `0 <= level < K`.
    pub level: usize,
    /// Quantity in Wh.
    pub q: u64,
    /// The margin locked.
    pub lock: u64,
    /// Salt of the bid commitment.
    pub salt_bid: Fr,
    /// The ElGamal randomness shared by all slots.
    pub r: Scalar,
}

/// A bid's opening, kept by the prosumer until settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BidOpening {
    /// Buy or sell.
    pub side: Side,
    /// Price level.
    pub level: usize,
    /// Quantity in Wh.
    pub q: u64,
    /// The margin locked.
    pub lock: u64,
    /// Salt of the bid commitment.
    pub salt: Fr,
}

impl BidOpening {
    /// The bid commitment (statement B7).
    pub fn commitment(&self, acct: Fr, round: u64) -> Fr {
        hash_fixed([
            Fr::from(self.side.bit()),
            Fr::from(self.level as u64),
            Fr::from(self.q),
            Fr::from(self.lock),
            self.salt,
            acct,
            Fr::from(round),
        ])
    }
}

/// The message vector a bid encrypts: `q` in slot `side·K + level`, `lock` in slot 2K.
pub fn flow_messages(levels: usize, side: Side, level: usize, q: u64, lock: u64) -> Vec<u64> {
    let mut m = vec![0u64; 2 * levels + 1];
    m[side.bit() as usize * levels + level] = q;
    m[2 * levels] = lock;
    m
}

/// Which statement of `docs/PROTOCOL.md` §4.2 a witness breaks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BidError {
    /// The flow keys do not match the market's K.
    #[error("{keys} flow keys for K = {levels} (need 2K + 1)")]
    Keys {
        /// Keys held.
        keys: usize,
        /// K.
        levels: usize,
    },
    /// B1: `acct != H(sk_acct)`.
    #[error("B1: the account id is not the hash of the account secret")]
    Account,
    /// B2: the old free balance does not open `f_old`.
    #[error("B2: the old free balance does not open f_old")]
    OldBalance,
    /// B3: level or quantity out of range.
    #[error("B3: {0}")]
    Range(#[from] ParamsError),
    /// B4: the lock does not follow from the bid.
    #[error("B4: lock {lock} does not match the bid (expected {expected})")]
    Lock {
        /// Lock claimed.
        lock: u64,
        /// Lock the bid requires.
        expected: u64,
    },
    /// B5: the lock exceeds the free balance.
    #[error("B5: insufficient margin: lock {lock} exceeds free balance {balance}")]
    InsufficientMargin {
        /// Lock.
        lock: u64,
        /// Free balance.
        balance: u64,
    },
    /// B6: `f_new` is not the commitment to the remaining balance.
    #[error("B6: f_new does not commit to balance_old - lock")]
    NewBalance,
    /// B7: the bid commitment does not match.
    #[error("B7: the bid commitment does not match the bid")]
    BidCommitment,
    /// B8/B9: the digest does not match the ciphertexts of the bid.
    #[error("B8/B9: the ciphertext digest does not match the bid's flows")]
    Digest,
}

/// Restates the bid relation natively (statements B1..B9).
pub fn check(
    params: &MarketParams,
    keys: &FlowKeys,
    public: &BidProofPublic,
    private: &BidProofPrivate,
) -> Result<(), BidError> {
    let k = params.levels;
    if keys.len() != 2 * k + 1 {
        return Err(BidError::Keys {
            keys: keys.len(),
            levels: k,
        });
    }
    // B1
    if account_id(private.sk_acct) != public.acct {
        return Err(BidError::Account);
    }
    // B2
    if balance_commitment(Fr::from(private.balance_old), private.salt_old, public.acct)
        != public.f_old
    {
        return Err(BidError::OldBalance);
    }
    // B3 (side is a Rust enum: always 0 or 1)
    params.check_bid(private.level, private.q)?;
    // B4
    let expected = params.lock(private.side, private.level, private.q)?;
    if private.lock != expected {
        return Err(BidError::Lock {
            lock: private.lock,
            expected,
        });
    }
    // B5 (balances are u64 = BAL_BITS bits)
    debug_assert_eq!(BAL_BITS, 64);
    let balance_new =
        private
            .balance_old
            .checked_sub(private.lock)
            .ok_or(BidError::InsufficientMargin {
                lock: private.lock,
                balance: private.balance_old,
            })?;
    // B6
    if balance_commitment(Fr::from(balance_new), private.salt_new, public.acct) != public.f_new {
        return Err(BidError::NewBalance);
    }
    // B7
    let opening = private.opening();
    if opening.commitment(public.acct, public.round) != public.bid {
        return Err(BidError::BidCommitment);
    }
    // B8, B9
    if private.ciphertexts(params, keys).digest() != public.digest {
        return Err(BidError::Digest);
    }
    Ok(())
}

impl BidProofPrivate {
    /// The opening of the bid commitment.
    pub fn opening(&self) -> BidOpening {
        BidOpening {
            side: self.side,
            level: self.level,
            q: self.q,
            lock: self.lock,
            salt: self.salt_bid,
        }
    }

    /// The flow ciphertexts this bid posts (statement B8).
    ///
    /// # Panics
    /// If `keys` does not hold 2K + 1 keys or the level is off the grid; [`check`] reports
    /// both as errors first.
    pub fn ciphertexts(&self, params: &MarketParams, keys: &FlowKeys) -> FlowCiphertexts {
        let m = flow_messages(params.levels, self.side, self.level, self.q, self.lock);
        keys.encrypt(&m, &self.r).expect("2K + 1 keys")
    }
}

/// A bid ready to prove: everything a prosumer computes before proving.
#[derive(Clone, Debug)]
pub struct PreparedBid {
    /// Public inputs.
    pub public: BidProofPublic,
    /// Witness.
    pub private: BidProofPrivate,
    /// The ciphertexts to post beside the proof.
    pub ciphertexts: FlowCiphertexts,
}

/// Builds a valid bid from the prosumer's state: its secret, its current free balance
/// opening, the bid, and fresh randomness.
#[allow(clippy::too_many_arguments)]
pub fn prepare<R: rand::Rng>(
    params: &MarketParams,
    keys: &FlowKeys,
    round: u64,
    sk_acct: Fr,
    balance_old: u64,
    salt_old: Fr,
    side: Side,
    level: usize,
    q: u64,
    rng: &mut R,
) -> Result<PreparedBid, BidError> {
    use ark_std::UniformRand;
    let lock = params.lock(side, level, q)?;
    let balance_new = balance_old
        .checked_sub(lock)
        .ok_or(BidError::InsufficientMargin {
            lock,
            balance: balance_old,
        })?;
    let acct = account_id(sk_acct);
    let private = BidProofPrivate {
        sk_acct,
        balance_old,
        salt_old,
        salt_new: Fr::rand(rng),
        side,
        level,
        q,
        lock,
        salt_bid: Fr::rand(rng),
        r: Scalar::rand(rng),
    };
    let ciphertexts = private.ciphertexts(params, keys);
    let public = BidProofPublic {
        round,
        acct,
        f_old: balance_commitment(Fr::from(balance_old), salt_old, acct),
        f_new: balance_commitment(Fr::from(balance_new), private.salt_new, acct),
        bid: private.opening().commitment(acct, round),
        digest: ciphertexts.digest(),
    };
    check(params, keys, &public, &private)?;
    Ok(PreparedBid {
        public,
        private,
        ciphertexts,
    })
}

#[cfg(test)]
mod tests;
