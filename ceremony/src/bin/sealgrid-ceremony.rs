//! `sealgrid-ceremony`: the multi-party trusted setup, one step per invocation. See
//! `sealgrid-ceremony --help`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use sealgrid_ceremony::encoding::format_hash;
use sealgrid_ceremony::r1cs::{witness_of, write_wtns};
use sealgrid_ceremony::{phase1, phase2, CeremonyError, Ptau, R1cs, Zkey};
use sealgrid_prover::circuits::{default_key_dir, KEY_DIR_ENV};
use sealgrid_prover::{CircuitKind, CircuitShape, Circuits, KeyStore};

const ABOUT: &str = "Multi-party Groth16 trusted setup in snarkjs's .ptau/.zkey formats";

const LONG_ABOUT: &str = "\
Multi-party Groth16 (BN254) trusted setup for sealgrid's circuits, in snarkjs's file \
formats: snarkjs can verify and continue every file this tool writes, and the other way \
round. Each step is one invocation; a contributor runs `contribute` in their own \
process and publishes the contribution hash it prints. The secret is drawn from the OS \
(mixed with optional typed entropy) and never written or printed.

Phase 1 (powers of tau, shared by all circuits): `ptau new`, `ptau contribute` (each \
party), `ptau beacon`, `ptau prepare` (the Lagrange sections phase 2 needs), `ptau \
verify`. A public transcript (e.g. the Hermez/perpetual powers of tau, prepared) works \
as is.

Phase 2 (per circuit and committee epoch): `r1cs` exports the circuit, `zkey new` \
starts from it and a prepared phase-1 file, `zkey contribute` (each party), `zkey \
beacon`, `zkey verify` (anyone: every proof of knowledge, the hash chain, the key \
against this R1CS and phase-1 file), `zkey export` into the prover's key store.

One honest contributor (who draws a real secret and forgets it) makes the key sound.

Flow keys: the bid and settle circuits take the committee's flow keys as constants: \
give the committee's setup file (--setup, from `sealgrid-trustee dkg`), so a new \
committee epoch means a new phase 2. Without it, the DEMO key set of `sealgrid-prover` \
(--levels K), which protects nothing.

Exit status: 0 on success, 1 when `verify` rejects a transcript, 2 on any other error.";

#[derive(Debug, Parser)]
#[command(name = "sealgrid-ceremony", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// Show no spinner.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Circuit {
    Balance,
    Bid,
    Settle,
}

impl From<Circuit> for CircuitKind {
    fn from(c: Circuit) -> Self {
        match c {
            Circuit::Balance => CircuitKind::Balance,
            Circuit::Bid => CircuitKind::Bid,
            Circuit::Settle => CircuitKind::Settle,
        }
    }
}

#[derive(Debug, clap::Args)]
struct CircuitArgs {
    /// The circuit.
    #[arg(long, value_enum)]
    circuit: Circuit,
    /// The committee's setup file (`sealgrid-trustee dkg` writes it): the market
    /// parameters and the flow keys the bid and settle circuits take as constants.
    #[arg(long, value_name = "FILE", conflicts_with = "levels")]
    setup: Option<PathBuf>,
    /// Without --setup: the demo key set (`sealgrid-prover`'s, protects nothing) with K
    /// price levels.
    #[arg(long, value_name = "K", default_value_t = 8)]
    levels: usize,
}

/// The parts of a committee setup file the circuits are made of.
#[derive(serde::Deserialize)]
struct CommitteeSetup {
    committee: sealgrid_committee::dkg::CommitteePublic,
    market: sealgrid_circuits::market::MarketParams,
}

impl CircuitArgs {
    fn circuits(&self) -> Result<Circuits> {
        match &self.setup {
            None => Circuits::demo(self.levels).context("making the circuits"),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let s: CommitteeSetup = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a committee setup", path.display()))?;
                Circuits::new(s.market, s.committee.flow_keys())
                    .with_context(|| format!("the circuits of {}", path.display()))
            }
        }
    }
}

#[derive(Debug, clap::Args)]
struct ContributorArgs {
    /// The contributor's name, recorded in the file (at most 64 bytes).
    #[arg(long)]
    name: Option<String>,
    /// Also read a line of typed entropy from standard input (mixed with 64 bytes from
    /// the OS; never stored).
    #[arg(long)]
    ask_entropy: bool,
}

impl ContributorArgs {
    fn entropy(&self) -> Result<Vec<u8>> {
        if !self.ask_entropy {
            return Ok(Vec::new());
        }
        eprint!("Type some random text and press enter: ");
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading entropy from standard input")?;
        Ok(line.into_bytes())
    }
}

