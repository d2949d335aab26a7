//! The benchmark's chain: a local node on 127.0.0.1 that mines a block every
//! `block_time` of at most `block_gas` gas, never one per transaction: hardhat's node
//! (EDR: the EVM and its BN254 precompiles in native code, from `bench/node/`) or
//! ganache 7.9.2 (in JavaScript, from `verifier-contract/node/`). Both are npm packages,
//! installed from their lockfiles by `npm ci`; the node's output goes to a log file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use sealgrid_verifier_contract::rpc::JsonRpcChain;

/// Which node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeKind {
    /// `hardhat node` (2.26, EDR), interval mining.
    Hardhat,
    /// ganache 7.9.2, `--miner.blockTime`.
    Ganache,
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeKind::Hardhat => "hardhat 2.26.5 (EDR)",
            NodeKind::Ganache => "ganache 7.9.2",
        })
    }
}

/// A running node; stopped when dropped.
#[derive(Debug)]
pub struct Node {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
    /// Which node it is.
    pub kind: NodeKind,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("stopping the node: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("reaping the node: {e}");
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The node's entry script and the directory `npm ci` installs it into.
fn script(kind: NodeKind) -> (PathBuf, PathBuf) {
    match kind {
        NodeKind::Hardhat => {
            let dir = workspace().join("bench/node");
            (
                dir.join("node_modules/hardhat/internal/cli/bootstrap.js"),
                dir,
            )
        }
        NodeKind::Ganache => {
            let dir = workspace().join("verifier-contract/node");
            (dir.join("node_modules/ganache/dist/node/cli.js"), dir)
        }
    }
}

/// Whether Node.js and the node's package are installed (and if not, why).
pub fn available(kind: NodeKind) -> Result<(), String> {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let (cli, dir) = script(kind);
    if !node {
        return Err("Node.js is not installed".into());
    }
    if !cli.exists() {
        return Err(format!(
            "{} is missing: run `npm ci` in {}",
            cli.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// Starts `kind` on a free loopback port, its output into `log`, and waits until it
/// answers.
pub fn start(kind: NodeKind, block_time: Duration, block_gas: u64, log: &Path) -> Result<Node> {
    available(kind).map_err(|e| anyhow!(e))?;
    if block_time.is_zero() {
        bail!("a block time of 0 is instant mining, not what this benchmark measures");
    }
    let (cli, dir) = script(kind);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("a free port")?
        .port();
    let out = std::fs::File::create(log).with_context(|| log.display().to_string())?;
    let mut cmd = Command::new("node");
    cmd.arg(&cli).current_dir(&dir);
    match kind {
        NodeKind::Hardhat => {
            cmd.args([
                "node",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .env("SEALGRID_BLOCK_TIME_MS", block_time.as_millis().to_string())
            .env("SEALGRID_BLOCK_GAS", block_gas.to_string())
            // no telemetry prompt, no network
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
            .env("DO_NOT_TRACK", "1");
        }
        NodeKind::Ganache => {
            if block_time.subsec_millis() != 0 {
                bail!("ganache takes whole seconds of block time");
            }
            cmd.args([
                "--server.host",
                "127.0.0.1",
                "--server.port",
                &port.to_string(),
            ])
            .args(["--wallet.deterministic", "--logging.quiet"])
            .args(["--miner.blockTime", &block_time.as_secs().to_string()])
            .args(["--miner.blockGasLimit", &block_gas.to_string()]);
        }
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {kind}"))?;
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
        kind,
    };
    JsonRpcChain::wait_until_ready(&node.url, Duration::from_secs(90))
        .with_context(|| format!("{kind} on {} (its log: {})", node.url, log.display()))?;
    Ok(node)
}
