//! `sealgrid-coordinator serve`: the coordinator as a process. Configuration by file,
//! environment and flags (`--help`); logs to stderr (`RUST_LOG` filters them); stops
//! gracefully on Ctrl-C or SIGTERM (calls in flight finish, queued submissions stay in
//! the store for the next start).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sealgrid_coordinator::committee::TrusteeTls;
use sealgrid_coordinator::config::{ChainConfig, Config, Flags};
use sealgrid_coordinator::{start, Backend, ChainClient, Clock, MarketFile, Settings};
use sealgrid_verifier_contract::{ChainError, DevChain, EmbeddedChain, JsonRpcChain};

#[derive(Parser, Debug)]
#[command(
    name = "sealgrid-coordinator",
    version,
    about = "sealgrid's coordinator: sequences market rounds without learning quotes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serves the coordinator's gRPC API until stopped.
    Serve(Box<Flags>),
    /// The operator's one-time deployment for a committee: takes the Groth16 keys for
    /// its flow keys from a ceremony (--ceremony) or makes them, deploys the contracts, registers a seeded group of
    /// prosumers, writes the market file and points the committee's setup at the market.
    Deploy(DeployArgs),
}

#[derive(clap::Args, Debug)]
struct DeployArgs {
    /// The committee's setup (`sealgrid-trustee dkg` writes it); rewritten
    /// with the deployed market's signing domain.
    #[arg(long)]
    setup: PathBuf,
    /// The committee's signing addresses (JSON list; `addresses.json` beside the setup).
    #[arg(long)]
    addresses: PathBuf,
    /// The market file to write.
    #[arg(long)]
    out: PathBuf,
    /// The embedded chain's state file (created if missing).
    #[arg(long, conflicts_with = "rpc_url")]
    embedded_state: Option<PathBuf>,
    /// A JSON-RPC node; the operator's key comes from SEALGRID_OPERATOR_KEY and pays for
    /// the gas of everything the deployment sends.
    #[arg(long)]
    rpc_url: Option<String>,
    /// The key store.
    #[arg(long, env = "SEALGRID_KEY_DIR")]
    key_dir: Option<PathBuf>,
    /// The trusted-setup ceremony's directory for this committee's circuits
    /// (`phase1.ptau`, `balance.zkey`, `bid.zkey`, `settle.zkey`, from
    /// `sealgrid-ceremony ... --setup` with this setup file): the keys are checked
    /// against the circuits and recorded in the market file. Without it, the keys come
    /// from a single party's setup, which the audit reports as a failure.
    #[arg(long, value_name = "DIR")]
    ceremony: Option<PathBuf>,
    /// Register this many prosumers, wallets derived from --prosumer-seed.
    #[arg(long, default_value_t = 0)]
    prosumers: u64,
    /// See --prosumers (public: for demos only).
    #[arg(long, default_value_t = 1)]
    prosumer_seed: u64,
    /// Tokens minted to each prosumer's payer.
    #[arg(long, default_value_t = 1_000_000)]
    tokens: u64,
    /// A bid needs unsettled < this.
    #[arg(long, default_value_t = 2)]
    max_unsettled: u32,
    /// A bid needs defaults < this.
    #[arg(long, default_value_t = 1)]
    max_defaults: u32,
    /// The EVM rules the contracts are compiled for: shanghai, or london for chains
    /// without PUSH0 (Energy Web Chain and other proof-of-authority chains).
    #[arg(long, default_value_t = sealgrid_verifier_contract::artifacts::EvmTarget::Shanghai)]
    evm: sealgrid_verifier_contract::artifacts::EvmTarget,
}

fn deploy(args: DeployArgs) -> Result<()> {
    let setup: sealgrid_market::TrusteeSetup = serde_json::from_slice(
        &std::fs::read(&args.setup).with_context(|| format!("reading {}", args.setup.display()))?,
    )
    .with_context(|| format!("{} is not a committee setup", args.setup.display()))?;
    let trustees: Vec<sealgrid_committee::sign::Address> = serde_json::from_slice(
        &std::fs::read(&args.addresses)
            .with_context(|| format!("reading {}", args.addresses.display()))?,
    )
    .with_context(|| format!("{} is not a list of addresses", args.addresses.display()))?;
    let plan = sealgrid_coordinator::operator::DeployPlan {
        setup,
        trustees,
        max_unsettled: args.max_unsettled,
        max_defaults: args.max_defaults,
        prosumers: args.prosumers,
        prosumer_seed: args.prosumer_seed,
        tokens: args.tokens,
        ceremony: args.ceremony.clone(),
        evm: args.evm,
    };
    let key_dir = args
        .key_dir
        .clone()
        .unwrap_or_else(sealgrid_prover::circuits::default_key_dir);
    let progress = |e: &sealgrid_prover::Event| tracing::info!("keys: {e:?}");
    let (market, setup, _) = match (&args.embedded_state, &args.rpc_url) {
        (_, Some(url)) => {
            let key = operator_key()?;
            let mut chain = JsonRpcChain::connect(url.clone(), key)
                .with_context(|| format!("connecting to {url}"))?;
            sealgrid_coordinator::operator::deploy(&mut chain, key, &plan, &key_dir, &progress)?
        }
        (Some(path), None) => {
            let mut chain =
                EmbeddedChain::open(path).with_context(|| format!("opening {}", path.display()))?;
            chain.set_timestamp(sealgrid_coordinator::schedule::wall());
            sealgrid_coordinator::operator::deploy(
                &mut chain,
                sealgrid_coordinator::operator::EMBEDDED_OPERATOR_SECRET,
                &plan,
                &key_dir,
                &progress,
            )?
        }
        (None, None) => anyhow::bail!("give --embedded-state FILE or --rpc-url URL"),
    };
    market.save(&args.out)?;
    let tmp = args.setup.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&setup)?)?;
    std::fs::rename(&tmp, &args.setup)?;
    println!(
        "market {} on chain {} (block {}); market file {}",
        market.deployment.market,
        market.deployment.chain_id,
        market.deployment.deployment_block,
        args.out.display()
    );
    Ok(())
}

