//! Configuration by file, environment and flags, in that order of precedence from
//! lowest to highest: a TOML file (`--config`), then `SEALGRID_COORDINATOR_*` variables,
//! then command-line flags. Every setting has a default except the market file.
//!
//! ```toml
//! listen = "127.0.0.1:50151"
//! market = "target/sealgrid-market/market.json"
//! store = "target/sealgrid-coordinator/store.redb"
//! key_dir = "target/sealgrid-keys"
//! trustees = ["http://127.0.0.1:50161", "http://127.0.0.1:50162"]
//! # one of the two:
//! embedded_state = "target/sealgrid-market/chain.json"
//! # rpc_url = "http://127.0.0.1:8545"   (operator key from SEALGRID_OPERATOR_KEY)
//! relay_batch = 32   # bids (settlements) per relayed transaction; 1 relays each alone
//! relay_in_flight = 4   # batched transactions sent before their receipts are awaited
//! max_fee_gwei = 500  # the most a transaction pays per gas on a node
//! receipt_timeout_seconds = 60  # on a node: how long to wait with no new receipt
//! confirmations = 1  # on a node: blocks that must hold a transaction before it counts
//!
//! [schedule]
//! slot_seconds = 900
//! bidding_seconds = 3600
//! gate_closure_seconds = 300
//! settle_seconds = 900
//! ```
//!
//! The trustees are dialled over mutual TLS (`trustee_ca`, `trustee_cert`, `trustee_key`;
//! `insecure_plaintext_trustees = true` for development only). The coordinator's own
//! service is TLS when `tls_cert` and `tls_key` are given, and with `tls_client_ca`
//! serves only callers with a certificate that CA signed.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use crate::engine::RoundPlan;
use crate::schedule::Schedule;

/// Bids (or settlements) per relayed transaction unless configured: a batch of 32 bids
/// takes about 6 M gas, a fifth of a 30 M block (docs/BENCHMARKS.md).
pub const DEFAULT_RELAY_BATCH: usize = 32;

/// Batched transactions the relay keeps in flight unless configured: four batches of 32
/// bids take about 22 M gas, so on a chain with 30 M-gas blocks they share one block
/// instead of taking one block each (docs/BENCHMARKS.md, the slot benchmark).
pub const DEFAULT_RELAY_IN_FLIGHT: usize = 4;

