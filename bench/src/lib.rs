//! Library side of sealgrid's benchmarks: what a benchmark binary and its CI smoke test
//! share. The circuit benchmark (`src/bin/circuits.rs`) needs none; the coordinator load
//! benchmark (`src/bin/coordinator_load.rs`) lives in [`load`].

pub mod load;
pub mod rss;