fn operator_key() -> Result<[u8; 32]> {
    let hex_key = std::env::var("SEALGRID_OPERATOR_KEY")
        .context("a JSON-RPC chain needs the operator's key in SEALGRID_OPERATOR_KEY (hex)")?;
    let bytes = hex::decode(hex_key.trim().trim_start_matches("0x"))
        .context("SEALGRID_OPERATOR_KEY is not hex")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("SEALGRID_OPERATOR_KEY is not 32 bytes"))
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
                // arkworks' `ns!` opens an info span (target `gr1cs`) per gadget and leaks
                // it on purpose; recorded by a subscriber, a circuit's synthesis then
                // holds gigabytes (measured: 20 GB for the bid circuit). Never record them.
                .add_directive("gr1cs=off".parse().expect("a valid directive")),
        )
        .with_writer(std::io::stderr)
        .init();
    let flags = match Cli::parse().command {
        Command::Serve(flags) => *flags,
        Command::Deploy(args) => return deploy(args),
    };
    let config = Config::resolve(&flags)?;
    let market = MarketFile::load(&config.market)?;
    let key = match &config.chain {
        ChainConfig::Rpc(_) => Some(operator_key()?),
        ChainConfig::Embedded(_) => None,
    };
    let (chain_cfg, operator) = (config.chain.clone(), market.deployment.operator);
    let max_fee = alloy_primitives::U256::from(config.max_fee_gwei)
        * alloy_primitives::U256::from(1_000_000_000u64);
    let receipt_timeout = std::time::Duration::from_secs(config.receipt_timeout_seconds);
    let confirmations = config.confirmations;
    let chain = ChainClient::spawn(move || match chain_cfg {
        ChainConfig::Embedded(path) => {
            Ok(Backend::Embedded(EmbeddedChain::open(path)?, Clock::wall()))
        }
        ChainConfig::Rpc(url) => {
            let key = key.expect("read above");
            let mut chain = JsonRpcChain::connect(url, key)?;
            chain.set_max_fee(max_fee);
            chain.set_receipt_timeout(receipt_timeout);
            chain.set_confirmations(confirmations);
            let from = chain.add_account(key)?;
            if from != operator {
                return Err(ChainError::Backend(format!(
                    "SEALGRID_OPERATOR_KEY is {from}, the market's operator is {operator}"
                )));
            }
            Ok(Backend::Rpc(chain))
        }
    })
    .context("starting the chain")?;
    let settings = Settings {
        market,
        listen: config.listen,
        store: config.store,
        key_dir: config.key_dir,
        trustees: config.trustees,
        trustee_tls: match &config.trustee_tls {
            Some(files) => TrusteeTls::Mutual(
                sealgrid_proto::tls::MutualTls::load(files).context("the trustee TLS files")?,
            ),
            None => {
                tracing::warn!("INSECURE: dialling the trustees in plaintext (development only)");
                TrusteeTls::InsecurePlaintext
            }
        },
        schedule: config.schedule,
        plan: config.plan,
        relay_margin_seconds: config.relay_margin_seconds,
        max_queue: config.max_queue,
        max_batch: config.max_batch,
        relay_batch: config.relay_batch,
        relay_in_flight: config.relay_in_flight,
        relay_linger_ms: config.relay_linger_ms,
        tick_ms: 200,
        clock: Clock::wall(),
        tls: config.tls,
    };
    let running = start(settings, chain).await?;
    // The one line on stdout: scripts and tests read the bound address from it.
    println!("listening on {}", running.addr);
    std::io::Write::flush(&mut std::io::stdout()).ok();
    let stop = running.stop_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        stop.send(true).ok();
    });
    running.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    ctrl_c.await.ok();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c.await.ok();
    }
}
