//! Checks 5 to 7: the trustees' signatures, the clearing recomputed from the histograms,
//! and the round's money.

#[allow(clippy::wildcard_imports)]
use super::*;
use sealgrid_verifier_contract::state::PayoutState;

impl RoundCtx<'_> {
    fn committee_addresses(&self) -> &[Address] {
        &self.market.trustees
    }

    pub(super) fn clearing_signatures(&self) -> Check {
        let Some(cleared) = self.cleared else {
            return pass(CLEARING_SIGNATURES, "round not cleared: nothing signed");
        };
        let call = match &cleared.call {
            Ok(c) => c,
            Err(e) => return fail(CLEARING_SIGNATURES, e.clone()),
        };
        let st = ClearingStatement {
            round: self.round,
            bids: u32::try_from(self.bids.len()).unwrap_or(u32::MAX),
            h_buy: call.hBuy.clone(),
            h_sell: call.hSell.clone(),
            included: bitmap_from_words(&call.included),
        };
        let digest = clearing_digest(&self.market.trustee_setup.domain, &st);
        let on_chain: Vec<EthSignature> = call.sigs.iter().map(words::signature).collect();
        self.signatures(
            CLEARING_SIGNATURES,
            &digest,
            &on_chain,
            self.bundle.map(|b| &b.clearing_signatures[..]),
        )
    }

    pub(super) fn finalize_signatures(&self) -> Check {
        let Some(finalized) = self.finalized else {
            return pass(FINALIZE_SIGNATURES, "round not finalized: nothing signed");
        };
        let call = match &finalized.call {
            Ok(c) => c,
            Err(e) => return fail(FINALIZE_SIGNATURES, e.clone()),
        };
        let Some(totals) = totals_of(&call.totals) else {
            return fail(FINALIZE_SIGNATURES, "a finalize total exceeds 64 bits");
        };
        // The digest binds the number of defaults recorded (`recordDefaults`) before the
        // finalization, and the voided settlements the call lists.
        let st = FinalizeStatement {
            round: self.round,
            totals,
            defaulted: self.recorded_defaults(),
            voided: call.voided.iter().map(|w| BidId(words::word(w))).collect(),
        };
        let digest = finalize_digest(&self.market.trustee_setup.domain, &st);
        let on_chain: Vec<EthSignature> = call.sigs.iter().map(words::signature).collect();
        self.signatures(
            FINALIZE_SIGNATURES,
            &digest,
            &on_chain,
            self.bundle.map(|b| &b.finalize_signatures[..]),
        )
    }

    /// The bids of the round recorded as defaults (`Defaulted` events), in order.
    fn recorded_defaults(&self) -> Vec<BidId> {
        self.record
            .round_events(self.round)
            .filter_map(|e| match &e.event {
                MarketEvents::Defaulted(d) => Some(BidId(words::word(&d.bid))),
                _ => None,
            })
            .collect()
    }

    fn signatures(
        &self,
        name: &str,
        digest: &[u8; 32],
        on_chain: &[EthSignature],
        bundle: Result<&[EthSignature], &String>,
    ) -> Check {
        let t = self.public.params.t as usize;
        let committee = self.committee_addresses();
        let mut failures = Vec::new();
        let mut counts = Vec::new();
        let lists: [(&str, Result<&[EthSignature], &String>); 2] =
            [("transaction", Ok(on_chain)), ("bundle", bundle)];
        for (source, sigs) in lists {
            let sigs = match sigs {
                Ok(s) => s,
                Err(e) => {
                    failures.push(e.clone());
                    continue;
                }
            };
            let mut signers: Vec<Address> = Vec::new();
            for (i, s) in sigs.iter().enumerate() {
                match recover(digest, s) {
                    Err(e) => {
                        failures.push(format!("{source} signature #{i} does not recover: {e}"))
                    }
                    Ok(a) if !committee.contains(&a) => failures.push(format!(
                        "{source} signature #{i} recovers to {a:?}, not a committee member"
                    )),
                    Ok(a) if signers.contains(&a) => {
                        failures.push(format!("{source} signature #{i}: {a:?} signed twice"))
                    }
                    Ok(a) => signers.push(a),
                }
            }
            if signers.len() < t {
                failures.push(format!(
                    "{source}: {} distinct committee signers, threshold {t}",
                    signers.len()
                ));
            }
            counts.push(format!("{source} {}", signers.len()));
        }
        Check::from_failures(
            name,
            format!(
                "distinct committee signers over the recomputed digest: {} (t = {t})",
                counts.join(", ")
            ),
            failures,
        )
    }

    pub(super) fn clearing(&self) -> Check {
        let Some(cleared) = self.cleared else {
            return pass(CLEARING, "round not cleared");
        };
        let (hb, hs) = match self.posted_histograms() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return fail(CLEARING, e),
            None => return fail(CLEARING, "no clear transaction"),
        };
        let ev = &cleared.event;
        let k = self.market.trustee_setup.market.k_anonymity;
        let c = match clear(hb, hs, ev.includedBids as usize, k) {
            Ok(c) => c,
            Err(e) => return fail(CLEARING, format!("the posted histograms do not clear: {e}")),
        };
        let recomputed = (
            c.cleared,
            U256::from(c.level),
            U256::from(c.volume),
            crate::market_fr(&c.pack()),
        );
        let event = (ev.cleared, ev.level, ev.volume, ev.packed);
        if recomputed != event {
            return fail(
                CLEARING,
                format!(
                    "recomputed (cleared, level, volume, packed) = {recomputed:?}, RoundCleared says {event:?}"
                ),
            );
        }
        // The floor counts parties (PROTOCOL §8: one bid per account per round): a round
        // cleared with fewer distinct bidding accounts than k fails, whatever its bid
        // count (a bid whose account the events do not name counts as no account).
        let accounts = self
            .bids
            .iter()
            .filter_map(|b| b.acct)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if c.cleared && accounts < k {
            return fail(
                CLEARING,
                format!(
                    "cleared with {accounts} distinct bidding accounts, below the k-anonymity \
                     floor {k}"
                ),
            );
        }
        pass(
            CLEARING,
            format!(
                "cleared {} at level {}, volume {} Wh (k-anonymity floor {k}); {} bids from \
                 {accounts} distinct accounts",
                c.cleared,
                c.level,
                c.volume,
                self.bids.len()
            ),
        )
    }

    pub(super) fn money(&self) -> Check {
        let Some(fin) = self.finalized else {
            return pass(MONEY, "round not finalized");
        };
        let mut failures = Vec::new();
        let ev = &fin.event;
        let Some(totals) = totals_of(&ev.totals) else {
            return fail(MONEY, "a RoundFinalized total exceeds 64 bits");
        };
        let residual = totals.operator_residual();
        if i128::try_from(ev.toOperator).ok() != Some(residual) {
            failures.push(format!(
                "RoundFinalized pays the operator {}, the totals {totals:?} give {residual}",
                ev.toOperator
            ));
        }
        if let Some(Ok(posted)) = self.posted_totals() {
            if posted != totals {
                failures.push(format!(
                    "RoundFinalized's totals {totals:?} are not the signed {posted:?}"
                ));
            }
        }
        for e in self.record.round_events(self.round) {
            if let MarketEvents::Settled(s) = &e.event {
                let state = self.record.payouts.get(&s.pOut).copied();
                if state.map_or(Ok(PayoutState::None), PayoutState::try_from)
                    == Ok(PayoutState::None)
                {
                    failures.push(format!(
                        "the settlement of bid {} created no payout {}",
                        short(&words::word(&s.bid)),
                        short(&words::word(&s.pOut))
                    ));
                }
            }
        }
        // A default (recorded, or a voided settlement) is charged to the account that
        // posted the bid: the contract checks the account its caller names against the
        // bid's record (a tag), and this checks its events against the bid's own.
        let bidders: std::collections::BTreeMap<_, _> = self
            .record
            .round_events(self.round)
            .filter_map(|e| match &e.event {
                MarketEvents::BidSubmitted(b) => Some((b.bid, b.acct)),
                _ => None,
            })
            .collect();
        for e in self.record.round_events(self.round) {
            let (what, bid, acct) = match &e.event {
                MarketEvents::Defaulted(d) => ("default", d.bid, d.acct),
                MarketEvents::SettlementVoided(v) => ("voided settlement", v.bid, v.acct),
                _ => continue,
            };
            if bidders.get(&bid) != Some(&acct) {
                failures.push(format!(
                    "the {what} of bid {} is charged to account {}, not to the account that \
                     posted it",
                    short(&words::word(&bid)),
                    short(&words::word(&acct))
                ));
            }
        }
        let view = settlement_view(
            self.round,
            self.levels,
            self.market.trustee_setup.market.k_anonymity,
            self.bids,
            self.settlements,
        );
        let expected: BTreeSet<BidId> = view.defaulters().iter().copied().collect();
        let listed: BTreeSet<BidId> = self.recorded_defaults().into_iter().collect();
        if listed != expected {
            failures.push(format!(
                "defaulters listed {:?}, bids without a settlement {:?}",
                listed.iter().map(bid_name).collect::<Vec<_>>(),
                expected.iter().map(bid_name).collect::<Vec<_>>()
            ));
        }
        // A settlement whose posted flows do not digest to its E is voided (its payout is
        // never spendable), and no other.
        let voided: BTreeSet<BidId> = self
            .record
            .round_events(self.round)
            .filter_map(|e| match &e.event {
                MarketEvents::SettlementVoided(v) => {
                    let state = self.record.payouts.get(&v.pOut).copied();
                    if state.map(PayoutState::try_from) != Some(Ok(PayoutState::Void)) {
                        failures.push(format!(
                            "the voided payout {} is not void on chain",
                            short(&words::word(&v.pOut))
                        ));
                    }
                    Some(BidId(words::word(&v.bid)))
                }
                _ => None,
            })
            .collect();
        let mismatching: BTreeSet<BidId> = view.voided().iter().copied().collect();
        if voided != mismatching {
            failures.push(format!(
                "settlements voided {:?}, settlements whose flows do not match {:?}",
                voided.iter().map(bid_name).collect::<Vec<_>>(),
                mismatching.iter().map(bid_name).collect::<Vec<_>>()
            ));
        }
        if view.locks_withheld() && totals.defaulted_locks != 0 {
            failures.push(format!(
                "{} defaulters, under the k-anonymity floor: their locks must not be decrypted",
                view.defaulters().len() + view.voided().len()
            ));
        }
        Check::from_failures(
            MONEY,
            format!(
                "operator residual {residual} = pay {} + penalty {} − credit {} + defaulted locks {}; \
                 {} payouts; {} defaulters; {} voided",
                totals.pay,
                totals.penalty,
                totals.credit,
                totals.defaulted_locks,
                self.settlements.len(),
                expected.len(),
                voided.len()
            ),
            failures,
        )
    }
}
