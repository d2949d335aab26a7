//! sealgrid's cryptographic core.
//!
//! Every primitive comes as native code with an R1CS gadget twin beside it (`x.rs` and
//! `x/r1cs.rs`); the gadget's functions carry the native function's name. All of it is
//! over BN254's scalar field, which is Baby Jubjub's base field, so every gadget runs
//! inside a Groth16 circuit over BN254.
//!
//! Interoperability is the point: Poseidon, Baby Jubjub and EdDSA-Poseidon are
//! bit-identical to circomlib / circomlibjs and @zk-kit/eddsa-poseidon, and the tests
//! check them against vectors those implementations generated
//! (`test-vectors/generate.mjs`).

/// BN254's scalar field: the field every circuit works in, and Baby Jubjub's base field.
pub type Fr = ark_bn254::Fr;

pub mod alloc;
pub mod babyjubjub;
pub mod balance;
pub mod bid;
pub mod commitment;
pub mod digest;
pub mod eddsa;
pub mod elgamal;
pub mod flow;
pub mod public_inputs;
pub mod settle;

pub mod market;
pub mod poseidon;
pub mod range;

#[cfg(test)]
pub(crate) mod circuit_test;
#[cfg(test)]
pub(crate) mod gadget_test;
#[cfg(test)]
mod overlap_tests;
#[cfg(test)]
pub(crate) mod test_vectors;
