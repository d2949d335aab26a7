//! `sealgrid-trustee`: serves one trustee of the committee over gRPC.
//!
//! ```text
//! export SEALGRID_TRUSTEE_PASSPHRASE=...
//! sealgrid-trustee demo-committee --out /tmp/committee      # in-memory DKG, sealed shares
//! sealgrid-trustee certs --out /tmp/certs --name trustee-1 --name coordinator --name regulator
//! sealgrid-trustee serve --setup /tmp/committee/setup.json \
//!     --share-file /tmp/committee/trustee-1.share \
//!     --tls-cert /tmp/certs/trustee-1.pem --tls-key /tmp/certs/trustee-1.key \
//!     --tls-client-ca /tmp/certs/ca.pem --auditor regulator=/tmp/certs/regulator.pem \
//!     --rpc-url http://127.0.0.1:8545 --market 0x5FbDB2315678afecb367f032d93F642f64180aa3
//! ```
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
use sealgrid_committee::dkg::{run_in_memory, DkgParams};
use sealgrid_committee::sign::{Address, SigningDomain, TrusteeSigningKey};
use sealgrid_proto::tls::{CallerId, MutualTls, TlsFiles};
use sealgrid_trustee::certs::LocalCa;
use sealgrid_trustee::chain::{ChainView, DirChain, EvmChainView};
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
    /// Run a DKG in memory and write `setup.json` and one sealed share file per trustee,
    /// all under the same passphrase (a demo; real trustees run the DKG apart).
    DemoCommittee {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Committee size.
        #[arg(long, default_value_t = 5)]
        n: u16,
        /// Threshold.
        #[arg(long, default_value_t = 3)]
        t: u16,
        /// Chain id of the signing domain (the deployment rewrites it with the market's).
        #[arg(long, default_value_t = 246)]
        chain_id: u64,
        /// Use the demo committee's FIXED, PUBLIC seed (3 trustees, t = 2; anyone can
        /// recompute the shares) instead of fresh randomness, so that the Groth16 keys
        /// made for its flow keys are cached across runs. For demos only.
        #[arg(long, conflicts_with_all = ["n", "t"])]
        demo_seed: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
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
            let log = DisclosureLog::open(&log_path)
                .with_context(|| format!("opening {}", log_path.display()))?;
            let view = match (&rpc_url, market) {
                (Some(url), Some(market)) => Some(
                    EvmChainView::connect(url, market, from_block)
                        .with_context(|| format!("connecting to {url}"))?,
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
        Command::DemoCommittee {
            out,
            n,
            t,
            chain_id,
            demo_seed,
            passphrase,
        } => {
            let pass = passphrase.get()?;
            let market = MarketParams::default();
            let mut rng = rand::rngs::OsRng;
            let (committee, secrets) = if demo_seed {
                let demo = sealgrid_trustee::demo::DemoCommittee::new(market.levels)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                ((*demo.public).clone(), demo.secrets())
            } else {
                let params = DkgParams {
                    n,
                    t,
                    instances: 2 * market.levels + 1,
                };
                let (committee, shares, _) = run_in_memory(params, &mut rng, |_| {})
                    .map_err(|e| anyhow::anyhow!("DKG failed: {e}"))?;
                if shares.len() != n as usize {
                    bail!("DKG gave {} shares for {n} trustees", shares.len());
                }
                let secrets = shares
                    .into_iter()
                    .map(|key| TrusteeSecrets {
                        key,
                        signer: TrusteeSigningKey::random(&mut rng),
                    })
                    .collect();
                (committee, secrets)
            };
            std::fs::create_dir_all(&out)?;
            let setup = TrusteeSetup {
                committee,
                market: market.clone(),
                domain: SigningDomain {
                    chain_id,
                    contract: Address([0; 20]),
                },
            };
            std::fs::write(out.join("setup.json"), serde_json::to_vec_pretty(&setup)?)?;
            let mut addresses = Vec::new();
            for secrets in secrets {
                let path = out.join(format!("trustee-{}.share", secrets.key.id.0));
                store::seal(&path, &secrets, &pass, KdfParams::DEFAULT)?;
                println!("{} ({:?})", path.display(), secrets.signer.address());
                addresses.push(secrets.signer.address());
            }
            // The signing addresses the market contract registers (public).
            std::fs::write(
                out.join("addresses.json"),
                serde_json::to_vec_pretty(&addresses)?,
            )?;
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
