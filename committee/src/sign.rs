//! Trustee signatures on a round's result, in the form the market contract verifies with
//! `ecrecover` (secp256k1 ECDSA, 65-byte `r ‖ s ‖ v`, `v ∈ {27, 28}`, low `s`).
//!
//! # The signed message
//!
//! The single definition is [`encode_clearing`]; it is the market contract's
//! `clearDigest` (`verifier-contract/contracts/Market.sol`, PROTOCOL §8), and a test in
//! `verifier-contract` checks the two agree:
//!
//! ```solidity
//! bytes32 constant CLEAR_TAG = keccak256("sealgrid.clear.v1");
//!
//! function clearDigest(uint64 round, uint32 bidCount, uint64[] calldata hBuy,
//!                      uint64[] calldata hSell, uint256[] calldata included)
//!     view returns (bytes32) {
//!     return keccak256(abi.encode(
//!         CLEAR_TAG,       // bytes32
//!         block.chainid,   // uint256
//!         address(this),   // address
//!         round,           // uint64
//!         bidCount,        // uint32     (the round's accepted bids; `clear` passes its own)
//!         hBuy,            // uint64[]   (K entries, level 0 first)
//!         hSell,           // uint64[]   (K entries, level 0 first)
//!         included         // uint256[]  inclusion bitmap over the round's bid indices
//!     ));
//! }
//! // signer = ecrecover(clearDigest(...), v, r, s)
//! ```
//!
//! `abi.encode` lays this out as eight 32-byte head words (the three arrays as offsets),
//! then each array as its length word followed by its elements, every value left-padded
//! to 32 bytes. The chain id and contract address bind a signature to one deployment; the
//! tag to this message type. `included` has bit `i % 256` of word `i / 256` set for every
//! bid index `i` (the contract's acceptance order within the round) that the aggregate
//! summed: a bitmap, because a list of 1,000 commitments would cost about 512k gas of
//! calldata. The digest is signed as is, with no `"\x19Ethereum Signed Message"` prefix:
//! trustee keys sign only tagged sealgrid digests.
//!
//! Finalization is signed the same way over the contract's `finalizeDigest`
//! ([`encode_finalize`], tag `sealgrid.finalize.v1`), checked against the contract's
//! encoding by a test in `verifier-contract` as well.

use crate::ids::BidId;
use crate::inclusion::InclusionBitmap;
use crate::wire;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

/// `keccak256(data)`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// The tag string hashed into [`clearing_tag`] (the contract's `CLEAR_TAG`).
pub const CLEARING_TAG: &str = "sealgrid.clear.v1";

/// `keccak256("sealgrid.clear.v1")`.
pub fn clearing_tag() -> [u8; 32] {
    keccak256(CLEARING_TAG.as_bytes())
}

/// An Ethereum address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address(#[serde(with = "wire::bytes")] pub [u8; 20]);

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// Where a signature is valid: one contract on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningDomain {
    /// `block.chainid`.
    pub chain_id: u64,
    /// The market contract.
    pub contract: Address,
}

/// What the committee attests for a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingStatement {
    /// The round.
    pub round: u64,
    /// How many bids the round holds in the signer's view (accepted, whether included or
    /// not). `clear` puts the contract's own count here, so a statement signed over a
    /// view that missed a bid does not verify (PROTOCOL §7).
    pub bids: u32,
    /// `H_buy[k]`, level 0 first.
    pub h_buy: Vec<u64>,
    /// `H_sell[k]`, level 0 first.
    pub h_sell: Vec<u64>,
    /// The inclusion bitmap over the round's bid indices
    /// ([`crate::aggregate::Aggregate::inclusion_bitmap`]).
    pub included: InclusionBitmap,
}

fn word_u64(x: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&x.to_be_bytes());
    w
}

