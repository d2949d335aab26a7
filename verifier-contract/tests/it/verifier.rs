//! `Groth16Verifier` on the embedded EVM accepts exactly what the Rust verifier accepts,
//! fed the same real proofs of the balance, bid and settle circuits.

use alloy_primitives::{Address, U256};
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, UniformRand};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_prover::{verify, Fr, Proof, VerifyError};
use sealgrid_verifier_contract::bindings::Groth16Verifier::{self, Groth16VerifierErrors as E};
use sealgrid_verifier_contract::{calldata, Chain, ChainError, EmbeddedChain};

use crate::common::{
    base_modulus, deploy_verifier, fixture, plus_modulus, prove_sample, scalar_modulus, Circuit,
    OPERATOR,
};

fn call(
    chain: &mut EmbeddedChain,
    at: Address,
    proof: [U256; 8],
    input: Vec<U256>,
) -> Result<bool, ChainError> {
    chain.sol_call(
        OPERATOR,
        at,
        &Groth16Verifier::verifyProofCall { proof, input },
    )
}

fn rust_accepts(c: Circuit, proof: &Proof, inputs: &[Fr]) -> bool {
    match verify(&fixture().pair(c.kind()).prepared_vk(), proof, inputs) {
        Ok(()) => true,
        Err(VerifyError::Rejected | VerifyError::InvalidPoint { .. }) => false,
        Err(e) => panic!("unexpected verifier error {e}"),
    }
}

pub(crate) fn expect_error(r: Result<bool, ChainError>) -> E {
    match r {
        Err(e) => e
            .decode::<E>()
            .unwrap_or_else(|| panic!("revert without a verifier error: {e}")),
        Ok(v) => panic!("expected a revert, got {v}"),
    }
}

/// A point of E'(Fq2) outside the prime-order subgroup (the twist has a large cofactor).
fn g2_off_subgroup(rng: &mut ChaCha20Rng) -> G2Affine {
    loop {
        let x = Fq2::rand(rng);
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
    }
}

#[test]
fn valid_proofs_are_accepted_by_both_and_malformed_ones_refused() {
    let mut chain = EmbeddedChain::in_memory();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for c in Circuit::ALL {
        let (at, deploy_gas) = deploy_verifier(&mut chain, c);
        let st = prove_sample(c, &mut rng);
        let (proof, inputs) = (&st.proof, &st.public_inputs);
        let p = calldata::proof(proof);
        let x = calldata::inputs(inputs);
        let n = inputs.len();

        // valid: both accept
        assert!(rust_accepts(c, proof, inputs), "{c:?}");
        assert!(
            call(&mut chain, at, p, x.clone()).expect("no revert"),
            "{c:?}"
        );
        let gas = chain
            .sol_transact(
                OPERATOR,
                at,
                &Groth16Verifier::verifyProofCall {
                    proof: p,
                    input: x.clone(),
                },
            )
            .expect("verifies in a transaction")
            .gas_used;
        eprintln!(
            "gas {}: deploy verifier {deploy_gas}, verifyProof tx {gas} ({n} inputs)",
            c.name()
        );

        // each input changed to the next scalar: both reject, the contract with false
        for i in 0..n {
            let mut bad = inputs.clone();
            bad[i] += Fr::from(1u64);
            assert!(!rust_accepts(c, proof, &bad), "{c:?} input {i}");
            assert!(
                !call(&mut chain, at, p, calldata::inputs(&bad)).expect("well formed"),
                "{c:?} input {i}"
            );
        }

        // tampered points that stay on the curve: both reject
        let g1 = G1Affine::generator();
        let tampered = [
            Proof {
                a: (proof.a + g1).into_affine(),
                ..proof.clone()
            },
            Proof {
                c: (proof.c + g1).into_affine(),
                ..proof.clone()
            },
            Proof {
                b: (proof.b + G2Affine::generator()).into_affine(),
                ..proof.clone()
            },
            Proof {
                a: proof.c,
                c: proof.a,
                ..proof.clone()
            },
        ];
        for (k, t) in tampered.iter().enumerate() {
            assert!(!rust_accepts(c, t, inputs), "{c:?} tamper {k}");
            assert!(
                !call(&mut chain, at, calldata::proof(t), x.clone()).expect("well formed"),
                "{c:?} tamper {k}"
            );
        }

        // an input >= r (the same scalar plus r, and r itself): a named revert
        for i in [0, n - 1] {
            let mut bad = x.clone();
            bad[i] = plus_modulus(bad[i]);
            assert_eq!(
                expect_error(call(&mut chain, at, p, bad)),
                E::InputNotInField(Groth16Verifier::InputNotInField {
                    index: U256::from(i)
                })
            );
        }
        let mut bad = x.clone();
        bad[0] = scalar_modulus();
        assert!(matches!(
            expect_error(call(&mut chain, at, p, bad)),
            E::InputNotInField(_)
        ));

        // the wrong number of inputs
        let mut short = x.clone();
        short.pop();
        assert_eq!(
            expect_error(call(&mut chain, at, p, short)),
            E::InputCount(Groth16Verifier::InputCount {
                expected: U256::from(n),
                got: U256::from(n - 1)
            })
        );

        // a coordinate >= q
        for w in [0usize, 3, 7] {
            let mut bad = p;
            bad[w] += base_modulus();
            assert_eq!(
                expect_error(call(&mut chain, at, bad, x.clone())),
                E::CoordinateNotInField(Groth16Verifier::CoordinateNotInField {
                    index: U256::from(w)
                })
            );
        }

        // points off their curve
        for (w, point) in [(1usize, 0u64), (4, 1), (7, 2)] {
            let mut bad = p;
            bad[w] = (bad[w] + U256::from(1u8)) % base_modulus();
            assert_eq!(
                expect_error(call(&mut chain, at, bad, x.clone())),
                E::PointNotOnCurve(Groth16Verifier::PointNotOnCurve {
                    index: U256::from(point)
                })
            );
        }

        // B on the twist but outside G2: Rust refuses the point, the pairing
        // precompile fails and the verifier reverts, burning only the pairing's gas
        let off = Proof {
            b: g2_off_subgroup(&mut rng),
            ..proof.clone()
        };
        assert!(!rust_accepts(c, &off, inputs));
        let r = chain.sol_transact(
            OPERATOR,
            at,
            &Groth16Verifier::verifyProofCall {
                proof: calldata::proof(&off),
                input: x.clone(),
            },
        );
        match r {
            Err(e @ ChainError::Reverted { gas_used, .. }) => {
                assert_eq!(
                    e.decode::<E>(),
                    Some(E::PrecompileFailed(Groth16Verifier::PrecompileFailed {
                        precompile: U256::from(8)
                    }))
                );
                assert!(gas_used < 400_000, "gas used {gas_used}");
            }
            other => panic!("expected PrecompileFailed, got {other:?}"),
        }
    }
}

