//! sealgrid's three circuits through the prover: keys (cached under the target
//! directory, so re-runs skip the setups), samples proved and verified, tampered
//! proofs and wrong public inputs rejected, batches, snarkjs, and the CLI.
//!
//! Each circuit is set up at most once per run and its three sample proofs are made
//! once, shared by the tests through a `OnceLock`.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use ark_bn254::G1Affine;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use rand::rngs::OsRng;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::MarketParams;
use sealgrid_prover::circuits::target_key_dir;
use sealgrid_prover::snarkjs::{export_verifying_key, write_files, SnarkjsVerifyingKey};
use sealgrid_prover::{
    batch_verify, proof_from_bytes, proof_to_bytes, prove, verify, CircuitKind, Circuits,
    CircuitsError, Event, Fr, KeyPair, KeyStore, NoProgress, Proof, ProvedStatement, VerifyError,
};

use crate::common::rng;
use crate::snarkjs_cli::{snarkjs_or_skip, snarkjs_verify};

/// Proofs per circuit: enough for a batch of three.
const PROOFS: usize = 3;

fn circuits() -> &'static Circuits {
    static CIRCUITS: OnceLock<Circuits> = OnceLock::new();
    CIRCUITS.get_or_init(|| Circuits::demo(8).unwrap())
}

fn store() -> KeyStore {
    KeyStore::open(target_key_dir()).unwrap()
}

/// A circuit's keys and three proved samples.
struct Proved {
    pair: KeyPair,
    stmts: Vec<ProvedStatement>,
}

fn proved(kind: CircuitKind) -> &'static Proved {
    static CELLS: [OnceLock<Proved>; 3] = [const { OnceLock::new() }; 3];
    let index = CircuitKind::ALL.iter().position(|k| *k == kind).unwrap();
    CELLS[index].get_or_init(|| {
        let c = circuits();
        let pair = store()
            .get_or_setup(
                &c.key_name(kind),
                c.setup_circuit(kind),
                &mut OsRng,
                &NoProgress,
            )
            .unwrap();
        let mut witness_rng = ChaCha20Rng::seed_from_u64(1000 + index as u64);
        let stmts = (0..PROOFS)
            .map(|i| {
                let sample = c.sample(kind, &mut witness_rng).unwrap();
                let stmt = prove(
                    &pair.pk,
                    sample.circuit,
                    &mut rng(2000 + i as u64),
                    &NoProgress,
                )
                .unwrap_or_else(|e| panic!("{kind} sample {i}: {e}"));
                assert_eq!(
                    stmt.public_inputs, sample.public_inputs,
                    "{kind} sample {i}"
                );
                stmt
            })
            .collect();
        Proved { pair, stmts }
    })
}

/// C moved by the generator: still a valid point, no longer a valid proof.
fn tampered(proof: &Proof) -> Proof {
    let mut bad = proof.clone();
    bad.c = (bad.c + G1Affine::generator()).into_affine();
    bad
}

fn items(stmts: &[ProvedStatement]) -> Vec<(&Proof, &[Fr])> {
    stmts
        .iter()
        .map(|s| (&s.proof, &s.public_inputs[..]))
        .collect()
}

/// Prove, verify, tamper with the proof and with each public input, batch.
fn proves_and_verifies(kind: CircuitKind) {
    let Proved { pair, stmts } = proved(kind);
    let pvk = pair.prepared_vk();
    assert_eq!(pair.id.shape.public_inputs, kind.num_public_inputs());
    for stmt in stmts {
        assert_eq!(stmt.public_inputs.len(), kind.num_public_inputs());
        verify(&pvk, &stmt.proof, &stmt.public_inputs).unwrap();
    }
    let stmt = &stmts[0];

    let err = verify(&pvk, &tampered(&stmt.proof), &stmt.public_inputs).unwrap_err();
    assert!(matches!(err, VerifyError::Rejected), "{kind}: {err}");
    // Another statement's proof.
    let err = verify(&pvk, &stmts[1].proof, &stmt.public_inputs).unwrap_err();
    assert!(matches!(err, VerifyError::Rejected), "{kind}: {err}");

    for i in 0..stmt.public_inputs.len() {
        let mut wrong = stmt.public_inputs.clone();
        wrong[i] += Fr::one();
        let err = verify(&pvk, &stmt.proof, &wrong).unwrap_err();
        assert!(
            matches!(err, VerifyError::Rejected),
            "{kind}: public input {i} changed: {err}"
        );
    }
    let short = &stmt.public_inputs[1..];
    assert!(matches!(
        verify(&pvk, &stmt.proof, short),
        Err(VerifyError::PublicInputCount { .. })
    ));

    batch_verify(&pvk, items(stmts), &mut rng(3000)).unwrap();
    let mut bad = stmts.clone();
    bad[1].proof = tampered(&bad[1].proof);
    let err = batch_verify(&pvk, items(&bad), &mut rng(3001)).unwrap_err();
    assert!(
        matches!(err, VerifyError::BatchRejected { proofs: 3 }),
        "{kind}: {err}"
    );
    let mut bad = stmts.clone();
    bad[2].public_inputs[0] += Fr::one();
    let err = batch_verify(&pvk, items(&bad), &mut rng(3002)).unwrap_err();
    assert!(
        matches!(err, VerifyError::BatchRejected { proofs: 3 }),
        "{kind}: {err}"
    );
}

