//! Identifiers shared by every module: trustees and bids.

use ark_ff::{BigInteger, PrimeField};
use sealgrid_circuits::babyjubjub::Scalar;
use sealgrid_circuits::Fr;
use serde::{Deserialize, Serialize};

/// A trustee's index, `1..=n`. It is also the point at which the trustee's Shamir shares
/// are evaluated, so it is never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrusteeId(pub u16);

impl TrusteeId {
    /// The evaluation point `x = id` of the trustee's shares.
    pub fn x(self) -> Scalar {
        Scalar::from(self.0 as u64)
    }
}

impl std::fmt::Display for TrusteeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trustee {}", self.0)
    }
}

/// An account id (`acct`, PROTOCOL §2) as the contract's `uint256`, big-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountId(#[serde(with = "crate::wire::bytes")] pub [u8; 32]);

/// A bid as the market contract names it: its commitment `B` (`docs/PROTOCOL.md` §2) as a
/// `bytes32`, i.e. the 32-byte big-endian encoding of the field element. Commitments are
/// salted, hence unique per bid.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BidId(#[serde(with = "crate::wire::bytes")] pub [u8; 32]);

impl AccountId {
    /// The id of account `acct` (a field element), big-endian as the contract's `uint256`.
    pub fn from_field(acct: Fr) -> AccountId {
        AccountId(BidId::from_commitment(acct).0)
    }
}

impl BidId {
    /// The id of the bid with commitment `b`.
    pub fn from_commitment(b: Fr) -> BidId {
        let mut out = [0u8; 32];
        out.copy_from_slice(&b.into_bigint().to_bytes_be());
        BidId(out)
    }
}

impl std::fmt::Debug for BidId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BidId(0x{}…)", hex::encode(&self.0[..6]))
    }
}
