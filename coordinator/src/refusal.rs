//! Why a submission was refused: a [`Reason`] (`coordinator.proto`'s `RefusalReason`,
//! which documents each) that fixes the gRPC status code, and a message that starts with
//! the reason's word for humans. The table in `reasons!` below is the one place that
//! ties a reason to its code and word. The contract's own errors map onto the same
//! reasons, so a refusal reads the same whether the coordinator caught it first or the
//! chain did.

use prost::Message;
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Groth16Verifier::Groth16VerifierErrors;
use sealgrid_verifier_contract::bindings::Market::MarketErrors as ME;
use sealgrid_verifier_contract::ChainError;
use tonic::Code;

/// The type URL of the [`pb::Refusal`] in a status's details (as `google.protobuf.Any`
/// names a message).
pub const REFUSAL_TYPE_URL: &str = "type.googleapis.com/sealgrid.market.v1.Refusal";

macro_rules! reasons {
    ($($(#[$doc:meta])* $reason:ident => $code:ident, $word:literal;)+) => {
        /// Why a submission or call was refused; each variant is the `RefusalReason`
        /// value of the same name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$doc])* $reason,)+
        }

        impl Reason {
            /// Every reason.
            pub const ALL: &'static [Reason] = &[$(Reason::$reason,)+];

            /// The status code of a refusal for this reason.
            pub fn code(self) -> Code {
                match self {
                    $(Reason::$reason => Code::$code,)+
                }
            }

            /// The word a refusal's message starts with.
            pub fn word(self) -> &'static str {
                match self {
                    $(Reason::$reason => $word,)+
                }
            }

            /// The reason as the protocol's enum.
            pub fn to_pb(self) -> pb::RefusalReason {
                match self {
                    $(Reason::$reason => pb::RefusalReason::$reason,)+
                }
            }
        }
    };
}

