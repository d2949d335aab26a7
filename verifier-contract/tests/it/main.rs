//! Integration tests of the contracts on the embedded EVM and on a node over JSON-RPC.

mod artifacts;
mod batch;
mod clearing;
mod common;
mod deposit_digest;
mod embedded;
mod inclusion;
mod market;
mod round;
mod rpc;
mod rpc_many;
mod settle;
mod trust;
mod verifier;