#[derive(Debug, clap::Args)]
struct BeaconArgs {
    /// The beacon value in hex (1 to 255 bytes), e.g. a block hash fixed in advance.
    #[arg(long)]
    hash: String,
    /// log2 of the number of SHA-256 iterations over it (10 to 63).
    #[arg(long, default_value_t = 10)]
    iterations_exp: u8,
    /// A name recorded for the beacon.
    #[arg(long)]
    name: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Export a circuit's R1CS as circom .r1cs.
    R1cs {
        #[command(flatten)]
        circuit: CircuitArgs,
        /// Output file.
        out: PathBuf,
    },
    /// Export a random valid statement's witness as circom .wtns (and its public inputs
    /// as snarkjs public.json next to it), for `snarkjs groth16 prove`.
    Wtns {
        #[command(flatten)]
        circuit: CircuitArgs,
        /// Seed of the sample.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file.
        out: PathBuf,
    },
    /// Phase 1: powers of tau.
    #[command(subcommand)]
    Ptau(PtauCommand),
    /// Phase 2: a circuit's key.
    #[command(subcommand)]
    Zkey(ZkeyCommand),
}

#[derive(Debug, Subcommand)]
enum PtauCommand {
    /// A blank phase-1 file (2^power constraints at most; no contribution yet).
    New {
        #[arg(long)]
        power: u32,
        out: PathBuf,
    },
    /// Add a contribution (prints its response hash to publish).
    Contribute {
        input: PathBuf,
        out: PathBuf,
        #[command(flatten)]
        who: ContributorArgs,
    },
    /// Add the final beacon contribution.
    Beacon {
        input: PathBuf,
        out: PathBuf,
        #[command(flatten)]
        beacon: BeaconArgs,
    },
    /// Add the Lagrange sections phase 2 needs (after the last contribution).
    Prepare { input: PathBuf, out: PathBuf },
    /// Verify every contribution and the file's points.
    Verify { input: PathBuf },
}

#[derive(Debug, Subcommand)]
enum ZkeyCommand {
    /// The initial key of an R1CS from a prepared phase-1 file.
    New {
        r1cs: PathBuf,
        ptau: PathBuf,
        out: PathBuf,
    },
    /// Add a contribution (prints its contribution hash to publish).
    Contribute {
        input: PathBuf,
        out: PathBuf,
        #[command(flatten)]
        who: ContributorArgs,
    },
    /// Add the final beacon contribution.
    Beacon {
        input: PathBuf,
        out: PathBuf,
        #[command(flatten)]
        beacon: BeaconArgs,
    },
    /// Verify the whole transcript against the R1CS and the phase-1 file.
    Verify {
        r1cs: PathBuf,
        ptau: PathBuf,
        zkey: PathBuf,
        /// Also recompute the initial key point by point and its circuit hash, as
        /// snarkjs does (minutes for the bid circuit; the default check is by random
        /// linear combinations, seconds).
        #[arg(long)]
        full: bool,
    },
    /// Install the key into the prover's key store (after `verify`).
    Export {
        zkey: PathBuf,
        #[command(flatten)]
        circuit: CircuitArgs,
        /// Key store directory [default: as sealgrid-prover's].
        #[arg(long, env = KEY_DIR_ENV, value_name = "DIR")]
        key_dir: Option<PathBuf>,
        /// Also write snarkjs's verification_key.json here.
        #[arg(long, value_name = "FILE")]
        vk_json: Option<PathBuf>,
    },
}

struct Spinner {
    bar: Option<ProgressBar>,
    start: Instant,
}

impl Spinner {
    fn new(quiet: bool, what: &str) -> Self {
        let bar = (!quiet).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner:.green} {prefix}: {msg} {elapsed:.dim}")
                    .expect("a valid template"),
            );
            bar.set_prefix(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Spinner {
            bar,
            start: Instant::now(),
        }
    }

    fn step(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_owned());
        }
    }

    fn done(self) -> Duration {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        self.start.elapsed()
    }
}

fn read_ptau(path: &Path) -> Result<Ptau> {
    Ptau::read(path).with_context(|| format!("reading the phase-1 file {}", path.display()))
}

fn read_zkey(path: &Path) -> Result<Zkey> {
    Zkey::read(path).with_context(|| format!("reading the zkey {}", path.display()))
}

fn read_r1cs(path: &Path) -> Result<R1cs> {
    R1cs::read(path).with_context(|| format!("reading the R1CS {}", path.display()))
}

fn beacon_bytes(b: &BeaconArgs) -> Result<Vec<u8>> {
    let h = b.hash.strip_prefix("0x").unwrap_or(&b.hash);
    hex::decode(h).context("the beacon must be hex")
}

