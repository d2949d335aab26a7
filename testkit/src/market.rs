//! A market on a development chain, driven as its operator and prosumers drive it, with
//! real proofs: the operator's float, prosumers with fixed secrets, their registration,
//! and the deposit, bid and settlement of each turned into the contract call that posts
//! it. The steps build calls rather than send them, so a test can send a tampered copy
//! first, or measure each one's gas.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use rand::{CryptoRng, RngCore};
use sealgrid_circuits::balance::{
    BalanceCircuit, BalanceOpening, BalanceProofPrivate, PayoutOpening,
};
use sealgrid_circuits::bid::{self, BidCircuit, BidOpening, PreparedBid};
use sealgrid_circuits::commitment::account_id;
use sealgrid_circuits::eddsa::PrivateKey;
use sealgrid_circuits::market::{Clearing, Side};
use sealgrid_circuits::settle::{self, PreparedSettlement, SettleCircuit};
use sealgrid_circuits::Fr;
use sealgrid_prover::{prove, NoProgress};
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::deploy::MarketDeployment;
use sealgrid_verifier_contract::{calldata, Chain, DevChain, Receipt};

use crate::bids::{exported, IMPORTED};
use crate::keys::TestKeys;

/// Sends `call` from `from` to `to`, panicking with the function's signature and the
/// market's decoded error if it reverts.
pub fn transact<C: Chain, T: SolCall>(
    chain: &mut C,
    from: Address,
    to: Address,
    call: &T,
) -> Receipt {
    chain.sol_transact(from, to, call).unwrap_or_else(|e| {
        panic!(
            "{} failed: {e} {:?}",
            T::SIGNATURE,
            e.decode::<Market::MarketErrors>()
        )
    })
}

/// The accounts and contracts of a deployed market that the fixtures send to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contracts {
    /// The operator: registers prosumers, opens rounds, funds negative residuals.
    pub operator: Address,
    /// The ERC-20 token.
    pub token: Address,
    /// The market.
    pub market: Address,
}

impl From<&MarketDeployment> for Contracts {
    fn from(d: &MarketDeployment) -> Contracts {
        Contracts {
            operator: d.operator,
            token: d.token,
            market: d.market,
        }
    }
}

/// Mints `amount` tokens to the operator and lets the market draw on them: the float
/// from which a finalization pays a negative residual (dust the grid buys).
pub fn fund_operator<C: Chain>(chain: &mut C, c: &Contracts, amount: u64) {
    mint_and_approve(chain, c, c.operator, amount);
}

fn mint_and_approve<C: Chain>(chain: &mut C, c: &Contracts, to: Address, amount: u64) {
    transact(
        chain,
        c.operator,
        c.token,
        &TestToken::mintCall {
            to,
            value: U256::from(amount),
        },
    );
    transact(
        chain,
        to,
        c.token,
        &TestToken::approveCall {
            spender: c.market,
            value: U256::MAX,
        },
    );
}

/// A prosumer of the round tests, with fixed secrets.
#[derive(Clone, Debug)]
pub struct Prosumer {
    /// Its account on the chain: pays its deposits, sends its bids.
    pub evm: Address,
    /// The opening of its current free balance.
    pub opening: BalanceOpening,
    /// Its meter's signing key.
    pub meter: PrivateKey,
}

impl Prosumer {
    /// Prosumer `i`: chain key `[0x10 + i; 32]` (added to `chain`), account secret
    /// `1000 + i`, meter key `[0x40 + i; 32]`, an empty free balance (salt 0).
    pub fn join<C: DevChain>(chain: &mut C, i: u8) -> Prosumer {
        Prosumer {
            evm: chain.add_account([0x10 + i; 32]).expect("prosumer key"),
            opening: BalanceOpening {
                sk_acct: Fr::from(1000 + u64::from(i)),
                balance: 0,
                salt: Fr::from(0u64),
            },
            meter: PrivateKey::from_bytes([0x40 + i; 32]),
        }
    }

    /// Its account id.
    pub fn acct(&self) -> Fr {
        account_id(self.opening.sk_acct)
    }

    /// The operator's registration of it: account and meter (the contract computes the
    /// empty free balance `H(0, 0, acct)` itself).
    pub fn registration(&self) -> Market::registerCall {
        Market::registerCall {
            acct: calldata::fr(&self.acct()),
            meterId: calldata::fr(&settle::meter_id(&self.meter.public_key())),
        }
    }
}

/// The operator registers `p`, then `minted` tokens go to `p`'s account and the market
/// may draw on them (for its deposits). Returns the registration's receipt.
pub fn register<C: Chain>(chain: &mut C, c: &Contracts, p: &Prosumer, minted: u64) -> Receipt {
    let r = transact(chain, c.operator, c.market, &p.registration());
    mint_and_approve(chain, c, p.evm, minted);
    r
}

