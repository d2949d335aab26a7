//! The ceremony's tests: one binary (one link) for all of them.

mod cli;
mod common;
mod local;
mod snarkjs;
