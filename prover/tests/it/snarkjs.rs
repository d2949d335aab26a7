//! snarkjs JSON: round trips, format details, strict import.

use ark_bn254::{Fq, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{One, PrimeField};
use num_bigint::BigUint;
use sealgrid_prover::snarkjs::{
    export_proof, export_public_inputs, export_verifying_key, import_proof, import_proof_json,
    import_public_inputs, import_public_inputs_json, import_verifying_key,
    import_verifying_key_json, SnarkjsError,
};
use sealgrid_prover::{prove, verify, KeyPair, KeyStore, NoProgress, ProvedStatement};

use crate::common::{rng, MulRange};

pub fn proved(dir: &tempfile::TempDir) -> (KeyPair, ProvedStatement) {
    let pair = KeyStore::open(dir.path())
        .unwrap()
        .setup("mul", MulRange::blank(1), &mut rng(400), &NoProgress)
        .unwrap();
    let stmt = prove(&pair.pk, MulRange::new(6, 7, 1), &mut rng(401), &NoProgress).unwrap();
    (pair, stmt)
}

fn modulus<F: PrimeField>() -> BigUint {
    F::MODULUS.into()
}

fn plus(s: &str, n: &BigUint) -> String {
    (s.parse::<BigUint>().unwrap() + n).to_string()
}

#[test]
fn exports_import_back_to_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let (pair, stmt) = proved(&dir);

    let vk_json = serde_json::to_string(&export_verifying_key(&pair.vk)).unwrap();
    let proof_json = serde_json::to_string(&export_proof(&stmt.proof)).unwrap();
    let public_json = serde_json::to_string(&export_public_inputs(&stmt.public_inputs)).unwrap();
    let vk = import_verifying_key_json(&vk_json).unwrap();
    let proof = import_proof_json(&proof_json).unwrap();
    let inputs = import_public_inputs_json(&public_json).unwrap();
    assert_eq!(vk, pair.vk);
    assert_eq!(proof, stmt.proof);
    assert_eq!(inputs, stmt.public_inputs);
    verify(&sealgrid_prover::prepare(&vk), &proof, &inputs).unwrap();
}

#[test]
fn the_json_has_snarkjs_field_names_and_point_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let (pair, stmt) = proved(&dir);
    let vk = serde_json::to_value(export_verifying_key(&pair.vk)).unwrap();
    let keys: Vec<&str> = vk.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    for k in [
        "protocol",
        "curve",
        "nPublic",
        "vk_alpha_1",
        "vk_beta_2",
        "vk_gamma_2",
        "vk_delta_2",
        "IC",
    ] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert_eq!(vk["protocol"], "groth16");
    assert_eq!(vk["curve"], "bn128");
    assert_eq!(vk["nPublic"], 2);
    assert_eq!(vk["IC"].as_array().unwrap().len(), 3);
    assert_eq!(vk["vk_alpha_1"][2], "1");
    assert_eq!(vk["vk_beta_2"][2], serde_json::json!(["1", "0"]));

    let proof = serde_json::to_value(export_proof(&stmt.proof)).unwrap();
    assert_eq!(proof["pi_a"].as_array().unwrap().len(), 3);
    assert_eq!(proof["pi_c"][2], "1");
    assert_eq!(proof["pi_b"][2], serde_json::json!(["1", "0"]));
    // G2 coordinates are [c0, c1].
    let (x, _) = stmt.proof.b.xy().unwrap();
    let c0: BigUint = x.c0.into_bigint().into();
    let c1: BigUint = x.c1.into_bigint().into();
    assert_eq!(
        proof["pi_b"][0],
        serde_json::json!([c0.to_string(), c1.to_string()])
    );
    assert_eq!(proof["protocol"], "groth16");
    assert_eq!(proof["curve"], "bn128");

    assert_eq!(
        export_public_inputs(&stmt.public_inputs),
        vec!["42".to_owned(), "36".to_owned()]
    );
}

#[test]
fn import_refuses_non_canonical_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stmt) = proved(&dir);
    let good = export_proof(&stmt.proof);
    let p = modulus::<Fq>();

    let mut bad = good.clone();
    bad.pi_a[0] = plus(&bad.pi_a[0], &p);
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::NonCanonical { .. })
    ));
    let mut bad = good.clone();
    bad.pi_b[1][1] = plus(&bad.pi_b[1][1], &p);
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::NonCanonical { .. })
    ));
    for text in ["", "-1", "+1", "0x10", "01", "1 ", "1e3"] {
        let mut bad = good.clone();
        bad.pi_c[0] = text.to_owned();
        assert!(
            matches!(import_proof(&bad), Err(SnarkjsError::NotDecimal { .. })),
            "{text:?}"
        );
    }

    let r = modulus::<sealgrid_prover::Fr>();
    let inputs = export_public_inputs(&stmt.public_inputs);
    let mut bad = inputs.clone();
    bad[0] = plus(&bad[0], &r);
    assert!(matches!(
        import_public_inputs(&bad),
        Err(SnarkjsError::NonCanonical { .. })
    ));
    assert!(import_public_inputs(&inputs).is_ok());
}

#[test]
fn import_refuses_points_off_the_curve_or_the_subgroup() {
    let dir = tempfile::tempdir().unwrap();
    let (pair, stmt) = proved(&dir);
    let good = export_proof(&stmt.proof);

    let mut bad = good.clone();
    bad.pi_a[1] = plus(&bad.pi_a[1], &BigUint::from(1u8));
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::NotOnCurve { .. })
    ));

    // A G2 point on the twist but outside the prime-order subgroup.
    let mut x = ark_bn254::Fq2::one();
    let outside = loop {
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                break p;
            }
        }
        x += ark_bn254::Fq2::one();
    };
    let mut bad = good.clone();
    bad.pi_b = export_proof(&ark_groth16::Proof {
        b: outside,
        ..stmt.proof.clone()
    })
    .pi_b;
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::NotInSubgroup { .. })
    ));

    // z must be 1, or the whole point the identity's encoding.
    let mut bad = good.clone();
    bad.pi_a[2] = "2".into();
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::NotAffine { .. })
    ));
    let mut bad = good.clone();
    bad.pi_a[2] = "0".into();
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::NotAffine { .. })
    ));
    let mut id = good.clone();
    id.pi_a = vec!["0".into(), "1".into(), "0".into()];
    assert!(import_proof(&id).unwrap().a.is_zero());

    let mut bad = good.clone();
    bad.protocol = "plonk".into();
    assert!(matches!(import_proof(&bad), Err(SnarkjsError::Protocol(_))));
    let mut bad = good.clone();
    bad.curve = "bls12381".into();
    assert!(matches!(import_proof(&bad), Err(SnarkjsError::Curve(_))));
    let mut bad = good.clone();
    bad.pi_b.pop();
    assert!(matches!(
        import_proof(&bad),
        Err(SnarkjsError::Length { .. })
    ));

    let mut vk = export_verifying_key(&pair.vk);
    vk.n_public = 3;
    assert!(matches!(
        import_verifying_key(&vk),
        Err(SnarkjsError::NPublic { n_public: 3, ic: 3 })
    ));
}
