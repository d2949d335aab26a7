//! Times the native Poseidon: µs per hash for a few arities, and the ciphertext digest
//! of 36 elements (three 16-input calls, as for one bid's ciphertexts).
//!
//! ```sh
//! cargo run --release -p sealgrid-circuits --example poseidon-speed
//! ```
//!
//! Each figure is the best of five runs of ~200 ms each (the least disturbed by other
//! load on the machine), after one warm-up call that also pays for the one-off
//! initialisation of that width's constants (printed separately).

use ark_std::UniformRand;
use rand::SeedableRng;
use sealgrid_circuits::{digest, poseidon, Fr};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Best-of-five time per call of `f`, in µs.
fn time_per_call(mut f: impl FnMut() -> Fr) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < Duration::from_millis(200) {
            for _ in 0..16 {
                black_box(f());
            }
            calls += 16;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / calls as f64);
    }
    best
}

fn main() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5ea1);
    let inputs: Vec<Fr> = (0..poseidon::MAX_INPUTS)
        .map(|_| Fr::rand(&mut rng))
        .collect();
    for n in [1usize, 2, 3, 5, 16] {
        let xs = &inputs[..n];
        let start = Instant::now();
        black_box(poseidon::hash(black_box(xs)).expect("arity"));
        let first = start.elapsed().as_secs_f64() * 1e6;
        let us = time_per_call(|| poseidon::hash(black_box(xs)).expect("arity"));
        println!("poseidon  {n:>2} inputs: {us:8.2} µs/hash   (first call {first:8.0} µs)");
    }
    let elements: Vec<Fr> = (0..36).map(|_| Fr::rand(&mut rng)).collect();
    let us = time_per_call(|| digest::digest(black_box(&elements)));
    println!("digest    36 elements: {us:8.2} µs   (3 x 16-input Poseidon)");
}