#[test]
fn balance_proves_and_verifies() {
    proves_and_verifies(CircuitKind::Balance);
}

#[test]
fn bid_proves_and_verifies() {
    proves_and_verifies(CircuitKind::Bid);
}

#[test]
fn settle_proves_and_verifies() {
    proves_and_verifies(CircuitKind::Settle);
}

/// snarkjs accepts the exported vk + proof, and rejects a tampered proof.
fn snarkjs_agrees(kind: CircuitKind) {
    let Some(cli) = snarkjs_or_skip(&format!("snarkjs test of the {kind} circuit")) else {
        return;
    };
    let Proved { pair, stmts } = proved(kind);
    let stmt = &stmts[0];
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &pair.vk, &stmt.proof, &stmt.public_inputs).unwrap();
    let (ok, out) = snarkjs_verify(&cli, dir.path());
    assert!(
        ok && out.contains("OK"),
        "snarkjs rejected a valid {kind} proof:\n{out}"
    );

    write_files(
        dir.path(),
        &pair.vk,
        &tampered(&stmt.proof),
        &stmt.public_inputs,
    )
    .unwrap();
    let (ok, out) = snarkjs_verify(&cli, dir.path());
    assert!(!ok, "snarkjs accepted a tampered {kind} proof:\n{out}");
    assert!(
        out.contains("Invalid proof"),
        "{kind}: rejected for another reason:\n{out}"
    );
}

#[test]
fn snarkjs_verifies_balance() {
    snarkjs_agrees(CircuitKind::Balance);
}

#[test]
fn snarkjs_verifies_bid() {
    snarkjs_agrees(CircuitKind::Bid);
}

#[test]
fn snarkjs_verifies_settle() {
    snarkjs_agrees(CircuitKind::Settle);
}

#[test]
fn cached_keys_are_reused() {
    let first = &proved(CircuitKind::Balance).pair;
    let c = circuits();
    let hits = std::cell::Cell::new(0);
    let progress = |e: &Event| {
        if matches!(e, Event::CacheHit { .. }) {
            hits.set(hits.get() + 1);
        }
    };
    let again = store()
        .get_or_setup(
            &c.key_name(CircuitKind::Balance),
            c.setup_circuit(CircuitKind::Balance),
            &mut OsRng,
            &progress,
        )
        .unwrap();
    assert_eq!(hits.get(), 1);
    assert_eq!(again.id, first.id);
}

