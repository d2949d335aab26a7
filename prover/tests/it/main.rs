//! Integration tests of sealgrid-prover, one binary (one link) for all of them.

mod circuits;
mod common;
mod keys;
mod snarkjs;
mod snarkjs_cli;
mod verify;
