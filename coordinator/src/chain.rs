//! The coordinator's chain: the embedded EVM by default, or any node over JSON-RPC, behind
//! the contract crate's [`Chain`] interface. One handle is shared by the engine and, in a
//! single-process setup, by the trustees' own chain views; every operation runs on
//! tokio's blocking pool under the handle's lock.
//!
//! The embedded chain has no clock of its own: before each operation its next block's
//! time is moved up to the wall clock, which the market schedule runs on.

use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolCall;
use sealgrid_verifier_contract::chain::{ChainLog, LogFilter};
use sealgrid_verifier_contract::{Chain, ChainError, EmbeddedChain, JsonRpcChain, Receipt};

use crate::schedule;

/// A chain backend.
#[derive(Debug)]
pub enum Backend {
    /// revm in process, state persisted to a file.
    Embedded(EmbeddedChain),
    /// A node over JSON-RPC.
    Rpc(JsonRpcChain),
}

impl Backend {
    fn sync_clock(&mut self) {
        if let Backend::Embedded(c) = self {
            let now = schedule::now();
            if now > c.timestamp() {
                c.set_timestamp(now);
            }
        }
    }
}

impl Chain for Backend {
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        match self {
            Backend::Embedded(c) => c.chain_id(),
            Backend::Rpc(c) => c.chain_id(),
        }
    }

    fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Receipt, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c) => c.deploy(from, init_code),
            Backend::Rpc(c) => c.deploy(from, init_code),
        }
    }

    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c) => c.call(from, to, data),
            Backend::Rpc(c) => c.call(from, to, data),
        }
    }

    fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError> {
        self.sync_clock();
        match self {
            Backend::Embedded(c) => c.transact(from, to, data),
            Backend::Rpc(c) => c.transact(from, to, data),
        }
    }

    fn block_number(&mut self) -> Result<u64, ChainError> {
        match self {
            Backend::Embedded(c) => c.block_number(),
            Backend::Rpc(c) => c.block_number(),
        }
    }

    fn logs(&mut self, filter: &LogFilter) -> Result<Vec<ChainLog>, ChainError> {
        match self {
            Backend::Embedded(c) => c.logs(filter),
            Backend::Rpc(c) => c.logs(filter),
        }
    }
}

/// A shared chain.
pub type SharedChain = Arc<Mutex<Backend>>;

/// The engine's access to the market on a shared chain, as the operator.
#[derive(Clone, Debug)]
pub struct ChainHandle {
    chain: SharedChain,
    operator: Address,
    market: Address,
}

impl ChainHandle {
    /// A handle sending as `operator` to `market`.
    pub fn new(chain: SharedChain, operator: Address, market: Address) -> ChainHandle {
        ChainHandle {
            chain,
            operator,
            market,
        }
    }

    /// The shared chain.
    pub fn shared(&self) -> SharedChain {
        self.chain.clone()
    }

    /// The market's address.
    pub fn market(&self) -> Address {
        self.market
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Backend) -> Result<T, ChainError> + Send + 'static,
    ) -> Result<T, ChainError> {
        let chain = self.chain.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = chain.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| ChainError::Backend(format!("chain task: {e}")))?
    }

    /// A transaction to the market from the operator.
    pub async fn transact<C: SolCall + Send + 'static>(&self, call: C) -> Result<Receipt, ChainError> {
        let (from, to) = (self.operator, self.market);
        self.run(move |c| c.transact(from, to, call.abi_encode().into()))
            .await
    }

    /// An encoded transaction to the market from the operator.
    pub async fn transact_raw(&self, data: Vec<u8>) -> Result<Receipt, ChainError> {
        let (from, to) = (self.operator, self.market);
        self.run(move |c| c.transact(from, to, data.into())).await
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.run(|c| c.block_number()).await
    }

    /// A read-only call to the market.
    pub async fn call<C: SolCall + Send + 'static>(&self, call: C) -> Result<C::Return, ChainError>
    where
        C::Return: Send,
    {
        let (from, to) = (self.operator, self.market);
        self.run(move |c| {
            let out = c.call(from, to, call.abi_encode().into())?;
            Ok(C::abi_decode_returns(&out)?)
        })
        .await
    }
}
