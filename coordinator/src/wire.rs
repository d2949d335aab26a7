//! Submissions off the wire: every byte field of `sealgrid.market.v1` decoded and
//! checked (canonical field elements, points on Baby Jubjub and in its subgroup, proof
//! points on BN254 and in their subgroups), and the contract-call forms built from them.
//! A field that fails its check is named in the refusal.

use alloy_primitives::U256;
use ark_ff::{BigInteger, PrimeField};
use sealgrid_circuits::balance::{delta_from_field, BalanceProofPublic};
use sealgrid_circuits::bid::BidProofPublic;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::settle::SettleProofPublic;
use sealgrid_circuits::Fr;
use sealgrid_committee::BidId;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::Proof;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::calldata::{self, ProofWordsError};

use crate::refusal::{Reason, Refusal};

pub use calldata::SETTLE_CIPHERTEXT_WORDS;

/// A 32-byte big-endian word.
pub fn word(name: &str, b: &[u8]) -> Result<U256, Refusal> {
    if b.len() != 32 {
        return Err(Refusal::new(
            Reason::Malformed,
            format!("{name} has {} bytes, not 32", b.len()),
        ));
    }
    Ok(U256::from_be_slice(b))
}

/// A field element of the SNARK field, canonical (below r).
pub fn field(name: &str, b: &[u8]) -> Result<Fr, Refusal> {
    let w = word(name, b)?;
    let modulus = U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
    if w >= modulus {
        return Err(Refusal::new(
            Reason::NotInField,
            format!("{name} is not below the field modulus"),
        ));
    }
    Ok(Fr::from_be_bytes_mod_order(b))
}

/// The 32-byte form of a field element.
pub fn field_bytes(x: &Fr) -> Vec<u8> {
    x.into_bigint().to_bytes_be()
}

/// The 32-byte form of a word.
pub fn word_bytes(w: &U256) -> Vec<u8> {
    w.to_be_bytes::<32>().to_vec()
}

/// A proof in the contract's `uint256[8]` form, and the same proof as arkworks points,
/// read by `calldata::proof_from_words` (the verifier contract's checks: canonical
/// coordinates, points on their curves and in their subgroups, all zeros for the point
/// at infinity).
pub fn proof(p: Option<&pb::Proof>) -> Result<([U256; 8], Proof), Refusal> {
    let p = p.ok_or_else(|| Refusal::new(Reason::Malformed, "proof missing"))?;
    if p.words.len() != 8 {
        return Err(Refusal::new(
            Reason::Malformed,
            format!("proof has {} words, not 8", p.words.len()),
        ));
    }
    let mut w = [U256::ZERO; 8];
    for (i, b) in p.words.iter().enumerate() {
        w[i] = word("proof word", b)?;
    }
    let proof = calldata::proof_from_words(&w).map_err(|e| match e {
        ProofWordsError::NotInField(_) => Refusal::new(Reason::Malformed, e),
        ProofWordsError::NotInGroup(_) => Refusal::new(Reason::BadPoint, e),
    })?;
    Ok((w, proof))
}

/// The posted ciphertext words: `expected` 32-byte words, one packed Baby Jubjub point
/// each (`calldata::ciphertexts`), every one a point of the prime-order subgroup.
pub fn ciphertexts(
    words: &[Vec<u8>],
    expected: usize,
) -> Result<(Vec<U256>, FlowCiphertexts), Refusal> {
    if words.len() != expected {
        return Err(Refusal::new(
            Reason::BadCiphertexts,
            format!("{} ciphertext words, expected {expected}", words.len()),
        ));
    }
    let words = words
        .iter()
        .map(|b| word("ciphertext word", b))
        .collect::<Result<Vec<_>, _>>()?;
    let points = calldata::ciphertext_points(&words)
        .map_err(|(i, e)| Refusal::new(Reason::BadPoint, format!("ciphertext point {i}: {e}")))?;
    Ok((words, points))
}

/// A bid decoded and checked for form (not yet for its proof or state). Reads as its
/// statement ([`BidProofPublic`]) through `Deref`: `form.round`, `form.acct`, ….
#[derive(Clone, Debug)]
pub struct BidForm {
    /// The contract call.
    pub call: Market::submitBidCall,
    /// The proof as arkworks points.
    pub proof: Proof,
    /// The statement's public inputs.
    pub public: BidProofPublic,
    /// `public.to_field_elements()`, kept for batch verification.
    pub inputs: Vec<Fr>,
    /// The posted ciphertexts (checked points).
    pub ciphertexts: FlowCiphertexts,
}

impl std::ops::Deref for BidForm {
    type Target = BidProofPublic;

    fn deref(&self) -> &BidProofPublic {
        &self.public
    }
}

impl BidForm {
    /// The bid's id in the committee's form.
    pub fn id(&self) -> BidId {
        bid_id(&self.public.bid)
    }
}

/// The committee's id of a bid commitment.
pub fn bid_id(b: &Fr) -> BidId {
    let mut out = [0u8; 32];
    out.copy_from_slice(&field_bytes(b));
    BidId(out)
}

