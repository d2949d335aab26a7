//! `sealgrid audit`: re-verifies market rounds from public data alone (the chain, the
//! market file, the verifying keys, the committee's audit bundles) and prints one line
//! per check; `sealgrid audit disclose` opens one bid with t trustees, verifiably.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use sealgrid_audit::{audit_record, read_record, AuditReport, PublicRecord, Rounds, VerifyingKeys};
use sealgrid_committee::decrypt::PartialDecryption;
use sealgrid_committee::disclosure::verify_disclosure;
use sealgrid_committee::trustee::DisclosureRequest;
use sealgrid_committee::BidId;
use sealgrid_market::file::MarketFile;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::tls::{MutualTls, TlsFiles};
use sealgrid_proto::trustee_client::TrusteeClient;
use sealgrid_prover::circuits::default_key_dir;
use sealgrid_report::{MarketInfo, ReportData, SlotData};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::events::{posted_bids, MarketEvents};
use sealgrid_verifier_contract::{Chain, EmbeddedChain, JsonRpcChain};

/// `sealgrid audit`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: Option<AuditAction>,
    #[command(flatten)]
    run: RunArgs,
}

/// What `sealgrid audit` does besides auditing.
#[derive(Debug, clap::Subcommand)]
enum AuditAction {
    /// Open one bid of a round with t trustees (escrowed disclosure): collect their
    /// disclosure shares, verify each DLEQ proof against the bid's ciphertexts on chain,
    /// print the opened bid. The auditor must be on the trustees' allow-lists.
    Disclose(DiscloseArgs),
}

/// Where the public data comes from.
#[derive(Debug, clap::Args)]
struct Source {
    /// The market file (deployment, committee public keys, parameters, key ids).
    #[arg(long, value_name = "FILE")]
    market: PathBuf,
    /// Read the chain from an embedded chain's state file (and its log sidecar).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "rpc_url",
        required_unless_present = "rpc_url"
    )]
    embedded_state: Option<PathBuf>,
    /// Read the chain from a JSON-RPC node.
    #[arg(long, value_name = "URL")]
    rpc_url: Option<String>,
}

