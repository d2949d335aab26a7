//! sealgrid protobuf definitions and generated gRPC code.
//!
//! Not built yet (issue #6). This crate deliberately exports nothing.
