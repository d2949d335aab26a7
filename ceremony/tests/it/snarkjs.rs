//! Interoperability with snarkjs 0.7.6 (pinned by test-vectors/package-lock.json).
//!
//! Needs `node` and `npm ci` in test-vectors. Without them each test prints why and
//! passes, unless SEALGRID_REQUIRE_SNARKJS=1 (CI), where it fails.

use std::path::Path;

use rand::SeedableRng;
use sealgrid_ceremony::phase2::{self, quiet};
use sealgrid_ceremony::r1cs::{witness_of, write_wtns};
use sealgrid_ceremony::{phase1, Ptau, R1cs, Zkey};
use sealgrid_prover::snarkjs::{import_proof_json, import_public_inputs_json};
use sealgrid_prover::{prepare, verify};

use crate::common::{ptau, snarkjs, snarkjs_or_skip, Small, ROUNDS};

/// Writes the small circuit's R1CS, the shared phase-1 file and a zkey with one
/// contribution of ours into `dir`.
fn transcript(dir: &Path) -> (R1cs, Zkey) {
    let r1cs = R1cs::of(Small::blank(ROUNDS)).unwrap();
    r1cs.write(&dir.join("small.r1cs")).unwrap();
    ptau().write(&dir.join("pot.ptau")).unwrap();
    let z0 = phase2::new_zkey(&r1cs, ptau(), &quiet).unwrap();
    let (z1, _) = phase2::contribute(&z0, Some("ours"), b"", &quiet);
    z1.write(&dir.join("small_1.zkey")).unwrap();
    (r1cs, z1)
}

#[test]
fn snarkjs_accepts_our_phase1_and_phase2_transcripts() {
    let Some(cli) = snarkjs_or_skip("snarkjs transcript interop") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (r1cs, z1) = transcript(dir.path());
    let (ok, out) = snarkjs(&cli, dir.path(), &["powersoftau", "verify", "pot.ptau"]);
    assert!(ok && out.contains("Powers of Tau Ok!"), "{out}");

    // Our beacon on top: snarkjs recomputes the beacon's key.
    let (z2, _) = phase2::beacon(&z1, Some("final"), &[0x5e; 32], 10, &quiet).unwrap();
    z2.write(&dir.path().join("small_2.zkey")).unwrap();
    for zkey in ["small_1.zkey", "small_2.zkey"] {
        let (ok, out) = snarkjs(
            &cli,
            dir.path(),
            &["zkey", "verify", "small.r1cs", "pot.ptau", zkey],
        );
        assert!(ok && out.contains("ZKey Ok!"), "{zkey}: {out}");
    }
    phase2::verify(&r1cs, ptau(), &z2, &quiet).unwrap();
}

#[test]
fn a_snarkjs_contribution_verifies_here_and_can_be_continued() {
    let Some(cli) = snarkjs_or_skip("snarkjs contribution interop") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (r1cs, _) = transcript(dir.path());
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &[
            "zkey",
            "contribute",
            "small_1.zkey",
            "small_2.zkey",
            "--name=snarkjs",
            "-e=some entropy",
        ],
    );
    assert!(ok, "{out}");
    let z2 = Zkey::read(&dir.path().join("small_2.zkey")).unwrap();
    let t = phase2::verify(&r1cs, ptau(), &z2, &quiet).unwrap();
    assert_eq!(t.contributions.len(), 2);
    assert_eq!(t.contributions[1].name.as_deref(), Some("snarkjs"));

    // Continued here, then verified by snarkjs again.
    let (z3, _) = phase2::contribute(&z2, Some("after snarkjs"), b"", &quiet);
    z3.write(&dir.path().join("small_3.zkey")).unwrap();
    phase2::verify(&r1cs, ptau(), &z3, &quiet).unwrap();
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &["zkey", "verify", "small.r1cs", "pot.ptau", "small_3.zkey"],
    );
    assert!(ok && out.contains("ZKey Ok!"), "{out}");

    // A snarkjs beacon verifies here (its key recomputed from the beacon).
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &[
            "zkey",
            "beacon",
            "small_3.zkey",
            "small_4.zkey",
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "10",
            "-n=snarkjs beacon",
        ],
    );
    assert!(ok, "{out}");
    let z4 = Zkey::read(&dir.path().join("small_4.zkey")).unwrap();
    phase2::verify(&r1cs, ptau(), &z4, &quiet).unwrap();
}

#[test]
fn a_snarkjs_phase1_contribution_verifies_here_and_can_be_continued() {
    let Some(cli) = snarkjs_or_skip("snarkjs ptau interop") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = phase1::new_ptau(4).unwrap();
    let (p, _) = phase1::contribute(&p, Some("ours"), b"", &quiet).unwrap();
    p.write(&dir.path().join("p1.ptau")).unwrap();
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &[
            "powersoftau",
            "contribute",
            "p1.ptau",
            "p2.ptau",
            "--name=snarkjs",
            "-e=entropy",
        ],
    );
    assert!(ok, "{out}");
    let p2 = Ptau::read(&dir.path().join("p2.ptau")).unwrap();
    phase1::verify(&p2, &quiet).unwrap();
    let (p3, _) = phase1::contribute(&p2, Some("after snarkjs"), b"", &quiet).unwrap();
    let p3 = phase1::prepare(&p3, &quiet).unwrap();
    phase1::verify(&p3, &quiet).unwrap();
    p3.write(&dir.path().join("p3.ptau")).unwrap();
    let (ok, out) = snarkjs(&cli, dir.path(), &["powersoftau", "verify", "p3.ptau"]);
    assert!(ok && out.contains("Powers of Tau Ok!"), "{out}");
}

