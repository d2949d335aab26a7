//! Gas of `Market.clear` at K = 8 with 10 and 1,000 included bids (or the counts given as
//! arguments), each bid submitted for real on the embedded chain, and the gas per bid
//! alone (`submitBid`) and in batches (`submitBids`). Run it in release: 1,000 bid
//! proofs take minutes.
//!
//! `cargo run --release -p sealgrid-bench --bin gas [--batch B[,B...]] [N ...]`
//! (default batches 1 and 32)
//!
//! Keys are cached in `$SEALGRID_KEY_DIR` (default `target/sealgrid-gas-keys`).

use std::path::Path;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_bench::gas::{measure_clear, KeySet};
use sealgrid_verifier_contract::EmbeddedChain;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut batches = vec![1usize, 32];
    if let Some(at) = args.iter().position(|a| a == "--batch") {
        let list = args
            .get(at + 1)
            .ok_or("--batch needs a list of batch sizes, e.g. --batch 1,8,32")?
            .clone();
        batches = list
            .split(',')
            .map(|b| {
                b.parse::<usize>()
                    .map_err(|e| format!("--batch {list}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        if batches.contains(&0) {
            return Err("--batch: a batch holds at least one bid".into());
        }
        args.drain(at..at + 2);
    }
    let counts: Vec<usize> = match args.iter().map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => vec![10, 1000],
        Err(e) => return Err(format!("arguments are bid counts: {e}").into()),
    };
    let dir =
        std::env::var("SEALGRID_KEY_DIR").unwrap_or_else(|_| "target/sealgrid-gas-keys".into());
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let start = Instant::now();
    let set = KeySet::load_or_setup(Path::new(&dir), &mut rng)?;
    eprintln!("keys ready in {:.1?} ({dir})", start.elapsed());
    let keys = set.keys();
    println!(
        "| K | included bids | clear | bids per tx | gas per bid | closeRound | register | time |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (n, batch) in counts
        .iter()
        .flat_map(|&n| batches.iter().map(move |&b| (n, b)))
    {
        let start = Instant::now();
        let mut chain = EmbeddedChain::in_memory();
        chain.set_timestamp(1_767_225_600);
        let g = measure_clear(&mut chain, &keys, n, batch, &mut rng)?;
        println!(
            "| {} | {} | {} | {} | {}..{} | {} | {}..{} | {:.0?} |",
            set.params.levels,
            g.bids,
            g.clear,
            g.batch,
            g.submit_bid.0,
            g.submit_bid.1,
            g.close_round,
            g.register.0,
            g.register.1,
            start.elapsed()
        );
    }
    Ok(())
}