fn run(cli: Cli) -> Result<()> {
    let q = cli.quiet;
    match cli.command {
        Command::R1cs { circuit, out } => {
            let c = circuit.circuits()?;
            let kind = CircuitKind::from(circuit.circuit);
            let sp = Spinner::new(q, "r1cs");
            sp.step("synthesising");
            let r1cs = R1cs::of(c.setup_circuit(kind))?;
            r1cs.write(&out)?;
            let t = sp.done();
            println!(
                "{}: {} constraints, {} wires, {} public; domain 2^{} (needs a phase-1 file \
                 of power {}); sha256 {} ({:.1?})",
                out.display(),
                r1cs.constraints.len(),
                r1cs.n_wires,
                r1cs.n_public(),
                r1cs.domain_size().trailing_zeros(),
                r1cs.domain_size().trailing_zeros(),
                hex::encode(r1cs.digest()),
                t
            );
        }
        Command::Wtns { circuit, seed, out } => {
            let c = circuit.circuits()?;
            let kind = CircuitKind::from(circuit.circuit);
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let sample = c.sample(kind, &mut rng)?;
            let values = witness_of(sample.circuit)?;
            write_wtns(&out, &values)?;
            let public = out.with_file_name("public.json");
            let json = serde_json_array(&sealgrid_prover::snarkjs::export_public_inputs(
                &sample.public_inputs,
            ));
            std::fs::write(&public, json)
                .with_context(|| format!("writing {}", public.display()))?;
            println!(
                "{}: {} values; public inputs in {}",
                out.display(),
                values.len(),
                public.display()
            );
        }
        Command::Ptau(cmd) => ptau(q, cmd)?,
        Command::Zkey(cmd) => zkey(q, cmd)?,
    }
    Ok(())
}

fn serde_json_array(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[\n {}\n]\n", inner.join(",\n "))
}

fn ptau(q: bool, cmd: PtauCommand) -> Result<()> {
    match cmd {
        PtauCommand::New { power, out } => {
            let sp = Spinner::new(q, "ptau new");
            let p = phase1::new_ptau(power)?;
            p.write(&out)?;
            let t = sp.done();
            println!("{}: blank, power {power} ({t:.1?})", out.display());
        }
        PtauCommand::Contribute { input, out, who } => {
            let entropy = who.entropy()?;
            let p = read_ptau(&input)?;
            let sp = Spinner::new(q, "ptau contribute");
            let (p, hash) = phase1::contribute(&p, who.name.as_deref(), &entropy, &|m| sp.step(m))?;
            p.write(&out)?;
            let t = sp.done();
            println!(
                "{}: contribution {} added ({t:.1?}). Publish its response hash:\n{}",
                out.display(),
                phase1::contributions(&p)?.len(),
                format_hash(&hash)
            );
        }
        PtauCommand::Beacon { input, out, beacon } => {
            let p = read_ptau(&input)?;
            let bytes = beacon_bytes(&beacon)?;
            let sp = Spinner::new(q, "ptau beacon");
            let (p, hash) = phase1::beacon(
                &p,
                beacon.name.as_deref(),
                &bytes,
                beacon.iterations_exp,
                &|m| sp.step(m),
            )?;
            p.write(&out)?;
            let t = sp.done();
            println!(
                "{}: beacon added ({t:.1?}); response hash:\n{}",
                out.display(),
                format_hash(&hash)
            );
        }
        PtauCommand::Prepare { input, out } => {
            let p = read_ptau(&input)?;
            let sp = Spinner::new(q, "ptau prepare");
            let p = phase1::prepare(&p, &|m| sp.step(m))?;
            p.write(&out)?;
            let t = sp.done();
            println!("{}: prepared for phase 2 ({t:.1?})", out.display());
        }
        PtauCommand::Verify { input } => {
            let p = read_ptau(&input)?;
            let sp = Spinner::new(q, "ptau verify");
            let r = phase1::verify(&p, &|m| sp.step(m))?;
            let t = sp.done();
            for (i, (name, hash, kind)) in r.contributions.iter().enumerate() {
                println!(
                    "contribution #{} {}{}:\n{}",
                    i + 1,
                    name.as_deref().unwrap_or(""),
                    if matches!(kind, sealgrid_ceremony::ContributionKind::Beacon { .. }) {
                        " (beacon)"
                    } else {
                        ""
                    },
                    format_hash(hash)
                );
            }
            println!(
                "Powers of tau OK: power {}, {} contributions{} ({t:.1?})",
                r.power,
                r.contributions.len(),
                if r.prepared {
                    ", prepared for phase 2"
                } else {
                    ", NOT prepared for phase 2"
                }
            );
        }
    }
    Ok(())
}

