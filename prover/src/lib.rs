//! sealgrid prover: Groth16 (BN254) key handling, proving and verification.
//!
//! The machinery is generic over the circuit (`C: ConstraintSynthesizer<Fr>`); only
//! [`circuits`] knows sealgrid's statements. Its pieces, one file each:
//!
//! - [`circuits`]: sealgrid's three circuits (balance, bid, settle): key names, setup
//!   circuits and random valid samples; the default key directory.
//! - [`keys`]: a key store over a directory. Keys are files named by the hash of
//!   their bytes and are refused when the bytes no longer match the name.
//! - [`shape`]: a circuit's size and a digest of its constraint matrices, used to
//!   tell a cached key from a stale one.
//! - [`qap`]: the R1CS-to-QAP reduction of every key (snarkjs's), so that keys from a
//!   snarkjs `.zkey` and keys set up here are interchangeable.
//! - [`prove`]: proving with a caller-supplied RNG; an unsatisfied witness is an
//!   error, never a silently invalid proof.
//! - [`verify`]: single and batch verification (random linear combination), and the
//!   only way to turn untrusted bytes into a [`Proof`].
//! - [`snarkjs`]: export to and import from snarkjs's JSON (`verification_key.json`,
//!   `proof.json`, `public.json`).
//! - [`progress`]: events for a CLI's spinners and progress bars; the library draws
//!   nothing itself.
//!
//! The `sealgrid-prover` binary (`src/bin/sealgrid-prover.rs`, feature `cli`, on by
//! default) drives all of it from the command line and turns the events into indicatif
//! spinners; crates that use the library turn the feature off and link no CLI.

pub mod circuits;
pub mod dyn_circuit;
pub mod keys;
pub mod progress;
pub mod prove;
pub mod qap;
pub mod shape;
pub mod snarkjs;
pub mod verify;

/// The pairing-friendly curve every sealgrid proof lives on.
pub type Curve = ark_bn254::Bn254;
/// BN254's scalar field: circuit variables and public inputs.
pub type Fr = ark_bn254::Fr;
/// A Groth16 proof over BN254.
pub type Proof = ark_groth16::Proof<Curve>;
/// A Groth16 proving key over BN254.
pub type ProvingKey = ark_groth16::ProvingKey<Curve>;
/// A Groth16 verifying key over BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Curve>;
/// A verifying key with its pairing `e(alpha, beta)` and negated `gamma`, `delta`
/// precomputed for verification.
pub type PreparedVerifyingKey = ark_groth16::PreparedVerifyingKey<Curve>;

pub use circuits::{CircuitKeys, CircuitKind, Circuits, CircuitsError, Sample, SealgridCircuit};
pub use dyn_circuit::{DynCircuit, DynRng};
pub use keys::{KeyError, KeyId, KeyKind, KeyPair, KeyPairId, KeyStore, Reduction};
pub use progress::{Event, NoProgress, Phase, Progress};
pub use prove::{prove, ProveError, ProvedStatement};
pub use shape::{CircuitShape, ShapeError};
pub use verify::{batch_verify, prepare, proof_from_bytes, proof_to_bytes, verify, VerifyError};
