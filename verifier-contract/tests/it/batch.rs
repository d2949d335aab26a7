//! `Groth16Verifier.verifyBatch` (issue #14, PROTOCOL §4.4): many proofs checked with
//! one random linear combination accept exactly the batches whose every proof verifies
//! one by one, including batches built to pass a combination whose coefficients an
//! attacker can predict.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use ark_bn254::{Bn254, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::One;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_prover::{Fr, Proof};
use sealgrid_verifier_contract::bindings::Groth16Verifier::{self, Groth16VerifierErrors as E};
use sealgrid_verifier_contract::bindings::Market::{self, MarketErrors as ME};
use sealgrid_verifier_contract::state::PayoutState;
use sealgrid_verifier_contract::{calldata, Chain, ChainError, EmbeddedChain};

use crate::common::{deploy_verifier, fixture, prove_sample, Circuit, OPERATOR};
use crate::round::{market_err, market_tx, warp, W};
use crate::settle::{
    clear_round, close, open_for_bids, payout_state, prove_bids, round_state, settlement,
};
use crate::verifier::expect_error;

fn batch(
    chain: &mut EmbeddedChain,
    at: Address,
    items: &[(Proof, Vec<Fr>)],
) -> Result<bool, ChainError> {
    chain.sol_call(OPERATOR, at, &call(items))
}

fn call(items: &[(Proof, Vec<Fr>)]) -> Groth16Verifier::verifyBatchCall {
    Groth16Verifier::verifyBatchCall {
        proofs: items.iter().map(|(p, _)| calldata::proof(p)).collect(),
        inputs: items
            .iter()
            .flat_map(|(_, x)| calldata::inputs(x))
            .collect(),
    }
}

/// The Groth16 check of every item summed with all coefficients 1: what a batch
/// verifier with predictable coefficients would compute.
fn unweighted_sum_holds(c: Circuit, items: &[(Proof, Vec<Fr>)]) -> bool {
    let vk = &fixture().pair(c.kind()).vk;
    let n = Fr::from(items.len() as u64);
    let mut lhs_a = Vec::new();
    let mut lhs_b = Vec::new();
    let mut vk_x = G1Projective::from(vk.gamma_abc_g1[0]) * n;
    let mut c_sum = G1Projective::default();
    for (p, x) in items {
        lhs_a.push((-p.a.into_group()).into_affine());
        lhs_b.push(p.b);
        vk_x += G1Projective::msm(&vk.gamma_abc_g1[1..], x).expect("lengths");
        c_sum += p.c;
    }
    lhs_a.push((vk.alpha_g1.into_group() * n).into_affine());
    lhs_b.push(vk.beta_g2);
    lhs_a.push(vk_x.into_affine());
    lhs_b.push(vk.gamma_g2);
    lhs_a.push(c_sum.into_affine());
    lhs_b.push(vk.delta_g2);
    Bn254::multi_pairing(lhs_a, lhs_b).0.is_one()
}

