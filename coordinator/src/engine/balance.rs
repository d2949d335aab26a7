//! Balance updates (deposits and withdrawals): checked against the account and the
//! token as the contract will check them, then relayed at once, those that arrive
//! together in one [`Chain::transact_many`] (PROTOCOL §4.1 for what the contract
//! checks).
//!
//! [`Chain::transact_many`]: sealgrid_verifier_contract::Chain::transact_many

use std::collections::HashSet;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::state::{PayoutState, Phase};
use sealgrid_verifier_contract::{ChainError, Receipt};
use tokio::sync::oneshot;

use super::{answer, Engine};
use crate::refusal::{Reason, Refusal};
use crate::wire::BalanceForm;

/// Where a balance update's answer goes.
type Reply = oneshot::Sender<Result<Receipt, Refusal>>;

/// A balance update as the engine receives it: the call, its checked form, the reply.
pub(super) type BalanceUpdate = (Vec<u8>, Box<BalanceForm>, Reply);

impl Engine {
    /// Balance updates (each a deposit, `call` a `depositFor`, or a withdrawal) relayed
    /// together, in arrival order: each checked as [`Engine::admit_balance`] checks it,
    /// the ones that pass sent in one [`ChainHandle::transact_many_raw`] (on a node they
    /// share blocks instead of taking one each), and each caller answered with its own
    /// receipt or refusal ([`balance_outcome`]). An update that touches what an update
    /// already in the run touches (the account, a deposit's payer, a withdrawal's
    /// recipient, and for withdrawals the market's own token balance) waits until the
    /// run is on chain: its checks read the state the earlier update leaves.
    ///
    /// [`ChainHandle::transact_many_raw`]: crate::chain::ChainHandle::transact_many_raw
    pub(super) async fn relay_balances(&mut self, updates: Vec<BalanceUpdate>) {
        let mut run: Vec<(Vec<u8>, Reply)> = Vec::new();
        let mut parties: HashSet<[u8; 32]> = HashSet::new();
        let market = self.cfg.deployment.market;
        for (call, form, reply) in updates {
            let touched = touched_by(&call, &form, market);
            if touched.iter().any(|t| parties.contains(t)) {
                self.send_balances(std::mem::take(&mut run)).await;
                parties.clear();
            }
            match self.admit_balance(&call, &form).await {
                Ok(()) => {
                    parties.extend(touched);
                    run.push((call, reply));
                }
                Err(refusal) => answer(reply, Err(refusal)),
            }
        }
        self.send_balances(run).await;
    }

    /// Sends a run of admitted balance updates together and answers each caller.
    async fn send_balances(&mut self, run: Vec<(Vec<u8>, Reply)>) {
        if run.is_empty() {
            return;
        }
        let (calls, replies): (Vec<_>, Vec<_>) = run.into_iter().unzip();
        tracing::debug!(updates = calls.len(), "relaying balance updates");
        let results = self.chain.transact_many_raw(calls).await;
        for (reply, result) in replies.into_iter().zip(results) {
            answer(reply, balance_outcome(result));
        }
    }

    /// A balance update checked against the account and the token as the contract will
    /// check it, before it is relayed (the caller waits for the receipt). One that
    /// starts from the `F_new` of the account's last queued bid is relayed after every
    /// submission queued before it (arrival order), so that the account's balance
    /// chains in order; nothing the checks refuse reaches the chain, and the relay
    /// itself simulates the transaction before sending it.
    async fn admit_balance(&mut self, call: &[u8], form: &BalanceForm) -> Result<(), Refusal> {
        let acct = form.inp.acct.to_be_bytes::<32>();
        let f_old = form.inp.fOld.to_be_bytes::<32>();
        if self.next_free.get(&acct) == Some(&f_old) {
            // It follows the account's queued bids: they go first.
            while self.queued_bids.contains_key(&acct) {
                let before = self.queue.len();
                self.relay_one().await;
                if self.queue.len() == before {
                    return Err(Refusal::new(
                        Reason::ChainUnavailable,
                        "the account's queued bids could not be relayed; retry later",
                    ));
                }
            }
        } else if let Some(queued) = self.next_free.get(&acct) {
            return Err(Refusal::new(
                Reason::StaleBalance,
                format!(
                    "the proof starts from F_old 0x{}, the account's last queued bid leaves 0x{}",
                    hex::encode(f_old),
                    hex::encode(queued)
                ),
            ));
        }
        self.check_balance(form, payer_of(call)).await
    }

