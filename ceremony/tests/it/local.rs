//! The ceremony without snarkjs: phase 1, phase 2, export, proving.

use rand::SeedableRng;
use sealgrid_ceremony::phase2::{self, quiet};
use sealgrid_ceremony::{phase1, CeremonyError, R1cs};
use sealgrid_prover::{prove, verify, KeyStore, NoProgress};

use crate::common::{ptau, Small, ROUNDS};

#[test]
fn a_local_ceremony_gives_a_key_that_proves_and_verifies() {
    let record = phase1::verify(ptau(), &quiet).unwrap();
    assert_eq!(record.contributions.len(), 3);
    assert!(record.prepared);

    let r1cs = R1cs::of(Small::blank(ROUNDS)).unwrap();
    let z0 = phase2::new_zkey(&r1cs, ptau(), &quiet).unwrap();
    let (z1, h1) = phase2::contribute(&z0, Some("operator"), b"entropy", &quiet);
    let (z2, h2) = phase2::contribute(&z1, Some("regulator"), b"", &quiet);
    let (z3, h3) = phase2::beacon(&z2, Some("beacon"), &[7; 32], 10, &quiet).unwrap();
    let t = phase2::verify(&r1cs, ptau(), &z3, &quiet).unwrap();
    assert_eq!(phase2::verify_full(&r1cs, ptau(), &z3, &quiet).unwrap(), t);
    assert_eq!(
        t.contributions.iter().map(|c| c.hash).collect::<Vec<_>>(),
        vec![h1, h2, h3]
    );

    // The file round-trips.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.zkey");
    z3.write(&path).unwrap();
    assert_eq!(sealgrid_ceremony::Zkey::read(&path).unwrap(), z3);

    // Installed into the key store, the key proves with the project's prover.
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let shape = sealgrid_prover::CircuitShape::of(Small::blank(ROUNDS)).unwrap();
    let pair = phase2::install(&store, "small", shape, &z3).unwrap();
    let circuit = Small::new(3, 5, ROUNDS);
    let inputs = circuit.public_inputs();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let stmt = prove(&pair.pk, circuit, &mut rng, &NoProgress).unwrap();
    assert_eq!(stmt.public_inputs, inputs);
    verify(&pair.prepared_vk(), &stmt.proof, &inputs).unwrap();
    // And the store serves it back.
    let id = store.lookup("small").unwrap().unwrap();
    assert_eq!(id.reduction, sealgrid_prover::Reduction::Circom);
    store.load_pair(&id, &NoProgress).unwrap();
    let _: Option<CeremonyError> = None;
}

/// A transcript of the small circuit with two contributions.
fn honest() -> (R1cs, sealgrid_ceremony::Zkey) {
    let r1cs = R1cs::of(Small::blank(ROUNDS)).unwrap();
    let z0 = phase2::new_zkey(&r1cs, ptau(), &quiet).unwrap();
    let (z1, _) = phase2::contribute(&z0, Some("a"), b"", &quiet);
    let (z2, _) = phase2::contribute(&z1, Some("b"), b"", &quiet);
    (r1cs, z2)
}

fn refused(r1cs: &R1cs, ptau: &sealgrid_ceremony::Ptau, z: &sealgrid_ceremony::Zkey) -> String {
    match phase2::verify(r1cs, ptau, z, &quiet) {
        Err(CeremonyError::Invalid(why)) => why,
        other => panic!("a tampered transcript was not refused: {other:?}"),
    }
}

#[test]
fn verify_refuses_tampered_transcripts() {
    use ark_ec::{AffineRepr, CurveGroup};
    use sealgrid_prover::Fr;
    let (r1cs, z) = honest();
    phase2::verify(&r1cs, ptau(), &z, &quiet).unwrap();
    let two = Fr::from(2u64);

    // A wrong delta (the final key's, in both groups, consistently).
    let mut t = z.clone();
    t.delta_g1 = (t.delta_g1 * two).into_affine();
    t.delta_g2 = (t.delta_g2 * two).into_affine();
    assert!(refused(&r1cs, ptau(), &t).contains("delta"), "wrong delta");

    // A contribution whose delta does not follow from its proof of knowledge: the last
    // contributor multiplies delta by more than it proved.
    let mut t = z.clone();
    let last = t.contributions.last_mut().unwrap();
    last.delta_after = (last.delta_after * two).into_affine();
    t.delta_g1 = last.delta_after;
    t.delta_g2 = (t.delta_g2 * two).into_affine();
    assert!(refused(&r1cs, ptau(), &t).contains("does not follow"));

    // A broken hash chain: the contributions reordered.
    let mut t = z.clone();
    t.contributions.swap(0, 1);
    assert!(refused(&r1cs, ptau(), &t).contains("hash chain"));

    // A dropped contribution (the first): the chain breaks too.
    let mut t = z.clone();
    t.contributions.remove(0);
    assert!(refused(&r1cs, ptau(), &t).contains("hash chain"));

    // An L or H point changed (the toxic waste of a single party slipped in).
    for which in ["L", "H"] {
        let mut t = z.clone();
        let v = if which == "L" { &mut t.c } else { &mut t.h };
        v[0] = (v[0].into_group() + ark_bn254::G1Affine::generator()).into_affine();
        assert!(refused(&r1cs, ptau(), &t).contains(which), "{which}");
    }

    // An A point changed.
    let mut t = z.clone();
    t.a[1] = (t.a[1] * two).into_affine();
    assert!(refused(&r1cs, ptau(), &t).contains("A section"));

    // The key checked against another circuit.
    let other = R1cs::of(Small::blank(ROUNDS + 1)).unwrap();
    let why = refused(&other, ptau(), &z);
    assert!(why.contains("another circuit"), "{why}");

    // The key checked against another phase-1 file.
    let p = phase1::new_ptau(6).unwrap();
    let (p, _) = phase1::contribute(&p, None, b"", &quiet).unwrap();
    let p = phase1::prepare(&p, &quiet).unwrap();
    let why = refused(&r1cs, &p, &z);
    assert!(why.contains("phase 1"), "{why}");
    match phase2::verify_full(&r1cs, &p, &z, &quiet) {
        Err(CeremonyError::Invalid(why)) => assert!(why.contains("circuit hash"), "{why}"),
        other => panic!("verify_full accepted a key of another phase 1: {other:?}"),
    }
}

#[test]
fn phase1_verify_refuses_tampered_files() {
    use sealgrid_ceremony::binfile::BinFile;
    let good = ptau().bin().to_bytes();
    // Flip a byte inside tau^5 G1 (section 2 starts after the 12-byte file header, the
    // header section and its 12-byte section header).
    let find = |kind: u32| -> usize {
        let f = BinFile::parse(&good, b"ptau", 1).unwrap();
        let mut pos = 12;
        for (k, b) in &f.sections {
            if *k == kind {
                return pos + 12;
            }
            pos += 12 + b.len();
        }
        unreachable!()
    };
    for (section, point, size) in [(2u32, 5usize, 64usize), (3, 3, 128), (12, 9, 64)] {
        let mut bad = good.clone();
        // Replace the point by another valid one: the point two slots later.
        let at = find(section) + point * size;
        let other = bad[at + 2 * size..at + 3 * size].to_vec();
        bad[at..at + size].copy_from_slice(&other);
        let f = BinFile::parse(&bad, b"ptau", 1).unwrap();
        let p = sealgrid_ceremony::Ptau::from_bin(f).unwrap();
        assert!(
            matches!(phase1::verify(&p, &quiet), Err(CeremonyError::Invalid(_))),
            "a tampered point in section {section} was accepted"
        );
    }
}
