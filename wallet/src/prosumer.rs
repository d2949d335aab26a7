//! A prosumer's own client state and the submissions it makes (what a household device or
//! an aggregator acting for it runs): its account secret, meter key and payer key, its
//! free-balance opening, its open bids' openings and its unspent payouts. Proofs are made
//! here, client side; only commitments, ciphertexts and proofs leave it.
//!
//! Each `*_submission` method returns the request and the state the wallet moves to if
//! the submission lands; the caller applies it with the matching `commit_*` once the
//! coordinator accepted it, so a refused submission changes nothing.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use ark_ff::PrimeField;
use k256::ecdsa::SigningKey;
use rand::{CryptoRng, Rng, RngCore};
use sealgrid_circuits::balance::{
    BalanceCircuit, BalanceOpening, BalanceProofPrivate, PayoutOpening,
};
use sealgrid_circuits::bid::{self, BidCircuit, BidOpening};
use sealgrid_circuits::commitment::account_id;
use sealgrid_circuits::eddsa::PrivateKey as MeterKey;
use sealgrid_circuits::market::{clear, Clearing, Side};
use sealgrid_circuits::settle::{self, MeterReading, SettleCircuit, Settlement};
use sealgrid_circuits::Fr;
use sealgrid_committee::InclusionBitmap;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::{prove, CircuitKeys, NoProgress, ProvedStatement};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::{calldata, committee};

/// Why a submission could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The statement is not satisfiable (insufficient balance, bad parameters, …).
    #[error("{0}")]
    Invalid(String),
    /// Proving failed.
    #[error("proving: {0}")]
    Prove(#[from] sealgrid_prover::ProveError),
}

fn invalid(e: impl std::fmt::Display) -> WalletError {
    WalletError::Invalid(e.to_string())
}

/// A bid waiting for its round's clearing.
#[derive(Clone, Debug)]
pub struct OpenBid {
    /// The bid's opening.
    pub opening: BidOpening,
    /// Its commitment `B`.
    pub id: Fr,
    /// Its index in the round, once on chain.
    pub index: Option<u32>,
}

/// A balance update waiting to land.
#[derive(Clone, Copy, Debug)]
pub struct PendingBalance {
    /// The opening after it.
    pub opening: BalanceOpening,
    /// Whether it merges the first unspent payout.
    pub merged: bool,
}

/// A prosumer's wallet.
#[derive(Debug)]
pub struct Wallet {
    /// The account secret.
    pub sk_acct: Fr,
    /// The meter's key (the meter holds it; simulations sign readings with it).
    pub meter: MeterKey,
    /// The EVM key that pays deposits and receives withdrawals.
    pub payer: SigningKey,
    /// The free-balance opening.
    pub balance: BalanceOpening,
    /// Open bids by round.
    pub bids: BTreeMap<u64, OpenBid>,
    /// Unspent payouts of finalized (or expired) rounds: the first one is merged by the
    /// next deposit or withdrawal.
    pub payouts: Vec<PayoutOpening>,
    /// Payouts of settled bids whose round is not finalized yet, by round: the contract
    /// refuses to merge them until it is (`PayoutFrozen`, PROTOCOL §8).
    pub frozen_payouts: BTreeMap<u64, Vec<PayoutOpening>>,
}

/// The words of a proof as the proto carries them.
pub fn proof_pb(st: &ProvedStatement) -> pb::Proof {
    pb::Proof {
        words: calldata::proof(&st.proof)
            .iter()
            .map(|w| w.to_be_bytes::<32>().to_vec())
            .collect(),
    }
}

fn ub(x: &U256) -> Vec<u8> {
    x.to_be_bytes::<32>().to_vec()
}

