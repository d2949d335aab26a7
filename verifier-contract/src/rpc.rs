//! [`JsonRpcChain`]: any EVM node over plain HTTP JSON-RPC (ganache, hardhat, anvil,
//! geth, an L2's endpoint behind a local proxy), blocking.
//!
//! No TLS and no async runtime: requests go through `ureq` without its TLS features
//! (loopback needs none), transactions are RLP-encoded here and signed locally with
//! k256, so the node needs no unlocked accounts. They are EIP-1559 (type 2) on a chain
//! with a base fee, else EIP-155 legacy transactions; their gas limit is the node's
//! estimate with a margin, their fee at most a cap ([`JsonRpcChain::set_max_fee`]).
//!
//! A transaction is first executed with `eth_call` on the pending state; one that
//! reverts or halts there is not sent (its revert is returned, with no gas used and no
//! nonce spent). The rest is signed, sent and waited for. The receipt decides whether it
//! succeeded; the return data and, on a revert, the revert payload come from that first
//! execution, because receipts carry neither. Nodes report reverts differently, and all these shapes are read:
//!
//! - hardhat: `error.data = {"message": …, "data": "0x…"}` (on `eth_call`, and on
//!   `eth_sendRawTransaction`, where the reverted transaction is mined all the same);
//! - ganache: `error.data = "0x…"` on `eth_call`, `error.data.result = "0x…"` on
//!   `eth_estimateGas`; a reverted transaction is mined with status 0 and no data;
//! - geth and anvil: `error = {"code": 3, "data": "0x…"}`.
//!
//! If the first execution and the receipt disagree (the block's timestamp or another
//! transaction changed the state in between), the call is replayed on the parent
//! block's state (and, failing that, on the state after its own block).
//!
//! A transaction without a receipt is sent again as signed, at most once per new block
//! while its nonce is unused (a reorg or the node's pool may have lost it; the same
//! signed transaction lands at most once), and is reported as not known to have landed
//! once its sender's nonce has moved past it with no receipt for it in two looks a
//! block apart. One that is its sender's next nonce and stays unmined for
//! [`STUCK_BLOCKS`] blocks is signed again with a higher fee, within the cap, and every
//! version is watched (`replace`). With a confirmation depth ([`JsonRpcChain::set_confirmations`]) a
//! transaction is reported only when that many blocks hold it, its receipt read again
//! and its block checked against the chain's block at that height.
//!
//! [`Chain::transact_many`] sends many transactions without waiting between them, so
//! that they share blocks: each sender's nonce counted up locally, every transaction
//! executed first, signed and sent as above, then all receipts awaited together
//! (`send_many` says how refusals and dependencies between them are handled).
//!
//! Past logs come from one `eth_getLogs` over the whole range (nodes that cap the range
//! answer with an error, which is passed on), sorted by (block, transaction, log
//! index) whatever order the node sent, without `removed` (reorged) logs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy_primitives::{keccak256, Address, Bytes, Log, B256, U256};
use alloy_rlp::{Encodable, Header};
use alloy_sol_types::SolCall;
use k256::ecdsa::SigningKey;
use serde_json::{json, Value};

use crate::bindings::Market;
use crate::chain::{address_of_key, Chain, ChainError, ChainLog, DevChain, LogFilter, Receipt};
use crate::embedded::TX_GAS_LIMIT;

/// A JSON-RPC error object: `code`, `message` and the node-specific `data`.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// The JSON-RPC error code.
    pub code: i64,
    /// The message.
    pub message: String,
    /// `error.data`, whatever its shape.
    pub data: Option<Value>,
}

impl RpcError {
    /// The revert payload the error carries, in any of the shapes nodes use (see the
    /// module documentation).
    pub fn revert_data(&self) -> Option<Bytes> {
        self.data.as_ref().and_then(revert_data_in)
    }

    /// Whether the error says the EVM reverted (as opposed to halting or a bad request).
    pub fn is_revert(&self) -> bool {
        self.code == 3
            || self.message.to_ascii_lowercase().contains("revert")
            || self.revert_data().is_some()
    }

    fn into_chain_error(self, gas_used: u64) -> ChainError {
        if self.is_revert() {
            ChainError::Reverted {
                data: self.revert_data().unwrap_or_default(),
                gas_used,
            }
        } else if self.message.to_ascii_lowercase().contains("exception")
            || self.message.to_ascii_lowercase().contains("out of gas")
        {
            ChainError::Halted {
                reason: self.message,
                gas_used,
            }
        } else {
            ChainError::Backend(format!("JSON-RPC error {}: {}", self.code, self.message))
        }
    }
}

fn revert_data_in(v: &Value) -> Option<Bytes> {
    match v {
        Value::String(s) => hex_bytes(s),
        // hardhat nests {message, data}; ganache's estimateGas has {result, …}
        Value::Object(o) => o
            .get("data")
            .and_then(revert_data_in)
            .or_else(|| o.get("result").and_then(revert_data_in)),
        _ => None,
    }
}

fn hex_bytes(s: &str) -> Option<Bytes> {
    let h = s.strip_prefix("0x")?;
    hex::decode(h).ok().map(Bytes::from)
}

/// Why one request failed: the transport, or the node's answer.
#[derive(Debug)]
enum Failure {
    Transport(String),
    Rpc(RpcError),
}

impl Failure {
    fn into_chain_error(self, gas_used: u64) -> ChainError {
        match self {
            Failure::Transport(e) => ChainError::Backend(e),
            Failure::Rpc(e) => e.into_chain_error(gas_used),
        }
    }
}

fn backend(e: impl std::fmt::Display) -> ChainError {
    ChainError::Backend(e.to_string())
}

/// An EVM node reached over HTTP JSON-RPC, with local signing keys.
pub struct JsonRpcChain {
    url: String,
    agent: ureq::Agent,
    chain_id: u64,
    gas_limit: u64,
    keys: HashMap<Address, SigningKey>,
    funder: Address,
    next_id: u64,
    receipt_timeout: Duration,
    /// How many blocks, its own included, must hold a transaction before it is
    /// reported ([`JsonRpcChain::set_confirmations`]).
    confirmations: u64,
    /// The most a transaction may pay per gas (EIP-1559's `maxFeePerGas`, or a legacy
    /// gas price), in wei.
    max_fee_cap: U256,
    /// The most gas a landed transaction of each shape used ([`GasShape`]): the next of
    /// the same shape is sent with it plus the estimate's margin, without an
    /// `eth_estimateGas` (see `gas_for`).
    gas_seen: HashMap<GasShape, u64>,
    /// The functions `gas_seen` is kept for ([`HINTED`] unless set).
    hinted: Vec<[u8; 4]>,
    /// Shapes whose transaction ran out of the gas it was sent with: the next of the
    /// shape is estimated, whatever others of it land meanwhile (`outcome`).
    must_estimate: std::collections::HashSet<GasShape>,
    /// The largest response body read, bytes ([`DEFAULT_RESPONSE_LIMIT`]).
    response_limit: u64,
}

/// The largest JSON-RPC response body a [`JsonRpcChain`] reads unless set: 10 MiB. An
/// `eth_getLogs` answer above it (a round of 5,000 bids is over 10 MiB of events) is
/// asked again for each half of its block range.
pub const DEFAULT_RESPONSE_LIMIT: u64 = 10 << 20;

/// What a transaction's gas is taken to depend on: the contract, the function and the
/// calldata's length (a batch of 32 bids, a deposit). Only for the market's functions
/// whose gas is the proof checks' and a fixed set of storage writes per item
/// ([`HINTED`]): transactions of one shape then differ by the storage they touch first
/// (a fresh slot costs 17,100 more than a written one, against about 170,000 a bid),
/// within the quarter of margin a gas limit gets. Functions with loops whose cost
/// depends on the state (`recordDefaults` skips a bid already recorded, `clear`,
/// `finalize`, the committee's) are always estimated: a cheap page of one length would
/// otherwise set the limit of a costly one.
type GasShape = (Address, [u8; 4], usize);

/// The functions whose gas a landed transaction of the same shape stands for, unless
/// [`JsonRpcChain::set_gas_hinted`] says otherwise.
pub const HINTED: [[u8; 4]; 8] = [
    Market::registerCall::SELECTOR,
    Market::submitBidsCall::SELECTOR,
    Market::submitBidCall::SELECTOR,
    Market::settleBatchCall::SELECTOR,
    Market::settleCall::SELECTOR,
    Market::depositCall::SELECTOR,
    Market::depositForCall::SELECTOR,
    Market::withdrawCall::SELECTOR,
];

fn gas_shape(hinted: &[[u8; 4]], to: Option<Address>, data: &Bytes) -> Option<GasShape> {
    let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
    hinted
        .contains(&selector)
        .then_some((to?, selector, data.len()))
}

/// How long `eth_estimateGas` may take before it is asked again, at least (see
/// `estimate_timeout`).
const ESTIMATE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `eth_estimateGas` may take before it is asked again, at most.
const ESTIMATE_TIMEOUT_MAX: Duration = Duration::from_secs(60);

