//! Gas of `Market.clear` as a function of the number of included bids, measured on a
//! market whose round holds that many bids, each submitted for real (a Groth16 bid
//! proof verified by the contract): no storage is written behind the contract's back.
//!
//! `clear` reads only the round's bid count and the inclusion bitmap, so who bid does
//! not matter; the contract takes one bid per account per round, so each of the n bids
//! comes from its own account (registered, one deposit proof, one bid proof). Used by the `gas` binary and its test
//! (`tests/gas.rs`). It lives here, not in `sealgrid-verifier-contract`, so that the
//! contract crate does not depend on proving.

use std::path::Path;

use alloy_primitives::{Address, U256};
use k256::ecdsa::SigningKey;
use rand::{CryptoRng, RngCore};
use sealgrid_circuits::balance::{BalanceCircuit, BalanceOpening, BalanceProofPrivate};
use sealgrid_circuits::bid::{self, BidCircuit};
use sealgrid_circuits::commitment::account_id;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::{MarketParams, Side};
use sealgrid_circuits::settle::SettleCircuit;
use sealgrid_circuits::Fr;
use sealgrid_committee::InclusionBitmap;
use sealgrid_prover::{prove, KeyError, KeyPair, KeyStore, NoProgress};
use sealgrid_verifier_contract::bindings::{poseidon3_init_code, Market, TestToken};
use sealgrid_verifier_contract::committee::{address_of, bitmap_words, clear_digest, sign_sorted};
use sealgrid_verifier_contract::{calldata, ChainError, DevChain};

/// The market parameters (the defaults: K = 8), the committee's flow keys and the three
/// key pairs that a measurement borrows as [`Keys`].
#[derive(Debug)]
pub struct KeySet {
    /// Market parameters.
    pub params: MarketParams,
    /// The committee's flow keys, drawn from the caller's RNG.
    pub flow: FlowKeys,
    /// Balance circuit keys.
    pub balance: KeyPair,
    /// Bid circuit keys.
    pub bid: KeyPair,
    /// Settle circuit keys.
    pub settle: KeyPair,
}

impl KeySet {
    /// Draws the flow keys from `rng`, then loads the three key pairs from `dir`, or runs
    /// their setup there (with `rng`) when they are missing or stale. The same seed gives
    /// the same circuits, so a second run reuses the keys.
    pub fn load_or_setup<R: RngCore + CryptoRng>(
        dir: &Path,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        let params = MarketParams::default();
        let (flow, _secrets) = FlowKeys::random(2 * params.levels + 1, rng);
        let store = KeyStore::open(dir)?;
        let balance = store.get_or_setup("balance", BalanceCircuit::blank(), rng, &NoProgress)?;
        let bid = store.get_or_setup(
            "bid",
            BidCircuit::for_setup(&params, &flow),
            rng,
            &NoProgress,
        )?;
        let settle = store.get_or_setup(
            "settle",
            SettleCircuit::for_setup(&params, &flow),
            rng,
            &NoProgress,
        )?;
        Ok(KeySet {
            params,
            flow,
            balance,
            bid,
            settle,
        })
    }

    /// The set as a measurement borrows it.
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            params: &self.params,
            flow: &self.flow,
            balance: &self.balance,
            bid: &self.bid,
            settle: &self.settle,
        }
    }
}

/// The parameters and keys a market needs.
#[derive(Debug)]
pub struct Keys<'a> {
    /// Market parameters (K = `params.levels`).
    pub params: &'a MarketParams,
    /// The committee's flow keys.
    pub flow: &'a FlowKeys,
    /// Balance circuit keys.
    pub balance: &'a KeyPair,
    /// Bid circuit keys.
    pub bid: &'a KeyPair,
    /// Settle circuit keys (only deployed here).
    pub settle: &'a KeyPair,
}

/// What one measurement saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClearGas {
    /// Bids in the round, all included.
    pub bids: usize,
    /// Gas of the `clear` transaction.
    pub clear: u64,
    /// Bids per transaction (1: `submitBid`; more: `submitBids`).
    pub batch: usize,
    /// Least and most gas per bid: a `submitBid`'s, or a `submitBids` transaction's
    /// divided by its bids.
    pub submit_bid: (u64, u64),
    /// Gas of `closeRound`.
    pub close_round: u64,
    /// Least and most gas of a `register`.
    pub register: (u64, u64),
}