/// Decodes a bid; `levels` is K. Checks the digest of the ciphertexts against `D`.
pub fn bid(b: &pb::BidSubmission, levels: usize) -> Result<BidForm, Refusal> {
    let inp = b
        .inputs
        .as_ref()
        .ok_or_else(|| Refusal::new(Reason::Malformed, "inputs missing"))?;
    let (words, proof) = proof(b.proof.as_ref())?;
    let public = BidProofPublic {
        round: inp.round,
        acct: field("acct", &inp.acct)?,
        f_old: field("f_old", &inp.f_old)?,
        f_new: field("f_new", &inp.f_new)?,
        bid: field("bid", &inp.bid)?,
        digest: field("digest", &inp.digest)?,
    };
    let (ct_words, ciphertexts) =
        ciphertexts(&b.ciphertexts, calldata::bid_ciphertext_words(levels))?;
    if ciphertexts.digest() != public.digest {
        return Err(Refusal::new(
            Reason::DigestMismatch,
            "the ciphertexts do not digest to the proven D",
        ));
    }
    let call = Market::submitBidCall {
        proof: words,
        inp: calldata::bid_inputs(&public),
        ciphertexts: ct_words,
    };
    Ok(BidForm {
        call,
        proof,
        inputs: public.to_field_elements(),
        public,
        ciphertexts,
    })
}

/// A settlement decoded and checked for form. Reads as its statement
/// ([`SettleProofPublic`]) through `Deref`: `form.round`, `form.clearing`, ….
#[derive(Clone, Debug)]
pub struct SettleForm {
    /// The contract call.
    pub call: Market::settleCall,
    /// The proof as arkworks points.
    pub proof: Proof,
    /// The statement's public inputs.
    pub public: SettleProofPublic,
    /// `public.to_field_elements()`.
    pub inputs: Vec<Fr>,
    /// The posted flow ciphertexts.
    pub ciphertexts: FlowCiphertexts,
}

impl std::ops::Deref for SettleForm {
    type Target = SettleProofPublic;

    fn deref(&self) -> &SettleProofPublic {
        &self.public
    }
}

/// Decodes a settlement and checks its ciphertexts against `E`.
pub fn settlement(s: &pb::SettlementSubmission) -> Result<SettleForm, Refusal> {
    let inp = s
        .inputs
        .as_ref()
        .ok_or_else(|| Refusal::new(Reason::Malformed, "inputs missing"))?;
    let (words, proof) = proof(s.proof.as_ref())?;
    let public = SettleProofPublic {
        round: inp.round,
        acct: field("acct", &inp.acct)?,
        bid: field("bid", &inp.bid)?,
        p_out: field("p_out", &inp.p_out)?,
        clearing: field("clearing", &inp.clearing)?,
        meter_id: field("meter_id", &inp.meter_id)?,
        digest: field("digest", &inp.digest)?,
    };
    let (ct_words, ciphertexts) = ciphertexts(&s.ciphertexts, SETTLE_CIPHERTEXT_WORDS)?;
    if ciphertexts.digest() != public.digest {
        return Err(Refusal::new(
            Reason::DigestMismatch,
            "the flow ciphertexts do not digest to the proven E",
        ));
    }
    let call = Market::settleCall {
        proof: words,
        inp: calldata::settle_inputs(&public),
        ciphertexts: ct_words,
    };
    Ok(SettleForm {
        call,
        proof,
        inputs: public.to_field_elements(),
        public,
        ciphertexts,
    })
}

/// A balance update decoded.
#[derive(Clone, Debug)]
pub struct BalanceForm {
    /// The proof words.
    pub words: [U256; 8],
    /// The contract's inputs.
    pub inp: Market::BalanceInputs,
    /// The proof as arkworks points.
    pub proof: Proof,
    /// The statement's public inputs.
    pub public: BalanceProofPublic,
    /// `public.to_field_elements()`.
    pub inputs: Vec<Fr>,
}

/// Decodes a balance update. A `delta` outside its signed reading (PROTOCOL §4.1) is
/// malformed: no proof has one, and the contract refuses it (`BadDelta`).
pub fn balance(u: Option<&pb::BalanceUpdate>) -> Result<BalanceForm, Refusal> {
    let u = u.ok_or_else(|| Refusal::new(Reason::Malformed, "update missing"))?;
    let inp = u
        .inputs
        .as_ref()
        .ok_or_else(|| Refusal::new(Reason::Malformed, "inputs missing"))?;
    let (words, proof) = proof(u.proof.as_ref())?;
    let public = BalanceProofPublic {
        acct: field("acct", &inp.acct)?,
        f_old: field("f_old", &inp.f_old)?,
        f_new: field("f_new", &inp.f_new)?,
        delta: delta_from_field(field("delta", &inp.delta)?).ok_or_else(|| {
            Refusal::new(
                Reason::Malformed,
                "delta is not a signed amount below 2^128 in magnitude",
            )
        })?,
        p_in: field("p_in", &inp.p_in)?,
        recipient: field("recipient", &inp.recipient)?,
    };
    Ok(BalanceForm {
        words,
        inp: calldata::balance_inputs(&public),
        proof,
        inputs: public.to_field_elements(),
        public,
    })
}
