//! sealgrid's market description, shared by every party and owned by none of them: the
//! market file that ties a deployment to its committee and its verifying keys
//! ([`file`]), the market clock ([`schedule`]), the committee's public setup ([`setup`])
//! and the prepared verifying keys ([`verifiers`]).
//!
//! This crate is neutral ground: the coordinator (a server), the trustees (servers), the
//! prosumer wallet and the regulator's audit all read it, so it depends on no server
//! crate (no coordinator, no trustee service, no store). `tests/deps.rs` in this crate
//! holds the workspace to that rule.

pub mod file;
pub mod schedule;
pub mod setup;
pub mod verifiers;

pub use file::{MarketFile, MarketFileError, VerifierKeyIds};
pub use schedule::{Clock, RoundTimes, Schedule};
pub use setup::TrusteeSetup;
pub use verifiers::Verifiers;
