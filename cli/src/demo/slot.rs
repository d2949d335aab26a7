//! One market slot, start to finish: deposits, sealed bids, the coordinator's batch
//! verification, the committee's decryption, clearing and signatures, simulated delivery
//! with meter-signed readings, settlements, the decrypted settlement totals and the
//! conservation checks, and the payouts merged back into the free balances.
//!
//! The demo is also the simulator: it knows every household's bid, fill and reading, so
//! it checks what the committee decrypts against the plaintext it computed itself. No
//! contract and no coordinator are in the loop yet: "accepted" means the demo's batch
//! verification passed, and state lives in the households' own openings.

use std::time::Duration;

use ark_ff::AdditiveGroup;
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::{
    BalanceCircuit, BalanceOpening, BalanceProofPrivate, PayoutOpening,
};
use sealgrid_circuits::bid::{self, BidCircuit, BidProofPublic};
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::{clear, Clearing, MarketParams, Side};
use sealgrid_circuits::settle::{self, SettleCircuit, SettleProofPublic};
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::BidId;
use sealgrid_prover::SealgridCircuit;

use super::committee::{aggregate_accepted, decrypt_and_sign_finalization, decrypt_clear_and_sign};
use super::household::Household;
use super::observer::Observer;
use super::profile::{mix, Intent, Strategy};
use super::proofs::{prove_batch, verify_batch};
use super::report::{SlotSummary, Trade};
use super::setup::{Committee, Keys};
use super::DemoError;

/// Tokens a household deposits on first use (or more, if one lock needs more).
pub const DEPOSIT: u64 = 1_000_000;
/// Chance that a seller with a fill delivers only 40–90 % of it (a passing cloud);
/// the others export their whole offered quantity.
pub const UNDER_DELIVERY: f64 = 0.25;

/// What every slot shares: the market, the committee, the keys.
#[derive(Debug)]
pub struct World<'a> {
    /// Market parameters.
    pub market: &'a MarketParams,
    /// The committee.
    pub committee: &'a Committee,
    /// Groth16 keys and circuits.
    pub keys: &'a Keys,
    /// Baby-step giant-step table for the committee's discrete logs.
    pub table: &'a DlogTable,
    /// The households' bidding strategy.
    pub strategy: Strategy,
    /// The demo seed (profiles, deliveries).
    pub seed: u64,
}

/// The community's private state, as each household's software holds it, and the
/// simulator's ledger.
#[derive(Debug)]
pub struct Community {
    /// The households.
    pub households: Vec<Household>,
    /// The operator's net receipts so far, `Σ pay − Σ credit + Σ penalty` (may be
    /// negative: rounding dust on the buy side is energy the grid supplies).
    pub operator: i128,
    /// Witness randomness (salts, ElGamal randomness) for the households.
    pub rng: ChaCha20Rng,
}

/// Counts passed checks; a failed one is an error naming it.
#[derive(Debug, Default)]
struct Checks(usize);

impl Checks {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> Result<(), DemoError> {
        if ok {
            self.0 += 1;
            Ok(())
        } else {
            Err(DemoError::Check(what()))
        }
    }
}

fn statement_err(e: impl std::fmt::Display) -> DemoError {
    DemoError::Statement(e.to_string())
}

/// A bidder of this slot.
struct Bidder {
    household: usize,
    intent: Intent,
    lock: u64,
}

/// The plaintext the simulator knows about a slot's settlements.
#[derive(Debug, Default)]
struct Plain {
    buy_fills: u64,
    sell_fills: u64,
    pay: u64,
    credit: u64,
    penalty: u64,
    locks: u64,
    payouts: u64,
    short: usize,
}