reasons! {
    /// A field is missing, of the wrong length, or out of its range.
    Malformed => InvalidArgument, "malformed";
    /// A batch holds no bid or too many.
    BatchSize => InvalidArgument, "batch-size";
    /// A ciphertext's or a proof's point is not a point of its group.
    BadPoint => InvalidArgument, "bad-point";
    /// A Field or Word is not below the scalar field's modulus.
    NotInField => InvalidArgument, "not-in-field";
    /// The ciphertexts do not digest to the proven digest.
    DigestMismatch => InvalidArgument, "digest-mismatch";
    /// A wrong number of ciphertext words.
    BadCiphertexts => InvalidArgument, "bad-ciphertexts";
    /// A balance update's amount is out of range.
    BadDelta => InvalidArgument, "bad-delta";
    /// A withdrawal's recipient is not an address.
    BadRecipient => InvalidArgument, "bad-recipient";
    /// The proof does not verify.
    InvalidProof => InvalidArgument, "invalid-proof";
    /// A settlement names another round than its bid's.
    WrongRound => InvalidArgument, "wrong-round";
    /// The round is not scheduled.
    UnknownRound => NotFound, "unknown-round";
    /// A settlement's bid is not on chain.
    UnknownBid => NotFound, "unknown-bid";
    /// This coordinator never accepted the submission.
    UnknownSubmission => NotFound, "unknown-submission";
    /// The account is not registered (a lookup).
    UnknownAccount => NotFound, "unknown-account";
    /// The round is not in the phase the submission needs.
    WrongPhase => FailedPrecondition, "wrong-phase";
    /// The deadline has passed.
    DeadlinePassed => FailedPrecondition, "deadline-passed";
    /// The settlement window has not begun.
    TooEarly => FailedPrecondition, "too-early";
    /// The round is not cleared yet.
    NotCleared => FailedPrecondition, "not-cleared";
    /// The account is not registered (a submission).
    NotRegistered => FailedPrecondition, "not-registered";
    /// The account is suspended.
    Suspended => FailedPrecondition, "suspended";
    /// The account is at its limit of unsettled bids.
    TooManyUnsettled => FailedPrecondition, "too-many-unsettled";
    /// The account is at its limit of defaults.
    TooManyDefaults => FailedPrecondition, "too-many-defaults";
    /// The proof starts from another balance commitment than the account's current one.
    StaleBalance => FailedPrecondition, "stale-balance";
    /// The settlement's clearing is not the round's.
    WrongClearing => FailedPrecondition, "wrong-clearing";
    /// The settlement's meter is not the account's.
    WrongMeter => FailedPrecondition, "wrong-meter";
    /// The merged payout does not exist.
    PayoutUnknown => FailedPrecondition, "payout-unknown";
    /// The merged payout was merged before.
    PayoutSpent => FailedPrecondition, "payout-spent";
    /// The merged payout's round is not final yet.
    PayoutFrozen => FailedPrecondition, "payout-frozen";
    /// The merged payout was voided at finalize.
    PayoutVoid => FailedPrecondition, "payout-void";
    /// The token transfer failed.
    TokenTransferFailed => FailedPrecondition, "token-transfer-failed";
    /// The bid was submitted before.
    Duplicate => AlreadyExists, "duplicate";
    /// The bid is settled or defaulted, or its settlement was submitted before.
    AlreadySettled => AlreadyExists, "already-settled";
    /// The payout commitment is taken.
    PayoutExists => AlreadyExists, "payout-exists";
    /// The account already has a bid in the round (one bid per account per round).
    AccountAlreadyBid => AlreadyExists, "account-already-bid";
    /// A signature does not recover to its signer.
    BadSignature => PermissionDenied, "bad-signature";
    /// The relay queue is full; retry later.
    QueueFull => ResourceExhausted, "queue-full";
    /// The coordinator is shutting down.
    ShuttingDown => Unavailable, "shutting-down";
    /// The chain is unreachable.
    ChainUnavailable => Unavailable, "chain-unavailable";
    /// The submission could not be stored durably.
    StoreFailed => Unavailable, "store-failed";
    /// The chain refused without a named error.
    ChainRefused => Internal, "chain-refused";
    /// The contract refused with an error no submission should meet.
    ContractError => Internal, "contract-error";
    /// The coordinator failed.
    Internal => Internal, "internal";
    /// A deposit's payer has not approved the market for the amount.
    InsufficientAllowance => FailedPrecondition, "insufficient-allowance";
    /// A deposit's payer (or the market, for a withdrawal) holds fewer tokens.
    InsufficientTokens => FailedPrecondition, "insufficient-tokens";
}

alloy_sol_types::sol! {
    /// The token errors of ERC-6093 (OpenZeppelin's ERC-20), so that a standard
    /// token's refusal reads as what it is, not as an unnamed revert.
    #[derive(Debug)]
    interface Erc6093 {
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
        error ERC20InvalidSender(address sender);
        error ERC20InvalidReceiver(address receiver);
    }
}

/// A refusal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{:?}: {}", .reason.code(), .message)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// `reason-word: details`.
    pub message: String,
}

impl Refusal {
    /// A refusal for `reason`: its message is the reason's word, a colon and `details`.
    pub fn new(reason: Reason, details: impl std::fmt::Display) -> Refusal {
        Refusal {
            reason,
            message: format!("{}: {details}", reason.word()),
        }
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.reason.code()
    }

    /// A chain failure: a named contract error maps to its reason; anything else means
    /// the chain could not be used.
    pub fn from_chain(e: &ChainError) -> Refusal {
        if let Some(me) = e.decode::<ME>() {
            return Refusal::new(
                contract_reason(&me),
                format!("the market contract refused: {me:?}"),
            );
        }
        if let Some(v) = e.decode::<Groth16VerifierErrors>() {
            return Refusal::new(Reason::InvalidProof, format!("the verifier refused: {v:?}"));
        }
        if let Some(r) = token_refusal(e) {
            return r;
        }
        match e {
            ChainError::Reverted { .. } | ChainError::Halted { .. } => {
                Refusal::new(Reason::ChainRefused, e)
            }
            _ => Refusal::new(Reason::ChainUnavailable, e),
        }
    }

