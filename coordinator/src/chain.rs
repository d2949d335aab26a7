//! The coordinator's chain: the embedded EVM by default, or any node over JSON-RPC, behind
//! the contract crate's [`Chain`] interface. One handle is shared by the engine and, in a
//! single-process setup, by the trustees' own chain views; every operation runs on
//! the chain's own thread ([`ChainClient`]).
//!
//! The embedded chain has no clock of its own: before each operation its next block's
//! time is moved up to the wall clock, which the market schedule runs on.

use alloy_primitives::U256;
use alloy_primitives::{Address, Bytes, B256};
use alloy_sol_types::SolCall;
use sealgrid_verifier_contract::chain::{ChainLog, LogFilter};
use sealgrid_verifier_contract::{
    Chain, ChainError, DevChain, EmbeddedChain, JsonRpcChain, Receipt,
};

use crate::schedule::Clock;

/// A chain backend.
#[derive(Debug)]
pub enum Backend {
    /// revm in process, state persisted to a file; its blocks carry the market clock.
    Embedded(EmbeddedChain, Clock),
    /// A node over JSON-RPC.
    Rpc(JsonRpcChain),
}

impl Backend {
    fn sync_clock(&mut self) {
        if let Backend::Embedded(c, clock) = self {
            let now = clock.now();
            if now > c.timestamp() {
                c.set_timestamp(now);
            }
        }
    }
}

impl Chain for Backend {
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        match self {
            Backend::Embedded(c, _) => c.chain_id(),
            Backend::Rpc(c) => c.chain_id(),
        }
    }

    fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Receipt, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c, _) => c.deploy(from, init_code),
            Backend::Rpc(c) => c.deploy(from, init_code),
        }
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c, _) => c.call(from, to, data),
            Backend::Rpc(c) => c.call(from, to, data),
        }
    }

    /// Simulates the transaction first and sends it only if the simulation succeeds: a
    /// transaction the contract would refuse is answered with its revert and never
    /// mined (no gas paid, no block or nonce used, PROTOCOL §9). The embedded chain
    /// runs a non-committing call on the state the transaction would run on; the
    /// JSON-RPC backend's `eth_call` on the pending state does the same
    /// ([`JsonRpcChain`]'s `transact`).
    fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c, _) => {
                c.call(from, to, data.clone())?;
                c.transact(from, to, data)
            }
            Backend::Rpc(c) => c.transact(from, to, data),
        }
    }

    /// Each transaction as [`Backend::transact`] would send it: simulated first, a
    /// refused one answered with its revert and not mined. The embedded chain takes them
    /// one after the other; the JSON-RPC backend sends them all before waiting for their
    /// receipts ([`JsonRpcChain`]'s `transact_many`), so that they share blocks.
    fn transact_many(
        &mut self,
        txs: Vec<(Address, Address, Bytes)>,
    ) -> Vec<Result<Receipt, ChainError>> {
        match self {
            Backend::Embedded(..) => txs
                .into_iter()
                .map(|(from, to, data)| self.transact(from, to, data))
                .collect(),
            Backend::Rpc(c) => c.transact_many(txs),
        }
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        match self {
            Backend::Embedded(c, _) => c.block_number(),
            Backend::Rpc(c) => c.block_number(),
        }
    }

    fn chain_time(&mut self) -> Result<u64, ChainError> {
        // The embedded chain's next block carries the market clock.
        self.sync_clock();
        match self {
            Backend::Embedded(c, _) => c.chain_time(),
            Backend::Rpc(c) => c.chain_time(),
        }
    }

    fn logs(&mut self, filter: &LogFilter) -> Result<Vec<ChainLog>, ChainError> {
        match self {
            Backend::Embedded(c, _) => c.logs(filter),
            Backend::Rpc(c) => c.logs(filter),
        }
    }

    fn transaction_input(&mut self, tx_hash: B256) -> Result<Bytes, ChainError> {
        match self {
            Backend::Embedded(c, _) => c.transaction_input(tx_hash),
            Backend::Rpc(c) => c.transaction_input(tx_hash),
        }
    }

    fn code_at(&mut self, address: Address) -> Result<Bytes, ChainError> {
        match self {
            Backend::Embedded(c, _) => c.code_at(address),
            Backend::Rpc(c) => c.code_at(address),
        }
    }
}

