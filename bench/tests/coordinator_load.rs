//! The coordinator load benchmark's smoke mode, in process: 8 bids from 8 concurrent
//! clients, singly and in batches of 3 (the last one short); every accepted bid on chain exactly once and the
//! resubmissions refused ALREADY_EXISTS. The proofs come from the same cache as the
//! benchmark's (`target/sealgrid-bench/`), made on the first run.

use std::sync::Arc;
use std::time::Duration;

use sealgrid_bench::load::{self, bids, Options};

const BIDS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_bids_land_once_each() {
    let keys = Arc::new(
        tokio::task::spawn_blocking(load::keys)
            .await
            .unwrap()
            .unwrap(),
    );
    let subs = tokio::task::spawn_blocking(move || {
        bids::load_or_make(keys, BIDS, &bids::cache_dir()).expect("bids")
    })
    .await
    .unwrap();
    let subs = Arc::new(subs);
    for batch in [0, 3] {
        let o = Options {
            bids: BIDS,
            concurrency: BIDS,
            batch,
            channels: 4,
            resubmit: 3,
            in_process: true,
            on_chain_timeout: Duration::from_secs(60),
        };
        let r = load::run(&o, subs.clone()).await.expect("the run");
        assert_eq!(r.accepted, BIDS, "batch {batch}: refused {:?}", r.refused);
        assert!(r.refused.is_empty(), "batch {batch}: {:?}", r.refused);
        assert_eq!(r.tally.on_chain, BIDS, "batch {batch}: {:?}", r.tally);
        assert!(r.tally.is_clean(), "batch {batch}: {:?}", r.tally);
        assert_eq!((r.resubmitted, r.already_exists), (3, 3), "batch {batch}");
        assert!(r.is_clean());
    }
}
