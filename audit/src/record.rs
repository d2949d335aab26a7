//! What the chain says, read once: the [`PublicRecord`] every check works on. Its
//! fields are public so that a test can tamper with them (a changed ciphertext in an
//! event, an altered proof in a transaction input) and see the audit fail.

use std::collections::BTreeMap;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use sealgrid_market::file::MarketFile;
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::events::{market_events, EventError, MarketEvent, MarketEvents};
use sealgrid_verifier_contract::{Chain, ChainError};

/// Why the record could not be read (a chain that does not answer; a failed check is
/// never an error, it is a verdict).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The chain did not answer.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The market's logs do not decode.
    #[error(transparent)]
    Events(#[from] EventError),
    /// A view call's return data did not decode.
    #[error("{call}: {reason}")]
    Decode {
        /// The call.
        call: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
}

/// The public record of a market, as of block `block`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicRecord {
    /// The latest block when the record was read; balances and views are as of it.
    pub block: u64,
    /// Every event of the market since its deployment block, in emission order.
    pub events: Vec<MarketEvent>,
    /// The input of every transaction that emitted one of `events`, by hash; a
    /// transaction whose input could not be read is absent (its checks fail).
    pub inputs: BTreeMap<B256, Bytes>,
    /// Why an input could not be read, by hash.
    pub missing_inputs: BTreeMap<B256, String>,
    /// The verifier addresses the market contract calls: balance, bid, settle.
    pub verifiers: [Address; 3],
    /// The runtime code at each of `verifiers`.
    pub verifier_code: [Bytes; 3],
    /// The runtime code at the market file's market address.
    pub market_code: Bytes,
    /// The runtime code at the market file's Poseidon address.
    pub poseidon_code: Bytes,
    /// The clearing rule's contract the market calls (`clearingRule()`, created by its
    /// constructor) and the runtime code there.
    pub clearing_rule: (Address, Bytes),
    /// The contract's committee and threshold.
    pub committee: (Vec<Address>, U256),
    /// The contract's inclusion bitmap of each round (words, one per 256 bids).
    pub inclusion: BTreeMap<u64, Vec<U256>>,
    /// The contract's payout state (a `sealgrid_verifier_contract::state::PayoutState`) of each settlement's
    /// payout commitment.
    pub payouts: BTreeMap<U256, u8>,
    /// The market's balance of its token.
    pub token_balance: U256,
    /// The chain's id.
    pub chain_id: u64,
    /// The contract's operator (`operator()`).
    pub operator: Address,
    /// The contract's token (`token()`).
    pub token: Address,
    /// The contract's parameters (`params()`): levels, k-anonymity floor, unsettled and
    /// default limits.
    pub params: OnChainParams,
}

/// `Market.params()`, as the contract holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnChainParams {
    /// K, the number of price levels.
    pub levels: u32,
    /// The k-anonymity floor.
    pub k_anonymity: u32,
    /// Rounds in flight per account.
    pub max_unsettled: u32,
    /// Defaults per account.
    pub max_defaults: u32,
}

impl PublicRecord {
    /// The rounds opened on chain, in order.
    pub fn opened_rounds(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|e| match &e.event {
                MarketEvents::RoundOpened(o) => Some(o.round),
                _ => None,
            })
            .collect()
    }

    /// The events of `round`.
    pub fn round_events(&self, round: u64) -> impl Iterator<Item = &MarketEvent> {
        self.events.iter().filter(move |e| e.round() == Some(round))
    }

    /// The input of the transaction that emitted `e`, or why there is none.
    pub fn input_of(&self, e: &MarketEvent) -> Result<&Bytes, String> {
        let Some(hash) = e.tx_hash else {
            return Err(format!(
                "block {} log {}: the chain gave no transaction hash",
                e.block_number, e.log_index
            ));
        };
        self.inputs.get(&hash).ok_or_else(|| {
            format!(
                "block {} log {}: input of {hash} not available: {}",
                e.block_number,
                e.log_index,
                self.missing_inputs
                    .get(&hash)
                    .map_or("not read", String::as_str)
            )
        })
    }
}