/// The one definition of the signed message: `abi.encode(CLEAR_TAG, chainId, contract,
/// round, bidCount, hBuy, hSell, included)` (see the module documentation).
pub fn encode_clearing(domain: &SigningDomain, st: &ClearingStatement) -> Vec<u8> {
    const HEAD_WORDS: u64 = 8;
    let buy_offset = 32 * HEAD_WORDS;
    let sell_offset = buy_offset + 32 * (1 + st.h_buy.len() as u64);
    let included_offset = sell_offset + 32 * (1 + st.h_sell.len() as u64);
    let mut address = [0u8; 32];
    address[12..].copy_from_slice(&domain.contract.0);
    let mut out = Vec::with_capacity(
        32 * (HEAD_WORDS as usize + 3 + st.h_buy.len() + st.h_sell.len() + st.included.len()),
    );
    out.extend_from_slice(&clearing_tag());
    out.extend_from_slice(&word_u64(domain.chain_id));
    out.extend_from_slice(&address);
    out.extend_from_slice(&word_u64(st.round));
    out.extend_from_slice(&word_u64(u64::from(st.bids)));
    out.extend_from_slice(&word_u64(buy_offset));
    out.extend_from_slice(&word_u64(sell_offset));
    out.extend_from_slice(&word_u64(included_offset));
    for h in [&st.h_buy, &st.h_sell] {
        out.extend_from_slice(&word_u64(h.len() as u64));
        for &x in h.iter() {
            out.extend_from_slice(&word_u64(x));
        }
    }
    out.extend_from_slice(&word_u64(st.included.len() as u64));
    for w in st.included.iter() {
        out.extend_from_slice(w);
    }
    out
}

/// `keccak256(encode_clearing(..))`: what `ecrecover` is called on.
pub fn clearing_digest(domain: &SigningDomain, st: &ClearingStatement) -> [u8; 32] {
    keccak256(&encode_clearing(domain, st))
}

/// The tag string hashed into [`finalize_tag`] (the contract's `FINALIZE_TAG`).
pub const FINALIZE_TAG: &str = "sealgrid.finalize.v1";

/// `keccak256("sealgrid.finalize.v1")`.
pub fn finalize_tag() -> [u8; 32] {
    keccak256(FINALIZE_TAG.as_bytes())
}

/// A round's decrypted settlement totals: the market contract's `FlowTotals`
/// (`pay, credit, penalty, defaultedLocks`, each a `uint256` there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeTotals {
    /// `Σ pay` over the settlements summed.
    pub pay: u64,
    /// `Σ credit`.
    pub credit: u64,
    /// `Σ penalty`.
    pub penalty: u64,
    /// `Σ lock` over the defaulted bids summed.
    pub defaulted_locks: u64,
}

impl FinalizeTotals {
    /// `[pay, credit, penalty, defaulted_locks]`, the contract's field order.
    pub fn to_array(self) -> [u64; 4] {
        [self.pay, self.credit, self.penalty, self.defaulted_locks]
    }

    /// The operator's residual `pay + penalty − credit + defaulted_locks`, the market
    /// contract's `toOperator` (an `int256` there): paid to the operator when positive,
    /// drawn from it when negative (rounding dust the grid bought). In `i128` it is
    /// exact: each term is below 2^64, so the sum lies in `(−2^64, 3·2^64)` and no
    /// operation can overflow (the tests pin both ends); narrow it with `try_from`.
    pub fn operator_residual(&self) -> i128 {
        let FinalizeTotals {
            pay,
            credit,
            penalty,
            defaulted_locks,
        } = *self;
        i128::from(pay) + i128::from(penalty) - i128::from(credit) + i128::from(defaulted_locks)
    }
}

/// What the committee attests to finalize a round (PROTOCOL §7, §8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeStatement {
    /// The round.
    pub round: u64,
    /// The decrypted totals.
    pub totals: FinalizeTotals,
    /// The round's accepted bids without a settlement, as the contract's `uint256` bid
    /// commitments (a [`BidId`] is that `bytes32`), in acceptance order. Anyone records
    /// them on chain in pages (`recordDefaults`); the signed digest binds only their
    /// number, which `finalize` compares with the round's recorded defaults.
    pub defaulted: Vec<BidId>,
    /// The settled bids whose posted flow ciphertexts do not digest to their proven `E`,
    /// in settlement order: `finalize` voids their payouts and counts them as defaults.
    pub voided: Vec<BidId>,
}

