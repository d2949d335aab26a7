//! The one place where gRPC messages become the committee's checked types and back.
//!
//! Decoding checks everything the `.proto` comments promise: byte lengths, points
//! canonical, on the curve and in the prime-order subgroup, scalars below `l`, trustee ids
//! in `1..=65535`, required sub-messages present. A failure names the field by its path
//! (`partials[2].shares[0].d`) and becomes `INVALID_ARGUMENT` at the gRPC edge
//! (`From<ConvertError> for tonic::Status`). Encoding cannot fail.

use crate::committee::v1 as pb;
use sealgrid_circuits::babyjubjub::Point;
use sealgrid_committee::aggregate::{Exclusion, ExclusionReason};
use sealgrid_committee::decrypt::{DecryptionShare, PartialDecryption};
use sealgrid_committee::dleq::{DecryptionContext, DleqProof};
use sealgrid_committee::sign::{
    Address, ClearingStatement, EthSignature, FinalizeStatement, FinalizeTotals,
};
use sealgrid_committee::trustee::{
    DisclosureRequest, DisclosureResponse, FinalizeRequest, FinalizeResponse,
    PartialDecryptRequest, PartialDecryptResponse, SettlementDecryptRequest,
    SettlementDecryptResponse, SignRequest, SignResponse,
};
use sealgrid_committee::wire;
use sealgrid_committee::InclusionBitmap;
use sealgrid_committee::{BidId, TrusteeId};

/// A message field that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConvertError {
    /// Path of the field, e.g. `partials[2].shares[0].d`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl From<ConvertError> for tonic::Status {
    fn from(e: ConvertError) -> Self {
        tonic::Status::invalid_argument(e.to_string())
    }
}

type Result<T> = std::result::Result<T, ConvertError>;

fn err(field: &str, reason: impl ToString) -> ConvertError {
    ConvertError {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn required<'a, T>(m: &'a Option<T>, field: &str) -> Result<&'a T> {
    m.as_ref().ok_or_else(|| err(field, "missing"))
}

// ---- leaves ---------------------------------------------------------------------------

/// A trustee id, `1..=65535`.
pub fn trustee_id(v: u32, field: &str) -> Result<TrusteeId> {
    match u16::try_from(v) {
        Ok(id) if id != 0 => Ok(TrusteeId(id)),
        _ => Err(err(field, format!("trustee id {v} is not in 1..=65535"))),
    }
}

/// A point (packed, 32 bytes), fully checked.
pub fn point(b: &[u8], field: &str) -> Result<Point> {
    wire::point_from_bytes(b).map_err(|e| err(field, e))
}

/// Points, each checked.
pub fn points(v: &[Vec<u8>], field: &str) -> Result<Vec<Point>> {
    v.iter()
        .enumerate()
        .map(|(i, b)| point(b, &format!("{field}[{i}]")))
        .collect()
}

/// A bid id (32 bytes).
pub fn bid_id(b: &[u8], field: &str) -> Result<BidId> {
    wire::exact::<32>(b).map(BidId).map_err(|e| err(field, e))
}

fn bid_ids(v: &[Vec<u8>], field: &str) -> Result<Vec<BidId>> {
    v.iter()
        .enumerate()
        .map(|(i, b)| bid_id(b, &format!("{field}[{i}]")))
        .collect()
}

/// 32-byte words (the clearing statement's inclusion bitmap).
fn words(v: &[Vec<u8>], field: &str) -> Result<Vec<[u8; 32]>> {
    v.iter()
        .enumerate()
        .map(|(i, b)| wire::exact::<32>(b).map_err(|e| err(&format!("{field}[{i}]"), e)))
        .collect()
}

/// An address (20 bytes).
pub fn address(b: &[u8], field: &str) -> Result<Address> {
    wire::exact::<20>(b).map(Address).map_err(|e| err(field, e))
}

/// A signature (65 bytes; its validity is the verifier's business).
pub fn signature(b: &[u8], field: &str) -> Result<EthSignature> {
    wire::exact::<65>(b)
        .map(EthSignature)
        .map_err(|e| err(field, e))
}

// ---- decryption shares ----------------------------------------------------------------

