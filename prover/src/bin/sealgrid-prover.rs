//! `sealgrid-prover`: Groth16 keys, sample proofs, verification and snarkjs export for
//! sealgrid's three circuits. See `sealgrid-prover --help`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::OsRng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_prover::circuits::{default_key_dir, DEMO_FLOW_KEY_SEED, KEY_DIR_ENV};
use sealgrid_prover::snarkjs;
use sealgrid_prover::{
    proof_from_bytes, proof_to_bytes, prove, verify, CircuitKind, Circuits, Event, Fr, KeyPair,
    KeyStore, Phase, Progress, Proof, VerifyError, VerifyingKey,
};

const ABOUT: &str = "Groth16 (BN254) keys, proofs and verification for sealgrid's circuits";

const LONG_ABOUT: &str = "\
Groth16 (BN254) keys, proofs and verification for sealgrid's three circuits \
(docs/PROTOCOL.md §4): balance, bid and settle.

Flow keys: the bid and settle circuits take the market parameters and the committee's \
flow keys as circuit constants. Until the committee's DKG supplies real keys, this tool \
uses a DEMO key set, FlowKeys::random seeded with a fixed, published seed: anyone can \
decrypt flows encrypted under it. Use it for demos, tests and benchmarks only. The \
market parameters are the defaults with K = --levels price levels; the key names \
(bid-k<K>-<id>, settle-k<K>-<id>) carry an id of parameters and keys.

Keys are cached in the key directory, named by the hash of their bytes, and reused \
when the circuit's shape has not changed.

