//! `sealgrid audit`: a regulator re-verifies market rounds from public data alone (issue
//! #7 item 4): the chain (events, transaction inputs, contract code, token balance),
//! the market file (addresses, the committee's public keys, parameters, signing
//! domain), the verifying keys of the key store and the committee's audit bundles
//! (partial decryptions with DLEQ proofs, signatures).
//!
//! Two steps, so that a test can tamper with what the chain says:
//!
//! 1. [`record::read_record`] reads a [`PublicRecord`] from any [`Chain`]: every market
//!    event, the input of every transaction that emitted one, the verifiers' code, the
//!    inclusion bitmaps, payout states and the market's token balance.
//! 2. [`audit_record`] checks it against the market file, the keys and the bundles and
//!    returns an [`AuditReport`]: market-wide checks, then per round one named verdict
//!    per check of `docs/PROTOCOL.md` an auditor can redo (see [`checks`]).
//!
//! [`audit_rounds`] does both. The `key-setup` check ([`setup::key_setup`]: the keys
//! are a ceremony's outputs for this market's circuits) reads the ceremony's files, not
//! the chain: callers add it to the report's market checks.

pub mod bundle;
pub mod checks;
pub mod market;
pub mod record;
pub mod setup;
pub mod words;

use std::collections::BTreeMap;

use sealgrid_market::file::MarketFile;
use sealgrid_proto::market::v1::AuditBundle;
use sealgrid_prover::{KeyError, KeyStore, PreparedVerifyingKey, VerifyingKey};
use sealgrid_verifier_contract::Chain;

pub use record::{read_record, PublicRecord, RecordError};

/// One named verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// A stable name (`bid-proofs`, `clearing-decryption`, …; see [`checks`]).
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was checked, or what failed (which bid, which trustee, expected vs got).
    pub detail: String,
}

impl Check {
    /// A verdict from a list of failures: passed iff there are none.
    pub fn from_failures(name: &str, ok: impl Into<String>, failures: Vec<String>) -> Check {
        if failures.is_empty() {
            Check {
                name: name.into(),
                passed: true,
                detail: ok.into(),
            }
        } else {
            Check {
                name: name.into(),
                passed: false,
                detail: failures.join("; "),
            }
        }
    }
}

/// The checks of one round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundAudit {
    /// The round.
    pub round: u64,
    /// Its verdicts, in the order of [`checks`].
    pub checks: Vec<Check>,
}

/// Everything the audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Checks of the market as a whole (verifying keys, committee, balance-update
    /// proofs, token balance).
    pub market: Vec<Check>,
    /// Per audited round.
    pub rounds: Vec<RoundAudit>,
}

impl AuditReport {
    /// True iff every check passed.
    pub fn passed(&self) -> bool {
        self.market.iter().all(|c| c.passed)
            && self
                .rounds
                .iter()
                .all(|r| r.checks.iter().all(|c| c.passed))
    }

    /// The failed checks, as (round, check); `None` for market-wide ones.
    pub fn failures(&self) -> Vec<(Option<u64>, &Check)> {
        self.market
            .iter()
            .filter(|c| !c.passed)
            .map(|c| (None, c))
            .chain(self.rounds.iter().flat_map(|r| {
                r.checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(move |c| (Some(r.round), c))
            }))
            .collect()
    }

    /// The check `name` of `round` (`None`: market-wide).
    pub fn check(&self, round: Option<u64>, name: &str) -> Option<&Check> {
        match round {
            None => self.market.iter().find(|c| c.name == name),
            Some(n) => self
                .rounds
                .iter()
                .find(|r| r.round == n)?
                .checks
                .iter()
                .find(|c| c.name == name),
        }
    }
}

/// The market's three verifying keys (the circuits' Groth16 keys).
#[derive(Clone, Debug)]
pub struct VerifyingKeys {
    /// The balance circuit's.
    pub balance: VerifyingKey,
    /// The bid circuit's.
    pub bid: VerifyingKey,
    /// The settle circuit's.
    pub settle: VerifyingKey,
}

impl VerifyingKeys {
    /// The keys the market file names, from the key store at `dir`.
    pub fn load(market: &MarketFile, dir: &std::path::Path) -> Result<VerifyingKeys, KeyError> {
        let store = KeyStore::open(dir)?;
        let k = &market.verifying_keys;
        Ok(VerifyingKeys {
            balance: store.load_verifying_key(&k.balance)?,
            bid: store.load_verifying_key(&k.bid)?,
            settle: store.load_verifying_key(&k.settle)?,
        })
    }

    pub(crate) fn prepared(&self) -> [PreparedVerifyingKey; 3] {
        [
            sealgrid_prover::prepare(&self.balance),
            sealgrid_prover::prepare(&self.bid),
            sealgrid_prover::prepare(&self.settle),
        ]
    }
}

/// Which rounds to audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rounds {
    /// Every round opened on chain.
    All,
    /// These rounds (each audited, with or without events: a round that never was fails
    /// its checks).
    List(Vec<u64>),
    /// The rounds of this range that have events on chain. The range is never expanded:
    /// the rounds are those the chain's events name, so `0..=u64::MAX` costs what the
    /// record costs, and rounds without events are skipped without being visited.
    Range(std::ops::RangeInclusive<u64>),
}

impl From<std::ops::RangeInclusive<u64>> for Rounds {
    fn from(r: std::ops::RangeInclusive<u64>) -> Self {
        Rounds::Range(r)
    }
}

impl Rounds {
    /// The rounds to audit in `record`, in order.
    pub fn select(&self, record: &PublicRecord) -> Vec<u64> {
        match self {
            Rounds::All => record.opened_rounds(),
            Rounds::List(v) => v.clone(),
            Rounds::Range(r) => record
                .events
                .iter()
                .filter_map(|e| e.round())
                .filter(|round| r.contains(round))
                .collect::<std::collections::BTreeSet<u64>>()
                .into_iter()
                .collect(),
        }
    }
}

/// Reads the public record from `chain` and audits `rounds`.
pub fn audit_rounds(
    chain: &mut dyn Chain,
    market: &MarketFile,
    keys: &VerifyingKeys,
    bundles: &BTreeMap<u64, AuditBundle>,
    rounds: impl Into<Rounds>,
) -> Result<AuditReport, RecordError> {
    let record = read_record(chain, market)?;
    Ok(audit_record(&record, market, keys, bundles, &rounds.into()))
}

/// Audits `rounds` of a record already read (or tampered with).
pub fn audit_record(
    record: &PublicRecord,
    market: &MarketFile,
    keys: &VerifyingKeys,
    bundles: &BTreeMap<u64, AuditBundle>,
    rounds: &Rounds,
) -> AuditReport {
    let prepared = keys.prepared();
    let rounds = rounds.select(record);
    AuditReport {
        market: market::market_checks(record, market, keys, &prepared),
        rounds: rounds
            .iter()
            .map(|&round| RoundAudit {
                round,
                checks: checks::round_checks(record, market, &prepared, bundles.get(&round), round),
            })
            .collect(),
    }
}

/// A BN254 field element as the contract's word.
pub(crate) fn market_fr(x: &sealgrid_circuits::Fr) -> alloy_primitives::U256 {
    sealgrid_verifier_contract::calldata::fr(x)
}