#[test]
fn a_batch_is_accepted_exactly_when_every_proof_is() {
    let mut chain = EmbeddedChain::in_memory();
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let c = Circuit::Balance;
    let (at, _) = deploy_verifier(&mut chain, c);
    let items: Vec<(Proof, Vec<Fr>)> = (0..4)
        .map(|_| {
            let st = prove_sample(c, &mut rng);
            (st.proof, st.public_inputs)
        })
        .collect();
    let k = items[0].1.len();

    for n in 1..=items.len() {
        assert!(
            batch(&mut chain, at, &items[..n]).expect("well formed"),
            "{n} valid proofs"
        );
    }

    // One public input of one item moved to the next scalar, at every position.
    for i in 0..items.len() {
        for j in 0..k {
            let mut bad = items.clone();
            bad[i].1[j] += Fr::from(1u64);
            assert!(
                !batch(&mut chain, at, &bad).expect("well formed"),
                "item {i} input {j}"
            );
        }
    }

    // Two items' C points swapped: every equation fails, their unweighted sum holds
    // (sum C is unchanged), so a verifier with coefficients 1 (or any an attacker can
    // predict before choosing the points) would accept. The first item's coefficient
    // is 1: the swap with it is checked too.
    for (i, j) in [(0, 1), (1, 2), (0, 3)] {
        let mut bad = items.clone();
        let ci = bad[i].0.c;
        bad[i].0.c = bad[j].0.c;
        bad[j].0.c = ci;
        assert!(
            unweighted_sum_holds(c, &bad),
            "swap {i} {j}: the naive sum holds"
        );
        assert!(
            !batch(&mut chain, at, &bad).expect("well formed"),
            "swap {i} {j}"
        );
    }

    // The public inputs of two items exchanged, and two proofs exchanged.
    let mut bad = items.clone();
    let x0 = bad[0].1.clone();
    bad[0].1 = bad[2].1.clone();
    bad[2].1 = x0;
    assert!(!batch(&mut chain, at, &bad).expect("well formed"));

    // Malformed batches revert with the verifier's named errors, the index counting
    // across the batch.
    assert_eq!(
        expect_error(batch(&mut chain, at, &[])),
        E::EmptyBatch(Groth16Verifier::EmptyBatch {})
    );
    let mut short = call(&items);
    short.inputs.pop();
    assert_eq!(
        expect_error(chain.sol_call(OPERATOR, at, &short)),
        E::InputCount(Groth16Verifier::InputCount {
            expected: U256::from(4 * k),
            got: U256::from(4 * k - 1)
        })
    );
    let mut off = call(&items);
    off.proofs[2][7] = (off.proofs[2][7] + U256::from(1u8)) % crate::common::base_modulus();
    assert_eq!(
        expect_error(chain.sol_call(OPERATOR, at, &off)),
        E::PointNotOnCurve(Groth16Verifier::PointNotOnCurve {
            index: U256::from(3 * 2 + 2)
        })
    );

    // Gas: one batch of four against four single checks.
    let one = chain
        .sol_transact(
            OPERATOR,
            at,
            &Groth16Verifier::verifyProofCall {
                proof: calldata::proof(&items[0].0),
                input: calldata::inputs(&items[0].1),
            },
        )
        .expect("verifies")
        .gas_used;
    let four = chain
        .sol_transact(OPERATOR, at, &call(&items))
        .expect("verifies")
        .gas_used;
    eprintln!(
        "gas {}: verifyProof {one}, verifyBatch of 4 {four}",
        c.name()
    );
    assert!(four < 2 * one, "a batch of 4 costs {four}, one proof {one}");
}

fn bid_item(c: &Market::submitBidCall) -> Market::BidItem {
    Market::BidItem {
        proof: c.proof,
        inp: c.inp.clone(),
        ciphertexts: c.ciphertexts.clone(),
    }
}

fn settle_item(c: &Market::settleCall) -> Market::SettleItem {
    Market::SettleItem {
        proof: c.proof,
        inp: c.inp.clone(),
        ciphertexts: c.ciphertexts.clone(),
    }
}

/// Swaps the C points (words 6 and 7) of two proofs: each proof fails, the sum of C is
/// unchanged.
fn swap_c(a: &mut [U256; 8], b: &mut [U256; 8]) {
    for w in 6..8 {
        std::mem::swap(&mut a[w], &mut b[w]);
    }
}