/// Runs slot `slot_of_day` (round `round`) for the community.
pub fn run_slot(
    w: &World<'_>,
    c: &mut Community,
    round: u64,
    slot_of_day: u64,
    observer: &dyn Observer,
) -> Result<SlotSummary, DemoError> {
    let m = w.market;
    let k = m.levels;
    let mut checks = Checks::default();
    let mut proving = Duration::ZERO;
    let mut proofs = 0;
    let minutes = slot_of_day * m.slot_seconds / 60;
    let start = format!("{:02}:{:02}", minutes / 60, minutes % 60);
    observer.note(&format!("slot {start} (round {round})"));

    // Net positions from the households' profiles decide who bids what.
    let mut bidders = Vec::new();
    for h in &c.households {
        let (pv, load) = h
            .profile
            .energy_wh(w.seed, h.index, slot_of_day, m.slot_seconds);
        if let Some(intent) = w.strategy.intent(m, pv, load) {
            let lock = m
                .lock(intent.side, intent.level, intent.q)
                .map_err(statement_err)?;
            bidders.push(Bidder {
                household: h.index,
                intent,
                lock,
            });
        }
    }
    let buys = bidders
        .iter()
        .filter(|b| b.intent.side == Side::Buy)
        .count();
    let mut summary = SlotSummary {
        round,
        start,
        buys,
        sells: bidders.len() - buys,
        deposits: 0,
        cleared: false,
        level: 0,
        price: 0,
        volume: 0,
        buy_dust: 0,
        sell_dust: 0,
        settled: 0,
        short: 0,
        paid: 0,
        credited: 0,
        penalties: 0,
        signatures: 0,
        proofs: 0,
        proving: Duration::ZERO,
        checks: 0,
        h_buy: vec![0; k],
        h_sell: vec![0; k],
        trades: Vec::new(),
    };
    if bidders.is_empty() {
        observer.note("  nobody has a position: no bids");
        return Ok(summary);
    }

    // Deposits (balance proofs, PROTOCOL §4.1) on first use, or a top-up when the free
    // balance does not cover the lock. A new account's registered free balance is a
    // commitment to 0.
    let mut statements = Vec::new();
    let mut pending = Vec::new();
    for b in &bidders {
        let h = &c.households[b.household];
        let free = h.free_balance();
        if h.balance.is_some() && free >= b.lock {
            continue;
        }
        let prior = h.balance.unwrap_or(BalanceOpening {
            sk_acct: h.sk_acct,
            balance: 0,
            salt: Fr::rand(&mut c.rng),
        });
        let amount = DEPOSIT.max(b.lock - free.min(b.lock));
        let (public, private, next) =
            BalanceProofPrivate::transition(&prior, None, i128::from(amount), Fr::ZERO, &mut c.rng)
                .map_err(statement_err)?;
        statements.push((
            SealgridCircuit::Balance(BalanceCircuit::new(public, private)),
            public.to_field_elements(),
        ));
        pending.push((b.household, next, amount));
    }
    if !pending.is_empty() {
        let (deposits, t) = prove_batch(&w.keys.balance, statements, "deposit proofs", observer)?;
        verify_batch(&w.keys.balance, &deposits, "deposit proofs")?;
        checks.0 += 1;
        proving += t;
        proofs += deposits.len();
        summary.deposits = deposits.len();
        for (i, next, amount) in pending {
            let h = &mut c.households[i];
            h.balance = Some(next);
            h.deposited += amount;
        }
    }

    // Sealed bids (PROTOCOL §4.2), proven by each household, batch-verified by the
    // coordinator, their ciphertexts posted beside the proofs.
    let mut statements = Vec::new();
    let mut prepared = Vec::new();
    for b in &bidders {
        let h = &c.households[b.household];
        let bal = h
            .balance
            .ok_or_else(|| statement_err("bidding without a balance"))?;
        let p = bid::prepare(
            m,
            w.keys.circuits.flow_keys(),
            round,
            h.sk_acct,
            bal.balance,
            bal.salt,
            b.intent.side,
            b.intent.level,
            b.intent.q,
            &mut c.rng,
        )
        .map_err(statement_err)?;
        statements.push((
            SealgridCircuit::Bid(BidCircuit {
                params: m.clone(),
                keys: w.keys.circuits.flow_keys().clone(),
                public: p.public.clone(),
                private: p.private.clone(),
            }),
            p.public.to_field_elements(),
        ));
        prepared.push(p);
    }
    let (bid_proofs, t) = prove_batch(&w.keys.bid, statements, "bid proofs", observer)?;
    verify_batch(&w.keys.bid, &bid_proofs, "bid proofs")?;
    checks.0 += 1;
    proving += t;
    proofs += bid_proofs.len();
    // What the contract would emit: the bid id and digest from the accepted proof's
    // public inputs, the ciphertexts as posted.
    let posted: Vec<PostedBid> = bid_proofs
        .iter()
        .zip(&prepared)
        .map(|(proof, p)| PostedBid {
            id: BidId::from_commitment(proof.inputs[BidProofPublic::BID]),
            ciphertexts: p.ciphertexts.clone(),
            digest: proof.inputs[BidProofPublic::DIGEST],
        })
        .collect();
    for (b, p) in bidders.iter().zip(&prepared) {
        let h = &mut c.households[b.household];
        h.balance = Some(BalanceOpening {
            sk_acct: h.sk_acct,
            balance: p.private.balance_old - p.private.lock,
            salt: p.private.salt_new,
        });
        h.bid = Some(p.private.opening());
    }

    // The committee: aggregate, decrypt with proofs, clear, sign — checked against the
    // simulator's plaintext histograms.
    let (mut h_buy, mut h_sell) = (vec![0u64; k], vec![0u64; k]);
    for b in &bidders {
        let h = if b.intent.side == Side::Buy {
            &mut h_buy
        } else {
            &mut h_sell
        };
        h[b.intent.level] += b.intent.q;
    }
    let plain_clearing = clear(&h_buy, &h_sell, posted.len(), m.k_anonymity)
        .map_err(|e| DemoError::Committee(e.to_string()))?;
    let clearing: Clearing = if posted.len() >= m.k_anonymity {
        let report = aggregate_accepted(round, 2 * k + 1, &posted, "bids")?;
        checks.0 += 1;
        let signed = decrypt_clear_and_sign(w.committee, m, round, &posted, &report, w.table)?;
        let o = &signed.outcome;
        checks.check(o.h_buy == h_buy && o.h_sell == h_sell, || {
            "decrypted histograms differ from the plaintext".into()
        })?;
        checks.check(o.clearing == plain_clearing, || {
            "the clearing differs from the plaintext clearing".into()
        })?;
        checks.check(
            signed.signers.len() >= w.committee.public.params.t as usize,
            || "fewer than t trustee signatures".into(),
        )?;
        summary.signatures = signed.signers.len();
        o.clearing
    } else {
        observer.note(&format!(
            "  {} bids are under the k-anonymity floor {}: trustees refuse to decrypt, the round does not clear",
            posted.len(),
            m.k_anonymity
        ));
        plain_clearing
    };
    checks.check(clearing.cleared == (posted.len() >= m.k_anonymity), || {
        "cleared flag does not follow the k-anonymity floor".into()
    })?;
    let price = m.price(clearing.level);
    summary.h_buy = h_buy;
    summary.h_sell = h_sell;
    summary.cleared = clearing.cleared;
    summary.level = clearing.level;
    summary.price = price;
    summary.volume = clearing.volume;

    // Delivery: each meter signs its slot reading. Some sellers under-deliver.
    let mut plain = Plain::default();
    let mut statements = Vec::new();
    let mut settling = Vec::new();
    for b in &bidders {
        let h = &c.households[b.household];
        let opening = h
            .bid
            .clone()
            .ok_or_else(|| statement_err("settling without a bid"))?;
        let fill = clearing.fill(b.intent.side, b.intent.level, b.intent.q);
        let (import_wh, export_wh) = match b.intent.side {
            Side::Buy => (b.intent.q, 0),
            Side::Sell => {
                let mut rng = ChaCha20Rng::seed_from_u64(mix(
                    w.seed,
                    0xde11,
                    round ^ ((h.index as u64) << 32),
                ));
                if fill > 0 && rng.gen_bool(UNDER_DELIVERY) {
                    (0, (fill as f64 * rng.gen_range(0.4..0.9)) as u64)
                } else {
                    (0, b.intent.q)
                }
            }
        };
        let reading = settle::sign_reading(&h.meter, round, import_wh, export_wh);
        let p = settle::prepare(
            m,
            w.keys.circuits.flow_keys(),
            &clearing,
            round,
            h.sk_acct,
            opening,
            h.meter.public_key(),
            reading,
            &mut c.rng,
        )
        .map_err(statement_err)?;
        let s = p.settlement;
        checks.check(s.fill == fill, || {
            format!("{}: settled fill differs", h.name())
        })?;
        match b.intent.side {
            Side::Buy => plain.buy_fills += fill,
            Side::Sell => plain.sell_fills += fill,
        }
        plain.pay += s.pay;
        plain.credit += s.credit;
        plain.penalty += s.penalty;
        plain.locks += b.lock;
        plain.payouts += s.payout;
        plain.short += usize::from(s.penalty > 0);
        summary.trades.push(Trade {
            household: h.index,
            side: b.intent.side,
            level: b.intent.level,
            q: b.intent.q,
            fill,
            pay: s.pay,
            credit: s.credit,
            penalty: s.penalty,
        });
        statements.push((
            SealgridCircuit::Settle(SettleCircuit {
                params: m.clone(),
                keys: w.keys.circuits.flow_keys().clone(),
                clearing,
                public: p.public.clone(),
                private: p.private.clone(),
            }),
            p.public.to_field_elements(),
        ));
        settling.push((b.household, p));
    }

    // Settlements (PROTOCOL §4.3), batch-verified; their flow ciphertexts posted.
    let (settle_proofs, t) =
        prove_batch(&w.keys.settle, statements, "settlement proofs", observer)?;
    verify_batch(&w.keys.settle, &settle_proofs, "settlement proofs")?;
    checks.0 += 1;
    proving += t;
    proofs += settle_proofs.len();
    summary.settled = settle_proofs.len();
    summary.short = plain.short;
    let flows: Vec<PostedBid> = settle_proofs
        .iter()
        .zip(&settling)
        .map(|(proof, (_, p))| PostedBid {
            id: BidId::from_commitment(proof.inputs[SettleProofPublic::BID]),
            ciphertexts: p.ciphertexts.clone(),
            digest: proof.inputs[SettleProofPublic::DIGEST],
        })
        .collect();
    for (i, p) in &settling {
        let h = &mut c.households[*i];
        h.bid = None;
        h.payout = Some(PayoutOpening {
            amount: p.settlement.payout,
            salt: p.private.payout_salt,
        });
    }

    // The committee decrypts the aggregate settlement flows (every bid settles: no
    // defaulter, no defaulted lock) and signs the finalization; the totals must equal
    // the simulator's plaintext and conserve energy and money against the public clearing.
    let [paid, credited, penalties] = if flows.len() >= m.k_anonymity {
        let fin = decrypt_and_sign_finalization(w.committee, m, round, &posted, &flows, w.table)?;
        let totals = fin.totals.to_array();
        let plain_totals = [plain.pay, plain.credit, plain.penalty, 0];
        checks.check(totals == plain_totals && fin.defaulters.is_empty(), || {
            format!(
                "decrypted settlement totals {totals:?} (defaulters {:?}) differ from the plaintext {plain_totals:?}",
                fin.defaulters
            )
        })?;
        [totals[0], totals[1], totals[2]]
    } else {
        observer.note(
            "  settlements under the k-anonymity floor: totals not decrypted, plaintext used",
        );
        [plain.pay, plain.credit, plain.penalty]
    };
    summary.paid = paid;
    summary.credited = credited;
    summary.penalties = penalties;
    let rate = m.penalty_rate;
    checks.check(
        paid % price == 0 && credited % price == 0 && penalties % rate == 0,
        || "settlement totals are not whole multiples of p* and the penalty rate".into(),
    )?;
    let buy_total = paid / price;
    let sell_total = credited / price + penalties / rate;
    checks.check(
        buy_total <= clearing.volume && sell_total <= clearing.volume,
        || {
            format!(
                "a side traded beyond the volume: buy {buy_total}, sell {sell_total}, V* {}",
                clearing.volume
            )
        },
    )?;
    summary.buy_dust = clearing.volume - buy_total;
    summary.sell_dust = clearing.volume - sell_total;
    checks.check(
        buy_total == plain.buy_fills && sell_total == plain.sell_fills,
        || "dust from the decrypted totals differs from the plaintext fills".into(),
    )?;
    checks.check(
        plain.payouts + paid + penalties == plain.locks + credited,
        || "payouts do not equal locks − paid + credited − penalties".into(),
    )?;
    c.operator += i128::from(paid) + i128::from(penalties) - i128::from(credited);

    // Each household merges its payout into its free balance (balance proof, delta 0).
    let mut statements = Vec::new();
    let mut merged = Vec::new();
    for (i, _) in &settling {
        let h = &c.households[*i];
        let (bal, payout) = h
            .balance
            .zip(h.payout)
            .ok_or_else(|| statement_err("merging without a balance or payout"))?;
        let (public, private, next) =
            BalanceProofPrivate::transition(&bal, Some(&payout), 0, Fr::ZERO, &mut c.rng)
                .map_err(statement_err)?;
        statements.push((
            SealgridCircuit::Balance(BalanceCircuit::new(public, private)),
            public.to_field_elements(),
        ));
        merged.push((*i, next));
    }
    let (merges, t) = prove_batch(&w.keys.balance, statements, "payout merges", observer)?;
    verify_batch(&w.keys.balance, &merges, "payout merges")?;
    checks.0 += 1;
    proving += t;
    proofs += merges.len();
    for (i, next) in merged {
        let h = &mut c.households[i];
        h.balance = Some(next);
        h.payout = None;
    }

    // Ledger: every token deposited is in a free balance or with the operator.
    let deposited: u64 = c.households.iter().map(|h| h.deposited).sum();
    let free: u64 = c.households.iter().map(Household::free_balance).sum();
    checks.check(
        i128::from(deposited) == i128::from(free) + c.operator,
        || {
            format!(
                "ledger: deposited {deposited} != free balances {free} + operator {}",
                c.operator
            )
        },
    )?;

    summary.proofs = proofs;
    summary.proving = proving;
    summary.checks = checks.0;
    Ok(summary)
}
