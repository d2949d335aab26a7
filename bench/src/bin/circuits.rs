//! Benchmarks the protocol's Groth16 circuits: constraints, setup, prove (first proof,
//! median, p95, and the phases), verify, batch-verify throughput, key sizes and peak
//! memory.
//!
//! ```sh
//! cargo run --release -p sealgrid-bench --bin circuits -- [--runs N] [--batch B] [--levels K] [CIRCUIT...]
//! ```
//!
//! Per circuit, one child process makes the keys (the setup) into a temporary key store,
//! then a second child process does what a prosumer's device does: it loads the keys and
//! proves, `max(N, B)` times, each on a fresh random valid statement. The second
//! process's peak resident memory (`VmHWM`) is the prover's: key loading and every
//! proof, nothing of the setup. The first proof of a process builds the constraint
//! matrices (the prover keeps them for the later ones), so it is reported apart and the
//! median and p95 are over the later proofs. Output is a Markdown table for
//! `docs/BENCHMARKS.md`.
//!
//! With `--wallet`, a last pair of children measures the prosumer's wallet itself
//! (`sealgrid_wallet::prosumer::Wallet`): the setup child makes all three keys; the
//! wallet child loads them as a household device does (`CircuitKeys::load_or_setup`),
//! proves a deposit and then `N` bids, and reports the bid times and its own peak RSS.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ark_serialize::CanonicalSerialize;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::Fr;
use sealgrid_prover::circuits::{CircuitKind, Circuits};
use sealgrid_prover::prove::prove;
use sealgrid_prover::verify::{batch_verify, prepare, verify};
use sealgrid_prover::{KeyStore, NoProgress, Phase, Proof};

const CIRCUITS: [&str; 3] = ["balance", "bid", "settle"];

struct Options {
    runs: usize,
    batch: usize,
    levels: usize,
    circuits: Vec<String>,
    /// Child modes: `--setup DIR` or `--prove DIR`, for one circuit;
    /// `--wallet-setup DIR` or `--wallet-prove DIR` for the wallet.
    child: Option<(Child, PathBuf)>,
    /// Measure the wallet too.
    wallet: bool,
}

