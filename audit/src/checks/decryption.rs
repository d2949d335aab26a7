//! Checks 3 and 4: the aggregates rebuilt from the events against the bundle and the
//! contract, and the committee's partial decryptions (DLEQ proofs, every t of them
//! combining to the posted histograms and totals).

#[allow(clippy::wildcard_imports)]
use super::*;

impl RoundCtx<'_> {
    pub(super) fn aggregates(&self) -> Check {
        let Some(cleared) = self.cleared else {
            return pass(AGGREGATES, "round not cleared: nothing to compare");
        };
        let report = match aggregate(self.round, 2 * self.levels + 1, self.bids) {
            Ok(r) => r,
            Err(e) => return fail(AGGREGATES, format!("no aggregate: {e}")),
        };
        let agg = &report.aggregate;
        let mut failures = Vec::new();
        match self.bundle {
            Err(e) => failures.push(e.clone()),
            Ok(b) => {
                if b.included != agg.included() {
                    failures.push(format!(
                        "the bundle includes {} bids, the rebuilt aggregate {}: bundle-only {:?}, \
                         chain-only {:?}",
                        b.included.len(),
                        agg.included().len(),
                        b.included
                            .iter()
                            .filter(|x| !agg.included().contains(x))
                            .map(bid_name)
                            .collect::<Vec<_>>(),
                        agg.included()
                            .iter()
                            .filter(|x| !b.included.contains(x))
                            .map(bid_name)
                            .collect::<Vec<_>>(),
                    ));
                }
                if b.excluded != report.excluded {
                    failures.push(format!(
                        "the bundle excludes {:?}, the rebuilt aggregate {:?}",
                        b.excluded, report.excluded
                    ));
                }
            }
        }
        let bitmap: Vec<U256> = bitmap_words(&agg.inclusion_bitmap());
        let on_chain = self
            .record
            .inclusion
            .get(&self.round)
            .cloned()
            .unwrap_or_default();
        if on_chain != bitmap {
            failures.push(format!(
                "the contract's inclusion bitmap {on_chain:?} is not the rebuilt {bitmap:?}"
            ));
        }
        match &cleared.call {
            Err(e) => failures.push(e.clone()),
            Ok(c) if c.included != bitmap => failures.push(format!(
                "the clear transaction's bitmap {:?} is not the rebuilt {bitmap:?}",
                c.included
            )),
            Ok(_) => {}
        }
        if cleared.event.includedBids as usize != agg.included().len() {
            failures.push(format!(
                "RoundCleared counts {} included bids, the rebuilt aggregate {}",
                cleared.event.includedBids,
                agg.included().len()
            ));
        }
        Check::from_failures(
            AGGREGATES,
            format!(
                "{} of {} bids included ({} excluded), as bundle, bitmap and RoundCleared say",
                agg.included().len(),
                self.bids.len(),
                report.excluded.len()
            ),
            failures,
        )
    }

    pub(super) fn histograms(&self) -> Check {
        let Some(posted) = self.posted_histograms() else {
            return pass(HISTOGRAMS, "round not cleared: no histograms posted");
        };
        let (hb, hs) = match posted {
            Ok(h) => h,
            Err(e) => return fail(HISTOGRAMS, e),
        };
        match self.bundle {
            Err(e) => fail(HISTOGRAMS, e.clone()),
            Ok(b) => match &b.histograms {
                None => fail(HISTOGRAMS, "the bundle has no clearing"),
                Some((bb, bs)) if bb[..] != *hb || bs[..] != *hs => fail(
                    HISTOGRAMS,
                    format!(
                        "the bundle's histograms H_buy {bb:?}, H_sell {bs:?} are not the posted \
                         H_buy {hb:?}, H_sell {hs:?}"
                    ),
                ),
                Some(_) => pass(
                    HISTOGRAMS,
                    format!("bundle and clear transaction agree: H_buy {hb:?}, H_sell {hs:?}"),
                ),
            },
        }
    }

    pub(super) fn clearing_decryption(&self) -> Check {
        let Some(posted) = self.posted_histograms() else {
            return pass(CLEARING_DECRYPTION, "round not cleared: nothing decrypted");
        };
        let (hb, hs) = match posted {
            Ok(h) => h,
            Err(e) => return fail(CLEARING_DECRYPTION, e),
        };
        let b = match self.bundle {
            Ok(b) => b,
            Err(e) => return fail(CLEARING_DECRYPTION, e.clone()),
        };
        let report = match aggregate(self.round, 2 * self.levels + 1, self.bids) {
            Ok(r) => r,
            Err(e) => return fail(CLEARING_DECRYPTION, format!("no aggregate: {e}")),
        };
        let ct = report.aggregate.ciphertexts();
        let expected: Vec<u64> = hb.iter().chain(hs).copied().collect();
        let slots = histogram_slots(self.levels);
        if expected.len() != slots.len() {
            return fail(
                CLEARING_DECRYPTION,
                format!(
                    "{} histogram values posted, the market has {} slots",
                    expected.len(),
                    slots.len()
                ),
            );
        }
        let context = DecryptionContext::Clearing { round: self.round };
        let (used, failures) = check_decryption(
            self.public,
            &context,
            &ct.c1,
            &ct.c2,
            &slots,
            &b.clearing_partials,
            &expected,
            "the posted histograms",
        );
        Check::from_failures(
            CLEARING_DECRYPTION,
            format!(
                "{used} valid partial decryptions; every t of them yield the posted histograms"
            ),
            failures,
        )
    }

    pub(super) fn settlement_decryption(&self) -> Check {
        let Some(posted) = self.posted_totals() else {
            return pass(
                SETTLEMENT_DECRYPTION,
                "round not finalized: nothing decrypted",
            );
        };
        let totals = match posted {
            Ok(t) => t,
            Err(e) => return fail(SETTLEMENT_DECRYPTION, e),
        };
        let b = match self.bundle {
            Ok(b) => b,
            Err(e) => return fail(SETTLEMENT_DECRYPTION, e.clone()),
        };
        let mut failures = Vec::new();
        match b.totals {
            None => failures.push("the bundle has no finalization totals".into()),
            Some(t) if t != totals => failures.push(format!(
                "the bundle's totals {t:?} are not the posted {totals:?}"
            )),
            Some(_) => {}
        }
        let view = settlement_view(
            self.round,
            self.levels,
            self.market.trustee_setup.market.k_anonymity,
            self.bids,
            self.settlements,
        );
        let mut used = Vec::new();
        let parts = [
            (
                DecryptionContext::Settlement { round: self.round },
                view.flows(),
                flow_slots(),
                &b.settlement_partials,
                vec![totals.pay, totals.credit, totals.penalty],
                "the posted pay, credit and penalty totals",
            ),
            (
                DecryptionContext::Defaulted { round: self.round },
                view.locks(),
                vec![lock_slot(self.levels)],
                &b.defaulted_partials,
                vec![totals.defaulted_locks],
                "the posted defaulted-locks total",
            ),
        ];
        for (context, agg, slots, partials, expected, what) in parts {
            match agg {
                None if expected.iter().any(|&x| x != 0) => failures.push(format!(
                    "nothing to decrypt for {what}, yet they are {expected:?}, not 0"
                )),
                None => {}
                Some(agg) => {
                    let ct = agg.ciphertexts();
                    let (n, f) = check_decryption(
                        self.public,
                        &context,
                        &ct.c1,
                        &ct.c2,
                        &slots,
                        partials,
                        &expected,
                        what,
                    );
                    used.push(n);
                    failures.extend(f);
                }
            }
        }
        Check::from_failures(
            SETTLEMENT_DECRYPTION,
            format!("valid partial decryptions {used:?}; every t of them yield the posted totals {totals:?}"),
            failures,
        )
    }
}

