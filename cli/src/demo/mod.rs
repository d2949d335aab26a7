//! `sealgrid demo`: a pilot energy community through consecutive 15-minute market slots
//! on a whole local market, every component real and on loopback: the embedded EVM with
//! the market contract, the demo committee's 3 trustees (t = 2) as gRPC services reading
//! the chain themselves, and the gRPC coordinator that sequences the rounds. Households
//! are prosumer wallets that prove client side and talk to the coordinator only.
//!
//! | module | does |
//! | --- | --- |
//! | [`market`] | the local market, the coordinator, its event stream, the market clock |
//! | [`profile`] | households from the embedded standard profiles (BDEW H0, clear-sky PV), and the bidding strategy |
//! | [`household`] | a household: its profile and its prosumer wallet |
//! | [`proofs`] | proving in parallel across households with a progress bar |
//! | [`slot`] | a slot's deposits and bids over gRPC, and its clearing checked |
//! | [`settle`] | delivery, settlements, the finalization with its defaulter checked |
//! | [`close`] | payouts merged, a withdrawal, money conservation, the event stream, the audit |
//! | [`report`] | per-slot summaries and the table |
//! | [`html`] | the summaries as a `sealgrid_report::ReportData` for the HTML report |
//! | [`observer`] | progress reporting |
//!
//! The market runs on real 15-minute slots ([`Schedule::default`]) on the market day
//! 2027-06-21 (rounds whose deadlines have passed cannot open, so the day lies in the
//! future). The market clock ([`sealgrid_market::Clock`]) is the wall clock plus a
//! forward-only offset shared by the engine and the chain: the demo moves it to each
//! round's bidding and past each deadline once every household has acted. Slot `s` of
//! the day is round `DEMO_DAY_UNIX / 900 + s`. As on the real market, rounds overlap: a
//! slot's bidding closes before the previous slot's delivery ends, so the timeline
//! interleaves the bidding of slot `i`, the settlement of slot `i − 1` and the
//! finalization of slot `i − 2`.
//!
//! Exactly one household defaults, in the second slot (the first if there is one): it
//! does not settle, the finalization lists it, its lock is forfeit and the contract
//! records the default; with `max_defaults` = 1 it can no longer bid, and the demo skips
//! it from then on. Every slot has at least the k-anonymity floor of bids (one more in
//! the default slot, so that its settlements reach the floor too): when fewer households
//! have a position worth bidding, those with the largest small positions bid them.
//!
//! Files: the chain's state (`chain.json` and its log sidecar), the market file
//! (`market.json`), the coordinator's store (`store.redb`) and the rounds' audit bundles
//! (`bundles/round-<n>.pb`) go to [`DemoConfig::dir`]; each run starts from none of them
//! and deploys a fresh market. The command line prints the `sealgrid audit` command
//! that redoes the audit from them ([`crate::commands`]); [`run_then`] keeps the
//! trustees serving after the run for `sealgrid audit disclose`.

pub mod close;
pub mod household;
pub mod html;
pub mod market;
pub mod observer;
pub mod profile;
pub mod proofs;
pub mod report;
pub mod settle;
pub mod slot;

use std::path::PathBuf;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::MarketParams;
use sealgrid_market::Schedule;
use sealgrid_prover::CircuitKeys;
use sealgrid_wallet::prosumer::WalletError;

use household::Household;
use market::Net;
use observer::Observer;
use profile::{mix, Profile, Strategy};
pub use report::{DemoReport, SlotSummary, Trade};
use slot::Slot;

/// The auditor the demo committee's trustees allow to disclose a bid (`sealgrid audit
/// disclose --auditor`).
pub use sealgrid_local::LOCAL_AUDITOR as AUDITOR;

/// Midnight UTC of the market day, 2027-06-21. The household profiles are those of
/// 2025-06-21 (see [`profile`]), the same day of the solar year.
pub const DEMO_DAY_UNIX: u64 = 1_813_536_000;
/// Tokens minted to each household's payer at registration.
pub const MINTED: u64 = 100_000_000;
/// The most households (an aggregator's batch is at most 1000 bids).
pub const MAX_HOUSEHOLDS: usize = 1000;

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of households.
    pub households: usize,
    /// Number of consecutive slots.
    pub slots: usize,
    /// Slot of the day the run starts at (0 = 00:00, 44 = 11:00 with 15-minute slots).
    pub first_slot: u64,
    /// Seed of the households' profiles, secrets and deliveries (witness randomness and
    /// proof blinding always come from the OS).
    pub seed: u64,
    /// The Groth16 key cache.
    pub key_dir: PathBuf,
    /// Where the chain state, the market file and the coordinator's store go.
    pub dir: PathBuf,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The configuration is out of range.
    #[error("configuration: {0}")]
    Config(String),
    /// The local market or the coordinator could not be set up.
    #[error("setup: {0}")]
    Setup(String),
    /// A household's wallet could not make a submission.
    #[error("{what}: {source}")]
    Wallet {
        /// Which batch.
        what: String,
        /// The wallet's error.
        #[source]
        source: WalletError,
    },
    /// The coordinator or the chain refused or failed.
    #[error("market: {0}")]
    Rpc(String),
    /// The market did not reach a phase in time.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// A check failed.
    #[error("CHECK FAILED: {0}")]
    Check(String),
}