/// The one definition of the finalize message: `abi.encode(FINALIZE_TAG, chainId,
/// contract, round, totals, uint32 defaulted.len(), voided)`, the market contract's
/// `finalizeDigest` preimage. `totals` is a static struct of four `uint256`, encoded in
/// place; the number of defaulters a `uint32` word; `voided` a dynamic `uint256[]`: ten
/// head words (the last the offset 320), then its length and elements.
///
/// ```solidity
/// struct FlowTotals { uint256 pay; uint256 credit; uint256 penalty; uint256 defaultedLocks; }
/// function finalizeDigest(uint64 round, FlowTotals calldata totals, uint32 defaulted,
///                         uint256[] calldata voided) view returns (bytes32) {
///     return keccak256(abi.encode(FINALIZE_TAG, block.chainid, address(this), round,
///                                 totals, defaulted, voided));
/// }
/// ```
///
/// # Panics
///
/// If there are 2^32 defaulters or more (the contract counts them in a `uint32`).
pub fn encode_finalize(domain: &SigningDomain, st: &FinalizeStatement) -> Vec<u8> {
    const HEAD_WORDS: u64 = 10;
    let defaulted = u32::try_from(st.defaulted.len()).expect("fewer than 2^32 defaulters");
    let mut address = [0u8; 32];
    address[12..].copy_from_slice(&domain.contract.0);
    let mut out = Vec::with_capacity(32 * (HEAD_WORDS as usize + 1 + st.voided.len()));
    out.extend_from_slice(&finalize_tag());
    out.extend_from_slice(&word_u64(domain.chain_id));
    out.extend_from_slice(&address);
    out.extend_from_slice(&word_u64(st.round));
    for x in st.totals.to_array() {
        out.extend_from_slice(&word_u64(x));
    }
    out.extend_from_slice(&word_u64(u64::from(defaulted)));
    out.extend_from_slice(&word_u64(32 * HEAD_WORDS));
    out.extend_from_slice(&word_u64(st.voided.len() as u64));
    for b in &st.voided {
        out.extend_from_slice(&b.0);
    }
    out
}

/// `keccak256(encode_finalize(..))`: what `ecrecover` is called on in `finalize`.
pub fn finalize_digest(domain: &SigningDomain, st: &FinalizeStatement) -> [u8; 32] {
    keccak256(&encode_finalize(domain, st))
}

/// A 65-byte `r ‖ s ‖ v` signature, `v ∈ {27, 28}`.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthSignature(#[serde(with = "wire::bytes")] pub [u8; 65]);

impl std::fmt::Debug for EthSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EthSignature(0x{}…)", hex::encode(&self.0[..8]))
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// `v` not 27 or 28.
    #[error("v = {0} is not 27 or 28")]
    BadV(u8),
    /// `r` or `s` zero or out of range.
    #[error("r or s out of range")]
    BadRs,
    /// `s` in the upper half (malleable; OpenZeppelin's ECDSA refuses it too).
    #[error("high s")]
    HighS,
    /// No key recovers.
    #[error("public key recovery failed")]
    Recovery,
    /// Signing failed (never for a valid key).
    #[error("signing failed")]
    Signing,
    /// Not enough distinct committee signers.
    #[error("{valid} distinct committee signatures, {threshold} needed")]
    NotEnoughSigners {
        /// Valid distinct signers.
        valid: usize,
        /// Needed.
        threshold: usize,
    },
}

/// `address = keccak256(uncompressed public key without the 0x04 prefix)[12..]`.
pub fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let h = keccak256(&point.as_bytes()[1..]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    Address(a)
}

/// A trustee's secp256k1 key. `Debug` does not print it.
#[derive(Clone)]
pub struct TrusteeSigningKey(SigningKey);

