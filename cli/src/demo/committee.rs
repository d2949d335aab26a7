//! The committee's part of a slot, through the committee crate's real code: each
//! trustee aggregates its own view of the accepted bids (digest checks) and returns a
//! partial decryption with DLEQ proofs; the shares are verified and combined, the
//! histograms solved and cleared; each trustee re-checks the result and signs it, and
//! the signatures are checked against the committee's addresses and the threshold.
//!
//! Finalization (`docs/PROTOCOL.md` §4.3 S7, §7, §8) goes through the trustee API the
//! same way: each trustee builds the round's settlement view from its own view of the
//! accepted bids and settlements and returns shares of the settlement flow totals (the
//! settlement context) and of its defaulters' locks (the defaulted context); the
//! shares are combined and solved, and each trustee re-checks the totals and signs the
//! market contract's finalize digest.

use rand::rngs::OsRng;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::aggregate::{AggregationReport, Aggregator, PostedBid};
use sealgrid_committee::round::{decrypt_and_clear, RoundOutcome};
use sealgrid_committee::settlement::{decrypt_settlement, settlement_view, PostedSettlement};
use sealgrid_committee::sign::{
    clearing_digest, finalize_digest, verify_threshold, Address, FinalizeTotals,
};
use sealgrid_committee::trustee::{
    FinalizeRequest, PartialDecryptRequest, SettlementDecryptRequest, SignRequest,
};
use sealgrid_committee::BidId;

use super::setup::{Committee, SIGNING_DOMAIN};
use super::DemoError;

/// A decrypted, cleared and signed round.
#[derive(Debug)]
pub struct SignedOutcome {
    /// Histograms, clearing, who contributed shares.
    pub outcome: RoundOutcome,
    /// The distinct committee members whose signatures verified (at least `t`).
    pub signers: Vec<Address>,
}

/// Aggregates posted ciphertexts as they are accepted (digest and shape checks) and
/// fails on any exclusion: in the demo every posted ciphertext must match its proof.
pub fn aggregate_accepted(
    round: u64,
    slots: usize,
    posted: &[PostedBid],
    what: &str,
) -> Result<AggregationReport, DemoError> {
    let mut agg = Aggregator::new(round, slots);
    for p in posted {
        agg.push(p).map_err(|reason| {
            DemoError::Check(format!("{what}: posted ciphertexts excluded: {reason:?}"))
        })?;
    }
    agg.finish()
        .map_err(|e| DemoError::Check(format!("{what}: {e}")))
}

/// Partial decryptions by every trustee (each from its own view), combination,
/// clearing, and `t`-of-`n` signatures on the result.
pub fn decrypt_clear_and_sign(
    committee: &Committee,
    market: &MarketParams,
    round: u64,
    chain_view: &[PostedBid],
    report: &AggregationReport,
    table: &DlogTable,
) -> Result<SignedOutcome, DemoError> {
    let req = PartialDecryptRequest { round };
    let mut partials = Vec::with_capacity(committee.trustees.len());
    for t in &committee.trustees {
        let resp = t
            .partial_decrypt(&req, chain_view, &mut OsRng)
            .map_err(|e| DemoError::Committee(format!("{} refused to decrypt: {e}", t.id())))?;
        if resp.included != report.aggregate.included() {
            return Err(DemoError::Check(format!(
                "{} aggregated other bids than the coordinator",
                t.id()
            )));
        }
        partials.push(resp.partial);
    }
    let outcome = decrypt_and_clear(&committee.public, market, report, &partials, table)
        .map_err(|e| DemoError::Committee(format!("decryption and clearing: {e}")))?;
    if !outcome.rejected.is_empty() {
        return Err(DemoError::Check(format!(
            "trustees rejected: {:?}",
            outcome.rejected
        )));
    }
    let sign_req = SignRequest {
        round,
        h_buy: outcome.h_buy.clone(),
        h_sell: outcome.h_sell.clone(),
        partials,
    };
    let mut sigs = Vec::new();
    let mut digest = None;
    for t in &committee.trustees {
        let resp = t
            .sign(&sign_req, chain_view)
            .map_err(|e| DemoError::Committee(format!("{} refused to sign: {e}", t.id())))?;
        let d = clearing_digest(&SIGNING_DOMAIN, &resp.statement);
        if *digest.get_or_insert(d) != d {
            return Err(DemoError::Check(format!(
                "{} signed another statement than the others",
                t.id()
            )));
        }
        sigs.push(resp.signature);
    }
    let digest = digest.ok_or_else(|| DemoError::Committee("no trustee".into()))?;
    let signers = verify_threshold(
        &committee.addresses(),
        committee.public.params.t as usize,
        &digest,
        &sigs,
    )
    .map_err(|e| DemoError::Check(format!("clearing signatures: {e}")))?;
    Ok(SignedOutcome { outcome, signers })
}

/// A decrypted and signed finalization.
#[derive(Debug)]
pub struct SignedFinalization {
    /// The totals `[Σ pay, Σ credit, Σ penalty, Σ defaulted lock]`.
    pub totals: FinalizeTotals,
    /// The round's accepted bids without a settlement.
    pub defaulters: Vec<BidId>,
    /// The distinct committee members whose signatures verified (at least `t`).
    pub signers: Vec<Address>,
}

