//! sealgrid coordinator: the gRPC service that sequences market rounds.
//!
//! Not built yet (issue #6). This crate deliberately exports nothing.
