//! [`EmbeddedChain`]: revm in process, one transaction per block, with the whole state
//! (accounts, code, storage, block number and time) written to a JSON file after every
//! committed transaction and reloaded on open.
//!
//! The file is written to a temporary file in the same directory, synced and renamed
//! into place, so a crash leaves the previous state or the new one. JSON keeps the
//! format inspectable; a market's state is a few thousand slots.
//!
//! **Logs.** Every committed transaction's logs are kept (in memory, and for a chain on
//! disk in an append-only sidecar `<state>.logs.jsonl`, one line `{"block": n, "logs":
//! [...]}` per transaction that emitted any), so [`Chain::logs`] can read them back.
//! The log history grows with every bid (about 1.2 KB of ciphertext words each), so it
//! is not part of the snapshot, which would rewrite it all after each transaction: the
//! line is appended and synced *before* the snapshot is written, and the snapshot
//! records the sidecar's length that belongs to it (`logs_bytes`). On open the sidecar
//! is truncated to that length, which drops a line (or half a line) written by a
//! transaction whose snapshot never made it to disk. A snapshot from before the sidecar
//! existed has no `logs_bytes` (read as 0): it opens with an empty log history.
//!
//! **Transaction inputs.** The same line keeps the transaction's input (`"input"`), so
//! an auditor can read back what events do not carry (proofs, signatures) with
//! [`Chain::transaction_input`]. Transactions here are unsigned and have no hash: each
//! gets the stand-in `keccak256(block ‖ input)` ([`embedded_tx_hash`]), unique since a
//! block holds one transaction. A line from before inputs were kept reads as an empty
//! input.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use alloy_primitives::{keccak256, Address, Bytes, Log, B256, U256};
use revm::context::result::ExecutionResult;
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::TxKind;
use revm::state::{AccountInfo, Bytecode};
use revm::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};
use serde::{Deserialize, Serialize};

use crate::chain::{address_of_secret, Chain, ChainError, ChainLog, DevChain, LogFilter, Receipt};

/// The chain id of the embedded chain (hardhat's, so signatures made for one verify on
/// the other only if the contract address matches too).
pub const CHAIN_ID: u64 = 31337;
/// Gas limit of every transaction: revm's per-transaction cap (EIP-7825, 2^24).
pub const TX_GAS_LIMIT: u64 = 1 << 24;

type Db = CacheDB<EmptyDB>;
type Evm = MainnetEvm<MainnetContext<Db>>;

/// The persisted state.
#[derive(Default, Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    block_number: u64,
    timestamp: u64,
    accounts: BTreeMap<Address, AccountSnapshot>,
    /// The length of the log sidecar that goes with this state (see the module doc).
    #[serde(default)]
    logs_bytes: u64,
}

/// One line of the log sidecar: the logs of the one transaction of block `block`.
#[derive(Serialize, Deserialize)]
struct LogLine {
    block: u64,
    logs: Vec<Log>,
    /// The transaction's input (absent in lines written before inputs were kept).
    #[serde(default)]
    input: Bytes,
}

/// The stand-in hash of the embedded chain's transaction in block `block` with input
/// `input` (see the module doc).
pub fn embedded_tx_hash(block: u64, input: &[u8]) -> B256 {
    let mut pre = Vec::with_capacity(8 + input.len());
    pre.extend_from_slice(&block.to_be_bytes());
    pre.extend_from_slice(input);
    keccak256(&pre)
}

#[derive(Default, Serialize, Deserialize)]
struct AccountSnapshot {
    nonce: u64,
    balance: U256,
    code: Bytes,
    storage: BTreeMap<U256, U256>,
}

const SNAPSHOT_VERSION: u32 = 1;