impl From<&DecryptionContext> for pb::DecryptionContext {
    fn from(c: &DecryptionContext) -> Self {
        use pb::decryption_context::Purpose;
        let purpose = match *c {
            DecryptionContext::Clearing { round } => Purpose::Clearing(pb::Clearing { round }),
            DecryptionContext::Disclosure { round, bid } => Purpose::Disclosure(pb::Disclosure {
                round,
                bid: bid.0.to_vec(),
            }),
            DecryptionContext::Settlement { round } => {
                Purpose::Settlement(pb::Settlement { round })
            }
            DecryptionContext::Defaulted { round } => Purpose::Defaulted(pb::Defaulted { round }),
        };
        pb::DecryptionContext {
            purpose: Some(purpose),
        }
    }
}

fn context(c: &pb::DecryptionContext, field: &str) -> Result<DecryptionContext> {
    use pb::decryption_context::Purpose;
    match required(&c.purpose, &at(field, "purpose"))? {
        Purpose::Clearing(c) => Ok(DecryptionContext::Clearing { round: c.round }),
        Purpose::Disclosure(d) => Ok(DecryptionContext::Disclosure {
            round: d.round,
            bid: bid_id(&d.bid, &at(field, "disclosure.bid"))?,
        }),
        Purpose::Settlement(c) => Ok(DecryptionContext::Settlement { round: c.round }),
        Purpose::Defaulted(c) => Ok(DecryptionContext::Defaulted { round: c.round }),
    }
}

impl From<&PartialDecryption> for pb::PartialDecryption {
    fn from(p: &PartialDecryption) -> Self {
        pb::PartialDecryption {
            trustee_id: p.trustee.0.into(),
            context: Some((&p.context).into()),
            shares: p
                .shares
                .iter()
                .map(|s| pb::DecryptionShare {
                    slot: s.slot,
                    d: wire::point_to_bytes(&s.d).to_vec(),
                    proof: Some(pb::DleqProof {
                        e: wire::scalar_to_bytes(&s.proof.e).to_vec(),
                        z: wire::scalar_to_bytes(&s.proof.z).to_vec(),
                    }),
                })
                .collect(),
        }
    }
}

/// A partial decryption, every point and scalar checked.
pub fn partial_decryption(p: &pb::PartialDecryption, field: &str) -> Result<PartialDecryption> {
    let shares = p
        .shares
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = at(field, &format!("shares[{i}]"));
            let proof = required(&s.proof, &at(&f, "proof"))?;
            Ok(DecryptionShare {
                slot: s.slot,
                d: point(&s.d, &at(&f, "d"))?,
                proof: DleqProof {
                    e: wire::scalar_from_bytes(&proof.e).map_err(|e| err(&at(&f, "proof.e"), e))?,
                    z: wire::scalar_from_bytes(&proof.z).map_err(|e| err(&at(&f, "proof.z"), e))?,
                },
            })
        })
        .collect::<Result<_>>()?;
    Ok(PartialDecryption {
        trustee: trustee_id(p.trustee_id, &at(field, "trustee_id"))?,
        context: context(
            required(&p.context, &at(field, "context"))?,
            &at(field, "context"),
        )?,
        shares,
    })
}

fn partial_field(p: &Option<pb::PartialDecryption>, field: &str) -> Result<PartialDecryption> {
    partial_decryption(required(p, field)?, field)
}

// ---- requests and responses ------------------------------------------------------------

impl From<&PartialDecryptRequest> for pb::PartialDecryptRequest {
    fn from(r: &PartialDecryptRequest) -> Self {
        pb::PartialDecryptRequest { round: r.round }
    }
}

impl From<&pb::PartialDecryptRequest> for PartialDecryptRequest {
    fn from(r: &pb::PartialDecryptRequest) -> Self {
        PartialDecryptRequest { round: r.round }
    }
}

/// Exclusions in their wire form.
pub fn exclusions_to_pb(v: &[Exclusion]) -> Vec<pb::Exclusion> {
    use pb::exclusion::Reason;
    v.iter()
        .map(|e| {
            let (reason, slot_count) = match e.reason {
                ExclusionReason::DigestMismatch => (Reason::DigestMismatch, 0),
                ExclusionReason::WrongSlotCount(n) => (Reason::WrongSlotCount, n as u64),
                ExclusionReason::Duplicate => (Reason::Duplicate, 0),
                ExclusionReason::SecondBidOfAccount => (Reason::SecondBidOfAccount, 0),
            };
            pb::Exclusion {
                bid: e.id.0.to_vec(),
                reason: reason.into(),
                slot_count,
            }
        })
        .collect()
}

