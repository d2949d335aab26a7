//! The kit is a dev-dependency only: no crate of the workspace takes it as a normal or
//! build dependency, so no library or binary links test fixtures. Read from the
//! manifests as `cargo metadata` reports them.

use std::process::Command;

use serde_json::Value;

#[test]
fn every_crate_takes_the_kit_as_a_dev_dependency_only() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--locked",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    let mut users = Vec::new();
    let mut wrong = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        for d in p["dependencies"].as_array().expect("dependencies") {
            if d["name"] != "sealgrid-testkit" {
                continue;
            }
            let user = p["name"].as_str().expect("name").to_owned();
            if d["kind"] == "dev" {
                users.push(user);
            } else {
                wrong.push(format!("{user} ({})", d["kind"]));
            }
        }
    }
    assert!(wrong.is_empty(), "not as a dev-dependency: {wrong:?}");
    // the check has something to check: the kit is in use
    assert!(!users.is_empty(), "no crate uses the kit");
}
