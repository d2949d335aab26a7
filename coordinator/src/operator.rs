//! The operator's one-time steps for a market whose parts run as separate processes:
//! deploy the contracts for a committee (its public setup and signing addresses, as
//! each trustee's `sealgrid-trustee dkg` writes them), write the market file, point the
//! committee's signing domain at the deployed market, and register prosumers whose
//! wallets are derived from a seed (so their own processes can re-derive them).

use std::path::Path;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use sealgrid_committee::sign::{Address as CAddress, SigningDomain};
use sealgrid_market::TrusteeSetup;
use sealgrid_prover::{CircuitKeys, Circuits, KeyStore, Progress};
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec};
use sealgrid_verifier_contract::DevChain;

use crate::market::{MarketFile, VerifierKeyIds};
use sealgrid_wallet::Wallet;

/// The operator's key on an embedded chain (public: the embedded chain checks no
/// signature, so this key protects nothing there).
pub const EMBEDDED_OPERATOR_SECRET: [u8; 32] = [0x0a; 32];

/// Native coin given to each account that sends transactions (gas on a node; the
/// embedded chain charges none).
pub const GAS_MONEY: u128 = 10u128.pow(18);

/// What the operator deploys.
#[derive(Clone, Debug)]
pub struct DeployPlan {
    /// The committee's public setup (its domain is rewritten).
    pub setup: TrusteeSetup,
    /// The committee's signing addresses.
    pub trustees: Vec<CAddress>,
    /// Qualification limits.
    pub max_unsettled: u32,
    /// See `max_unsettled`.
    pub max_defaults: u32,
    /// Prosumers to register: `count` wallets from `seed`, each with `tokens` minted to
    /// its payer.
    pub prosumers: u64,
    /// See `prosumers`.
    pub prosumer_seed: u64,
    /// See `prosumers`.
    pub tokens: u64,
    /// The trusted-setup ceremony's directory (`phase1.ptau`, `balance.zkey`,
    /// `bid.zkey`, `settle.zkey`, for this committee's circuits): its keys are checked
    /// against the circuits, installed and deployed, and its record written into the
    /// market file. `None`: a single party's setup here, which the audit reports.
    pub ceremony: Option<std::path::PathBuf>,
    /// The EVM rules of the chain (London for chains without PUSH0).
    pub evm: sealgrid_verifier_contract::artifacts::EvmTarget,
}

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OperatorError(pub String);

fn err(e: impl std::fmt::Display) -> OperatorError {
    OperatorError(e.to_string())
}

/// Takes the Groth16 keys for the committee's flow keys from the ceremony (or loads or
/// makes them in one party's setup), deploys, registers the prosumers, and returns the
/// market file and the committee setup with its domain.
pub fn deploy<C: DevChain>(
    chain: &mut C,
    operator_secret: [u8; 32],
    plan: &DeployPlan,
    key_dir: &Path,
    progress: &(dyn Progress + Sync),
) -> Result<(MarketFile, TrusteeSetup, CircuitKeys), OperatorError> {
    let circuits =
        Circuits::new(plan.setup.market.clone(), plan.setup.committee.flow_keys()).map_err(err)?;
    let store = KeyStore::open(key_dir).map_err(err)?;
    let (keys, setup_record) = match &plan.ceremony {
        None => (
            CircuitKeys::load_or_setup(circuits, &store, progress)
                .map_err(|e| OperatorError(format!("keys for {}: {}", e.0, e.1)))?,
            None,
        ),
        Some(dir) => {
            let step = |what: &str| {
                progress.event(&sealgrid_prover::Event::Step {
                    what: format!("ceremony: {what}"),
                })
            };
            let (keys, record) =
                sealgrid_ceremony::market::keys_from_dir(dir, circuits, &store, &step)
                    .map_err(|e| OperatorError(format!("ceremony {}: {e}", dir.display())))?;
            (keys, Some(record))
        }
    };
    let operator = chain.add_account(operator_secret).map_err(err)?;
    chain
        .fund(operator, U256::from(10 * GAS_MONEY))
        .map_err(err)?;
    let trustees: Vec<Address> = plan.trustees.iter().map(|a| Address::from(a.0)).collect();
    let deployment = deploy_market(
        chain,
        operator,
        &DeploySpec {
            params: &plan.setup.market,
            balance_vk: &keys.balance.vk,
            bid_vk: &keys.bid.vk,
            settle_vk: &keys.settle.vk,
            trustees: &trustees,
            threshold: plan.setup.committee.params.t as usize,
            max_unsettled: plan.max_unsettled,
            max_defaults: plan.max_defaults,
            token: None,
            // demo and test markets: no delay (PROTOCOL §8 gives the production one)
            committee_delay: sealgrid_verifier_contract::deploy::DEMO_COMMITTEE_DELAY,
            evm: plan.evm,
        },
    )
    .map_err(err)?;
    let (market, token) = (deployment.market, deployment.token);
    // The operator funds negative residuals (rounding dust bought by the grid).
    let funds = vec![
        (operator, token, mint(operator, 1u64 << 40)),
        (operator, token, approve_all(market)),
    ];
    for r in chain.transact_many(funds) {
        r.map_err(err)?;
    }
    let prosumers: Vec<Registration> = (0..plan.prosumers)
        .map(|i| Registration::of(&Wallet::from_seed(plan.prosumer_seed, i)))
        .collect();
    register_prosumers(chain, operator, market, token, &prosumers, plan.tokens)?;
    let mut setup = plan.setup.clone();
    setup.domain = SigningDomain {
        chain_id: deployment.chain_id,
        contract: CAddress(market.0 .0),
    };
    let file = MarketFile {
        trustee_setup: setup.clone(),
        trustees: plan.trustees.clone(),
        verifying_keys: VerifierKeyIds {
            balance: keys.balance.id.verifying.clone(),
            bid: keys.bid.id.verifying.clone(),
            settle: keys.settle.id.verifying.clone(),
        },
        deployment,
        setup: setup_record,
    };
    Ok((file, setup, keys))
}

