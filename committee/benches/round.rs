//! Committee benchmark (issue #5, item 7): one 10,000-bid round at K = 8, n = 5, t = 3.
//!
//! `cargo bench -p sealgrid-committee --bench round` (release). Prints each phase:
//! bids checked and added as they arrive, then at round close: aggregate, threshold decryption (3 trustees' shares
//! with DLEQ proofs, verification, Lagrange combination, discrete logs), clearing; then
//! DLEQ prove / verify throughput, a worst-case 40-bit discrete log, and signing. The
//! batch path (every digest checked at close) is timed too.
//!
//! Bid ciphertexts are made natively with `FlowKeys::encrypt` (no proofs): proving
//! 10,000 bids is the prosumers' work, not the committee's.
//!
//! Environment: `BIDS` (default 10000), `BABY_STEPS_LOG2` (default 20), `REPS` (default 3).

use ark_ec::CurveGroup;
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_circuits::bid::flow_messages;
use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_circuits::market::{MarketParams, Side};
use sealgrid_circuits::Fr;
use sealgrid_committee::aggregate::{aggregate, Aggregator, PostedBid};
use sealgrid_committee::dleq::{self, DecryptionContext, DleqStatement};
use sealgrid_committee::round::decrypt_and_clear;
use sealgrid_committee::trustee::SignRequest;
use sealgrid_committee::{BidId, TrusteeId};
use sealgrid_testkit::committee::{dkg, trustees, DOMAIN};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> String {
    format!("{:9.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let n_bids = env("BIDS", 10_000);
    let baby_log2 = env("BABY_STEPS_LOG2", 20);
    let reps = env("REPS", 3).max(1);
    let round = 1_970_000u64;
    let market = MarketParams::default();
    let k = market.levels;
    let slots = 2 * k + 1;
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    println!(
        "committee round benchmark: {n_bids} bids, K = {k} ({slots} slots), n = 5, t = 3, rayon threads = {}",
        rayon::current_num_threads()
    );

    // --- setup (once per committee epoch) ---
    let t0 = Instant::now();
    let (public, shares) = dkg(&market, 5, 3, &mut rng);
    println!(
        "setup  DKG n=5 t=3, {slots} instances (all 5 trustees, one process) {}",
        ms(t0.elapsed())
    );
    let public = Arc::new(public);
    let keys = public.flow_keys();
    let domain = DOMAIN;
    let trustees = trustees(shares, &public, &market, domain, &mut rng);
    let t0 = Instant::now();
    let table = DlogTable::new(1 << baby_log2);
    println!(
        "setup  dlog table, 2^{baby_log2} baby steps (built once, reused)   {}",
        ms(t0.elapsed())
    );

    // --- the bids: native encryption, not proofs ---
    let t0 = Instant::now();
    let specs: Vec<(Side, usize, u64, [u8; 32])> = (0..n_bids)
        .map(|_| {
            let side = if rng.gen() { Side::Buy } else { Side::Sell };
            (
                side,
                rng.gen_range(0..k),
                rng.gen_range(1..10_000),
                rng.gen(),
            )
        })
        .collect();
    let posted: Vec<PostedBid> = specs
        .par_iter()
        .enumerate()
        .map(|(i, &(side, level, q, seed))| {
            let mut r = ChaCha20Rng::from_seed(seed);
            let lock = market.lock(side, level, q).expect("valid bid");
            let ct = keys
                .encrypt(
                    &flow_messages(k, side, level, q, lock),
                    &Scalar::rand(&mut r),
                )
                .expect("2K+1");
            let digest = ct.digest();
            PostedBid {
                id: BidId::from_commitment(Fr::from(i as u64 + 1)),
                ciphertexts: ct,
                digest,
                acct: None,
            }
        })
        .collect();
    println!(
        "input  {n_bids} bids encrypted natively + digests             {}",
        ms(t0.elapsed())
    );
    let (mut buy, mut sell) = (vec![0u64; k], vec![0u64; k]);
    for &(side, level, q, _) in &specs {
        if side == Side::Buy {
            buy[level] += q
        } else {
            sell[level] += q
        }
    }

    // --- bids arrive: check and add each as the contract emits it ---
    let t0 = Instant::now();
    let mut running = Aggregator::new(round, slots);
    for b in &posted {
        running.push(b).expect("honest bid");
    }
    let t_arrival = t0.elapsed();
    println!(
        "arrive {n_bids} x (digest check + add), one thread          {}  ({:.3} ms per bid)",
        ms(t_arrival),
        t_arrival.as_secs_f64() * 1e3 / n_bids as f64
    );

    // --- round close, REPS times: [finish, partials, combine+dlog+clear, clear, total] ---
    let mut best = [Duration::MAX; 5];
    let mut outcome = None;
    let mut partials = Vec::new();
    let mut report = None;
    for _ in 0..reps {
        let agg = running.clone();
        let t0 = Instant::now();
        let rep = agg.finish().expect("aggregate");
        let t_agg = t0.elapsed();
        let t0 = Instant::now();
        let ps: Vec<_> = trustees[..3]
            .iter()
            .map(|t| {
                t.partial_decrypt_aggregate(&rep.aggregate, &mut rng)
                    .expect("partial")
            })
            .collect();
        let t_partial = t0.elapsed();
        // decrypt_and_clear = verify every proof + combine + dlogs + clear; the clearing
        // alone is timed separately below
        let t0 = Instant::now();
        let out = decrypt_and_clear(&public, &market, &rep, &ps, &table).expect("decrypt");
        let t_combine = t0.elapsed();
        let t0 = Instant::now();
        let c =
            sealgrid_circuits::market::clear(&out.h_buy, &out.h_sell, n_bids, market.k_anonymity)
                .expect("clear");
        let t_clear = t0.elapsed();
        assert_eq!(c, out.clearing);
        let total = t_agg + t_partial + t_combine;
        for (b, t) in best
            .iter_mut()
            .zip([t_agg, t_partial, t_combine, t_clear, total])
        {
            *b = (*b).min(t);
        }
        outcome = Some(out);
        partials = ps;
        report = Some(rep);
    }
    let out = outcome.expect("reps >= 1");
    assert_eq!(
        (&out.h_buy, &out.h_sell),
        (&buy, &sell),
        "histograms equal the plaintext sums"
    );
    println!("close  (digests checked on arrival; best of {reps})");
    println!(
        "  aggregate: normalise the running sums                    {}",
        ms(best[0])
    );
    println!(
        "  partial decryptions, 3 trustees x {} slots, with DLEQ      {}",
        2 * k,
        ms(best[1])
    );
    println!(
        "  verify {} proofs + Lagrange combine + {} dlogs + clear      {}",
        3 * 2 * k,
        2 * k,
        ms(best[2])
    );
    println!(
        "    of which clearing                                      {}",
        ms(best[3])
    );
    println!(
        "  TOTAL aggregate + threshold decrypt + clear              {}",
        ms(best[4])
    );

    // --- the same, with every digest checked in one batch at close ---
    let t0 = Instant::now();
    let batch = aggregate(round, slots, &posted).expect("aggregate");
    let t_batch = t0.elapsed();
    assert_eq!(Some(&batch), report.as_ref());
    println!("batch  (all digests checked at close, rayon)");
    println!(
        "  aggregate: {n_bids} digest checks + slot-wise sums          {}",
        ms(t_batch)
    );
    println!(
        "  TOTAL aggregate + threshold decrypt + clear              {}",
        ms(t_batch + best[1] + best[2])
    );
    println!(
        "  clearing: level {}, volume {} Wh",
        out.clearing.level, out.clearing.volume
    );
    let max_slot = out
        .h_buy
        .iter()
        .chain(&out.h_sell)
        .max()
        .copied()
        .unwrap_or(0);
    println!(
        "  largest slot sum {max_slot} Wh (< 2^{})",
        64 - max_slot.leading_zeros()
    );

    // --- signing: re-check against the shares, then ECDSA ---
    let report = report.expect("reps >= 1");
    let req = SignRequest {
        round,
        h_buy: out.h_buy.clone(),
        h_sell: out.h_sell.clone(),
        partials,
    };
    let t0 = Instant::now();
    let resp = trustees[0]
        .sign_aggregate(&req, &report.aggregate)
        .expect("sign");
    println!(
        "sign   one trustee: verify shares, check 16 slots, ECDSA       {}",
        ms(t0.elapsed())
    );
    assert_eq!(resp.trustee, TrusteeId(1));

    // --- DLEQ throughput, one thread ---
    let x = Scalar::rand(&mut rng);
    let y = (base8() * x).into_affine();
    let c = (base8() * Scalar::rand(&mut rng)).into_affine();
    let d = dleq::share(&x, &c);
    let ctx = DecryptionContext::Clearing { round };
    let st = DleqStatement {
        context: &ctx,
        trustee: TrusteeId(1),
        slot: 0,
        y: &y,
        c: &c,
        d: &d,
    };
    let n = 1000;
    let t0 = Instant::now();
    let proofs: Vec<_> = (0..n).map(|_| dleq::prove(&st, &x, &mut rng)).collect();
    let tp = t0.elapsed();
    let t0 = Instant::now();
    for p in &proofs {
        dleq::verify(&st, p).expect("valid");
    }
    let tv = t0.elapsed();
    println!(
        "dleq   prove  {:8.0} /s ({:.1} us each, one thread)",
        n as f64 / tp.as_secs_f64(),
        tp.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "dleq   verify {:8.0} /s ({:.1} us each, one thread)",
        n as f64 / tv.as_secs_f64(),
        tv.as_secs_f64() * 1e6 / n as f64
    );

    // --- worst-case discrete log at the 40-bit bound ---
    if baby_log2 < 18 {
        println!("dlog   worst case skipped (table under 2^18: too many giant steps)");
        return;
    }
    let m = (1u64 << 40) - 1;
    let p = (base8() * Scalar::from(m)).into_affine();
    let t0 = Instant::now();
    assert_eq!(table.solve(&p, 40), Some(m));
    println!(
        "dlog   worst case m = 2^40 - 1, 2^{baby_log2} table, one thread    {}",
        ms(t0.elapsed())
    );
}