fn view<C: SolCall>(
    chain: &mut dyn Chain,
    to: Address,
    call: &C,
    name: &'static str,
) -> Result<C::Return, RecordError> {
    let out = chain.call(Address::ZERO, to, call.abi_encode().into())?;
    C::abi_decode_returns(&out).map_err(|e| RecordError::Decode {
        call: name,
        reason: e.to_string(),
    })
}

/// Reads the record of the market `market` describes.
pub fn read_record(
    chain: &mut dyn Chain,
    market: &MarketFile,
) -> Result<PublicRecord, RecordError> {
    let d = &market.deployment;
    let block = chain.block_number()?;
    let chain_id = chain.chain_id()?;
    let operator = view(chain, d.market, &Market::operatorCall {}, "operator")?;
    let token = view(chain, d.market, &Market::tokenCall {}, "token")?;
    let p = view(chain, d.market, &Market::paramsCall {}, "params")?;
    let params = OnChainParams {
        levels: p.levels,
        k_anonymity: p.kAnonymity,
        max_unsettled: p.maxUnsettled,
        max_defaults: p.maxDefaults,
    };
    let events = market_events(chain, d.market, d.deployment_block)?;
    let mut inputs = BTreeMap::new();
    let mut missing_inputs = BTreeMap::new();
    for hash in events.iter().filter_map(|e| e.tx_hash) {
        if inputs.contains_key(&hash) || missing_inputs.contains_key(&hash) {
            continue;
        }
        match chain.transaction_input(hash) {
            Ok(b) => {
                inputs.insert(hash, b);
            }
            Err(e) => {
                missing_inputs.insert(hash, e.to_string());
            }
        }
    }
    let verifiers = [
        view(
            chain,
            d.market,
            &Market::balanceVerifierCall {},
            "balanceVerifier",
        )?,
        view(chain, d.market, &Market::bidVerifierCall {}, "bidVerifier")?,
        view(
            chain,
            d.market,
            &Market::settleVerifierCall {},
            "settleVerifier",
        )?,
    ];
    let verifier_code = [
        chain.code_at(verifiers[0])?,
        chain.code_at(verifiers[1])?,
        chain.code_at(verifiers[2])?,
    ];
    let market_code = chain.code_at(d.market)?;
    let poseidon_code = chain.code_at(d.poseidon)?;
    let rule = view(
        chain,
        d.market,
        &Market::clearingRuleCall {},
        "clearingRule",
    )?;
    let clearing_rule = (rule, chain.code_at(rule)?);
    let c = view(chain, d.market, &Market::committeeCall {}, "committee")?;
    let mut bids_per_round: BTreeMap<u64, u64> = BTreeMap::new();
    let mut payouts = BTreeMap::new();
    for e in &events {
        match &e.event {
            MarketEvents::RoundOpened(o) => {
                bids_per_round.entry(o.round).or_default();
            }
            MarketEvents::BidSubmitted(b) => *bids_per_round.entry(b.round).or_default() += 1,
            MarketEvents::Settled(s) => {
                let state = view(chain, d.market, &Market::payoutsCall(s.pOut), "payouts")?;
                payouts.insert(s.pOut, state.state);
            }
            _ => {}
        }
    }
    let mut inclusion = BTreeMap::new();
    for (&round, &bids) in &bids_per_round {
        let words = (0..bids.div_ceil(256))
            .map(|w| {
                view(
                    chain,
                    d.market,
                    &Market::inclusionCall {
                        _0: round,
                        _1: U256::from(w),
                    },
                    "inclusion",
                )
            })
            .collect::<Result<Vec<U256>, RecordError>>()?;
        inclusion.insert(round, words);
    }
    let token_balance = view(
        chain,
        d.token,
        &TestToken::balanceOfCall(d.market),
        "balanceOf",
    )?;
    Ok(PublicRecord {
        block,
        events,
        inputs,
        missing_inputs,
        verifiers,
        verifier_code,
        market_code,
        poseidon_code,
        clearing_rule,
        committee: (c._0, c._1),
        inclusion,
        payouts,
        token_balance,
        chain_id,
        operator,
        token,
        params,
    })
}