    /// The refusal as the protocol carries it (a batch item's, or a status's detail).
    pub fn to_pb(&self) -> pb::Refusal {
        pb::Refusal {
            code: self.code() as i32,
            message: self.message.clone(),
            reason: self.reason.to_pb() as i32,
        }
    }

    /// The gRPC status, the refusal in its details; logged (inside the call's span, so
    /// with its path).
    pub fn status(&self) -> tonic::Status {
        tracing::info!(code = ?self.code(), "refused: {}", self.message);
        let details = pb::RefusalStatus {
            code: self.code() as i32,
            message: self.message.clone(),
            details: vec![pb::RefusalDetail {
                type_url: REFUSAL_TYPE_URL.to_owned(),
                value: self.to_pb().encode_to_vec(),
            }],
        };
        tonic::Status::with_details(
            self.code(),
            self.message.clone(),
            details.encode_to_vec().into(),
        )
    }

    /// The refusal a status carries in its details, if any (how a Rust client reads
    /// the reason of a refused call).
    pub fn of_status(status: &tonic::Status) -> Option<pb::Refusal> {
        let s = pb::RefusalStatus::decode(status.details()).ok()?;
        s.details
            .iter()
            .find(|d| d.type_url == REFUSAL_TYPE_URL)
            .and_then(|d| pb::Refusal::decode(d.value.as_slice()).ok())
    }
}

impl From<Refusal> for tonic::Status {
    fn from(r: Refusal) -> tonic::Status {
        r.status()
    }
}

/// A token's refusal of a deposit's or withdrawal's transfer (the market bubbles the
/// token's revert up): the test token's errors, ERC-6093's, or a revert string
/// (`Error(string)`, which the market itself never uses).
fn token_refusal(e: &ChainError) -> Option<Refusal> {
    use alloy_sol_types::{Revert, SolError};
    use sealgrid_verifier_contract::bindings::TestToken::TestTokenErrors as TE;
    use Erc6093::Erc6093Errors as OZ;
    let (reason, what) = match e.decode::<TE>() {
        Some(TE::InsufficientAllowance(a)) => (
            Reason::InsufficientAllowance,
            format!("allowance {}, needed {}", a.allowance, a.needed),
        ),
        Some(TE::InsufficientBalance(b)) => (
            Reason::InsufficientTokens,
            format!("balance {}, needed {}", b.balance, b.needed),
        ),
        Some(TE::NotMinter(_)) => return None,
        None => match e.decode::<OZ>() {
            Some(OZ::ERC20InsufficientAllowance(a)) => (
                Reason::InsufficientAllowance,
                format!("allowance {}, needed {}", a.allowance, a.needed),
            ),
            Some(OZ::ERC20InsufficientBalance(b)) => (
                Reason::InsufficientTokens,
                format!("balance {}, needed {}", b.balance, b.needed),
            ),
            Some(other) => (Reason::TokenTransferFailed, format!("{other:?}")),
            None => {
                let data = e.revert_data()?;
                let r = Revert::abi_decode(data).ok()?;
                (Reason::TokenTransferFailed, format!("{:?}", r.reason))
            }
        },
    };
    Some(Refusal::new(reason, format!("the token refused: {what}")))
}

