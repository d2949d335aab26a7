//! sealgrid prover: Groth16 key handling, proving and verification.
//!
//! Not built yet (issue #3). This crate deliberately exports nothing, so that
//! nothing can mistake it for a working prover.
