//! The coordinator's integration tests: whole rounds over gRPC on loopback against a
//! local market (embedded EVM, three trustees), crash and restart in each phase; the
//! binary (`binary`), the Python client (`python`) and the multi-process mode
//! (`multi_process`). One test binary: each more costs a link and a compile of its own
//! copies of the generic code (a minute or two of a cold build each), and the
//! multi-process round's real-time waits overlap the other tests.

mod binary;
#[path = "../common/mod.rs"]
mod common;
mod crash;
mod floor;
mod griefing;
mod multi_process;
mod python;
mod relay;
mod relay_node;
mod round;
mod sealed;
mod settlement;
mod tls;