/// A proven balance transition (PROTOCOL §4.1): the proof and public inputs a `deposit`
/// or `withdraw` call carries, and the opening of the free balance after it.
#[derive(Clone, Debug)]
pub struct BalanceStep {
    /// The proof, as calldata.
    pub proof: [U256; 8],
    /// The public inputs, as calldata.
    pub inputs: Market::BalanceInputs,
    /// The free balance after the transition.
    pub next: BalanceOpening,
}

impl BalanceStep {
    /// The `deposit` call that posts it.
    pub fn deposit(&self) -> Market::depositCall {
        Market::depositCall {
            proof: self.proof,
            inp: self.inputs.clone(),
        }
    }

    /// The `withdraw` call that posts it.
    pub fn withdraw(&self) -> Market::withdrawCall {
        Market::withdrawCall {
            proof: self.proof,
            inp: self.inputs.clone(),
        }
    }
}

/// Proves the transition of the free balance `opening` by `delta` tokens (a deposit if
/// positive, a withdrawal to `recipient` if negative), merging `payout` if given.
pub fn prove_balance<R: RngCore + CryptoRng>(
    keys: &TestKeys,
    opening: &BalanceOpening,
    payout: Option<&PayoutOpening>,
    delta: i128,
    recipient: Fr,
    rng: &mut R,
) -> BalanceStep {
    let (public, private, next) =
        BalanceProofPrivate::transition(opening, payout, delta, recipient, rng)
            .expect("a valid balance transition");
    let st = prove(
        &keys.balance.pk,
        BalanceCircuit::new(public, private),
        rng,
        &NoProgress,
    )
    .expect("proves");
    BalanceStep {
        proof: calldata::proof(&st.proof),
        inputs: calldata::balance_inputs(&public),
        next,
    }
}

/// [`prove_balance`] of a deposit of `amount` (no payout, no recipient).
pub fn prove_deposit<R: RngCore + CryptoRng>(
    keys: &TestKeys,
    opening: &BalanceOpening,
    amount: u64,
    rng: &mut R,
) -> BalanceStep {
    prove_balance(keys, opening, None, i128::from(amount), Fr::from(0u64), rng)
}

/// Prepares and proves a bid of `quote` (side, level, quantity Wh) for `round` from the
/// free balance `opening`: the bid (its opening, lock and next balance inside) and the
/// `submitBid` call that posts it.
pub fn prove_bid<R: RngCore + CryptoRng>(
    keys: &TestKeys,
    round: u64,
    opening: &BalanceOpening,
    (side, level, q): (Side, usize, u64),
    rng: &mut R,
) -> (PreparedBid, Market::submitBidCall) {
    let b = bid::prepare(
        &keys.params,
        &keys.flow,
        round,
        opening.sk_acct,
        opening.balance,
        opening.salt,
        side,
        level,
        q,
        rng,
    )
    .expect("a valid bid");
    let circuit = BidCircuit {
        params: keys.params.clone(),
        keys: keys.flow.clone(),
        public: b.public.clone(),
        private: b.private.clone(),
    };
    let st = prove(&keys.bid.pk, circuit, rng, &NoProgress).expect("proves");
    let call = Market::submitBidCall {
        proof: calldata::proof(&st.proof),
        inp: calldata::bid_inputs(&b.public),
        ciphertexts: calldata::ciphertexts(&b.ciphertexts),
    };
    (b, call)
}

/// Prepares and proves the settlement of `bid` (the account secret `sk_acct` opened it)
/// against `clearing`, with the meter reading of [`IMPORTED`] and [`exported`] signed by
/// `meter`: the
/// settlement (what it moves inside) and the `settle` call that posts it.
#[allow(clippy::too_many_arguments)]
pub fn prove_settlement<R: RngCore + CryptoRng>(
    keys: &TestKeys,
    clearing: &Clearing,
    round: u64,
    sk_acct: Fr,
    bid: BidOpening,
    meter: &PrivateKey,
    rng: &mut R,
) -> (PreparedSettlement, Market::settleCall) {
    let reading = settle::sign_reading(meter, round, IMPORTED, exported(&bid));
    let s = settle::prepare(
        &keys.params,
        &keys.flow,
        clearing,
        round,
        sk_acct,
        bid,
        meter.public_key(),
        reading,
        rng,
    )
    .expect("a valid settlement");
    let circuit = SettleCircuit {
        params: keys.params.clone(),
        keys: keys.flow.clone(),
        clearing: *clearing,
        public: s.public.clone(),
        private: s.private.clone(),
    };
    let st = prove(&keys.settle.pk, circuit, rng, &NoProgress).expect("proves");
    let call = Market::settleCall {
        proof: calldata::proof(&st.proof),
        inp: calldata::settle_inputs(&s.public),
        ciphertexts: calldata::ciphertexts(&s.ciphertexts),
    };
    (s, call)
}
