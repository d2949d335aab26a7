//! End to end: DKG keys, real bids (circuits' `bid::prepare`), aggregation, threshold
//! decryption with a cheating trustee, clearing, signatures, escrowed disclosure.

use ark_ec::CurveGroup;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_circuits::bid::PreparedBid;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::{clear, MarketParams};
use sealgrid_committee::aggregate::{aggregate, ExclusionReason, PostedBid};
use sealgrid_committee::decrypt::{DecryptError, ShareRejection};
use sealgrid_committee::disclosure::{verify_disclosure, DisclosureError};
use sealgrid_committee::dkg::CommitteePublic;
use sealgrid_committee::round::decrypt_and_clear;
use sealgrid_committee::sign::{
    clearing_digest, recover, verify_threshold, Address, SigningDomain,
};
use sealgrid_committee::trustee::{
    DisclosureRequest, PartialDecryptRequest, SignRequest, Trustee, TrusteeError,
};
use sealgrid_committee::{BidId, TrusteeId};
use sealgrid_testkit::bids::{histograms, posted_all, quote, random_bids};
use sealgrid_testkit::committee::{dkg, trustees, DOMAIN};
use std::sync::Arc;

const ROUND: u64 = 1_970_000;

struct Setup {
    market: MarketParams,
    public: Arc<CommitteePublic>,
    trustees: Vec<Trustee>,
    bids: Vec<PreparedBid>,
    posted: Vec<PostedBid>,
    table: DlogTable,
    domain: SigningDomain,
}

fn setup(n_bids: usize, seed: u64) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let market = MarketParams::default();
    let (public, shares) = dkg(&market, 5, 3, &mut rng);
    let public = Arc::new(public);
    let keys = public.flow_keys();
    let domain = DOMAIN;
    let trustees = trustees(shares, &public, &market, domain, &mut rng);
    let bids = random_bids(&market, &keys, ROUND, n_bids, &mut rng);
    let posted = posted_all(&bids);
    Setup {
        market,
        public,
        trustees,
        bids,
        posted,
        table: DlogTable::new(1 << 12),
        domain,
    }
}

#[test]
fn twenty_real_bids_aggregate_decrypt_with_a_cheating_trustee_clear_and_sign() {
    let s = setup(20, 1);
    let mut rng = ChaCha20Rng::seed_from_u64(100);
    // A 21st accepted bid whose posted ciphertexts were altered after proving: slot 3
    // now carries one more Wh than the proof covers.
    let mut chain_view = s.posted.clone();
    let mut tampered = s.posted[0].clone();
    tampered.id = BidId([0xaa; 32]);
    tampered.ciphertexts.c2[3] = (tampered.ciphertexts.c2[3] + base8()).into_affine();
    chain_view.insert(10, tampered);

    let report = aggregate(ROUND, 2 * s.market.levels + 1, &chain_view).unwrap();
    assert_eq!(report.excluded.len(), 1);
    assert_eq!(report.excluded[0].id, BidId([0xaa; 32]));
    assert_eq!(report.excluded[0].reason, ExclusionReason::DigestMismatch);
    assert_eq!(report.aggregate.included().len(), 20);

    // every trustee aggregates its own view and answers; trustee 2 returns a wrong share
    let req = PartialDecryptRequest { round: ROUND };
    let mut partials: Vec<_> = s
        .trustees
        .iter()
        .map(|t| {
            let resp = t.partial_decrypt(&req, &chain_view, &mut rng).unwrap();
            assert_eq!(resp.included, report.aggregate.included());
            resp.partial
        })
        .collect();
    partials[1].shares[3].d = (partials[1].shares[3].d + base8()).into_affine();

    let outcome = decrypt_and_clear(&s.public, &s.market, &report, &partials, &s.table).unwrap();
    assert_eq!(
        outcome.rejected,
        vec![(TrusteeId(2), ShareRejection::BadProof { slot: 3 })]
    );
    assert_eq!(outcome.used, [1, 3, 4].map(TrusteeId).to_vec());
    let (buy, sell) = histograms(s.market.levels, s.bids.iter().map(quote));
    assert_eq!(
        (outcome.h_buy.clone(), outcome.h_sell.clone()),
        (buy.clone(), sell.clone())
    );
    let expected = clear(&buy, &sell, 20, s.market.k_anonymity).unwrap();
    assert_eq!(outcome.clearing, expected);
    assert!(outcome.clearing.cleared);

    // any t honest trustees give the same result
    let last_three = &partials[2..];
    let again = decrypt_and_clear(&s.public, &s.market, &report, last_three, &s.table).unwrap();
    assert_eq!(
        (again.h_buy, again.h_sell, again.used),
        (buy.clone(), sell.clone(), [3, 4, 5].map(TrusteeId).to_vec())
    );
    // t - 1 honest and the cheater are not enough
    let too_few = [
        partials[1].clone(),
        partials[2].clone(),
        partials[3].clone(),
    ];
    assert!(matches!(
        decrypt_and_clear(&s.public, &s.market, &report, &too_few, &s.table),
        Err(sealgrid_committee::round::RoundError::Decrypt(
            DecryptError::NotEnoughShares {
                valid: 2,
                threshold: 3,
                ..
            }
        ))
    ));

    // signatures: each trustee re-checks the result against the shares, then signs
    let sign_req = SignRequest {
        round: ROUND,
        h_buy: buy.clone(),
        h_sell: sell.clone(),
        partials: partials.clone(),
    };
    let responses: Vec<_> = s
        .trustees
        .iter()
        .map(|t| t.sign(&sign_req, &chain_view).unwrap())
        .collect();
    let committee: Vec<Address> = s.trustees.iter().map(Trustee::address).collect();
    // the bitmap over the chain's bid indices marks exactly the bids summed
    let summed: Vec<u32> = chain_view
        .iter()
        .enumerate()
        .filter(|(_, b)| outcome.included.contains(&b.id))
        .map(|(i, _)| i as u32)
        .collect();
    let bitmap =
        sealgrid_committee::InclusionBitmap::from_indices(chain_view.len(), summed.iter().copied());
    assert_eq!(summed.len(), 20);
    for (r, t) in responses.iter().zip(&s.trustees) {
        let digest = clearing_digest(&s.domain, &r.statement);
        assert_eq!(recover(&digest, &r.signature), Ok(t.address()));
        assert_eq!(r.statement.included, bitmap);
    }
    let digest = clearing_digest(&s.domain, &responses[0].statement);
    let sigs: Vec<_> = responses.iter().map(|r| r.signature).collect();
    assert_eq!(
        verify_threshold(&committee, 3, &digest, &sigs[..3])
            .unwrap()
            .len(),
        3
    );

    // a wrong claimed histogram is refused
    let mut lie = sign_req.clone();
    lie.h_sell[2] += 1;
    assert_eq!(
        s.trustees[0].sign(&lie, &chain_view),
        Err(TrusteeError::WrongResult(s.market.levels as u32 + 2))
    );
}