/// What the operator needs of a prosumer's wallet to register it.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The `register` call: account and meter.
    pub call: Market::registerCall,
    /// The secret key of the wallet's payer, which approves the market (and needs gas).
    pub payer_secret: [u8; 32],
}

impl Registration {
    /// `wallet`'s registration.
    pub fn of(wallet: &Wallet) -> Registration {
        Registration {
            call: wallet.registration(),
            payer_secret: wallet.payer.to_bytes().into(),
        }
    }
}

/// The operator registers each prosumer's account and meter and mints `tokens` to its
/// payer, which approves `market`: the payers get their gas money first (together),
/// then every registration goes in one
/// [`Chain::transact_many`](sealgrid_verifier_contract::Chain::transact_many), then the
/// mints and approvals of the prosumers registered, in a second one; so that on a node
/// with real blocks they share a few blocks instead of taking one each. A prosumer whose
/// registration is refused gets no tokens. The first refusal, if any, naming the
/// prosumer (its position and meter) and the step; the other prosumers' steps stand.
pub fn register_prosumers<C: DevChain>(
    chain: &mut C,
    operator: Address,
    market: Address,
    token: Address,
    prosumers: &[Registration],
    tokens: u64,
) -> Result<(), OperatorError> {
    let payers = prosumers
        .iter()
        .map(|p| chain.add_account(p.payer_secret))
        .collect::<Result<Vec<Address>, _>>()
        .map_err(err)?;
    let gas: Vec<(Address, U256)> = payers.iter().map(|&p| (p, U256::from(GAS_MONEY))).collect();
    chain.fund_many(&gas).map_err(err)?;
    let who = |i: usize| format!("prosumer {i} (meter {})", prosumers[i].call.meterId);
    let registered = chain.transact_many(
        prosumers
            .iter()
            .map(|p| (operator, market, p.call.abi_encode().into()))
            .collect(),
    );
    let mut first_error = None;
    let mut funded = Vec::new();
    for (i, r) in registered.into_iter().enumerate() {
        match r {
            Ok(_) => funded.push(i),
            Err(e) => {
                first_error.get_or_insert_with(|| format!("{}: register: {e}", who(i)));
            }
        }
    }
    const STEPS: [&str; 2] = ["mint", "approve"];
    let txs = funded
        .iter()
        .map(|&i| payers[i])
        .flat_map(|payer| {
            [
                (operator, token, mint(payer, tokens)),
                (payer, token, approve_all(market)),
            ]
        })
        .collect();
    for (k, r) in chain.transact_many(txs).into_iter().enumerate() {
        if let Err(e) = r {
            let i = funded[k / STEPS.len()];
            first_error
                .get_or_insert_with(|| format!("{}: {}: {e}", who(i), STEPS[k % STEPS.len()]));
        }
    }
    match first_error {
        None => Ok(()),
        Some(e) => Err(OperatorError(e)),
    }
}

/// The token's `mint(to, value)` call.
fn mint(to: Address, value: u64) -> Bytes {
    TestToken::mintCall {
        to,
        value: U256::from(value),
    }
    .abi_encode()
    .into()
}

/// The token's `approve(market, 2^256 - 1)` call: the market may move what it needs.
fn approve_all(market: Address) -> Bytes {
    TestToken::approveCall {
        spender: market,
        value: U256::MAX,
    }
    .abi_encode()
    .into()
}