/// revm with its state on disk (or in memory only, for throwaway tests).
///
/// The chain holds revm's database, not an `Evm`: one is built around the database for
/// each call and transaction (cheap next to executing one) and the database taken
/// back, because revm's `Evm` is not `Send` and the chain is shared between threads
/// (a coordinator transacting, trustees reading its logs).
pub struct EmbeddedChain {
    db: Db,
    path: Option<PathBuf>,
    block_number: u64,
    timestamp: u64,
    /// Every committed log, in (block, log index) order.
    logs: Vec<ChainLog>,
    /// The input of every committed transaction that emitted logs, by stand-in hash.
    inputs: BTreeMap<B256, Bytes>,
    /// The log sidecar, open for appending, and its length (for a chain on disk).
    sidecar: Option<(fs::File, u64)>,
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("path", &self.path)
            .field("block_number", &self.block_number)
            .field("timestamp", &self.timestamp)
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

fn state_err(path: &Path, reason: impl ToString) -> ChainError {
    ChainError::State {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl EmbeddedChain {
    /// A chain whose state lives in memory only.
    pub fn in_memory() -> Self {
        Self::from_snapshot(Snapshot::default(), None, Vec::new(), None)
    }

    /// Opens the chain stored at `path`, or starts an empty one there.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, ChainError> {
        let path = path.into();
        let snapshot = match fs::read(&path) {
            Ok(bytes) => {
                let s: Snapshot =
                    serde_json::from_slice(&bytes).map_err(|e| state_err(&path, e))?;
                if s.version != SNAPSHOT_VERSION {
                    return Err(state_err(&path, format!("unknown version {}", s.version)));
                }
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Snapshot::default(),
            Err(e) => return Err(state_err(&path, e)),
        };
        let (file, logs, inputs) =
            open_sidecar(&path, snapshot.logs_bytes, snapshot.block_number, true)?;
        let sidecar = Some((file, snapshot.logs_bytes));
        let mut chain = Self::from_snapshot(snapshot, Some(path), logs, sidecar);
        chain.inputs = inputs;
        Ok(chain)
    }

    /// Opens the chain stored at `path` for reading only, as an auditor does: nothing on
    /// disk is created, truncated or rewritten. The state file and its log sidecar must
    /// both exist, and the sidecar must hold exactly the bytes the state file vouches for:
    /// a log longer than that (lines of transactions the state never recorded, or lines
    /// appended by someone else) is reported, not cut away. Calls and transactions on the
    /// opened chain run in memory and are never written back.
    pub fn open_read_only(path: impl Into<PathBuf>) -> Result<Self, ChainError> {
        let path = path.into();
        let bytes = fs::read(&path).map_err(|e| state_err(&path, e))?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| state_err(&path, e))?;
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(state_err(
                &path,
                format!("unknown version {}", snapshot.version),
            ));
        }
        let (_, logs, inputs) =
            open_sidecar(&path, snapshot.logs_bytes, snapshot.block_number, false)?;
        let mut chain = Self::from_snapshot(snapshot, None, logs, None);
        chain.inputs = inputs;
        Ok(chain)
    }

    fn from_snapshot(
        s: Snapshot,
        path: Option<PathBuf>,
        logs: Vec<ChainLog>,
        sidecar: Option<(fs::File, u64)>,
    ) -> Self {
        let mut db = Db::default();
        for (address, a) in s.accounts {
            let code = Bytecode::new_raw(a.code);
            let info = AccountInfo {
                balance: a.balance,
                nonce: a.nonce,
                code_hash: code.hash_slow(),
                code: Some(code),
                ..Default::default()
            };
            db.insert_account_info(address, info);
            for (slot, value) in a.storage {
                // The account was just inserted: this cannot fail.
                db.insert_account_storage(address, slot, value)
                    .expect("storage of an inserted account");
            }
        }
        EmbeddedChain {
            db,
            path,
            block_number: s.block_number,
            timestamp: s.timestamp,
            logs,
            inputs: BTreeMap::new(),
            sidecar,
        }
    }

    /// Runs `f` on an EVM over the chain's state, in the current block.
    fn with_evm<T>(&mut self, f: impl FnOnce(&mut Evm) -> T) -> T {
        let (n, t) = (self.block_number, self.timestamp);
        let mut evm = Context::mainnet()
            .with_db(std::mem::take(&mut self.db))
            .modify_cfg_chained(|c| c.chain_id = CHAIN_ID)
            .modify_block_chained(|b| {
                b.number = U256::from(n);
                b.timestamp = U256::from(t);
                b.basefee = 0;
            })
            .build_mainnet();
        let out = f(&mut evm);
        self.db = std::mem::take(&mut evm.ctx.journaled_state.database);
        out
    }

    /// The state file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The current block time (seconds since the epoch).
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// Sets the time of the next blocks (persisted with the next transaction).
    pub fn set_timestamp(&mut self, timestamp: u64) {
        self.timestamp = timestamp;
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, seconds: u64) {
        self.set_timestamp(self.timestamp + seconds);
    }

    /// Credits `address` with `wei` (for a JSON-RPC-like funding step; gas is free here).
    pub fn fund(&mut self, address: Address, wei: U256) -> Result<(), ChainError> {
        let db = &mut self.db;
        let mut info = db
            .cache
            .accounts
            .get(&address)
            .map(|a| a.info.clone())
            .unwrap_or_default();
        info.balance = wei;
        db.insert_account_info(address, info);
        self.persist()
    }

    fn nonce(&self, address: Address) -> u64 {
        self.db
            .cache
            .accounts
            .get(&address)
            .map(|a| a.info.nonce)
            .unwrap_or(0)
    }

    fn tx(&self, from: Address, kind: TxKind, data: Bytes) -> Result<TxEnv, ChainError> {
        TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(data)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .nonce(self.nonce(from))
            .chain_id(Some(CHAIN_ID))
            .build()
            .map_err(|e| ChainError::Backend(format!("{e:?}")))
    }

    fn execute(&mut self, from: Address, kind: TxKind, data: Bytes) -> Result<Receipt, ChainError> {
        let tx = self.tx(from, kind, data.clone())?;
        self.block_number += 1;
        let result = self
            .with_evm(|evm| evm.transact_commit(tx))
            .map_err(|e| ChainError::Backend(format!("{e:?}")))?;
        if let ExecutionResult::Success { logs, .. } = &result {
            self.record_logs(logs, &data)?;
        }
        self.persist()?;
        receipt(result, self.block_number)
    }

    /// Keeps the logs of the transaction just committed in block `self.block_number`;
    /// on disk, appends them to the sidecar (synced, before the snapshot is written).
    fn record_logs(&mut self, logs: &[Log], input: &Bytes) -> Result<(), ChainError> {
        if logs.is_empty() {
            return Ok(());
        }
        let block = self.block_number;
        let tx_hash = embedded_tx_hash(block, input);
        if let (Some(path), Some((file, len))) = (&self.path, &mut self.sidecar) {
            let line = LogLine {
                block,
                logs: logs.to_vec(),
                input: input.clone(),
            };
            let mut bytes = serde_json::to_vec(&line).map_err(|e| state_err(path, e))?;
            bytes.push(b'\n');
            // after a failed append, start again where the last good line ended
            file.seek(SeekFrom::Start(*len))
                .and_then(|_| file.write_all(&bytes))
                .and_then(|()| file.sync_data())
                .map_err(|e| state_err(&sidecar_path(path), e))?;
            *len += bytes.len() as u64;
        }
        self.logs
            .extend(logs.iter().enumerate().map(|(i, log)| ChainLog {
                block_number: block,
                tx_index: 0,
                log_index: i as u64,
                tx_hash: Some(tx_hash),
                log: log.clone(),
            }));
        self.inputs.insert(tx_hash, input.clone());
        Ok(())
    }

    /// Writes the state file (atomically); a no-op for an in-memory chain.
    pub fn persist(&self) -> Result<(), ChainError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let db = &self.db;
        let mut accounts = BTreeMap::new();
        for (address, a) in &db.cache.accounts {
            let code = a
                .info
                .code
                .as_ref()
                .map(|c| c.original_bytes())
                .or_else(|| {
                    db.cache
                        .contracts
                        .get(&a.info.code_hash)
                        .map(|c| c.original_bytes())
                })
                .unwrap_or_default();
            accounts.insert(
                *address,
                AccountSnapshot {
                    nonce: a.info.nonce,
                    balance: a.info.balance,
                    code,
                    storage: a
                        .storage
                        .iter()
                        .filter(|(_, v)| !v.is_zero())
                        .map(|(k, v)| (*k, *v))
                        .collect(),
                },
            );
        }
        let snapshot = Snapshot {
            version: SNAPSHOT_VERSION,
            block_number: self.block_number,
            timestamp: self.timestamp,
            accounts,
            logs_bytes: self.sidecar.as_ref().map_or(0, |(_, len)| *len),
        };
        let bytes = serde_json::to_vec(&snapshot).map_err(|e| state_err(path, e))?;
        write_atomic(path, &bytes).map_err(|e| state_err(path, e))
    }
}