    /// The stateful checks of a balance update: the account registered, `F_old` its
    /// current commitment, the merged payout unspent and its round final (finalized or
    /// expired), and for a deposit the payer's
    /// allowance and token balance (for a withdrawal the market's).
    async fn check_balance(
        &self,
        form: &BalanceForm,
        payer: Option<Address>,
    ) -> Result<(), Refusal> {
        let chain = |e: ChainError| Refusal::from_chain(&e);
        let inp = &form.inp;
        let acct = inp.acct.to_be_bytes::<32>();
        let p = self
            .chain
            .call(Market::prosumersCall(inp.acct))
            .await
            .map_err(chain)?;
        if !p.registered {
            return Err(Refusal::new(
                Reason::NotRegistered,
                format!("account 0x{}", hex::encode(acct)),
            ));
        }
        if p.free != inp.fOld {
            return Err(Refusal::new(
                Reason::StaleBalance,
                format!(
                    "the proof starts from F_old 0x{}, the account's current commitment is 0x{}",
                    hex::encode(inp.fOld.to_be_bytes::<32>()),
                    hex::encode(p.free.to_be_bytes::<32>())
                ),
            ));
        }
        if inp.pIn != U256::ZERO {
            let payout = self
                .chain
                .call(Market::payoutsCall(inp.pIn))
                .await
                .map_err(chain)?;
            let named = format!("payout 0x{}", hex::encode(inp.pIn.to_be_bytes::<32>()));
            match PayoutState::try_from(payout.state) {
                Ok(PayoutState::Unspent) => {
                    // merged only once its round is final (PROTOCOL §4.1)
                    let phase = self
                        .chain
                        .call(Market::roundsCall {
                            round: payout.round,
                        })
                        .await
                        .map_err(chain)?
                        .phase;
                    if !matches!(
                        Phase::try_from(phase),
                        Ok(Phase::Finalized | Phase::Expired)
                    ) {
                        return Err(Refusal::new(
                            Reason::PayoutFrozen,
                            format!(
                                "{named} of round {}, which is not final yet: merge it once \
                                 the round is finalized or expired",
                                payout.round
                            ),
                        ));
                    }
                }
                Ok(PayoutState::Spent) => return Err(Refusal::new(Reason::PayoutSpent, named)),
                Ok(PayoutState::Void) => {
                    return Err(Refusal::new(
                        Reason::PayoutVoid,
                        format!("{named} was voided at finalize: it can never be merged"),
                    ))
                }
                _ => return Err(Refusal::new(Reason::PayoutUnknown, named)),
            }
        }
        let token = self.cfg.deployment.token;
        let market = self.cfg.deployment.market;
        let delta = form.public.delta;
        let (holder, amount) = match payer {
            Some(payer) if delta > 0 => (payer, delta.unsigned_abs()),
            None if delta < 0 => (market, delta.unsigned_abs()),
            _ => return Ok(()),
        };
        let amount = U256::from(amount);
        if let Some(payer) = payer {
            let allowance = self
                .chain
                .call_to(
                    token,
                    TestToken::allowanceCall {
                        _0: payer,
                        _1: market,
                    },
                )
                .await
                .map_err(chain)?;
            if allowance < amount {
                return Err(Refusal::new(
                    Reason::InsufficientAllowance,
                    format!("payer {payer} approved the market for {allowance}, the deposit is {amount}"),
                ));
            }
        }
        let held = self
            .chain
            .call_to(token, TestToken::balanceOfCall(holder))
            .await
            .map_err(chain)?;
        if held < amount {
            return Err(Refusal::new(
                Reason::InsufficientTokens,
                format!("{holder} holds {held} tokens, the update moves {amount}"),
            ));
        }
        Ok(())
    }
}

/// What a balance update's checks read and its transaction changes, as 32-byte keys: the
/// account; a deposit's payer; a withdrawal's recipient and the market (whose token
/// balance pays it).
fn touched_by(call: &[u8], form: &BalanceForm, market: Address) -> Vec<[u8; 32]> {
    let mut keys = vec![form.inp.acct.to_be_bytes::<32>()];
    match payer_of(call) {
        Some(payer) => keys.push(payer.into_word().0),
        None => {
            // The recipient is the address's 20 bytes as a number.
            let r = form.inp.recipient.to_be_bytes::<32>();
            keys.push(Address::from_slice(&r[12..]).into_word().0);
            keys.push(market.into_word().0);
        }
    }
    keys
}

/// The payer of a deposit (`depositFor`); `None` for a withdrawal.
fn payer_of(call: &[u8]) -> Option<Address> {
    Market::depositForCall::abi_decode(call)
        .ok()
        .map(|c| c.payer)
}

/// What the caller of a relayed balance update is told: its receipt, or the chain's
/// refusal as a [`Refusal`].
fn balance_outcome(result: Result<Receipt, ChainError>) -> Result<Receipt, Refusal> {
    result.map_err(|e| {
        let r = Refusal::from_chain(&e);
        match (&e, r.reason) {
            // Past the market's and the verifier's named errors, a revert of a
            // balance update can only come from the token (`Market` bubbles it up).
            (ChainError::Reverted { .. }, Reason::ChainRefused) => Refusal::new(
                Reason::TokenTransferFailed,
                format!("the token refused the transfer: {e}"),
            ),
            _ => r,
        }
    })
}
