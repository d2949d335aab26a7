//! The interface every EVM backend offers: deploy, call (read only), transact; each
//! transaction reports its gas and logs, each failure its revert data; the logs of
//! committed blocks can be read back ([`Chain::logs`]).

use alloy_primitives::{Address, Bytes, Log, B256, U256};
use alloy_sol_types::{SolCall, SolInterface};

/// What a committed transaction produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Gas used by the whole transaction (intrinsic cost included, refunds deducted).
    pub gas_used: u64,
    /// The logs it emitted, in order.
    pub logs: Vec<Log>,
    /// Return data (empty for a deployment).
    pub output: Bytes,
    /// The created contract, for a deployment.
    pub contract_address: Option<Address>,
    /// The block that holds it.
    pub block: u64,
}

/// Which logs [`Chain::logs`] returns: those emitted by `address` in the blocks
/// `from_block..=to_block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogFilter {
    /// The emitting contract.
    pub address: Address,
    /// The first block read.
    pub from_block: u64,
    /// The last block read; `None` for the latest block.
    pub to_block: Option<u64>,
}

impl LogFilter {
    /// Every log of `address` from `from_block` to the latest block.
    pub fn since(address: Address, from_block: u64) -> Self {
        LogFilter {
            address,
            from_block,
            to_block: None,
        }
    }
}

/// A log of a committed transaction, with where it sits in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLog {
    /// The block that holds the transaction.
    pub block_number: u64,
    /// The transaction's position in its block (always 0 on the embedded chain, which
    /// mines one transaction per block).
    pub tx_index: u64,
    /// The log's position in its block (`logIndex`), across the block's transactions.
    pub log_index: u64,
    /// The transaction's hash, which [`Chain::transaction_input`] takes. On the embedded
    /// chain, whose transactions are unsigned, a stand-in: `keccak256(block ‖ input)`
    /// (one transaction per block, so it is unique); `None` from a node that did not
    /// say.
    pub tx_hash: Option<B256>,
    /// The emitting address, topics and data.
    pub log: Log,
}

