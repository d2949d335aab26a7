//! Checks 1 and 2: the round's Groth16 proofs (from the transactions' inputs) and the
//! posted ciphertexts' digests.

#[allow(clippy::wildcard_imports)]
use super::*;
use sealgrid_circuits::market::Clearing;
use sealgrid_verifier_contract::calldata;

/// The packed "not cleared" (fill 0, lock back) that bids left out of the bitmap settle
/// against (PROTOCOL §8).
fn packed_not_cleared() -> U256 {
    calldata::fr(&Clearing::NOT_CLEARED.pack())
}

impl RoundCtx<'_> {
    pub(super) fn bid_proofs(&self, pvk: &PreparedVerifyingKey) -> Check {
        let mut failures = Vec::new();
        let mut n = 0;
        for e in self.record.round_events(self.round) {
            let MarketEvents::BidSubmitted(b) = &e.event else {
                continue;
            };
            n += 1;
            let at = format!("bid #{} {}", b.index, short(&words::word(&b.bid)));
            let call = match self
                .record
                .input_of(e)
                .and_then(|i| calldata::bid_in_input(i, b.bid))
            {
                Ok(c) => c,
                Err(why) => {
                    failures.push(format!("{at}: {why}"));
                    continue;
                }
            };
            let i = &call.inp;
            if (i.round, i.acct, i.bid, i.fNew, i.digest)
                != (U256::from(b.round), b.acct, b.bid, b.fNew, b.digest)
                || call.ciphertexts != b.ciphertexts
            {
                failures.push(format!(
                    "{at}: the transaction's inputs are not the event's"
                ));
                continue;
            }
            let public = calldata::bid_public(i).map(|p| p.to_field_elements());
            if let Err(why) = verify(pvk, &call.proof, public) {
                failures.push(format!("{at}: {why}"));
            }
        }
        Check::from_failures(BID_PROOFS, format!("{n} bid proofs verify"), failures)
    }

    pub(super) fn settle_proofs(&self, pvk: &PreparedVerifyingKey) -> Check {
        let mut failures = Vec::new();
        let mut n = 0;
        for e in self.record.round_events(self.round) {
            let MarketEvents::Settled(s) = &e.event else {
                continue;
            };
            n += 1;
            let at = format!("settlement of bid {}", short(&words::word(&s.bid)));
            let call = match self
                .record
                .input_of(e)
                .and_then(|i| calldata::settlement_in_input(i, s.bid))
            {
                Ok(c) => c,
                Err(why) => {
                    failures.push(format!("{at}: {why}"));
                    continue;
                }
            };
            let i = &call.inp;
            if (i.round, i.acct, i.bid, i.pOut, i.digest)
                != (U256::from(s.round), s.acct, s.bid, s.pOut, s.digest)
                || call.ciphertexts != s.ciphertexts
            {
                failures.push(format!(
                    "{at}: the transaction's inputs are not the event's"
                ));
                continue;
            }
            if let Some(expected) = self.settle_clearing(s.bid) {
                if i.clearing != expected {
                    failures.push(format!(
                        "{at}: proven against clearing {:#x}, the round's for this bid is {expected:#x}",
                        i.clearing
                    ));
                    continue;
                }
            }
            let public = calldata::settle_public(i).map(|p| p.to_field_elements());
            if let Err(why) = verify(pvk, &call.proof, public) {
                failures.push(format!("{at}: {why}"));
            }
        }
        Check::from_failures(SETTLE_PROOFS, format!("{n} settle proofs verify"), failures)
    }

    /// The packed clearing a settlement of `bid` must be proven against (PROTOCOL §8):
    /// the round's, if the contract's bitmap includes the bid, else "not cleared".
    /// `None` if the round has no `RoundCleared` or the bid is not one of its bids.
    fn settle_clearing(&self, bid: U256) -> Option<U256> {
        let cleared = self.cleared?;
        let index = self
            .record
            .round_events(self.round)
            .find_map(|e| match &e.event {
                MarketEvents::BidSubmitted(b) if b.bid == bid => Some(b.index),
                _ => None,
            })?;
        let words = self.record.inclusion.get(&self.round)?;
        let included = bitmap_from_words(words).contains(index);
        Some(if included {
            cleared.event.packed
        } else {
            packed_not_cleared()
        })
    }

    /// PROTOCOL §3: a bid whose posted ciphertexts do not digest to its proven `D` is
    /// ignored, so such a bid is a failure only if the committee did not exclude it (the
    /// bundle's `excluded`, same reason). A settlement whose ciphertexts do not digest
    /// to its `E` is left out of the flow totals by every trustee (§7): noted, and the
    /// settlement-decryption check holds the totals to that.
    pub(super) fn ciphertext_digests(&self) -> Check {
        let mut failures = Vec::new();
        let mut ignored = Vec::new();
        for b in self.bids {
            let Err(reason) = check_posted(b, 2 * self.levels + 1) else {
                continue;
            };
            let excluded = self.bundle.map(|x| {
                x.excluded
                    .iter()
                    .any(|e| e.id == b.id && e.reason == reason)
            });
            match excluded {
                Ok(true) => ignored.push(format!("{}: {reason:?}", bid_name(&b.id))),
                Ok(false) => failures.push(format!(
                    "{}: {reason:?}, yet the committee did not exclude it",
                    bid_name(&b.id)
                )),
                Err(e) => failures.push(format!("{}: {reason:?} ({e})", bid_name(&b.id))),
            }
        }
        for b in self.settlements {
            if let Err(reason) = check_posted(b, flow_slots().len()) {
                ignored.push(format!("settlement of {}: {reason:?}", bid_name(&b.id)));
            }
        }
        let mut ok = format!(
            "{} bids digest to D, {} settlements to E",
            self.bids.len(),
            self.settlements.len()
        );
        if !ignored.is_empty() {
            ok = format!(
                "{ok}, but for the ones ignored as PROTOCOL §3 says: {}",
                ignored.join(", ")
            );
        }
        Check::from_failures(CIPHERTEXT_DIGESTS, ok, failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_not_cleared_is_the_contracts() {
        // MarketClearing.packedNotCleared(): (1 << 49) | (1 << 129)
        let expected = (U256::from(1u8) << 49) | (U256::from(1u8) << 129);
        assert_eq!(packed_not_cleared(), expected);
    }
}