/// Settings as flags (each also read from its environment variable).
#[derive(Args, Clone, Debug, Default)]
pub struct Flags {
    /// A TOML configuration file.
    #[arg(long, env = "SEALGRID_COORDINATOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "SEALGRID_COORDINATOR_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The market file (deployment, committee, keys).
    #[arg(long, env = "SEALGRID_COORDINATOR_MARKET")]
    pub market: Option<PathBuf>,
    /// The store's database file.
    #[arg(long, env = "SEALGRID_COORDINATOR_STORE")]
    pub store: Option<PathBuf>,
    /// The key store with the verifying keys.
    #[arg(long, env = "SEALGRID_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// A trustee endpoint (repeat for each).
    #[arg(
        long = "trustee",
        env = "SEALGRID_COORDINATOR_TRUSTEES",
        value_delimiter = ','
    )]
    pub trustees: Vec<String>,
    /// The embedded chain's state file.
    #[arg(
        long,
        env = "SEALGRID_COORDINATOR_EMBEDDED_STATE",
        conflicts_with = "rpc_url"
    )]
    pub embedded_state: Option<PathBuf>,
    /// A JSON-RPC node instead of the embedded chain.
    #[arg(long, env = "SEALGRID_COORDINATOR_RPC_URL")]
    pub rpc_url: Option<String>,
    /// The most a transaction may pay per gas on a JSON-RPC node, gwei (default 500):
    /// a base fee above it stops the relay rather than overpaying.
    #[arg(long, env = "SEALGRID_COORDINATOR_MAX_FEE_GWEI")]
    pub max_fee_gwei: Option<u64>,
    /// On a JSON-RPC node, how long to wait with no new receipt before reporting the
    /// transactions still without one as not known to have landed, seconds (default 60;
    /// more on a chain with slow or congested blocks).
    #[arg(long, env = "SEALGRID_COORDINATOR_RECEIPT_TIMEOUT_SECONDS")]
    pub receipt_timeout_seconds: Option<u64>,
    /// On a JSON-RPC node, how many blocks, its own included, must hold a relayed
    /// transaction before it is reported on chain (default 1; more on a chain whose
    /// recent blocks can be replaced: a transaction whose block is dropped is sent
    /// again). A node that mines only when a transaction arrives needs 1.
    #[arg(long, env = "SEALGRID_COORDINATOR_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// Slot length, seconds.
    #[arg(long, env = "SEALGRID_COORDINATOR_SLOT_SECONDS")]
    pub slot_seconds: Option<u64>,
    /// Bidding window, seconds.
    #[arg(long, env = "SEALGRID_COORDINATOR_BIDDING_SECONDS")]
    pub bidding_seconds: Option<u64>,
    /// Gate closure before the slot, seconds.
    #[arg(long, env = "SEALGRID_COORDINATOR_GATE_CLOSURE_SECONDS")]
    pub gate_closure_seconds: Option<u64>,
    /// Settlement window, seconds.
    #[arg(long, env = "SEALGRID_COORDINATOR_SETTLE_SECONDS")]
    pub settle_seconds: Option<u64>,
    /// First round to run.
    #[arg(long, env = "SEALGRID_COORDINATOR_FIRST_ROUND")]
    pub first_round: Option<u64>,
    /// Number of rounds to run.
    #[arg(long, env = "SEALGRID_COORDINATOR_ROUNDS")]
    pub rounds: Option<u64>,
    /// Refuse submissions this long before their deadline, seconds.
    #[arg(long, env = "SEALGRID_COORDINATOR_RELAY_MARGIN")]
    pub relay_margin_seconds: Option<u64>,
    /// The most queued submissions.
    #[arg(long, env = "SEALGRID_COORDINATOR_MAX_QUEUE")]
    pub max_queue: Option<usize>,
    /// The most bids per batch.
    #[arg(long, env = "SEALGRID_COORDINATOR_MAX_BATCH")]
    pub max_batch: Option<u32>,
    /// The most bids (or settlements) relayed in one transaction, checked on chain with
    /// one batched proof verification (default 32; 1 relays each alone).
    #[arg(long, env = "SEALGRID_COORDINATOR_RELAY_BATCH")]
    pub relay_batch: Option<usize>,
    /// The most batched transactions sent before their receipts are awaited, in nonce
    /// order (default 4; 1 sends one and waits for its receipt before the next).
    #[arg(long, env = "SEALGRID_COORDINATOR_RELAY_IN_FLIGHT")]
    pub relay_in_flight: Option<usize>,
    /// How long the first queued bid (or settlement) may wait for others to fill its
    /// batch, milliseconds (default 0: relay at once; the wait for each receipt already
    /// lets the next batch fill on a chain with real blocks).
    #[arg(long, env = "SEALGRID_COORDINATOR_RELAY_LINGER_MS")]
    pub relay_linger_ms: Option<u64>,
    /// Serve TLS with this certificate chain (PEM; with --tls-key).
    #[arg(long, env = "SEALGRID_COORDINATOR_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM; with --tls-cert).
    #[arg(long, env = "SEALGRID_COORDINATOR_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// With TLS: require a client certificate this CA (PEM) signed from every caller.
    #[arg(
        long,
        env = "SEALGRID_COORDINATOR_TLS_CLIENT_CA",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// The CA (PEM) the trustees' certificates are checked against.
    #[arg(long, env = "SEALGRID_COORDINATOR_TRUSTEE_CA")]
    pub trustee_ca: Option<PathBuf>,
    /// The coordinator's client certificate (PEM) presented to the trustees.
    #[arg(long, env = "SEALGRID_COORDINATOR_TRUSTEE_CERT")]
    pub trustee_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, env = "SEALGRID_COORDINATOR_TRUSTEE_KEY")]
    pub trustee_key: Option<PathBuf>,
    /// DEVELOPMENT ONLY: dial the trustees in plaintext (`http://`), authenticating
    /// neither side.
    #[arg(long, env = "SEALGRID_COORDINATOR_INSECURE_PLAINTEXT_TRUSTEES")]
    pub insecure_plaintext_trustees: bool,
}

