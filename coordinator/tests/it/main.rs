//! The coordinator's integration tests: whole rounds over gRPC on loopback against a
//! local market (embedded EVM, three trustees), crash and restart in each phase.

// Shared with the other test binaries (`python`): one copy of the local market's setup.
#[path = "../common/mod.rs"]
mod common;
mod crash;
mod floor;
mod griefing;
mod relay;
mod round;
mod sealed;
mod settlement;
mod tls;
