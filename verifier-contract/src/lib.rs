//! sealgrid verifier and market contracts (Solidity) and their Rust bindings.
//!
//! Not built yet (issue #4). This crate deliberately exports nothing.
