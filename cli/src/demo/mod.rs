//! `sealgrid demo`: a pilot energy community through consecutive market slots in one
//! process, with the real circuits, prover and committee.
//!
//! | module | does |
//! | --- | --- |
//! | [`profile`] | households from the embedded standard profiles (BDEW H0, clear-sky PV), and the bidding strategy |
//! | [`household`] | a prosumer's secrets and openings |
//! | [`setup`] | the demo committee (DKG from a fixed seed) and the cached Groth16 keys |
//! | [`proofs`] | proving with a progress bar, batch verification |
//! | [`committee`] | decryption, clearing and signatures through the committee crate |
//! | [`slot`] | one slot from deposits to merged payouts, with every check |
//! | [`report`] | per-slot summaries and the table |
//! | [`html`] | the summaries as a `sealgrid_report::ReportData` for the HTML report |
//! | [`observer`] | progress reporting |
//!
//! Not in the loop yet: the market contract (issue #6) and the gRPC coordinator. The demo
//! plays the coordinator's checks (batch verification before "accepting") and keeps no
//! chain state: each household holds its own openings, and the demo's ledger check
//! stands in for the contract's token accounting.

pub mod committee;
pub mod household;
pub mod html;
pub mod observer;
pub mod profile;
pub mod proofs;
pub mod report;
pub mod setup;
pub mod slot;

use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::MarketParams;
use sealgrid_prover::{KeyStore, ProveError, VerifyError};

use household::Household;
use observer::{KeyEvents, Observer};
use profile::{mix, Profile, Strategy};
pub use report::{DemoReport, SlotSummary, Trade};
use setup::{Committee, SetupError};
use slot::{run_slot, Community, World};

/// Midnight UTC of the demo day, 2025-06-21 (a long summer day for the PV model).
pub const DEMO_DAY_UNIX: u64 = 1_750_464_000;
/// Baby steps of the discrete-log table: sums below 2^40 cost at most 2^24 giant steps,
/// the demo's sums (below 2^26) at most 2^10.
pub const DLOG_BABY_STEPS: u64 = 1 << 16;

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of households.
    pub households: usize,
    /// Number of consecutive slots.
    pub slots: usize,
    /// Slot of the day the run starts at (0 = 00:00, 44 = 11:00 with 15-minute slots).
    pub first_slot: u64,
    /// Seed of the households' profiles, secrets, deliveries and witness randomness
    /// (proof blinding and verification challenges always come from the OS).
    pub seed: u64,
    /// The Groth16 key cache.
    pub key_dir: PathBuf,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The configuration is out of range.
    #[error("configuration: {0}")]
    Config(String),
    /// Committee or keys could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A statement could not be built natively (a bug: the demo builds valid ones).
    #[error("statement: {0}")]
    Statement(String),
    /// Proving failed.
    #[error("{what}: {source}")]
    Prove {
        /// Which batch.
        what: String,
        /// The prover's error.
        #[source]
        source: ProveError,
    },
    /// The coordinator's batch verification rejected a batch.
    #[error("{what}: {source}")]
    Verify {
        /// Which batch.
        what: String,
        /// The verifier's error.
        #[source]
        source: VerifyError,
    },
    /// The committee refused or failed.
    #[error("committee: {0}")]
    Committee(String),
    /// A check failed.
    #[error("CHECK FAILED: {0}")]
    Check(String),
}

/// Runs the demo: committee, keys, households, then every slot.
pub fn run(config: &DemoConfig, observer: &dyn Observer) -> Result<DemoReport, DemoError> {
    if config.households == 0 || config.households > 10_000 {
        return Err(DemoError::Config(format!(
            "{} households: use 1 to 10000",
            config.households
        )));
    }
    if config.slots == 0 || config.slots > 96 * 7 {
        return Err(DemoError::Config(format!(
            "{} slots: use 1 to {}",
            config.slots,
            96 * 7
        )));
    }
    let market = MarketParams::default();
    let slots_per_day = 86_400 / market.slot_seconds;
    if config.first_slot >= slots_per_day {
        return Err(DemoError::Config(format!(
            "first slot {} is not below {slots_per_day}",
            config.first_slot
        )));
    }

    let committee = Committee::demo(&market)?;
    observer.note(&format!(
        "committee: DKG among {} trustees, t = {}, {} flow keys (FIXED demo seed {:#x}: anyone can recompute the shares)",
        committee.public.params.n,
        committee.public.params.t,
        committee.public.flow_keys.len(),
        setup::DEMO_COMMITTEE_SEED
    ));
    let store = KeyStore::open(&config.key_dir).map_err(|source| SetupError::Keys {
        circuit: "(key store)".into(),
        source: Box::new(source),
    })?;
    let keys = setup::load_keys(&market, &committee, &store, &KeyEvents(observer))?;
    observer.note(&format!(
        "Groth16 keys: {}, {}, {} in {}",
        keys.balance.id.proving,
        keys.bid.id.proving,
        keys.settle.id.proving,
        store.dir().display()
    ));
    let table = DlogTable::new(DLOG_BABY_STEPS);

    let mut rng = ChaCha20Rng::seed_from_u64(mix(config.seed, 0x5eed, 0));
    let households: Vec<Household> = (0..config.households)
        .map(|i| Household::new(i, Profile::draw(config.seed, i), &mut rng))
        .collect();
    let mut community = Community {
        households,
        operator: 0,
        rng,
    };
    let world = World {
        market: &market,
        committee: &committee,
        keys: &keys,
        table: &table,
        strategy: Strategy::default(),
        seed: config.seed,
    };
    let day_round = DEMO_DAY_UNIX / market.slot_seconds;
    let mut report = DemoReport {
        market: market.clone(),
        households: community.households.iter().map(Household::name).collect(),
        ..DemoReport::default()
    };
    for i in 0..config.slots as u64 {
        let slot = config.first_slot + i;
        let summary = run_slot(
            &world,
            &mut community,
            day_round + slot,
            slot % slots_per_day,
            observer,
        )?;
        observer.slot_done(&summary);
        report.slots.push(summary);
    }
    report.deposited = community.households.iter().map(|h| h.deposited).sum();
    report.free_balances = community
        .households
        .iter()
        .map(Household::free_balance)
        .sum();
    report.operator = community.operator;
    Ok(report)
}