/// Counts passed checks; a failed one is an error naming it.
#[derive(Debug, Default)]
pub struct Checks(pub usize);

impl Checks {
    /// Counts `ok`, or fails with `what`.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> Result<(), DemoError> {
        if ok {
            self.0 += 1;
            Ok(())
        } else {
            Err(DemoError::Check(what()))
        }
    }
}

/// The community as the demo (its households' software, and the simulator) holds it.
#[derive(Debug)]
pub struct Community {
    /// The households.
    pub households: Vec<Household>,
    /// The market's parameters.
    pub params: MarketParams,
    /// The proving keys.
    pub keys: Arc<CircuitKeys>,
    /// The households' bidding strategy.
    pub strategy: Strategy,
    /// The demo seed (profiles, deliveries).
    pub seed: u64,
}

fn validate(config: &DemoConfig, params: &MarketParams) -> Result<(), DemoError> {
    let least = params.k_anonymity + 1;
    if !(least..=MAX_HOUSEHOLDS).contains(&config.households) {
        return Err(DemoError::Config(format!(
            "{} households: use {least} to {MAX_HOUSEHOLDS} (every slot needs the k-anonymity floor of {} bids, and one household defaults)",
            config.households, params.k_anonymity
        )));
    }
    if config.slots == 0 || config.slots > 96 * 7 {
        return Err(DemoError::Config(format!(
            "{} slots: use 1 to {}",
            config.slots,
            96 * 7
        )));
    }
    let slots_per_day = 86_400 / params.slot_seconds;
    if config.first_slot >= slots_per_day {
        return Err(DemoError::Config(format!(
            "first slot {} is not below {slots_per_day}",
            config.first_slot
        )));
    }
    Ok(())
}

/// The round of slot `slot_of_day` (0 = 00:00) of the market day on the demo's schedule:
/// the demo's rounds are `first_round(first_slot)..first_round(first_slot) + slots`.
pub fn first_round(slot_of_day: u64) -> u64 {
    DEMO_DAY_UNIX / Schedule::default().slot_seconds + slot_of_day
}

/// Runs the demo: the local market and its coordinator, the households, every slot,
/// then the closing checks and the audit. Blocks; runs its own async runtime.
pub fn run(config: &DemoConfig, observer: &dyn Observer) -> Result<DemoReport, DemoError> {
    run_then(config, observer, |_, _| async {}).map(|(report, ())| report)
}

