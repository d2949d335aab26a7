//! Fixtures shared by sealgrid's integration tests, one version of each: the quotes and
//! random bids of the round tests, a committee from an in-memory DKG, and (feature
//! `chain`) the test keys and a market on a development chain with its register,
//! deposit, bid and settle steps.
//!
//! A dev-dependency only (`market/tests/deps.rs` checks that no crate links it). It depends on the crates it
//! builds fixtures for, so a crate `X` below it may take it as a dev-dependency for its
//! integration tests (`X/tests/`, which link `X` once), but not use it in unit tests
//! inside `X/src/` (they would see two copies of `X`'s types).
//!
//! | module | feature | for |
//! | --- | --- | --- |
//! | [`bids`] | (always) | quotes, histograms, random bids, bids as posted |
//! | [`committee`] | (always) | DKG, trustees, a cheating share |
//! | `keys` | `chain` | the Groth16 keys of the three circuits, cached on disk |
//! | `market` | `chain` | prosumers, registration, deposit, bid and settle calls |
//!
//! The crates below the verifier contract (committee) take the kit without `chain`, so
//! their dev builds compile none of the EVM side.

pub mod bids;
pub mod committee;
#[cfg(feature = "chain")]
pub mod keys;
#[cfg(feature = "chain")]
pub mod market;