Exit status: 0 on success, 1 when `verify` rejects a proof, 2 on any other error.";

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "sealgrid-prover", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// Key cache directory [default: $CARGO_TARGET_DIR/sealgrid-keys, else
    /// target/sealgrid-keys in the workspace the tool was built from].
    #[arg(long, env = KEY_DIR_ENV, global = true, value_name = "DIR")]
    key_dir: Option<PathBuf>,

    /// Number of price levels K of the market (bid and settle circuits; the balance
    /// circuit does not depend on it). Market parameters are otherwise the defaults.
    #[arg(long, value_name = "K", default_value_t = 8, global = true)]
    levels: usize,

    /// Show no spinners or progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Make (or reuse) a circuit's Groth16 keys and print their ids and sizes.
    Setup {
        /// The circuit.
        #[arg(long, value_enum)]
        circuit: CircuitArg,
        /// Run a fresh setup even when cached keys fit the circuit.
        #[arg(long)]
        force: bool,
    },
    /// Prove random valid statements; write the proof and public inputs in binary
    /// (proof.bin, public.bin) and as snarkjs JSON (proof.json, public.json, with
    /// verification_key.json beside them). Runs a setup first if no keys are cached.
    Prove {
        /// The circuit.
        #[arg(long, value_enum)]
        circuit: CircuitArg,
        /// Prove random sample statements (their witnesses drawn with the circuits'
        /// own prepare functions). Required: proving a given witness is not yet
        /// supported.
        #[arg(long, required = true)]
        sample: bool,
        /// Number of samples. One is written into DIR; several into DIR/0, DIR/1, ...
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
        /// Seed for the samples' witnesses (reproducible statements); the proofs'
        /// blinding always comes from the OS. [default: OS randomness]
        #[arg(long, value_name = "SEED")]
        seed: Option<u64>,
        /// Output directory (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Verify a proof; exits with status 1 if it is rejected.
    Verify {
        /// The circuit.
        #[arg(long, value_enum)]
        circuit: CircuitArg,
        /// The proof: proof.bin (128 bytes, compressed) or snarkjs proof.json.
        #[arg(long, value_name = "FILE")]
        proof: PathBuf,
        /// The public inputs: public.bin or snarkjs public.json.
        #[arg(long, value_name = "FILE")]
        public: PathBuf,
        /// Verifying key to use instead of the cached one: snarkjs
        /// verification_key.json, or a key store .vk file.
        #[arg(long, value_name = "FILE")]
        vk: Option<PathBuf>,
    },
    /// Write the circuit's cached verifying key as snarkjs verification_key.json.
    ExportSnarkjs {
        /// The circuit.
        #[arg(long, value_enum)]
        circuit: CircuitArg,
        /// Output directory (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// A circuit named on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CircuitArg {
    /// Deposit, withdraw, merge a payout (PROTOCOL §4.1).
    Balance,
    /// A sealed bid with its margin locked (PROTOCOL §4.2).
    Bid,
    /// A bid's settlement against the clearing and a meter reading (PROTOCOL §4.3).
    Settle,
}

impl From<CircuitArg> for CircuitKind {
    fn from(c: CircuitArg) -> Self {
        match c {
            CircuitArg::Balance => CircuitKind::Balance,
            CircuitArg::Bid => CircuitKind::Bid,
            CircuitArg::Settle => CircuitKind::Settle,
        }
    }
}

/// Why `run` failed: a rejected proof (exit 1) or anything else (exit 2).
enum Failure {
    Rejected(String),
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected(why)) => {
            eprintln!("REJECTED: {why}");
            ExitCode::from(1)
        }
        Err(Failure::Error(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The state every command needs.
struct Ctx {
    circuits: Circuits,
    store: KeyStore,
    mp: MultiProgress,
}

impl Ctx {
    fn key_pair(&self, kind: CircuitKind, force: bool, reporter: &Reporter) -> Result<KeyPair> {
        let name = self.circuits.key_name(kind);
        let circuit = self.circuits.setup_circuit(kind);
        let pair = if force {
            self.store.setup(&name, circuit, &mut OsRng, reporter)
        } else {
            self.store
                .get_or_setup(&name, circuit, &mut OsRng, reporter)
        };
        pair.with_context(|| format!("keys for circuit {name} in {}", self.store.dir().display()))
    }

    fn verifying_key(&self, kind: CircuitKind) -> Result<(VerifyingKey, String)> {
        let name = self.circuits.key_name(kind);
        let id = self
            .store
            .lookup(&name)
            .with_context(|| format!("looking up keys for {name}"))?
            .with_context(|| {
                format!(
                    "no keys for circuit {name} in {}: run `sealgrid-prover setup --circuit {kind} --levels {}` first",
                    self.store.dir().display(),
                    self.circuits.params().levels
                )
            })?;
        let vk = self
            .store
            .load_verifying_key(&id.verifying)
            .with_context(|| format!("loading {}", id.verifying))?;
        Ok((vk, id.verifying.to_string()))
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let circuits = Circuits::demo(cli.levels)
        .with_context(|| format!("market with K = {} price levels", cli.levels))?;
    let key_dir = cli.key_dir.clone().unwrap_or_else(default_key_dir);
    let store = KeyStore::open(&key_dir)
        .with_context(|| format!("opening key directory {}", key_dir.display()))?;
    let mp = if cli.quiet {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    let ctx = Ctx {
        circuits,
        store,
        mp,
    };
    match cli.command {
        Command::Setup { circuit, force } => setup(&ctx, circuit.into(), force)?,
        Command::Prove {
            circuit,
            sample: _,
            count,
            seed,
            out,
        } => prove_samples(&ctx, circuit.into(), count, seed, &out)?,
        Command::Verify {
            circuit,
            proof,
            public,
            vk,
        } => return verify_files(&ctx, circuit.into(), &proof, &public, vk.as_deref()),
        Command::ExportSnarkjs { circuit, out } => export(&ctx, circuit.into(), &out)?,
    }
    Ok(())
}

fn setup(ctx: &Ctx, kind: CircuitKind, force: bool) -> Result<()> {
    let reporter = Reporter::spinners(&ctx.mp);
    let pair = ctx.key_pair(kind, force, &reporter)?;
    let size = |id: &sealgrid_prover::KeyId| -> Result<u64> {
        let path = ctx.store.path_of(id);
        Ok(fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len())
    };
    let shape = &pair.id.shape;
    println!("circuit       {} ({kind})", pair.id.circuit);
    if kind != CircuitKind::Balance {
        println!(
            "flow keys     DEMO set (seed {DEMO_FLOW_KEY_SEED:#x}), K = {}, set id {}",
            ctx.circuits.params().levels,
            ctx.circuits.set_id()
        );
    }
    println!(
        "shape         {} constraints, {} public inputs, {} witnesses",
        shape.constraints, shape.public_inputs, shape.witnesses
    );
    println!(
        "proving key   {}  {}",
        pair.id.proving,
        human_bytes(size(&pair.id.proving)?)
    );
    println!(
        "verifying key {}  {}",
        pair.id.verifying,
        human_bytes(size(&pair.id.verifying)?)
    );
    println!("key dir       {}", ctx.store.dir().display());
    Ok(())
}

fn prove_samples(
    ctx: &Ctx,
    kind: CircuitKind,
    count: u32,
    seed: Option<u64>,
    out: &Path,
) -> Result<()> {
    let pair = ctx.key_pair(kind, false, &Reporter::spinners(&ctx.mp))?;
    let mut witness_rng = match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_rng(OsRng).context("seeding from the OS")?,
    };
    let reporter = if count > 1 {
        Reporter::bar(&ctx.mp, u64::from(count))
    } else {
        Reporter::spinners(&ctx.mp)
    };
    for i in 0..count {
        let dir = if count == 1 {
            out.to_owned()
        } else {
            out.join(i.to_string())
        };
        let sample = ctx
            .circuits
            .sample(kind, &mut witness_rng)
            .with_context(|| format!("drawing sample {i} of {kind}"))?;
        let stmt = prove(&pair.pk, sample.circuit, &mut OsRng, &reporter)
            .with_context(|| format!("proving sample {i} of {kind}"))?;
        if stmt.public_inputs != sample.public_inputs {
            bail!("sample {i}: the circuit's public inputs differ from the statement's");
        }
        write_statement(&dir, &pair.vk, &stmt.proof, &stmt.public_inputs)?;
        reporter.proved();
        if count == 1 {
            println!("wrote {kind} proof to {}", dir.display());
        }
    }
    reporter.finish();
    if count > 1 {
        println!(
            "wrote {count} {kind} proofs to {}/0..{}",
            out.display(),
            count - 1
        );
    }
    println!("key {}", pair.id.verifying);
    Ok(())
}

fn write_statement(dir: &Path, vk: &VerifyingKey, proof: &Proof, inputs: &[Fr]) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("proof.bin", &proof_to_bytes(proof))?;
    let mut public = Vec::new();
    inputs
        .serialize_compressed(&mut public)
        .context("serialising public inputs")?;
    write("public.bin", &public)?;
    snarkjs::write_files(dir, vk, proof, inputs)
        .with_context(|| format!("writing snarkjs JSON to {}", dir.display()))
}

fn verify_files(
    ctx: &Ctx,
    kind: CircuitKind,
    proof_path: &Path,
    public_path: &Path,
    vk_path: Option<&Path>,
) -> Result<(), Failure> {
    let (vk, vk_name) = match vk_path {
        Some(path) => (read_vk(path)?, path.display().to_string()),
        None => ctx.verifying_key(kind)?,
    };
    let proof = read_proof(proof_path)?;
    let inputs = read_public(public_path)?;
    let pvk = sealgrid_prover::prepare(&vk);
    match verify(&pvk, &proof, &inputs) {
        Ok(()) => {
            println!("OK: the {kind} proof verifies under {vk_name}");
            Ok(())
        }
        Err(e @ (VerifyError::Rejected | VerifyError::InvalidPoint { .. })) => {
            Err(Failure::Rejected(format!(
                "the {kind} proof does not verify under {vk_name}: {e}"
            )))
        }
        Err(e @ VerifyError::PublicInputCount { .. }) => Err(Failure::Rejected(format!(
            "{e} (circuit {kind} has {} public inputs)",
            kind.num_public_inputs()
        ))),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("verifying {}", proof_path.display()))
            .into()),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// True when the file's first non-blank byte is `open` (a JSON object or array).
fn is_json(bytes: &[u8], open: u8) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&open)
}

fn read_proof(path: &Path) -> Result<Proof> {
    let bytes = read(path)?;
    if is_json(&bytes, b'{') {
        let text = std::str::from_utf8(&bytes).context("proof.json is not UTF-8")?;
        snarkjs::import_proof_json(text)
            .with_context(|| format!("{} is not a valid snarkjs proof", path.display()))
    } else {
        proof_from_bytes(&bytes)
            .with_context(|| format!("{} is not a valid binary proof", path.display()))
    }
}

fn read_public(path: &Path) -> Result<Vec<Fr>> {
    let bytes = read(path)?;
    if is_json(&bytes, b'[') {
        let text = std::str::from_utf8(&bytes).context("public.json is not UTF-8")?;
        snarkjs::import_public_inputs_json(text)
            .with_context(|| format!("{} is not a valid snarkjs public.json", path.display()))
    } else {
        let mut reader = &bytes[..];
        let inputs = Vec::<Fr>::deserialize_with_mode(&mut reader, Compress::Yes, Validate::Yes)
            .with_context(|| format!("{} is not a valid public.bin", path.display()))?;
        if !reader.is_empty() {
            bail!("{} has {} trailing bytes", path.display(), reader.len());
        }
        Ok(inputs)
    }
}

fn read_vk(path: &Path) -> Result<VerifyingKey> {
    let bytes = read(path)?;
    if is_json(&bytes, b'{') {
        let text = std::str::from_utf8(&bytes).context("verification_key.json is not UTF-8")?;
        snarkjs::import_verifying_key_json(text)
            .with_context(|| format!("{} is not a valid snarkjs verifying key", path.display()))
    } else {
        VerifyingKey::deserialize_with_mode(&bytes[..], Compress::No, Validate::Yes)
            .with_context(|| format!("{} is not a valid .vk file", path.display()))
    }
}

fn export(ctx: &Ctx, kind: CircuitKind, out: &Path) -> Result<()> {
    let (vk, vk_name) = ctx.verifying_key(kind)?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("verification_key.json");
    let json = serde_json::to_string_pretty(&snarkjs::export_verifying_key(&vk))
        .context("encoding the verifying key")?;
    fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {} (from {vk_name})", path.display());
    Ok(())
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB ({n} bytes)", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB ({n} bytes)", n as f64 / f64::from(1 << 10)),
        n => format!("{n} bytes"),
    }
}

