//! The coordinator's durable store: an embedded redb database (one file, ACID, fsync on
//! every commit). It holds what the chain does not: submissions accepted but not yet on
//! chain, the event log with its sequence numbers, and each round's record (schedule,
//! what was posted, the committee's audit bundle). The chain stays the source of truth:
//! on restart the coordinator reconciles every queued submission with the contract's
//! state before relaying anything (`engine.rs`).
//!
//! A submission is committed here before its submitter hears "queued", so an accepted
//! submission survives a crash; a batch is committed in one transaction.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::schedule::RoundTimes;

const SUBMISSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("submissions");
const ROUNDS: TableDefinition<u64, &[u8]> = TableDefinition::new("rounds");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The event recorded for a submission reaching the chain (submission key → sequence
/// number): that event is written once, in the transaction that marks the submission on
/// chain, whatever crash and restart come between.
const SUBMISSION_EVENTS: TableDefinition<&[u8], u64> = TableDefinition::new("submission_events");

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(String);

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// What kind of submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A sealed bid (`submitBid`).
    Bid,
    /// A settlement (`settle`).
    Settlement,
}

impl Kind {
    fn tag(self) -> u8 {
        match self {
            Kind::Bid => 1,
            Kind::Settlement => 2,
        }
    }
}

/// Where a submission stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubmissionState {
    /// Checked and stored, to be relayed.
    Queued,
    /// The contract accepted it.
    OnChain {
        /// The bid's index in its round (bids only).
        index: u32,
        /// Block of the transaction (0 where the backend does not say).
        block: u64,
        /// Gas of the transaction (0 if found on chain after a restart).
        gas_used: u64,
    },
    /// The contract refused it, or its window passed before it could be relayed.
    Failed {
        /// Why.
        error: String,
    },
}

/// A stored submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Bid or settlement.
    pub kind: Kind,
    /// The bid commitment (for a settlement: the bid settled), 32 bytes big-endian.
    pub bid: [u8; 32],
    /// The account, 32 bytes big-endian.
    pub acct: [u8; 32],
    /// The round.
    pub round: u64,
    /// Arrival order among all submissions.
    pub arrival: u64,
    /// The ABI-encoded contract call (selector and arguments).
    pub call: Vec<u8>,
    /// `F_old`/`F_new` of a bid (zero for a settlement), for the account's ordering.
    pub f_old: [u8; 32],
    /// See `f_old`.
    pub f_new: [u8; 32],
    /// Where it stands.
    pub state: SubmissionState,
}

impl Submission {
    fn key(&self) -> Vec<u8> {
        key(self.kind, &self.bid)
    }
}

fn key(kind: Kind, bid: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(kind.tag());
    k.extend_from_slice(bid);
    k
}

/// A round as the coordinator recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Its times.
    pub times: RoundTimes,
    /// The committee's work (a prost-encoded `AuditBundle`, empty until cleared).
    pub audit: Vec<u8>,
}

