//! `sealgrid`: the command line. `sealgrid demo` runs a pilot energy community through
//! consecutive market slots in one process; see `sealgrid demo --help`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod audit;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealgrid::demo::observer::Observer;
use sealgrid::demo::setup::{DEMO_COMMITTEE_SEED, THRESHOLD, TRUSTEES};
use sealgrid::demo::{run, DemoConfig, DemoReport, SlotSummary};
use sealgrid_prover::circuits::{default_key_dir, target_key_dir, KEY_DIR_ENV};
use sealgrid_prover::{Event, Phase};

const DEMO_ABOUT: &str =
    "Run a pilot energy community through consecutive market slots, in one process";

const DEMO_LONG_ABOUT: &str = "\
Runs a pilot energy community through consecutive 15-minute market slots, entirely in \
this process, with sealgrid's real components: Groth16 proofs (balance, bid, settle), a \
DKG among 3 trustees (t = 2), threshold decryption of the aggregate curves with DLEQ \
proofs, uniform-price clearing, trustee signatures, meter-signed readings and \
settlement. Every slot is checked: batch verification, digest checks, decrypted \
histograms and settlement totals against the plaintext the demo (as the simulator) \
knows, energy and money conservation, and a token ledger. The exit status is 1 if any \
check fails.

NOT in the loop yet: the market contract and the gRPC coordinator. The demo plays the \
coordinator's checks itself and keeps no chain state.

The committee runs its DKG from a FIXED, public seed so that its flow keys, and with \
them the bid and settle circuits' Groth16 keys, are the same every run and can be \
cached. Anyone can recompute the trustees' shares: this committee protects nothing.

Household profiles are standard profiles of the demo day (data/profiles/profiles.csv): \
the BDEW H0 load profile with its dynamisation, scaled by each household's annual \
consumption (2,500-5,500 kWh/a), and clear-sky PV yield at Kassel (pvlib, 35 degrees \
south) scaled by its kWp (a third have no PV, the others 3-10 kWp, half of these with \
a 5-10 kWh battery that absorbs surplus and covers deficit), all drawn from --seed, \
with a +-15 % jitter per slot.

Keys are cached in the key directory; the first run makes them (seconds in release: \
proving the slots dominates the run time), later runs load them.";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "sealgrid",
    version,
    about = "sealgrid: sealed-bid, zero-knowledge P2P energy trading"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    #[command(about = DEMO_ABOUT, long_about = DEMO_LONG_ABOUT)]
    Demo(DemoArgs),
    /// Re-verify market rounds from public data alone (chain, market file, verifying
    /// keys, the committee's audit bundles); `audit disclose` opens one bid with t
    /// trustees. Exits 1 if any check fails.
    Audit(Box<audit::AuditArgs>),
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Number of households in the community.
    #[arg(long, default_value_t = 12, value_name = "N")]
    households: usize,
    /// Number of consecutive 15-minute slots to run.
    #[arg(long, default_value_t = 4, value_name = "M")]
    slots: usize,
    /// Start of the first slot, HH:MM (UTC, on the demo day 2025-06-21), on the
    /// 15-minute grid. The default, late afternoon, has both sides in the market as PV
    /// fades and the evening peak starts; around noon sellers are long and the price
    /// sits at the floor, from 17:30 nobody sells.
    #[arg(long, default_value = "16:30", value_name = "HH:MM")]
    start: String,
    /// Seed of the households' profiles, secrets and deliveries (proof blinding and
    /// verification challenges always come from the OS).
    #[arg(long, default_value_t = 1, value_name = "SEED")]
    seed: u64,
    /// Groth16 key cache [default: $CARGO_TARGET_DIR/sealgrid-keys, else
    /// target/sealgrid-keys in the workspace the tool was built from].
    #[arg(long, env = KEY_DIR_ENV, value_name = "DIR")]
    key_dir: Option<PathBuf>,
    /// Where to write the HTML report (plots of the aggregate curves, prices and volumes,
    /// each household's own trades) [default: $CARGO_TARGET_DIR/sealgrid-demo/report.html,
    /// else target/sealgrid-demo/report.html in the workspace the tool was built from].
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Show no spinners or progress bars.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => match demo(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Audit(args) => audit::run(*args).unwrap_or_else(|e| {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }),
    }
}

/// `HH:MM` on the 15-minute grid as a slot of the day.
fn parse_start(s: &str) -> Result<u64> {
    let (h, m) = s.split_once(':').context("expected HH:MM")?;
    let (h, m): (u64, u64) = (h.parse().context("hour")?, m.parse().context("minute")?);
    if h >= 24 || m >= 60 || m % 15 != 0 {
        bail!("{s} is not a slot start: HH 00-23, MM one of 00, 15, 30, 45");
    }
    Ok(h * 4 + m / 15)
}