/// Either backend as a development chain: the operator's registration
/// ([`crate::operator::register_prosumers`]) runs on it as on a bare chain.
impl DevChain for Backend {
    fn now(&mut self) -> Result<u64, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c, _) => c.now(),
            Backend::Rpc(c) => c.now(),
        }
    }

    fn warp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        match self {
            Backend::Embedded(c, _) => c.warp(timestamp),
            Backend::Rpc(c) => c.warp(timestamp),
        }
    }

    fn add_account(&mut self, secret: [u8; 32]) -> Result<Address, ChainError> {
        match self {
            Backend::Embedded(c, _) => c.add_account(secret),
            Backend::Rpc(c) => c.add_account(secret),
        }
    }

    fn fund(&mut self, address: Address, wei: U256) -> Result<(), ChainError> {
        match self {
            Backend::Embedded(c, _) => c.fund(address, wei),
            Backend::Rpc(c) => c.fund(address, wei),
        }
    }

    fn fund_many(&mut self, wants: &[(Address, U256)]) -> Result<(), ChainError> {
        match self {
            Backend::Embedded(c, _) => c.fund_many(wants),
            Backend::Rpc(c) => c.fund_many(wants),
        }
    }
}

type Job = Box<dyn FnOnce(&mut Backend) + Send>;

/// A chain that lives on its own thread (the embedded EVM is not `Send`): every operation
/// is a job sent there, answered through a oneshot channel. Cloned freely; implements
/// [`Chain`] itself (blocking), so a trustee's chain view in the same process reads the
/// very chain the coordinator transacts on.
#[derive(Clone, Debug)]
pub struct ChainClient {
    tx: std::sync::mpsc::Sender<Job>,
}

impl ChainClient {
    /// Starts the chain thread; `make` builds the backend on it.
    pub fn spawn(
        make: impl FnOnce() -> Result<Backend, ChainError> + Send + 'static,
    ) -> Result<ChainClient, ChainError> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sealgrid-chain".into())
            .spawn(move || {
                let mut backend = match make() {
                    Ok(b) => {
                        if ready_tx.send(Ok(())).is_err() {
                            return; // the caller gave up waiting
                        }
                        b
                    }
                    Err(e) => {
                        // The caller reads this error; if it is gone, so is its use.
                        ready_tx.send(Err(e)).ok();
                        return;
                    }
                };
                // Ends when every client is dropped.
                while let Ok(job) = rx.recv() {
                    job(&mut backend);
                }
            })
            .map_err(|e| ChainError::Backend(format!("chain thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| ChainError::Backend("the chain thread died at start".into()))??;
        Ok(ChainClient { tx })
    }

    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Backend) -> Result<T, ChainError> + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<Result<T, ChainError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        // A send fails only when the chain thread is gone; `rx` then reports it.
        self.tx
            .send(Box::new(move |b: &mut Backend| {
                // The asker may have stopped waiting: the work is done all the same.
                tx.send(f(b)).ok();
            }))
            .ok();
        rx
    }

    /// Runs `f` on the chain and waits (not from an async task).
    pub fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Backend) -> Result<T, ChainError> + Send + 'static,
    ) -> Result<T, ChainError> {
        self.submit(f)
            .blocking_recv()
            .map_err(|_| ChainError::Backend("the chain thread is gone".into()))?
    }

    /// Runs `f` on the chain.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Backend) -> Result<T, ChainError> + Send + 'static,
    ) -> Result<T, ChainError> {
        self.submit(f)
            .await
            .map_err(|_| ChainError::Backend("the chain thread is gone".into()))?
    }
}