/// The store.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Whether no one in this process holds the database at `path` open (it can be
    /// opened now). For tests that kill a coordinator and start another on its store.
    pub fn released(path: &Path) -> bool {
        !matches!(
            Database::open(path),
            Err(redb::DatabaseError::DatabaseAlreadyOpen)
        )
    }

    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let db =
            Database::create(path).map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        let tx = db.begin_write().map_err(err)?;
        {
            tx.open_table(SUBMISSIONS).map_err(err)?;
            tx.open_table(ROUNDS).map_err(err)?;
            tx.open_table(EVENTS).map_err(err)?;
            tx.open_table(META).map_err(err)?;
            tx.open_table(SUBMISSION_EVENTS).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(Store { db })
    }

    /// Binds the store to a market: the first call records `market`, later calls fail if
    /// another market is given (a store never mixes two markets' data).
    pub fn bind_market(&self, market: &[u8]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(META).map_err(err)?;
            let existing = t.get("market").map_err(err)?.map(|v| v.value().to_vec());
            match existing {
                Some(m) if m != market => {
                    return Err(StoreError(format!(
                        "the store belongs to market 0x{}, not 0x{}",
                        hex::encode(m),
                        hex::encode(market)
                    )))
                }
                Some(_) => {}
                None => {
                    t.insert("market", market).map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    /// Stores submissions (new or updated) in one durable transaction.
    pub fn put_submissions(&self, subs: &[&Submission]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(SUBMISSIONS).map_err(err)?;
            for s in subs {
                let v = serde_json::to_vec(s).map_err(err)?;
                t.insert(s.key().as_slice(), v.as_slice()).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// One submission.
    pub fn submission(&self, kind: Kind, bid: &[u8; 32]) -> Result<Option<Submission>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(SUBMISSIONS).map_err(err)?;
        let v = t.get(key(kind, bid).as_slice()).map_err(err)?;
        v.map(|v| serde_json::from_slice(v.value()).map_err(err))
            .transpose()
    }

    /// Every submission, in arrival order.
    pub fn submissions(&self) -> Result<Vec<Submission>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(SUBMISSIONS).map_err(err)?;
        let mut out: Vec<Submission> = Vec::new();
        for item in t.iter().map_err(err)? {
            let (_, v) = item.map_err(err)?;
            out.push(serde_json::from_slice(v.value()).map_err(err)?);
        }
        out.sort_by_key(|s| s.arrival);
        Ok(out)
    }

    /// Stores a round's record.
    pub fn put_round(&self, r: &RoundRecord) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(ROUNDS).map_err(err)?;
            let v = serde_json::to_vec(r).map_err(err)?;
            t.insert(r.times.round, v.as_slice()).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Every round's record, oldest first.
    pub fn rounds(&self) -> Result<Vec<RoundRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(ROUNDS).map_err(err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(err)? {
            let (_, v) = item.map_err(err)?;
            out.push(serde_json::from_slice(v.value()).map_err(err)?);
        }
        Ok(out)
    }

    /// Appends an event at `seq` (the caller numbers them without gaps).
    pub fn put_event(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(EVENTS).map_err(err)?;
            t.insert(seq, bytes).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Stores a submission's new state and the event it causes in one durable
    /// transaction, once per submission: if an event was recorded for it before, only
    /// the state is written and `false` returned (the event is not appended again).
    pub fn put_submission_event(
        &self,
        sub: &Submission,
        seq: u64,
        event: &[u8],
    ) -> Result<bool, StoreError> {
        let tx = self.db.begin_write().map_err(err)?;
        let fresh;
        {
            let mut subs = tx.open_table(SUBMISSIONS).map_err(err)?;
            let v = serde_json::to_vec(sub).map_err(err)?;
            subs.insert(sub.key().as_slice(), v.as_slice())
                .map_err(err)?;
            let mut of = tx.open_table(SUBMISSION_EVENTS).map_err(err)?;
            fresh = of.get(sub.key().as_slice()).map_err(err)?.is_none();
            if fresh {
                of.insert(sub.key().as_slice(), seq).map_err(err)?;
                let mut events = tx.open_table(EVENTS).map_err(err)?;
                events.insert(seq, event).map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(fresh)
    }

    /// Events with sequence numbers from `from`, in order, at most `limit`.
    pub fn events(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(EVENTS).map_err(err)?;
        let mut out = Vec::new();
        for item in t.range(from..).map_err(err)? {
            let (k, v) = item.map_err(err)?;
            out.push((k.value(), v.value().to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The next free event sequence number.
    pub fn next_event(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let t = tx.open_table(EVENTS).map_err(err)?;
        let last = t.last().map_err(err)?;
        Ok(last.map(|(k, _)| k.value() + 1).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(bid: u8, arrival: u64) -> Submission {
        Submission {
            kind: Kind::Bid,
            bid: [bid; 32],
            acct: [7; 32],
            round: 3,
            arrival,
            call: vec![1, 2, 3],
            f_old: [0; 32],
            f_new: [1; 32],
            state: SubmissionState::Queued,
        }
    }

    #[test]
    fn what_is_committed_is_there_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coord.redb");
        {
            let s = Store::open(&path).unwrap();
            s.bind_market(&[1; 20]).unwrap();
            s.put_submissions(&[&sub(2, 1), &sub(1, 0)]).unwrap();
            s.put_event(0, b"a").unwrap();
            s.put_event(1, b"b").unwrap();
        }
        let s = Store::open(&path).unwrap();
        let subs = s.submissions().unwrap();
        assert_eq!(subs.iter().map(|x| x.bid[0]).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.next_event().unwrap(), 2);
        assert_eq!(s.events(1, 10).unwrap(), vec![(1, b"b".to_vec())]);
        let mut on = sub(1, 0);
        on.state = SubmissionState::OnChain {
            index: 0,
            block: 5,
            gas_used: 1,
        };
        s.put_submissions(&[&on]).unwrap();
        assert_eq!(s.submission(Kind::Bid, &[1; 32]).unwrap(), Some(on));
        assert_eq!(s.submission(Kind::Settlement, &[1; 32]).unwrap(), None);
        // a submission's event is written once, with its state
        let mut again = sub(2, 1);
        again.state = SubmissionState::OnChain {
            index: 1,
            block: 6,
            gas_used: 1,
        };
        assert!(s.put_submission_event(&again, 2, b"c").unwrap());
        assert!(!s.put_submission_event(&again, 3, b"c").unwrap());
        assert_eq!(s.next_event().unwrap(), 3);
        assert_eq!(s.submission(Kind::Bid, &[2; 32]).unwrap(), Some(again));
        // another market's coordinator cannot use this store
        assert!(s.bind_market(&[2; 20]).is_err());
        s.bind_market(&[1; 20]).unwrap();
    }
}
