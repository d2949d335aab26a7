//! The `sealgrid-ceremony` binary: each step a separate invocation (separate processes,
//! as the contributors run them), clear errors and exit statuses.

use std::path::Path;
use std::process::Command;

use sealgrid_ceremony::R1cs;

use crate::common::{Small, ROUNDS};

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sealgrid-ceremony"))
        .arg("--quiet")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running sealgrid-ceremony");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out) = run(dir, args);
    assert_eq!(code, 0, "{args:?}: {out}");
    out
}

#[test]
fn a_ceremony_by_separate_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    R1cs::of(Small::blank(ROUNDS))
        .unwrap()
        .write(&d.join("small.r1cs"))
        .unwrap();
    ok(d, &["ptau", "new", "--power", "6", "p0.ptau"]);
    let out = ok(
        d,
        &[
            "ptau",
            "contribute",
            "p0.ptau",
            "p1.ptau",
            "--name",
            "operator",
        ],
    );
    assert!(out.contains("response hash"), "{out}");
    ok(
        d,
        &["ptau", "beacon", "p1.ptau", "p2.ptau", "--hash", "00ff"],
    );
    ok(d, &["ptau", "prepare", "p2.ptau", "pot.ptau"]);
    let out = ok(d, &["ptau", "verify", "pot.ptau"]);
    assert!(
        out.contains("Powers of tau OK") && out.contains("prepared"),
        "{out}"
    );

    ok(d, &["zkey", "new", "small.r1cs", "pot.ptau", "z0.zkey"]);
    let mut hashes = Vec::new();
    for (i, who) in ["operator", "regulator", "community"].iter().enumerate() {
        let out = ok(
            d,
            &[
                "zkey",
                "contribute",
                &format!("z{i}.zkey"),
                &format!("z{}.zkey", i + 1),
                "--name",
                who,
            ],
        );
        // The contribution hash: the 4 lines after the announcement.
        let hash: String = out.lines().skip(1).take(4).collect::<Vec<_>>().join("\n");
        hashes.push(hash);
    }
    ok(
        d,
        &[
            "zkey",
            "beacon",
            "z3.zkey",
            "final.zkey",
            "--hash",
            "abcdef",
        ],
    );
    let out = ok(
        d,
        &["zkey", "verify", "small.r1cs", "pot.ptau", "final.zkey"],
    );
    assert!(out.contains("ZKey OK: 4 contributions"), "{out}");
    for h in &hashes {
        assert!(out.contains(h.as_str()), "{h} not in {out}");
    }

    // An unprepared phase-1 file is an error (exit status 2), not a verdict.
    let (code, out) = run(
        d,
        &["zkey", "verify", "small.r1cs", "p0.ptau", "final.zkey"],
    );
    assert_eq!(
        code, 2,
        "an unprepared file is an error, not a verdict: {out}"
    );
    assert!(out.contains("not prepared"), "{out}");
    let (code, out) = run(d, &["zkey", "verify", "small.r1cs", "pot.ptau", "z0.zkey"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("WARNING: no contribution"), "{out}");
    let mut bytes = std::fs::read(d.join("final.zkey")).unwrap();
    let n = bytes.len();
    bytes[n - 200] ^= 1; // inside the contributions section
    std::fs::write(d.join("bad.zkey"), &bytes).unwrap();
    let (code, out) = run(d, &["zkey", "verify", "small.r1cs", "pot.ptau", "bad.zkey"]);
    assert!(code == 1 || code == 2, "{out}");
    assert!(out.contains("error"), "{out}");

    // Not a zkey at all.
    let (code, out) = run(
        d,
        &["zkey", "verify", "small.r1cs", "pot.ptau", "small.r1cs"],
    );
    assert_eq!(code, 2);
    assert!(out.contains("not a zkey file"), "{out}");
}