/// The log sidecar of the state file `path`: `<path>.logs.jsonl`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut p = OsString::from(path.as_os_str());
    p.push(".logs.jsonl");
    PathBuf::from(p)
}

/// Opens the sidecar of `path` and reads its logs and transaction inputs (all of blocks
/// up to `last_block`, the first `len` bytes, which the snapshot vouches for). Writable:
/// created if missing, and lines beyond `len` (transactions whose snapshot was never
/// written) are cut away. Read-only: it must exist and hold exactly `len` bytes.
#[allow(clippy::type_complexity)]
fn open_sidecar(
    path: &Path,
    len: u64,
    last_block: u64,
    writable: bool,
) -> Result<(fs::File, Vec<ChainLog>, BTreeMap<B256, Bytes>), ChainError> {
    let side = sidecar_path(path);
    let err = |e: &dyn std::fmt::Display| state_err(&side, e);
    if writable {
        if let Some(dir) = side.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
    }
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(writable)
        .create(writable)
        .truncate(false)
        .open(&side)
        .map_err(|e| err(&e))?;
    let on_disk = file.metadata().map_err(|e| err(&e))?.len();
    if on_disk < len {
        return Err(err(&format!(
            "{on_disk} bytes, but the state file needs the first {len}"
        )));
    }
    let mut text = Vec::with_capacity(len as usize);
    (&mut file)
        .take(len)
        .read_to_end(&mut text)
        .map_err(|e| err(&e))?;
    if on_disk > len && !writable {
        return Err(err(&format!(
            "{on_disk} bytes, but the state file vouches for {len}: the log holds lines \
             the state never recorded"
        )));
    }
    if on_disk > len {
        // lines of transactions whose snapshot was never written
        file.set_len(len).map_err(|e| err(&e))?;
        file.sync_data().map_err(|e| err(&e))?;
    }
    let mut logs = Vec::new();
    let mut inputs = BTreeMap::new();
    let mut previous = 0;
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let l: LogLine =
            serde_json::from_slice(line).map_err(|e| err(&format!("line {}: {e}", n + 1)))?;
        if l.block <= previous || l.block > last_block {
            return Err(err(&format!(
                "line {}: block {} out of order (after {previous}, state at {last_block})",
                n + 1,
                l.block
            )));
        }
        previous = l.block;
        let tx_hash = embedded_tx_hash(l.block, &l.input);
        logs.extend(l.logs.into_iter().enumerate().map(|(i, log)| ChainLog {
            block_number: l.block,
            tx_index: 0,
            log_index: i as u64,
            tx_hash: Some(tx_hash),
            log,
        }));
        inputs.insert(tx_hash, l.input);
    }
    Ok((file, logs, inputs))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// What `result` came to, in block `block`.