fn zkey(q: bool, cmd: ZkeyCommand) -> Result<()> {
    match cmd {
        ZkeyCommand::New { r1cs, ptau, out } => {
            let r = read_r1cs(&r1cs)?;
            let p = read_ptau(&ptau)?;
            let sp = Spinner::new(q, "zkey new");
            let z = phase2::new_zkey(&r, &p, &|m| sp.step(m))?;
            z.write(&out)?;
            let t = sp.done();
            println!(
                "{}: initial key ({t:.1?}). Circuit hash:\n{}",
                out.display(),
                format_hash(&z.cs_hash)
            );
        }
        ZkeyCommand::Contribute { input, out, who } => {
            let entropy = who.entropy()?;
            let z = read_zkey(&input)?;
            let sp = Spinner::new(q, "zkey contribute");
            let (z, hash) = phase2::contribute(&z, who.name.as_deref(), &entropy, &|m| sp.step(m));
            z.write(&out)?;
            let t = sp.done();
            println!(
                "{}: contribution {} added ({t:.1?}). Publish its contribution hash:\n{}",
                out.display(),
                z.contributions.len(),
                format_hash(&hash)
            );
        }
        ZkeyCommand::Beacon { input, out, beacon } => {
            let z = read_zkey(&input)?;
            let bytes = beacon_bytes(&beacon)?;
            let sp = Spinner::new(q, "zkey beacon");
            let (z, hash) = phase2::beacon(
                &z,
                beacon.name.as_deref(),
                &bytes,
                beacon.iterations_exp,
                &|m| sp.step(m),
            )?;
            z.write(&out)?;
            let t = sp.done();
            println!(
                "{}: beacon added ({t:.1?}); contribution hash:\n{}",
                out.display(),
                format_hash(&hash)
            );
        }
        ZkeyCommand::Verify {
            r1cs,
            ptau,
            zkey,
            full,
        } => {
            let r = read_r1cs(&r1cs)?;
            let p = read_ptau(&ptau)?;
            let z = read_zkey(&zkey)?;
            let sp = Spinner::new(q, "zkey verify");
            let tr = if full {
                phase2::verify_full(&r, &p, &z, &|m| sp.step(m))?
            } else {
                phase2::verify(&r, &p, &z, &|m| sp.step(m))?
            };
            let t = sp.done();
            println!("Circuit hash:\n{}", format_hash(&tr.cs_hash));
            for c in &tr.contributions {
                println!(
                    "contribution #{} {}{}:\n{}",
                    c.index,
                    c.name.as_deref().unwrap_or(""),
                    if matches!(c.kind, sealgrid_ceremony::ContributionKind::Beacon { .. }) {
                        " (beacon)"
                    } else {
                        ""
                    },
                    format_hash(&c.hash)
                );
            }
            if tr.contributions.is_empty() {
                println!("WARNING: no contribution: whoever made phase 1 knows the key's secrets");
            }
            println!(
                "ZKey OK: {} contributions; transcript hash {} ({t:.1?})",
                tr.contributions.len(),
                hex::encode(tr.hash())
            );
        }
        ZkeyCommand::Export {
            zkey,
            circuit,
            key_dir,
            vk_json,
        } => {
            let z = read_zkey(&zkey)?;
            let c = circuit.circuits()?;
            let kind = CircuitKind::from(circuit.circuit);
            let sp = Spinner::new(q, "zkey export");
            sp.step("measuring the circuit");
            let shape = CircuitShape::of(c.setup_circuit(kind))?;
            let store = KeyStore::open(key_dir.unwrap_or_else(default_key_dir))?;
            sp.step("writing the keys");
            let pair = phase2::install(&store, &c.key_name(kind), shape, &z)?;
            if let Some(path) = &vk_json {
                let json = serde_json_string(&pair.vk)?;
                std::fs::write(path, json)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let t = sp.done();
            println!(
                "installed in {}: {} and {} ({t:.1?})",
                store.dir().display(),
                pair.id.proving,
                pair.id.verifying
            );
        }
    }
    Ok(())
}

fn serde_json_string(vk: &sealgrid_prover::VerifyingKey) -> Result<String> {
    let v = sealgrid_prover::snarkjs::export_verifying_key(vk);
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

fn main() -> ExitCode {
    let cli = Cli::parse();

    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let invalid = matches!(
                e.downcast_ref::<CeremonyError>(),
                Some(CeremonyError::Invalid(_))
            );
            eprintln!("error: {e:#}");
            if invalid {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
