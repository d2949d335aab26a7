//! The committee's part of a slot, through the committee crate's real code: each
//! trustee aggregates its own view of the accepted bids (digest checks) and returns a
//! partial decryption with DLEQ proofs; the shares are verified and combined, the
//! histograms solved and cleared; each trustee re-checks the result and signs it, and
//! the signatures are checked against the committee's addresses and the threshold.
//!
//! Settlement flows (`docs/PROTOCOL.md` §4.3, S7) are decrypted in aggregate the same
//! way, with one gap: the trustee API has no handler (and `DecryptionContext` no
//! purpose) for settlement flows yet. The demo therefore calls the committee's
//! `decrypt::partial_decrypt` with each trustee's key share, under the round's
//! `Clearing` context. The DLEQ proofs still bind the settlement aggregate's own `C1`,
//! so these shares cannot pass for the bids' aggregate; a `Settlement` purpose and a
//! trustee handler belong in `committee/` (see the report of this change).

use rand::rngs::OsRng;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::settle::SETTLE_FLOWS;
use sealgrid_committee::aggregate::{AggregationReport, Aggregator, PostedBid};
use sealgrid_committee::decrypt::{self, PartialDecryption};
use sealgrid_committee::dleq::DecryptionContext;
use sealgrid_committee::round::{decrypt_and_clear, RoundOutcome, MAX_FLOW_BITS};
use sealgrid_committee::sign::{clearing_digest, verify_threshold, Address};
use sealgrid_committee::trustee::{PartialDecryptRequest, SignRequest};

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

/// The round's settlement flow totals `[Σ pay, Σ credit, Σ penalty]`, decrypted from the
/// aggregate of the posted settlement flow ciphertexts by `t` trustees with DLEQ proofs
/// (see the module documentation for the context used). Refuses under the k-anonymity
/// floor, like the trustees do for bids.
pub fn decrypt_settlement_totals(
    committee: &Committee,
    market: &MarketParams,
    round: u64,
    posted: &[PostedBid],
    table: &DlogTable,
) -> Result<[u64; SETTLE_FLOWS], DemoError> {
    if posted.len() < market.k_anonymity {
        return Err(DemoError::Committee(format!(
            "{} settlements are under the k-anonymity floor {}",
            posted.len(),
            market.k_anonymity
        )));
    }
    let report = aggregate_accepted(round, SETTLE_FLOWS, posted, "settlement flows")?;
    let ct = report.aggregate.ciphertexts();
    let context = DecryptionContext::Clearing { round };
    let slots: Vec<u32> = (0..SETTLE_FLOWS as u32).collect();
    let partials: Vec<PartialDecryption> = committee
        .shares
        .iter()
        .map(|share| {
            decrypt::partial_decrypt(
                share,
                &committee.public,
                context,
                &ct.c1,
                &slots,
                &mut OsRng,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| DemoError::Committee(format!("settlement partial decryption: {e}")))?;
    let combined = decrypt::combine(
        &committee.public,
        &context,
        &ct.c1,
        &ct.c2,
        &slots,
        &partials,
    )
    .map_err(|e| DemoError::Committee(format!("settlement flows: {e}")))?;
    if !combined.rejected.is_empty() {
        return Err(DemoError::Check(format!(
            "settlement shares rejected: {:?}",
            combined.rejected
        )));
    }
    let values = decrypt::solve(table, &slots, &combined.points, MAX_FLOW_BITS)
        .map_err(|e| DemoError::Committee(format!("settlement flows: {e}")))?;
    Ok([values[0], values[1], values[2]])
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
        assert_eq!(
            decrypt_settlement_totals(&committee, &market, 9, &posted, &table).unwrap(),
            [357, 80, 300]
        );
        // a posted ciphertext changed after proving no longer matches its digest
        posted[2].ciphertexts.c2[1] = (posted[2].ciphertexts.c2[1] + base8()).into_affine();
        let err = decrypt_settlement_totals(&committee, &market, 9, &posted, &table).unwrap_err();
        assert!(
            matches!(&err, DemoError::Check(m) if m.contains("DigestMismatch")),
            "{err}"
        );
        // under the k-anonymity floor the committee does not decrypt
        let err =
            decrypt_settlement_totals(&committee, &market, 9, &posted[..4], &table).unwrap_err();
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
