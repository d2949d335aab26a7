//! Solidity words back into the types the checks compare: field elements, proofs,
//! signatures. The inverse of `sealgrid_verifier_contract::calldata`.

use alloy_primitives::U256;
use sealgrid_committee::sign::EthSignature;
use sealgrid_prover::Proof;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::calldata::proof_from_words;

/// A proof from its eight words, as `calldata::proof_from_words` reads them (the
/// verifier contract's answer on every point, the all-zero point at infinity included);
/// `None` for what the contract refuses.
pub fn proof(w: &[U256; 8]) -> Option<Proof> {
    proof_from_words(w).ok()
}

/// A contract `Signature` as the committee's `r ‖ s ‖ v`.
pub fn signature(s: &Market::Signature) -> EthSignature {
    let mut out = [0u8; 65];
    out[..32].copy_from_slice(s.r.as_slice());
    out[32..64].copy_from_slice(s.s.as_slice());
    out[64] = s.v;
    EthSignature(out)
}

/// A `uint256` word as 32 big-endian bytes.
pub fn word(w: &U256) -> [u8; 32] {
    w.to_be_bytes::<32>()
}

/// Short hex of a word, for details: `0x1234…abcd`.
pub fn short(bytes: &[u8]) -> String {
    let h = hex::encode(bytes);
    if h.len() <= 12 {
        format!("0x{h}")
    } else {
        format!("0x{}…{}", &h[..6], &h[h.len() - 4..])
    }
}

/// `u64` of a word, if it fits.
pub fn u64_of(w: U256) -> Option<u64> {
    u64::try_from(w).ok()
}