/// The round's settlement totals, decrypted by the trustees from their own views of the
/// accepted bids (`bids`) and settlements (`settlements`), with DLEQ proofs in the
/// settlement and defaulted contexts, then the finalize statement signed by every
/// trustee after its own check and the signatures checked against the threshold. The
/// trustees refuse a settlement aggregate under the k-anonymity floor. Fails on any
/// exclusion or rejected share: in the demo everything posted must match its proof.
pub fn decrypt_and_sign_finalization(
    committee: &Committee,
    market: &MarketParams,
    round: u64,
    bids: &[PostedBid],
    settlements: &[PostedSettlement],
    table: &DlogTable,
) -> Result<SignedFinalization, DemoError> {
    let view = settlement_view(round, market.levels, bids, settlements);
    if !view.flows_excluded().is_empty() || !view.locks_excluded().is_empty() {
        return Err(DemoError::Check(format!(
            "settlement flows: posted ciphertexts excluded: {:?} {:?}",
            view.flows_excluded(),
            view.locks_excluded()
        )));
    }
    let req = SettlementDecryptRequest { round };
    let (mut flows, mut locks) = (Vec::new(), Vec::new());
    for t in &committee.trustees {
        let resp = t
            .partial_decrypt_settlement(&req, bids, settlements, &mut OsRng)
            .map_err(|e| {
                DemoError::Committee(format!("{} refused to decrypt settlements: {e}", t.id()))
            })?;
        if resp.settled != view.settled() || resp.defaulters != view.defaulters() {
            return Err(DemoError::Check(format!(
                "{} summed other settlements than the coordinator",
                t.id()
            )));
        }
        flows.extend(resp.flows);
        locks.extend(resp.locks);
    }
    let outcome = decrypt_settlement(
        &committee.public,
        market.levels,
        &view,
        &flows,
        &locks,
        table,
    )
    .map_err(|e| DemoError::Committee(format!("settlement totals: {e}")))?;
    if !outcome.rejected.is_empty() {
        return Err(DemoError::Check(format!(
            "settlement shares rejected: {:?}",
            outcome.rejected
        )));
    }
    let fin = FinalizeRequest {
        round,
        totals: outcome.totals,
        flow_partials: flows,
        lock_partials: locks,
    };
    let mut sigs = Vec::new();
    let mut digest = None;
    for t in &committee.trustees {
        let resp = t.sign_finalize(&fin, bids, settlements).map_err(|e| {
            DemoError::Committee(format!("{} refused to sign the finalization: {e}", t.id()))
        })?;
        let d = finalize_digest(&SIGNING_DOMAIN, &resp.statement);
        if *digest.get_or_insert(d) != d {
            return Err(DemoError::Check(format!(
                "{} signed another finalization than the others",
                t.id()
            )));
        }
        sigs.push(resp.signature);
    }
    let digest = digest.ok_or_else(|| DemoError::Committee("no trustee".into()))?;
    let signers = verify_threshold(
        &committee.addresses(),
        committee.public.params.t as usize,
        &digest,
        &sigs,
    )
    .map_err(|e| DemoError::Check(format!("finalize signatures: {e}")))?;
    Ok(SignedFinalization {
        totals: outcome.totals,
        defaulters: outcome.defaulters,
        signers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_std::UniformRand;
    use rand::SeedableRng;
    use sealgrid_circuits::babyjubjub::{base8, Scalar};
    use sealgrid_circuits::settle::settle_keys;
    use sealgrid_committee::BidId;

    /// Settlement-like flow posts `[pay, credit, penalty]` under the demo committee's keys.
    fn flows(committee: &Committee, values: &[[u64; 3]]) -> Vec<PostedBid> {
        let keys = settle_keys(&committee.public.flow_keys());
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ct = keys.encrypt(v, &Scalar::rand(&mut rng)).unwrap();
                PostedBid {
                    id: BidId([i as u8 + 1; 32]),
                    digest: ct.digest(),
                    ciphertexts: ct,
                }
            })
            .collect()
    }

    #[test]
    fn settlement_totals_decrypt_and_tampered_or_too_few_flows_are_refused() {
        let market = MarketParams::default();
        let committee = Committee::demo(&market).unwrap();
        let table = DlogTable::new(1 << 10);
        let values = [
            [100, 0, 0],
            [0, 60, 0],
            [0, 20, 300],
            [250, 0, 0],
            [7, 0, 0],
        ];
        let mut posted = flows(&committee, &values);
        // no accepted bid is listed: no defaulter, nothing in the defaulted-locks total
        let fin =
            decrypt_and_sign_finalization(&committee, &market, 9, &[], &posted, &table).unwrap();
        assert_eq!(fin.totals.to_array(), [357, 80, 300, 0]);
        assert!(fin.defaulters.is_empty());
        assert_eq!(fin.signers.len(), 3);
        // a posted ciphertext changed after proving no longer matches its digest
        posted[2].ciphertexts.c2[1] = (posted[2].ciphertexts.c2[1] + base8()).into_affine();
        let err = decrypt_and_sign_finalization(&committee, &market, 9, &[], &posted, &table)
            .unwrap_err();
        assert!(
            matches!(&err, DemoError::Check(m) if m.contains("DigestMismatch")),
            "{err}"
        );
        // under the k-anonymity floor the committee does not decrypt
        let honest = flows(&committee, &values);
        let err = decrypt_and_sign_finalization(&committee, &market, 9, &[], &honest[..4], &table)
            .unwrap_err();
        assert!(matches!(err, DemoError::Committee(_)), "{err}");
    }

    #[test]
    fn the_demo_committee_is_the_same_every_run() {
        let market = MarketParams::default();
        let a = Committee::demo(&market).unwrap();
        let b = Committee::demo(&market).unwrap();
        assert_eq!(a.public.flow_keys, b.public.flow_keys);
        assert_eq!(a.addresses(), b.addresses());
        assert_eq!(a.trustees.len(), 3);
        assert_eq!(a.public.params.t, 2);
    }
}
