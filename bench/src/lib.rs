//! Library side of sealgrid's benchmarks: what a benchmark binary and its CI smoke test
//! share. The circuit benchmark (`src/bin/circuits.rs`) needs none; the coordinator load
//! benchmark (`src/bin/coordinator_load.rs`) lives in [`load`]; the gas of `Market.clear`
//! (`src/bin/gas.rs`) in [`gas`]; one market slot on a node with real blocks
//! (`src/bin/slot.rs`) in [`slot`]; the proof caches they share in [`cache`].

pub mod cache;
pub mod gas;
pub mod load;
pub mod rss;
pub mod slot;
