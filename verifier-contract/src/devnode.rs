//! Local development nodes on 127.0.0.1, for tests and benchmarks: ganache 7.9.2 (its
//! EVM and BN254 precompiles in JavaScript) or hardhat's node 2.26.5 (EDR: in native
//! code, several times faster on pairings), both npm packages installed from
//! `verifier-contract/node/`'s lockfile by `npm ci` (the README's `.ci/run` does it).
//!
//! Both fund the account of [`crate::rpc::GANACHE_DEV_KEY`] (hardhat through
//! `node/hardhat.config.js`), take the rules of a hardfork (Shanghai, as the committed
//! artifacts, or London) and mine either each transaction at once or a block every
//! `block_time` of at most `block_gas` gas, as a real chain does. The node's output goes
//! to a log file; the process is killed and reaped when its [`DevNode`] is dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::rpc::JsonRpcChain;
use crate::ChainError;

/// Which node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// hardhat 2.26.5's `hardhat node` (EDR).
    Hardhat,
    /// ganache 7.9.2.
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

impl std::str::FromStr for NodeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hardhat" => Ok(NodeKind::Hardhat),
            "ganache" => Ok(NodeKind::Ganache),
            _ => Err(format!("no node {s:?}: hardhat or ganache")),
        }
    }
}

/// How to start a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Which node.
    pub kind: NodeKind,
    /// `"shanghai"` or `"london"`.
    pub hardfork: &'static str,
    /// A block every this long; zero mines each transaction at once.
    pub block_time: Duration,
    /// The block gas limit.
    pub block_gas: u64,
    /// More command-line arguments (ganache's `--chain.*` options, say).
    pub extra: Vec<String>,
}

impl NodeConfig {
    /// `kind` with Shanghai's rules, mining each transaction at once, 30 M gas blocks.
    pub fn instant(kind: NodeKind) -> NodeConfig {
        NodeConfig {
            kind,
            hardfork: "shanghai",
            block_time: Duration::ZERO,
            block_gas: 30_000_000,
            extra: Vec::new(),
        }
    }

    /// `kind` with Shanghai's rules, a block every `block_time` of at most 30 M gas.
    pub fn interval(kind: NodeKind, block_time: Duration) -> NodeConfig {
        NodeConfig {
            block_time,
            ..NodeConfig::instant(kind)
        }
    }
}

/// A running node; killed and reaped when dropped.
#[derive(Debug)]
pub struct DevNode {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
    /// Which node it is.
    pub kind: NodeKind,
    /// Its output.
    pub log: PathBuf,
}

impl Drop for DevNode {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("stopping the node: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("reaping the node: {e}");
        }
    }
}

/// The directory `npm ci` installs the nodes into.
pub fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node")
}

fn script(kind: NodeKind) -> PathBuf {
    package_dir().join(match kind {
        NodeKind::Hardhat => "node_modules/hardhat/internal/cli/bootstrap.js",
        NodeKind::Ganache => "node_modules/ganache/dist/node/cli.js",
    })
}

/// `Err(why)` when this machine cannot run `kind`: no Node.js, or the package is not
/// installed.
pub fn available(kind: NodeKind) -> Result<(), String> {
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Err("Node.js (`node`) is not on PATH".into()),
    }
    let cli = script(kind);
    if !cli.exists() {
        return Err(format!(
            "{} is absent: run `npm ci` in {}",
            cli.display(),
            package_dir().display()
        ));
    }
    Ok(())
}

/// Whether a test may run on `kind`: false (after saying why) when this machine cannot
/// run it, and a panic instead when `SEALGRID_REQUIRE_NODE=1` requires it.
pub fn required_or_skipped(kind: NodeKind, what: &str) -> bool {
    match available(kind) {
        Ok(()) => true,
        Err(why) if std::env::var("SEALGRID_REQUIRE_NODE").as_deref() == Ok("1") => {
            panic!("SEALGRID_REQUIRE_NODE=1 but {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {what}: {why}");
            false
        }
    }
}

fn failed(e: impl std::fmt::Display) -> ChainError {
    ChainError::Backend(e.to_string())
}

/// Starts the node `config` describes on a free port of 127.0.0.1, its output into
/// `log`, and waits (up to 90 s) until it answers.
pub fn start(config: &NodeConfig, log: &Path) -> Result<DevNode, ChainError> {
    available(config.kind).map_err(failed)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| failed(format!("a free port on 127.0.0.1: {e}")))?
        .port();
    let out = File::create(log).map_err(|e| failed(format!("{}: {e}", log.display())))?;
    let err = out.try_clone().map_err(failed)?;
    let mut cmd = Command::new("node");
    cmd.arg(script(config.kind)).current_dir(package_dir());
    match config.kind {
        NodeKind::Hardhat => {
            cmd.args([
                "node",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .env(
                "SEALGRID_BLOCK_TIME_MS",
                config.block_time.as_millis().to_string(),
            )
            .env("SEALGRID_BLOCK_GAS", config.block_gas.to_string())
            .env("SEALGRID_HARDFORK", config.hardfork)
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true");
        }
        NodeKind::Ganache => {
            if config.block_time.subsec_nanos() != 0 {
                return Err(failed("ganache takes whole seconds of block time"));
            }
            cmd.args([
                "--server.host",
                "127.0.0.1",
                "--server.port",
                &port.to_string(),
            ])
            .args([
                "--wallet.deterministic",
                "--chain.hardfork",
                config.hardfork,
            ])
            .args(["--logging.quiet"])
            .args(["--miner.blockGasLimit", &config.block_gas.to_string()]);
            if !config.block_time.is_zero() {
                cmd.args([
                    "--miner.blockTime",
                    &config.block_time.as_secs().to_string(),
                ]);
            }
        }
    }
    let child = cmd
        .args(&config.extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| failed(format!("starting {}: {e}", config.kind)))?;
    let mut node = DevNode {
        child,
        url: format!("http://127.0.0.1:{port}"),
        kind: config.kind,
        log: log.to_path_buf(),
    };
    if let Err(e) = JsonRpcChain::wait_until_ready(&node.url, Duration::from_secs(90)) {
        let status = node.child.try_wait().ok().flatten();
        let out = std::fs::read_to_string(log).unwrap_or_default();
        let tail = &out[out.len().saturating_sub(2000)..];
        return Err(failed(format!(
            "{} did not answer on {}: {e}; exit status {status:?}; its log ends:\n{tail}",
            config.kind, node.url
        )));
    }
    Ok(node)
}
