//! The whole market round of `round.rs` on a real EVM node through [`JsonRpcChain`]:
//! ganache (from `verifier-contract/node`, pinned by its lockfile; `npm ci` there) started
//! on 127.0.0.1 with a free port, stopped at the end, also when the round panics.
//!
//! Without Node.js or the npm package the test says so and passes, unless
//! `SEALGRID_REQUIRE_NODE=1` (as CI sets when Node.js is present): then it fails.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealgrid_verifier_contract::rpc::GANACHE_DEV_KEY;
use sealgrid_verifier_contract::JsonRpcChain;

use crate::round::whole_round_for;
use sealgrid_verifier_contract::artifacts::{Deployable, EvmTarget};
use sealgrid_verifier_contract::{Chain, ChainError};

/// A node process, killed (and reaped) when dropped: at the end of the test or while a
/// panic unwinds.
pub(crate) struct NodeGuard {
    child: Child,
    log: PathBuf,
}

impl Drop for NodeGuard {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("stopping the node: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("reaping the node: {e}");
        }
    }
}

fn ganache_cli() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node/node_modules/ganache/dist/node/cli.js")
}

/// `Some(reason)` if this machine cannot run the node.
fn missing() -> Option<String> {
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("Node.js (`node`) is not on PATH".into()),
    }
    let cli = ganache_cli();
    if !cli.exists() {
        return Some(format!(
            "{} is absent: run `npm ci` in verifier-contract/node",
            cli.display()
        ));
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// Starts ganache on 127.0.0.1 (mining each transaction at once) and waits until it
/// answers.
fn start_ganache(log_dir: &Path) -> (NodeGuard, String) {
    start_ganache_with(log_dir, &[])
}

/// Starts ganache (Shanghai rules) with `extra` arguments (e.g. interval mining).
pub(crate) fn start_ganache_with(log_dir: &Path, extra: &[&str]) -> (NodeGuard, String) {
    start_ganache_on(log_dir, "shanghai", extra)
}

/// Starts ganache with the rules of `hardfork` and `extra` arguments.
fn start_ganache_on(log_dir: &Path, hardfork: &str, extra: &[&str]) -> (NodeGuard, String) {
    let port = free_port();
    let log = log_dir.join("ganache.log");
    let out = File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new("node")
        .arg(ganache_cli())
        .args(["--server.host", "127.0.0.1", "--server.port"])
        .arg(port.to_string())
        // the funded accounts of GANACHE_DEV_KEY & co.; Shanghai is ganache's default
        // and what the artifacts are compiled for (London for artifacts/london)
        .args(["--wallet.deterministic", "--chain.hardfork", hardfork])
        .args(["--logging.quiet"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("node starts");
    let mut guard = NodeGuard { child, log };
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    if let Err(e) = JsonRpcChain::wait_until_ready(&url, Duration::from_secs(60)) {
        let status = guard.child.try_wait().ok().flatten();
        let log = std::fs::read_to_string(&guard.log).unwrap_or_default();
        panic!("ganache did not answer on {url}: {e}; exit status {status:?}; log:\n{log}");
    }
    eprintln!("ganache answers on {url} after {:?}", start.elapsed());
    (guard, url)
}

/// False (after saying why) when this machine cannot run the node and nobody requires it.
pub(crate) fn node_available(what: &str) -> bool {
    if let Some(reason) = missing() {
        if std::env::var("SEALGRID_REQUIRE_NODE").as_deref() == Ok("1") {
            panic!("SEALGRID_REQUIRE_NODE=1 but {reason}");
        }
        eprintln!("skipping {what}: {reason}");
        return false;
    }
    true
}

/// A transaction whose `eth_call` reverts is answered with the decoded revert and never
/// sent: no nonce, no block, no gas (issue #13 item 9: replays used to be mined).
#[test]
fn a_reverting_transaction_is_refused_not_mined() {
    use alloy_primitives::{Address, U256};
    use sealgrid_verifier_contract::bindings::TestToken;
    use sealgrid_verifier_contract::Chain;
    if !node_available("the JSON-RPC simulation test") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_node, url) = start_ganache(dir.path());
    let mut chain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    let me = chain.funder();
    let token = chain
        .deploy(me, TestToken::BYTECODE.clone())
        .expect("token")
        .contract_address
        .expect("created");
    let nonce = |c: &mut JsonRpcChain| {
        c.rpc("eth_getTransactionCount", serde_json::json!([me, "latest"]))
            .expect("nonce")
    };
    let (n0, b0) = (nonce(&mut chain), chain.block_number().expect("block"));
    for _ in 0..20 {
        let e = chain
            .sol_transact(
                me,
                token,
                &TestToken::transferCall {
                    to: Address::repeat_byte(7),
                    value: U256::from(1u64),
                },
            )
            .expect_err("no tokens to move");
        assert!(
            matches!(
                e.decode::<TestToken::TestTokenErrors>(),
                Some(TestToken::TestTokenErrors::InsufficientBalance(_))
            ),
            "{e}"
        );
    }
    assert_eq!(nonce(&mut chain), n0, "a refused transaction spent a nonce");
    assert_eq!(
        chain.block_number().expect("block"),
        b0,
        "a block was mined"
    );
    // a transaction that succeeds is still sent
    chain
        .sol_transact(
            me,
            token,
            &TestToken::mintCall {
                to: me,
                value: U256::from(5u64),
            },
        )
        .expect("mints");
    assert_ne!(nonce(&mut chain), n0);
}

#[test]
fn a_whole_round_on_a_node_over_json_rpc() {
    if !node_available("the JSON-RPC round") {
        return;
    }
    // A node with London's rules (no PUSH0), as Energy Web Chain and other PoA chains:
    // the Shanghai build does not deploy there, the London build runs the whole round.
    // (The Shanghai build runs on a node in the multi-process test, and here on revm.)
    let dir = tempfile::tempdir().expect("temp dir");
    let (_node, url) = start_ganache_on(dir.path(), "london", &[]);
    let mut chain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    let me = chain.funder();
    for (what, code) in [
        (
            "the Shanghai market",
            EvmTarget::Shanghai.bytecode(Deployable::Market),
        ),
        (
            "the Shanghai token",
            EvmTarget::Shanghai.bytecode(Deployable::TestToken),
        ),
    ] {
        let e = chain
            .deploy(me, code)
            .expect_err("PUSH0 is not an opcode under London");
        eprintln!("{what} on a London node: {e}");
        assert!(
            matches!(
                e,
                ChainError::Halted { .. } | ChainError::Reverted { .. } | ChainError::Backend(_)
            ),
            "{what}: {e}"
        );
    }
    let start = Instant::now();
    for (label, lo, hi) in whole_round_for(chain, EvmTarget::London) {
        eprintln!("gas {label}: {lo}..{hi}");
    }
    eprintln!("round over JSON-RPC in {:?}", start.elapsed());
}

/// On a node with real blocks (2 s, 30 M gas), transactions of four senders sent at
/// the same time share a block, each sent with the gas it needs (estimated, plus a
/// quarter and 25,000), not the per-transaction cap of 16.7 M (issue #14). A node that
/// holds to the rule that a transaction's gas limit fits in what is left of the block
/// (geth does; ganache does not) takes a further capped transaction only while the
/// block has used at most 13.3 M: three market deployments of 5 M each would fill it.
#[test]
fn transactions_of_four_senders_share_a_two_second_block() {
    use alloy_primitives::{Address, U256};
    use sealgrid_verifier_contract::bindings::Market;
    use sealgrid_verifier_contract::bindings::TestToken as TestTokenCode;
    use sealgrid_verifier_contract::{calldata, Chain, DevChain};
    if !node_available("the interval-mining test") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_node, url) = start_ganache_with(
        dir.path(),
        &[
            "--miner.blockTime",
            "2",
            "--miner.blockGasLimit",
            "30000000",
        ],
    );
    let mut funder = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    assert_eq!(
        funder.gas_limit(),
        1 << 24,
        "the cap is below the block's gas limit"
    );
    let secrets: Vec<[u8; 32]> = (1..=4u8).map(|i| [0x50 + i; 32]).collect();
    for s in &secrets {
        let who = funder.add_account(*s).expect("account");
        funder
            .fund(who, U256::from(10u128.pow(20)))
            .expect("funded");
    }
    let start = funder.block_number().expect("block");
    let code = calldata::init_code(
        &Market::BYTECODE,
        &Market::constructorCall {
            token_: Address::repeat_byte(1),
            balanceVerifier_: Address::repeat_byte(2),
            bidVerifier_: Address::repeat_byte(3),
            settleVerifier_: Address::repeat_byte(4),
            poseidon_: Address::repeat_byte(5),
            committeeDelay_: 0,
            params_: Market::Params {
                levels: 8,
                kAnonymity: 5,
                maxUnsettled: 1,
                maxDefaults: 1,
            },
        },
    );
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(secrets.len()));
    let threads: Vec<_> = secrets
        .iter()
        .map(|s| {
            let mut c = JsonRpcChain::connect(&url, *s).expect("connects");
            let (code, barrier) = (code.clone(), barrier.clone());
            std::thread::spawn(move || {
                let me = c.funder();
                barrier.wait();
                let r = c.deploy(me, code).expect("deploys");
                assert!(r.gas_used > 4_000_000, "{}", r.gas_used);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("deployed");
    }
    let mut c = JsonRpcChain::read_only(&url).expect("connects");
    let per_block = crate::rpc_many::transactions_per_block(&mut c, start);
    assert_eq!(
        per_block.iter().map(|(_, t)| t).sum::<usize>(),
        4,
        "{per_block:?}"
    );
    assert_eq!(per_block.len(), 1, "all four in one block: {per_block:?}");
    let block = c
        .rpc(
            "eth_getBlockByNumber",
            serde_json::json!([format!("{:#x}", per_block[0].0), false]),
        )
        .expect("block");
    let quantity = |v: &serde_json::Value| {
        u64::from_str_radix(v.as_str().expect("hex").trim_start_matches("0x"), 16)
            .expect("a quantity")
    };
    for h in block["transactions"].as_array().expect("hashes") {
        let tx = c
            .rpc("eth_getTransactionByHash", serde_json::json!([h]))
            .expect("tx");
        let receipt = c
            .rpc("eth_getTransactionReceipt", serde_json::json!([h]))
            .expect("receipt");
        let (limit, used) = (quantity(&tx["gas"]), quantity(&receipt["gasUsed"]));
        assert!(
            used <= limit && limit <= used + used / 4 + 25_000 + used / 20,
            "sent with {limit} gas, used {used}"
        );
        // EIP-1559: a type-2 transaction whose fee cap covers twice the base fee
        assert_eq!(tx["type"], "0x2", "{tx}");
        let base = quantity(&block["baseFeePerGas"]);
        assert!(quantity(&tx["maxFeePerGas"]) >= 2 * base, "{tx}");
        assert!(
            quantity(&tx["maxFeePerGas"])
                <= sealgrid_verifier_contract::rpc::DEFAULT_MAX_FEE_PER_GAS,
            "{tx}"
        );
    }
    // a fee cap under the base fee: refused here, not left stuck in the pool
    let mut cheap = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    cheap.set_max_fee(U256::from(1u8));
    let me = cheap.funder();
    let e = cheap
        .deploy(me, TestTokenCode::BYTECODE.clone())
        .expect_err("the base fee is above the cap");
    assert!(e.to_string().contains("above the fee cap"), "{e}");
}