/// The TOML file's form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    market: Option<PathBuf>,
    store: Option<PathBuf>,
    key_dir: Option<PathBuf>,
    trustees: Option<Vec<String>>,
    embedded_state: Option<PathBuf>,
    rpc_url: Option<String>,
    max_fee_gwei: Option<u64>,
    receipt_timeout_seconds: Option<u64>,
    confirmations: Option<u64>,
    schedule: Option<FileSchedule>,
    first_round: Option<u64>,
    rounds: Option<u64>,
    relay_margin_seconds: Option<u64>,
    max_queue: Option<usize>,
    max_batch: Option<u32>,
    relay_batch: Option<usize>,
    relay_in_flight: Option<usize>,
    relay_linger_ms: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    trustee_ca: Option<PathBuf>,
    trustee_cert: Option<PathBuf>,
    trustee_key: Option<PathBuf>,
    insecure_plaintext_trustees: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchedule {
    slot_seconds: Option<u64>,
    bidding_seconds: Option<u64>,
    gate_closure_seconds: Option<u64>,
    settle_seconds: Option<u64>,
}

/// Where the chain is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainConfig {
    /// The embedded EVM with its state in this file.
    Embedded(PathBuf),
    /// A JSON-RPC node.
    Rpc(String),
}

/// Resolved settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// The market file.
    pub market: PathBuf,
    /// The store.
    pub store: PathBuf,
    /// The key store.
    pub key_dir: PathBuf,
    /// Trustee endpoints.
    pub trustees: Vec<String>,
    /// The chain.
    pub chain: ChainConfig,
    /// The clock.
    pub schedule: Schedule,
    /// Which rounds.
    pub plan: RoundPlan,
    /// Relay margin, seconds.
    pub relay_margin_seconds: u64,
    /// Queue bound.
    pub max_queue: usize,
    /// Batch bound.
    pub max_batch: u32,
    /// Submissions per relayed transaction.
    pub relay_batch: usize,
    /// Batched transactions in flight.
    pub relay_in_flight: usize,
    /// The fee cap on a JSON-RPC node, gwei per gas.
    pub max_fee_gwei: u64,
    /// The receipt timeout on a JSON-RPC node, seconds.
    pub receipt_timeout_seconds: u64,
    /// The confirmation depth on a JSON-RPC node, blocks (at least 1).
    pub confirmations: u64,
    /// The batch linger, milliseconds.
    pub relay_linger_ms: u64,
    /// TLS certificate chain and key, if TLS is on.
    pub tls: Option<crate::TlsFiles>,
    /// The mutual-TLS files the trustees are dialled with; `None` only with
    /// `insecure_plaintext_trustees`.
    pub trustee_tls: Option<sealgrid_proto::tls::TlsFiles>,
}

