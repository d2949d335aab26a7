//! The interface every EVM backend offers: deploy, call (read only), transact; each
//! transaction reports its gas and logs, each failure its revert data.

use alloy_primitives::{Address, Bytes, Log, U256};
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