/// Turns the prover's [`Event`]s into indicatif spinners (one per phase) or, when
/// several proofs are made, one bar whose message follows the phase.
struct Reporter {
    mp: MultiProgress,
    spinners: Mutex<HashMap<Phase, ProgressBar>>,
    bar: Option<ProgressBar>,
}

impl Reporter {
    fn spinners(mp: &MultiProgress) -> Self {
        Reporter {
            mp: mp.clone(),
            spinners: Mutex::new(HashMap::new()),
            bar: None,
        }
    }

    fn bar(mp: &MultiProgress, len: u64) -> Self {
        let bar = mp.add(ProgressBar::new(len));
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} proofs, eta {eta} {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Reporter {
            bar: Some(bar),
            ..Reporter::spinners(mp)
        }
    }

    fn proved(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message("done");
        }
    }

    fn println(&self, line: &str) {
        if self.mp.println(line).is_err() {
            eprintln!("{line}");
        }
    }
}

impl Progress for Reporter {
    fn event(&self, event: &Event) {
        let mut spinners = self.spinners.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Started { phase, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(phase.to_string());
                    return;
                }
                let spinner = self.mp.add(ProgressBar::new_spinner());
                spinner.set_style(
                    ProgressStyle::with_template("{spinner:.green} {msg} {elapsed:.dim}")
                        .expect("a valid template"),
                );
                spinner.set_message(event.to_string());
                spinner.enable_steady_tick(Duration::from_millis(100));
                spinners.insert(*phase, spinner);
            }
            Event::Finished { phase, .. } => {
                if self.bar.is_some() {
                    return;
                }
                match spinners.remove(phase) {
                    Some(spinner) => {
                        spinner.set_style(
                            ProgressStyle::with_template("✔ {msg}").expect("a valid template"),
                        );
                        spinner.finish_with_message(event.to_string());
                    }
                    None => self.println(&event.to_string()),
                }
            }
            Event::CacheHit { .. } | Event::CacheStale { .. } | Event::Step { .. } => {
                if self.bar.is_none() {
                    self.println(&event.to_string());
                }
            }
        }
    }
}