#[test]
fn a_proof_verifies_only_under_its_own_key() {
    let mut chain = EmbeddedChain::in_memory();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    // balance and bid both have 6 inputs: a balance proof under the bid key
    let (bid_at, _) = deploy_verifier(&mut chain, Circuit::Bid);
    let st = prove_sample(Circuit::Balance, &mut rng);
    assert!(!rust_accepts(Circuit::Bid, &st.proof, &st.public_inputs));
    assert!(!call(
        &mut chain,
        bid_at,
        calldata::proof(&st.proof),
        calldata::inputs(&st.public_inputs)
    )
    .expect("well formed"),);
}

#[test]
fn a_malformed_key_is_refused_at_deployment() {
    let mut chain = EmbeddedChain::in_memory();
    let mut vk = fixture().balance.vk.clone();
    // alpha moved off the curve
    vk.alpha_g1 = G1Affine::new_unchecked(vk.alpha_g1.x, vk.alpha_g1.y + Fq::ONE);
    let r = chain.deploy(OPERATOR, calldata::verifier_init_code(&vk));
    let e = r.expect_err("an off-curve alpha is refused");
    assert_eq!(
        e.decode::<E>(),
        Some(E::BadKey(Groth16Verifier::BadKey { index: U256::ZERO }))
    );
}

/// `calldata::proof_from_words` and `Groth16Verifier.verifyProof` give one answer on
/// every proof word list: an all-zero point is the point at infinity to both (the
/// proof is well formed and does not verify), and what the decoder refuses the
/// contract reverts on.
#[test]
fn the_proof_decoder_answers_as_the_verifier_contract() {
    use calldata::{proof_from_words, ProofPoint, ProofWordsError};
    let mut chain = EmbeddedChain::in_memory();
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let c = Circuit::Balance;
    let (at, _) = deploy_verifier(&mut chain, c);
    let st = prove_sample(c, &mut rng);
    let (p, x) = (
        calldata::proof(&st.proof),
        calldata::inputs(&st.public_inputs),
    );
    assert_eq!(proof_from_words(&p).as_ref(), Ok(&st.proof));
    assert!(call(&mut chain, at, p, x.clone()).expect("no revert"));

    // each point at infinity, (0, 0) or all zeros: accepted by both, verified by neither
    for (words, point) in [
        (0..2, ProofPoint::A),
        (2..6, ProofPoint::B),
        (6..8, ProofPoint::C),
    ] {
        let mut w = p;
        for i in words {
            w[i] = U256::ZERO;
        }
        let decoded = proof_from_words(&w).unwrap_or_else(|e| panic!("{point}: {e}"));
        let zero = match point {
            ProofPoint::A => decoded.a.is_zero(),
            ProofPoint::B => decoded.b.is_zero(),
            ProofPoint::C => decoded.c.is_zero(),
        };
        assert!(zero, "{point} reads as the point at infinity");
        assert!(!rust_accepts(c, &decoded, &st.public_inputs), "{point}");
        assert!(
            !call(&mut chain, at, w, x.clone()).expect("well formed to the contract"),
            "{point}"
        );
    }

    // refused by both: a coordinate >= q, a point off its curve, B outside G2
    let mut w = p;
    w[6] += base_modulus();
    assert_eq!(
        proof_from_words(&w),
        Err(ProofWordsError::NotInField(ProofPoint::C))
    );
    assert!(matches!(
        expect_error(call(&mut chain, at, w, x.clone())),
        E::CoordinateNotInField(_)
    ));
    let mut w = p;
    (w[0], w[1]) = (U256::ZERO, U256::from(1u8));
    assert_eq!(
        proof_from_words(&w),
        Err(ProofWordsError::NotInGroup(ProofPoint::A))
    );
    assert!(matches!(
        expect_error(call(&mut chain, at, w, x.clone())),
        E::PointNotOnCurve(_)
    ));
    let w = calldata::proof(&Proof {
        b: g2_off_subgroup(&mut rng),
        ..st.proof.clone()
    });
    assert_eq!(
        proof_from_words(&w),
        Err(ProofWordsError::NotInGroup(ProofPoint::B))
    );
    assert!(matches!(
        expect_error(call(&mut chain, at, w, x)),
        E::PrecompileFailed(_)
    ));
}