/// [`run`], then, once every check has passed and the coordinator has stopped, `then`
/// with the report and the committee's trustee endpoints, which serve (reading the
/// chain, allowing [`AUDITOR`] to disclose) until the
/// future it returns completes: what `sealgrid demo --keep-trustees` waits in for
/// Ctrl-C, and what the demo test runs the printed `audit disclose` command in. Returns
/// the report and the future's output.
pub fn run_then<T, F, Fut>(
    config: &DemoConfig,
    observer: &dyn Observer,
    then: F,
) -> Result<(DemoReport, T), DemoError>
where
    F: FnOnce(&DemoReport, &[String]) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let params = MarketParams::default();
    validate(config, &params)?;
    let schedule = Schedule::default();
    let first = first_round(config.first_slot);
    if schedule.times(first).open_at <= sealgrid_market::schedule::wall() {
        return Err(DemoError::Config(
            "the demo day's bidding has begun: its rounds can no longer open".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DemoError::Setup(format!("async runtime: {e}")))?;
    rt.block_on(async {
        let mut net = Net::start(
            &config.dir,
            &config.key_dir,
            &params,
            schedule,
            (first, config.slots as u64),
            observer,
        )
        .await?;
        let d = &net.local.market.deployment;
        observer.note(&format!(
            "market {} on the embedded chain (id {}), trustees at {}, coordinator at {}",
            d.market,
            d.chain_id,
            net.local.trustee_urls.join(" "),
            net.running.addr
        ));
        let report = drive(&mut net, config, params, first, observer).await;
        let local = net.stop_coordinator().await;
        let out = match report {
            Ok(report) => {
                let t = then(&report, &local.trustee_urls).await;
                Ok((report, t))
            }
            Err(e) => Err(e),
        };
        local.shutdown().await;
        out
    })
}

/// Households, the interleaved timeline of slots, the closing.
async fn drive(
    net: &mut Net,
    config: &DemoConfig,
    params: MarketParams,
    first: u64,
    observer: &dyn Observer,
) -> Result<DemoReport, DemoError> {
    let mut rng = ChaCha20Rng::seed_from_u64(mix(config.seed, 0x5eed, 0));
    let households: Vec<Household> = (0..config.households)
        .map(|i| Household::new(i, Profile::draw(config.seed, i), &mut rng))
        .collect();
    for h in &households {
        net.local
            .register(&h.wallet, MINTED)
            .await
            .map_err(|e| DemoError::Rpc(format!("registering {}: {e}", h.name())))?;
    }
    observer.note(&format!(
        "{} households registered by the operator (account, meter, payer with {MINTED} tokens)",
        households.len()
    ));
    let operator = net.tokens(net.local.market.deployment.operator).await?;
    let mut c = Community {
        households,
        params: params.clone(),
        keys: net.local.keys.clone(),
        strategy: Strategy::default(),
        seed: config.seed,
    };
    let m = config.slots;
    let default_slot = 1.min(m - 1);
    let slots_per_day = 86_400 / params.slot_seconds;
    let mut slots: Vec<Slot> = (0..m)
        .map(|i| {
            let floor = params.k_anonymity + usize::from(i == default_slot);
            let of_day = (config.first_slot + i as u64) % slots_per_day;
            Slot::new(
                first + i as u64,
                of_day,
                params.slot_seconds,
                floor,
                i == default_slot,
                params.levels,
            )
        })
        .collect();
    let mut received: i128 = 0;
    for step in 0..m + 2 {
        if step < m {
            slot::bid(net, &mut c, &mut slots[step], observer).await?;
            slot::clearing(net, &c, &mut slots[step], observer).await?;
        }
        if (1..=m).contains(&step) {
            settle::settle(net, &mut c, &mut slots[step - 1], observer).await?;
        }
        if step >= 2 {
            let i = step - 2;
            received += i128::from(settle::finalize(net, &mut c, &mut slots[i], observer).await?);
            let mut checks = Checks::default();
            let when = format!("after round {}", slots[i].round);
            close::conservation(net, &c, &slots, (operator, received), &mut checks, &when).await?;
            let s = &mut slots[i];
            s.checks.0 += checks.0;
            s.summary.checks = s.checks.0;
            observer.slot_done(&s.summary);
        }
    }

    let mut run_checks = Checks::default();
    let defaulter = slots[default_slot].defaulter;
    let withdrawer = usize::from(defaulter == Some(0));
    let (withdrawn, closing_gas) =
        close::close_accounts(net, &mut c, withdrawer, &mut run_checks, observer).await?;
    close::conservation(
        net,
        &c,
        &slots,
        (operator, received),
        &mut run_checks,
        "at the end",
    )
    .await?;
    let deposited: u64 = c.households.iter().map(|h| h.deposited).sum();
    let free: u64 = c.households.iter().map(Household::free_balance).sum();
    // locks of defaulters under the floor: never decrypted, they stay in the market
    let withheld: u64 = slots.iter().map(|s| s.withheld).sum();
    run_checks.check(
        i128::from(deposited)
            == i128::from(free) + i128::from(withdrawn) + received + i128::from(withheld),
        || format!("deposited {deposited} != free {free} + withdrawn {withdrawn} + operator {received} + withheld locks {withheld}"),
    )?;
    close::events_gapless(&net.seen, &slots)?;
    run_checks.0 += 1;
    observer.note(&format!(
        "event stream: {} events, sequences 0..{} without a gap",
        net.seen.len(),
        net.seen.len()
    ));

    observer.note("audit: every demo round re-verified from public data (chain, market file, verifying keys, audit bundles)");
    let rounds: Vec<u64> = slots.iter().map(|s| s.round).collect();
    let audit = close::audit(net, rounds, &config.key_dir, &config.dir.join("bundles")).await?;
    if !audit.passed() {
        let failed: Vec<String> = audit
            .failures()
            .iter()
            .map(|(r, c)| format!("{r:?} {}: {}", c.name, c.detail))
            .collect();
        return Err(DemoError::Check(format!("audit: {}", failed.join("; "))));
    }
    Ok(DemoReport {
        market: params,
        households: c.households.iter().map(Household::name).collect(),
        slots: slots.into_iter().map(|s| s.summary).collect(),
        deposited,
        withdrawn,
        operator: received,
        free_balances: free,
        withheld_locks: withheld,
        defaulter: defaulter.map(|h| (h, first + default_slot as u64)),
        closing_gas,
        run_checks: run_checks.0,
        audit,
    })
}
