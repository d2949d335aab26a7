//! `sealgrid`: the command line. `sealgrid demo` runs a pilot energy community through
//! consecutive market slots on a local market (chain, trustees and coordinator on
//! loopback); see `sealgrid demo --help`.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sealgrid::args::{Cli, Command, DemoArgs};
use sealgrid::audit;
use sealgrid::commands::{next_steps, tidy, DemoOutput};
use sealgrid::demo::observer::Observer;
use sealgrid::demo::{first_round, run_then, DemoConfig, DemoReport, SlotSummary, AUDITOR};
use sealgrid_prover::circuits::{default_key_dir, target_key_dir};
use sealgrid_prover::{Event, Phase};
use sealgrid_trustee::demo::{DEMO_COMMITTEE_SEED, THRESHOLD, TRUSTEES};

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
        dir: args
            .dir
            .unwrap_or_else(|| target_key_dir().with_file_name("sealgrid-demo")),
    };
    println!(
        "sealgrid demo: {} households, {} slots from {} on 2027-06-21, seed {}",
        config.households, config.slots, args.start, config.seed
    );
    println!("  on loopback: market contract on an embedded EVM, committee ({TRUSTEES} trustee gRPC services, t = {THRESHOLD}, DKG from the fixed seed {DEMO_COMMITTEE_SEED:#x}), gRPC coordinator");
    println!("  households: prosumer wallets proving client side (Groth16); profiles: BDEW H0 load x kWh/a, clear-sky PV (Kassel) x kWp, from data/profiles/profiles.csv");
    println!(
        "  files: {} (chain.json, market.json, store.redb, bundles/)",
        tidy(&config.dir).display()
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
    let report_path = args
        .report
        .unwrap_or_else(|| config.dir.join("report.html"));
    let first = first_round(config.first_slot);
    let output = DemoOutput {
        exe: std::env::current_exe().map_or_else(|_| "sealgrid".into(), |p| tidy(&p)),
        dir: tidy(&config.dir),
        // `sealgrid audit` finds the keys itself in the default key directory.
        key_dir: (config.key_dir != default_key_dir()).then(|| tidy(&config.key_dir)),
        rounds: first..=first + config.slots as u64 - 1,
    };
    let keep = args.keep_trustees;
    let started = Instant::now();
    let result = run_then(&config, &ui, |report, trustees| {
        let shown = finish(report, &config, &args.start, started, &report_path);
        let kept = keep.then_some(trustees);
        if shown.is_ok() {
            println!();
            print!("{}", next_steps(&output, kept, AUDITOR));
        }
        async move {
            shown?;
            if keep {
                tokio::signal::ctrl_c()
                    .await
                    .context("waiting for Ctrl-C")?;
                println!("stopping the trustees");
            }
            Ok::<_, anyhow::Error>(())
        }
    });
    match result {
        Ok((_report, shown)) => shown,
        Err(e) => Err(e).context("the demo stopped"),
    }
}

/// Prints the finished run's report and writes its HTML report.
fn finish(
    report: &DemoReport,
    config: &DemoConfig,
    start: &str,
    started: Instant,
    html: &Path,
) -> Result<()> {
    print_report(report);
    println!(
        "all {} checks passed in {:.1} s ({} of them the audit's)",
        report.checks(),
        started.elapsed().as_secs_f64(),
        report.audit_checks()
    );
    write_html(report, config, start, html)?;
    println!("HTML report: {}", tidy(html).display());
    Ok(())
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
            Event::CacheHit { .. } | Event::CacheStale { .. } | Event::Step { .. } => {
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