fn receipt(result: ExecutionResult, block: u64) -> Result<Receipt, ChainError> {
    let gas_used = result.tx_gas_used();
    match result {
        ExecutionResult::Success { logs, output, .. } => {
            let contract_address = output.address().copied();
            Ok(Receipt {
                gas_used,
                logs,
                output: output.into_data(),
                contract_address,
                block,
            })
        }
        ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted {
            data: output,
            gas_used,
        }),
        ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted {
            reason: format!("{reason:?}"),
            gas_used,
        }),
    }
}

impl Chain for EmbeddedChain {
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        Ok(CHAIN_ID)
    }

    fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Receipt, ChainError> {
        self.execute(from, TxKind::Create, init_code)
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        let tx = self.tx(from, TxKind::Call(to), data)?;
        let result = self
            .with_evm(|evm| evm.transact(tx))
            .map_err(|e| ChainError::Backend(format!("{e:?}")))?;
        // not mined: in the block after the last
        receipt(result.result, self.block_number + 1).map(|r| r.output)
    }

    fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError> {
        self.execute(from, TxKind::Call(to), data)
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        Ok(self.block_number)
    }

    fn chain_time(&mut self) -> Result<u64, ChainError> {
        Ok(self.timestamp)
    }

    fn logs(&mut self, filter: &LogFilter) -> Result<Vec<ChainLog>, ChainError> {
        let to = filter.to_block.unwrap_or(u64::MAX);
        let start = self
            .logs
            .partition_point(|l| l.block_number < filter.from_block);
        Ok(self.logs[start..]
            .iter()
            .take_while(|l| l.block_number <= to)
            .filter(|l| l.log.address == filter.address)
            .cloned()
            .collect())
    }

    fn transaction_input(&mut self, tx_hash: B256) -> Result<Bytes, ChainError> {
        self.inputs.get(&tx_hash).cloned().ok_or_else(|| {
            ChainError::Backend(format!("no committed transaction {tx_hash} with logs"))
        })
    }

    fn code_at(&mut self, address: Address) -> Result<Bytes, ChainError> {
        let db = &self.db;
        Ok(db
            .cache
            .accounts
            .get(&address)
            .and_then(|a| {
                a.info
                    .code
                    .as_ref()
                    .map(|c| c.original_bytes())
                    .or_else(|| {
                        db.cache
                            .contracts
                            .get(&a.info.code_hash)
                            .map(|c| c.original_bytes())
                    })
            })
            .unwrap_or_default())
    }
}

impl DevChain for EmbeddedChain {
    fn now(&mut self) -> Result<u64, ChainError> {
        Ok(self.timestamp)
    }

    fn warp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        if timestamp < self.timestamp {
            return Err(ChainError::Backend(format!(
                "the clock only moves forward: {timestamp} < {}",
                self.timestamp
            )));
        }
        self.set_timestamp(timestamp);
        Ok(())
    }

    fn add_account(&mut self, secret: [u8; 32]) -> Result<Address, ChainError> {
        address_of_secret(&secret)
    }

    fn fund(&mut self, address: Address, wei: U256) -> Result<(), ChainError> {
        let db = &self.db;
        let balance = db
            .cache
            .accounts
            .get(&address)
            .map(|a| a.info.balance)
            .unwrap_or_default();
        if balance >= wei {
            return Ok(());
        }
        EmbeddedChain::fund(self, address, wei)
    }
}
