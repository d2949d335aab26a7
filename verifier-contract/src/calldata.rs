//! Proofs, verifying keys and public inputs as Solidity arguments: the only place that
//! knows the encoding.
//!
//! - Field elements are `uint256` (big-endian integers, canonical form).
//! - A G1 point is `(x, y)`; a G2 point is `(x.c1, x.c0, y.c1, y.c0)`: EIP-197 writes an
//!   `Fq2` element `c0 + c1·u` imaginary part first. (snarkjs's JSON writes `(c0, c1)`;
//!   its generated Solidity verifier swaps them, as this module does.)
//! - The point at infinity is all zeros, as the precompiles read it.
//! - A proof is `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`; [`proof`] writes
//!   it and [`proof_from_words`] reads it back, accepting what `Groth16Verifier.sol`
//!   accepts: all-zero points are the point at infinity (the contract's `_onG1`/`_onG2`
//!   pass them and the precompiles read them so), and refusing what it refuses.
//!
//! The public-input structs are filled from each statement's `to_field_elements`, the
//! one function that orders the inputs (PROTOCOL §4), by its named offsets, and read
//! back through its `from_field_elements` ([`bid_public`] and its siblings).

use alloy_primitives::{Bytes, U256};
use alloy_sol_types::SolConstructor;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInt, BigInteger, PrimeField, Zero};
use sealgrid_circuits::babyjubjub;
use sealgrid_circuits::balance::BalanceProofPublic;
use sealgrid_circuits::bid::BidProofPublic;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::public_inputs::PublicInputsError;
use sealgrid_circuits::settle::SettleProofPublic;
use sealgrid_circuits::Fr;

use crate::artifacts::{Deployable, EvmTarget};
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

/// A proof's three points, named as in the refusals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofPoint {
    /// `A`, in G1 (words 0, 1).
    A,
    /// `B`, in G2 (words 2..6).
    B,
    /// `C`, in G1 (words 6, 7).
    C,
}

impl std::fmt::Display for ProofPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProofPoint::A => "A",
            ProofPoint::B => "B",
            ProofPoint::C => "C",
        })
    }
}

/// Why eight words are not a proof; each is a case `Groth16Verifier.verifyProof`
/// reverts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofWordsError {
    /// A coordinate is not below the base field modulus (the contract's
    /// `CoordinateNotInField`).
    #[error("proof {0} has a coordinate not below the base field modulus")]
    NotInField(ProofPoint),
    /// A point is off its curve (the contract's `PointNotOnCurve`), or B is outside the
    /// prime-order subgroup of the twist (the pairing precompile fails, and the
    /// contract with `PrecompileFailed(8)`). G1 has cofactor 1: on the curve is in it.
    #[error("proof {0} is not a point of its group")]
    NotInGroup(ProofPoint),
}

fn fq_of_word(w: U256) -> Option<Fq> {
    Fq::from_bigint(BigInt::new(*w.as_limbs()))
}