/// `submitBids` and `settleBatch` against the market on the embedded EVM: a batch lands
/// whole (indices in batch order, one event each, the same state as one by one), a batch
/// with one bad item lands not at all, whichever the item and whichever the flaw.
#[test]
fn bids_and_settlements_land_in_batches_all_or_none() {
    let mut rng = ChaCha20Rng::seed_from_u64(141);
    let (mut env, mut ps, t0) = open_for_bids(&mut rng);
    let (calls, _) = prove_bids(&mut ps, &mut rng);
    let items: Vec<Market::BidItem> = calls.iter().map(bid_item).collect();
    let who = ps[0].evm;
    let bids = |items: Vec<Market::BidItem>| Market::submitBidsCall { items };

    // Refused whole: C points swapped between two items (each proof wrong, their sum
    // right), an input of the last item changed, the same bid twice, an empty batch.
    let mut bad = items.clone();
    let (x, y) = bad.split_at_mut(3);
    swap_c(&mut x[1].proof, &mut y[0].proof);
    let e = market_err(&mut env, who, &bids(bad));
    assert!(matches!(e.decode::<ME>(), Some(ME::InvalidProof(_))), "{e}");
    let mut bad = items.clone();
    bad[5].inp.digest += U256::from(1u8);
    let e = market_err(&mut env, who, &bids(bad));
    assert!(matches!(e.decode::<ME>(), Some(ME::InvalidProof(_))), "{e}");
    let mut twice = items.clone();
    twice.push(items[2].clone());
    let e = market_err(&mut env, who, &bids(twice));
    assert!(matches!(e.decode::<ME>(), Some(ME::BidReplay(_))), "{e}");
    let e = market_err(&mut env, who, &bids(Vec::new()));
    assert_eq!(
        e.decode::<Groth16Verifier::Groth16VerifierErrors>(),
        Some(E::EmptyBatch(Groth16Verifier::EmptyBatch {}))
    );
    assert_eq!(
        round_state(&mut env).bids,
        0,
        "nothing of a refused batch landed"
    );

    // Accepted whole: six bids, indices in batch order.
    let r = market_tx(&mut env, who, &bids(items.clone()), "submitBids");
    let events: Vec<Market::BidSubmitted> = r
        .logs
        .iter()
        .filter_map(|l| Market::BidSubmitted::decode_log_data(&l.data).ok())
        .collect();
    assert_eq!(events.len(), 6);
    for (i, (e, item)) in events.iter().zip(&items).enumerate() {
        assert_eq!(
            (e.index, e.bid, e.acct),
            (i as u32, item.inp.bid, item.inp.acct)
        );
        assert_eq!(e.ciphertexts, item.ciphertexts);
    }
    assert_eq!(round_state(&mut env).bids, 6);
    eprintln!(
        "gas submitBids of 6: {} ({} a bid)",
        r.gas_used,
        r.gas_used / 6
    );
    // A bid already in is refused whole, alone or in a batch.
    let e = market_err(&mut env, who, &bids(vec![items[4].clone()]));
    assert!(matches!(e.decode::<ME>(), Some(ME::BidReplay(_))), "{e}");
    close(&mut env, t0);

    let (clearing, clear_call) = clear_round(&mut env);
    market_tx(&mut env, who, &clear_call, "clear");
    warp(&mut env, t0 + 2 * W);
    let settles: Vec<Market::SettleItem> = (0..ps.len())
        .map(|i| settle_item(&settlement(&ps, i, &clearing, &mut rng).1))
        .collect();
    let batch = |items: Vec<Market::SettleItem>| Market::settleBatchCall { items };
    let mut bad = settles.clone();
    let (x, y) = bad.split_at_mut(1);
    swap_c(&mut x[0].proof, &mut y[4].proof);
    let e = market_err(&mut env, who, &batch(bad));
    assert!(matches!(e.decode::<ME>(), Some(ME::InvalidProof(_))), "{e}");
    let mut bad = settles.clone();
    bad[2].inp.pOut += U256::from(1u8);
    let e = market_err(&mut env, who, &batch(bad));
    assert!(matches!(e.decode::<ME>(), Some(ME::InvalidProof(_))), "{e}");
    assert_eq!(round_state(&mut env).settled, 0);
    let r = market_tx(&mut env, who, &batch(settles.clone()), "settleBatch");
    eprintln!(
        "gas settleBatch of 6: {} ({} a settlement)",
        r.gas_used,
        r.gas_used / 6
    );
    assert_eq!(round_state(&mut env).settled, 6);
    for s in &settles {
        assert_eq!(payout_state(&mut env, s.inp.pOut), PayoutState::Unspent);
    }
    let e = market_err(&mut env, who, &batch(vec![settles[3].clone()]));
    assert!(
        matches!(e.decode::<ME>(), Some(ME::AlreadySettled(_))),
        "{e}"
    );
}