#[test]
fn snarkjs_proves_with_our_r1cs_witness_and_zkey_and_our_verifier_accepts() {
    let Some(cli) = snarkjs_or_skip("snarkjs prove interop") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, z1) = transcript(dir.path());
    let circuit = Small::new(11, 13, ROUNDS);
    let inputs = circuit.public_inputs();
    write_wtns(
        &dir.path().join("small.wtns"),
        &witness_of(circuit).unwrap(),
    )
    .unwrap();
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &[
            "groth16",
            "prove",
            "small_1.zkey",
            "small.wtns",
            "proof.json",
            "public.json",
        ],
    );
    assert!(ok, "{out}");
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let proof = import_proof_json(&read("proof.json")).unwrap();
    assert_eq!(
        import_public_inputs_json(&read("public.json")).unwrap(),
        inputs
    );
    let pvk = prepare(&z1.proving_key().vk);
    verify(&pvk, &proof, &inputs).unwrap();

    // And our prover's proof under the same key verifies in snarkjs.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    let pk = z1.proving_key();
    let stmt = sealgrid_prover::prove(
        &pk,
        Small::new(11, 13, ROUNDS),
        &mut rng,
        &sealgrid_prover::NoProgress,
    )
    .unwrap();
    sealgrid_prover::snarkjs::write_files(dir.path(), &pk.vk, &stmt.proof, &stmt.public_inputs)
        .unwrap();
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &[
            "groth16",
            "verify",
            "verification_key.json",
            "public.json",
            "proof.json",
        ],
    );
    assert!(ok && out.contains("OK"), "{out}");
}

/// The one end-to-end check on a real circuit: the bid circuit's R1CS and a witness
/// exported here, proved by snarkjs with the project's bid key (exported to a zkey), and
/// the proof accepted by the project's verifier and by the Solidity verifier on the
/// embedded EVM.
#[test]
fn snarkjs_proves_the_bid_circuit_and_our_verifier_accepts() {
    use sealgrid_prover::circuits::{target_key_dir, CircuitKind, Circuits};
    let Some(cli) = snarkjs_or_skip("snarkjs bid circuit interop") else {
        return;
    };
    let circuits = Circuits::demo(8).unwrap();
    // The prover's tests use the same demo set and cache its keys here.
    let store = sealgrid_prover::KeyStore::open(target_key_dir()).unwrap();
    let pair = store
        .get_or_setup(
            &circuits.key_name(CircuitKind::Bid),
            circuits.setup_circuit(CircuitKind::Bid),
            &mut rand::rngs::OsRng,
            &sealgrid_prover::NoProgress,
        )
        .unwrap();
    let r1cs = R1cs::of(circuits.setup_circuit(CircuitKind::Bid)).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let sample = circuits.sample(CircuitKind::Bid, &mut rng).unwrap();
    let witness = witness_of(sample.circuit.clone()).unwrap();
    assert!(r1cs.is_satisfied(&witness));
    assert_eq!(
        &witness[1..=r1cs.n_public() as usize],
        &sample.public_inputs[..]
    );

    let dir = tempfile::tempdir().unwrap();
    r1cs.write(&dir.path().join("bid.r1cs")).unwrap();
    write_wtns(&dir.path().join("bid.wtns"), &witness).unwrap();
    phase2::zkey_from_proving_key(&pair.pk, &r1cs)
        .unwrap()
        .write(&dir.path().join("bid.zkey"))
        .unwrap();
    let (ok, out) = snarkjs(&cli, dir.path(), &["wtns", "check", "bid.r1cs", "bid.wtns"]);
    assert!(ok && out.contains("WITNESS IS CORRECT"), "{out}");
    let (ok, out) = snarkjs(
        &cli,
        dir.path(),
        &[
            "groth16",
            "prove",
            "bid.zkey",
            "bid.wtns",
            "proof.json",
            "public.json",
        ],
    );
    assert!(ok, "{out}");
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let proof = import_proof_json(&read("proof.json")).unwrap();
    let inputs = import_public_inputs_json(&read("public.json")).unwrap();
    assert_eq!(inputs, sample.public_inputs);
    verify(&pair.prepared_vk(), &proof, &inputs).unwrap();

    use sealgrid_verifier_contract::bindings::Groth16Verifier;
    use sealgrid_verifier_contract::{calldata, Chain, EmbeddedChain};
    let mut chain = EmbeddedChain::in_memory();
    let from = alloy_primitives::Address::repeat_byte(0x11);
    let at = chain
        .deploy(from, calldata::verifier_init_code(&pair.vk))
        .unwrap()
        .contract_address
        .unwrap();
    let call = |input: Vec<alloy_primitives::U256>, chain: &mut EmbeddedChain| {
        chain.sol_call(
            from,
            at,
            &Groth16Verifier::verifyProofCall {
                proof: calldata::proof(&proof),
                input,
            },
        )
    };
    assert!(call(calldata::inputs(&inputs), &mut chain).unwrap());
    let mut wrong = inputs.clone();
    wrong[0] += sealgrid_prover::Fr::from(1u64);
    assert!(!matches!(
        call(calldata::inputs(&wrong), &mut chain),
        Ok(true)
    ));
}
