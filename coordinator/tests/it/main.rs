//! The coordinator's integration tests: whole rounds over gRPC on loopback against a
//! local market (embedded EVM, three trustees), crash and restart in each phase.

mod common;
mod crash;
mod floor;
mod round;
