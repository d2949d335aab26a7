//! `sealgrid`: the command line. `sealgrid demo` runs a pilot energy community through
//! consecutive market slots on a local market (chain, trustees and coordinator on
//! loopback); see `sealgrid demo --help`.

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
use sealgrid::demo::{run, DemoConfig, DemoReport, SlotSummary};
use sealgrid_prover::circuits::{default_key_dir, target_key_dir, KEY_DIR_ENV};
use sealgrid_prover::{Event, Phase};
use sealgrid_trustee::demo::{DEMO_COMMITTEE_SEED, THRESHOLD, TRUSTEES};

const DEMO_ABOUT: &str =
    "Run a pilot energy community through consecutive market slots on a local market";

const DEMO_LONG_ABOUT: &str = "\
Runs a pilot energy community through consecutive 15-minute market slots on a whole \
local market, all on loopback, nothing to install: the market contract on an embedded \
EVM (its state in DIR/chain.json), the demo committee's 3 trustees (t = 2) as gRPC \
services that read the chain themselves, and the gRPC coordinator that sequences the \
rounds, relays submissions to the contract and has the committee clear and finalize. \
Each household is a prosumer wallet: the operator registers it, it deposits through the \
coordinator (payer-signed), proves its sealed bid (Groth16) and submits it over gRPC (a \
few alone, the others in an aggregator's batch), has its meter sign the slot's reading \
and settles; payouts are merged into free balances by later deposits, and one household \
withdraws at the end. One household defaults in one slot: the finalization lists it, \
its lock is forfeit, the contract records the default and refuses its later bids.

The market day is 2027-06-21 on real 15-minute slots; the market clock (shared by the \
coordinator and the chain) is moved forward to each round's bidding and past each \
deadline once every household has acted. Checked, and counted: every bid on chain \
exactly once, the decrypted histograms against the plaintext the demo (as the \
simulator) knows, the published clearing against the clearing of the published \
histograms, the finalization's totals and defaulters, the default on chain, money \
conserved to the unit after every round, the withdrawal, a gapless event stream; then \
every round is audited from public data alone (sealgrid audit's checks). The exit \
status is 1 if any check fails.

The committee runs its DKG from a FIXED, public seed so that its flow keys, and with \
them the bid and settle circuits' Groth16 keys, are the same every run and can be \
cached. Anyone can recompute the trustees' shares: this committee protects nothing.

Household profiles are standard profiles of 2025-06-21 (data/profiles/profiles.csv): \
the BDEW H0 load profile with its dynamisation, scaled by each household's annual \
consumption (2,500-5,500 kWh/a), and clear-sky PV yield at Kassel (pvlib, 35 degrees \
south) scaled by its kWp (a third have no PV, the others 3-10 kWp, half of these with \
a 5-10 kWh battery that absorbs surplus and covers deficit), all drawn from --seed, \
with a +-15 % jitter per slot. Every slot has at least the k-anonymity floor of 5 bids \
(6 in the slot with the default): if fewer households have a position worth a bid, \
those with the largest small positions bid them.

Keys are cached in the key directory; the first run makes them, later runs load them. \
Each run deploys a fresh market in DIR (chain.json, market.json, the coordinator's \
store.redb, the audit bundles in bundles/), replacing the previous run's files; \
`sealgrid audit --market DIR/market.json --embedded-state DIR/chain.json --bundles \
DIR/bundles` redoes the audit from them.";

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
    /// Start of the first slot, HH:MM (UTC, on the market day 2027-06-21), on the
    /// 15-minute grid. The default, late afternoon, has both sides in the market as PV
    /// fades and the evening peak starts; around noon sellers are long and the price
    /// sits at the floor, from 17:30 nobody sells.
    #[arg(long, default_value = "16:30", value_name = "HH:MM")]
    start: String,
    /// Seed of the households' profiles, secrets and deliveries (witness randomness and
    /// proof blinding always come from the OS).
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
    /// Where the run's chain state (chain.json), market file (market.json), coordinator
    /// store (store.redb) and audit bundles (bundles/) go; a run replaces the previous
    /// run's files
    /// [default: $CARGO_TARGET_DIR/sealgrid-demo, else target/sealgrid-demo in the
    /// workspace the tool was built from].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
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
    let out_dir = target_key_dir().with_file_name("sealgrid-demo");
    let config = DemoConfig {
        households: args.households,
        slots: args.slots,
        first_slot: parse_start(&args.start).with_context(|| format!("--start {}", args.start))?,
        seed: args.seed,
        key_dir: args.key_dir.unwrap_or_else(default_key_dir),
        dir: args.dir.unwrap_or_else(|| out_dir.clone()),
    };
    println!(
        "sealgrid demo: {} households, {} slots from {} on 2027-06-21, seed {}",
        config.households, config.slots, args.start, config.seed
    );
    println!("  on loopback: market contract on an embedded EVM, committee ({TRUSTEES} trustee gRPC services, t = {THRESHOLD}, DKG from the fixed seed {DEMO_COMMITTEE_SEED:#x}), gRPC coordinator");
    println!("  households: prosumer wallets proving client side (Groth16); profiles: BDEW H0 load x kWh/a, clear-sky PV (Kassel) x kWp, from data/profiles/profiles.csv");
    println!(
        "  files: {} (chain.json, market.json, store.redb, bundles/)",
        config.dir.display()
    );
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
    let report_path = args.report.unwrap_or_else(|| out_dir.join("report.html"));
    let started = Instant::now();
    let result = run(&config, &ui);
    let elapsed = started.elapsed();
    match result {
        Ok(report) => {
            print_report(&report);
            println!(
                "all {} checks passed in {:.1} s ({} of them the audit's)",
                report.checks(),
                elapsed.as_secs_f64(),
                report.audit_checks()
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
        "sealgrid demo: {} households, {} slots from {start} on 2027-06-21, seed {}",
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
    if let Some((h, round)) = r.defaulter {
        println!(
            "default: {} did not settle round {round}; its lock went to the operator, the contract recorded the default and it bid no more",
            r.households[h]
        );
    }
    println!(
        "tokens: deposited {} = free balances {} + withdrawn {} + operator (paid - credited + penalties + forfeit locks) {}",
        r.deposited, r.free_balances, r.withdrawn, r.operator
    );
    println!("k* = clearing level, p* = clearing price (token units/Wh), short = sellers whose meter showed less than their fill,");
    println!("sigs = trustee signatures on the clearing (t = {THRESHOLD}), gas = balance updates + bids + settlements (clear and finalize not included);");
    println!(
        "closing payout merges and the withdrawal: {} gas.",
        r.closing_gas
    );
    println!();
    let a = &r.audit;
    println!(
        "audit (sealgrid_audit, public data only): {} market checks, {} rounds",
        a.market.len(),
        a.rounds.len()
    );
    for round in &a.rounds {
        let names: Vec<&str> = round.checks.iter().map(|c| c.name.as_str()).collect();
        println!(
            "  round {}: {}/{} passed ({})",
            round.round,
            round.checks.iter().filter(|c| c.passed).count(),
            round.checks.len(),
            names.join(", ")
        );
    }
    println!("  verdict: {}", if a.passed() { "PASS" } else { "FAIL" });
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
            "  slot {} finalized: {} buy / {} sell bids, {clearing}, {} settled ({} short), {} defaulted, {} gas, {} checks passed",
            s.start, s.buys, s.sells, s.settled, s.short, s.defaults, s.gas, s.checks
        ));
    }
}