impl Chain for ChainClient {
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        self.blocking(|c| c.chain_id())
    }

    fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Receipt, ChainError> {
        self.blocking(move |c| c.deploy(from, init_code))
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.blocking(move |c| c.call(from, to, data))
    }

    fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError> {
        self.blocking(move |c| c.transact(from, to, data))
    }

    fn transact_many(
        &mut self,
        txs: Vec<(Address, Address, Bytes)>,
    ) -> Vec<Result<Receipt, ChainError>> {
        let n = txs.len();
        self.blocking(move |c| Ok(c.transact_many(txs)))
            .unwrap_or_else(|e| (0..n).map(|_| Err(e.copy())).collect())
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        self.blocking(|c| c.block_number())
    }

    fn chain_time(&mut self) -> Result<u64, ChainError> {
        self.blocking(|c| c.chain_time())
    }

    fn logs(&mut self, filter: &LogFilter) -> Result<Vec<ChainLog>, ChainError> {
        let f = *filter;
        self.blocking(move |c| c.logs(&f))
    }

    fn transaction_input(&mut self, tx_hash: B256) -> Result<Bytes, ChainError> {
        self.blocking(move |c| c.transaction_input(tx_hash))
    }

    fn code_at(&mut self, address: Address) -> Result<Bytes, ChainError> {
        self.blocking(move |c| c.code_at(address))
    }
}

/// The engine's access to the market, as the operator.
#[derive(Clone, Debug)]
pub struct ChainHandle {
    chain: ChainClient,
    operator: Address,
    market: Address,
}

impl ChainHandle {
    /// A handle sending as `operator` to `market`.
    pub fn new(chain: ChainClient, operator: Address, market: Address) -> ChainHandle {
        ChainHandle {
            chain,
            operator,
            market,
        }
    }

    /// The chain.
    pub fn client(&self) -> ChainClient {
        self.chain.clone()
    }

    /// The market's address.
    pub fn market(&self) -> Address {
        self.market
    }

    /// A transaction to the market from the operator.
    pub async fn transact<C: SolCall + Send + 'static>(
        &self,
        call: C,
    ) -> Result<Receipt, ChainError> {
        let (from, to) = (self.operator, self.market);
        self.chain
            .run(move |c| c.transact(from, to, call.abi_encode().into()))
            .await
    }

    /// An encoded transaction to the market from the operator.
    pub async fn transact_raw(&self, data: Vec<u8>) -> Result<Receipt, ChainError> {
        let (from, to) = (self.operator, self.market);
        self.chain
            .run(move |c| c.transact(from, to, data.into()))
            .await
    }

    /// Encoded transactions to the market from the operator, sent together
    /// ([`Chain::transact_many`]): what each came to, in order.
    pub async fn transact_many_raw(&self, calls: Vec<Vec<u8>>) -> Vec<Result<Receipt, ChainError>> {
        let (from, to, n) = (self.operator, self.market, calls.len());
        let txs = calls
            .into_iter()
            .map(|data| (from, to, data.into()))
            .collect();
        self.chain
            .run(move |c| Ok(c.transact_many(txs)))
            .await
            .unwrap_or_else(|e| (0..n).map(|_| Err(e.copy())).collect())
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.chain.run(|c| c.block_number()).await
    }

    /// A read-only call to the market.
    pub async fn call<C: SolCall + Send + 'static>(&self, call: C) -> Result<C::Return, ChainError>
    where
        C::Return: Send,
    {
        self.call_to(self.market, call).await
    }

    /// A read-only call to another contract (the token).
    pub async fn call_to<C: SolCall + Send + 'static>(
        &self,
        to: Address,
        call: C,
    ) -> Result<C::Return, ChainError>
    where
        C::Return: Send,
    {
        let from = self.operator;
        self.chain
            .run(move |c| {
                let out = c.call(from, to, call.abi_encode().into())?;
                Ok(C::abi_decode_returns(&out)?)
            })
            .await
    }
}
