//! Proving, single and batch verification, proof bytes.

use ark_bn254::{Fq2, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One};
use ark_serialize::CanonicalSerialize;
use sealgrid_prover::{
    batch_verify, proof_from_bytes, proof_to_bytes, prove, verify, Fr, KeyPair, KeyStore,
    NoProgress, Proof, ProveError, ProvedStatement, VerifyError,
};

use crate::common::{rng, MulRange};

const ROUNDS: usize = 2;

fn keys(dir: &tempfile::TempDir, rounds: usize) -> KeyPair {
    KeyStore::open(dir.path())
        .unwrap()
        .setup("mul", MulRange::blank(rounds), &mut rng(100), &NoProgress)
        .unwrap()
}

fn statements(pair: &KeyPair, rounds: usize, n: u64) -> Vec<ProvedStatement> {
    let mut r = rng(200);
    (0..n)
        .map(|i| {
            let circuit = MulRange::new(3 + i, 7 + 2 * i, rounds);
            prove(&pair.pk, circuit, &mut r, &NoProgress).unwrap()
        })
        .collect()
}

fn items(stmts: &[ProvedStatement]) -> Vec<(&Proof, &[Fr])> {
    stmts
        .iter()
        .map(|s| (&s.proof, &s.public_inputs[..]))
        .collect()
}

/// A point on the G2 curve outside the prime-order subgroup.
fn g2_outside_subgroup() -> G2Affine {
    let mut x = Fq2::one();
    loop {
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            if p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
        x += Fq2::one();
    }
}

#[test]
fn a_proof_verifies_with_the_inputs_the_circuit_computed() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, 1);
    let circuit = MulRange::new(6, 7, 1);
    let expected = circuit.public_inputs();
    let stmt = prove(&pair.pk, circuit, &mut rng(1), &NoProgress).unwrap();
    assert_eq!(stmt.public_inputs, expected);
    verify(&pair.prepared_vk(), &stmt.proof, &stmt.public_inputs).unwrap();
}

#[test]
fn an_unsatisfied_witness_is_an_error_not_a_bad_proof() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, 1);
    let mut circuit = MulRange::new(6, 7, 1);
    circuit.product = Some(Fr::from(43u8));
    let err = prove(&pair.pk, circuit, &mut rng(1), &NoProgress).unwrap_err();
    assert!(matches!(err, ProveError::Unsatisfied(_)), "{err}");
    // a >= 2^32 breaks the range check.
    let circuit = MulRange::new(1 << 32, 1, 1);
    let err = prove(&pair.pk, circuit, &mut rng(1), &NoProgress).unwrap_err();
    assert!(matches!(err, ProveError::Unsatisfied(_)), "{err}");
    // A missing witness fails synthesis.
    let err = prove(&pair.pk, MulRange::blank(1), &mut rng(1), &NoProgress).unwrap_err();
    assert!(matches!(err, ProveError::Synthesis(_)), "{err}");
}

/// The first constraint `circuit` breaks, as ark-relations' own satisfaction check names
/// it (a full constraint system, matrices built).
fn unsatisfied_by_ark_relations(circuit: MulRange) -> String {
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal};
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    cs.which_is_unsatisfied().unwrap().expect("unsatisfied")
}

/// The prover keeps a key's constraint matrices after its first proof and synthesises
/// only the witness for later ones; the satisfaction check moved into the reduction. Both
/// paths must refuse an unsatisfying witness, naming the constraint ark-relations names.
#[test]
fn a_key_s_later_proofs_still_refuse_an_unsatisfied_witness_and_name_the_constraint() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let broken = |a: u64| {
        let mut c = MulRange::new(a, 7, ROUNDS);
        c.product = Some(Fr::from(43u8));
        c
    };
    let tower_broken = || {
        let mut c = MulRange::new(5, 7, ROUNDS);
        c.tower = Some(Fr::from(44u8));
        c
    };
    // The key's first proof (matrices built): refused.
    let err = prove(&pair.pk, broken(6), &mut rng(1), &NoProgress).unwrap_err();
    let ProveError::Unsatisfied(which) = err else {
        panic!("{err}")
    };
    assert_eq!(which, unsatisfied_by_ark_relations(broken(6)));
    // Valid statements prove and verify from the kept matrices.
    for stmt in statements(&pair, ROUNDS, 3) {
        verify(&pair.prepared_vk(), &stmt.proof, &stmt.public_inputs).unwrap();
    }
    // Later proofs (witness only): each broken constraint is refused and named.
    for (circuit, reference) in [
        (broken(9), unsatisfied_by_ark_relations(broken(9))),
        (tower_broken(), unsatisfied_by_ark_relations(tower_broken())),
        (
            MulRange::new(1 << 32, 1, ROUNDS),
            unsatisfied_by_ark_relations(MulRange::new(1 << 32, 1, ROUNDS)),
        ),
    ] {
        let err = prove(&pair.pk, circuit, &mut rng(2), &NoProgress).unwrap_err();
        let ProveError::Unsatisfied(which) = err else {
            panic!("{err}")
        };
        assert_eq!(which, reference);
    }
    assert_ne!(
        unsatisfied_by_ark_relations(broken(9)),
        unsatisfied_by_ark_relations(tower_broken()),
        "the two cases break different constraints"
    );
}

