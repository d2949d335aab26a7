//! The whole market round of `round.rs` on a real EVM node through [`JsonRpcChain`]:
//! hardhat's node or ganache (from `verifier-contract/node`, pinned by its lockfile;
//! `npm ci` there; [`devnode`]) started on 127.0.0.1 with a free port, stopped at the
//! end, also when the round panics.
//!
//! Without Node.js or the npm package the test says so and passes, unless
//! `SEALGRID_REQUIRE_NODE=1` (as CI sets when Node.js is present): then it fails.

use std::path::Path;
use std::time::{Duration, Instant};

use sealgrid_verifier_contract::devnode::{self, DevNode, NodeConfig, NodeKind};
use sealgrid_verifier_contract::rpc::GANACHE_DEV_KEY;
use sealgrid_verifier_contract::JsonRpcChain;

use crate::round::whole_round_for;
use sealgrid_verifier_contract::artifacts::{Deployable, EvmTarget};
use sealgrid_verifier_contract::{Chain, ChainError};

/// Starts `config`'s node, its log in `log_dir`, and waits until it answers.
pub(crate) fn start_node(log_dir: &Path, config: &NodeConfig) -> (DevNode, String) {
    let start = Instant::now();
    let node = devnode::start(config, &log_dir.join("node.log")).expect("the node starts");
    eprintln!(
        "{} answers on {} after {:?}",
        node.kind,
        node.url,
        start.elapsed()
    );
    let url = node.url.clone();
    (node, url)
}

