//! Solidity words back into the types the checks compare: field elements, proofs,
//! signatures. The inverse of `sealgrid_verifier_contract::calldata`.

use alloy_primitives::U256;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField, Zero};
use sealgrid_committee::sign::EthSignature;
use sealgrid_prover::Proof;
use sealgrid_verifier_contract::bindings::Market;

fn fq(x: U256) -> Option<Fq> {
    Fq::from_bigint(BigInt::new(*x.as_limbs()))
}

/// A proof from its eight words `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`
/// (all zeros is the point at infinity); `None` unless every coordinate is canonical and
/// every point on its curve and in its prime-order subgroup.
pub fn proof(w: &[U256; 8]) -> Option<Proof> {
    let g1 = |x: U256, y: U256| -> Option<G1Affine> {
        let (x, y) = (fq(x)?, fq(y)?);
        if x.is_zero() && y.is_zero() {
            return Some(G1Affine::zero());
        }
        let p = G1Affine::new_unchecked(x, y);
        (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
    };
    let a = g1(w[0], w[1])?;
    let (x, y) = (
        Fq2::new(fq(w[3])?, fq(w[2])?),
        Fq2::new(fq(w[5])?, fq(w[4])?),
    );
    let b = if x.is_zero() && y.is_zero() {
        G2Affine::zero()
    } else {
        let p = G2Affine::new_unchecked(x, y);
        if !(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()) {
            return None;
        }
        p
    };
    let c = g1(w[6], w[7])?;
    Some(Proof { a, b, c })
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