fn err(what: &str, e: ChainError) -> ChainError {
    match e {
        ChainError::Backend(m) => ChainError::Backend(format!("{what}: {m}")),
        other => {
            let decoded = other.decode::<Market::MarketErrors>();
            ChainError::Backend(format!("{what}: {other} {decoded:?}"))
        }
    }
}

/// Deploys a market on `chain`, submits `n` real bids in one round, `batch` to a
/// transaction (1: each alone with `submitBid`; more: `submitBids`, the last batch
/// possibly shorter), closes it and clears it with every bid included (two of three
/// trustee signatures).
pub fn measure_clear<C: DevChain, R: RngCore + CryptoRng>(
    chain: &mut C,
    keys: &Keys<'_>,
    n: usize,
    batch: usize,
    rng: &mut R,
) -> Result<ClearGas, ChainError> {
    let batch = batch.max(1);
    const ROUND: u64 = 1;
    let params = keys.params;
    let chain_id = chain.chain_id()?;
    let operator = chain.add_account([0x0a; 32])?;
    let agg = chain.add_account([0x0b; 32])?;
    let eth = U256::from(10u128.pow(19));
    chain.fund(operator, eth)?;
    chain.fund(agg, eth)?;
    let deploy = |chain: &mut C, code| -> Result<Address, ChainError> {
        chain
            .deploy(operator, code)?
            .contract_address
            .ok_or_else(|| ChainError::Backend("no contract created".into()))
    };
    let balance_v = deploy(chain, calldata::verifier_init_code(&keys.balance.vk))?;
    let bid_v = deploy(chain, calldata::verifier_init_code(&keys.bid.vk))?;
    let settle_v = deploy(chain, calldata::verifier_init_code(&keys.settle.vk))?;
    let token = deploy(chain, TestToken::BYTECODE.clone())?;
    let poseidon = deploy(chain, poseidon3_init_code())?;
    let market = deploy(
        chain,
        calldata::init_code(
            &Market::BYTECODE,
            &Market::constructorCall {
                token_: token,
                balanceVerifier_: balance_v,
                bidVerifier_: bid_v,
                settleVerifier_: settle_v,
                poseidon_: poseidon,
                committeeDelay_: 0,
                params_: Market::Params {
                    levels: params.levels as u32,
                    kAnonymity: params.k_anonymity as u32,
                    maxUnsettled: 1,
                    maxDefaults: 1,
                },
            },
        ),
    )?;
    let trustees: Vec<SigningKey> = (1..=3u8)
        .map(|i| SigningKey::from_slice(&[i; 32]).expect("a valid key"))
        .collect();
    chain
        .sol_transact(
            operator,
            market,
            &Market::proposeCommitteeCall {
                members: trustees.iter().map(address_of).collect(),
                t: U256::from(2),
            },
        )
        .map_err(|e| err("proposeCommittee", e))?;

    // n accounts: each registered, funded by one deposit (the aggregator pays).
    let deposit: u64 = 1 << 30;
    chain
        .sol_transact(
            operator,
            token,
            &TestToken::mintCall {
                to: agg,
                value: U256::from(deposit) * U256::from(n.max(1)),
            },
        )
        .map_err(|e| err("mint", e))?;
    chain
        .sol_transact(
            agg,
            token,
            &TestToken::approveCall {
                spender: market,
                value: U256::MAX,
            },
        )
        .map_err(|e| err("approve", e))?;
    let mut register = (u64::MAX, 0u64);
    let mut openings = Vec::with_capacity(n);
    for i in 0..n {
        let opening = BalanceOpening {
            sk_acct: Fr::from(4242u64 + i as u64),
            balance: 0,
            salt: Fr::from(0u64),
        };
        let acct = account_id(opening.sk_acct);
        let r = chain
            .sol_transact(
                operator,
                market,
                &Market::registerCall {
                    acct: calldata::fr(&acct),
                    meterId: U256::from(1 + i as u64),
                },
            )
            .map_err(|e| err("register", e))?;
        register = (register.0.min(r.gas_used), register.1.max(r.gas_used));
        let (public, private, next) =
            BalanceProofPrivate::transition(&opening, None, deposit as i128, Fr::from(0u64), rng)
                .map_err(|e| ChainError::Backend(format!("deposit statement: {e:?}")))?;
        let st = prove(
            &keys.balance.pk,
            BalanceCircuit::new(public, private),
            rng,
            &NoProgress,
        )
        .map_err(|e| ChainError::Backend(format!("deposit proof: {e:?}")))?;
        chain
            .sol_transact(
                agg,
                market,
                &Market::depositCall {
                    proof: calldata::proof(&st.proof),
                    inp: calldata::balance_inputs(&public),
                },
            )
            .map_err(|e| err("deposit", e))?;
        openings.push(next);
    }

    // One round, n bids.
    let t0 = chain.now()?;
    let window = 100_000;
    chain
        .sol_transact(
            operator,
            market,
            &Market::openRoundCall {
                round: ROUND,
                bidDeadline: t0 + window,
                settleStart: t0 + 2 * window,
                settleDeadline: t0 + 3 * window,
            },
        )
        .map_err(|e| err("openRound", e))?;
    chain
        .sol_transact(operator, market, &Market::startBiddingCall { round: ROUND })
        .map_err(|e| err("startBidding", e))?;
    let k = params.levels;
    let (mut h_buy, mut h_sell) = (vec![0u64; k], vec![0u64; k]);
    let mut submit_bid = (u64::MAX, 0u64);
    let mut pending = Vec::with_capacity(batch);
    for i in 0..n {
        // buyers high, sellers low: the curves cross
        let (side, level) = if i % 2 == 0 {
            (Side::Buy, k / 2 + (i / 2) % (k - k / 2))
        } else {
            (Side::Sell, (i / 2) % (k / 2 + 1))
        };
        let q = 1 + (i as u64 % 7);
        let opening = &openings[i];
        let b = bid::prepare(
            params,
            keys.flow,
            ROUND,
            opening.sk_acct,
            opening.balance,
            opening.salt,
            side,
            level,
            q,
            rng,
        )
        .map_err(|e| ChainError::Backend(format!("bid {i}: {e:?}")))?;
        let circuit = BidCircuit {
            params: params.clone(),
            keys: keys.flow.clone(),
            public: b.public.clone(),
            private: b.private.clone(),
        };
        let st = prove(&keys.bid.pk, circuit, rng, &NoProgress)
            .map_err(|e| ChainError::Backend(format!("bid proof {i}: {e:?}")))?;
        pending.push(Market::BidItem {
            proof: calldata::proof(&st.proof),
            inp: calldata::bid_inputs(&b.public),
            ciphertexts: calldata::ciphertexts(&b.ciphertexts),
        });
        if pending.len() == batch || i + 1 == n {
            let items = std::mem::take(&mut pending);
            let m = items.len() as u64;
            let r = if batch == 1 {
                let it = items.into_iter().next().expect("one bid");
                chain.sol_transact(
                    agg,
                    market,
                    &Market::submitBidCall {
                        proof: it.proof,
                        inp: it.inp,
                        ciphertexts: it.ciphertexts,
                    },
                )
            } else {
                chain.sol_transact(agg, market, &Market::submitBidsCall { items })
            }
            .map_err(|e| err(&format!("bids up to {i}"), e))?;
            let per = r.gas_used / m;
            submit_bid = (submit_bid.0.min(per), submit_bid.1.max(per));
        }
        match side {
            Side::Buy => h_buy[level] += q,
            Side::Sell => h_sell[level] += q,
        }
    }

    chain.warp(t0 + window)?;
    let close_round = chain
        .sol_transact(operator, market, &Market::closeRoundCall { round: ROUND })
        .map_err(|e| err("closeRound", e))?
        .gas_used;
    let included = bitmap_words(&InclusionBitmap::from_indices(n, 0..n as u32));
    let digest = clear_digest(
        chain_id, market, ROUND, n as u32, &h_buy, &h_sell, &included,
    );
    let clear = chain
        .sol_transact(
            operator,
            market,
            &Market::clearCall {
                round: ROUND,
                hBuy: h_buy,
                hSell: h_sell,
                included,
                sigs: sign_sorted(&trustees[1..].iter().collect::<Vec<_>>(), digest),
            },
        )
        .map_err(|e| err("clear", e))?
        .gas_used;
    Ok(ClearGas {
        bids: n,
        batch,
        clear,
        submit_bid,
        close_round,
        register,
    })
}