fn demo(args: DemoArgs) -> Result<()> {
    let config = DemoConfig {
        households: args.households,
        slots: args.slots,
        first_slot: parse_start(&args.start).with_context(|| format!("--start {}", args.start))?,
        seed: args.seed,
        key_dir: args.key_dir.unwrap_or_else(default_key_dir),
    };
    println!(
        "sealgrid demo: {} households, {} slots from {} on 2025-06-21, seed {}",
        config.households, config.slots, args.start, config.seed
    );
    println!("  in one process: prover (Groth16), committee ({TRUSTEES} trustees, t = {THRESHOLD}, DKG from the fixed seed {DEMO_COMMITTEE_SEED:#x}), households and meters");
    println!("  NOT in the loop yet: market contract, gRPC coordinator (the demo runs the coordinator's checks itself)");
    println!("  household profiles: BDEW H0 load x kWh/a, clear-sky PV (Kassel) x kWp, from data/profiles/profiles.csv");
    let mp = if args.quiet {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    let ui = Ui {
        mp,
        spinners: Mutex::new(HashMap::new()),
        bar: Mutex::new(None),
    };
    let report_path = args.report.unwrap_or_else(|| {
        target_key_dir()
            .with_file_name("sealgrid-demo")
            .join("report.html")
    });
    let started = Instant::now();
    let result = run(&config, &ui);
    let elapsed = started.elapsed();
    match result {
        Ok(report) => {
            print_report(&report);
            println!(
                "all {} checks passed in {:.1} s",
                report.checks(),
                elapsed.as_secs_f64()
            );
            write_html(&report, &config, &args.start, &report_path)?;
            println!("HTML report: {}", report_path.display());
            Ok(())
        }
        Err(e) => Err(e).context("the demo stopped"),
    }
}

/// Writes the HTML report of a finished run.
fn write_html(report: &DemoReport, config: &DemoConfig, start: &str, path: &Path) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    let title = format!(
        "sealgrid demo: {} households, {} slots from {start} on 2025-06-21, seed {}",
        config.households, config.slots, config.seed
    );
    let data =
        sealgrid::demo::html::report_data(report, &title, &sealgrid_report::utc_timestamp(now));
    sealgrid_report::write(&data, path).context("the HTML report")
}

fn print_report(r: &DemoReport) {
    println!();
    print!("{}", r.table());
    println!();
    println!(
        "tokens: deposited {}, in free balances {}, operator (paid - credited + penalties) {}",
        r.deposited, r.free_balances, r.operator
    );
    println!("k* = clearing level, p* = clearing price (token units/Wh), dust b/s = buy/sell rationing dust (Wh, to the grid),");
    println!("short = sellers whose meter showed less than their fill, sigs = trustee signatures verified (t = {THRESHOLD}).");
}

/// Spinners for the key phases, one bar per proof batch, narration above them.
struct Ui {
    mp: MultiProgress,
    spinners: Mutex<HashMap<Phase, ProgressBar>>,
    bar: Mutex<Option<ProgressBar>>,
}

impl Ui {
    fn println(&self, line: &str) {
        // A hidden MultiProgress drops its println lines: print them directly then.
        if self.mp.is_hidden() || self.mp.println(line).is_err() {
            println!("{line}");
        }
    }
}

impl Observer for Ui {
    fn key_event(&self, event: &Event) {
        let mut spinners = self.spinners.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Started { phase, .. } => {
                let s = self.mp.add(ProgressBar::new_spinner());
                s.set_style(
                    ProgressStyle::with_template("{spinner:.green} {msg} {elapsed:.dim}")
                        .expect("a valid template"),
                );
                s.set_message(format!("keys: {event}"));
                s.enable_steady_tick(Duration::from_millis(100));
                spinners.insert(*phase, s);
            }
            Event::Finished { phase, .. } => match spinners.remove(phase) {
                Some(s) => {
                    s.set_style(ProgressStyle::with_template("  {msg}").expect("a valid template"));
                    s.finish_with_message(format!("keys: {event}"));
                }
                None => self.println(&format!("  keys: {event}")),
            },
            Event::CacheHit { .. } | Event::CacheStale { .. } => {
                self.println(&format!("  keys: {event}"))
            }
        }
    }

    fn begin(&self, what: &str, total: u64) {
        let bar = self.mp.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "  {msg:<18} [{bar:30.cyan/blue}] {pos}/{len} {elapsed_precise}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn advance(&self) {
        if let Some(bar) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            bar.inc(1);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
    }

    fn note(&self, line: &str) {
        self.println(line);
    }

    fn slot_done(&self, s: &SlotSummary) {
        let clearing = if s.cleared {
            format!("k* = {}, p* = {}, V* = {} Wh", s.level, s.price, s.volume)
        } else {
            "not cleared".to_owned()
        };
        self.println(&format!(
            "  {}: {} buy / {} sell bids, {clearing}, {} settled ({} short), {} checks passed",
            s.start, s.buys, s.sells, s.settled, s.short, s.checks
        ));
    }
}