/// How many of the transaction's own first executions an estimate may take before it
/// is asked again (see `estimate_timeout`).
const ESTIMATE_EXECUTIONS: u32 = 15;

/// How many times `eth_estimateGas` is asked before the transaction gets the cap.
const ESTIMATE_ATTEMPTS: usize = 3;

/// How often transactions still without a receipt get one more look (at most one per
/// new block): sent again as signed while their nonce is unused (a reorg may have
/// dropped their block before their receipt was read, or the node's pool let them go),
/// reported not landed once another transaction has taken it.
const DROP_CHECK: Duration = Duration::from_secs(4);

/// The default [`JsonRpcChain::set_receipt_timeout`]: 60 s.
pub const DEFAULT_RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default [`JsonRpcChain::set_max_fee`]: 500 gwei per gas.
pub const DEFAULT_MAX_FEE_PER_GAS: u64 = 500_000_000_000;

impl std::fmt::Debug for JsonRpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRpcChain")
            .field("url", &self.url)
            .field("chain_id", &self.chain_id)
            .field("gas_limit", &self.gas_limit)
            .field("accounts", &self.keys.keys().collect::<Vec<_>>())
            .field("funder", &self.funder)
            .finish_non_exhaustive()
    }
}

/// The first deterministic account of `ganache --wallet.deterministic`
/// (0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1), funded with 1,000 ETH. A well-known
/// test key: never use it on a real chain.
pub const GANACHE_DEV_KEY: [u8; 32] =
    hex_literal("4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d");
