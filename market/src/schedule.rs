//! The market clock. Round `r` is the delivery slot `[r·S, (r+1)·S)` in unix seconds
//! (`S` = `slot_seconds`): bidding runs from `open_at` to the bid deadline (gate closure
//! before the slot), settlement from the end of the slot for `settle_seconds`, and the
//! round is finalized after that. The real market uses `S` = 900; demos and tests
//! compress the clock to a few seconds per slot. Every time is wall-clock time, the same
//! clock the chain's blocks carry.

use serde::{Deserialize, Serialize};

/// The schedule's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Slot length, seconds.
    pub slot_seconds: u64,
    /// Bidding opens this long before the bid deadline.
    pub bidding_seconds: u64,
    /// The bid deadline lies this long before the slot starts.
    pub gate_closure_seconds: u64,
    /// Settlements are taken for this long after the slot ends.
    pub settle_seconds: u64,
}

impl Default for Schedule {
    /// The real market: 15-minute slots, bidding for the hour before gate closure, gate
    /// closure 5 minutes before delivery, settlement for 15 minutes after it.
    fn default() -> Schedule {
        Schedule {
            slot_seconds: 900,
            bidding_seconds: 3600,
            gate_closure_seconds: 300,
            settle_seconds: 900,
        }
    }
}

/// One round's times (unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTimes {
    /// The round.
    pub round: u64,
    /// Bidding opens.
    pub open_at: u64,
    /// Bidding closes (the contract refuses bids from then on).
    pub bid_deadline: u64,
    /// Delivery ends, settlement opens.
    pub settle_start: u64,
    /// Settlement closes; finalization follows.
    pub settle_deadline: u64,
}

/// Why a schedule is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A length is zero or the gate closure is longer than a bidding window allows.
    #[error("schedule: {0}")]
    Invalid(String),
}

impl Schedule {
    /// Checks the lengths.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.slot_seconds == 0 || self.bidding_seconds == 0 || self.settle_seconds == 0 {
            return Err(ScheduleError::Invalid(
                "slot, bidding and settlement lengths must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The times of round `r`.
    pub fn times(&self, r: u64) -> RoundTimes {
        let slot_start = r.saturating_mul(self.slot_seconds);
        let bid_deadline = slot_start.saturating_sub(self.gate_closure_seconds);
        let settle_start = slot_start.saturating_add(self.slot_seconds);
        RoundTimes {
            round: r,
            open_at: bid_deadline.saturating_sub(self.bidding_seconds),
            bid_deadline,
            settle_start,
            settle_deadline: settle_start.saturating_add(self.settle_seconds),
        }
    }

    /// The first round whose bidding window has at least `margin` seconds left at `now`
    /// (the next round a prosumer can still bid in, allowing for proving time).
    pub fn next_biddable(&self, now: u64, margin: u64) -> u64 {
        // bid_deadline(r) = r·S − gate ≥ now + margin
        let need = now + margin + self.gate_closure_seconds;
        need.div_ceil(self.slot_seconds)
    }
}

/// The wall clock, unix seconds.
pub fn wall() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The market's clock: the wall clock plus an offset that only grows. A production
/// coordinator never moves it; a compressed demo or a test skips the idle parts of a
/// round (waiting for a deadline once everyone has acted) by moving it forward. The
/// engine and the embedded chain read the same clock, so the contract's deadlines and
/// the engine's agree.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Clock {
    /// The wall clock.
    pub fn wall() -> Clock {
        Clock::default()
    }

    /// Now, unix seconds.
    pub fn now(&self) -> u64 {
        wall() + self.offset.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves the clock forward to at least `t` (never backward).
    pub fn advance_to(&self, t: u64) {
        let now = self.now();
        if t > now {
            self.offset
                .fetch_add(t - now, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_runs_bidding_delivery_settlement_in_order() {
        let s = Schedule::default();
        let t = s.times(2_000_000);
        assert_eq!(t.bid_deadline, 2_000_000 * 900 - 300);
        assert_eq!(t.open_at, t.bid_deadline - 3600);
        assert_eq!(t.settle_start, 2_000_001 * 900);
        assert_eq!(t.settle_deadline, t.settle_start + 900);
        assert!(t.open_at < t.bid_deadline && t.bid_deadline < t.settle_start);
    }

    #[test]
    fn the_next_biddable_round_leaves_the_margin() {
        let s = Schedule {
            slot_seconds: 4,
            bidding_seconds: 8,
            gate_closure_seconds: 1,
            settle_seconds: 4,
        };
        for now in 1000..1020 {
            let r = s.next_biddable(now, 3);
            assert!(s.times(r).bid_deadline >= now + 3);
            assert!(s.times(r - 1).bid_deadline < now + 3);
        }
        assert!(Schedule {
            slot_seconds: 0,
            ..s
        }
        .validate()
        .is_err());
    }
}
