//! Driving the committee over gRPC (PROTOCOL §7). The coordinator never hands a trustee
//! a list of bids: each trustee aggregates what it reads from the chain itself. The
//! coordinator collects partial decryptions, combines any `t` valid ones (every DLEQ
//! proof checked), solves the histograms, asks each trustee to check and sign the
//! result, and keeps everything it collected for the round's audit bundle.

use std::sync::Arc;

use alloy_primitives::B256;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::aggregate::AggregationReport;
use sealgrid_committee::aggregate::PostedBid;
use sealgrid_committee::decrypt::PartialDecryption;
use sealgrid_committee::dkg::CommitteePublic;
use sealgrid_committee::round::{decrypt_and_clear, RoundOutcome};
use sealgrid_committee::settlement::{decrypt_settlement, settlement_view, PostedSettlement};
use sealgrid_committee::sign::{
    clearing_digest, finalize_digest, recover, Address, EthSignature, FinalizeTotals, SigningDomain,
};
use sealgrid_committee::trustee::{
    FinalizeRequest, PartialDecryptRequest, SettlementDecryptRequest, SignRequest,
};
use sealgrid_committee::{BidId, InclusionBitmap};
use sealgrid_proto::tls::MutualTls;
use sealgrid_proto::trustee_client::TrusteeClient;
use sealgrid_verifier_contract::bindings::Market;

/// How the coordinator dials its trustees.
#[derive(Clone, Debug)]
pub enum TrusteeTls {
    /// Mutual TLS: the coordinator presents its certificate and accepts a trustee only
    /// with a certificate the CA signed for the address dialled (`https://`).
    Mutual(MutualTls),
    /// Plaintext (`http://`), nobody authenticated: for a trustee started with
    /// `--insecure-plaintext` in development only.
    InsecurePlaintext,
}

/// The committee as the coordinator reaches it.
#[derive(Clone)]
pub struct CommitteeDriver {
    /// `https://host:port` of each trustee.
    pub urls: Vec<String>,
    /// How they are dialled.
    pub tls: TrusteeTls,
    /// The committee's public keys.
    pub public: Arc<CommitteePublic>,
    /// Market parameters.
    pub params: MarketParams,
    /// Where signatures are valid.
    pub domain: SigningDomain,
    /// The discrete-log table for the histograms and totals.
    pub table: Arc<DlogTable>,
    /// The signing addresses the contract registered for the committee.
    pub members: Vec<Address>,
}

impl std::fmt::Debug for CommitteeDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitteeDriver")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

/// A round decrypted, cleared and signed.
#[derive(Clone, Debug)]
pub struct Cleared {
    /// Histograms, clearing, included and excluded bids.
    pub outcome: RoundOutcome,
    /// The inclusion bitmap the trustees signed.
    pub bitmap: InclusionBitmap,
    /// Every partial decryption received.
    pub partials: Vec<PartialDecryption>,
    /// Signatures in the contract's order (ascending signer).
    pub signatures: Vec<EthSignature>,
}

/// A round's finalization decrypted and signed.
#[derive(Clone, Debug)]
pub struct Finalized {
    /// The totals.
    pub totals: FinalizeTotals,
    /// The defaulted bids (recorded on chain by `recordDefaults`).
    pub defaulters: Vec<BidId>,
    /// The settlements `finalize` voids (settled bids' ids).
    pub voided: Vec<BidId>,
    /// The payout commitment each voided settlement made (read from the chain's
    /// `Settled` events by the engine; the contract checks each against its bid).
    pub voided_payouts: Vec<alloy_primitives::U256>,
    /// The account of each voided settlement's bid (from the same events), which the
    /// contract checks against the bid's record.
    pub voided_accounts: Vec<alloy_primitives::U256>,
    /// Partial decryptions of the flow totals and of the defaulted locks.
    pub flow_partials: Vec<PartialDecryption>,
    /// See `flow_partials`.
    pub lock_partials: Vec<PartialDecryption>,
    /// Signatures in the contract's order.
    pub signatures: Vec<EthSignature>,
}

/// A signature in the contract's form.
pub fn market_signature(s: &EthSignature) -> Market::Signature {
    Market::Signature {
        r: B256::from_slice(&s.0[..32]),
        s: B256::from_slice(&s.0[32..64]),
        v: s.0[64],
    }
}

impl CommitteeDriver {
    fn threshold(&self) -> usize {
        self.public.params.t as usize
    }

