//! Gas of `Market.clear` at K = 8 with 10 and 1,000 included bids (or the counts given as
//! arguments), each bid submitted for real on the embedded chain. Run it in release:
//! 1,000 bid proofs take minutes.
//!
//! `cargo run --release -p sealgrid-bench --bin gas [N ...]`
//!
//! Keys are cached in `$SEALGRID_KEY_DIR` (default `target/sealgrid-gas-keys`).

use std::path::Path;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_bench::gas::{measure_clear, KeySet};
use sealgrid_verifier_contract::EmbeddedChain;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let counts: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
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
    println!("| K | included bids | clear | submitBid | closeRound | register | time |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for n in counts {
        let start = Instant::now();
        let mut chain = EmbeddedChain::in_memory();
        chain.set_timestamp(1_767_225_600);
        let g = measure_clear(&mut chain, &keys, n, &mut rng)?;
        println!(
            "| {} | {} | {} | {}..{} | {} | {}..{} | {:.0?} |",
            set.params.levels,
            g.bids,
            g.clear,
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
