//! sealgrid's multi-party Groth16 trusted setup (issue #15), in snarkjs's file formats so
//! that snarkjs and this crate can verify and continue each other's transcripts.
//!
//! - [`r1cs`]: circom `.r1cs` and `.wtns` from arkworks circuits.
//! - [`ptau`], [`phase1`]: phase 1 (powers of tau) in `.ptau`: new, contribute,
//!   beacon, verify, prepare phase 2.
//! - [`zkey`], [`phase2`]: phase 2 per circuit in `.zkey`: new (from an R1CS and a
//!   prepared phase-1 file), contribute, beacon, verify, and the export into the
//!   prover's [`sealgrid_prover::KeyStore`] (keys made for snarkjs's R1CS-to-QAP
//!   reduction, [`sealgrid_prover::qap`]).
//! - [`market`]: a market's ceremony directory, its record in the market file, its
//!   check against the market's circuits, and a local run of every step.
//! - [`encoding`], [`binfile`], [`blake2b`]: snarkjs's byte encodings, container,
//!   deterministic randomness and hash state.
//!
//! The `sealgrid-ceremony` binary runs each step as its own invocation.

pub mod binfile;
pub mod blake2b;
pub mod encoding;
pub mod market;
pub mod phase1;
pub mod phase2;
pub mod ptau;
pub mod r1cs;
pub mod zkey;

pub use binfile::FileError;
pub use phase2::{ContributionRecord, Transcript};
pub use ptau::Ptau;
pub use r1cs::R1cs;
pub use zkey::{Contribution, ContributionKind, Zkey};

/// Why a ceremony step failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// A file could not be read or written, or is malformed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The phase-1 file cannot serve this circuit.
    #[error("the circuit needs a phase-1 file of power {needed}, this one has power {power}")]
    CircuitTooBig {
        /// log2 of the circuit's domain.
        needed: u32,
        /// The file's power.
        power: u32,
    },
    /// The phase-1 file lacks the Lagrange sections.
    #[error("the phase-1 file is not prepared for phase 2: run `ptau prepare` on it first")]
    NotPrepared,
    /// A malformed phase-1 file.
    #[error("phase-1 file: {0}")]
    Ptau(String),
    /// Bad beacon parameters.
    #[error("beacon: {0}")]
    Beacon(String),
    /// Verification failed.
    #[error("INVALID: {0}")]
    Invalid(String),
    /// The prover's key store refused the key.
    #[error(transparent)]
    Keys(#[from] sealgrid_prover::KeyError),
    /// The circuit could not be exported.
    #[error(transparent)]
    Export(#[from] r1cs::ExportError),
}
