//! `sealgrid-coordinator serve`: the coordinator as a process. Configuration by file,
//! environment and flags (`--help`); logs to stderr (`RUST_LOG` filters them); stops
//! gracefully on Ctrl-C or SIGTERM (calls in flight finish, queued submissions stay in
//! the store for the next start).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
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
    Serve(Flags),
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
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(flags) = Cli::parse().command;
    let config = Config::resolve(&flags)?;
    let market = MarketFile::load(&config.market)?;
    let key = match &config.chain {
        ChainConfig::Rpc(_) => Some(operator_key()?),
        ChainConfig::Embedded(_) => None,
    };
    let (chain_cfg, operator) = (config.chain.clone(), market.deployment.operator);
    let chain = ChainClient::spawn(move || match chain_cfg {
        ChainConfig::Embedded(path) => {
            Ok(Backend::Embedded(EmbeddedChain::open(path)?, Clock::wall()))
        }
        ChainConfig::Rpc(url) => {
            let key = key.expect("read above");
            let mut chain = JsonRpcChain::connect(url, key)?;
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
        schedule: config.schedule,
        plan: config.plan,
        relay_margin_seconds: config.relay_margin_seconds,
        max_queue: config.max_queue,
        max_batch: config.max_batch,
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