impl std::fmt::Debug for TrusteeSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrusteeSigningKey({:?})", self.address())
    }
}

impl TrusteeSigningKey {
    /// A fresh key.
    pub fn random<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Self {
        TrusteeSigningKey(SigningKey::random(rng))
    }

    /// A key from its 32 big-endian bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SignError> {
        SigningKey::from_slice(bytes)
            .map(TrusteeSigningKey)
            .map_err(|_| SignError::BadRs)
    }

    /// Its 32 big-endian bytes, for encrypted storage only (the caller zeroizes them).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The address the contract registers.
    pub fn address(&self) -> Address {
        address_of(self.0.verifying_key())
    }

    /// Signs a 32-byte digest (RFC 6979 nonces, low `s`).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<EthSignature, SignError> {
        let (mut sig, mut recid) = self
            .0
            .sign_prehash_recoverable(digest)
            .map_err(|_| SignError::Signing)?;
        if let Some(low) = sig.normalize_s() {
            sig = low;
            recid = RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced());
        }
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        Ok(EthSignature(out))
    }
}

/// What `ecrecover(digest, v, r, s)` returns, with the checks OpenZeppelin's `ECDSA.recover`
/// adds (low `s`, `v ∈ {27, 28}`).
pub fn recover(digest: &[u8; 32], sig: &EthSignature) -> Result<Address, SignError> {
    let v = sig.0[64];
    if v != 27 && v != 28 {
        return Err(SignError::BadV(v));
    }
    let s = Signature::from_slice(&sig.0[..64]).map_err(|_| SignError::BadRs)?;
    if s.normalize_s().is_some() {
        return Err(SignError::HighS);
    }
    let recid = RecoveryId::from_byte(v - 27).ok_or(SignError::BadV(v))?;
    VerifyingKey::recover_from_prehash(digest, &s, recid)
        .map(|k| address_of(&k))
        .map_err(|_| SignError::Recovery)
}

