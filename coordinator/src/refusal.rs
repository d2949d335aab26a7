//! Why a submission was refused: a gRPC status code and a message that starts with a
//! stable reason word (`coordinator.proto`'s header lists the codes). The contract's
//! own errors map onto the same codes, so a refusal reads the same whether the
//! coordinator caught it first or the chain did.

use sealgrid_verifier_contract::bindings::Groth16Verifier::Groth16VerifierErrors;
use sealgrid_verifier_contract::bindings::Market::MarketErrors as ME;
use sealgrid_verifier_contract::ChainError;
use tonic::Code;

/// A refusal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Refusal {
    /// The status code.
    pub code: Code,
    /// `reason-word: details`.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// INVALID_ARGUMENT.
    pub fn invalid(message: String) -> Refusal {
        Refusal::new(Code::InvalidArgument, message)
    }

    /// FAILED_PRECONDITION.
    pub fn precondition(message: String) -> Refusal {
        Refusal::new(Code::FailedPrecondition, message)
    }

    /// NOT_FOUND.
    pub fn not_found(message: String) -> Refusal {
        Refusal::new(Code::NotFound, message)
    }

    /// ALREADY_EXISTS.
    pub fn exists(message: String) -> Refusal {
        Refusal::new(Code::AlreadyExists, message)
    }

    /// UNAVAILABLE.
    pub fn unavailable(message: String) -> Refusal {
        Refusal::new(Code::Unavailable, message)
    }

    /// INTERNAL.
    pub fn internal(message: String) -> Refusal {
        Refusal::new(Code::Internal, message)
    }

    /// A chain failure: a named contract error maps to its code; anything else means the
    /// chain could not be used.
    pub fn from_chain(e: &ChainError) -> Refusal {
        if let Some(me) = e.decode::<ME>() {
            return contract(&me);
        }
        if let Some(v) = e.decode::<Groth16VerifierErrors>() {
            return Refusal::invalid(format!("invalid-proof: the verifier refused: {v:?}"));
        }
        match e {
            ChainError::Reverted { .. } | ChainError::Halted { .. } => {
                Refusal::internal(format!("chain-refused: {e}"))
            }
            _ => Refusal::unavailable(format!("chain-unavailable: {e}")),
        }
    }

    /// The gRPC status; logged (inside the call's span, so with its path).
    pub fn status(&self) -> tonic::Status {
        tracing::info!(code = ?self.code, "refused: {}", self.message);
        tonic::Status::new(self.code, self.message.clone())
    }
}

impl From<Refusal> for tonic::Status {
    fn from(r: Refusal) -> tonic::Status {
        r.status()
    }
}

fn contract(e: &ME) -> Refusal {
    use Code as C;
    let (code, word) = match e {
        ME::NotRegistered(_) => (C::FailedPrecondition, "not-registered"),
        ME::AccountSuspended(_) => (C::FailedPrecondition, "suspended"),
        ME::TooManyUnsettled(_) => (C::FailedPrecondition, "too-many-unsettled"),
        ME::TooManyDefaults(_) => (C::FailedPrecondition, "too-many-defaults"),
        ME::StaleBalance(_) => (C::FailedPrecondition, "stale-balance"),
        ME::WrongPhase(_) => (C::FailedPrecondition, "wrong-phase"),
        ME::DeadlinePassed(_) => (C::FailedPrecondition, "deadline-passed"),
        ME::TooEarly(_) => (C::FailedPrecondition, "too-early"),
        ME::WrongClearing(_) => (C::FailedPrecondition, "wrong-clearing"),
        ME::WrongMeter(_) => (C::FailedPrecondition, "wrong-meter"),
        ME::PayoutUnknown(_) => (C::FailedPrecondition, "payout-unknown"),
        ME::PayoutSpent(_) => (C::FailedPrecondition, "payout-spent"),
        ME::BidReplay(_) => (C::AlreadyExists, "duplicate"),
        ME::AlreadySettled(_) => (C::AlreadyExists, "already-settled"),
        ME::PayoutExists(_) => (C::AlreadyExists, "payout-exists"),
        ME::UnknownBid(_) => (C::NotFound, "unknown-bid"),
        ME::WrongRound(_) => (C::InvalidArgument, "wrong-round"),
        ME::InvalidProof(_) => (C::InvalidArgument, "invalid-proof"),
        ME::BadCiphertexts(_) => (C::InvalidArgument, "bad-ciphertexts"),
        ME::BadDelta(_) => (C::InvalidArgument, "bad-delta"),
        ME::BadRecipient(_) => (C::InvalidArgument, "bad-recipient"),
        ME::NotInField(_) => (C::InvalidArgument, "not-in-field"),
        ME::TokenTransferFailed(_) => (C::FailedPrecondition, "token-transfer-failed"),
        ME::BadSignature(_) => (C::PermissionDenied, "bad-signature"),
        _ => (C::Internal, "contract-error"),
    };
    Refusal::new(code, format!("{word}: the market contract refused: {e:?}"))
}
