//! Submissions off the wire: every byte field of `sealgrid.market.v1` decoded and
//! checked (canonical field elements, points on Baby Jubjub and in its subgroup, proof
//! points on BN254 and in their subgroups), and the contract-call forms built from them.
//! A field that fails its check is named in the refusal.

use alloy_primitives::U256;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use sealgrid_circuits::babyjubjub::point_from_coordinates;
use sealgrid_circuits::flow::FlowCiphertexts;
use sealgrid_circuits::Fr;
use sealgrid_committee::BidId;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::Proof;
use sealgrid_verifier_contract::bindings::Market;

use crate::refusal::{Reason, Refusal};

/// Number of words of a settlement's flow ciphertexts (C1' and three C2').
pub const SETTLE_CIPHERTEXT_WORDS: usize = 8;

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

fn fq(name: &str, w: &U256) -> Result<Fq, Refusal> {
    let modulus = U256::from_be_slice(&Fq::MODULUS.to_bytes_be());
    if *w >= modulus {
        return Err(Refusal::new(
            Reason::Malformed,
            format!("{name} has a coordinate not below the base field modulus"),
        ));
    }
    Ok(Fq::from_be_bytes_mod_order(&w.to_be_bytes::<32>()))
}

/// A proof in the contract's `uint256[8]` form, and the same proof as arkworks points,
/// each checked on the curve and in the subgroup.
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
    let a = G1Affine::new_unchecked(fq("proof A", &w[0])?, fq("proof A", &w[1])?);
    let b = G2Affine::new_unchecked(
        Fq2::new(fq("proof B", &w[3])?, fq("proof B", &w[2])?),
        Fq2::new(fq("proof B", &w[5])?, fq("proof B", &w[4])?),
    );
    let c = G1Affine::new_unchecked(fq("proof C", &w[6])?, fq("proof C", &w[7])?);
    for (name, ok) in [
        (
            "A",
            a.is_on_curve() && a.is_in_correct_subgroup_assuming_on_curve() && !a.is_zero(),
        ),
        (
            "B",
            b.is_on_curve() && b.is_in_correct_subgroup_assuming_on_curve() && !b.is_zero(),
        ),
        (
            "C",
            c.is_on_curve() && c.is_in_correct_subgroup_assuming_on_curve() && !c.is_zero(),
        ),
    ] {
        if !ok {
            return Err(Refusal::new(
                Reason::BadPoint,
                format!("proof {name} is not a point of its group"),
            ));
        }
    }
    Ok((w, Proof { a, b, c }))
}

/// Ciphertext words: `words.len() / 2` Baby Jubjub points, each on the curve and in the
/// subgroup; the first is C1, the rest the C2 slots.
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
    let fields: Vec<Fr> = words
        .iter()
        .map(|b| field("ciphertext word", b))
        .collect::<Result<_, _>>()?;
    let mut points = Vec::with_capacity(fields.len() / 2);
    for (i, xy) in fields.chunks(2).enumerate() {
        points.push(
            point_from_coordinates(xy[0], xy[1]).map_err(|e| {
                Refusal::new(Reason::BadPoint, format!("ciphertext point {i}: {e}"))
            })?,
        );
    }
    let words = words.iter().map(|b| U256::from_be_slice(b)).collect();
    let c1 = points.remove(0);
    Ok((words, FlowCiphertexts { c1, c2: points }))
}

/// A bid decoded and checked for form (not yet for its proof or state).
#[derive(Clone, Debug)]
pub struct BidForm {
    /// The contract call.
    pub call: Market::submitBidCall,
    /// The proof as arkworks points.
    pub proof: Proof,
    /// The public inputs in the circuit's order.
    pub inputs: Vec<Fr>,
    /// The round.
    pub round: u64,
    /// The account id.
    pub acct: Fr,
    /// `F_old`, `F_new`.
    pub f_old: Fr,
    /// See `f_old`.
    pub f_new: Fr,
    /// The bid commitment.
    pub bid: Fr,
    /// The posted ciphertexts (checked points).
    pub ciphertexts: FlowCiphertexts,
    /// The proven digest `D`.
    pub digest: Fr,
}

