//! Settlement and finalization end to end: DKG keys, real bids (circuits'
//! `bid::prepare`), settlement flow ciphertexts under the first three flow keys, trustees
//! decrypting the settlement totals and the defaulters' locks (one with a wrong share),
//! the coordinator combining, every trustee re-checking and signing the finalize
//! statement.

use ark_ec::CurveGroup;
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_circuits::bid::PreparedBid;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::settle::settle_keys;
use sealgrid_committee::aggregate::{Exclusion, ExclusionReason, PostedBid};
use sealgrid_committee::decrypt::{self, DecryptError, PartialDecryption, ShareRejection};
use sealgrid_committee::dkg::{CommitteePublic, KeyShare};
use sealgrid_committee::dleq::DecryptionContext;
use sealgrid_committee::settlement::{
    decrypt_settlement, flow_slots, settlement_view, PostedSettlement, Total,
};
use sealgrid_committee::sign::{
    finalize_digest, recover, verify_threshold, FinalizeTotals, SigningDomain,
};
use sealgrid_committee::trustee::{
    FinalizeRequest, SettlementDecryptRequest, Trustee, TrusteeError,
};
use sealgrid_committee::TrusteeId;
use sealgrid_testkit::bids::{posted_all, random_bids};
use sealgrid_testkit::committee::{dkg, trustees, wrong_share, DOMAIN};
use std::sync::Arc;

const ROUND: u64 = 1_970_000;
/// Trustee 2 holds a wrong share of the credit key (slot 1) and of the lock key.
const CHEATER: usize = 1;

struct Setup {
    market: MarketParams,
    public: Arc<CommitteePublic>,
    shares: Vec<KeyShare>,
    trustees: Vec<Trustee>,
    bids: Vec<PreparedBid>,
    posted: Vec<PostedBid>,
    flows: Vec<[u64; 3]>,
    settlements: Vec<PostedSettlement>,
    domain: SigningDomain,
}

/// Ten bids; bids 3 and 7 default, the other eight settle (settlement order reversed).
/// A k-anonymity floor of 2, so that the two defaulters' locks are decrypted.
fn setup(seed: u64) -> Setup {
    setup_k(seed, 2)
}

/// [`setup`] with the k-anonymity floor `k`.
fn setup_k(seed: u64, k: usize) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let market = MarketParams {
        k_anonymity: k,
        ..MarketParams::default()
    };
    let levels = market.levels;
    let (public, shares) = dkg(&market, 5, 3, &mut rng);
    let public = Arc::new(public);
    let keys = public.flow_keys();
    let domain = DOMAIN;
    let held = shares.iter().enumerate().map(|(i, s)| {
        if i == CHEATER {
            wrong_share(s, &[1, 2 * levels])
        } else {
            s.clone()
        }
    });
    let trustees = trustees(held, &public, &market, domain, &mut rng);
    let bids = random_bids(&market, &keys, ROUND, 10, &mut rng);
    let posted = posted_all(&bids);
    let settle = settle_keys(&keys);
    let mut flows = Vec::new();
    let mut settlements = Vec::new();
    for (i, b) in posted.iter().enumerate().rev() {
        if i == 3 || i == 7 {
            continue;
        }
        // money amounts well above 2^32 in total
        let v = if i % 2 == 0 {
            [rng.gen_range(1 << 31..1 << 32), 0, 0]
        } else {
            [0, rng.gen_range(0..1 << 29), rng.gen_range(0..1 << 20)]
        };
        let ct = settle.encrypt(&v, &Scalar::rand(&mut rng)).unwrap();
        flows.push(v);
        settlements.push(PostedSettlement {
            id: b.id,
            digest: ct.digest(),
            acct: None,
            ciphertexts: ct,
        });
    }
    Setup {
        market,
        public,
        shares,
        trustees,
        bids,
        posted,
        flows,
        settlements,
        domain,
    }
}

fn sums(flows: &[[u64; 3]]) -> [u64; 3] {
    flows
        .iter()
        .fold([0; 3], |a, f| [a[0] + f[0], a[1] + f[1], a[2] + f[2]])
}