#[test]
fn a_circuit_that_does_not_fit_the_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, 1);
    let err = prove(&pair.pk, MulRange::new(6, 7, 3), &mut rng(1), &NoProgress).unwrap_err();
    assert!(
        matches!(
            err,
            ProveError::KeyMismatch {
                what: "the number of variables",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_wrong_public_input_or_count_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let pvk = pair.prepared_vk();
    let stmt = &statements(&pair, ROUNDS, 1)[0];

    let mut wrong = stmt.public_inputs.clone();
    wrong[1] += Fr::one();
    assert!(matches!(
        verify(&pvk, &stmt.proof, &wrong),
        Err(VerifyError::Rejected)
    ));
    let err = verify(&pvk, &stmt.proof, &stmt.public_inputs[..1]).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::PublicInputCount {
                proof: 0,
                expected: 2,
                got: 1
            }
        ),
        "{err}"
    );
    let mut long = stmt.public_inputs.clone();
    long.push(Fr::from(0u8));
    let err = verify(&pvk, &stmt.proof, &long).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::PublicInputCount {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn batch_verification_accepts_valid_batches() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let pvk = pair.prepared_vk();
    let stmts = statements(&pair, ROUNDS, 5);
    let mut r = rng(300);
    batch_verify(&pvk, items(&stmts), &mut r).unwrap();
    batch_verify(&pvk, items(&stmts[..1]), &mut r).unwrap();
    batch_verify(&pvk, Vec::new(), &mut r).unwrap();
}

#[test]
fn batch_verification_rejects_one_tampered_proof() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let pvk = pair.prepared_vk();
    let mut r = rng(301);

    // C of one proof moved by the generator.
    let mut stmts = statements(&pair, ROUNDS, 4);
    stmts[2].proof.c = (stmts[2].proof.c + G1Affine::generator()).into_affine();
    let err = batch_verify(&pvk, items(&stmts), &mut r).unwrap_err();
    assert!(
        matches!(err, VerifyError::BatchRejected { proofs: 4 }),
        "{err}"
    );

    // Two valid proofs with their A swapped: each is a valid point, neither verifies.
    let mut stmts = statements(&pair, ROUNDS, 4);
    let a0 = stmts[0].proof.a;
    stmts[0].proof.a = stmts[1].proof.a;
    stmts[1].proof.a = a0;
    assert!(matches!(
        batch_verify(&pvk, items(&stmts), &mut r),
        Err(VerifyError::BatchRejected { .. })
    ));

    // A proof for another statement (public inputs swapped between two proofs).
    let mut stmts = statements(&pair, ROUNDS, 4);
    let inputs0 = stmts[0].public_inputs.clone();
    stmts[0].public_inputs = stmts[3].public_inputs.clone();
    stmts[3].public_inputs = inputs0;
    assert!(matches!(
        batch_verify(&pvk, items(&stmts), &mut r),
        Err(VerifyError::BatchRejected { .. })
    ));
}

#[test]
fn batch_verification_rejects_one_wrong_public_input() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let pvk = pair.prepared_vk();
    let mut stmts = statements(&pair, ROUNDS, 4);
    stmts[3].public_inputs[0] += Fr::one();
    let err = batch_verify(&pvk, items(&stmts), &mut rng(302)).unwrap_err();
    assert!(
        matches!(err, VerifyError::BatchRejected { proofs: 4 }),
        "{err}"
    );
}

#[test]
fn batch_verification_names_a_proof_with_the_wrong_input_count_or_a_bad_point() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let pvk = pair.prepared_vk();
    let mut stmts = statements(&pair, ROUNDS, 3);
    stmts[1].public_inputs.pop();
    let err = batch_verify(&pvk, items(&stmts), &mut rng(303)).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::PublicInputCount {
                proof: 1,
                expected: 2,
                got: 1
            }
        ),
        "{err}"
    );

    let mut stmts = statements(&pair, ROUNDS, 3);
    stmts[2].proof.b = g2_outside_subgroup();
    let err = batch_verify(&pvk, items(&stmts), &mut rng(304)).unwrap_err();
    assert!(
        matches!(err, VerifyError::InvalidPoint { proof: 2, .. }),
        "{err}"
    );
    let err = verify(&pvk, &stmts[2].proof, &stmts[2].public_inputs).unwrap_err();
    assert!(
        matches!(err, VerifyError::InvalidPoint { proof: 0, .. }),
        "{err}"
    );
}

#[test]
fn proof_bytes_round_trip_and_bad_points_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pair = keys(&dir, ROUNDS);
    let stmt = &statements(&pair, ROUNDS, 1)[0];
    let bytes = proof_to_bytes(&stmt.proof);
    assert_eq!(bytes.len(), 128);
    assert_eq!(proof_from_bytes(&bytes).unwrap(), stmt.proof);

    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        proof_from_bytes(&long),
        Err(VerifyError::TrailingBytes(1))
    ));
    assert!(matches!(
        proof_from_bytes(&bytes[..127]),
        Err(VerifyError::Decode(_))
    ));

    // B on the curve but outside the subgroup.
    let mut bad = stmt.proof.clone();
    bad.b = g2_outside_subgroup();
    let mut bad_bytes = Vec::new();
    bad.serialize_compressed(&mut bad_bytes).unwrap();
    assert!(matches!(
        proof_from_bytes(&bad_bytes),
        Err(VerifyError::Decode(_))
    ));

    // An x coordinate with no point on G1 (x^3 + 3 not a square).
    let mut x = ark_bn254::Fq::one();
    while (x.square() * x + ark_bn254::Fq::from(3u8)).sqrt().is_some() {
        x += ark_bn254::Fq::one();
    }
    let mut off = bytes.clone();
    let mut x_bytes = Vec::new();
    x.serialize_compressed(&mut x_bytes).unwrap();
    off[..32].copy_from_slice(&x_bytes);
    assert!(matches!(
        proof_from_bytes(&off),
        Err(VerifyError::Decode(_))
    ));
}