    async fn clients(&self) -> Vec<(String, Result<TrusteeClient, String>)> {
        let mut out = Vec::new();
        for url in &self.urls {
            let c = match &self.tls {
                TrusteeTls::Mutual(tls) => TrusteeClient::connect(url.clone(), tls).await,
                TrusteeTls::InsecurePlaintext => {
                    TrusteeClient::connect_insecure_plaintext(url.clone()).await
                }
            }
            .map_err(|e| e.to_string());
            out.push((url.clone(), c));
        }
        out
    }

    /// Collects signatures from the trustees' answers, keeps those by distinct committee
    /// members over `digest`, the first t of them sorted by signer as the contract wants
    /// them; fails below t.
    fn sorted_signatures(
        &self,
        digest: &[u8; 32],
        sigs: Vec<EthSignature>,
    ) -> Result<Vec<EthSignature>, String> {
        let mut by_signer: Vec<(Address, EthSignature)> = Vec::new();
        for s in sigs {
            if let Ok(a) = recover(digest, &s) {
                if self.members.contains(&a) && !by_signer.iter().any(|(b, _)| *b == a) {
                    by_signer.push((a, s));
                }
            }
        }
        if by_signer.len() < self.threshold() {
            return Err(format!(
                "only {} valid trustee signatures, {} needed",
                by_signer.len(),
                self.threshold()
            ));
        }
        // t signatures suffice; more only cost gas.
        by_signer.truncate(self.threshold());
        by_signer.sort_by_key(|(a, _)| a.0);
        Ok(by_signer.into_iter().map(|(_, s)| s).collect())
    }