fn collect(s: &Setup) -> (Vec<PartialDecryption>, Vec<PartialDecryption>) {
    let req = SettlementDecryptRequest { round: ROUND };
    let (mut flows, mut locks) = (Vec::new(), Vec::new());
    for t in &s.trustees {
        let r = t
            .partial_decrypt_settlement(&req, &s.posted, &s.settlements, &mut rng())
            .unwrap();
        assert_eq!(r.defaulters, vec![s.posted[3].id, s.posted[7].id]);
        flows.extend(r.flows);
        locks.extend(r.locks);
    }
    (flows, locks)
}

#[test]
fn totals_equal_plaintext_sums_the_cheater_is_named_and_finalize_is_signed() {
    let s = setup(1);
    let (flow_partials, lock_partials) = collect(&s);
    let view = settlement_view(
        ROUND,
        s.market.levels,
        s.market.k_anonymity,
        &s.posted,
        &s.settlements,
    );
    assert_eq!(view.settled().len(), 8);
    assert!(view.flows_excluded().is_empty() && view.locks_excluded().is_empty());
    let table = DlogTable::new(1 << 16);
    let out = decrypt_settlement(
        &s.public,
        s.market.levels,
        &view,
        &flow_partials,
        &lock_partials,
        &table,
    )
    .unwrap();
    let [pay, credit, penalty] = sums(&s.flows);
    assert!(pay > 1 << 32, "the totals exceed 32 bits");
    let expected = FinalizeTotals {
        pay,
        credit,
        penalty,
        defaulted_locks: s.bids[3].private.lock + s.bids[7].private.lock,
    };
    assert_eq!(out.totals, expected);
    assert_eq!(out.defaulters, vec![s.posted[3].id, s.posted[7].id]);
    assert_eq!(out.flows_used, [1, 3, 4].map(TrusteeId).to_vec());
    assert_eq!(out.locks_used, [1, 3, 4].map(TrusteeId).to_vec());
    assert_eq!(
        out.rejected,
        vec![
            (TrusteeId(2), ShareRejection::BadProof { slot: 1 }),
            (TrusteeId(2), ShareRejection::BadProof { slot: 16 }),
        ]
    );

    // every trustee re-checks and signs; any three verify as the contract would
    let req = FinalizeRequest {
        round: ROUND,
        totals: out.totals,
        flow_partials: flow_partials.clone(),
        lock_partials: lock_partials.clone(),
    };
    let mut sigs = Vec::new();
    let mut committee = Vec::new();
    let mut digest = None;
    for t in &s.trustees {
        let r = t.sign_finalize(&req, &s.posted, &s.settlements).unwrap();
        assert_eq!(r.statement.totals, expected);
        assert_eq!(r.statement.defaulted, out.defaulters);
        let d = finalize_digest(&s.domain, &r.statement);
        assert_eq!(*digest.get_or_insert(d), d);
        assert_eq!(recover(&d, &r.signature), Ok(t.address()));
        sigs.push(r.signature);
        committee.push(t.address());
    }
    assert_eq!(
        verify_threshold(&committee, 3, &digest.unwrap(), &sigs[2..])
            .unwrap()
            .len(),
        3
    );

    // wrong claimed totals are refused, each named
    for (which, lie) in [
        (
            Total::Pay,
            FinalizeTotals {
                pay: pay + 1,
                ..expected
            },
        ),
        (
            Total::Credit,
            FinalizeTotals {
                credit: credit.wrapping_sub(1),
                ..expected
            },
        ),
        (
            Total::Penalty,
            FinalizeTotals {
                penalty: penalty + 1,
                ..expected
            },
        ),
        (
            Total::DefaultedLocks,
            FinalizeTotals {
                defaulted_locks: 0,
                ..expected
            },
        ),
    ] {
        let bad = FinalizeRequest {
            totals: lie,
            ..req.clone()
        };
        assert_eq!(
            s.trustees[0].sign_finalize(&bad, &s.posted, &s.settlements),
            Err(TrusteeError::WrongTotal(which))
        );
    }
    // too few valid shares (two honest ones and the cheater's)
    let few = FinalizeRequest {
        flow_partials: flow_partials[..3].to_vec(),
        ..req.clone()
    };
    assert!(matches!(
        s.trustees[0].sign_finalize(&few, &s.posted, &s.settlements),
        Err(TrusteeError::Decrypt(DecryptError::NotEnoughShares {
            valid: 2,
            ..
        }))
    ));
}