/// Why a transaction or call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The EVM executed `REVERT`: `data` is the revert payload (a custom error's
    /// selector and arguments).
    #[error("reverted (gas used {gas_used}): 0x{}", hex::encode(data))]
    Reverted {
        /// The revert data.
        data: Bytes,
        /// Gas used up to the revert.
        gas_used: u64,
    },
    /// The EVM halted (out of gas, invalid opcode, …): all gas is spent.
    #[error("halted: {reason} (gas used {gas_used})")]
    Halted {
        /// The halt reason as the backend reports it.
        reason: String,
        /// Gas used.
        gas_used: u64,
    },
    /// The transaction was invalid (nonce, gas limit, …) or the backend failed.
    #[error("backend error: {0}")]
    Backend(String),
    /// Persisting or loading the chain state failed.
    #[error("state file {path}: {reason}")]
    State {
        /// The state file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Return data did not decode as the call's return type.
    #[error("return data does not decode: {0}")]
    Decode(#[from] alloy_sol_types::Error),
}

impl ChainError {
    /// The same error again, for when one failure answers several requests (a backend
    /// error as its message; the other kinds rebuilt field by field).
    pub fn copy(&self) -> ChainError {
        match self {
            ChainError::Reverted { data, gas_used } => ChainError::Reverted {
                data: data.clone(),
                gas_used: *gas_used,
            },
            ChainError::Halted { reason, gas_used } => ChainError::Halted {
                reason: reason.clone(),
                gas_used: *gas_used,
            },
            ChainError::Backend(m) => ChainError::Backend(m.clone()),
            ChainError::State { path, reason } => ChainError::State {
                path: path.clone(),
                reason: reason.clone(),
            },
            ChainError::Decode(e) => ChainError::Backend(e.to_string()),
        }
    }

    /// The revert data, if the EVM reverted.
    pub fn revert_data(&self) -> Option<&Bytes> {
        match self {
            ChainError::Reverted { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The revert decoded as one of a contract's custom errors (`Market::MarketErrors`,
    /// `Groth16Verifier::Groth16VerifierErrors`, …).
    pub fn decode<E: SolInterface>(&self) -> Option<E> {
        self.revert_data().and_then(|d| E::abi_decode(d).ok())
    }
}

/// An EVM chain a sealgrid market runs on.
pub trait Chain {
    /// The chain id (`block.chainid`, which the committee's digests include).
    fn chain_id(&mut self) -> Result<u64, ChainError>;

    /// Deploys `init_code` (bytecode followed by the constructor arguments) from `from`.
    fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Receipt, ChainError>;

    /// Executes a call without committing it (`eth_call`), returning its output.
    fn call(&mut self, from: Address, to: Address, data: Bytes) -> Result<Bytes, ChainError>;

    /// Executes and commits a transaction.
    fn transact(&mut self, from: Address, to: Address, data: Bytes) -> Result<Receipt, ChainError>;

    /// Executes and commits many transactions `(from, to, data)`, without waiting for
    /// one to be mined before sending the next, so that they can share blocks: what
    /// each came to, in the same order, each exactly what [`Chain::transact`] would
    /// have returned for it (a refused one's `Err` is its own, the others are not
    /// affected). They are sent in order, each sender's in nonce order; one that
    /// depends on an earlier one of the call (a deposit after its approve) is sent once
    /// that one is mined. This default sends them one after the other with
    /// [`Chain::transact`] (the embedded chain mines each at once anyway).
    fn transact_many(
        &mut self,
        txs: Vec<(Address, Address, Bytes)>,
    ) -> Vec<Result<Receipt, ChainError>> {
        txs.into_iter()
            .map(|(from, to, data)| self.transact(from, to, data))
            .collect()
    }

    /// The number of the latest committed block.
    fn block_number(&mut self) -> Result<u64, ChainError>;

    /// The time the chain has reached: no transaction committed from now on can carry an
    /// earlier `block.timestamp`. On a node, the latest block's timestamp; on the
    /// embedded chain, its clock (the next block's timestamp). A trustee decides from
    /// this, never from its own wall clock, when a deadline the contract enforces has
    /// passed (`docs/PROTOCOL.md` §7).
    fn chain_time(&mut self) -> Result<u64, ChainError>;

    /// The logs `filter` selects, ordered by (block, log index): the order in which the
    /// contract emitted them. Only committed transactions' logs (a reverted transaction
    /// leaves none).
    fn logs(&mut self, filter: &LogFilter) -> Result<Vec<ChainLog>, ChainError>;

    /// The input (calldata) of the committed transaction `tx_hash` (a
    /// [`ChainLog::tx_hash`]), so that what events do not carry (proofs, signatures) can
    /// be read back. Backends that cannot answer keep this default, an error.
    fn transaction_input(&mut self, tx_hash: B256) -> Result<Bytes, ChainError> {
        Err(ChainError::Backend(format!(
            "this backend cannot read transaction inputs ({tx_hash})"
        )))
    }

    /// The runtime code of the account `address` at the latest block (empty for an
    /// account without code). Backends that cannot answer keep this default, an error.
    fn code_at(&mut self, address: Address) -> Result<Bytes, ChainError> {
        Err(ChainError::Backend(format!(
            "this backend cannot read account code ({address})"
        )))
    }

    /// A typed read-only call.
    fn sol_call<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<C::Return, ChainError>
    where
        Self: Sized,
    {
        let out = self.call(from, to, call.abi_encode().into())?;
        Ok(C::abi_decode_returns(&out)?)
    }

    /// A typed transaction.
    fn sol_transact<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<Receipt, ChainError>
    where
        Self: Sized,
    {
        self.transact(from, to, call.abi_encode().into())
    }
}

/// What a development chain offers beyond [`Chain`], so that one test or benchmark runs
/// on either backend: a clock that can be moved forward, accounts that can pay for gas.
pub trait DevChain: Chain {
    /// The timestamp of the latest block (or of the next block, if the clock was set).
    fn now(&mut self) -> Result<u64, ChainError>;

    /// Moves the clock forward: the blocks after this call have a timestamp of at least
    /// `timestamp` (exactly it on the embedded chain; on a node, later by the time that
    /// passes). Afterwards [`DevChain::now`] is at least `timestamp`.
    fn warp(&mut self, timestamp: u64) -> Result<(), ChainError>;

    /// An account this chain can send transactions from, with the given secp256k1
    /// secret key; the embedded chain needs no signature and only derives the address.
    fn add_account(&mut self, secret: [u8; 32]) -> Result<Address, ChainError>;

    /// Makes sure `address` holds at least `wei` of the native coin (to pay for gas).
    fn fund(&mut self, address: Address, wei: U256) -> Result<(), ChainError>;

    /// [`DevChain::fund`] for each `(address, wei)`; a node sends the transfers together
    /// ([`Chain::transact_many`]). The first failure, if any.
    fn fund_many(&mut self, wants: &[(Address, U256)]) -> Result<(), ChainError> {
        wants.iter().try_for_each(|&(a, wei)| self.fund(a, wei))
    }
}

/// The address of the secp256k1 secret key `secret` (the last 20 bytes of the keccak of
/// its uncompressed public key).
pub fn address_of_secret(secret: &[u8; 32]) -> Result<Address, ChainError> {
    let key = k256::ecdsa::SigningKey::from_slice(secret)
        .map_err(|e| ChainError::Backend(format!("bad secret key: {e}")))?;
    Ok(address_of_key(&key))
}

pub(crate) fn address_of_key(key: &k256::ecdsa::SigningKey) -> Address {
    let point = key.verifying_key().to_encoded_point(false);
    Address::from_slice(&alloy_primitives::keccak256(&point.as_bytes()[1..])[12..])
}