/// The contract's acceptance rule: at least `threshold` signatures from distinct
/// committee addresses. Returns the distinct signers found.
pub fn verify_threshold(
    committee: &[Address],
    threshold: usize,
    digest: &[u8; 32],
    sigs: &[EthSignature],
) -> Result<Vec<Address>, SignError> {
    let mut signers: Vec<Address> = Vec::new();
    for s in sigs {
        if let Ok(a) = recover(digest, s) {
            if committee.contains(&a) && !signers.contains(&a) {
                signers.push(a);
            }
        }
    }
    if signers.len() < threshold {
        return Err(SignError::NotEnoughSigners {
            valid: signers.len(),
            threshold,
        });
    }
    Ok(signers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::from_hex;
    use rand::SeedableRng;

    #[test]
    fn the_operator_residual_is_exact_at_the_boundaries() {
        let t = |pay, credit, penalty, defaulted_locks| FinalizeTotals {
            pay,
            credit,
            penalty,
            defaulted_locks,
        };
        assert_eq!(t(0, 0, 0, 0).operator_residual(), 0);
        assert_eq!(t(10, 3, 2, 5).operator_residual(), 14);
        // the grid bought dust: negative
        assert_eq!(t(7, 9, 0, 0).operator_residual(), -2);
        // the top: three terms at u64::MAX, nothing credited
        let max = u64::MAX;
        assert_eq!(t(max, 0, max, max).operator_residual(), 3 * i128::from(max));
        // the bottom: everything credited, nothing paid
        assert_eq!(t(0, max, 0, 0).operator_residual(), -i128::from(max));
        // an i64 cannot hold either end, nor a residual just past i64::MAX
        assert!(i64::try_from(t(max, 0, 0, 0).operator_residual()).is_err());
        assert_eq!(
            i64::try_from(t(i64::MAX as u64, 0, 0, 0).operator_residual()),
            Ok(i64::MAX)
        );
        assert_eq!(
            t(max, max, max, max).operator_residual(),
            2 * i128::from(max)
        );
    }

    /// Vectors from eth-abi / eth-hash / eth-keys (`tests/vectors/generate.py`).
    #[derive(serde::Deserialize)]
    struct Vector {
        chain_id: u64,
        contract: String,
        round: u64,
        h_buy: Vec<u64>,
        h_sell: Vec<u64>,
        included_indices: Vec<u32>,
        posted: usize,
        included: Vec<String>,
        encoding: String,
        digest: String,
        secret_key: String,
        address: String,
        signature: String,
    }

    #[test]
    fn encoding_digest_signature_and_address_match_independent_vectors() {
        let v: Vector =
            serde_json::from_str(include_str!("../tests/vectors/clearing.json")).unwrap();
        let domain = SigningDomain {
            chain_id: v.chain_id,
            contract: Address(from_hex(&v.contract).unwrap()),
        };
        let st = ClearingStatement {
            round: v.round,
            bids: v.posted as u32,
            h_buy: v.h_buy,
            h_sell: v.h_sell,
            included: InclusionBitmap::from_words(
                v.included.iter().map(|s| from_hex(s).unwrap()).collect(),
            ),
        };
        assert_eq!(
            InclusionBitmap::from_indices(v.posted, v.included_indices.iter().copied()),
            st.included
        );
        assert_eq!(
            format!("0x{}", hex::encode(encode_clearing(&domain, &st))),
            v.encoding
        );
        let digest = clearing_digest(&domain, &st);
        assert_eq!(digest, from_hex::<32>(&v.digest).unwrap());
        let key = TrusteeSigningKey::from_bytes(&from_hex(&v.secret_key).unwrap()).unwrap();
        assert_eq!(key.address(), Address(from_hex(&v.address).unwrap()));
        // RFC 6979 on both sides: the very same bytes
        let sig = key.sign_digest(&digest).unwrap();
        assert_eq!(format!("0x{}", hex::encode(sig.0)), v.signature);
        assert_eq!(recover(&digest, &sig), Ok(key.address()));
    }

    #[test]
    fn well_known_address_and_empty_keccak() {
        let mut one = [0u8; 32];
        one[31] = 1;
        let key = TrusteeSigningKey::from_bytes(&one).unwrap();
        assert_eq!(
            format!("{:?}", key.address()),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
        assert_eq!(
            hex::encode(keccak256(&[])),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn malformed_and_malleated_signatures_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let key = TrusteeSigningKey::random(&mut rng);
        let digest = keccak256(b"round 7");
        let sig = key.sign_digest(&digest).unwrap();
        assert_eq!(recover(&digest, &sig), Ok(key.address()));
        let mut bad = sig;
        bad.0[64] = 29;
        assert_eq!(recover(&digest, &bad), Err(SignError::BadV(29)));
        // (r, n - s, v ^ 1) is the malleated twin ecrecover would accept
        let s = Signature::from_slice(&sig.0[..64]).unwrap();
        let high = Signature::from_scalars(s.r(), -*s.s()).unwrap();
        let mut bad = [0u8; 65];
        bad[..64].copy_from_slice(&high.to_bytes());
        bad[64] = if sig.0[64] == 27 { 28 } else { 27 };
        assert_eq!(recover(&digest, &EthSignature(bad)), Err(SignError::HighS));
        // another message recovers another address
        assert_ne!(recover(&keccak256(b"round 8"), &sig), Ok(key.address()));
        // the threshold rule counts distinct committee members only
        let other = TrusteeSigningKey::random(&mut rng);
        let committee = [key.address(), other.address()];
        assert_eq!(
            verify_threshold(&committee, 2, &digest, &[sig, sig]),
            Err(SignError::NotEnoughSigners {
                valid: 1,
                threshold: 2
            })
        );
        let sig2 = other.sign_digest(&digest).unwrap();
        assert_eq!(
            verify_threshold(&committee, 2, &digest, &[sig, sig2]),
            Ok(committee.to_vec())
        );
    }
}