#[test]
fn a_tampered_settlement_is_excluded_and_its_flows_left_out() {
    let mut s = setup(2);
    // settlement 0 (of bid 9): its posted credit changed after proving
    s.settlements[0].ciphertexts.c2[1] =
        (s.settlements[0].ciphertexts.c2[1] + base8()).into_affine();
    let (flows, locks) = collect(&s);
    let view = settlement_view(
        ROUND,
        s.market.levels,
        s.market.k_anonymity,
        &s.posted,
        &s.settlements,
    );
    assert_eq!(
        view.flows_excluded(),
        [Exclusion {
            id: s.posted[9].id,
            reason: ExclusionReason::DigestMismatch
        }]
    );
    // the bid is settled (not recorded as a default) but its settlement is voided: its
    // lock joins the defaulters'
    assert_eq!(view.defaulters(), [s.posted[3].id, s.posted[7].id]);
    assert_eq!(view.voided(), [s.posted[9].id]);
    assert!(!view.locks_withheld());
    assert_eq!(
        view.locks().unwrap().included(),
        [s.posted[3].id, s.posted[7].id, s.posted[9].id]
    );
    let out = decrypt_settlement(
        &s.public,
        s.market.levels,
        &view,
        &flows,
        &locks,
        &DlogTable::new(1 << 16),
    )
    .unwrap();
    let [pay, credit, penalty] = sums(&s.flows[1..]);
    let locks_total = [3, 7, 9].iter().map(|&i| s.bids[i].private.lock).sum();
    assert_eq!(
        out.totals,
        FinalizeTotals {
            pay,
            credit,
            penalty,
            defaulted_locks: locks_total
        }
    );
    assert_eq!(out.voided, [s.posted[9].id]);
    // every trustee signs the voided settlement into the statement
    let req = FinalizeRequest {
        round: ROUND,
        totals: out.totals,
        flow_partials: flows,
        lock_partials: locks,
    };
    for t in &s.trustees {
        let r = t.sign_finalize(&req, &s.posted, &s.settlements).unwrap();
        assert_eq!(r.statement.voided, [s.posted[9].id]);
        assert_eq!(r.statement.defaulted, [s.posted[3].id, s.posted[7].id]);
    }
}

/// PROTOCOL §7: fewer than k-anonymity defaulters (here 2 under a floor of 5): nobody
/// decrypts their locks, the statement carries 0 and a trustee refuses to sign their
/// true total (which would publish a lone defaulter's lock, so a seller's side and q).
#[test]
fn the_locks_of_fewer_than_k_defaulters_are_never_decrypted() {
    let s = setup_k(5, 5);
    let view = settlement_view(
        ROUND,
        s.market.levels,
        s.market.k_anonymity,
        &s.posted,
        &s.settlements,
    );
    assert!(view.locks_withheld() && view.locks().is_none());
    let (flows, locks) = collect(&s);
    assert!(locks.is_empty(), "no trustee gives a share of the locks");
    let out = decrypt_settlement(
        &s.public,
        s.market.levels,
        &view,
        &flows,
        &locks,
        &DlogTable::new(1 << 16),
    )
    .unwrap();
    assert_eq!(out.totals.defaulted_locks, 0);
    let lie = FinalizeRequest {
        round: ROUND,
        totals: FinalizeTotals {
            defaulted_locks: s.bids[3].private.lock + s.bids[7].private.lock,
            ..out.totals
        },
        flow_partials: flows.clone(),
        lock_partials: vec![],
    };
    assert!(matches!(
        s.trustees[0].sign_finalize(&lie, &s.posted, &s.settlements),
        Err(TrusteeError::WrongTotal(_))
    ));
    let fin = FinalizeRequest {
        totals: out.totals,
        ..lie
    };
    let r = s.trustees[0]
        .sign_finalize(&fin, &s.posted, &s.settlements)
        .unwrap();
    assert_eq!(r.statement.defaulted.len(), 2);
}