/// Hardhat's node as `config` says, its log in a fresh temporary directory (kept as
/// long as the returned handle), or `None` after saying why when this machine cannot
/// run it and nobody requires it (`what`: the test's subject).
fn hardhat(what: &str, config: &NodeConfig) -> Option<(DevNode, String, tempfile::TempDir)> {
    if !devnode::required_or_skipped(NodeKind::Hardhat, what) {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (node, url) = start_node(dir.path(), config);
    Some((node, url, dir))
}

/// Ganache (Shanghai rules), mining each transaction at once.
fn start_ganache(log_dir: &Path) -> (DevNode, String) {
    start_node(log_dir, &NodeConfig::instant(NodeKind::Ganache))
}

/// Ganache (Shanghai rules) mining a block of at most 30 M gas every 2 seconds.
pub(crate) fn start_ganache_blocks(log_dir: &Path) -> (DevNode, String) {
    start_node(
        log_dir,
        &NodeConfig::interval(NodeKind::Ganache, Duration::from_secs(2)),
    )
}

/// False (after saying why) when this machine cannot run ganache and nobody requires it.
pub(crate) fn node_available(what: &str) -> bool {
    devnode::required_or_skipped(NodeKind::Ganache, what)
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
    // A node with London's rules (no PUSH0), as Energy Web Chain and other PoA chains:
    // the Shanghai build does not deploy there, the London build runs the whole round.
    // (The Shanghai build runs on ganache in the multi-process test, and here on revm.)
    // Hardhat's node, whose precompiles are native: ganache verified each of the
    // round's proofs three times in JavaScript (call, estimate, send), 3 minutes.
    let Some((_node, url, _dir)) = hardhat(
        "the JSON-RPC round",
        &NodeConfig {
            hardfork: "london",
            ..NodeConfig::instant(NodeKind::Hardhat)
        },
    ) else {
        return;
    };
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
    let (_node, url) = start_ganache_blocks(dir.path());
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

/// A transaction of a shape that has landed or been estimated before (the same
/// contract, function and calldata length) is sent with the most gas one used (or was
/// estimated to use) plus the estimate's margin,
/// without `eth_estimateGas`: EDR and ganache estimate by a binary search, a dozen
/// executions, which paced the relay (issue #14, the slot benchmark).
#[test]
fn a_transaction_of_a_landed_shape_is_sent_without_an_estimate() {
    use alloy_sol_types::SolCall;
    use sealgrid_verifier_contract::bindings::TestToken;
    let Some((node, url, _dir)) = hardhat(
        "the gas of a landed shape",
        &NodeConfig::instant(NodeKind::Hardhat),
    ) else {
        return;
    };
    let estimates = || {
        std::fs::read_to_string(&node.log)
            .expect("the node's log")
            .lines()
            .filter(|l| l.contains("eth_estimateGas"))
            .count()
    };
    let mut chain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    // the market's functions need proofs; the token's mint has the same kind of gas
    // (one fresh balance slot a call)
    assert!(!sealgrid_verifier_contract::rpc::HINTED.contains(&TestToken::mintCall::SELECTOR));
    chain.set_gas_hinted(&[TestToken::mintCall::SELECTOR]);
    let me = chain.funder();
    let token = deploy_token(&mut chain);
    let mint = |to: u8| mint_call(to, 1000);
    let before = estimates();
    let first = chain.transact(me, token, mint(1)).expect("mints");
    assert_eq!(
        estimates(),
        before + 1,
        "the first of its shape is estimated"
    );
    // a fresh balance slot each: the same gas, so the limit is the one seen plus margin
    for to in 2..5 {
        chain.transact(me, token, mint(to)).expect("mints");
    }
    assert_eq!(estimates(), before + 1, "later ones of the shape are not");
    let limits: Vec<u64> = chain
        .logs(&sealgrid_verifier_contract::LogFilter::since(token, 0))
        .expect("logs")
        .iter()
        .filter_map(|l| l.tx_hash)
        .map(|h| {
            let tx = chain
                .rpc("eth_getTransactionByHash", serde_json::json!([h]))
                .expect("the transaction");
            u64::from_str_radix(tx["gas"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        })
        .collect();
    let hinted = first.gas_used + first.gas_used / 4 + 25_000;
    assert_eq!(limits.len(), 4, "{limits:?}");
    // the most of the first's estimate and its gas used, plus margin
    assert!(
        limits[1..]
            .iter()
            .all(|&l| l == limits[1] && l >= hinted && l <= limits[0]),
        "{limits:?} against {hinted}"
    );
    // a function outside the set (by default the market's bids, settlements and balance
    // updates) is estimated every time
    let mut plain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    for to in 5..7 {
        plain.transact(me, token, mint(to)).expect("mints");
    }
    assert_eq!(
        estimates(),
        before + 3,
        "outside the set, each is estimated"
    );
    // in one call, before any of them landed: the first's estimate stands for the rest
    let mut fresh = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    fresh.set_gas_hinted(&[TestToken::mintCall::SELECTOR]);
    let landed = fresh.transact_many((7..10).map(|to| (me, token, mint(to))).collect());
    assert!(landed.iter().all(Result::is_ok), "{landed:?}");
    assert_eq!(estimates(), before + 4, "one estimate for three of a shape");
}

/// An `eth_getLogs` answer larger than the client reads (10 MiB by default: a round of
/// 5,000 bids is more, and the slot benchmark's clearing failed on it) is asked for
/// again half a block range at a time: the same logs, in the same order.
#[test]
fn logs_too_large_for_one_answer_are_read_half_a_range_at_a_time() {
    use sealgrid_verifier_contract::LogFilter;
    let Some((_node, url, _dir)) = hardhat(
        "logs read by halves",
        &NodeConfig::instant(NodeKind::Hardhat),
    ) else {
        return;
    };
    let mut chain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    let me = chain.funder();
    let token = deploy_token(&mut chain);
    for to in 1..=12u8 {
        chain
            .transact(me, token, mint_call(to, u64::from(to)))
            .expect("mints");
    }
    let filter = LogFilter::since(token, 0);
    let whole = chain.logs(&filter).expect("logs");
    assert_eq!(whole.len(), 12);
    // a limit that holds a few logs' answer, not twelve
    let mut small = JsonRpcChain::read_only(&url).expect("connects");
    small.set_response_limit(2_000);
    assert_eq!(small.logs(&filter).expect("logs by halves"), whole);
    // a single block's logs over the limit: an error, not a silent gap
    small.set_response_limit(10);
    assert!(small.logs(&filter).is_err());
}

/// A transaction whose fee the base fee has overtaken is not left in the pool until the
/// base fee comes down (about 30 blocks from 100 gwei to what it offered): after
/// [`STUCK_BLOCKS`] blocks it is signed again, same nonce, with a higher fee, and lands
/// once (issue #14 item 3). With a fee cap below the base fee it is not replaced above
/// the cap: it waits until the base fee is under the cap, then goes at the cap.
#[test]
fn a_transaction_the_base_fee_overtook_is_sent_again_with_a_higher_fee() {
    use alloy_primitives::U256;
    use sealgrid_verifier_contract::rpc::STUCK_BLOCKS;
    use serde_json::{json, Value};
    let Some((node, url, _dir)) = hardhat(
        "the replacement of a stuck transaction",
        &NodeConfig::interval(NodeKind::Hardhat, Duration::from_secs(1)),
    ) else {
        return;
    };
    let mut setup = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    let me = setup.funder();
    let token = deploy_token(&mut setup);
    let gwei = |n: u64| U256::from(n) * U256::from(1_000_000_000u64);
    let wei =
        |v: &Value| U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let mut observer = JsonRpcChain::read_only(&url).expect("connects");
    // One mint, sent while the next block's base fee jumps to 100 gwei: mining is paused
    // from before the jump until the node holds the transaction, so the fee it is signed
    // with comes from the block before the jump.
    let mut stuck_mints = |count: u8, cap: U256| {
        // from a quiet chain: a block at a base fee of 1 gwei
        observer
            .rpc(
                "hardhat_setNextBlockBaseFeePerGas",
                json!([format!("{:#x}", gwei(1))]),
            )
            .unwrap();
        observer.rpc("evm_mine", json!([])).unwrap();
        let latest = observer
            .rpc("eth_getBlockByNumber", json!(["latest", false]))
            .unwrap();
        let tip = wei(&observer.rpc("eth_maxPriorityFeePerGas", json!([])).unwrap());
        // what the first version offers: twice the base fee plus the tip
        let offered = wei(&latest["baseFeePerGas"]) * U256::from(2) + tip;
        assert!(offered < gwei(5), "{offered}");
        observer.rpc("evm_setIntervalMining", json!([0])).unwrap();
        observer
            .rpc(
                "hardhat_setNextBlockBaseFeePerGas",
                json!([format!("{:#x}", gwei(100))]),
            )
            .unwrap();
        let nonce = |o: &mut JsonRpcChain| {
            let n = o
                .rpc("eth_getTransactionCount", json!([me, "latest"]))
                .unwrap();
            u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        // the node's pending count leaves out a transaction below the next base fee:
        // its log says when it took one
        let sends = || {
            std::fs::read_to_string(&node.log)
                .expect("the node's log")
                .matches("eth_sendRawTransaction")
                .count()
        };
        let before = nonce(&mut observer);
        let sent_before = sends();
        let url = url.clone();
        let sender = std::thread::spawn(move || {
            let mut chain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
            chain.set_max_fee(cap);
            // stuck until the base fee is back at what it offered: about 30 s
            chain.set_receipt_timeout(Duration::from_secs(20));
            // one alone through `transact`, more through `transact_many`
            if count == 1 {
                vec![chain.transact(me, token, mint_call(1, 1))]
            } else {
                chain.transact_many((0..count).map(|to| (me, token, mint_call(to, 1))).collect())
            }
        });
        let waited = Instant::now();
        while sends() == sent_before {
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "the mint never reached the node"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        observer
            .rpc("evm_setIntervalMining", json!([1000]))
            .unwrap();
        for landed in sender.join().expect("the sender") {
            landed.expect("the mint lands");
        }
        assert_eq!(
            nonce(&mut observer),
            before + u64::from(count),
            "each landed once"
        );
        // the landed versions and their blocks
        let logs = observer
            .logs(&sealgrid_verifier_contract::LogFilter::since(token, 0))
            .unwrap();
        let landed: Vec<(U256, U256)> = logs[logs.len() - usize::from(count)..]
            .iter()
            .map(|l| {
                let tx = observer
                    .rpc("eth_getTransactionByHash", json!([l.tx_hash.unwrap()]))
                    .unwrap();
                let block = observer
                    .rpc(
                        "eth_getBlockByNumber",
                        json!([tx["blockNumber"].clone(), false]),
                    )
                    .unwrap();
                (wei(&tx["maxFeePerGas"]), wei(&block["baseFeePerGas"]))
            })
            .collect();
        (offered, landed)
    };
    // the base fee jumps out of reach; the replacement goes at once
    let (offered, landed) = stuck_mints(1, gwei(500));
    let (fee_cap, base) = landed[0];
    assert!(
        base > offered,
        "landed at base fee {base}: the first version ({offered}) could not have"
    );
    assert!(fee_cap <= gwei(500) && fee_cap >= base, "{fee_cap}");
    // Two in one `transact_many` (consecutive nonces, both stuck), with a fee cap of 20
    // gwei, below the jump: no version above 20 gwei; each lands once the base fee is
    // under the cap, long before it would be under the first fee.
    let (offered, landed) = stuck_mints(2, gwei(20));
    for (fee_cap, base) in landed {
        assert!(
            base > offered,
            "landed at base fee {base}: the first version ({offered}) could not have"
        );
        assert!(
            fee_cap <= gwei(20) && fee_cap >= base,
            "a replacement within the cap: {fee_cap}"
        );
    }
    assert!(STUCK_BLOCKS >= 1);
}

/// A transaction sent with the gas of a landed one of its shape, that needs more (the
/// state it loops over grew), runs out of gas on chain: that is the node's failure to
/// be retried, not the contract's refusal (the relay would split a batch for it and
/// mark a single one failed), and sent again it is estimated and lands.
#[test]
fn a_transaction_out_of_its_hinted_gas_is_a_failure_to_retry_not_a_refusal() {
    use alloy_primitives::{Bytes, U256};
    let Some((_node, url, _dir)) = hardhat(
        "running out of hinted gas",
        &NodeConfig::instant(NodeKind::Hardhat),
    ) else {
        return;
    };
    let mut chain = JsonRpcChain::connect(&url, GANACHE_DEV_KEY).expect("connects");
    let me = chain.funder();
    // A contract that loops as many times as its slot 0 says (40 gas a turn), then
    // stores the call's word at 4 there: its gas depends on the state, not the calldata.
    //   PUSH1 0 SLOAD; loop: JUMPDEST DUP1 ISZERO PUSH1 end JUMPI PUSH1 1 SWAP1 SUB
    //   PUSH1 loop JUMP; end: JUMPDEST POP PUSH1 4 CALLDATALOAD PUSH1 0 SSTORE STOP
    let runtime = concat!(
        "600054",
        "5b801560105760019003600356",
        "5b50600435600055",
        "00"
    );
    // copies the 25 bytes of runtime from offset 11 and returns them
    let init: Bytes = hex::decode(format!("601980600b6000396000f3{runtime}"))
        .expect("hex")
        .into();
    let looper = chain
        .deploy(me, init)
        .expect("deploys")
        .contract_address
        .expect("an address");
    let selector = [0xde, 0xad, 0xbe, 0xef];
    chain.set_gas_hinted(&[selector]);
    let call = |turns: u64| -> Bytes {
        let mut data = selector.to_vec();
        data.extend_from_slice(&U256::from(turns).to_be_bytes::<32>());
        data.into()
    };
    // no turns; 100,000 for the next call (4 M gas, against a hint of about 80 k)
    chain.transact(me, looper, call(100_000)).expect("lands");
    let e = chain
        .transact(me, looper, call(0))
        .expect_err("runs out of the hinted gas");
    assert!(
        matches!(&e, ChainError::Backend(m) if m.contains("ran out of gas")),
        "{e:?}"
    );
    let landed = chain
        .transact(me, looper, call(0))
        .expect("estimated, it lands");
    assert!(landed.gas_used > 4_000_000, "{}", landed.gas_used);
}

/// The test token, deployed by `chain`'s funder.
fn deploy_token(chain: &mut JsonRpcChain) -> alloy_primitives::Address {
    let me = chain.funder();
    chain
        .deploy(me, EvmTarget::Shanghai.bytecode(Deployable::TestToken))
        .expect("deploys")
        .contract_address
        .expect("an address")
}

/// `TestToken.mint(0xtoto…, value)` as calldata.
fn mint_call(to: u8, value: u64) -> alloy_primitives::Bytes {
    use alloy_sol_types::SolCall;
    sealgrid_verifier_contract::bindings::TestToken::mintCall {
        to: alloy_primitives::Address::repeat_byte(to),
        value: alloy_primitives::U256::from(value),
    }
    .abi_encode()
    .into()
}