impl BidForm {
    /// The bid's id in the committee's form.
    pub fn id(&self) -> BidId {
        bid_id(&self.bid)
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
    let acct = field("acct", &inp.acct)?;
    let f_old = field("f_old", &inp.f_old)?;
    let f_new = field("f_new", &inp.f_new)?;
    let bid = field("bid", &inp.bid)?;
    let digest = field("digest", &inp.digest)?;
    let (ct_words, ciphertexts) = ciphertexts(&b.ciphertexts, 4 * (levels + 1))?;
    if ciphertexts.digest() != digest {
        return Err(Refusal::new(
            Reason::DigestMismatch,
            "the ciphertexts do not digest to the proven D",
        ));
    }
    let round = Fr::from(inp.round);
    let inputs = vec![round, acct, f_old, f_new, bid, digest];
    let u = |x: &Fr| U256::from_be_slice(&field_bytes(x));
    let call = Market::submitBidCall {
        proof: words,
        inp: Market::BidInputs {
            round: U256::from(inp.round),
            acct: u(&acct),
            fOld: u(&f_old),
            fNew: u(&f_new),
            bid: u(&bid),
            digest: u(&digest),
        },
        ciphertexts: ct_words,
    };
    Ok(BidForm {
        call,
        proof,
        inputs,
        round: inp.round,
        acct,
        f_old,
        f_new,
        bid,
        ciphertexts,
        digest,
    })
}

/// A settlement decoded and checked for form.
#[derive(Clone, Debug)]
pub struct SettleForm {
    /// The contract call.
    pub call: Market::settleCall,
    /// The proof as arkworks points.
    pub proof: Proof,
    /// The public inputs in the circuit's order.
    pub inputs: Vec<Fr>,
    /// The round.
    pub round: u64,
    /// The account.
    pub acct: Fr,
    /// The settled bid.
    pub bid: Fr,
    /// The payout commitment created.
    pub p_out: Fr,
    /// The clearing it settles against (packed).
    pub clearing: Fr,
    /// The meter id.
    pub meter_id: Fr,
    /// The posted flow ciphertexts.
    pub ciphertexts: FlowCiphertexts,
    /// `E`.
    pub digest: Fr,
}

/// Decodes a settlement and checks its ciphertexts against `E`.
pub fn settlement(s: &pb::SettlementSubmission) -> Result<SettleForm, Refusal> {
    let inp = s
        .inputs
        .as_ref()
        .ok_or_else(|| Refusal::new(Reason::Malformed, "inputs missing"))?;
    let (words, proof) = proof(s.proof.as_ref())?;
    let acct = field("acct", &inp.acct)?;
    let bid = field("bid", &inp.bid)?;
    let p_out = field("p_out", &inp.p_out)?;
    let clearing = field("clearing", &inp.clearing)?;
    let meter_id = field("meter_id", &inp.meter_id)?;
    let digest = field("digest", &inp.digest)?;
    let (ct_words, ciphertexts) = ciphertexts(&s.ciphertexts, SETTLE_CIPHERTEXT_WORDS)?;
    if ciphertexts.digest() != digest {
        return Err(Refusal::new(
            Reason::DigestMismatch,
            "the flow ciphertexts do not digest to the proven E",
        ));
    }
    let round = Fr::from(inp.round);
    let inputs = vec![round, acct, bid, p_out, clearing, meter_id, digest];
    let u = |x: &Fr| U256::from_be_slice(&field_bytes(x));
    let call = Market::settleCall {
        proof: words,
        inp: Market::SettleInputs {
            round: U256::from(inp.round),
            acct: u(&acct),
            bid: u(&bid),
            pOut: u(&p_out),
            clearing: u(&clearing),
            meterId: u(&meter_id),
            digest: u(&digest),
        },
        ciphertexts: ct_words,
    };
    Ok(SettleForm {
        call,
        proof,
        inputs,
        round: inp.round,
        acct,
        bid,
        p_out,
        clearing,
        meter_id,
        ciphertexts,
        digest,
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
    /// The public inputs in the circuit's order.
    pub inputs: Vec<Fr>,
}

/// Decodes a balance update.
pub fn balance(u: Option<&pb::BalanceUpdate>) -> Result<BalanceForm, Refusal> {
    let u = u.ok_or_else(|| Refusal::new(Reason::Malformed, "update missing"))?;
    let inp = u
        .inputs
        .as_ref()
        .ok_or_else(|| Refusal::new(Reason::Malformed, "inputs missing"))?;
    let (words, proof) = proof(u.proof.as_ref())?;
    let names = ["acct", "f_old", "f_new", "delta", "p_in", "recipient"];
    let raw = [
        &inp.acct,
        &inp.f_old,
        &inp.f_new,
        &inp.delta,
        &inp.p_in,
        &inp.recipient,
    ];
    let mut inputs = Vec::with_capacity(6);
    for (n, b) in names.iter().zip(raw) {
        inputs.push(field(n, b)?);
    }
    let w = |x: &Fr| U256::from_be_slice(&field_bytes(x));
    let inp = Market::BalanceInputs {
        acct: w(&inputs[0]),
        fOld: w(&inputs[1]),
        fNew: w(&inputs[2]),
        delta: w(&inputs[3]),
        pIn: w(&inputs[4]),
        recipient: w(&inputs[5]),
    };
    Ok(BalanceForm {
        words,
        inp,
        proof,
        inputs,
    })
}