#[test]
fn clearing_shares_are_rejected_in_the_settlement_context() {
    let s = setup(3);
    let view = settlement_view(
        ROUND,
        s.market.levels,
        s.market.k_anonymity,
        &s.posted,
        &s.settlements,
    );
    let c1 = view.flows().unwrap().ciphertexts().c1;
    // honest shares of the right C1 and slots, but made for the round's clearing
    let clearing: Vec<PartialDecryption> = s
        .shares
        .iter()
        .map(|k| {
            decrypt::partial_decrypt(
                k,
                &s.public,
                DecryptionContext::Clearing { round: ROUND },
                &c1,
                &flow_slots(),
                &mut rng(),
            )
            .unwrap()
        })
        .collect();
    let (_, locks) = collect(&s);
    let table = DlogTable::new(1 << 10);
    let e = decrypt_settlement(&s.public, s.market.levels, &view, &clearing, &locks, &table)
        .unwrap_err();
    assert_eq!(
        e,
        DecryptError::NotEnoughShares {
            valid: 0,
            threshold: 3,
            rejected: (1..=5)
                .map(|i| (TrusteeId(i), ShareRejection::WrongContext))
                .collect(),
        }
    );
    // relabelled as settlement shares, their proofs fail
    let relabelled: Vec<PartialDecryption> = clearing
        .into_iter()
        .map(|p| PartialDecryption {
            context: DecryptionContext::Settlement { round: ROUND },
            ..p
        })
        .collect();
    let e = decrypt_settlement(
        &s.public,
        s.market.levels,
        &view,
        &relabelled,
        &locks,
        &table,
    )
    .unwrap_err();
    assert!(
        matches!(&e, DecryptError::NotEnoughShares { valid: 0, rejected, .. }
            if rejected.iter().all(|(_, r)| *r == ShareRejection::BadProof { slot: 0 })),
        "{e}"
    );
    // and a trustee refuses to sign on them
    let req = FinalizeRequest {
        round: ROUND,
        totals: FinalizeTotals::default(),
        flow_partials: relabelled,
        lock_partials: locks,
    };
    assert!(matches!(
        s.trustees[0].sign_finalize(&req, &s.posted, &s.settlements),
        Err(TrusteeError::Decrypt(DecryptError::NotEnoughShares { .. }))
    ));
}

#[test]
fn few_settlements_are_refused_and_a_round_without_any_needs_no_decryption() {
    let s = setup_k(4, 5);
    let req = SettlementDecryptRequest { round: ROUND };
    // four settlements: under the floor of five
    let e = s.trustees[0]
        .partial_decrypt_settlement(&req, &s.posted, &s.settlements[..4], &mut rng())
        .unwrap_err();
    assert_eq!(e, TrusteeError::TooFewBids { bids: 4, floor: 5 });
    // no settlement: every bid defaults, the flow totals are 0 with nothing to decrypt
    let r = s.trustees[0]
        .partial_decrypt_settlement(&req, &s.posted, &[], &mut rng())
        .unwrap();
    assert!(r.flows.is_none());
    assert_eq!(r.defaulters.len(), 10);
    let mut locks = vec![r.locks.unwrap()];
    for t in &s.trustees[2..4] {
        let r = t
            .partial_decrypt_settlement(&req, &s.posted, &[], &mut rng())
            .unwrap();
        locks.extend(r.locks);
    }
    let view = settlement_view(ROUND, s.market.levels, s.market.k_anonymity, &s.posted, &[]);
    let out = decrypt_settlement(
        &s.public,
        s.market.levels,
        &view,
        &[],
        &locks,
        &DlogTable::new(1 << 16),
    )
    .unwrap();
    let all: u64 = s.bids.iter().map(|b| b.private.lock).sum();
    assert_eq!(
        out.totals,
        FinalizeTotals {
            defaulted_locks: all,
            ..FinalizeTotals::default()
        }
    );
    let fin = FinalizeRequest {
        round: ROUND,
        totals: out.totals,
        flow_partials: vec![],
        lock_partials: locks,
    };
    let r = s.trustees[0].sign_finalize(&fin, &s.posted, &[]).unwrap();
    assert_eq!(r.statement.defaulted.len(), 10);
    let lie = FinalizeRequest {
        totals: FinalizeTotals {
            pay: 1,
            ..out.totals
        },
        ..fin
    };
    assert_eq!(
        s.trustees[0].sign_finalize(&lie, &s.posted, &[]),
        Err(TrusteeError::WrongTotal(Total::Pay))
    );
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(77)
}