#[test]
fn tampered_dleq_proof_is_rejected_and_the_trustee_named() {
    let s = setup(6, 2);
    let mut rng = ChaCha20Rng::seed_from_u64(200);
    let req = PartialDecryptRequest { round: ROUND };
    let mut partials: Vec<_> = s.trustees[..4]
        .iter()
        .map(|t| {
            t.partial_decrypt(&req, &s.posted, &mut rng)
                .unwrap()
                .partial
        })
        .collect();
    partials[3].shares[0].proof.z += Scalar::from(1u64);
    // a proof made for another round does not carry over either
    let other = PartialDecryptRequest { round: ROUND + 1 };
    partials[0] = s.trustees[0]
        .partial_decrypt(&other, &s.posted, &mut rng)
        .unwrap()
        .partial;
    let report = aggregate(ROUND, 2 * s.market.levels + 1, &s.posted).unwrap();
    let err = decrypt_and_clear(&s.public, &s.market, &report, &partials, &s.table).unwrap_err();
    let sealgrid_committee::round::RoundError::Decrypt(DecryptError::NotEnoughShares {
        valid,
        rejected,
        ..
    }) = err
    else {
        panic!("expected NotEnoughShares, got {err:?}");
    };
    assert_eq!(valid, 2);
    assert_eq!(
        rejected,
        vec![
            (TrusteeId(1), ShareRejection::WrongContext),
            (TrusteeId(4), ShareRejection::BadProof { slot: 0 })
        ]
    );
}

#[test]
fn trustees_refuse_an_aggregate_under_the_k_anonymity_floor() {
    let s = setup(4, 3);
    let mut rng = ChaCha20Rng::seed_from_u64(300);
    let err =
        s.trustees[0].partial_decrypt(&PartialDecryptRequest { round: ROUND }, &s.posted, &mut rng);
    assert_eq!(err, Err(TrusteeError::TooFewBids { bids: 4, floor: 5 }));
    // ... but sign the empty result, so that the contract records "not cleared" and the
    // bids' locks come back through their settlements
    let k = s.market.levels;
    let empty = SignRequest {
        round: ROUND,
        h_buy: vec![0; k],
        h_sell: vec![0; k],
        partials: vec![],
    };
    let signed = s.trustees[0].sign(&empty, &s.posted).unwrap();
    assert_eq!(signed.statement.h_buy, vec![0; k]);
    assert_eq!(
        signed.statement.included,
        aggregate(ROUND, 2 * k + 1, &s.posted)
            .unwrap()
            .aggregate
            .inclusion_bitmap()
    );
    // and nothing else: no histogram may be claimed without a decryption
    let mut claimed = empty.clone();
    claimed.h_buy[3] = 1;
    assert_eq!(
        s.trustees[0].sign(&claimed, &s.posted).map(|_| ()),
        Err(TrusteeError::TooFewBids { bids: 4, floor: 5 })
    );
}

