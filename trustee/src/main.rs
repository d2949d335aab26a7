//! `sealgrid-trustee`: serves one trustee of the committee over gRPC.
//!
//! ```text
//! export SEALGRID_TRUSTEE_PASSPHRASE=...            # each trustee its own
//! sealgrid-trustee keygen --id 1 --share-file t1.share   # prints trustee 1's address
//! # ... every trustee does the same and they exchange their addresses, then each runs
//! sealgrid-trustee dkg --id 1 --n 3 --t 2 --peers 0xA1,0xA2,0xA3 --board /shared/board \
//!     --session committee-2026 --share-file t1.share --out /tmp/committee-1
//! sealgrid-trustee certs --out /tmp/certs --name trustee-1 --name coordinator --name regulator
//! sealgrid-trustee serve --setup /tmp/committee-1/setup.json --share-file t1.share \
//!     --tls-cert /tmp/certs/trustee-1.pem --tls-key /tmp/certs/trustee-1.key \
//!     --tls-client-ca /tmp/certs/ca.pem --auditor regulator=/tmp/certs/regulator.pem \
//!     --rpc-url http://127.0.0.1:8545 --market 0x5FbDB2315678afecb367f032d93F642f64180aa3
//! ```
//!
//! `demo-committee` instead writes the fixed-seed DEMO committee (every share in one
//! process, from a public seed): it protects nothing.
//!
//! The trustee reads the accepted bids and settlements itself: from the market
//! contract's events on a node (`--rpc-url`, `--market`, `--from-block`), or for a demo
//! without a chain from JSON files (`--chain-dir`).
//!
//! `serve` prints `listening on <addr>` on stdout once bound (the default address
//! `127.0.0.1:0` picks a free port) and shuts down gracefully on Ctrl-C or SIGTERM.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::dkg::{DkgParams, KeyShare, ShareBundle};
use sealgrid_committee::sign::{Address, SigningDomain, TrusteeSigningKey};
use sealgrid_committee::TrusteeId;
use sealgrid_proto::tls::{CallerId, MutualTls, TlsFiles};
use sealgrid_trustee::certs::LocalCa;
use sealgrid_trustee::chain::{ChainView, DirChain, EvmChainView};
use sealgrid_trustee::dkg::{self, DkgConfig};
use sealgrid_trustee::service::{Auditor, TrusteeService};
use sealgrid_trustee::store::{self, DisclosureLog, KdfParams, Passphrase, TrusteeSecrets};
use sealgrid_trustee::{load_trustee, serve, Transport, TrusteeSetup};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "One trustee of sealgrid's committee, served over gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the share file's passphrase comes from.
#[derive(clap::Args, Debug)]
struct PassphraseArgs {
    /// Environment variable holding the share file's passphrase.
    #[arg(long, default_value = "SEALGRID_TRUSTEE_PASSPHRASE")]
    passphrase_env: String,
    /// Read the passphrase from the first line of this file instead.
    #[arg(long, env = "SEALGRID_TRUSTEE_PASSPHRASE_FILE")]
    passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    fn get(&self) -> Result<Passphrase> {
        Ok(match &self.passphrase_file {
            Some(p) => Passphrase::from_file(p)?,
            None => Passphrase::from_env(&self.passphrase_env)?,
        })
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve one trustee.
    Serve {
        /// Address to listen on. Port 0 picks a free port.
        #[arg(long, env = "SEALGRID_TRUSTEE_LISTEN", default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The committee's public setup (JSON: committee, market, domain).
        #[arg(long, env = "SEALGRID_TRUSTEE_SETUP")]
        setup: PathBuf,
        /// This trustee's sealed share file.
        #[arg(long, env = "SEALGRID_TRUSTEE_SHARE_FILE")]
        share_file: PathBuf,
        /// Read the accepted bids and settlements from the market contract's events on
        /// this EVM node (JSON-RPC over HTTP, read only); needs --market.
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_RPC_URL",
            requires = "market",
            conflicts_with = "chain_dir"
        )]
        rpc_url: Option<String>,
        /// The market contract's address (0x…), with --rpc-url. The node's chain id and
        /// this address must be the setup's signing domain.
        #[arg(long, env = "SEALGRID_TRUSTEE_MARKET", requires = "rpc_url")]
        market: Option<alloy_primitives::Address>,
        /// The first block whose events are read, with --rpc-url: the market's
        /// deployment block (0 reads the whole chain).
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_FROM_BLOCK",
            default_value_t = 0,
            requires = "rpc_url"
        )]
        from_block: u64,
        /// With --rpc-url: how many blocks, the newest included, must hold an event
        /// before it is read (default 1; on a chain whose recent blocks can be replaced,
        /// the coordinator's `confirmations`).
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_CONFIRMATIONS",
            default_value_t = 1,
            requires = "rpc_url"
        )]
        confirmations: u64,
        /// Instead of a node: a directory of the accepted bids, `round-<n>.json` and
        /// `settlements-<n>.json` per round (demos without a chain).
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_CHAIN_DIR",
            required_unless_present = "rpc_url"
        )]
        chain_dir: Option<PathBuf>,
        /// The trustee's certificate (PEM), presented to every caller.
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_TLS_CERT",
            required_unless_present = "insecure_plaintext"
        )]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_TLS_KEY",
            required_unless_present = "insecure_plaintext"
        )]
        tls_key: Option<PathBuf>,
        /// The certificate authority (PEM) whose client certificates are served (the
        /// coordinator's, the auditors'); a caller without one gets nothing.
        #[arg(
            long,
            env = "SEALGRID_TRUSTEE_TLS_CLIENT_CA",
            required_unless_present = "insecure_plaintext"
        )]
        tls_client_ca: Option<PathBuf>,
        /// DEVELOPMENT ONLY: serve plaintext, authenticate nobody (no auditor can be
        /// recognised, anyone reaching the port is served).
        #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "tls_client_ca"])]
        insecure_plaintext: bool,
        /// An auditor allowed to request disclosures, as NAME=CERT.pem: the caller must
        /// present that certificate (repeatable).
        #[arg(long = "auditor", value_name = "NAME=CERT.pem")]
        auditors: Vec<String>,
        /// The append-only log of the disclosures answered (default: the share file's
        /// path with `.disclosures.jsonl` appended).
        #[arg(long, env = "SEALGRID_TRUSTEE_DISCLOSURE_LOG")]
        disclosure_log: Option<PathBuf>,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Make a local certificate authority and a certificate per name for mutual TLS on
    /// loopback: `ca.pem`, `NAME.pem`, `NAME.key` (demos and tests; self-made, the CA's
    /// key is not kept).
    Certs {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// A party's name (repeatable), e.g. trustee-1, coordinator, regulator.
        #[arg(long = "name", required = true)]
        names: Vec<String>,
    },
    /// Make this trustee's secp256k1 signing key, sealed in a new share file that holds
    /// no key share yet, and print its address (give it to the other trustees: `dkg
    /// --peers` takes every trustee's address).
    Keygen {
        /// This trustee's id, 1..=n.
        #[arg(long)]
        id: u16,
        /// The share file to create (refused if it exists).
        #[arg(long)]
        share_file: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Take part in a distributed key generation, each trustee in its own process: deal,
    /// verify, complain, answer over the signed channel on the board, then seal this
    /// trustee's key share into its share file (from `keygen`) and write the public
    /// `setup.json` and `addresses.json` (the same bytes at every trustee) into --out.
    Dkg {
        /// This trustee's id, 1..=n.
        #[arg(long)]
        id: u16,
        /// Committee size.
        #[arg(long)]
        n: u16,
        /// Threshold: any t trustees decrypt and sign.
        #[arg(long)]
        t: u16,
        /// Every trustee's signing address (from its `keygen`), ids 1..=n in order,
        /// comma-separated; this trustee's own included.
        #[arg(long, value_delimiter = ',', required = true)]
        peers: Vec<alloy_primitives::Address>,
        /// The broadcast directory every trustee reads and writes (messages are signed and
        /// shares encrypted; the board is trusted for delivery only).
        #[arg(long)]
        board: PathBuf,
        /// A name for this run, the same at every trustee (bound into every message).
        #[arg(long)]
        session: String,
        /// This trustee's share file from `keygen`; rewritten with the key share.
        #[arg(long)]
        share_file: PathBuf,
        /// Where to write setup.json and addresses.json.
        #[arg(long)]
        out: PathBuf,
        /// Chain id of the signing domain (the deployment rewrites it with the market's).
        #[arg(long, default_value_t = 246)]
        chain_id: u64,
        /// How long each phase waits for the other trustees, in seconds.
        #[arg(long, default_value_t = 600)]
        phase_timeout_seconds: u64,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Write the DEMO committee (3 trustees, t = 2) from its FIXED, PUBLIC seed:
    /// `setup.json`, `addresses.json` and one sealed share file per trustee, all under
    /// the same passphrase. IT PROTECTS NOTHING: one process makes every share and anyone
    /// can recompute them from the seed. It exists so that demos reuse the Groth16 keys
    /// cached for its flow keys. A real committee runs `keygen` and `dkg`, one process
    /// per trustee.
    DemoCommittee {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Chain id of the signing domain (the deployment rewrites it with the market's).
        #[arg(long, default_value_t = 246)]
        chain_id: u64,
        /// Accepted for compatibility: the demo committee is always the fixed-seed one.
        #[arg(long, hide = true)]
        demo_seed: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
}

/// The test-only cheat, compiled into debug builds only (a release build cannot be told
/// to cheat): with `SEALGRID_DKG_CHEAT_BAD_SHARE_TO=<id>`, the bundle for that trustee
/// gets a wrong share. (A cargo feature turned on by a dev-dependency is not reliably on
/// for the binary a workspace-wide `cargo test` builds, so the gate is the profile.)
#[cfg(debug_assertions)]
fn cheat() -> Box<dyn FnMut(&mut ShareBundle)> {
    match std::env::var("SEALGRID_DKG_CHEAT_BAD_SHARE_TO")
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
    {
        Some(victim) => {
            tracing::warn!(target: "sealgrid::dkg", victim, "CHEATING (test build): a bad share for trustee {victim}");
            Box::new(move |b: &mut ShareBundle| {
                if b.recipient == TrusteeId(victim) {
                    b.shares[0] += sealgrid_circuits::babyjubjub::Scalar::from(1u64);
                }
            })
        }
        None => Box::new(|_: &mut ShareBundle| {}),
    }
}

#[cfg(not(debug_assertions))]
fn cheat() -> Box<dyn FnMut(&mut ShareBundle)> {
    Box::new(|_: &mut ShareBundle| {})
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            setup,
            share_file,
            rpc_url,
            market,
            from_block,
            confirmations,
            chain_dir,
            tls_cert,
            tls_key,
            tls_client_ca,
            insecure_plaintext,
            auditors,
            disclosure_log,
            passphrase,
        } => {
            let transport = match (tls_client_ca, tls_cert, tls_key, insecure_plaintext) {
                (Some(ca), Some(cert), Some(key), false) => Transport::MutualTls(
                    MutualTls::load(&TlsFiles { ca, cert, key }).context("loading the TLS files")?,
                ),
                (None, None, None, true) => Transport::InsecurePlaintext,
                _ => bail!("give --tls-cert, --tls-key and --tls-client-ca (or --insecure-plaintext for development)"),
            };
            let auditors = auditors
                .iter()
                .map(|a| {
                    let (name, cert) = a
                        .split_once('=')
                        .with_context(|| format!("--auditor {a}: NAME=CERT.pem"))?;
                    Ok(Auditor {
                        name: name.to_owned(),
                        identity: CallerId::of_pem_file(std::path::Path::new(cert))
                            .with_context(|| format!("--auditor {a}"))?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let log_path = disclosure_log.unwrap_or_else(|| {
                let mut p = share_file.clone().into_os_string();
                p.push(".disclosures.jsonl");
                PathBuf::from(p)
            });
            let view = match (&rpc_url, market) {
                (Some(url), Some(market)) => Some(
                    EvmChainView::connect(url, market, from_block)
                        .with_context(|| format!("connecting to {url}"))?
                        .with_confirmations(confirmations),
                ),
                _ => None,
            };
            let setup: TrusteeSetup = serde_json::from_slice(
                &std::fs::read(&setup).with_context(|| format!("reading {}", setup.display()))?,
            )
            .with_context(|| format!("parsing {}", setup.display()))?;
            let chain: Arc<dyn ChainView> = match (view, chain_dir) {
                (Some(view), _) => {
                    // The trustee signs for the market it reads, never for another one.
                    let chain_id = view.chain_id()?;
                    if chain_id != setup.domain.chain_id
                        || view.market().as_slice() != setup.domain.contract.0.as_slice()
                    {
                        bail!(
                            "the setup's signing domain (chain {}, contract 0x{}) is not the market read (chain {chain_id}, contract {})",
                            setup.domain.chain_id,
                            hex_of(&setup.domain.contract.0),
                            view.market()
                        );
                    }
                    tracing::info!(target: "sealgrid::trustee", url = rpc_url.as_deref().unwrap_or_default(), market = %view.market(), from_block, "reading the market's events");
                    Arc::new(view)
                }
                (None, Some(dir)) => Arc::new(DirChain { dir }),
                (None, None) => bail!("give --rpc-url with --market, or --chain-dir"),
            };
            let trustee = load_trustee(&share_file, &passphrase.get()?, &setup)
                .with_context(|| format!("loading {}", share_file.display()))?;
            let id = trustee.id();
            // Opened (created if new) only once everything else checked out: a refused
            // start leaves no file behind.
            let log = DisclosureLog::open(&log_path)
                .with_context(|| format!("opening {}", log_path.display()))?;
            for a in &auditors {
                tracing::info!(target: "sealgrid::trustee", auditor = %a.name, certificate = %a.identity, "auditor");
            }
            let service =
                TrusteeService::new(trustee, Arc::new(setup.committee), chain, auditors, log);
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            println!("listening on {addr}");
            std::io::stdout().flush()?;
            tracing::info!(target: "sealgrid::trustee", trustee = id.0, %addr, "serving");
            serve(listener, service, transport, shutdown_signal()).await?;
            tracing::info!(target: "sealgrid::trustee", "stopped");
        }
        Command::Certs { out, names } => {
            let ca = LocalCa::new("sealgrid local CA")?;
            for (name, files) in ca.write(&out, &names)? {
                println!("{name}: {} {}", files.cert.display(), files.key.display());
            }
            println!("ca: {}", out.join("ca.pem").display());
        }
        Command::Keygen {
            id,
            share_file,
            passphrase,
        } => {
            if id == 0 {
                bail!("--id must be at least 1");
            }
            if share_file.exists() {
                bail!(
                    "{} exists: keygen never overwrites a share file",
                    share_file.display()
                );
            }
            let pass = passphrase.get()?;
            let secrets = TrusteeSecrets {
                key: KeyShare::from_parts(TrusteeId(id), Vec::new()),
                signer: TrusteeSigningKey::random(&mut rand::rngs::OsRng),
            };
            store::seal(&share_file, &secrets, &pass, KdfParams::DEFAULT)?;
            println!(
                "trustee {id} address 0x{}",
                hex_of(&secrets.signer.address().0)
            );
        }
        Command::Dkg {
            id,
            n,
            t,
            peers,
            board,
            session,
            share_file,
            out,
            chain_id,
            phase_timeout_seconds,
            passphrase,
        } => {
            let pass = passphrase.get()?;
            let secrets = store::open(&share_file, &pass)
                .with_context(|| format!("opening {}", share_file.display()))?;
            if secrets.key.id != TrusteeId(id) {
                bail!(
                    "{} belongs to trustee {}, not {id}",
                    share_file.display(),
                    secrets.key.id.0
                );
            }
            if !secrets.key.is_empty() {
                bail!(
                    "{} already holds a key share: keep it, or start from a new keygen",
                    share_file.display()
                );
            }
            let market = MarketParams::default();
            let config = DkgConfig {
                me: TrusteeId(id),
                params: DkgParams {
                    n,
                    t,
                    instances: 2 * market.levels + 1,
                },
                roster: peers.iter().map(|a| Address(a.0 .0)).collect(),
                label: session,
                chain_id,
                market,
                board,
                phase_timeout: std::time::Duration::from_secs(phase_timeout_seconds),
            };
            let outcome =
                tokio::task::spawn_blocking(move || dkg::run(&config, secrets.signer, cheat()))
                    .await?
                    .context("distributed key generation")?;
            // The share first: public files exist only beside a kept share.
            store::seal(&share_file, &outcome.secrets, &pass, KdfParams::DEFAULT)?;
            dkg::write_public_files(&out, &outcome.setup_json, &outcome.addresses_json)
                .with_context(|| format!("writing into {}", out.display()))?;
            let q = &outcome.setup.committee.qualification;
            println!(
                "qualified {:?}",
                q.qualified.iter().map(|i| i.0).collect::<Vec<_>>()
            );
            for (i, why) in &q.disqualified {
                println!("disqualified trustee {}: {why:?}", i.0);
            }
            println!("setup {}", out.join("setup.json").display());
        }
        Command::DemoCommittee {
            out,
            chain_id,
            demo_seed: _,
            passphrase,
        } => {
            eprintln!(
                "WARNING: the demo committee protects nothing: one process makes every share, from a public seed"
            );
            let pass = passphrase.get()?;
            let market = MarketParams::default();
            let demo = sealgrid_trustee::demo::DemoCommittee::new(market.levels)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let setup = TrusteeSetup {
                committee: (*demo.public).clone(),
                market: market.clone(),
                domain: SigningDomain {
                    chain_id,
                    contract: Address([0; 20]),
                },
            };
            let (setup_json, addresses_json) = dkg::public_files(&setup, &demo.addresses());
            dkg::write_public_files(&out, &setup_json, &addresses_json)?;
            for secrets in demo.secrets() {
                let path = out.join(format!("trustee-{}.share", secrets.key.id.0));
                store::seal(&path, &secrets, &pass, KdfParams::DEFAULT)?;
                println!(
                    "{} ({:?}) DEMO: protects nothing",
                    path.display(),
                    secrets.signer.address()
                );
            }
        }
    }
    Ok(())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!(target: "sealgrid::trustee", "shutting down");
}
