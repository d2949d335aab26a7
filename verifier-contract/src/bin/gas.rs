//! Gas of `Market.clear` at K = 8 with 10 and 1,000 included bids (or the counts given as
//! arguments), each bid submitted for real on the embedded chain. Run it in release:
//! 1,000 bid proofs take minutes.
//!
//! `cargo run --release -p sealgrid-verifier-contract --bin gas [N ...]`
//!
//! Keys are cached in `$SEALGRID_KEY_DIR` (default `target/sealgrid-gas-keys`).

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::BalanceCircuit;
use sealgrid_circuits::bid::BidCircuit;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::settle::SettleCircuit;
use sealgrid_prover::{KeyStore, NoProgress};
use sealgrid_verifier_contract::gas::{measure_clear, Keys};
use sealgrid_verifier_contract::EmbeddedChain;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let counts: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => vec![10, 1000],
        Err(e) => return Err(format!("arguments are bid counts: {e}").into()),
    };
    let dir =
        std::env::var("SEALGRID_KEY_DIR").unwrap_or_else(|_| "target/sealgrid-gas-keys".into());
    let params = MarketParams::default();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (flow, _secrets) = FlowKeys::random(2 * params.levels + 1, &mut rng);
    let store = KeyStore::open(&dir)?;
    let start = Instant::now();
    let balance = store.get_or_setup("balance", BalanceCircuit::blank(), &mut rng, &NoProgress)?;
    let bid = store.get_or_setup(
        "bid",
        BidCircuit::for_setup(&params, &flow),
        &mut rng,
        &NoProgress,
    )?;
    let settle = store.get_or_setup(
        "settle",
        SettleCircuit::for_setup(&params, &flow),
        &mut rng,
        &NoProgress,
    )?;
    eprintln!("keys ready in {:.1?} ({dir})", start.elapsed());
    let keys = Keys {
        params: &params,
        flow: &flow,
        balance: &balance,
        bid: &bid,
        settle: &settle,
    };
    println!("| K | included bids | clear | submitBid | closeRound | time |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for n in counts {
        let start = Instant::now();
        let mut chain = EmbeddedChain::in_memory();
        chain.set_timestamp(1_767_225_600);
        let g = measure_clear(&mut chain, &keys, n, &mut rng)?;
        println!(
            "| {} | {} | {} | {}..{} | {} | {:.0?} |",
            params.levels,
            g.bids,
            g.clear,
            g.submit_bid.0,
            g.submit_bid.1,
            g.close_round,
            start.elapsed()
        );
    }
    Ok(())
}