    /// Decrypts, clears and signs round `round`; `report` is the coordinator's own
    /// aggregate of the bids it saw accepted (the trustees make theirs from the chain).
    pub async fn clear(&self, round: u64, report: AggregationReport) -> Result<Cleared, String> {
        if report.aggregate.included().len() < self.params.k_anonymity {
            return self.clear_under_floor(round, report).await;
        }
        let mut clients = self.clients().await;
        let mut partials = Vec::new();
        let mut failures = Vec::new();
        let req = PartialDecryptRequest { round };
        for (url, c) in clients.iter_mut() {
            match c {
                Ok(c) => match c.partial_decrypt(&req).await {
                    Ok(r) => {
                        if r.included != report.aggregate.included() {
                            tracing::warn!(
                                round,
                                trustee = %url,
                                "the trustee aggregated other bids than the coordinator saw"
                            );
                        }
                        partials.push(r.partial);
                    }
                    Err(e) => failures.push(format!("{url}: {e}")),
                },
                Err(e) => failures.push(format!("{url}: {e}")),
            }
        }
        if partials.len() < self.threshold() {
            return Err(format!(
                "round {round}: {} partial decryptions, {} needed ({})",
                partials.len(),
                self.threshold(),
                failures.join("; ")
            ));
        }
        let (public, params, table) =
            (self.public.clone(), self.params.clone(), self.table.clone());
        let ps = partials.clone();
        let bitmap = report.aggregate.inclusion_bitmap();
        let outcome = tokio::task::spawn_blocking(move || {
            decrypt_and_clear(&public, &params, &report, &ps, &table)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("round {round}: combining the partial decryptions: {e}"))?;
        for (t, why) in &outcome.rejected {
            tracing::warn!(round, trustee = %t, ?why, "a partial decryption was rejected");
        }
        let sign = SignRequest {
            round,
            h_buy: outcome.h_buy.clone(),
            h_sell: outcome.h_sell.clone(),
            partials: partials.clone(),
        };
        let mut sigs = Vec::new();
        let mut digest = None;
        for (url, c) in clients.iter_mut() {
            let Ok(c) = c else { continue };
            match c.sign(&sign).await {
                Ok(r) => {
                    let d = clearing_digest(&self.domain, &r.statement);
                    if r.statement.included != bitmap {
                        tracing::warn!(round, trustee = %url, "the trustee signed another inclusion");
                        continue;
                    }
                    if *digest.get_or_insert(d) == d {
                        sigs.push(r.signature);
                    }
                }
                Err(e) => failures.push(format!("{url} refused to sign: {e}")),
            }
        }
        let digest = digest
            .ok_or_else(|| format!("round {round}: no trustee signed ({})", failures.join("; ")))?;
        let signatures = self.sorted_signatures(&digest, sigs)?;
        Ok(Cleared {
            outcome,
            bitmap,
            partials,
            signatures,
        })
    }

    /// A round under the k-anonymity floor: nothing is decrypted; the trustees sign
    /// empty histograms and the contract records the round as not cleared, so that every
    /// bid's settlement releases its lock (PROTOCOL §5).
    async fn clear_under_floor(
        &self,
        round: u64,
        report: AggregationReport,
    ) -> Result<Cleared, String> {
        let k = self.params.levels;
        let zeros = vec![0u64; k];
        let clearing = sealgrid_circuits::market::clear(
            &zeros,
            &zeros,
            report.aggregate.included().len(),
            self.params.k_anonymity,
        )
        .map_err(|e| e.to_string())?;
        let bitmap = report.aggregate.inclusion_bitmap();
        let sign = SignRequest {
            round,
            h_buy: zeros.clone(),
            h_sell: zeros.clone(),
            partials: Vec::new(),
        };
        let mut clients = self.clients().await;
        let (mut sigs, mut failures, mut digest) = (Vec::new(), Vec::new(), None);
        for (url, c) in clients.iter_mut() {
            let Ok(c) = c else { continue };
            match c.sign(&sign).await {
                Ok(r) if r.statement.included == bitmap => {
                    let d = clearing_digest(&self.domain, &r.statement);
                    if *digest.get_or_insert(d) == d {
                        sigs.push(r.signature);
                    }
                }
                Ok(_) => {
                    tracing::warn!(round, trustee = %url, "the trustee signed another inclusion")
                }
                Err(e) => failures.push(format!("{url} refused to sign: {e}")),
            }
        }
        let digest = digest
            .ok_or_else(|| format!("round {round}: no trustee signed ({})", failures.join("; ")))?;
        let signatures = self.sorted_signatures(&digest, sigs)?;
        Ok(Cleared {
            outcome: RoundOutcome {
                round,
                h_buy: zeros.clone(),
                h_sell: zeros,
                included: report.aggregate.included().to_vec(),
                excluded: report.excluded.clone(),
                used: Vec::new(),
                rejected: Vec::new(),
                clearing,
            },
            bitmap,
            partials: Vec::new(),
            signatures,
        })
    }

    /// Decrypts and signs round `round`'s finalization from the coordinator's view of
    /// its accepted bids and settlements.
    pub async fn finalize(
        &self,
        round: u64,
        bids: Vec<PostedBid>,
        settlements: Vec<PostedSettlement>,
    ) -> Result<Finalized, String> {
        let view = settlement_view(
            round,
            self.params.levels,
            self.params.k_anonymity,
            &bids,
            &settlements,
        );
        let mut clients = self.clients().await;
        let (mut flows, mut locks, mut failures) = (Vec::new(), Vec::new(), Vec::new());
        let req = SettlementDecryptRequest { round };
        for (url, c) in clients.iter_mut() {
            match c {
                Ok(c) => match c.partial_decrypt_settlement(&req).await {
                    Ok(r) => {
                        if r.settled != view.settled() || r.defaulters != view.defaulters() {
                            tracing::warn!(round, trustee = %url, "the trustee sees other settlements than the coordinator");
                        }
                        flows.extend(r.flows);
                        locks.extend(r.locks);
                    }
                    Err(e) => failures.push(format!("{url}: {e}")),
                },
                Err(e) => failures.push(format!("{url}: {e}")),
            }
        }
        let (public, levels, table) = (self.public.clone(), self.params.levels, self.table.clone());
        let (f2, l2) = (flows.clone(), locks.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            decrypt_settlement(&public, levels, &view, &f2, &l2, &table)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| {
            format!(
                "round {round}: settlement totals: {e} ({})",
                failures.join("; ")
            )
        })?;
        let fin = FinalizeRequest {
            round,
            totals: outcome.totals,
            flow_partials: flows.clone(),
            lock_partials: locks.clone(),
        };
        let mut sigs = Vec::new();
        let mut digest = None;
        for (url, c) in clients.iter_mut() {
            let Ok(c) = c else { continue };
            match c.sign_finalize(&fin).await {
                Ok(r) => {
                    let d = finalize_digest(&self.domain, &r.statement);
                    if r.statement.defaulted != outcome.defaulters
                        || r.statement.voided != outcome.voided
                    {
                        tracing::warn!(round, trustee = %url, "the trustee signed other defaulters");
                        continue;
                    }
                    if *digest.get_or_insert(d) == d {
                        sigs.push(r.signature);
                    }
                }
                Err(e) => failures.push(format!("{url} refused to sign: {e}")),
            }
        }
        let digest = digest.ok_or_else(|| {
            format!(
                "round {round}: no trustee signed the finalization ({})",
                failures.join("; ")
            )
        })?;
        let signatures = self.sorted_signatures(&digest, sigs)?;
        Ok(Finalized {
            totals: outcome.totals,
            defaulters: outcome.defaulters,
            voided: outcome.voided,
            voided_payouts: Vec::new(),
            voided_accounts: Vec::new(),
            flow_partials: flows,
            lock_partials: locks,
            signatures,
        })
    }
}
