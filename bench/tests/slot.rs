//! The slot benchmark's smoke version (issue #14 item 5): a slot of 8 prosumers on
//! hardhat's node with a block every second (30 M gas), through the real coordinator and
//! committee: every bid and every settlement on chain exactly once, nothing refused,
//! the clearing the quotes give, the round finalized. The proofs come from the same
//! cache as the benchmark's (`target/sealgrid-bench/`), made on the first run.

use std::sync::Arc;
use std::time::Duration;

use sealgrid_bench::slot::{self, proofs, Options};
use sealgrid_bench::{cache, load};
use sealgrid_verifier_contract::devnode::{self, NodeKind};

const PROSUMERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_on_a_node_with_real_blocks_lands_every_bid_and_settlement_once() {
    if !devnode::required_or_skipped(NodeKind::Hardhat, "the slot on a node") {
        return;
    }
    let keys = Arc::new(
        tokio::task::spawn_blocking(load::keys)
            .await
            .unwrap()
            .unwrap(),
    );
    let proofs = tokio::task::spawn_blocking(move || {
        proofs::load_or_make(keys, PROSUMERS, &cache::dir()).expect("proofs")
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().expect("temp dir");
    let o = Options {
        prosumers: PROSUMERS,
        node: NodeKind::Hardhat,
        block_time: Duration::from_secs(1),
        block_gas: 30_000_000,
        // two batches of bids, two of settlements, both in flight together
        relay_batch: 4,
        relay_in_flight: 2,
        submit_batch: 3,
        clients: 3,
        dir: dir.path().to_path_buf(),
        phase_timeout: Duration::from_secs(300),
    };
    let r = slot::run(&o, &proofs).await.expect("the slot");
    eprint!("{}", slot::summary(&r));
    assert_eq!(r.tally.on_chain, PROSUMERS, "{:?}", r.tally);
    assert!(r.tally.is_clean(), "{:?}", r.tally);
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    assert!(r.clearing_as_expected);
    assert_eq!(
        (r.settlements_accepted, r.settled_bids, r.settled_twice),
        (PROSUMERS, PROSUMERS, 0)
    );
    assert_eq!((r.clear.items, r.finalize.items), (1, 1));
    // batched: fewer transactions than items
    assert!(r.bids.txs < PROSUMERS && r.settle.txs < PROSUMERS, "{r:?}");
    assert!(r.bids.gas > 0 && r.settle.gas > 0);
    assert!(r.is_clean());
}