/// Verifies each partial decryption (naming the trustee and slot of a failure), and
/// that every `t` of the valid ones combine to `expected[k]·G` in slot `slots[k]`.
/// Returns the number of valid partials and the failures.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_decryption(
    public: &CommitteePublic,
    context: &DecryptionContext,
    c1: &Point,
    c2: &[Point],
    slots: &[u32],
    partials: &[PartialDecryption],
    expected: &[u64],
    what: &str,
) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut valid: Vec<&PartialDecryption> = Vec::new();
    for p in partials {
        match verify_partial(public, context, c1, slots, p) {
            Err(r) => failures.push(format!(
                "trustee {}: partial decryption rejected: {r:?}",
                p.trustee.0
            )),
            Ok(()) if valid.iter().any(|q| q.trustee == p.trustee) => {
                failures.push(format!("trustee {}: two partial decryptions", p.trustee.0))
            }
            Ok(()) => valid.push(p),
        }
    }
    let t = public.params.t as usize;
    if valid.len() < t {
        failures.push(format!(
            "{} valid partial decryptions, threshold {t}",
            valid.len()
        ));
        return (valid.len(), failures);
    }
    valid.sort_by_key(|p| p.trustee);
    let targets: Vec<Point> = expected
        .iter()
        .map(|&v| (base8() * Scalar::from(v)).into_affine())
        .collect();
    for subset in combinations(valid.len(), t) {
        let chosen: Vec<&PartialDecryption> = subset.iter().map(|&i| valid[i]).collect();
        let ids: Vec<TrusteeId> = chosen.iter().map(|p| p.trustee).collect();
        let lambda = lagrange_at_zero(&ids);
        for (k, &slot) in slots.iter().enumerate() {
            let Some(c2_j) = c2.get(slot as usize) else {
                failures.push(format!("slot {slot} missing from the aggregate"));
                continue;
            };
            let s_c1 = chosen
                .iter()
                .zip(&lambda)
                .fold(ProjectivePoint::ZERO, |acc, (p, l)| acc + p.shares[k].d * l);
            let m = (*c2_j - s_c1).into_affine();
            if m != targets[k] {
                failures.push(format!(
                    "trustees {:?} combine slot {slot} to a value other than {} ({what})",
                    ids.iter().map(|i| i.0).collect::<Vec<_>>(),
                    expected[k]
                ));
            }
        }
    }
    (valid.len(), failures)
}

/// Every `k`-subset of `0..n`, as sorted index lists (at most 64 of them: beyond that,
/// the first 64 in lexicographic order).
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    fn go(start: usize, n: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if out.len() >= 64 {
            return;
        }
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(0, n, k, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_every_t_subset() {
        assert_eq!(combinations(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(combinations(2, 2), vec![vec![0, 1]]);
    }
}
