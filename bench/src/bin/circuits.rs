//! Benchmarks the protocol's Groth16 circuits: constraints, setup, prove, verify,
//! batch-verify throughput, key sizes and peak memory.
//!
//! ```sh
//! cargo run --release -p sealgrid-bench --bin circuits -- [--runs N] [--batch B] [--levels K] [CIRCUIT...]
//! ```
//!
//! Each circuit runs in a child process of its own so that its peak resident memory
//! (`VmHWM`) is its own. Output is a Markdown table for `docs/BENCHMARKS.md`.

use std::process::Command;
use std::time::{Duration, Instant};

use ark_serialize::CanonicalSerialize;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::Fr;
use sealgrid_prover::circuits::{CircuitKind, Circuits};
use sealgrid_prover::prove::prove;
use sealgrid_prover::verify::{batch_verify, prepare, verify};
use sealgrid_prover::{KeyStore, NoProgress, Proof};

const CIRCUITS: [&str; 3] = ["balance", "bid", "settle"];

struct Options {
    runs: usize,
    batch: usize,
    levels: usize,
    circuits: Vec<String>,
    child: bool,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        runs: 10,
        batch: 16,
        levels: 8,
        circuits: Vec::new(),
        child: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} takes a positive number"))
        };
        match a.as_str() {
            "--runs" => o.runs = num("--runs")?.max(1),
            "--batch" => o.batch = num("--batch")?.max(1),
            "--levels" => o.levels = num("--levels")?,
            "--child" => o.child = true,
            "-h" | "--help" => {
                return Err(
                    "usage: circuits [--runs N] [--batch B] [--levels K] [balance|bid|settle ...]"
                        .into(),
                )
            }
            c if CIRCUITS.contains(&c) => o.circuits.push(c.to_owned()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if o.circuits.is_empty() {
        o.circuits = CIRCUITS.iter().map(|s| s.to_string()).collect();
    }
    Ok(o)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if o.child {
        for c in &o.circuits {
            println!("{}", run(c, &o));
        }
        return;
    }
    println!(
        "| circuit | constraints | public inputs | setup | prove (median of {}) | verify | batch verify ({} proofs) | pk | vk | peak RSS |",
        o.runs, o.batch
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let exe = std::env::current_exe().expect("own path");
    for c in &o.circuits {
        eprintln!("benchmarking {c} ...");
        let out = Command::new(&exe)
            .args([
                "--child",
                "--runs",
                &o.runs.to_string(),
                "--batch",
                &o.batch.to_string(),
            ])
            .args(["--levels", &o.levels.to_string(), c])
            .output()
            .expect("running the child benchmark");
        if !out.status.success() {
            eprintln!("{c} failed:\n{}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt_d(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

fn fmt_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map(|kb| fmt_bytes(kb * 1024))
        .unwrap_or_else(|| "n/a".into())
}

fn run(name: &str, o: &Options) -> String {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let kind = match name {
        "balance" => CircuitKind::Balance,
        "bid" => CircuitKind::Bid,
        _ => CircuitKind::Settle,
    };
    // Demo flow keys from a fixed seed: the cost does not depend on which keys.
    let circuits = Circuits::demo(o.levels).expect("valid parameters");
    let sample = |rng: &mut ChaCha20Rng| circuits.sample(kind, rng).expect("valid sample").circuit;

    let dir = tempfile::tempdir().expect("temp dir");
    let store = KeyStore::open(dir.path()).expect("key store");
    let t = Instant::now();
    let pair = store
        .setup(name, circuits.setup_circuit(kind), &mut rng, &NoProgress)
        .expect("setup");
    let setup = t.elapsed();
    let pk_size = std::fs::metadata(store.path_of(&pair.id.proving))
        .map(|m| m.len())
        .unwrap_or(0);
    let vk_size = pair.vk.serialized_size(ark_serialize::Compress::No) as u64;
    let pvk = prepare(&pair.vk);

    let mut prove_times = Vec::new();
    let mut proofs: Vec<(Proof, Vec<Fr>)> = Vec::new();
    for i in 0..o.runs.max(o.batch) {
        let s = sample(&mut rng);
        let t = Instant::now();
        let phases = |e: &sealgrid_prover::Event| {
            if let sealgrid_prover::Event::Finished { phase, elapsed, .. } = e {
                if std::env::var_os("SEALGRID_BENCH_PHASES").is_some() {
                    eprintln!("{name}: {phase:?} {elapsed:?}");
                }
            }
        };
        let st = prove(&pair.pk, s, &mut rng, &phases).expect("prove");
        if i < o.runs {
            prove_times.push(t.elapsed());
        }
        proofs.push((st.proof, st.public_inputs));
    }
    let mut verify_times = Vec::new();
    for (p, x) in proofs.iter().take(o.runs) {
        let t = Instant::now();
        verify(&pvk, p, x).expect("valid proof verifies");
        verify_times.push(t.elapsed());
    }
    let batch: Vec<(&Proof, &[Fr])> = proofs
        .iter()
        .take(o.batch)
        .map(|(p, x)| (p, x.as_slice()))
        .collect();
    let t = Instant::now();
    batch_verify(&pvk, batch.iter().copied(), &mut rng).expect("valid batch verifies");
    let batch_time = t.elapsed();
    let throughput = batch.len() as f64 / batch_time.as_secs_f64();

    format!(
        "| {name} (K = {}) | {} | {} | {} | {} | {} | {} ({:.0} proofs/s) | {} | {} | {} |",
        circuits.params().levels,
        pair.id.shape.constraints,
        pair.id.shape.public_inputs,
        fmt_d(setup),
        fmt_d(median(prove_times)),
        fmt_d(median(verify_times)),
        fmt_d(batch_time),
        throughput,
        fmt_bytes(pk_size),
        fmt_bytes(vk_size),
        peak_rss(),
    )
}