impl Source {
    fn open(&self) -> Result<(MarketFile, Box<dyn Chain>)> {
        let market = MarketFile::load(&self.market)?;
        let chain: Box<dyn Chain> = match (&self.embedded_state, &self.rpc_url) {
            (Some(state), _) => {
                if !state.exists() {
                    bail!("{}: no such state file", state.display());
                }
                // Read only: the auditor's tool changes nothing it audits.
                Box::new(
                    EmbeddedChain::open_read_only(state)
                        .with_context(|| state.display().to_string())?,
                )
            }
            // The audit sends no transaction: the account key is never used to sign.
            (None, Some(url)) => Box::new(
                JsonRpcChain::connect(url.clone(), [1u8; 32]).with_context(|| url.clone())?,
            ),
            (None, None) => bail!("give --embedded-state or --rpc-url"),
        };
        Ok((market, chain))
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    source: Option<Source>,
    /// A directory of audit bundles, `round-<n>.pb` (the protobuf `AuditBundle`).
    #[arg(long, value_name = "DIR", conflicts_with = "coordinator")]
    bundles: Option<PathBuf>,
    /// Fetch the audit bundles from a coordinator (`GetAuditBundle`).
    #[arg(long, value_name = "URL")]
    coordinator: Option<String>,
    /// The rounds to audit, `A..B` (inclusive) or `N` [default: every round opened on chain].
    #[arg(long, value_name = "A..B")]
    rounds: Option<String>,
    /// The key store holding the market file's verifying keys [default: the default key
    /// directory].
    #[arg(long, value_name = "DIR")]
    key_dir: Option<PathBuf>,
    /// The trusted-setup ceremony's files (`phase1.ptau`, `balance.zkey`, `bid.zkey`,
    /// `settle.zkey`) for the `key-setup` check [default: `ceremony` beside the market
    /// file].
    #[arg(long, value_name = "DIR")]
    ceremony: Option<PathBuf>,
    /// The `key-setup` check in full: phase 1 point by point and every circuit's
    /// initial key recomputed, as snarkjs does (minutes), instead of the keys by random
    /// linear combinations (seconds).
    #[arg(long)]
    full_setup: bool,
    /// Also write an HTML report (public data only) to this path.
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Slot length in minutes, for the report's time axis.
    #[arg(long, default_value_t = 15, value_name = "MIN")]
    slot_minutes: u64,
    /// A trustee's disclosure log (repeat, one per trustee): every disclosure recorded
    /// is reported, and a log whose lines do not chain fails the audit.
    #[arg(long = "disclosures", value_name = "FILE")]
    disclosures: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct DiscloseArgs {
    #[command(flatten)]
    source: Source,
    /// The round.
    #[arg(long)]
    round: u64,
    /// The bid: its index in the round, or its commitment (0x + 64 hex digits).
    #[arg(long, value_name = "INDEX|0x…")]
    bid: String,
    /// A trustee's gRPC endpoint, `https://host:port` (repeat; at least t).
    #[arg(long = "trustee", value_name = "URL", required = true)]
    trustees: Vec<String>,
    /// The auditor's name, as the trustees record it (informational: a trustee
    /// authorises the certificate, never the name).
    #[arg(long)]
    auditor: String,
    /// The CA (PEM) the trustees' certificates are checked against.
    #[arg(long, value_name = "FILE")]
    tls_ca: PathBuf,
    /// The auditor's certificate (PEM), on the trustees' auditor lists.
    #[arg(long, value_name = "FILE")]
    tls_cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: PathBuf,
}

/// Runs `sealgrid audit`.
pub fn run(args: AuditArgs) -> Result<ExitCode> {
    match args.action {
        Some(AuditAction::Disclose(d)) => disclose(d),
        None => audit(args.run),
    }
}

fn parse_rounds(s: &str) -> Result<Rounds> {
    let parse = |x: &str| {
        x.trim()
            .parse::<u64>()
            .with_context(|| format!("--rounds {s}: {x:?} is not a round"))
    };
    Ok(match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b.trim_start_matches('='))?);
            if a > b {
                bail!("--rounds {s}: empty range");
            }
            Rounds::from(a..=b)
        }
        None => Rounds::List(vec![parse(s)?]),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

fn fetch_bundles(url: &str, rounds: &[u64]) -> Result<BTreeMap<u64, pb::AuditBundle>> {
    runtime()?.block_on(async {
        let mut client = pb::coordinator_client::CoordinatorClient::connect(url.to_owned())
            .await
            .with_context(|| format!("coordinator {url}"))?;
        let mut out = BTreeMap::new();
        for &round in rounds {
            match client
                .get_audit_bundle(pb::GetAuditBundleRequest { round })
                .await
            {
                Ok(b) => {
                    out.insert(round, b.into_inner());
                }
                // a round the coordinator has no bundle for: its checks say so
                Err(s)
                    if matches!(
                        s.code(),
                        tonic::Code::NotFound | tonic::Code::FailedPrecondition
                    ) =>
                {
                    eprintln!("note: no audit bundle for round {round}: {}", s.message());
                }
                Err(s) => return Err(anyhow::anyhow!("GetAuditBundle({round}): {s}")),
            }
        }
        Ok(out)
    })
}

fn audit(args: RunArgs) -> Result<ExitCode> {
    let Some(source) = &args.source else {
        bail!("give --market and --embedded-state or --rpc-url");
    };
    let (market, mut chain) = source.open()?;
    let key_dir = args.key_dir.clone().unwrap_or_else(default_key_dir);
    let keys = VerifyingKeys::load(&market, &key_dir)
        .with_context(|| format!("verifying keys in {}", key_dir.display()))?;
    let record = read_record(chain.as_mut(), &market).context("reading the chain")?;
    let rounds = match &args.rounds {
        Some(s) => parse_rounds(s)?,
        None => Rounds::All,
    };
    // A range is taken lazily: only the rounds the chain's events name are audited.
    let list = rounds.select(&record);
    if list.is_empty() {
        println!(
            "note: no round of {} has events on chain",
            args.rounds.as_deref().unwrap_or("the chain")
        );
    }
    let bundles = match (&args.bundles, &args.coordinator) {
        (Some(dir), _) => sealgrid_audit::bundle::read_dir(dir)?,
        (None, Some(url)) => fetch_bundles(url, &list)?,
        (None, None) => BTreeMap::new(),
    };
    let mut report = audit_record(&record, &market, &keys, &bundles, &Rounds::List(list));
    let ceremony = args.ceremony.clone().unwrap_or_else(|| {
        source
            .market
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("ceremony")
    });
    let depth = if args.full_setup {
        sealgrid_ceremony::market::Depth::Full
    } else {
        sealgrid_ceremony::market::Depth::Keys
    };
    report.market.push(sealgrid_audit::setup::key_setup(
        &market,
        &keys,
        &ceremony,
        depth,
        &|step| eprintln!("key-setup: {step}"),
    ));
    if let Some(check) = print_disclosures(&args.disclosures) {
        report.market.push(check);
    }
    print(&report);
    if let Some(path) = &args.report {
        let data = report_data(&record, &market, &report, args.slot_minutes);
        sealgrid_report::write(&data, path).with_context(|| path.display().to_string())?;
        println!("report: {}", path.display());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The disclosures the trustees recorded (`docs/PROTOCOL.md` §7, §10): prints one line
/// per opened bid with the trustees that answered, and returns the `disclosure-logs`
/// check (each log chains; its head hash, for the auditor to keep: a truncation of the
/// last lines shows only against a head kept from an earlier audit). `None` without logs.
fn print_disclosures(logs: &[PathBuf]) -> Option<sealgrid_audit::Check> {
    if logs.is_empty() {
        return None;
    }
    let mut chained = Vec::new();
    let mut broken = Vec::new();
    let mut opened: BTreeMap<(u64, String, String, String), Vec<u16>> = BTreeMap::new();
    for path in logs {
        match sealgrid_trustee::store::read_disclosures(path) {
            Ok((records, head)) => {
                chained.push(format!(
                    "{}: {} records, each chained to the one before, head 0x{}",
                    path.display(),
                    records.len(),
                    hex::encode(head)
                ));
                for r in records {
                    opened
                        .entry((r.round, r.bid, r.auditor, r.caller))
                        .or_default()
                        .push(r.trustee);
                }
            }
            Err(e) => broken.push(format!("{}: {e}", path.display())),
        }
    }
    println!("disclosures");
    for ((round, bid, auditor, caller), mut trustees) in opened {
        trustees.sort_unstable();
        trustees.dedup();
        println!(
            "  round {round} bid {} disclosed to {auditor} ({caller}) by trustees {trustees:?}",
            sealgrid_audit::words::short(
                &hex::decode(bid.trim_start_matches("0x")).unwrap_or_default()
            ),
        );
    }
    Some(sealgrid_audit::Check::from_failures(
        "disclosure-logs",
        chained.join("; "),
        broken,
    ))
}

fn line(c: &sealgrid_audit::Check) -> String {
    format!(
        "  {} {}: {}",
        if c.passed { "✓" } else { "✗" },
        c.name,
        c.detail
    )
}

fn print(report: &AuditReport) {
    println!("market");
    for c in &report.market {
        println!("{}", line(c));
    }
    for r in &report.rounds {
        println!("round {}", r.round);
        for c in &r.checks {
            println!("{}", line(c));
        }
    }
    let failed = report.failures().len();
    if failed == 0 {
        println!("verdict: PASS ({} rounds)", report.rounds.len());
    } else {
        println!("verdict: FAIL ({failed} checks failed)");
    }
}

/// The report from public data only: the posted histograms and clearing, counts, the
/// finalized totals; no prosumer section.
fn report_data(
    record: &PublicRecord,
    market: &MarketFile,
    report: &AuditReport,
    slot_minutes: u64,
) -> ReportData {
    let p = &market.trustee_setup.market;
    let mut slots = Vec::new();
    for r in &report.rounds {
        let mut s = SlotData {
            round: r.round,
            h_buy: vec![0; p.levels],
            h_sell: vec![0; p.levels],
            cleared: false,
            level: 0,
            price: 0,
            volume: 0,
            bids: 0,
            settled: 0,
            defaults: 0,
            paid: 0,
            credited: 0,
            penalties: 0,
            gas: None,
        };
        for e in record.round_events(r.round) {
            match &e.event {
                MarketEvents::BidSubmitted(_) => s.bids += 1,
                MarketEvents::Settled(_) => s.settled += 1,
                MarketEvents::Defaulted(_) => s.defaults += 1,
                MarketEvents::RoundCleared(c) => {
                    s.cleared = c.cleared;
                    s.level = usize::try_from(c.level).unwrap_or(0).min(p.levels - 1);
                    s.price = p.price(s.level);
                    s.volume = u64::try_from(c.volume).unwrap_or(0);
                    if let Some(call) = record.input_of(e).ok().and_then(|i| {
                        <Market::clearCall as alloy_sol_types::SolCall>::abi_decode(i).ok()
                    }) {
                        if call.hBuy.len() == p.levels && call.hSell.len() == p.levels {
                            s.h_buy = call.hBuy;
                            s.h_sell = call.hSell;
                        }
                    }
                }
                MarketEvents::RoundFinalized(f) => {
                    s.paid = u64::try_from(f.totals.pay).unwrap_or(0);
                    s.credited = u64::try_from(f.totals.credit).unwrap_or(0);
                    s.penalties = u64::try_from(f.totals.penalty).unwrap_or(0);
                }
                _ => {}
            }
        }
        slots.push(s);
    }
    let checks = report
        .market
        .iter()
        .map(|c| sealgrid_report::Check {
            name: format!("market: {}", c.name),
            passed: c.passed,
        })
        .chain(report.rounds.iter().flat_map(|r| {
            r.checks.iter().map(move |c| sealgrid_report::Check {
                name: format!("round {}: {}", r.round, c.name),
                passed: c.passed,
            })
        }))
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ReportData {
        title: format!("sealgrid audit of market {}", market.deployment.market),
        generated_at: sealgrid_report::utc_timestamp(now),
        notes: vec![
            "Re-verified from public data alone: the market's events and transaction inputs, \
             the verifier contracts' code, the committee's public keys and its audit bundles. \
             No prosumer's private view: individual bids stay sealed."
                .into(),
            format!(
                "Chain read at block {}; {} of {} checks passed.",
                record.block,
                report.market.len() + report.rounds.iter().map(|r| r.checks.len()).sum::<usize>()
                    - report.failures().len(),
                report.market.len() + report.rounds.iter().map(|r| r.checks.len()).sum::<usize>()
            ),
        ],
        market: MarketInfo {
            levels: p.levels,
            floor: p.floor,
            tick: p.tick,
            slot_minutes,
        },
        slots,
        prosumers: Vec::new(),
        checks,
    }
}

fn parse_bid(s: &str, bids: &[sealgrid_committee::aggregate::PostedBid]) -> Result<usize> {
    if let Some(h) = s.strip_prefix("0x") {
        let bytes = hex::decode(h).with_context(|| format!("--bid {s}"))?;
        let id: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("--bid {s}: not 32 bytes"))?;
        return bids
            .iter()
            .position(|b| b.id == BidId(id))
            .with_context(|| format!("--bid {s}: not a bid of the round"));
    }
    let i: usize = s
        .parse()
        .with_context(|| format!("--bid {s}: an index or 0x…"))?;
    if i >= bids.len() {
        bail!("--bid {i}: the round has {} bids", bids.len());
    }
    Ok(i)
}

fn disclose(args: DiscloseArgs) -> Result<ExitCode> {
    let (market, mut chain) = args.source.open()?;
    let d = &market.deployment;
    let events = sealgrid_verifier_contract::events::market_events(
        chain.as_mut(),
        d.market,
        d.deployment_block,
    )
    .context("reading the market's events")?;
    let bids = posted_bids(&events, args.round)?;
    let index = parse_bid(&args.bid, &bids)?;
    let bid = &bids[index];
    let public = &market.trustee_setup.committee;
    let t = public.params.t as usize;
    if args.trustees.len() < t {
        bail!(
            "{} trustees given, the committee's threshold is {t}",
            args.trustees.len()
        );
    }
    let req = DisclosureRequest {
        round: args.round,
        bid: bid.id,
        auditor: args.auditor.clone(),
    };
    let tls = MutualTls::load(&TlsFiles {
        ca: args.tls_ca.clone(),
        cert: args.tls_cert.clone(),
        key: args.tls_key.clone(),
    })
    .context("the auditor's TLS files")?;
    let partials: Vec<PartialDecryption> = runtime()?.block_on(async {
        let mut out = Vec::new();
        for url in &args.trustees {
            let r = async {
                let mut c = TrusteeClient::connect(url.clone(), &tls).await?;
                c.disclose(&req).await
            }
            .await;
            match r {
                Ok(r) => out.push(r.partial),
                Err(e) => eprintln!("trustee {url}: {e}"),
            }
        }
        out
    });
    println!(
        "round {} bid #{index} {}: {} disclosure shares from {} trustees",
        args.round,
        sealgrid_audit::words::short(&bid.id.0),
        partials.len(),
        args.trustees.len()
    );
    let table = sealgrid_circuits::elgamal::DlogTable::new(1 << 12);
    match verify_disclosure(
        public,
        &market.trustee_setup.market,
        args.round,
        bid,
        &partials,
        &table,
    ) {
        Ok(opened) => {
            for (id, why) in &opened.rejected {
                println!("  ✗ trustee {}: share rejected: {why:?}", id.0);
            }
            println!(
                "  ✓ opened with trustees {:?} (every DLEQ proof checked against the bid's posted ciphertexts)",
                opened.used.iter().map(|i| i.0).collect::<Vec<_>>()
            );
            println!(
                "  side {:?}, level {} (price {}), quantity {} Wh, lock {}",
                opened.side,
                opened.level,
                market.trustee_setup.market.price(opened.level),
                opened.q,
                opened.lock
            );
            println!("verdict: PASS");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("  ✗ disclosure: {e}");
            println!("verdict: FAIL");
            Ok(ExitCode::FAILURE)
        }
    }
}