fn exclusions(v: &[pb::Exclusion], field: &str) -> Result<Vec<Exclusion>> {
    use pb::exclusion::Reason;
    v.iter()
        .enumerate()
        .map(|(i, e)| {
            let f = format!("{field}[{i}]");
            let reason = match Reason::try_from(e.reason) {
                Ok(Reason::DigestMismatch) => ExclusionReason::DigestMismatch,
                Ok(Reason::WrongSlotCount) => ExclusionReason::WrongSlotCount(
                    usize::try_from(e.slot_count)
                        .map_err(|_| err(&at(&f, "slot_count"), "too large"))?,
                ),
                Ok(Reason::Duplicate) => ExclusionReason::Duplicate,
                Ok(Reason::SecondBidOfAccount) => ExclusionReason::SecondBidOfAccount,
                _ => return Err(err(&at(&f, "reason"), format!("unknown {}", e.reason))),
            };
            Ok(Exclusion {
                id: bid_id(&e.bid, &at(&f, "bid"))?,
                reason,
            })
        })
        .collect()
}

impl From<&PartialDecryptResponse> for pb::PartialDecryptResponse {
    fn from(r: &PartialDecryptResponse) -> Self {
        pb::PartialDecryptResponse {
            partial: Some((&r.partial).into()),
            included: r.included.iter().map(|b| b.0.to_vec()).collect(),
            excluded: exclusions_to_pb(&r.excluded),
        }
    }
}

impl TryFrom<&pb::PartialDecryptResponse> for PartialDecryptResponse {
    type Error = ConvertError;
    fn try_from(r: &pb::PartialDecryptResponse) -> Result<Self> {
        Ok(PartialDecryptResponse {
            partial: partial_field(&r.partial, "partial")?,
            included: bid_ids(&r.included, "included")?,
            excluded: exclusions(&r.excluded, "excluded")?,
        })
    }
}