/// The clearing a bid settles against: the round's, if the bid was included in its
/// histograms, else the not-cleared clearing. Recomputed from the published histograms
/// and checked against the packed clearing the round published.
pub fn clearing_for(
    info: &pb::Clearing,
    levels: usize,
    k_anonymity: usize,
    index: u32,
) -> Result<Clearing, WalletError> {
    let words = info
        .inclusion_bitmap
        .iter()
        .map(|w| <[u8; 32]>::try_from(w.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("an inclusion bitmap word is not 32 bytes"))?;
    if !InclusionBitmap::from_words(words).contains(index) {
        // Left out of the clearing (or the round did not clear): the bid settles
        // against the contract's "not cleared" and gets its whole lock back.
        return Ok(Clearing::NOT_CLEARED);
    }
    if info.h_buy.len() != levels || info.h_sell.len() != levels {
        return Err(invalid(
            "the published histograms do not have the market's K levels",
        ));
    }
    let c = clear(
        &info.h_buy,
        &info.h_sell,
        info.included as usize,
        k_anonymity,
    )
    .map_err(invalid)?;
    let packed = Fr::from_be_bytes_mod_order(&info.packed);
    if c.pack() != packed {
        return Err(invalid(
            "the published clearing does not follow from the published histograms",
        ));
    }
    Ok(c)
}

impl Wallet {
    /// A wallet with fresh secrets.
    pub fn new<R: RngCore + CryptoRng>(rng: &mut R) -> Wallet {
        use ark_std::UniformRand;
        let payer = loop {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            if let Ok(k) = SigningKey::from_slice(&b) {
                break k;
            }
        };
        let sk_acct = Fr::rand(rng);
        Wallet {
            sk_acct,
            meter: MeterKey::from_bytes(rng.gen()),
            payer,
            balance: BalanceOpening {
                sk_acct,
                balance: 0,
                salt: Fr::from(0u64),
            },
            bids: BTreeMap::new(),
            payouts: Vec::new(),
            frozen_payouts: BTreeMap::new(),
        }
    }

    /// Wallet `index` of a group derived from `seed`: the same secrets every time, so an
    /// operator can register a group that its own process re-derives. For demos and
    /// tests: anyone who knows the seed knows the secrets.
    pub fn from_seed(seed: u64, index: u64) -> Wallet {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(
            seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        Wallet::new(&mut rng)
    }

    /// The account id.
    pub fn acct(&self) -> Fr {
        account_id(self.sk_acct)
    }

    /// The meter id the operator registers.
    pub fn meter_id(&self) -> Fr {
        settle::meter_id(&self.meter.public_key())
    }

    /// The payer's address.
    pub fn address(&self) -> Address {
        committee::address_of(&self.payer)
    }

    /// What the operator registers: account and meter (the contract computes the first
    /// free-balance commitment `H(0, 0, acct)` itself, so a new wallet's balance must be
    /// empty with salt 0).
    pub fn registration(&self) -> Market::registerCall {
        Market::registerCall {
            acct: calldata::fr(&self.acct()),
            meterId: calldata::fr(&self.meter_id()),
        }
    }

    /// A deposit of `amount` (merging one unspent payout, if any), authorised by the
    /// payer's signature for `market` on chain `chain_id`.
    pub fn deposit_submission<R: RngCore + CryptoRng>(
        &self,
        keys: &CircuitKeys,
        amount: u64,
        chain_id: u64,
        market: Address,
        rng: &mut R,
    ) -> Result<(pb::DepositRequest, PendingBalance), WalletError> {
        let payout = self.payouts.first();
        let (public, private, next) = BalanceProofPrivate::transition(
            &self.balance,
            payout,
            amount as i128,
            Fr::from(0u64),
            rng,
        )
        .map_err(invalid)?;
        let st = prove(
            &keys.balance.pk,
            BalanceCircuit::new(public, private),
            rng,
            &NoProgress,
        )?;
        let inp = calldata::balance_inputs(&public);
        let digest = committee::deposit_digest(chain_id, market, self.address(), &inp);
        let sig = committee::sign_deposit(&self.payer, digest);
        let mut sig_bytes = sig.r.to_vec();
        sig_bytes.extend_from_slice(sig.s.as_slice());
        sig_bytes.push(sig.v);
        Ok((
            pb::DepositRequest {
                update: Some(pb::BalanceUpdate {
                    proof: Some(proof_pb(&st)),
                    inputs: Some(balance_inputs_pb(&inp)),
                }),
                payer: self.address().to_vec(),
                payer_signature: sig_bytes,
            },
            PendingBalance {
                opening: next,
                merged: payout.is_some(),
            },
        ))
    }

    /// A withdrawal of `amount` to the payer's address (merging one payout, if any).
    pub fn withdraw_submission<R: RngCore + CryptoRng>(
        &self,
        keys: &CircuitKeys,
        amount: u64,
        rng: &mut R,
    ) -> Result<(pb::WithdrawRequest, PendingBalance), WalletError> {
        let recipient = Fr::from_be_bytes_mod_order(self.address().as_slice());
        let (public, private, next) = BalanceProofPrivate::transition(
            &self.balance,
            self.payouts.first(),
            -(amount as i128),
            recipient,
            rng,
        )
        .map_err(invalid)?;
        let st = prove(
            &keys.balance.pk,
            BalanceCircuit::new(public, private),
            rng,
            &NoProgress,
        )?;
        let inp = calldata::balance_inputs(&public);
        Ok((
            pb::WithdrawRequest {
                update: Some(pb::BalanceUpdate {
                    proof: Some(proof_pb(&st)),
                    inputs: Some(balance_inputs_pb(&inp)),
                }),
            },
            PendingBalance {
                opening: next,
                merged: !self.payouts.is_empty(),
            },
        ))
    }

    /// Applies a landed balance update: the new opening; the payout it merged (the
    /// first unspent one, if any) is spent.
    pub fn commit_balance(&mut self, next: PendingBalance) {
        if next.merged && !self.payouts.is_empty() {
            self.payouts.remove(0);
        }
        self.balance = next.opening;
    }

    /// A sealed bid's statement for `round`, without its proof: the prepared bid, the
    /// bid as the wallet keeps it and the balance it leaves. [`Wallet::bid_submission`]
    /// proves it; the same `rng` state gives the same bid (a client that cached its
    /// submission restores its opening from here without proving again).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare_bid<R: RngCore + CryptoRng>(
        &self,
        keys: &CircuitKeys,
        round: u64,
        side: Side,
        level: usize,
        q: u64,
        rng: &mut R,
    ) -> Result<(bid::PreparedBid, OpenBid, BalanceOpening), WalletError> {
        let b = bid::prepare(
            keys.circuits.params(),
            keys.circuits.flow_keys(),
            round,
            self.sk_acct,
            self.balance.balance,
            self.balance.salt,
            side,
            level,
            q,
            rng,
        )
        .map_err(invalid)?;
        let next = BalanceOpening {
            sk_acct: self.sk_acct,
            balance: self.balance.balance - b.private.lock,
            salt: b.private.salt_new,
        };
        let open = OpenBid {
            opening: b.private.opening(),
            id: b.public.bid,
            index: None,
        };
        Ok((b, open, next))
    }

    /// A sealed bid for `round`.
    #[allow(clippy::too_many_arguments)]
    pub fn bid_submission<R: RngCore + CryptoRng>(
        &self,
        keys: &CircuitKeys,
        round: u64,
        side: Side,
        level: usize,
        q: u64,
        rng: &mut R,
    ) -> Result<(pb::BidSubmission, OpenBid, BalanceOpening), WalletError> {
        let params = keys.circuits.params();
        let flow = keys.circuits.flow_keys();
        let (b, open, next) = self.prepare_bid(keys, round, side, level, q, rng)?;
        let circuit = BidCircuit {
            params: params.clone(),
            keys: flow.clone(),
            public: b.public.clone(),
            private: b.private.clone(),
        };
        let st = prove(&keys.bid.pk, circuit, rng, &NoProgress)?;
        let inp = calldata::bid_inputs(&b.public);
        let sub = pb::BidSubmission {
            proof: Some(proof_pb(&st)),
            inputs: Some(pb::BidInputs {
                round,
                acct: ub(&inp.acct),
                f_old: ub(&inp.fOld),
                f_new: ub(&inp.fNew),
                bid: ub(&inp.bid),
                digest: ub(&inp.digest),
            }),
            ciphertexts: calldata::ciphertexts(&b.ciphertexts)
                .iter()
                .map(ub)
                .collect(),
        };
        Ok((sub, open, next))
    }

    /// Applies an accepted bid.
    pub fn commit_bid(&mut self, round: u64, open: OpenBid, next: BalanceOpening) {
        self.bids.insert(round, open);
        self.balance = next;
    }

    /// The settlement of this wallet's bid in `round` against `clearing`, with the
    /// meter's signed reading.
    pub fn settle_submission<R: RngCore + CryptoRng>(
        &self,
        keys: &CircuitKeys,
        round: u64,
        clearing: &Clearing,
        reading: MeterReading,
        rng: &mut R,
    ) -> Result<(pb::SettlementSubmission, PayoutOpening, Settlement), WalletError> {
        let params = keys.circuits.params();
        let flow = keys.circuits.flow_keys();
        let open = self
            .bids
            .get(&round)
            .ok_or_else(|| invalid(format!("no open bid in round {round}")))?;
        let s = settle::prepare(
            params,
            flow,
            clearing,
            round,
            self.sk_acct,
            open.opening.clone(),
            self.meter.public_key(),
            reading,
            rng,
        )
        .map_err(invalid)?;
        let circuit = SettleCircuit {
            params: params.clone(),
            keys: flow.clone(),
            clearing: *clearing,
            public: s.public.clone(),
            private: s.private.clone(),
        };
        let st = prove(&keys.settle.pk, circuit, rng, &NoProgress)?;
        let inp = calldata::settle_inputs(&s.public);
        let sub = pb::SettlementSubmission {
            proof: Some(proof_pb(&st)),
            inputs: Some(pb::SettleInputs {
                round,
                acct: ub(&inp.acct),
                bid: ub(&inp.bid),
                p_out: ub(&inp.pOut),
                clearing: ub(&inp.clearing),
                meter_id: ub(&inp.meterId),
                digest: ub(&inp.digest),
            }),
            ciphertexts: calldata::ciphertexts(&s.ciphertexts)
                .iter()
                .map(ub)
                .collect(),
        };
        let payout = PayoutOpening {
            amount: s.settlement.payout,
            salt: s.private.payout_salt,
        };
        Ok((sub, payout, s.settlement))
    }

    /// Applies an accepted settlement: its payout is frozen until the round is final
    /// ([`Wallet::round_final`]).
    pub fn commit_settlement(&mut self, round: u64, payout: PayoutOpening) {
        self.bids.remove(&round);
        self.frozen_payouts.entry(round).or_default().push(payout);
    }

    /// Round `round` is finalized or expired on chain: its payouts may be merged.
    pub fn round_final(&mut self, round: u64) {
        if let Some(p) = self.frozen_payouts.remove(&round) {
            self.payouts.extend(p);
        }
    }

    /// The meter's signed reading of `round` (simulations).
    pub fn read_meter(&self, round: u64, import_wh: u64, export_wh: u64) -> MeterReading {
        settle::sign_reading(&self.meter, round, import_wh, export_wh)
    }
}

fn balance_inputs_pb(inp: &Market::BalanceInputs) -> pb::BalanceInputs {
    pb::BalanceInputs {
        acct: ub(&inp.acct),
        f_old: ub(&inp.fOld),
        f_new: ub(&inp.fNew),
        delta: ub(&inp.delta),
        p_in: ub(&inp.pIn),
        recipient: ub(&inp.recipient),
    }
}