#[test]
fn key_names_carry_an_id_of_parameters_and_flow_keys() {
    let c = circuits();
    assert_eq!(c.key_name(CircuitKind::Balance), "balance");
    for kind in [CircuitKind::Bid, CircuitKind::Settle] {
        let name = c.key_name(kind);
        let id = name
            .strip_prefix(&format!("{kind}-k8-"))
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(id, c.set_id());
        assert!(
            id.len() == 8
                && id
                    .chars()
                    .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase()),
            "{name}"
        );
    }
    // Deterministic demo keys: the same set, the same id.
    assert_eq!(Circuits::demo(8).unwrap().set_id(), c.set_id());
    // Other keys, other parameters, another K: another id.
    let (keys, _) = FlowKeys::random(17, &mut ChaCha20Rng::seed_from_u64(1));
    let other_keys = Circuits::new(MarketParams::default(), keys.clone()).unwrap();
    assert_ne!(other_keys.set_id(), c.set_id());
    let other_params = Circuits::new(
        MarketParams {
            penalty_rate: 101,
            ..MarketParams::default()
        },
        c.flow_keys().clone(),
    )
    .unwrap();
    assert_ne!(other_params.set_id(), c.set_id());
    assert_eq!(
        Circuits::demo(4).unwrap().key_name(CircuitKind::Bid)[..7],
        *"bid-k4-"
    );

    assert!(matches!(
        Circuits::new(
            MarketParams {
                levels: 4,
                ..MarketParams::default()
            },
            keys
        ),
        Err(CircuitsError::FlowKeys {
            keys: 17,
            levels: 4
        })
    ));
    assert!(matches!(Circuits::demo(1), Err(CircuitsError::Params(_))));
    for kind in CircuitKind::ALL {
        assert_eq!(kind.name().parse::<CircuitKind>().unwrap(), kind);
    }
    assert!(matches!(
        "mint".parse::<CircuitKind>(),
        Err(CircuitsError::UnknownCircuit(_))
    ));
}

fn cli(args: &[&str]) -> Output {
    let key_dir = target_key_dir();
    Command::new(env!("CARGO_BIN_EXE_sealgrid-prover"))
        .arg("--key-dir")
        .arg(&key_dir)
        .arg("--quiet")
        .args(args)
        .output()
        .expect("running sealgrid-prover")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn cli_verify(dir: &Path, proof: &str, public: &str) -> Output {
    cli(&[
        "verify",
        "--circuit",
        "balance",
        "--proof",
        dir.join(proof).to_str().unwrap(),
        "--public",
        dir.join(public).to_str().unwrap(),
    ])
}

#[test]
fn cli_verify_accepts_a_proof_and_exits_non_zero_on_a_tampered_one() {
    // The keys exist before the CLI runs, so it reuses them rather than racing a setup.
    let pair = &proved(CircuitKind::Balance).pair;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = cli(&[
        "prove",
        "--circuit",
        "balance",
        "--sample",
        "--seed",
        "7",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    for (proof, public) in [("proof.bin", "public.bin"), ("proof.json", "public.json")] {
        let out = cli_verify(&dir, proof, public);
        assert!(out.status.success(), "{proof}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("OK"),
            "{}",
            text(&out)
        );
    }

    // A tampered proof: rejected, exit status 1, a clear message.
    let proof = proof_from_bytes(&std::fs::read(dir.join("proof.bin")).unwrap()).unwrap();
    std::fs::write(dir.join("tampered.bin"), proof_to_bytes(&tampered(&proof))).unwrap();
    let out = cli_verify(&dir, "tampered.bin", "public.bin");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("REJECTED") && stderr.contains("does not verify"),
        "{}",
        text(&out)
    );

    // A wrong public input in public.json: rejected too.
    let mut inputs: Vec<String> =
        serde_json::from_slice(&std::fs::read(dir.join("public.json")).unwrap()).unwrap();
    inputs[0] = if inputs[0] == "1" { "2" } else { "1" }.to_owned();
    std::fs::write(
        dir.join("wrong.json"),
        serde_json::to_string(&inputs).unwrap(),
    )
    .unwrap();
    let out = cli_verify(&dir, "proof.json", "wrong.json");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Bytes that are not a proof: an error (status 2) naming the file, not a rejection.
    std::fs::write(dir.join("garbage.bin"), [0xffu8; 128]).unwrap();
    let out = cli_verify(&dir, "garbage.bin", "public.bin");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("garbage.bin"),
        "{}",
        text(&out)
    );

    // The verifying key written beside the proof is the cached one.
    let vk: SnarkjsVerifyingKey =
        serde_json::from_slice(&std::fs::read(dir.join("verification_key.json")).unwrap()).unwrap();
    assert_eq!(vk, export_verifying_key(&pair.vk));
}

#[test]
fn cli_exports_the_cached_verifying_key() {
    let pair = &proved(CircuitKind::Balance).pair;
    let tmp = tempfile::tempdir().unwrap();
    let out = cli(&[
        "export-snarkjs",
        "--circuit",
        "balance",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let vk: SnarkjsVerifyingKey =
        serde_json::from_slice(&std::fs::read(tmp.path().join("verification_key.json")).unwrap())
            .unwrap();
    assert_eq!(vk, export_verifying_key(&pair.vk));
}
