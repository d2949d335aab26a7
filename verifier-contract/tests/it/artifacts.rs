//! The committed artifacts match the sources: always through the SHA-256 they record,
//! and byte for byte through the pinned compiler when node and `solc/node_modules` are
//! there (`npm ci` in `verifier-contract/solc`). `SEALGRID_REQUIRE_NODE=1` turns the
//! missing compiler into a failure (CI sets it).

use std::path::Path;
use std::process::Command;

use sealgrid_verifier_contract::artifacts::{artifacts_dir, contracts_dir, sources_sha256};

/// The Shanghai builds, then the London builds (`artifacts/london/`) of what a market
/// deploys.
const ARTIFACTS: [&str; 7] = [
    "ClearingHarness",
    "Groth16Verifier",
    "Market",
    "TestToken",
    "london/Groth16Verifier",
    "london/Market",
    "london/TestToken",
];

#[test]
fn artifacts_record_the_current_sources() {
    let hash = sources_sha256(contracts_dir()).expect("reading the sources");
    for name in ARTIFACTS {
        let path = artifacts_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).expect("artifact present");
        let json: serde_json::Value = serde_json::from_str(&text).expect("artifact is JSON");
        assert_eq!(
            json["sourcesSha256"].as_str(),
            Some(hash.as_str()),
            "{name}.json was compiled from other sources: run `node compile.mjs` in verifier-contract/solc"
        );
        assert!(json["compiler"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("0.8.28+")));
        let target = if name.starts_with("london/") {
            "london"
        } else {
            "shanghai"
        };
        assert_eq!(
            json["compiler"]["settings"]["evmVersion"].as_str(),
            Some(target),
            "{name}"
        );
    }
}

#[test]
fn artifacts_match_the_pinned_compiler() {
    let solc_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("solc");
    let require = std::env::var("SEALGRID_REQUIRE_NODE").is_ok_and(|v| v == "1");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let solc_ok = solc_dir.join("node_modules/solc/package.json").exists();
    if !(node_ok && solc_ok) {
        let why = if node_ok {
            "verifier-contract/solc/node_modules is missing (run `npm ci` there)"
        } else {
            "node is not installed"
        };
        assert!(!require, "SEALGRID_REQUIRE_NODE=1 but {why}");
        eprintln!("SKIPPED artifacts_match_the_pinned_compiler: {why}");
        return;
    }
    let out = Command::new("node")
        .arg("compile.mjs")
        .arg("--stdout")
        .current_dir(&solc_dir)
        .output()
        .expect("running node compile.mjs");
    assert!(
        out.status.success(),
        "compile.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("compile.mjs --stdout prints JSON");
    let mut names: Vec<&String> = fresh.keys().collect();
    names.sort();
    assert_eq!(names, ARTIFACTS.to_vec(), "the set of artifacts changed");
    for name in ARTIFACTS {
        let committed = std::fs::read_to_string(artifacts_dir().join(format!("{name}.json")))
            .expect("artifact present");
        assert!(
            fresh[name].as_str() == Some(committed.as_str()),
            "artifacts/{name}.json differs from what solc makes of the sources: run `node compile.mjs` in verifier-contract/solc"
        );
    }
}

/// The committed Poseidon bytecode is what circomlibjs (pinned in
/// `test-vectors/package-lock.json`) writes: `node poseidon_contract.mjs --stdout` in
/// `test-vectors` reproduces `artifacts/Poseidon3.json` byte for byte. Skipped without
/// node or `test-vectors/node_modules` unless `SEALGRID_REQUIRE_NODE=1`.
#[test]
fn poseidon_artifact_matches_circomlibjs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors");
    let require = std::env::var("SEALGRID_REQUIRE_NODE").is_ok_and(|v| v == "1");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let lib_ok = dir.join("node_modules/circomlibjs/package.json").exists();
    if !(node_ok && lib_ok) {
        let why = if node_ok {
            "test-vectors/node_modules is missing (run `npm ci` there)"
        } else {
            "node is not installed"
        };
        assert!(!require, "SEALGRID_REQUIRE_NODE=1 but {why}");
        eprintln!("SKIPPED poseidon_artifact_matches_circomlibjs: {why}");
        return;
    }
    let out = Command::new("node")
        .arg("poseidon_contract.mjs")
        .arg("--stdout")
        .current_dir(&dir)
        .output()
        .expect("running node poseidon_contract.mjs");
    assert!(
        out.status.success(),
        "poseidon_contract.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed =
        std::fs::read(artifacts_dir().join("Poseidon3.json")).expect("Poseidon3.json present");
    assert!(
        out.stdout == committed,
        "artifacts/Poseidon3.json differs from what circomlibjs writes: run `node poseidon_contract.mjs` in test-vectors"
    );
}
