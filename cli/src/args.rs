//! The `sealgrid` command line's arguments (clap derive), in the library so that the
//! README test can parse every documented command with [`Cli`] without running it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sealgrid_prover::circuits::KEY_DIR_ENV;

use crate::audit;

/// `sealgrid demo --help`, short.
pub const DEMO_ABOUT: &str =
    "Run a pilot energy community through consecutive market slots on a local market";

/// `sealgrid demo --help`, long.
pub const DEMO_LONG_ABOUT: &str = "\
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

The Groth16 keys come from a trusted-setup ceremony: a local phase 1, then for each \
circuit the operator, the regulator and a community representative contribute in turn \
and a beacon ends it; the audit verifies the transcript (its `key-setup` check). The \
ceremony is cached in the key directory (ceremony/): the first run makes it (minutes), \
later runs reuse it. \
Each run deploys a fresh market in DIR (chain.json, market.json, the coordinator's \
store.redb, the audit bundles in bundles/), replacing the previous run's files, and writes the HTML report to DIR/report.html; at \
its end the demo prints the `sealgrid audit` command that redoes the audit from them. \
With --keep-trustees the committee's trustees keep serving after the run, and the demo \
prints the `sealgrid audit disclose` command that opens a bid with them, until Ctrl-C.";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "sealgrid",
    version,
    about = "sealgrid: sealed-bid, zero-knowledge P2P energy trading"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// `sealgrid demo`.
    #[command(about = DEMO_ABOUT, long_about = DEMO_LONG_ABOUT)]
    Demo(DemoArgs),
    /// Re-verify market rounds from public data alone (chain, market file, verifying
    /// keys, the committee's audit bundles); `audit disclose` opens one bid with t
    /// trustees. Exits 1 if any check fails.
    Audit(Box<audit::AuditArgs>),
}

/// `sealgrid demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of households in the community.
    #[arg(long, default_value_t = 12, value_name = "N")]
    pub households: usize,
    /// Number of consecutive 15-minute slots to run.
    #[arg(long, default_value_t = 4, value_name = "M")]
    pub slots: usize,
    /// Start of the first slot, HH:MM (UTC, on the market day 2027-06-21), on the
    /// 15-minute grid. The default, late afternoon, has both sides in the market as PV
    /// fades and the evening peak starts; around noon sellers are long and the price
    /// sits at the floor, from 17:30 nobody sells.
    #[arg(long, default_value = "16:30", value_name = "HH:MM")]
    pub start: String,
    /// Seed of the households' profiles, secrets and deliveries (witness randomness and
    /// proof blinding always come from the OS).
    #[arg(long, default_value_t = 1, value_name = "SEED")]
    pub seed: u64,
    /// Groth16 key cache [default: $CARGO_TARGET_DIR/sealgrid-keys, else
    /// target/sealgrid-keys in the workspace the tool was built from].
    #[arg(long, env = KEY_DIR_ENV, value_name = "DIR")]
    pub key_dir: Option<PathBuf>,
    /// Where to write the HTML report (plots of the aggregate curves, prices and volumes,
    /// each household's own trades) [default: DIR/report.html, beside the run's other
    /// files].
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Where the run's chain state (chain.json), market file (market.json), coordinator
    /// store (store.redb) and audit bundles (bundles/) go; a run replaces the previous
    /// run's files
    /// [default: $CARGO_TARGET_DIR/sealgrid-demo, else target/sealgrid-demo in the
    /// workspace the tool was built from].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Show no spinners or progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// After the run, keep the demo committee's trustees serving on loopback (the
    /// coordinator stops), print their addresses and the `sealgrid audit disclose`
    /// command that opens a bid with them, and wait for Ctrl-C.
    #[arg(long)]
    pub keep_trustees: bool,
}
