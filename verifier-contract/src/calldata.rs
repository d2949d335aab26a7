//! Proofs, verifying keys and public inputs as Solidity arguments: the only place that
//! knows the encoding.
//!
//! - Field elements are `uint256` (big-endian integers, canonical form).
//! - A G1 point is `(x, y)`; a G2 point is `(x.c1, x.c0, y.c1, y.c0)`: EIP-197 writes an
//!   `Fq2` element `c0 + c1·u` imaginary part first. (snarkjs's JSON writes `(c0, c1)`;
//!   its generated Solidity verifier swaps them, as this module does.)
//! - The point at infinity is all zeros, as the precompiles read it.
//! - A proof is `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`.
//!
//! The public-input structs are filled from each statement's `to_field_elements`, the
//! one function that orders the inputs (PROTOCOL §4), by its named offsets.

use alloy_primitives::{Bytes, U256};
use alloy_sol_types::SolConstructor;
use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use sealgrid_circuits::balance::BalanceProofPublic;
use sealgrid_circuits::bid::BidProofPublic;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::settle::SettleProofPublic;
use sealgrid_circuits::Fr;

use crate::bindings::{Groth16Verifier, Market};
use crate::{Proof, VerifyingKey};

/// A prime-field element as a `uint256`.
pub fn field<F: PrimeField>(x: &F) -> U256 {
    U256::from_be_slice(&x.into_bigint().to_bytes_be())
}

/// A scalar (public input) as a `uint256`.
pub fn fr(x: &Fr) -> U256 {
    field(x)
}

/// Public inputs as `uint256[]`.
pub fn inputs(xs: &[Fr]) -> Vec<U256> {
    xs.iter().map(fr).collect()
}

fn fq(x: &Fq) -> U256 {
    field(x)
}

/// A G1 point as `(x, y)`; infinity as `(0, 0)`.
pub fn g1(p: &G1Affine) -> [U256; 2] {
    match p.xy() {
        Some((x, y)) => [fq(&x), fq(&y)],
        None => [U256::ZERO; 2],
    }
}

/// A G2 point as `(x.c1, x.c0, y.c1, y.c0)`; infinity as zeros.
pub fn g2(p: &G2Affine) -> [U256; 4] {
    match p.xy() {
        Some((x, y)) => [fq(&x.c1), fq(&x.c0), fq(&y.c1), fq(&y.c0)],
        None => [U256::ZERO; 4],
    }
}

/// A proof as `uint256[8]`.
pub fn proof(p: &Proof) -> [U256; 8] {
    let [ax, ay] = g1(&p.a);
    let [bx1, bx0, by1, by0] = g2(&p.b);
    let [cx, cy] = g1(&p.c);
    [ax, ay, bx1, bx0, by1, by0, cx, cy]
}

/// The constructor arguments of `Groth16Verifier` for a verifying key.
pub fn verifier_constructor(vk: &VerifyingKey) -> Groth16Verifier::constructorCall {
    Groth16Verifier::constructorCall {
        alpha: g1(&vk.alpha_g1),
        beta: g2(&vk.beta_g2),
        gamma: g2(&vk.gamma_g2),
        delta: g2(&vk.delta_g2),
        ic: vk.gamma_abc_g1.iter().map(g1).collect(),
    }
}

/// The init code deploying a `Groth16Verifier` for `vk`: bytecode, then the ABI-encoded
/// constructor arguments.
pub fn verifier_init_code(vk: &VerifyingKey) -> Bytes {
    init_code(&Groth16Verifier::BYTECODE, &verifier_constructor(vk))
}

/// Bytecode followed by the ABI-encoded constructor arguments.
pub fn init_code<C: SolConstructor>(bytecode: &[u8], args: &C) -> Bytes {
    let mut code = bytecode.to_vec();
    code.extend_from_slice(&args.abi_encode());
    code.into()
}

/// A balance proof's public inputs (PROTOCOL §4.1) as the market's struct.
pub fn balance_inputs(p: &BalanceProofPublic) -> Market::BalanceInputs {
    type P = BalanceProofPublic;
    let x = inputs(&p.to_field_elements());
    Market::BalanceInputs {
        acct: x[P::ACCT],
        fOld: x[P::F_OLD],
        fNew: x[P::F_NEW],
        delta: x[P::DELTA],
        pIn: x[P::P_IN],
        recipient: x[P::RECIPIENT],
    }
}

/// A bid proof's public inputs (PROTOCOL §4.2) as the market's struct.
pub fn bid_inputs(p: &BidProofPublic) -> Market::BidInputs {
    type P = BidProofPublic;
    let x = inputs(&p.to_field_elements());
    Market::BidInputs {
        round: x[P::ROUND],
        acct: x[P::ACCT],
        fOld: x[P::F_OLD],
        fNew: x[P::F_NEW],
        bid: x[P::BID],
        digest: x[P::DIGEST],
    }
}

/// A settlement proof's public inputs (PROTOCOL §4.3) as the market's struct.
pub fn settle_inputs(p: &SettleProofPublic) -> Market::SettleInputs {
    type P = SettleProofPublic;
    let x = inputs(&p.to_field_elements());
    Market::SettleInputs {
        round: x[P::ROUND],
        acct: x[P::ACCT],
        bid: x[P::BID],
        pOut: x[P::P_OUT],
        clearing: x[P::CLEARING],
        meterId: x[P::METER_ID],
        digest: x[P::DIGEST],
    }
}

/// Flow ciphertexts as the coordinates the market emits (PROTOCOL §3's digest order).
pub fn ciphertexts(c: &FlowCiphertexts) -> Vec<U256> {
    c.coordinates().iter().map(fr).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_ff::{One, Zero};

    #[test]
    fn g2_is_written_imaginary_part_first() {
        let p = G2Affine::generator();
        let enc = g2(&p);
        let (x, y) = p.xy().expect("not infinity");
        assert_eq!(enc[0], field(&x.c1));
        assert_eq!(enc[1], field(&x.c0));
        assert_eq!(enc[2], field(&y.c1));
        assert_eq!(enc[3], field(&y.c0));
        assert_eq!(g2(&G2Affine::zero()), [U256::ZERO; 4]);
    }

    #[test]
    fn g1_and_fields_are_big_endian_integers() {
        let p = (G1Affine::generator() * Fr::from(2u64)).into_affine();
        let [x, _] = g1(&p);
        let (px, _) = p.xy().expect("not infinity");
        assert_eq!(
            x.to_be_bytes::<32>().to_vec(),
            px.into_bigint().to_bytes_be()
        );
        assert_eq!(fr(&Fr::one()), U256::from(1u8));
        assert_eq!(
            fr(&-Fr::one()) + U256::from(1u8),
            U256::from_be_slice(&Fr::MODULUS.to_bytes_be())
        );
        assert_eq!(g1(&G1Affine::zero()), [U256::ZERO; 2]);
        assert!(Fr::zero().is_zero());
    }
}