impl From<&SignRequest> for pb::SignRequest {
    fn from(r: &SignRequest) -> Self {
        pb::SignRequest {
            round: r.round,
            h_buy: r.h_buy.clone(),
            h_sell: r.h_sell.clone(),
            partials: r.partials.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<&pb::SignRequest> for SignRequest {
    type Error = ConvertError;
    fn try_from(r: &pb::SignRequest) -> Result<Self> {
        Ok(SignRequest {
            round: r.round,
            h_buy: r.h_buy.clone(),
            h_sell: r.h_sell.clone(),
            partials: partials(&r.partials, "partials")?,
        })
    }
}

impl From<&SignResponse> for pb::SignResponse {
    fn from(r: &SignResponse) -> Self {
        pb::SignResponse {
            trustee_id: r.trustee.0.into(),
            address: r.address.0.to_vec(),
            statement: Some(pb::ClearingStatement {
                round: r.statement.round,
                bids: r.statement.bids,
                h_buy: r.statement.h_buy.clone(),
                h_sell: r.statement.h_sell.clone(),
                included: r.statement.included.iter().map(|w| w.to_vec()).collect(),
            }),
            signature: r.signature.0.to_vec(),
        }
    }
}

impl TryFrom<&pb::SignResponse> for SignResponse {
    type Error = ConvertError;
    fn try_from(r: &pb::SignResponse) -> Result<Self> {
        let st = required(&r.statement, "statement")?;
        Ok(SignResponse {
            trustee: trustee_id(r.trustee_id, "trustee_id")?,
            address: address(&r.address, "address")?,
            statement: ClearingStatement {
                round: st.round,
                bids: st.bids,
                h_buy: st.h_buy.clone(),
                h_sell: st.h_sell.clone(),
                included: InclusionBitmap::from_words(words(&st.included, "statement.included")?),
            },
            signature: signature(&r.signature, "signature")?,
        })
    }
}

impl From<&DisclosureRequest> for pb::DiscloseRequest {
    fn from(r: &DisclosureRequest) -> Self {
        pb::DiscloseRequest {
            round: r.round,
            bid: r.bid.0.to_vec(),
            auditor: r.auditor.clone(),
        }
    }
}

impl TryFrom<&pb::DiscloseRequest> for DisclosureRequest {
    type Error = ConvertError;
    fn try_from(r: &pb::DiscloseRequest) -> Result<Self> {
        Ok(DisclosureRequest {
            round: r.round,
            bid: bid_id(&r.bid, "bid")?,
            auditor: r.auditor.clone(),
        })
    }
}

impl From<&DisclosureResponse> for pb::DiscloseResponse {
    fn from(r: &DisclosureResponse) -> Self {
        pb::DiscloseResponse {
            partial: Some((&r.partial).into()),
        }
    }
}

impl TryFrom<&pb::DiscloseResponse> for DisclosureResponse {
    type Error = ConvertError;
    fn try_from(r: &pb::DiscloseResponse) -> Result<Self> {
        Ok(DisclosureResponse {
            partial: partial_field(&r.partial, "partial")?,
        })
    }
}

// ---- settlement and finalization --------------------------------------------------------

impl From<&SettlementDecryptRequest> for pb::PartialDecryptSettlementRequest {
    fn from(r: &SettlementDecryptRequest) -> Self {
        pb::PartialDecryptSettlementRequest { round: r.round }
    }
}

impl From<&pb::PartialDecryptSettlementRequest> for SettlementDecryptRequest {
    fn from(r: &pb::PartialDecryptSettlementRequest) -> Self {
        SettlementDecryptRequest { round: r.round }
    }
}

fn partials(v: &[pb::PartialDecryption], field: &str) -> Result<Vec<PartialDecryption>> {
    v.iter()
        .enumerate()
        .map(|(i, p)| partial_decryption(p, &format!("{field}[{i}]")))
        .collect()
}

fn optional_partial(
    p: &Option<pb::PartialDecryption>,
    field: &str,
) -> Result<Option<PartialDecryption>> {
    p.as_ref().map(|p| partial_decryption(p, field)).transpose()
}

impl From<&SettlementDecryptResponse> for pb::PartialDecryptSettlementResponse {
    fn from(r: &SettlementDecryptResponse) -> Self {
        pb::PartialDecryptSettlementResponse {
            flows: r.flows.as_ref().map(Into::into),
            locks: r.locks.as_ref().map(Into::into),
            settled: r.settled.iter().map(|b| b.0.to_vec()).collect(),
            flows_excluded: exclusions_to_pb(&r.flows_excluded),
            defaulters: r.defaulters.iter().map(|b| b.0.to_vec()).collect(),
            locks_excluded: exclusions_to_pb(&r.locks_excluded),
        }
    }
}

impl TryFrom<&pb::PartialDecryptSettlementResponse> for SettlementDecryptResponse {
    type Error = ConvertError;
    fn try_from(r: &pb::PartialDecryptSettlementResponse) -> Result<Self> {
        Ok(SettlementDecryptResponse {
            flows: optional_partial(&r.flows, "flows")?,
            locks: optional_partial(&r.locks, "locks")?,
            settled: bid_ids(&r.settled, "settled")?,
            flows_excluded: exclusions(&r.flows_excluded, "flows_excluded")?,
            defaulters: bid_ids(&r.defaulters, "defaulters")?,
            locks_excluded: exclusions(&r.locks_excluded, "locks_excluded")?,
        })
    }
}

impl From<&FinalizeTotals> for pb::FinalizeTotals {
    fn from(t: &FinalizeTotals) -> Self {
        pb::FinalizeTotals {
            pay: t.pay,
            credit: t.credit,
            penalty: t.penalty,
            defaulted_locks: t.defaulted_locks,
        }
    }
}

impl From<&pb::FinalizeTotals> for FinalizeTotals {
    fn from(t: &pb::FinalizeTotals) -> Self {
        FinalizeTotals {
            pay: t.pay,
            credit: t.credit,
            penalty: t.penalty,
            defaulted_locks: t.defaulted_locks,
        }
    }
}

impl From<&FinalizeRequest> for pb::SignFinalizeRequest {
    fn from(r: &FinalizeRequest) -> Self {
        pb::SignFinalizeRequest {
            round: r.round,
            totals: Some((&r.totals).into()),
            flow_partials: r.flow_partials.iter().map(Into::into).collect(),
            lock_partials: r.lock_partials.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<&pb::SignFinalizeRequest> for FinalizeRequest {
    type Error = ConvertError;
    fn try_from(r: &pb::SignFinalizeRequest) -> Result<Self> {
        Ok(FinalizeRequest {
            round: r.round,
            totals: required(&r.totals, "totals")?.into(),
            flow_partials: partials(&r.flow_partials, "flow_partials")?,
            lock_partials: partials(&r.lock_partials, "lock_partials")?,
        })
    }
}

impl From<&FinalizeResponse> for pb::SignFinalizeResponse {
    fn from(r: &FinalizeResponse) -> Self {
        pb::SignFinalizeResponse {
            trustee_id: r.trustee.0.into(),
            address: r.address.0.to_vec(),
            statement: Some(pb::FinalizeStatement {
                round: r.statement.round,
                totals: Some((&r.statement.totals).into()),
                defaulted: r.statement.defaulted.iter().map(|b| b.0.to_vec()).collect(),
                voided: r.statement.voided.iter().map(|b| b.0.to_vec()).collect(),
            }),
            signature: r.signature.0.to_vec(),
        }
    }
}

impl TryFrom<&pb::SignFinalizeResponse> for FinalizeResponse {
    type Error = ConvertError;
    fn try_from(r: &pb::SignFinalizeResponse) -> Result<Self> {
        let st = required(&r.statement, "statement")?;
        Ok(FinalizeResponse {
            trustee: trustee_id(r.trustee_id, "trustee_id")?,
            address: address(&r.address, "address")?,
            statement: FinalizeStatement {
                round: st.round,
                totals: required(&st.totals, "statement.totals")?.into(),
                defaulted: bid_ids(&st.defaulted, "statement.defaulted")?,
                voided: bid_ids(&st.voided, "statement.voided")?,
            },
            signature: signature(&r.signature, "signature")?,
        })
    }
}

/// A trustee's public information (`GetInfoResponse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrusteeInfo {
    /// Its id.
    pub trustee: TrusteeId,
    /// Its signing address.
    pub address: Address,
    /// `Y_j`, one per flow key.
    pub verification_keys: Vec<Point>,
    /// `n`.
    pub committee_size: u16,
    /// `t`.
    pub threshold: u16,
}

impl From<&TrusteeInfo> for pb::GetInfoResponse {
    fn from(i: &TrusteeInfo) -> Self {
        pb::GetInfoResponse {
            trustee_id: i.trustee.0.into(),
            address: i.address.0.to_vec(),
            verification_keys: i
                .verification_keys
                .iter()
                .map(|p| wire::point_to_bytes(p).to_vec())
                .collect(),
            committee_size: i.committee_size.into(),
            threshold: i.threshold.into(),
        }
    }
}

impl TryFrom<&pb::GetInfoResponse> for TrusteeInfo {
    type Error = ConvertError;
    fn try_from(r: &pb::GetInfoResponse) -> Result<Self> {
        let small = |v: u32, f: &str| u16::try_from(v).map_err(|_| err(f, "above 65535"));
        Ok(TrusteeInfo {
            trustee: trustee_id(r.trustee_id, "trustee_id")?,
            address: address(&r.address, "address")?,
            verification_keys: points(&r.verification_keys, "verification_keys")?,
            committee_size: small(r.committee_size, "committee_size")?,
            threshold: small(r.threshold, "threshold")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealgrid_circuits::babyjubjub::{base8, generator, Scalar};

    fn partial() -> PartialDecryption {
        PartialDecryption {
            trustee: TrusteeId(3),
            context: DecryptionContext::Disclosure {
                round: 7,
                bid: BidId([9; 32]),
            },
            shares: (0..3)
                .map(|slot| DecryptionShare {
                    slot,
                    d: base8(),
                    proof: DleqProof {
                        e: Scalar::from(5u64 + slot as u64),
                        z: Scalar::from(11u64),
                    },
                })
                .collect(),
        }
    }

    fn sign_request() -> pb::SignRequest {
        (&SignRequest {
            round: 7,
            h_buy: vec![1, 2],
            h_sell: vec![3, 4],
            partials: vec![partial(), partial()],
        })
            .into()
    }

    #[test]
    fn messages_round_trip() {
        let req = sign_request();
        let back = SignRequest::try_from(&req).unwrap();
        assert_eq!(pb::SignRequest::from(&back), req);
        assert_eq!(back.partials[1], partial());
    }

    #[test]
    fn each_malformed_field_is_refused_and_named() {
        type Mutation = Box<dyn Fn(&mut pb::SignRequest)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "partials[1].shares[2].d: ",
                Box::new(|r| {
                    r.partials[1].shares[2].d = wire::point_to_bytes(&generator()).to_vec()
                }),
            ),
            (
                "partials[0].shares[0].d: expected 32 bytes, got 31",
                Box::new(|r| {
                    r.partials[0].shares[0].d.pop();
                }),
            ),
            (
                "partials[0].shares[1].proof.z: ",
                Box::new(|r| r.partials[0].shares[1].proof.as_mut().unwrap().z = vec![0xff; 32]),
            ),
            (
                "partials[0].shares[0].proof: missing",
                Box::new(|r| r.partials[0].shares[0].proof = None),
            ),
            (
                "partials[1].trustee_id: trustee id 0",
                Box::new(|r| r.partials[1].trustee_id = 0),
            ),
            (
                "partials[1].trustee_id: trustee id 65536",
                Box::new(|r| r.partials[1].trustee_id = 65_536),
            ),
            (
                "partials[0].context: missing",
                Box::new(|r| r.partials[0].context = None),
            ),
            (
                "partials[0].context.purpose: missing",
                Box::new(|r| r.partials[0].context.as_mut().unwrap().purpose = None),
            ),
            (
                "partials[0].context.disclosure.bid: expected 32 bytes, got 0",
                Box::new(|r| {
                    r.partials[0].context = Some(pb::DecryptionContext {
                        purpose: Some(pb::decryption_context::Purpose::Disclosure(
                            pb::Disclosure {
                                round: 1,
                                bid: vec![],
                            },
                        )),
                    })
                }),
            ),
        ];
        for (expected, mutate) in cases {
            let mut req = sign_request();
            mutate(&mut req);
            let e = SignRequest::try_from(&req).unwrap_err();
            assert!(
                e.to_string().starts_with(expected),
                "{e} does not start with {expected}"
            );
            let status = tonic::Status::from(e);
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
        }
    }

    #[test]
    fn info_and_disclosure_round_trip_and_check_lengths() {
        let info = TrusteeInfo {
            trustee: TrusteeId(2),
            address: Address([7; 20]),
            verification_keys: vec![base8(); 3],
            committee_size: 5,
            threshold: 3,
        };
        let msg = pb::GetInfoResponse::from(&info);
        assert_eq!(TrusteeInfo::try_from(&msg).unwrap(), info);
        let mut short = msg.clone();
        short.address.pop();
        assert_eq!(TrusteeInfo::try_from(&short).unwrap_err().field, "address");
        let req = pb::DiscloseRequest {
            round: 1,
            bid: vec![1; 33],
            auditor: "regulator".into(),
        };
        assert_eq!(DisclosureRequest::try_from(&req).unwrap_err().field, "bid");
    }

    #[test]
    fn settlement_and_finalize_messages_round_trip() {
        let settle = |round| PartialDecryption {
            context: DecryptionContext::Settlement { round },
            ..partial()
        };
        let resp = SettlementDecryptResponse {
            flows: Some(settle(7)),
            locks: None,
            settled: vec![BidId([1; 32]), BidId([2; 32])],
            flows_excluded: vec![Exclusion {
                id: BidId([3; 32]),
                reason: ExclusionReason::WrongSlotCount(4),
            }],
            defaulters: vec![BidId([4; 32])],
            locks_excluded: vec![Exclusion {
                id: BidId([4; 32]),
                reason: ExclusionReason::DigestMismatch,
            }],
        };
        let msg = pb::PartialDecryptSettlementResponse::from(&resp);
        assert_eq!(SettlementDecryptResponse::try_from(&msg).unwrap(), resp);
        let req = FinalizeRequest {
            round: 7,
            totals: FinalizeTotals {
                pay: 1 << 41,
                credit: 2,
                penalty: 3,
                defaulted_locks: 4,
            },
            flow_partials: vec![settle(7)],
            lock_partials: vec![PartialDecryption {
                context: DecryptionContext::Defaulted { round: 7 },
                ..partial()
            }],
        };
        let msg = pb::SignFinalizeRequest::from(&req);
        assert_eq!(FinalizeRequest::try_from(&msg).unwrap(), req);
        let mut bad = msg.clone();
        bad.totals = None;
        assert_eq!(FinalizeRequest::try_from(&bad).unwrap_err().field, "totals");
        let mut bad = msg;
        bad.lock_partials[0].shares[1].d.pop();
        assert_eq!(
            FinalizeRequest::try_from(&bad).unwrap_err().field,
            "lock_partials[0].shares[1].d"
        );
    }
}
