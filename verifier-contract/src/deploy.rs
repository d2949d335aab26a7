//! Deploying a market: the three Groth16 verifiers (keys in immutables), the on-chain
//! Poseidon `register` calls ([`crate::bindings::Poseidon3`]), the token (a
//! [`TestToken`] unless one is given), the [`Market`] and its first committee. What an
//! operator runs once, and what the coordinator, the demo and the auditor read back
//! ([`MarketDeployment`], serialisable so it can be handed to other processes).

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::artifacts::{Deployable, EvmTarget};
use crate::bindings::{poseidon3_init_code, Market};
use crate::calldata;
use crate::chain::{Chain, ChainError, Receipt};
use crate::VerifyingKey;
use sealgrid_circuits::market::MarketParams;

/// Where a market lives and what it was deployed with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketDeployment {
    /// `block.chainid`.
    pub chain_id: u64,
    /// The operator (deployer; opens rounds, registers prosumers).
    pub operator: Address,
    /// The ERC-20 token.
    pub token: Address,
    /// The market contract.
    pub market: Address,
    /// The verifiers of the balance, bid and settle circuits.
    pub balance_verifier: Address,
    /// See `balance_verifier`.
    pub bid_verifier: Address,
    /// See `balance_verifier`.
    pub settle_verifier: Address,
    /// The block the market was created in (its events start there).
    pub deployment_block: u64,
    /// Qualification limits set at deployment.
    pub max_unsettled: u32,
    /// See `max_unsettled`.
    pub max_defaults: u32,
    /// The Poseidon contract the market computes registrations' `H(0, 0, acct)` with.
    #[serde(default)]
    pub poseidon: Address,
    /// Seconds between a committee's proposal and its earliest activation (the
    /// contract's immutable `committeeDelay`).
    #[serde(default)]
    pub committee_delay: u64,
    /// The EVM rules the contracts were compiled for (the audit rebuilds the verifiers'
    /// runtime code with the same build).
    #[serde(default)]
    pub evm: EvmTarget,
}

/// The committee delay of demo and test markets: 0, so that tests need not move the
/// clock to set their committee. A production market takes at least one round's
/// bidding-to-settlement span plus a withdrawal margin, e.g. [`PRODUCTION_COMMITTEE_DELAY`].
pub const DEMO_COMMITTEE_DELAY: u64 = 0;

/// A committee delay for a production market (PROTOCOL §8): 24 hours, more than a
/// round's bidding-to-settlement span with time to withdraw after a proposal is seen.
pub const PRODUCTION_COMMITTEE_DELAY: u64 = 24 * 3600;

/// What to deploy.
#[derive(Clone, Copy, Debug)]
pub struct DeploySpec<'a> {
    /// Market parameters (K and the k-anonymity floor go on chain).
    pub params: &'a MarketParams,
    /// Verifying keys of the balance, bid and settle circuits.
    pub balance_vk: &'a VerifyingKey,
    /// See `balance_vk`.
    pub bid_vk: &'a VerifyingKey,
    /// See `balance_vk`.
    pub settle_vk: &'a VerifyingKey,
    /// The committee's signing addresses and threshold.
    pub trustees: &'a [Address],
    /// See `trustees`.
    pub threshold: usize,
    /// A bid needs `unsettled < max_unsettled` (rounds in flight per account).
    pub max_unsettled: u32,
    /// A bid needs `defaults < max_defaults`.
    pub max_defaults: u32,
    /// An existing ERC-20 token; `None` deploys a [`TestToken`].
    pub token: Option<Address>,
    /// Seconds between a committee's proposal and its activation
    /// ([`DEMO_COMMITTEE_DELAY`] for demos and tests).
    pub committee_delay: u64,
    /// The EVM rules of the chain: Shanghai, or London for chains without PUSH0.
    pub evm: EvmTarget,
}

fn created(r: Receipt) -> Result<Address, ChainError> {
    r.contract_address
        .ok_or_else(|| ChainError::Backend("deployment created no contract".into()))
}

/// Deploys the verifiers, the token (if none is given) and the market from `operator`,
/// and sets the committee. `deployment_block` is the chain's block number before the
/// market was created, so reading events from it misses none.
pub fn deploy_market(
    chain: &mut dyn Chain,
    operator: Address,
    spec: &DeploySpec<'_>,
) -> Result<MarketDeployment, ChainError> {
    spec.params
        .validate()
        .map_err(|e| ChainError::Backend(format!("market parameters: {e}")))?;
    let chain_id = chain.chain_id()?;
    let evm = spec.evm;
    let balance_verifier = created(chain.deploy(
        operator,
        calldata::verifier_init_code_for(spec.balance_vk, evm),
    )?)?;
    let bid_verifier =
        created(chain.deploy(operator, calldata::verifier_init_code_for(spec.bid_vk, evm))?)?;
    let settle_verifier = created(chain.deploy(
        operator,
        calldata::verifier_init_code_for(spec.settle_vk, evm),
    )?)?;
    let poseidon = created(chain.deploy(operator, poseidon3_init_code())?)?;
    let token = match spec.token {
        Some(t) => t,
        None => created(chain.deploy(operator, evm.bytecode(Deployable::TestToken))?)?,
    };
    let deployment_block = chain.block_number()?;
    let market = created(chain.deploy(
        operator,
        calldata::init_code(
            &evm.bytecode(Deployable::Market),
            &Market::constructorCall {
                token_: token,
                balanceVerifier_: balance_verifier,
                bidVerifier_: bid_verifier,
                settleVerifier_: settle_verifier,
                poseidon_: poseidon,
                committeeDelay_: spec.committee_delay,
                params_: Market::Params {
                    levels: spec.params.levels as u32,
                    kAnonymity: spec.params.k_anonymity as u32,
                    maxUnsettled: spec.max_unsettled,
                    maxDefaults: spec.max_defaults,
                },
            },
        ),
    )?)?;
    // The first committee is current at once (there is none to replace).
    let set = Market::proposeCommitteeCall {
        members: spec.trustees.to_vec(),
        t: U256::from(spec.threshold),
    };
    chain.transact(
        operator,
        market,
        alloy_sol_types::SolCall::abi_encode(&set).into(),
    )?;
    Ok(MarketDeployment {
        chain_id,
        operator,
        token,
        market,
        balance_verifier,
        bid_verifier,
        settle_verifier,
        deployment_block,
        max_unsettled: spec.max_unsettled,
        max_defaults: spec.max_defaults,
        poseidon,
        committee_delay: spec.committee_delay,
        evm,
    })
}