#[derive(Clone, Copy)]
enum Child {
    Setup,
    Prove,
    WalletSetup,
    WalletProve,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        runs: 10,
        batch: 16,
        levels: 8,
        circuits: Vec::new(),
        child: None,
        wallet: false,
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
            "--setup" | "--prove" | "--wallet-setup" | "--wallet-prove" => {
                let dir = args.next().ok_or(format!("{a} takes a directory"))?;
                let mode = match a.as_str() {
                    "--setup" => Child::Setup,
                    "--prove" => Child::Prove,
                    "--wallet-setup" => Child::WalletSetup,
                    _ => Child::WalletProve,
                };
                o.child = Some((mode, PathBuf::from(dir)));
            }
            "--wallet" => o.wallet = true,
            "-h" | "--help" => {
                return Err(
                    "usage: circuits [--runs N] [--batch B] [--levels K] [--wallet] [balance|bid|settle ...]"
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
    if let Some((mode @ (Child::WalletSetup | Child::WalletProve), dir)) = &o.child {
        match mode {
            Child::WalletSetup => println!("{}", wallet_setup(dir, &o)),
            _ => println!("{}", wallet(dir, &o)),
        }
        return;
    }
    if let Some((mode, dir)) = &o.child {
        let [name] = o.circuits.as_slice() else {
            eprintln!("a child benchmark takes one circuit");
            std::process::exit(2);
        };
        match mode {
            Child::Setup => println!("{}", setup(name, dir, &o)),
            Child::Prove => println!("{}", run(name, dir, &o)),
            Child::WalletSetup | Child::WalletProve => unreachable!("handled above"),
        }
        return;
    }
    println!(
        "| circuit | constraints | public inputs | domain | setup | first prove | prove (median of {}) | prove p95 | of which synthesis / Groth16 (medians) | verify | batch verify ({} proofs) | pk | vk | prover's peak RSS |",
        o.runs, o.batch
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let exe = std::env::current_exe().expect("own path");
    for c in &o.circuits {
        eprintln!("benchmarking {c} ...");
        let dir = tempfile::tempdir().expect("temp dir");
        let setup = child(&exe, "--setup", dir.path(), &o, Some(c));
        let proving = child(&exe, "--prove", dir.path(), &o, Some(c));
        let (head, tail) = proving
            .split_once('\n')
            .expect("the prove child's two lines");
        println!("| {c} (K = {}) | {head} | {setup} | {tail} |", o.levels);
    }
    if o.wallet {
        eprintln!("benchmarking the wallet ...");
        let dir = tempfile::tempdir().expect("temp dir");
        let setup = child(&exe, "--wallet-setup", dir.path(), &o, None);
        let row = child(&exe, "--wallet-prove", dir.path(), &o, None);
        println!();
        println!(
            "| wallet (K = {}: the three keys, a deposit, then {} bids) | setup of the three | keys loaded | deposit | first bid | bid (median) | bid p95 | wallet's peak RSS |",
            o.levels, o.runs
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        println!("| `Wallet::bid_submission` | {setup} | {row} |");
    }
}

/// Runs this binary as the child `mode` on `dir` (for `circuit`, or the wallet) with the
/// options of this run; its standard output, or the run ends with the child's errors.
fn child(exe: &Path, mode: &str, dir: &Path, o: &Options, circuit: Option<&str>) -> String {
    let out = Command::new(exe)
        .args([mode, &dir.display().to_string()])
        .args(["--runs", &o.runs.to_string()])
        .args(["--batch", &o.batch.to_string()])
        .args(["--levels", &o.levels.to_string()])
        .args(circuit)
        .output()
        .expect("running the child benchmark");
    if !out.status.success() {
        eprintln!(
            "{} {mode} failed:\n{}",
            circuit.unwrap_or("wallet"),
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The wallet's setup child: all three keys into `dir`; prints the time.
fn wallet_setup(dir: &Path, o: &Options) -> String {
    let circuits = Circuits::demo(o.levels).expect("valid parameters");
    let store = KeyStore::open(dir).expect("key store");
    let t = Instant::now();
    sealgrid_prover::circuits::CircuitKeys::load_or_setup(circuits, &store, &NoProgress)
        .expect("setup");
    fmt_d(t.elapsed())
}

/// The wallet child: a household's wallet loads the three keys, proves a deposit, then
/// `runs` bids (each from the balance the one before left); prints the cells from the
/// key loading on.
fn wallet(dir: &Path, o: &Options) -> String {
    use sealgrid_circuits::market::params::Side;
    let mut rng = ChaCha20Rng::seed_from_u64(2028);
    let circuits = Circuits::demo(o.levels).expect("valid parameters");
    let store = KeyStore::open(dir).expect("key store");
    let t = Instant::now();
    let keys = sealgrid_prover::circuits::CircuitKeys::load_or_setup(circuits, &store, &NoProgress)
        .expect("the setup child made the keys");
    let loaded = t.elapsed();
    let mut w = sealgrid_wallet::prosumer::Wallet::new(&mut rng);
    let market = alloy_primitives::Address::repeat_byte(0x11);
    let t = Instant::now();
    let (_, next) = w
        .deposit_submission(&keys, 1_000_000_000, 31337, market, &mut rng)
        .expect("a deposit");
    let deposit = t.elapsed();
    w.commit_balance(next);
    let mut bids = Vec::new();
    for round in 0..=o.runs as u64 {
        let t = Instant::now();
        let (_, open, after) = w
            .bid_submission(&keys, round, Side::Buy, (round % 8) as usize, 100, &mut rng)
            .expect("a bid");
        bids.push(t.elapsed());
        w.commit_bid(round, open, after);
    }
    let first = bids.remove(0);
    format!(
        "{} | {} | {} | {} | {} | {}",
        fmt_d(loaded),
        fmt_d(deposit),
        fmt_d(first),
        fmt_d(median(&bids)),
        fmt_d(percentile(&bids, 95)),
        peak_rss(),
    )
}

/// The setup child: makes the keys into `dir`; prints the setup time.
fn setup(name: &str, dir: &Path, o: &Options) -> String {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let circuits = Circuits::demo(o.levels).expect("valid parameters");
    let store = KeyStore::open(dir).expect("key store");
    let t = Instant::now();
    store
        .setup(
            name,
            circuits.setup_circuit(kind(name)),
            &mut rng,
            &NoProgress,
        )
        .expect("setup");
    fmt_d(t.elapsed())
}

fn kind(name: &str) -> CircuitKind {
    match name {
        "balance" => CircuitKind::Balance,
        "bid" => CircuitKind::Bid,
        _ => CircuitKind::Settle,
    }
}

fn median(v: &[Duration]) -> Duration {
    percentile(v, 50)
}

/// The nearest-rank percentile `p` of `v` (not empty).
fn percentile(v: &[Duration], p: usize) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    let rank = (p * v.len()).div_ceil(100).max(1);
    v[rank - 1]
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

/// The prove child: loads the keys from `dir` and proves; prints the row's cells from
/// the constraints to the domain on one line, from the first proof on on the next.
fn run(name: &str, dir: &Path, o: &Options) -> String {
    let mut rng = ChaCha20Rng::seed_from_u64(2027);
    // Demo flow keys from a fixed seed: the cost does not depend on which keys.
    let circuits = Circuits::demo(o.levels).expect("valid parameters");
    let kind = kind(name);
    let store = KeyStore::open(dir).expect("key store");
    let id = store
        .lookup(name)
        .expect("key store")
        .expect("the setup child made the keys");
    let pair = store.load_pair(&id, &NoProgress).expect("loading the keys");
    let pk_size = std::fs::metadata(store.path_of(&pair.id.proving))
        .map(|m| m.len())
        .unwrap_or(0);
    let vk_size = pair.vk.serialized_size(ark_serialize::Compress::No) as u64;
    let pvk = prepare(&pair.vk);

    let mut first = Duration::ZERO;
    let mut prove_times = Vec::new();
    let (mut synth, mut groth16) = (Vec::new(), Vec::new());
    let mut proofs: Vec<(Proof, Vec<Fr>)> = Vec::new();
    for i in 0..=o.runs.max(o.batch) {
        let s = circuits
            .sample(kind, &mut rng)
            .expect("valid sample")
            .circuit;
        let phases = RefCell::new(Vec::new());
        let record = |e: &sealgrid_prover::Event| {
            if let sealgrid_prover::Event::Finished { phase, elapsed, .. } = e {
                phases.borrow_mut().push((*phase, *elapsed));
            }
        };
        let t = Instant::now();
        let st = prove(&pair.pk, s, &mut rng, &record).expect("prove");
        let took = t.elapsed();
        if i == 0 {
            first = took;
        } else if i <= o.runs {
            prove_times.push(took);
            for (phase, elapsed) in phases.into_inner() {
                match phase {
                    Phase::Synthesize => synth.push(elapsed),
                    Phase::Prove => groth16.push(elapsed),
                    _ => {}
                }
            }
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
    let shape = &pair.id.shape;
    let domain = (shape.constraints + shape.public_inputs + 1).next_power_of_two();

    format!(
        "{} | {} | 2^{}\n{} | {} | {} | {} / {} | {} | {} ({:.0} proofs/s) | {} | {} | {}",
        shape.constraints,
        shape.public_inputs,
        domain.trailing_zeros(),
        fmt_d(first),
        fmt_d(median(&prove_times)),
        fmt_d(percentile(&prove_times, 95)),
        fmt_d(median(&synth)),
        fmt_d(median(&groth16)),
        fmt_d(median(&verify_times)),
        fmt_d(batch_time),
        throughput,
        fmt_bytes(pk_size),
        fmt_bytes(vk_size),
        peak_rss(),
    )
}
