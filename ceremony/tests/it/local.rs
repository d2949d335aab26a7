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
