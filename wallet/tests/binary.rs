//! The `sealgrid-prosumers` binary refuses bad invocations with a clear error before it
//! touches the network. (It is also what makes `cargo test` build the binary that the
//! multi-process round of `coordinator/tests/it/multi_process.rs` runs.)

use std::process::Command;

fn prosumers() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealgrid-prosumers"))
}

#[test]
fn a_missing_market_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-market.json");
    let out = prosumers()
        .args(["--coordinator", "http://127.0.0.1:9", "--market"])
        .arg(&missing)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-market.json"), "{err}");
}

#[test]
fn the_coordinator_is_required() {
    let out = prosumers()
        .args(["--market", "m.json"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--coordinator"), "{err}");
}