/// The reason of a market contract error. Exhaustive: a new error in `Market.sol` does
/// not compile until it is given its reason here.
fn contract_reason(e: &ME) -> Reason {
    match e {
        ME::NotRegistered(_) => Reason::NotRegistered,
        ME::AccountSuspended(_) => Reason::Suspended,
        ME::TooManyUnsettled(_) => Reason::TooManyUnsettled,
        ME::TooManyDefaults(_) => Reason::TooManyDefaults,
        ME::StaleBalance(_) => Reason::StaleBalance,
        ME::WrongPhase(_) => Reason::WrongPhase,
        ME::DeadlinePassed(_) => Reason::DeadlinePassed,
        ME::TooEarly(_) => Reason::TooEarly,
        ME::WrongClearing(_) => Reason::WrongClearing,
        ME::WrongMeter(_) => Reason::WrongMeter,
        ME::PayoutUnknown(_) => Reason::PayoutUnknown,
        ME::PayoutSpent(_) => Reason::PayoutSpent,
        ME::PayoutFrozen(_) => Reason::PayoutFrozen,
        ME::PayoutVoid(_) => Reason::PayoutVoid,
        ME::BidReplay(_) => Reason::Duplicate,
        ME::AlreadySettled(_) => Reason::AlreadySettled,
        ME::PayoutExists(_) => Reason::PayoutExists,
        ME::AccountAlreadyBid(_) => Reason::AccountAlreadyBid,
        ME::UnknownBid(_) => Reason::UnknownBid,
        ME::WrongRound(_) => Reason::WrongRound,
        ME::InvalidProof(_) => Reason::InvalidProof,
        ME::BadCiphertexts(_) => Reason::BadCiphertexts,
        ME::BadDelta(_) => Reason::BadDelta,
        ME::BadRecipient(_) => Reason::BadRecipient,
        ME::NotInField(_) => Reason::NotInField,
        ME::TokenTransferFailed(_) => Reason::TokenTransferFailed,
        ME::BadSignature(_) => Reason::BadSignature,
        // The operator's and the committee's calls: no submission the coordinator relays
        // can meet these.
        ME::NotOperator(_)
        | ME::BadParams(_)
        | ME::BadCommittee(_)
        | ME::NoCommittee(_)
        | ME::NoPendingCommittee(_)
        | ME::CommitteeNotYetActive(_)
        | ME::MeterTaken(_)
        | ME::AlreadyRegistered(_)
        | ME::RoundExists(_)
        | ME::BadDeadlines(_)
        | ME::BadInclusion(_)
        | ME::TooFewSignatures(_)
        | ME::BadDefaulters(_)
        | ME::DefaultsPending(_)
        | ME::BadVoided(_)
        | ME::HistogramShape(_)
        | ME::HistogramTotal(_) => Reason::ContractError,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The revert of an error by its selector, all arguments zero.
    fn revert(selector: [u8; 4]) -> ChainError {
        let mut data = selector.to_vec();
        data.extend([0u8; 32 * 4]);
        ChainError::Reverted {
            data: data.into(),
            gas_used: 0,
        }
    }

    #[test]
    fn every_contract_error_maps_to_its_reason() {
        // Errors of the operator's and the committee's calls: internal to a submission.
        let operators = [
            "NotOperator",
            "BadParams",
            "BadCommittee",
            "NoCommittee",
            "NoPendingCommittee",
            "CommitteeNotYetActive",
            "MeterTaken",
            "AlreadyRegistered",
            "RoundExists",
            "BadDeadlines",
            "BadInclusion",
            "TooFewSignatures",
            "BadDefaulters",
            "DefaultsPending",
            "BadVoided",
            "HistogramShape",
            "HistogramTotal",
        ];
        let mut seen = BTreeSet::new();
        for &selector in ME::SELECTORS {
            let e = revert(selector);
            let me = e.decode::<ME>().expect("a Market error decodes");
            let name = format!("{me:?}");
            let name = name.split('(').next().unwrap_or_default().to_owned();
            let r = Refusal::from_chain(&e);
            if operators.contains(&name.as_str()) {
                assert_eq!(r.reason, Reason::ContractError, "{name}");
            } else {
                assert_ne!(r.reason, Reason::ContractError, "{name}");
                assert_ne!(r.code(), Code::Internal, "{name}");
            }
            assert!(
                r.message.starts_with(&format!("{}: ", r.reason.word())),
                "{name}: {}",
                r.message
            );
            seen.insert(name);
        }
        for name in operators {
            assert!(seen.contains(name), "Market.sol has no error {name}");
        }
        for &selector in Groth16VerifierErrors::SELECTORS {
            assert_eq!(
                Refusal::from_chain(&revert(selector)).reason,
                Reason::InvalidProof
            );
        }
        assert_eq!(
            Refusal::from_chain(&ChainError::Backend("down".into())).reason,
            Reason::ChainUnavailable
        );
        assert_eq!(
            Refusal::from_chain(&revert([0xde, 0xad, 0xbe, 0xef])).reason,
            Reason::ChainRefused
        );
    }

    /// A token's revert, bubbled up by the market, is a precondition the payer can fix,
    /// never an internal error.
    #[test]
    fn a_token_refusal_is_a_failed_precondition() {
        use alloy_primitives::{Address, U256};
        use alloy_sol_types::{Revert, SolError};
        use sealgrid_verifier_contract::bindings::TestToken;
        let reverted = |data: Vec<u8>| ChainError::Reverted {
            data: data.into(),
            gas_used: 0,
        };
        let two = U256::from(2u64);
        let cases = [
            (
                TestToken::InsufficientAllowance {
                    allowance: U256::ZERO,
                    needed: two,
                }
                .abi_encode(),
                Reason::InsufficientAllowance,
            ),
            (
                TestToken::InsufficientBalance {
                    balance: U256::ZERO,
                    needed: two,
                }
                .abi_encode(),
                Reason::InsufficientTokens,
            ),
            (
                Erc6093::ERC20InsufficientAllowance {
                    spender: Address::ZERO,
                    allowance: U256::ZERO,
                    needed: two,
                }
                .abi_encode(),
                Reason::InsufficientAllowance,
            ),
            (
                Erc6093::ERC20InsufficientBalance {
                    sender: Address::ZERO,
                    balance: U256::ZERO,
                    needed: two,
                }
                .abi_encode(),
                Reason::InsufficientTokens,
            ),
            (
                Revert::from("ERC20: transfer amount exceeds balance").abi_encode(),
                Reason::TokenTransferFailed,
            ),
        ];
        for (data, reason) in cases {
            let r = Refusal::from_chain(&reverted(data));
            assert_eq!(r.reason, reason, "{r:?}");
            assert_eq!(r.code(), Code::FailedPrecondition);
        }
    }

    /// `STALE_BALANCE` is `stale-balance`.
    fn word_of_pb_name(name: &str) -> String {
        name.strip_prefix("REFUSAL_REASON_")
            .unwrap_or(name)
            .to_lowercase()
            .replace('_', "-")
    }

    #[test]
    fn every_reason_has_a_distinct_word_and_proto_value() {
        let words: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.word()).collect();
        assert_eq!(words.len(), Reason::ALL.len(), "two reasons share a word");
        let values: BTreeSet<i32> = Reason::ALL.iter().map(|r| r.to_pb() as i32).collect();
        assert_eq!(values.len(), Reason::ALL.len());
        for r in Reason::ALL {
            let pb_name = r.to_pb().as_str_name();
            assert_eq!(r.word(), word_of_pb_name(pb_name), "{r:?}");
            assert!(!r.word().contains(':'), "{r:?}");
        }
        // Every value of the proto's enum but UNSPECIFIED is a reason.
        let mut v = 0;
        let mut named = 0;
        while let Ok(p) = pb::RefusalReason::try_from(v) {
            if p != pb::RefusalReason::Unspecified {
                assert!(values.contains(&v), "{p:?} has no Reason");
                named += 1;
            }
            v += 1;
        }
        assert_eq!(named, Reason::ALL.len());
    }

    #[test]
    fn a_refused_calls_status_carries_its_reason() {
        let r = Refusal::new(Reason::StaleBalance, "the proof starts from 0x00");
        assert_eq!(r.message, "stale-balance: the proof starts from 0x00");
        let s = r.status();
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(s.message(), r.message);
        let carried = Refusal::of_status(&s).expect("the refusal in the details");
        assert_eq!(carried, r.to_pb());
        assert_eq!(carried.reason, pb::RefusalReason::StaleBalance as i32);
        assert_eq!(
            Refusal::of_status(&tonic::Status::internal("no details")),
            None
        );
    }
}
