//! Interop: `snarkjs groth16 verify` (npm, pinned by test-vectors/package-lock.json)
//! on proofs exported here.
//!
//! Needs `node` and `npm ci` in test-vectors. Without them the test prints why and
//! passes, unless SEALGRID_REQUIRE_SNARKJS=1 (CI), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use ark_bn254::G1Affine;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use sealgrid_prover::snarkjs::write_files;
use sealgrid_prover::Fr;

use crate::snarkjs::proved;

pub(crate) fn snarkjs_cli() -> Result<PathBuf, String> {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-vectors/node_modules/snarkjs/build/cli.cjs");
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => return Err(format!("`node --version` failed: {:?}", out.status)),
        Err(e) => return Err(format!("node is not installed ({e})")),
    }
    if !cli.exists() {
        return Err(format!(
            "{} is missing: run `npm ci` in test-vectors",
            cli.display()
        ));
    }
    Ok(cli)
}

/// The snarkjs CLI, or `None` (after printing why) when it cannot run and
/// SEALGRID_REQUIRE_SNARKJS is not 1; panics when it is.
pub(crate) fn snarkjs_or_skip(test: &str) -> Option<PathBuf> {
    match snarkjs_cli() {
        Ok(cli) => Some(cli),
        Err(why) => {
            if std::env::var("SEALGRID_REQUIRE_SNARKJS").as_deref() == Ok("1") {
                panic!("SEALGRID_REQUIRE_SNARKJS=1 but snarkjs cannot run: {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// Runs `snarkjs groth16 verify` in `dir`; returns whether it accepted, and its output.
pub(crate) fn snarkjs_verify(cli: &Path, dir: &Path) -> (bool, String) {
    let out = Command::new("node")
        .arg(cli)
        .args([
            "groth16",
            "verify",
            "verification_key.json",
            "public.json",
            "proof.json",
        ])
        .current_dir(dir)
        .output()
        .expect("running node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn snarkjs_accepts_an_exported_proof_and_rejects_tampered_ones() {
    let Some(cli) = snarkjs_or_skip("snarkjs interop test") else {
        return;
    };
    let keys_dir = tempfile::tempdir().unwrap();
    let (pair, stmt) = proved(&keys_dir);

    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &pair.vk, &stmt.proof, &stmt.public_inputs).unwrap();
    let (ok, out) = snarkjs_verify(&cli, dir.path());
    assert!(ok, "snarkjs rejected a valid proof:\n{out}");
    assert!(out.contains("OK"), "{out}");

    // A tampered proof: C moved by the generator (still a valid curve point).
    let mut tampered = stmt.proof.clone();
    tampered.c = (tampered.c + G1Affine::generator()).into_affine();
    write_files(dir.path(), &pair.vk, &tampered, &stmt.public_inputs).unwrap();
    let (ok, out) = snarkjs_verify(&cli, dir.path());
    assert!(!ok, "snarkjs accepted a tampered proof:\n{out}");
    assert!(
        out.contains("Invalid proof"),
        "rejected for another reason:\n{out}"
    );

    // A wrong public input.
    let mut inputs = stmt.public_inputs.clone();
    inputs[0] += Fr::one();
    write_files(dir.path(), &pair.vk, &stmt.proof, &inputs).unwrap();
    let (ok, out) = snarkjs_verify(&cli, dir.path());
    assert!(!ok, "snarkjs accepted a wrong public input:\n{out}");
    assert!(
        out.contains("Invalid proof"),
        "rejected for another reason:\n{out}"
    );
}