#[test]
fn escrowed_disclosure_opens_one_bid_for_the_auditor_and_forgeries_fail() {
    let s = setup(6, 4);
    let mut rng = ChaCha20Rng::seed_from_u64(400);
    let target = &s.posted[2];
    let req = DisclosureRequest {
        round: ROUND,
        bid: target.id,
        auditor: "regulator".into(),
    };
    let mut responses: Vec<_> = s.trustees[1..]
        .iter()
        .map(|t| t.disclose(&req, &s.posted, &mut rng).unwrap().partial)
        .collect();
    // trustee 5 answers with shares of another bid, relabelled: its proofs fail
    let other = DisclosureRequest {
        round: ROUND,
        bid: s.posted[3].id,
        auditor: "regulator".into(),
    };
    let mut forged = s.trustees[4]
        .disclose(&other, &s.posted, &mut rng)
        .unwrap()
        .partial;
    forged.context = responses[3].context;
    responses[3] = forged.clone();

    // the auditor's side: public data only
    let opened =
        verify_disclosure(&s.public, &s.market, ROUND, target, &responses, &s.table).unwrap();
    let b = &s.bids[2].private;
    assert_eq!(
        (opened.side, opened.level, opened.q, opened.lock),
        (b.side, b.level, b.q, b.lock)
    );
    assert_eq!(opened.used, [2, 3, 4].map(TrusteeId).to_vec());
    assert_eq!(
        opened.rejected,
        vec![(TrusteeId(5), ShareRejection::BadProof { slot: 0 })]
    );

    // a forged disclosure: shares of bid 3 presented as bid 2's, or shares altered to
    // open another value, are rejected
    let of_bid_3: Vec<_> = s.trustees[..3]
        .iter()
        .map(|t| {
            let mut p = t.disclose(&other, &s.posted, &mut rng).unwrap().partial;
            p.context = responses[0].context;
            p
        })
        .collect();
    assert!(matches!(
        verify_disclosure(&s.public, &s.market, ROUND, target, &of_bid_3, &s.table),
        Err(DisclosureError::Decrypt(DecryptError::NotEnoughShares {
            valid: 0,
            ..
        }))
    ));
    let mut altered = responses[..3].to_vec();
    for p in &mut altered {
        p.shares[0].d = (p.shares[0].d - base8()).into_affine();
    }
    assert!(matches!(
        verify_disclosure(&s.public, &s.market, ROUND, target, &altered, &s.table),
        Err(DisclosureError::Decrypt(DecryptError::NotEnoughShares {
            valid: 0,
            ..
        }))
    ));
    // the auditor refuses ciphertexts that do not match the proven digest
    let mut wrong = target.clone();
    wrong.ciphertexts = s.posted[3].ciphertexts.clone();
    assert_eq!(
        verify_disclosure(&s.public, &s.market, ROUND, &wrong, &responses, &s.table),
        Err(DisclosureError::DigestMismatch)
    );
    // trustees open only bids of the round they see
    let unknown = DisclosureRequest {
        round: ROUND,
        bid: BidId([1; 32]),
        auditor: "x".into(),
    };
    assert_eq!(
        s.trustees[0].disclose(&unknown, &s.posted, &mut rng),
        Err(TrusteeError::UnknownBid(BidId([1; 32])))
    );
}

#[test]
fn requests_and_responses_round_trip_through_json() {
    let s = setup(5, 5);
    let mut rng = ChaCha20Rng::seed_from_u64(500);
    let resp = s.trustees[0]
        .partial_decrypt(&PartialDecryptRequest { round: ROUND }, &s.posted, &mut rng)
        .unwrap();
    let json = serde_json::to_string(&resp).unwrap();
    assert_eq!(
        serde_json::from_str::<sealgrid_committee::trustee::PartialDecryptResponse>(&json).unwrap(),
        resp
    );
    let bid_json = serde_json::to_string(&s.posted[0]).unwrap();
    assert_eq!(
        serde_json::from_str::<PostedBid>(&bid_json).unwrap(),
        s.posted[0]
    );
    // a point outside the prime-order subgroup is refused at decoding
    let bad = bid_json.replacen(
        &sealgrid_committee::wire::point_to_string(&s.posted[0].ciphertexts.c1),
        &sealgrid_committee::wire::point_to_string(&sealgrid_circuits::babyjubjub::generator()),
        1,
    );
    assert!(serde_json::from_str::<PostedBid>(&bad).is_err());
}