/// The first account of `hardhat node` (and anvil):
/// 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, funded with 10,000 ETH. A well-known test
/// key: never use it on a real chain.
pub const HARDHAT_DEV_KEY: [u8; 32] =
    hex_literal("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

/// How long an `eth_estimateGas` may take before it is asked again, for a transaction
/// whose first execution (`eth_call`) took `executed` on the same node: at least
/// [`ESTIMATE_TIMEOUT`], else [`ESTIMATE_EXECUTIONS`] times that execution, at most
/// [`ESTIMATE_TIMEOUT_MAX`] (an `eth_call` that got no answer counts as none). Nodes
/// estimate by executing the transaction more than once (ganache 7.9 takes 2 to 9
/// times an `eth_call` for a bid or a settlement, whose pairings it computes in
/// JavaScript: about 1 s each on a 2-core machine), and a question asked again while the node
/// still works on the first waits behind it: a fixed 5 s made every settlement's
/// estimate time out three times and be sent with the cap.
fn estimate_timeout(executed: Duration) -> Duration {
    ESTIMATE_TIMEOUT
        .max(executed.saturating_mul(ESTIMATE_EXECUTIONS))
        .min(ESTIMATE_TIMEOUT_MAX)
}

/// How long a first execution that began at `started` took, for `estimate_timeout`:
/// none when the node did not answer it (the time is then the transport's timeout).
fn execution_time(first: &Result<Bytes, Failure>, started: Instant) -> Duration {
    match first {
        Err(Failure::Transport(_)) => Duration::ZERO,
        _ => started.elapsed(),
    }
}

const fn hex_literal(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lower-case hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

impl JsonRpcChain {
    /// Connects to `url` (e.g. `http://127.0.0.1:8545`), with `funder_secret` the key of a
    /// funded account: it sends [`DevChain::fund`]'s transfers and is an account itself.
    pub fn connect(url: impl Into<String>, funder_secret: [u8; 32]) -> Result<Self, ChainError> {
        let mut chain = Self::read_only(url)?;
        chain.funder = chain.add_account(funder_secret)?;
        Ok(chain)
    }

    /// Connects to `url` without any key: for reading (calls, blocks, logs); a
    /// transaction fails for want of a key until [`DevChain::add_account`] adds one.
    pub fn read_only(url: impl Into<String>) -> Result<Self, ChainError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut chain = JsonRpcChain {
            url: url.into(),
            agent,
            chain_id: 0,
            gas_limit: TX_GAS_LIMIT,
            keys: HashMap::new(),
            funder: Address::ZERO,
            next_id: 1,
            receipt_timeout: DEFAULT_RECEIPT_TIMEOUT,
            confirmations: 1,
            gas_seen: HashMap::new(),
            hinted: HINTED.to_vec(),
            must_estimate: Default::default(),
            response_limit: DEFAULT_RESPONSE_LIMIT,
            max_fee_cap: U256::from(DEFAULT_MAX_FEE_PER_GAS),
        };
        chain.chain_id = chain.quantity("eth_chainId", json!([]))?;
        let block = chain.rpc("eth_getBlockByNumber", json!(["latest", false]))?;
        if let Some(limit) = block.get("gasLimit").and_then(quantity_of) {
            // revm's per-transaction cap, or less if the node's blocks are smaller
            chain.gas_limit = chain.gas_limit.min(limit);
        }
        Ok(chain)
    }

    /// Waits until a node answers `eth_chainId` at `url`, for at most `timeout`.
    pub fn wait_until_ready(url: &str, timeout: Duration) -> Result<(), ChainError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        let start = Instant::now();
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
        loop {
            let answer = agent
                .post(url)
                .send_json(&request)
                .map_err(|e| e.to_string())
                .and_then(|mut r| r.body_mut().read_json::<Value>().map_err(|e| e.to_string()));
            match answer {
                Ok(v) if v.get("result").is_some() => return Ok(()),
                Ok(v) => return Err(backend(format!("{url} answered {v}"))),
                Err(e) if start.elapsed() > timeout => {
                    return Err(backend(format!("{url} not ready after {timeout:?}: {e}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The native coin `address` holds at the latest block, in wei.
    fn balance(&mut self, address: Address) -> Result<U256, ChainError> {
        let balance = self.rpc("eth_getBalance", json!([address, "latest"]))?;
        balance
            .as_str()
            .and_then(|s| U256::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| backend(format!("eth_getBalance: {balance}")))
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The account that funds others.
    pub fn funder(&self) -> Address {
        self.funder
    }

    /// The gas limit every transaction is sent with.
    pub fn gas_limit(&self) -> u64 {
        self.gas_limit
    }

    /// One JSON-RPC request.
    fn request(&mut self, method: &str, params: Value) -> Result<Value, Failure> {
        self.request_within(method, params, None)
    }

    /// One JSON-RPC request, given up (a transport failure) after `timeout` if set,
    /// else after the agent's two minutes.
    fn request_within(
        &mut self,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut request = self.agent.post(&self.url);
        if timeout.is_some() {
            request = request.config().timeout_global(timeout).build();
        }
        let mut response = request
            .send_json(&body)
            .map_err(|e| Failure::Transport(format!("{method} to {}: {e}", self.url)))?;
        let status = response.status();
        let v: Value = response
            .body_mut()
            .with_config()
            .limit(self.response_limit)
            .read_json()
            .map_err(|e| Failure::Transport(format!("{method}: HTTP {status}, {e}")))?;
        if let Some(err) = v.get("error") {
            return Err(Failure::Rpc(RpcError {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                data: err.get("data").cloned(),
            }));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| Failure::Transport(format!("{method}: no result in {v}")))
    }

    /// A request whose error is a [`ChainError`] (a revert with no gas used).
    pub fn rpc(&mut self, method: &str, params: Value) -> Result<Value, ChainError> {
        self.request(method, params)
            .map_err(|e| e.into_chain_error(0))
    }

    fn quantity(&mut self, method: &str, params: Value) -> Result<u64, ChainError> {
        let v = self.rpc(method, params)?;
        quantity_of(&v).ok_or_else(|| backend(format!("{method}: not a quantity: {v}")))
    }

    /// How long to wait with no new receipt before giving up on the transactions still
    /// without one (default [`DEFAULT_RECEIPT_TIMEOUT`]): give a chain with slow or congested blocks more.
    /// Giving up does not say a transaction failed, only that it is not known to have
    /// landed (the error says so).
    pub fn set_receipt_timeout(&mut self, timeout: Duration) {
        self.receipt_timeout = timeout;
    }

    /// How many blocks must hold a transaction, its own included, before it is
    /// reported as landed (default 1: its own block; 0 counts as 1). On a chain whose
    /// recent blocks can be replaced (a reorg), a transaction reported from a block
    /// that is then dropped would be reported on chain though it is not: with a depth
    /// of `n`, a transaction is reported once `n - 1` blocks are on top of its block,
    /// its receipt read again and its block the chain's block at that height. One
    /// whose block was dropped is sent again as it was signed (same nonce, same hash)
    /// and waited for anew: it lands at most once, and is reported as landed only from
    /// a block that deep. On a node that mines only when a transaction arrives, a depth
    /// above 1 waits for the receipt timeout and fails.
    pub fn set_confirmations(&mut self, blocks: u64) {
        self.confirmations = blocks.max(1);
    }

    /// The functions (selectors) whose transactions are sent with the gas a landed one of
    /// the same shape used, plus margin, instead of a new estimate: functions whose gas
    /// does not depend on the state beyond a fresh storage slot or two per item
    /// ([`HINTED`], the market's registrations, bids, settlements and balance updates, by
    /// default).
    pub fn set_gas_hinted(&mut self, selectors: &[[u8; 4]]) {
        self.hinted = selectors.to_vec();
        self.gas_seen.retain(|k, _| selectors.contains(&k.1));
    }

    /// The largest response body read, bytes (default [`DEFAULT_RESPONSE_LIMIT`]).
    pub fn set_response_limit(&mut self, bytes: u64) {
        self.response_limit = bytes.max(1);
    }

    /// The most a transaction may pay per gas, in wei (default
    /// [`DEFAULT_MAX_FEE_PER_GAS`]): a transaction that would need more is not sent.
    pub fn set_max_fee(&mut self, wei_per_gas: U256) {
        self.max_fee_cap = wei_per_gas;
    }

    /// What the next transaction offers per gas. A chain whose latest block has a base
    /// fee (London and later) gets an EIP-1559 transaction: a tip of
    /// `eth_maxPriorityFeePerGas` (1 gwei if the node has no such method) and a fee cap of
    /// twice the base fee plus the tip, so that it stays includable while the base fee
    /// doubles (six full blocks in a row); both at most the configured cap. A chain
    /// without a base fee gets a legacy transaction at `eth_gasPrice`. A base fee or gas
    /// price above the cap is an error, not a transaction stuck in the pool.
    fn fees(&mut self) -> Result<Fees, ChainError> {
        self.fees_and_base().map(|(fees, _)| fees)
    }

    /// [`JsonRpcChain::fees`], and the latest block's base fee (`None` on a chain
    /// without one).
    fn fees_and_base(&mut self) -> Result<(Fees, Option<U256>), ChainError> {
        let wei = |v: &Value, what: &str| {
            v.as_str()
                .and_then(|s| U256::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                .ok_or_else(|| backend(format!("{what}: not a quantity: {v}")))
        };
        let cap = self.max_fee_cap;
        let block = self.rpc("eth_getBlockByNumber", json!(["latest", false]))?;
        match block.get("baseFeePerGas").filter(|v| !v.is_null()) {
            Some(base) => {
                let base = wei(base, "baseFeePerGas")?;
                if base > cap {
                    return Err(backend(format!(
                        "the base fee {base} wei/gas is above the fee cap {cap}"
                    )));
                }
                let tip = match self.rpc("eth_maxPriorityFeePerGas", json!([])) {
                    Ok(v) => wei(&v, "eth_maxPriorityFeePerGas")?,
                    Err(_) => U256::from(1_000_000_000u64),
                };
                let max_fee = (base * U256::from(2) + tip).min(cap);
                Ok((
                    Fees::Eip1559 {
                        max_fee,
                        tip: tip.min(max_fee),
                    },
                    Some(base),
                ))
            }
            None => {
                let v = self.rpc("eth_gasPrice", json!([]))?;
                let gas_price = wei(&v, "eth_gasPrice")?;
                if gas_price > cap {
                    return Err(backend(format!(
                        "the gas price {gas_price} wei/gas is above the fee cap {cap}"
                    )));
                }
                Ok((Fees::Legacy { gas_price }, None))
            }
        }
    }

    /// The logs of `address` in blocks `from..=to`, appended to `out` (see
    /// [`Chain::logs`]).
    fn logs_in(
        &mut self,
        address: Address,
        from: u64,
        to: u64,
        out: &mut Vec<ChainLog>,
    ) -> Result<(), ChainError> {
        if from > to {
            return Ok(());
        }
        let query = json!({
            "address": address,
            "fromBlock": format!("{from:#x}"),
            "toBlock": format!("{to:#x}"),
        });
        let v = match self.rpc("eth_getLogs", json!([query])) {
            Ok(v) => v,
            Err(_) if from < to => {
                let mid = from + (to - from) / 2;
                self.logs_in(address, from, mid, out)?;
                return self.logs_in(address, mid + 1, to, out);
            }
            Err(e) => return Err(e),
        };
        let logs = v
            .as_array()
            .ok_or_else(|| backend(format!("eth_getLogs: not a list: {v}")))?
            .iter()
            .filter(|l| l.get("removed").and_then(Value::as_bool) != Some(true))
            .map(chain_log_of)
            .collect::<Result<Vec<_>, _>>()?;
        out.extend(logs);
        Ok(())
    }

    /// The transaction object of `eth_call` and `eth_estimateGas`, with the cap as gas.
    fn call_object(&self, from: Address, to: Option<Address>, value: U256, data: &Bytes) -> Value {
        let mut tx = json!({
            "from": from,
            "value": value,
            "data": data,
            "gas": format!("{:#x}", self.gas_limit),
        });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        tx
    }

    fn call_at(
        &mut self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: &Bytes,
        block: Value,
    ) -> Result<Bytes, Failure> {
        let tx = self.call_object(from, to, value, data);
        let v = self.request("eth_call", json!([tx, block]))?;
        v.as_str()
            .and_then(hex_bytes)
            .ok_or_else(|| Failure::Transport(format!("eth_call: not bytes: {v}")))
    }

    /// The gas limit a transaction is sent with: the node's `eth_estimateGas` on the
    /// pending state plus a quarter and 25,000 (state can change before it is mined:
    /// a slot written first by another transaction costs less, one cleared costs more),
    /// at most the per-transaction cap. When a transaction of the same [`GasShape`] has
    /// landed or been estimated, the most gas one used (or was estimated to use) takes
    /// the estimate's place, margin included:
    /// hardhat's EDR and ganache estimate by a binary search over the gas limit, a dozen
    /// executions or more (about 1.7 s for a batch of 32 bids on EDR, 7.5–10.8 s for a
    /// settlement on ganache), which the slot benchmark measured as the relay's pace.
    /// One that reverts on chain anyway (out of gas, or its state moved) clears its
    /// shape's entry, so the next is estimated. A transaction sent with the cap (16.7 M) on a
    /// chain of 30 M blocks leaves room for no second one in its block: every
    /// transaction would take a block of its own. A node that cannot estimate (the
    /// estimate reverts: the transaction depends on one not mined yet) gets the cap.
    ///
    /// An estimate that does not come within `estimate_timeout(executed)` is asked
    /// again, at most [`ESTIMATE_ATTEMPTS`] times: ganache 7.9 estimates on its live
    /// state and, when a block is mined meanwhile (interval mining, transactions in its
    /// pool), sometimes never answers (seen about once in a hundred estimates while
    /// blocks of transactions were mined every 2 s). `executed` is how long the
    /// transaction's first execution (`eth_call`) took on this node.
    fn gas_for(
        &mut self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: &Bytes,
        executed: Duration,
    ) -> u64 {
        let shape = gas_shape(&self.hinted, to, data);
        if let Some(seen) = shape
            .filter(|k| !self.must_estimate.contains(k))
            .and_then(|k| self.gas_seen.get(&k))
        {
            return seen
                .saturating_add(seen / 4)
                .saturating_add(25_000)
                .min(self.gas_limit);
        }
        let tx = self.call_object(from, to, value, data);
        let timeout = estimate_timeout(executed);
        for _ in 0..ESTIMATE_ATTEMPTS {
            let estimate = self
                .request_within("eth_estimateGas", json!([tx, "pending"]), Some(timeout))
                .map(|v| quantity_of(&v));
            match estimate {
                Ok(Some(estimate)) => {
                    // the next of its shape in the same call (a segment of deposits)
                    // needs no estimate of its own either
                    if let Some(shape) = shape {
                        self.must_estimate.remove(&shape);
                        let seen = self.gas_seen.entry(shape).or_default();
                        *seen = (*seen).max(estimate);
                    }
                    return estimate
                        .saturating_add(estimate / 4)
                        .saturating_add(25_000)
                        .min(self.gas_limit);
                }
                // no answer in time (or none at all): ask again
                Err(Failure::Transport(_)) => {}
                Ok(None) | Err(Failure::Rpc(_)) => break,
            }
        }
        self.gas_limit
    }

    fn key(&self, from: Address) -> Result<&SigningKey, ChainError> {
        self.keys.get(&from).ok_or_else(|| {
            backend(format!(
                "no key for {from}: add it with DevChain::add_account"
            ))
        })
    }

    fn send(
        &mut self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Bytes,
    ) -> Result<Receipt, ChainError> {
        let tx = Outgoing {
            from,
            to,
            value,
            data,
        };
        let started = Instant::now();
        let first = self.first_execution(&tx)?;
        let executed = execution_time(&first, started);
        let gas_limit = self.gas_for(from, to, value, &tx.data, executed);
        let nonce = self.quantity("eth_getTransactionCount", json!([from, "pending"]))?;
        let fees = self.fees()?;
        let raw = self.signed(&tx, nonce, gas_limit, fees)?;
        let (_, send_error) = match self.send_raw(raw.clone()) {
            Ok(sent) => sent,
            Err((hash, e)) => {
                return Err(backend(format!(
                    "sending {hash} failed ({e}): it may still be mined, so read the state \
                     it changes before sending it again"
                )))
            }
        };
        let mut signed = Signed::new(&tx, nonce, gas_limit, fees, raw);
        let after_error = send_error.is_some();
        let receipt = match self.wait_for_receipt(&mut signed, after_error)? {
            Some(receipt) => Some(self.confirmed(&mut signed, receipt)?),
            None => None,
        };
        self.outcome(&tx, gas_limit, first, send_error, receipt)
    }

    /// What a transaction does on the state it will run on (`eth_call` on the pending
    /// state). One that reverts or halts there is not sent: its revert is the answer
    /// (`Err`), and no gas, nonce or block is spent on it (PROTOCOL §9). Otherwise its
    /// output, or the node's failure to say, which does not stop the transaction.
    fn first_execution(&mut self, tx: &Outgoing) -> Result<Result<Bytes, Failure>, ChainError> {
        let first = self.call_at(tx.from, tx.to, tx.value, &tx.data, json!("pending"));
        if let Err(Failure::Rpc(e)) = &first {
            let simulated = e.clone().into_chain_error(0);
            if matches!(
                simulated,
                ChainError::Reverted { .. } | ChainError::Halted { .. }
            ) {
                return Err(simulated);
            }
        }
        Ok(first)
    }

    /// `tx` signed with its sender's key: EIP-1559 or legacy, as `fees` says.
    fn signed(
        &self,
        tx: &Outgoing,
        nonce: u64,
        gas_limit: u64,
        fees: Fees,
    ) -> Result<Vec<u8>, ChainError> {
        let key = self.key(tx.from)?;
        match fees {
            Fees::Eip1559 { max_fee, tip } => Eip1559Tx {
                chain_id: self.chain_id,
                nonce,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: max_fee,
                gas_limit,
                to: tx.to,
                value: tx.value,
                data: tx.data.clone(),
            }
            .sign(key),
            Fees::Legacy { gas_price } => LegacyTx {
                nonce,
                gas_price,
                gas_limit,
                to: tx.to,
                value: tx.value,
                data: tx.data.clone(),
                chain_id: self.chain_id,
            }
            .sign(key),
        }
    }

    /// Hands a signed transaction to the node: its hash, computed here, and the node's
    /// error if it answered with one (hardhat mines a reverted transaction and answers
    /// with an error all the same: the receipt, looked up by the hash, is what counts).
    /// `Err` when the request itself failed: whether the node took the transaction is
    /// then unknown.
    fn send_raw(&mut self, raw: Vec<u8>) -> Result<(B256, Option<RpcError>), (B256, String)> {
        let hash = keccak256(&raw);
        match self.request("eth_sendRawTransaction", json!([Bytes::from(raw)])) {
            Ok(_) => Ok((hash, None)),
            Err(Failure::Transport(e)) => Err((hash, e)),
            Err(Failure::Rpc(e)) => Ok((hash, Some(e))),
        }
    }

    /// What a sent transaction came to: its receipt (`None`: not mined, so the node's
    /// error is the answer), its first execution's output and the node's answer to the
    /// send. The receipt decides whether it succeeded; the return data and, on a
    /// revert, the revert payload come from the first execution or a replay, because
    /// receipts carry neither.
    fn outcome(
        &mut self,
        tx: &Outgoing,
        gas_limit: u64,
        first: Result<Bytes, Failure>,
        send_error: Option<RpcError>,
        receipt: Option<Value>,
    ) -> Result<Receipt, ChainError> {
        let Outgoing {
            from,
            to,
            value,
            ref data,
        } = *tx;
        let Some(receipt) = receipt else {
            // not mined: the node refused it (nonce, funds, …) or it reverted in a way
            // the node reports without mining it
            return Err(match send_error {
                Some(e) => e.into_chain_error(0),
                None => backend("the transaction was neither mined nor refused"),
            });
        };
        let gas_used = receipt
            .get("gasUsed")
            .and_then(quantity_of)
            .ok_or_else(|| backend(format!("receipt without gasUsed: {receipt}")))?;
        let success = receipt.get("status").and_then(quantity_of) == Some(1);
        let shape = gas_shape(&self.hinted, to, data);
        if let Some(shape) = shape {
            if !success {
                self.gas_seen.remove(&shape);
            } else if !self.must_estimate.contains(&shape) {
                let seen = self.gas_seen.entry(shape).or_default();
                *seen = (*seen).max(gas_used);
            }
        }
        let block = receipt
            .get("blockNumber")
            .and_then(quantity_of)
            .ok_or_else(|| backend(format!("receipt without blockNumber: {receipt}")))?;
        if success {
            let output = match first {
                Ok(out) => out,
                // it reverted on the pending state but not in its block: replay
                Err(_) => self
                    .call_at(from, to, value, data, json!(format!("{:#x}", block - 1)))
                    .unwrap_or_default(),
            };
            let logs = receipt
                .get("logs")
                .and_then(Value::as_array)
                .map(|ls| ls.iter().map(log_of).collect::<Result<Vec<_>, _>>())
                .transpose()?
                .unwrap_or_default();
            let contract_address = receipt
                .get("contractAddress")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            return Ok(Receipt {
                gas_used,
                logs,
                output: if to.is_none() { Bytes::new() } else { output },
                contract_address,
                block,
            });
        }
        // All the gas it was sent with used, and it succeeds replayed with more: it ran
        // out of gas (the gas of a landed transaction of its shape, or an estimate, fell
        // short), the node's failure and not the contract's refusal, whatever the node
        // answered (hardhat: a revert without data). Sent again, it is estimated (its
        // shape's entry is gone).
        // (replayed on the parent block, or after its own block for one that depends
        // on a transaction before it in the block)
        if gas_used >= gas_limit
            && [block - 1, block].into_iter().any(|at| {
                self.call_at(from, to, value, data, json!(format!("{at:#x}")))
                    .is_ok()
            })
        {
            if let Some(shape) = shape {
                self.must_estimate.insert(shape);
            }
            return Err(backend(format!(
                "ran out of gas: it used all {gas_limit} it was sent with, and succeeds when \
                 replayed with more; send it again"
            )));
        }
        // Reverted or halted: the revert data from hardhat's answer, else from the first
        // execution, else from a replay on the parent block, else on the state after its
        // own block (a transaction before it in the same block, sent with it by
        // `transact_many`, changed what the parent block's state says).
        if let Some(e) = send_error.filter(|e| e.revert_data().is_some()) {
            return Err(e.into_chain_error(gas_used));
        }
        if let Err(Failure::Rpc(e)) = first {
            return Err(e.into_chain_error(gas_used));
        }
        for at in [block - 1, block] {
            if let Err(Failure::Rpc(e)) =
                self.call_at(from, to, value, data, json!(format!("{at:#x}")))
            {
                return Err(e.into_chain_error(gas_used));
            }
        }
        Err(ChainError::Halted {
            reason: "failed in its block, but not when replayed".into(),
            gas_used,
        })
    }

    /// Sends `txs` without waiting between them, then waits for all their receipts;
    /// what each came to, in order ([`Chain::transact_many`]).
    ///
    /// The transactions go in segments. A segment's transactions are each executed
    /// first and their gas estimated, like one of [`JsonRpcChain::transact`], then all
    /// signed and sent at once, then their receipts awaited together: estimating
    /// between sends would race the miner (see `gas_for`) and space the sends out over
    /// many blocks. A transaction that fails its first execution ends the segment
    /// before it when there is one, because it may depend on the segment's
    /// transactions (a deposit after its approve), which the node's pending state need
    /// not show (ganache's does not): it is executed again at the start of the next
    /// segment, once they are mined, and refused (not sent) if it fails then.
    ///
    /// Each sender's nonce is read once (`eth_getTransactionCount` on the pending
    /// state) and counted up here: the node's pending count need not include what
    /// waits in its pool (ganache's does not). Nothing that is refused takes a nonce: a
    /// transaction the node refuses leaves its nonce to its sender's next one, so no
    /// later transaction waits behind a gap. A send whose request failed (the node may
    /// or may not have taken it) stops its sender: its later transactions are reported
    /// as not sent, never sent twice.
    fn send_many(&mut self, txs: Vec<Outgoing>) -> Vec<Result<Receipt, ChainError>> {
        let mut results: Vec<Option<Result<Receipt, ChainError>>> =
            txs.iter().map(|_| None).collect();
        let mut nonces: HashMap<Address, u64> = HashMap::new();
        // senders whose transaction (by its index) may or may not have reached the node
        let mut unknown: HashMap<Address, usize> = HashMap::new();
        let mut next = 0;
        while next < txs.len() {
            // (index, first execution, gas limit) of the segment's transactions
            let mut segment: Vec<(usize, Result<Bytes, Failure>, u64)> = Vec::new();
            while let Some(tx) = txs.get(next) {
                if let Some(j) = unknown.get(&tx.from) {
                    results[next] = Some(Err(not_sent(*j, tx.from)));
                    next += 1;
                    continue;
                }
                let started = Instant::now();
                match self.first_execution(tx) {
                    Ok(first) => {
                        let executed = execution_time(&first, started);
                        let gas = self.gas_for(tx.from, tx.to, tx.value, &tx.data, executed);
                        segment.push((next, first, gas));
                    }
                    Err(refused) if segment.is_empty() => results[next] = Some(Err(refused)),
                    // may depend on the segment: tried again once it is mined
                    Err(_) => break,
                }
                next += 1;
            }
            // Fees read again for each segment: a long call's base fee moves.
            let fees = match self.fees() {
                Ok(f) => f,
                Err(e) => {
                    for (i, _, _) in segment {
                        results[i] = Some(Err(e.copy()));
                    }
                    continue;
                }
            };
            let mut in_flight = Vec::new();
            for (i, first, gas_limit) in segment {
                let tx = &txs[i];
                if let Some(j) = unknown.get(&tx.from) {
                    results[i] = Some(Err(not_sent(*j, tx.from)));
                    continue;
                }
                let nonce = match nonces.get(&tx.from) {
                    Some(&n) => n,
                    None => match self
                        .quantity("eth_getTransactionCount", json!([tx.from, "pending"]))
                    {
                        Ok(n) => n,
                        Err(e) => {
                            results[i] = Some(Err(e));
                            continue;
                        }
                    },
                };
                let raw = match self.signed(tx, nonce, gas_limit, fees) {
                    Ok(raw) => raw,
                    Err(e) => {
                        results[i] = Some(Err(e));
                        continue;
                    }
                };
                match self.send_raw(raw.clone()) {
                    // Refused, unless mined all the same (hardhat's automine): then there
                    // is a receipt at once.
                    Ok((hash, Some(e))) => {
                        let mut signed = Signed::new(tx, nonce, gas_limit, fees, raw.clone());
                        match self
                            .wait_for_receipt(&mut signed, true)
                            .and_then(|r| r.map(|r| self.confirmed(&mut signed, r)).transpose())
                        {
                            Ok(Some(receipt)) => {
                                nonces.insert(tx.from, nonce + 1);
                                results[i] = Some(self.outcome(
                                    tx,
                                    gas_limit,
                                    first,
                                    Some(e),
                                    Some(receipt),
                                ));
                            }
                            Ok(None) => {
                                // not taken: the nonce stays the sender's next
                                nonces.insert(tx.from, nonce);
                                results[i] =
                                    Some(self.outcome(tx, gas_limit, first, Some(e), None));
                            }
                            Err(lookup) => {
                                unknown.insert(tx.from, i);
                                results[i] = Some(Err(backend(format!(
                                "sent {hash}, refused ({}), then not known to have landed: {lookup}",
                                e.message
                            ))));
                            }
                        }
                    }
                    // Sent, or the answer to its send lost (the node may have taken it):
                    // its receipt decides. A lost one stops its sender until then.
                    sent => {
                        let lost = sent.err().map(|(_, e)| e);
                        if lost.is_some() {
                            unknown.insert(tx.from, i);
                        }
                        nonces.insert(tx.from, nonce + 1);
                        in_flight.push(Sent {
                            index: i,
                            signed: Signed::new(tx, nonce, gas_limit, fees, raw),
                            first,
                            send_error: None,
                            lost,
                        });
                    }
                }
            }
            self.await_receipts(&txs, in_flight, &mut results, &mut unknown);
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(backend(
                        "not sent: the call ended before this transaction's turn",
                    ))
                })
            })
            .collect()
    }

    /// Waits for the receipts of the transactions `sent` (of `txs`) and writes what
    /// each came to into `results`; gives up on those still without one when no new
    /// receipt has come for the receipt timeout.
    fn await_receipts(
        &mut self,
        txs: &[Outgoing],
        mut sent: Vec<Sent>,
        results: &mut [Option<Result<Receipt, ChainError>>],
        unknown: &mut HashMap<Address, usize>,
    ) {
        let mut progress = Instant::now();
        let mut checked = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            // Every DROP_CHECK, the head and (below) each sender's nonce count, read once
            // for all its transactions: the ones still without a receipt get one more
            // look (`look_again`) when a block has come since their last.
            let mut head = None;
            if checked.elapsed() > DROP_CHECK {
                checked = Instant::now();
                head = self.quantity("eth_blockNumber", json!([])).ok();
            }
            let mut used: HashMap<Address, Option<u64>> = HashMap::new();
            let mut waiting = Vec::new();
            for mut s in sent {
                // a failed lookup is looked up again, until the timeout
                match self.receipt_of(&mut s.signed) {
                    Ok(r) if !r.is_null() => {
                        let tx = &txs[s.index];
                        if s.lost.is_some() && unknown.get(&tx.from) == Some(&s.index) {
                            // Its send's answer was lost, but it is mined: its sender
                            // goes on.
                            unknown.remove(&tx.from);
                        }
                        results[s.index] = Some(match self.confirmed(&mut s.signed, r) {
                            Ok(r) => {
                                self.outcome(tx, s.signed.gas_limit, s.first, s.send_error, Some(r))
                            }
                            Err(e) => {
                                // not known to have landed: its sender stops here
                                unknown.entry(tx.from).or_insert(s.index);
                                Err(e)
                            }
                        });
                        progress = Instant::now();
                    }
                    _ => {
                        let looked = match head {
                            Some(head) if head > s.signed.looked_at => {
                                let from = s.signed.from;
                                let count = match used.get(&from) {
                                    Some(&count) => count,
                                    None => {
                                        let count = self
                                            .quantity(
                                                "eth_getTransactionCount",
                                                json!([from, "latest"]),
                                            )
                                            .ok();
                                        used.insert(from, count);
                                        count
                                    }
                                };
                                self.look_again(&mut s.signed, head, count)
                            }
                            _ => Ok(()),
                        };
                        match looked {
                            Ok(()) => waiting.push(s),
                            Err(e) => {
                                let tx = &txs[s.index];
                                unknown.entry(tx.from).or_insert(s.index);
                                results[s.index] = Some(Err(e));
                            }
                        }
                    }
                }
            }
            if waiting.is_empty() {
                return;
            }
            if progress.elapsed() > self.receipt_timeout {
                for s in waiting {
                    // It may still be mined: nothing more of its sender is sent in this
                    // call (a later nonce would wait behind it).
                    let tx = &txs[s.index];
                    unknown.entry(tx.from).or_insert(s.index);
                    let sent = match &s.lost {
                        Some(e) => format!("the node's answer to its send was lost ({e})"),
                        None => "the node took it".to_owned(),
                    };
                    results[s.index] = Some(Err(backend(format!(
                        "no receipt for transaction {} after {:?} ({sent}): it may still be \
                         mined, so read the state it changes before sending it again",
                        s.signed.hash, self.receipt_timeout
                    ))));
                }
                return;
            }
            sent = waiting;
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// `receipt` (of `signed`) once [`JsonRpcChain::set_confirmations`]'s depth of
    /// blocks holds it: when the head is that deep, its receipt is read again and must
    /// name the block the chain now has at that height (the receipt index and the
    /// chain answered separately, so one lagging behind a reorg is caught). A receipt
    /// gone (its block dropped) is waited for anew, the transaction sent again as
    /// signed (`look_again`); one in another block is counted from there. A failed
    /// request is asked again. Fails when the receipt stays missing for the receipt
    /// timeout, when no new block comes for as long, or when the transaction is found
    /// not landed (`look_again`).
    fn confirmed(&mut self, signed: &mut Signed, receipt: Value) -> Result<Value, ChainError> {
        if self.confirmations <= 1 {
            return Ok(receipt);
        }
        let mut receipt = receipt;
        // since the head last moved, or since the receipt went missing
        let mut progress = Instant::now();
        let mut head_seen = 0;
        let mut missing = false;
        let mut first = true;
        loop {
            if !first {
                std::thread::sleep(Duration::from_millis(200));
            }
            first = false;
            if progress.elapsed() > self.receipt_timeout {
                let why = if missing {
                    "its block was dropped and it has not been mined again"
                } else {
                    "no new block came (does the node mine blocks on its own?)"
                };
                return Err(backend(format!(
                    "transaction {} is not known to have landed with {} confirmations \
                     after {:?}: {why}; read the state it changes before sending it again",
                    signed.hash, self.confirmations, self.receipt_timeout
                )));
            }
            let (Some(block), Some(block_hash)) = (
                receipt.get("blockNumber").and_then(quantity_of),
                receipt
                    .get("blockHash")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ) else {
                return Err(backend(format!("receipt without its block: {receipt}")));
            };
            let Ok(head) = self.quantity("eth_blockNumber", json!([])) else {
                continue;
            };
            if head > head_seen {
                head_seen = head;
                if !missing {
                    progress = Instant::now();
                }
            }
            if head < block + self.confirmations - 1 {
                continue;
            }
            let Ok(again) = self.receipt_of(signed) else {
                continue;
            };
            if again.is_null() {
                // its block is no longer the chain's
                if !missing {
                    missing = true;
                    progress = Instant::now();
                }
                let used = self
                    .quantity("eth_getTransactionCount", json!([signed.from, "latest"]))
                    .ok();
                self.look_again(signed, head, used)?;
                continue;
            }
            if missing {
                missing = false;
                progress = Instant::now();
            }
            let again_block = again.get("blockNumber").and_then(quantity_of);
            let again_hash = again.get("blockHash").and_then(Value::as_str);
            if again_block == Some(block) && again_hash == Some(block_hash.as_str()) {
                let Ok(canonical) = self.rpc(
                    "eth_getBlockByNumber",
                    json!([format!("{block:#x}"), false]),
                ) else {
                    continue;
                };
                if canonical.get("hash").and_then(Value::as_str) == Some(block_hash.as_str()) {
                    return Ok(again);
                }
                // the receipt index still names a block the chain no longer has
                continue;
            }
            // mined again in another block: counted from there
            receipt = again;
        }
    }

    /// One more look at `signed`, still without a receipt, made at most once per new
    /// block (`head`; `used` is its sender's nonce count at the latest block, `None`
    /// when it could not be read). Not mined yet (its nonce unused): it is sent again
    /// as signed, because a reorg may have dropped the block that held it or the
    /// node's pool let it go, and nodes do not say so reliably (ganache answers
    /// `eth_getTransactionByHash` for a transaction a revert dropped as if it were
    /// pending); the same signed transaction lands at most once, and a node that has
    /// it answers with its hash or "already known". Its nonce used and still no
    /// receipt in two looks at least a block apart: another transaction took the
    /// nonce, so it is reported as not landed (one look alone could be a receipt index
    /// lagging behind the chain). A failed request decides nothing.
    fn look_again(
        &mut self,
        signed: &mut Signed,
        head: u64,
        used: Option<u64>,
    ) -> Result<(), ChainError> {
        if head <= signed.looked_at {
            return Ok(());
        }
        signed.looked_at = head;
        let Some(used) = used else {
            return Ok(());
        };
        if used <= signed.nonce {
            signed.taken = 0;
            // its blocks as its sender's next are counted from the first look that
            // finds it next (one queued behind another is not stuck)
            if signed.sent_at == 0 || used < signed.nonce {
                signed.sent_at = head;
            }
            // Its sender's next, and blocks go by without it: its fee is what holds it.
            if used == signed.nonce
                && head >= signed.sent_at + STUCK_BLOCKS
                && self.replace(signed, head)
            {
                return Ok(());
            }
            // the answer decides nothing: the receipt does
            let _answer = self.request(
                "eth_sendRawTransaction",
                json!([Bytes::copy_from_slice(&signed.raw)]),
            );
            return Ok(());
        }
        match self.receipt_of(signed) {
            Ok(r) if r.is_null() => {
                signed.taken += 1;
                if signed.taken < 2 {
                    return Ok(());
                }
                Err(backend(format!(
                    "transaction {} (nonce {} of {}) is not known to have landed: its \
                     sender's nonce has moved past it, and no receipt for it came in two \
                     looks a block apart (another transaction took the nonce, or a reorg \
                     dropped it and the node let it go); read the state it changes before \
                     sending it again",
                    signed.hash, signed.nonce, signed.from
                )))
            }
            // mined: the next poll reads its receipt
            Ok(_) => {
                signed.taken = 0;
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    /// Polls for the receipt of `signed` (of any of its versions); after a send error
    /// only briefly. Otherwise every [`DROP_CHECK`] it gets one more look (`look_again`:
    /// sent again if not mined, replaced with a higher fee if stuck, reported not landed
    /// if its nonce went to another transaction).
    fn wait_for_receipt(
        &mut self,
        signed: &mut Signed,
        after_error: bool,
    ) -> Result<Option<Value>, ChainError> {
        let start = Instant::now();
        let mut checked = Instant::now();
        let limit = if after_error {
            Duration::from_millis(500)
        } else {
            self.receipt_timeout
        };
        let mut pause = Duration::from_millis(2);
        loop {
            let r = self.receipt_of(signed)?;
            if !r.is_null() {
                return Ok(Some(r));
            }
            if !after_error && checked.elapsed() > DROP_CHECK {
                checked = Instant::now();
                if let Ok(head) = self.quantity("eth_blockNumber", json!([])) {
                    let used = self
                        .quantity("eth_getTransactionCount", json!([signed.from, "latest"]))
                        .ok();
                    self.look_again(signed, head, used)?;
                }
            }
            if start.elapsed() > limit {
                return if after_error {
                    Ok(None)
                } else {
                    Err(backend(format!(
                        "no receipt for {} after {limit:?}",
                        signed.hash
                    )))
                };
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// The receipt of whichever version of `signed` landed, `null` while none has;
    /// `signed.hash` and `signed.raw` then name the landed one.
    fn receipt_of(&mut self, signed: &mut Signed) -> Result<Value, ChainError> {
        let r = self.rpc("eth_getTransactionReceipt", json!([signed.hash]))?;
        if !r.is_null() {
            return Ok(r);
        }
        for i in 0..signed.replaced.len() {
            let earlier = signed.replaced[i].0;
            // a failed look at an earlier version decides nothing: the next poll looks again
            let Ok(r) = self.rpc("eth_getTransactionReceipt", json!([earlier])) else {
                continue;
            };
            if !r.is_null() {
                let (hash, raw) = std::mem::take(&mut signed.replaced[i]);
                signed.replaced[i] = (
                    std::mem::replace(&mut signed.hash, hash),
                    std::mem::replace(&mut signed.raw, raw),
                );
                return Ok(r);
            }
        }
        Ok(Value::Null)
    }

    /// Signs `signed` again with the same nonce and a higher fee and sends it: its fee
    /// cap and tip each raised by an eighth, to at least what the chain asks now
    /// (`fees`), at most the fee cap ([`JsonRpcChain::set_max_fee`]). Whether a new
    /// version went out. It does not when the cap leaves no room for the 10 % a node
    /// asks of a replacement, when the base fee is above the cap, or when the node
    /// refuses the new version (the old one was mined meanwhile: its receipt decides);
    /// the first two are said once in the log, and the old version is kept sent. Both
    /// versions are then watched for a receipt (`receipt_of`): they share a nonce, so at
    /// most one lands.
    fn replace(&mut self, signed: &mut Signed, head: u64) -> bool {
        let cap = self.max_fee_cap;
        let (now, base) = match self.fees_and_base() {
            Ok(now) => now,
            Err(e) => {
                if !signed.held {
                    signed.held = true;
                    tracing::warn!(tx = %signed.hash, "stuck, and not replaced: {e}");
                }
                return false;
            }
        };
        // Only a fee the chain has overtaken is raised: a fee cap under the base fee, a
        // tip under what the node suggests, a gas price under the node's. Otherwise the
        // fee is not what holds it (the node may not have passed it on): it is sent again
        // as it is, and the fee does not creep up block after block.
        let overtaken = match (signed.fees, now, base) {
            (Fees::Eip1559 { max_fee, tip }, Fees::Eip1559 { tip: t, .. }, Some(base)) => {
                max_fee < base || tip < t
            }
            (Fees::Legacy { gas_price }, Fees::Legacy { gas_price: g }, _) => gas_price < g,
            _ => false,
        };
        if !overtaken {
            return false;
        }
        let higher = match (signed.fees, now) {
            (Fees::Eip1559 { max_fee, tip }, Fees::Eip1559 { max_fee: m, tip: t }) => {
                let new_max = raised(max_fee).max(m).min(cap);
                let new_tip = raised(tip).max(t).min(new_max);
                (new_max >= least_replacement(max_fee) && new_tip >= least_replacement(tip))
                    .then_some(Fees::Eip1559 {
                        max_fee: new_max,
                        tip: new_tip,
                    })
            }
            (Fees::Legacy { gas_price }, Fees::Legacy { gas_price: g }) => {
                let new_price = raised(gas_price).max(g).min(cap);
                (new_price >= least_replacement(gas_price)).then_some(Fees::Legacy {
                    gas_price: new_price,
                })
            }
            // the chain changed its fee rules under it (not `overtaken`)
            _ => return false,
        };
        let Some(higher) = higher else {
            if !signed.held {
                signed.held = true;
                tracing::warn!(
                    tx = %signed.hash,
                    cap = %cap,
                    "stuck for {STUCK_BLOCKS} blocks, and the fee cap leaves no room for a \
                     replacement: it waits for the base fee to come down"
                );
            }
            return false;
        };
        let Ok(raw) = self.signed(&signed.tx, signed.nonce, signed.gas_limit, higher) else {
            return false;
        };
        match self.send_raw(raw.clone()) {
            Ok((hash, Some(e))) => {
                // The old version may have been mined meanwhile ("nonce too low"), or the
                // sender cannot pay the higher fee. Watched all the same (a node behind a
                // balancer may have taken it while another answered); the old version is
                // the one sent again.
                tracing::info!(
                    tx = %signed.hash,
                    replacement = %hash,
                    "the replacement was refused: {}",
                    e.message
                );
                signed.replaced.push((hash, raw));
                signed.sent_at = head;
                false
            }
            // taken, or the answer lost (the node may have it): watched either way
            Ok((hash, None)) | Err((hash, _)) => {
                tracing::info!(
                    tx = %signed.hash,
                    replacement = %hash,
                    nonce = signed.nonce,
                    from = %signed.from,
                    "not mined in {STUCK_BLOCKS} blocks: sent again with a higher fee ({} to {})",
                    signed.fees,
                    higher
                );
                let old_hash = std::mem::replace(&mut signed.hash, hash);
                let old_raw = std::mem::replace(&mut signed.raw, raw);
                signed.replaced.push((old_hash, old_raw));
                signed.fees = higher;
                signed.sent_at = head;
                signed.held = false;
                true
            }
        }
    }
}

fn quantity_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn log_of(v: &Value) -> Result<Log, ChainError> {
    let bad = || backend(format!("malformed log: {v}"));
    let address: Address = v
        .get("address")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let topics = v
        .get("topics")
        .and_then(Value::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(|t| t.as_str().and_then(|s| s.parse::<B256>().ok()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    let data = v
        .get("data")
        .and_then(Value::as_str)
        .and_then(hex_bytes)
        .ok_or_else(bad)?;
    Ok(Log::new_unchecked(address, topics, data))
}

fn chain_log_of(v: &Value) -> Result<ChainLog, ChainError> {
    let field = |name: &str| {
        v.get(name)
            .and_then(quantity_of)
            .ok_or_else(|| backend(format!("log without {name}: {v}")))
    };
    Ok(ChainLog {
        block_number: field("blockNumber")?,
        tx_index: field("transactionIndex")?,
        log_index: field("logIndex")?,
        tx_hash: v
            .get("transactionHash")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok()),
        log: log_of(v)?,
    })
}

/// Signs `hash` with `key`: `(r, s, whether R's y is odd)`. k256 signs with low s
/// already; the recovery id then matches it.
fn sign_hash(key: &SigningKey, hash: B256) -> Result<(U256, U256, bool), ChainError> {
    let (sig, recid) = key
        .sign_prehash_recoverable(hash.as_slice())
        .map_err(|e| backend(format!("signing: {e}")))?;
    let bytes = sig.to_bytes();
    Ok((
        U256::from_be_slice(&bytes[..32]),
        U256::from_be_slice(&bytes[32..]),
        recid.is_y_odd(),
    ))
}

/// A transaction to send: its sender, recipient (`None` creates a contract), value and
/// data.
#[derive(Clone)]
struct Outgoing {
    from: Address,
    to: Option<Address>,
    value: U256,
    data: Bytes,
}

/// A transaction of [`JsonRpcChain`]'s `send_many` in flight: its index in the call,
/// hash, first execution and the node's answer to the send.
/// The answer for a transaction not sent because the sender's transaction `j` of the same
/// call may or may not be on its way (a later nonce would wait behind it).
fn not_sent(j: usize, from: Address) -> ChainError {
    backend(format!(
        "not sent: an earlier transaction of this call from {from} (number {j}) may or may \
         not reach the chain; read the state before sending this one again"
    ))
}

struct Sent {
    index: usize,
    /// The signed transaction, sent again if it goes missing.
    signed: Signed,
    first: Result<Bytes, Failure>,
    send_error: Option<RpcError>,
    /// The send request failed (this message): whether the node took it is unknown.
    lost: Option<String>,
}

/// A transaction as signed and sent: sent again as it is if it goes missing, signed
/// again with a higher fee if it is stuck (`replace`).
struct Signed {
    /// The version sent last, or the one that landed (`receipt_of`).
    hash: B256,
    raw: Vec<u8>,
    /// Versions of the same nonce sent before (`replace`), hash and signed bytes: any
    /// one of them may land, and at most one does.
    replaced: Vec<(B256, Vec<u8>)>,
    from: Address,
    nonce: u64,
    /// What is signed, to sign it again with another fee.
    tx: Outgoing,
    gas_limit: u64,
    fees: Fees,
    /// The head at the first look after this version was sent (0: not looked at yet).
    sent_at: u64,
    /// The head at its last look (`look_again`).
    looked_at: u64,
    /// Looks in a row that found its nonce used and no receipt for it.
    taken: u32,
    /// It could not be replaced (the fee cap, or the node's fees not readable): said
    /// once in the log.
    held: bool,
}

impl Signed {
    fn new(tx: &Outgoing, nonce: u64, gas_limit: u64, fees: Fees, raw: Vec<u8>) -> Self {
        Signed {
            hash: keccak256(&raw),
            raw,
            replaced: Vec::new(),
            from: tx.from,
            nonce,
            tx: tx.clone(),
            gas_limit,
            fees,
            sent_at: 0,
            looked_at: 0,
            taken: 0,
            held: false,
        }
    }
}

/// How many blocks a transaction may wait unmined as its sender's next nonce before it
/// is signed again with a higher fee (`JsonRpcChain::replace`): its fee cap is below
/// the base fee, or its tip below what the blocks' other transactions offer.
pub const STUCK_BLOCKS: u64 = 3;

/// A fee raised for a replacement: by an eighth, and at least by 1 wei.
fn raised(fee: U256) -> U256 {
    fee + fee / U256::from(8) + U256::from(1)
}

/// The least fee a node takes as a replacement of one at `fee`: 10 % more (geth's and
/// hardhat's price bump, on the fee cap and the tip alike).
fn least_replacement(fee: U256) -> U256 {
    fee + fee / U256::from(10)
}

/// What a transaction offers per gas ([`JsonRpcChain`]'s `fees`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fees {
    /// EIP-1559: the fee cap and the tip, in wei per gas.
    Eip1559 { max_fee: U256, tip: U256 },
    /// A legacy gas price.
    Legacy { gas_price: U256 },
}

impl std::fmt::Display for Fees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fees::Eip1559 { max_fee, tip } => {
                write!(f, "fee cap {max_fee} wei/gas, tip {tip}")
            }
            Fees::Legacy { gas_price } => write!(f, "gas price {gas_price} wei/gas"),
        }
    }
}

/// An EIP-1559 (type 2) transaction with an empty access list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eip1559Tx {
    /// The chain id.
    pub chain_id: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// The tip per gas, in wei.
    pub max_priority_fee_per_gas: U256,
    /// The most paid per gas (base fee and tip), in wei.
    pub max_fee_per_gas: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Value sent, in wei.
    pub value: U256,
    /// Calldata or init code.
    pub data: Bytes,
}

impl Eip1559Tx {
    /// `0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value,
    /// data, accessList, …tail])`, the access list empty.
    fn encode(&self, tail: &[&dyn Encodable]) -> Vec<u8> {
        let to: &[u8] = match &self.to {
            Some(a) => a.as_slice(),
            None => &[],
        };
        let fields: [&dyn Encodable; 8] = [
            &self.chain_id,
            &self.nonce,
            &self.max_priority_fee_per_gas,
            &self.max_fee_per_gas,
            &self.gas_limit,
            &to,
            &self.value,
            &self.data,
        ];
        // the empty access list: an RLP list of no items
        const EMPTY_LIST: u8 = 0xc0;
        let payload_length: usize = fields
            .iter()
            .chain(tail.iter())
            .map(|f| f.length())
            .sum::<usize>()
            + 1;
        let mut out = vec![0x02];
        Header {
            list: true,
            payload_length,
        }
        .encode(&mut out);
        for f in fields.iter() {
            f.encode(&mut out);
        }
        out.push(EMPTY_LIST);
        for f in tail.iter() {
            f.encode(&mut out);
        }
        out
    }

    /// The hash the sender signs: `keccak256(0x02 ‖ rlp([chainId, …, accessList]))`.
    pub fn signing_hash(&self) -> B256 {
        keccak256(self.encode(&[]))
    }

    /// The signed transaction as `eth_sendRawTransaction` takes it:
    /// `0x02 ‖ rlp([chainId, …, accessList, yParity, r, s])`.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, ChainError> {
        let (r, s, y_odd) = sign_hash(key, self.signing_hash())?;
        Ok(self.encode(&[&u8::from(y_odd), &r, &s]))
    }
}

/// An EIP-155 legacy transaction: every EVM chain since 2016 accepts it, and it needs no
/// fee market fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyTx {
    /// The sender's nonce.
    pub nonce: u64,
    /// Price per gas, in wei.
    pub gas_price: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Value sent, in wei.
    pub value: U256,
    /// Calldata or init code.
    pub data: Bytes,
    /// The chain id (EIP-155 replay protection).
    pub chain_id: u64,
}

impl LegacyTx {
    fn encode_fields(&self, out: &mut Vec<u8>, tail: &[&dyn Encodable]) {
        let to: &[u8] = match &self.to {
            Some(a) => a.as_slice(),
            None => &[],
        };
        let fields: [&dyn Encodable; 6] = [
            &self.nonce,
            &self.gas_price,
            &self.gas_limit,
            &to,
            &self.value,
            &self.data,
        ];
        let payload_length: usize = fields.iter().chain(tail.iter()).map(|f| f.length()).sum();
        Header {
            list: true,
            payload_length,
        }
        .encode(out);
        for f in fields.iter().chain(tail.iter()) {
            f.encode(out);
        }
    }

    /// The hash the sender signs: `keccak256(rlp([nonce, gasPrice, gas, to, value, data,
    /// chainId, 0, 0]))`.
    pub fn signing_hash(&self) -> B256 {
        let mut out = Vec::new();
        self.encode_fields(&mut out, &[&self.chain_id, &0u8, &0u8]);
        keccak256(&out)
    }

    /// The signed transaction, RLP-encoded as `eth_sendRawTransaction` takes it.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, ChainError> {
        let (r, s, y_odd) = sign_hash(key, self.signing_hash())?;
        let v = self.chain_id * 2 + 35 + u64::from(y_odd);
        let mut out = Vec::new();
        self.encode_fields(&mut out, &[&v, &r, &s]);
        Ok(out)
    }
}

impl Chain for JsonRpcChain {
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        Ok(self.chain_id)
    }

    fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Receipt, ChainError> {
        self.send(from, None, U256::ZERO, init_code)
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.call_at(from, Some(to), U256::ZERO, &data, json!("latest"))
            .map_err(|e| e.into_chain_error(0))
    }

    fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError> {
        self.send(from, Some(to), U256::ZERO, data)
    }

    /// Every transaction signed and sent at once, then all receipts awaited: many land
    /// in one block (`send_many`).
    fn transact_many(
        &mut self,
        txs: Vec<(Address, Address, Bytes)>,
    ) -> Vec<Result<Receipt, ChainError>> {
        let txs = txs
            .into_iter()
            .map(|(from, to, data)| Outgoing {
                from,
                to: Some(to),
                value: U256::ZERO,
                data,
            })
            .collect();
        self.send_many(txs)
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        self.quantity("eth_blockNumber", json!([]))
    }

    fn chain_time(&mut self) -> Result<u64, ChainError> {
        let block = self.rpc("eth_getBlockByNumber", json!(["latest", false]))?;
        block
            .get("timestamp")
            .and_then(quantity_of)
            .ok_or_else(|| backend(format!("block without timestamp: {block}")))
    }

    fn transaction_input(&mut self, tx_hash: B256) -> Result<Bytes, ChainError> {
        let v = self.rpc("eth_getTransactionByHash", json!([tx_hash]))?;
        v.get("input")
            .and_then(Value::as_str)
            .and_then(hex_bytes)
            .ok_or_else(|| backend(format!("eth_getTransactionByHash {tx_hash}: no input: {v}")))
    }

    fn code_at(&mut self, address: Address) -> Result<Bytes, ChainError> {
        let v = self.rpc("eth_getCode", json!([address, "latest"]))?;
        v.as_str()
            .and_then(hex_bytes)
            .ok_or_else(|| backend(format!("eth_getCode {address}: not bytes: {v}")))
    }

    /// One `eth_getLogs` over the whole range; when the node refuses it or its answer is
    /// too large (a body over the response limit, a node's cap on results or range),
    /// each half of the range is asked for in turn, down to single blocks.
    fn logs(&mut self, filter: &LogFilter) -> Result<Vec<ChainLog>, ChainError> {
        let to = match filter.to_block {
            Some(b) => b,
            None => self.block_number()?,
        };
        let mut logs = Vec::new();
        self.logs_in(filter.address, filter.from_block, to, &mut logs)?;
        logs.sort_by_key(|l| (l.block_number, l.tx_index, l.log_index));
        Ok(logs)
    }
}

impl DevChain for JsonRpcChain {
    fn now(&mut self) -> Result<u64, ChainError> {
        self.chain_time()
    }

    /// `evm_increaseTime` by the difference, then `evm_mine` one empty block (both
    /// ganache and hardhat offer them).
    fn warp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        let now = self.now()?;
        if timestamp > now {
            self.rpc("evm_increaseTime", json!([timestamp - now]))?;
            self.rpc("evm_mine", json!([]))?;
        }
        let now = self.now()?;
        if now < timestamp {
            return Err(backend(format!(
                "the clock is at {now} after moving it to {timestamp}"
            )));
        }
        Ok(())
    }

    fn add_account(&mut self, secret: [u8; 32]) -> Result<Address, ChainError> {
        let key =
            SigningKey::from_slice(&secret).map_err(|e| backend(format!("bad secret key: {e}")))?;
        let address = address_of_key(&key);
        self.keys.insert(address, key);
        Ok(address)
    }

    fn fund(&mut self, address: Address, wei: U256) -> Result<(), ChainError> {
        let balance = self.balance(address)?;
        if balance >= wei {
            return Ok(());
        }
        let funder = self.funder;
        self.send(funder, Some(address), wei - balance, Bytes::new())
            .map(drop)
    }

    /// The transfers sent together (`send_many`), so that they share blocks.
    fn fund_many(&mut self, wants: &[(Address, U256)]) -> Result<(), ChainError> {
        let mut transfers = Vec::new();
        for &(address, wei) in wants {
            let balance = self.balance(address)?;
            if balance < wei {
                transfers.push(Outgoing {
                    from: self.funder,
                    to: Some(address),
                    value: wei - balance,
                    data: Bytes::new(),
                });
            }
        }
        self.send_many(transfers)
            .into_iter()
            .try_for_each(|r| r.map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_may_take_many_of_its_transaction_s_executions_and_five_seconds_at_least() {
        assert_eq!(estimate_timeout(Duration::ZERO), ESTIMATE_TIMEOUT);
        assert_eq!(
            estimate_timeout(Duration::from_millis(200)),
            ESTIMATE_TIMEOUT
        );
        // a settlement's eth_call on ganache: its estimate took up to 10.8 s
        assert_eq!(
            estimate_timeout(Duration::from_millis(1_200)),
            Duration::from_secs(18)
        );
        // an eth_call that ran into the transport's two minutes does not make the
        // estimate wait half an hour
        assert_eq!(
            estimate_timeout(Duration::from_secs(120)),
            ESTIMATE_TIMEOUT_MAX
        );
    }

    /// The example of EIP-155 itself.
    #[test]
    fn eip155_example() {
        let tx = LegacyTx {
            nonce: 9,
            gas_price: U256::from(20_000_000_000u64),
            gas_limit: 21000,
            to: Some(Address::repeat_byte(0x35)),
            value: U256::from(1_000_000_000_000_000_000u64),
            data: Bytes::new(),
            chain_id: 1,
        };
        assert_eq!(
            hex::encode(tx.signing_hash()),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
        );
        let key = SigningKey::from_slice(&[0x46; 32]).expect("key");
        let raw = tx.sign(&key).expect("signs");
        assert_eq!(
            hex::encode(raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        );
    }

    #[test]
    fn dev_keys_are_the_nodes_first_accounts() {
        let a = |k| crate::chain::address_of_secret(k).expect("key").to_string();
        assert_eq!(
            a(&GANACHE_DEV_KEY),
            "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"
        );
        assert_eq!(
            a(&HARDHAT_DEV_KEY),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
    }

    fn error(v: Value) -> RpcError {
        RpcError {
            code: v["code"].as_i64().expect("code"),
            message: v["message"].as_str().expect("message").to_owned(),
            data: v.get("data").cloned(),
        }
    }

    /// Error objects as the nodes sent them for `revert(0xdeadbeef)` (captured from
    /// ganache 7.9.2 and hardhat 2.29.1).
    #[test]
    fn revert_data_in_every_shape() {
        let hardhat = error(
            json!({"code": -32603, "message": "Error: VM Exception while processing transaction: reverted with an unrecognized custom error (return data: 0xdeadbeef)", "data": {"message": "Error: VM Exception while processing transaction: reverted with an unrecognized custom error (return data: 0xdeadbeef)", "txHash": "0x45f98a1d83be2fd23d3cd72d0389309bbbfc687f4d7a6e294b8e84bb206a32bb", "data": "0xdeadbeef"}}),
        );
        let ganache_call = error(
            json!({"message": "VM Exception while processing transaction: revert", "code": -32000, "name": "CallError", "data": "0xdeadbeef"}),
        );
        let ganache_estimate = error(
            json!({"message": "VM Exception while processing transaction: revert", "code": -32000, "name": "RuntimeError", "data": {"hash": null, "programCounter": 13, "result": "0xdeadbeef", "reason": null, "message": "revert"}}),
        );
        let geth = error(json!({"code": 3, "message": "execution reverted", "data": "0xdeadbeef"}));
        for e in [hardhat, ganache_call, ganache_estimate, geth] {
            assert!(e.is_revert(), "{e:?}");
            let c = e.into_chain_error(7);
            assert_eq!(
                c.revert_data().map(|d| d.to_vec()),
                Some(vec![0xde, 0xad, 0xbe, 0xef])
            );
        }
        let refused = error(json!({"code": -32000, "message": "nonce too low"}));
        assert!(matches!(
            refused.into_chain_error(0),
            ChainError::Backend(_)
        ));
    }
}
