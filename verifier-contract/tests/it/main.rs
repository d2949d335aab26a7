//! Integration tests of the contracts on the embedded EVM.

mod artifacts;
mod clearing;
mod common;
mod embedded;
mod market;
mod verifier;