/// A configuration error.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Resolves `flags` (with the environment already folded in by clap) over the file
    /// they name, over the defaults.
    pub fn resolve(flags: &Flags) -> Result<Config, ConfigError> {
        let file: FileConfig = match &flags.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("{}: {e}", p.display())))?;
                toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", p.display())))?
            }
            None => FileConfig::default(),
        };
        let fs = file.schedule.clone().unwrap_or_default();
        let d = Schedule::default();
        let schedule = Schedule {
            slot_seconds: flags
                .slot_seconds
                .or(fs.slot_seconds)
                .unwrap_or(d.slot_seconds),
            bidding_seconds: flags
                .bidding_seconds
                .or(fs.bidding_seconds)
                .unwrap_or(d.bidding_seconds),
            gate_closure_seconds: flags
                .gate_closure_seconds
                .or(fs.gate_closure_seconds)
                .unwrap_or(d.gate_closure_seconds),
            settle_seconds: flags
                .settle_seconds
                .or(fs.settle_seconds)
                .unwrap_or(d.settle_seconds),
        };
        schedule
            .validate()
            .map_err(|e| ConfigError(e.to_string()))?;
        let chain = match (
            flags.embedded_state.clone().or(file.embedded_state.clone()),
            flags.rpc_url.clone().or(file.rpc_url.clone()),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "give either an embedded state file or an RPC URL, not both".into(),
                ))
            }
            (None, Some(url)) => ChainConfig::Rpc(url),
            (Some(p), None) => ChainConfig::Embedded(p),
            (None, None) => {
                ChainConfig::Embedded(PathBuf::from("target/sealgrid-market/chain.json"))
            }
        };
        let market = flags
            .market
            .clone()
            .or(file.market.clone())
            .ok_or_else(|| {
                ConfigError("no market file (--market or `market` in the file)".into())
            })?;
        let trustees = if flags.trustees.is_empty() {
            file.trustees.clone().unwrap_or_default()
        } else {
            flags.trustees.clone()
        };
        if trustees.is_empty() {
            return Err(ConfigError("no trustee endpoints (--trustee)".into()));
        }
        Ok(Config {
            listen: flags
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:50151".parse().expect("a valid address")),
            market,
            store: flags
                .store
                .clone()
                .or(file.store.clone())
                .unwrap_or_else(|| PathBuf::from("target/sealgrid-coordinator/store.redb")),
            key_dir: flags
                .key_dir
                .clone()
                .or(file.key_dir.clone())
                .unwrap_or_else(sealgrid_prover::circuits::default_key_dir),
            trustees,
            chain,
            schedule,
            plan: RoundPlan {
                first: flags.first_round.or(file.first_round),
                count: flags.rounds.or(file.rounds),
            },
            relay_margin_seconds: flags
                .relay_margin_seconds
                .or(file.relay_margin_seconds)
                .unwrap_or(1),
            max_queue: flags.max_queue.or(file.max_queue).unwrap_or(100_000),
            max_batch: flags.max_batch.or(file.max_batch).unwrap_or(1000),
            relay_batch: flags
                .relay_batch
                .or(file.relay_batch)
                .unwrap_or(DEFAULT_RELAY_BATCH),
            relay_in_flight: flags
                .relay_in_flight
                .or(file.relay_in_flight)
                .unwrap_or(DEFAULT_RELAY_IN_FLIGHT),
            max_fee_gwei: flags.max_fee_gwei.or(file.max_fee_gwei).unwrap_or(
                sealgrid_verifier_contract::rpc::DEFAULT_MAX_FEE_PER_GAS / 1_000_000_000,
            ),
            receipt_timeout_seconds: match flags
                .receipt_timeout_seconds
                .or(file.receipt_timeout_seconds)
            {
                Some(0) => {
                    return Err(ConfigError(
                        "receipt_timeout_seconds must be at least 1".into(),
                    ))
                }
                Some(s) => s,
                None => sealgrid_verifier_contract::rpc::DEFAULT_RECEIPT_TIMEOUT.as_secs(),
            },
            confirmations: match flags.confirmations.or(file.confirmations) {
                Some(0) => {
                    return Err(ConfigError(
                        "confirmations must be at least 1 (the transaction's own block)".into(),
                    ))
                }
                Some(n) => n,
                None => 1,
            },
            relay_linger_ms: flags.relay_linger_ms.or(file.relay_linger_ms).unwrap_or(0),
            tls: match (
                flags.tls_cert.clone().or(file.tls_cert.clone()),
                flags.tls_key.clone().or(file.tls_key.clone()),
            ) {
                (Some(cert), Some(key)) => Some(crate::TlsFiles {
                    cert,
                    key,
                    client_ca: flags.tls_client_ca.clone().or(file.tls_client_ca.clone()),
                }),
                (None, None) => None,
                _ => {
                    return Err(ConfigError(
                        "TLS needs both a certificate (tls_cert) and a key (tls_key)".into(),
                    ))
                }
            },
            trustee_tls: match (
                flags.trustee_ca.clone().or(file.trustee_ca.clone()),
                flags.trustee_cert.clone().or(file.trustee_cert.clone()),
                flags.trustee_key.clone().or(file.trustee_key.clone()),
                flags.insecure_plaintext_trustees
                    || file.insecure_plaintext_trustees.unwrap_or(false),
            ) {
                (Some(ca), Some(cert), Some(key), false) => {
                    Some(sealgrid_proto::tls::TlsFiles { ca, cert, key })
                }
                (None, None, None, true) => None,
                _ => {
                    return Err(ConfigError(
                        "the trustees are dialled over mutual TLS: give trustee_ca, trustee_cert \
                         and trustee_key (or, for development only, insecure_plaintext_trustees)"
                            .into(),
                    ))
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_timeout_comes_from_the_file_or_a_flag_and_is_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "market = \"m.json\"\ntrustees = [\"http://127.0.0.1:1\"]\ninsecure_plaintext_trustees = true\nreceipt_timeout_seconds = 240\n",
        )
        .unwrap();
        let mut flags = Flags {
            config: Some(p.clone()),
            ..Flags::default()
        };
        assert_eq!(
            Config::resolve(&flags).unwrap().receipt_timeout_seconds,
            240
        );
        flags.receipt_timeout_seconds = Some(30);
        assert_eq!(Config::resolve(&flags).unwrap().receipt_timeout_seconds, 30);
        flags.receipt_timeout_seconds = Some(0);
        let e = Config::resolve(&flags).unwrap_err();
        assert!(e.to_string().contains("receipt_timeout_seconds"), "{e}");
    }

    #[test]
    fn the_confirmation_depth_comes_from_the_file_or_a_flag_and_is_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "market = \"m.json\"\ntrustees = [\"http://127.0.0.1:1\"]\ninsecure_plaintext_trustees = true\nconfirmations = 6\n",
        )
        .unwrap();
        let mut flags = Flags {
            config: Some(p.clone()),
            ..Flags::default()
        };
        assert_eq!(Config::resolve(&flags).unwrap().confirmations, 6);
        flags.confirmations = Some(2);
        assert_eq!(Config::resolve(&flags).unwrap().confirmations, 2);
        flags.confirmations = Some(0);
        let e = Config::resolve(&flags).unwrap_err();
        assert!(e.to_string().contains("confirmations"), "{e}");
    }

    #[test]
    fn flags_beat_the_file_which_beats_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "market = \"m.json\"\ntrustees = [\"http://127.0.0.1:1\"]\ninsecure_plaintext_trustees = true\nmax_batch = 7\nrelay_batch = 5\nrelay_in_flight = 3\n[schedule]\nslot_seconds = 4\nsettle_seconds = 9\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(p.clone()),
            settle_seconds: Some(3),
            ..Flags::default()
        };
        let c = Config::resolve(&flags).unwrap();
        assert_eq!(c.schedule.slot_seconds, 4);
        assert_eq!(c.schedule.settle_seconds, 3);
        assert_eq!(
            c.schedule.bidding_seconds,
            Schedule::default().bidding_seconds
        );
        assert_eq!(c.max_batch, 7);
        assert_eq!(c.relay_batch, 5);
        assert_eq!(c.relay_in_flight, 3);
        assert_eq!(c.max_fee_gwei, 500);
        assert_eq!(c.receipt_timeout_seconds, 60);
        assert_eq!(c.confirmations, 1);
        assert_eq!(c.market, PathBuf::from("m.json"));
        // an unknown key is an error, not silently ignored
        std::fs::write(&p, "market = \"m.json\"\nslot_secs = 4\n").unwrap();
        let e = Config::resolve(&flags).unwrap_err();
        assert!(e.0.contains("slot_secs"), "{e}");
        // both chains at once
        let flags = Flags {
            market: Some("m".into()),
            trustees: vec!["http://x".into()],
            embedded_state: Some("s".into()),
            rpc_url: Some("http://127.0.0.1:8545".into()),
            ..Flags::default()
        };
        assert!(Config::resolve(&flags).is_err());
    }
}