/// The inverse of [`proof`]: eight words `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0,
/// C.x, C.y]` as a proof, checked as the verifier contract checks them: every
/// coordinate first, then each point. An all-zero point is the point at infinity, as
/// in the contract (such a proof is well formed; it just does not verify).
///
/// # Errors
///
/// The first failing check, in the contract's order.
pub fn proof_from_words(w: &[U256; 8]) -> Result<Proof, ProofWordsError> {
    use ProofPoint::{A, B, C};
    let mut c = [Fq::ZERO; 8];
    for (i, x) in w.iter().enumerate() {
        let point = match i {
            0 | 1 => A,
            6 | 7 => C,
            _ => B,
        };
        c[i] = fq_of_word(*x).ok_or(ProofWordsError::NotInField(point))?;
    }
    let g1 = |x: Fq, y: Fq, point| -> Result<G1Affine, ProofWordsError> {
        if x.is_zero() && y.is_zero() {
            return Ok(G1Affine::zero());
        }
        let p = G1Affine::new_unchecked(x, y);
        if p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve() {
            Ok(p)
        } else {
            Err(ProofWordsError::NotInGroup(point))
        }
    };
    let a = g1(c[0], c[1], A)?;
    let (x, y) = (Fq2::new(c[3], c[2]), Fq2::new(c[5], c[4]));
    let b = if x.is_zero() && y.is_zero() {
        G2Affine::zero()
    } else {
        let p = G2Affine::new_unchecked(x, y);
        if !(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()) {
            return Err(ProofWordsError::NotInGroup(B));
        }
        p
    };
    let c = g1(c[6], c[7], C)?;
    Ok(Proof { a, b, c })
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
/// constructor arguments (the Shanghai build; [`verifier_init_code_for`] for another).
pub fn verifier_init_code(vk: &VerifyingKey) -> Bytes {
    verifier_init_code_for(vk, EvmTarget::Shanghai)
}

/// [`verifier_init_code`] for the EVM target `evm`.
pub fn verifier_init_code_for(vk: &VerifyingKey, evm: EvmTarget) -> Bytes {
    init_code(
        &evm.bytecode(Deployable::Groth16Verifier),
        &verifier_constructor(vk),
    )
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

/// Why the market's input struct is not a statement's public inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputsError {
    /// A word is not a canonical scalar (`>= r`); the verifier contract refuses it too.
    #[error("public input {index} is not below r")]
    NotInField {
        /// Offset of the input (the statement's named offset).
        index: usize,
    },
    /// The scalars are not the statement's (a round beyond 64 bits, a `delta` outside
    /// its signed reading).
    #[error(transparent)]
    Statement(#[from] PublicInputsError),
}

/// A `uint256` as a scalar, if canonical (`< r`), as the verifier contract requires.
pub fn fr_of_word(w: U256) -> Option<Fr> {
    Fr::from_bigint(BigInt::new(*w.as_limbs()))
}

/// Words in a statement's order as scalars, each canonical.
fn scalars(words: &[U256]) -> Result<Vec<Fr>, InputsError> {
    words
        .iter()
        .enumerate()
        .map(|(index, w)| fr_of_word(*w).ok_or(InputsError::NotInField { index }))
        .collect()
}

/// The inverse of [`balance_inputs`].
///
/// # Errors
///
/// A word not below r, or a `delta` outside its signed reading.
pub fn balance_public(i: &Market::BalanceInputs) -> Result<BalanceProofPublic, InputsError> {
    type P = BalanceProofPublic;
    let Market::BalanceInputs {
        acct,
        fOld,
        fNew,
        delta,
        pIn,
        recipient,
    } = i;
    let mut x = [U256::ZERO; P::NUM_INPUTS];
    x[P::ACCT] = *acct;
    x[P::F_OLD] = *fOld;
    x[P::F_NEW] = *fNew;
    x[P::DELTA] = *delta;
    x[P::P_IN] = *pIn;
    x[P::RECIPIENT] = *recipient;
    Ok(P::from_field_elements(&scalars(&x)?)?)
}

/// The inverse of [`bid_inputs`].
///
/// # Errors
///
/// A word not below r, or a round beyond 64 bits.
pub fn bid_public(i: &Market::BidInputs) -> Result<BidProofPublic, InputsError> {
    type P = BidProofPublic;
    let Market::BidInputs {
        round,
        acct,
        fOld,
        fNew,
        bid,
        digest,
    } = i;
    let mut x = [U256::ZERO; P::LEN];
    x[P::ROUND] = *round;
    x[P::ACCT] = *acct;
    x[P::F_OLD] = *fOld;
    x[P::F_NEW] = *fNew;
    x[P::BID] = *bid;
    x[P::DIGEST] = *digest;
    Ok(P::from_field_elements(&scalars(&x)?)?)
}

/// The inverse of [`settle_inputs`].
///
/// # Errors
///
/// A word not below r, or a round beyond 64 bits.
pub fn settle_public(i: &Market::SettleInputs) -> Result<SettleProofPublic, InputsError> {
    type P = SettleProofPublic;
    let Market::SettleInputs {
        round,
        acct,
        bid,
        pOut,
        clearing,
        meterId,
        digest,
    } = i;
    let mut x = [U256::ZERO; P::LEN];
    x[P::ROUND] = *round;
    x[P::ACCT] = *acct;
    x[P::BID] = *bid;
    x[P::P_OUT] = *pOut;
    x[P::CLEARING] = *clearing;
    x[P::METER_ID] = *meterId;
    x[P::DIGEST] = *digest;
    Ok(P::from_field_elements(&scalars(&x)?)?)
}

/// Flow ciphertexts as the market takes and emits them: one word per point, `C1`
/// first, then `C2_0, C2_1, …`; a point is circomlib's packed form (`packPoint`: `y`,
/// and in the top bit whether `x > (p − 1)/2`) read as a little-endian integer. Half
/// the calldata of the coordinates (issue #14); the digest of PROTOCOL §3 is still over
/// the coordinates, which every reader gets back with [`ciphertext_points`].
pub fn ciphertexts(c: &FlowCiphertexts) -> Vec<U256> {
    std::iter::once(&c.c1)
        .chain(&c.c2)
        .map(|p| U256::from_le_bytes(babyjubjub::pack(p)))
        .collect()
}

/// The ciphertext words of a bid of a market with `levels` price levels: its `2K + 2`
/// points (`Market.sol` checks the same count).
pub fn bid_ciphertext_words(levels: usize) -> usize {
    2 * levels + 2
}

/// The ciphertext words of a settlement: `C1'` and three `C2'` points (`Market.sol`'s
/// `SETTLE_CIPHERTEXT_WORDS`).
pub const SETTLE_CIPHERTEXT_WORDS: usize = 4;

/// The ciphertexts [`ciphertexts`] encodes, read back; the error names the first word
/// that is not a packed point of Baby Jubjub's prime-order subgroup (or, index 0, an
/// empty list).
pub fn ciphertext_points(
    words: &[U256],
) -> Result<FlowCiphertexts, (usize, babyjubjub::CurveError)> {
    let mut points = words
        .iter()
        .enumerate()
        .map(|(i, w)| babyjubjub::unpack(&w.to_le_bytes::<32>()).map_err(|e| (i, e)))
        .collect::<Result<Vec<_>, _>>()?;
    if points.is_empty() {
        return Err((0, babyjubjub::CurveError::InvalidPacking));
    }
    let c1 = points.remove(0);
    Ok(FlowCiphertexts { c1, c2: points })
}

/// The bid `bid` as the transaction `input` posted it: `submitBid`'s arguments, or the
/// item of `submitBids` whose commitment is `bid`. The one reader of bid transactions
/// (the audit's, and whoever needs a posted proof back).
pub fn bid_in_input(input: &[u8], bid: U256) -> Result<Market::BidItem, String> {
    use alloy_sol_types::SolCall;
    if let Ok(c) = Market::submitBidCall::abi_decode(input) {
        return Ok(Market::BidItem {
            proof: c.proof,
            inp: c.inp,
            ciphertexts: c.ciphertexts,
        });
    }
    let c = Market::submitBidsCall::abi_decode(input)
        .map_err(|e| format!("the transaction is not a submitBid or submitBids call: {e}"))?;
    c.items
        .into_iter()
        .find(|i| i.inp.bid == bid)
        .ok_or_else(|| format!("the submitBids transaction does not carry bid {bid:#x}"))
}

/// The settlement of `bid` as the transaction `input` posted it: `settle`'s arguments,
/// or the item of `settleBatch` that settles `bid` (as [`bid_in_input`]).
pub fn settlement_in_input(input: &[u8], bid: U256) -> Result<Market::SettleItem, String> {
    use alloy_sol_types::SolCall;
    if let Ok(c) = Market::settleCall::abi_decode(input) {
        return Ok(Market::SettleItem {
            proof: c.proof,
            inp: c.inp,
            ciphertexts: c.ciphertexts,
        });
    }
    let c = Market::settleBatchCall::abi_decode(input)
        .map_err(|e| format!("the transaction is not a settle or settleBatch call: {e}"))?;
    c.items
        .into_iter()
        .find(|i| i.inp.bid == bid)
        .ok_or_else(|| format!("the settleBatch transaction does not settle bid {bid:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_ff::{Field, One};

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

    #[test]
    fn proof_words_read_back_and_infinity_is_all_zeros() {
        let g = |k: u64| (G1Affine::generator() * Fr::from(k)).into_affine();
        let h = (G2Affine::generator() * Fr::from(5u64)).into_affine();
        let p = Proof {
            a: g(2),
            b: h,
            c: g(3),
        };
        assert_eq!(proof_from_words(&proof(&p)), Ok(p.clone()));
        let at_infinity = Proof {
            a: G1Affine::zero(),
            b: G2Affine::zero(),
            c: G1Affine::zero(),
        };
        assert_eq!(proof(&at_infinity), [U256::ZERO; 8]);
        assert_eq!(proof_from_words(&[U256::ZERO; 8]), Ok(at_infinity));
    }

    #[test]
    fn malformed_proof_words_are_refused_in_the_contracts_order() {
        let g = (G1Affine::generator() * Fr::from(2u64)).into_affine();
        let p = Proof {
            a: g,
            b: G2Affine::generator(),
            c: g,
        };
        let q = U256::from_be_slice(&Fq::MODULUS.to_bytes_be());
        let mut w = proof(&p);
        w[7] += q;
        w[1] = w[1].wrapping_add(U256::from(1u8));
        // coordinates before points: C's coordinate is reported, not A's curve
        assert_eq!(
            proof_from_words(&w),
            Err(ProofWordsError::NotInField(ProofPoint::C))
        );
        let mut w = proof(&p);
        w[4] = (w[4] + U256::from(1u8)) % q;
        assert_eq!(
            proof_from_words(&w),
            Err(ProofWordsError::NotInGroup(ProofPoint::B))
        );
        // (0, 1) is neither infinity nor on the curve
        let mut w = proof(&p);
        (w[0], w[1]) = (U256::ZERO, U256::from(1u8));
        assert_eq!(
            proof_from_words(&w),
            Err(ProofWordsError::NotInGroup(ProofPoint::A))
        );
    }

    fn some_scalars(n: u64) -> Vec<Fr> {
        (0..n).map(|i| Fr::from(3u64).pow([40 + i])).collect()
    }

    #[test]
    fn the_market_structs_read_back_to_the_statements() {
        let f = some_scalars(7);
        let bid = BidProofPublic {
            round: u64::MAX,
            acct: f[0],
            f_old: f[1],
            f_new: f[2],
            bid: f[3],
            digest: f[4],
        };
        assert_eq!(bid_public(&bid_inputs(&bid)), Ok(bid));
        let settle = SettleProofPublic {
            round: 7,
            acct: f[0],
            bid: f[1],
            p_out: f[2],
            clearing: f[3],
            meter_id: f[4],
            digest: f[5],
        };
        assert_eq!(settle_public(&settle_inputs(&settle)), Ok(settle));
        for delta in [0, 1, -1, (1 << 64) - 1, -(1 << 65) + 1] {
            let balance = BalanceProofPublic {
                acct: f[0],
                f_old: f[1],
                f_new: f[2],
                delta,
                p_in: f[3],
                recipient: f[4],
            };
            assert_eq!(balance_public(&balance_inputs(&balance)), Ok(balance));
        }
    }

    #[test]
    fn a_word_not_below_r_is_named_by_its_offset() {
        let f = some_scalars(7);
        let settle = SettleProofPublic {
            round: 7,
            acct: f[0],
            bid: f[1],
            p_out: f[2],
            clearing: f[3],
            meter_id: f[4],
            digest: f[5],
        };
        let mut inp = settle_inputs(&settle);
        inp.meterId += U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
        assert_eq!(
            settle_public(&inp),
            Err(InputsError::NotInField {
                index: SettleProofPublic::METER_ID
            })
        );
        let mut inp = settle_inputs(&settle);
        inp.round = U256::from(1u8) << 64;
        assert_eq!(
            settle_public(&inp),
            Err(InputsError::Statement(PublicInputsError::Round {
                index: SettleProofPublic::ROUND
            }))
        );
    }
}
