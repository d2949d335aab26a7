//! The `sealgrid-trustee` binary: a demo committee sealed to disk, one trustee served on
//! 127.0.0.1:0 (address printed), answering GetInfo and the health service, stopping
//! cleanly on SIGTERM; a wrong passphrase stops it at start with a clear error.

use sealgrid_committee::TrusteeId;
use sealgrid_proto::tls::{MutualTls, TlsFiles};
use sealgrid_proto::trustee_client::TrusteeClient;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sealgrid-trustee");

/// `sealgrid-trustee certs --out DIR --name ...`: a fresh local CA and a certificate per
/// name.
fn make_certs(dir: &Path, names: &[&str]) {
    let mut cmd = Command::new(BIN);
    cmd.args(["certs", "--out"]).arg(dir);
    for n in names {
        cmd.args(["--name", n]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PEM files of `name` in a directory `certs` wrote.
fn files(dir: &Path, name: &str) -> TlsFiles {
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
    }
}

/// `serve`'s TLS flags for `name`'s certificate.
fn tls_args(dir: &Path, name: &str) -> Vec<PathBuf> {
    let f = files(dir, name);
    [
        "--tls-cert".into(),
        f.cert,
        "--tls-key".into(),
        f.key,
        "--tls-client-ca".into(),
        f.ca,
    ]
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_one_trustee_from_a_sealed_share_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["demo-committee", "--out"])
        .arg(dir.path())
        .env("SEALGRID_TRUSTEE_PASSPHRASE", "demo passphrase")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the demo committee says what it is, in its output and its help
    assert!(String::from_utf8_lossy(&out.stderr).contains("protects nothing"));
    let help = Command::new(BIN)
        .args(["demo-committee", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("PROTECTS NOTHING"));
    let chain = dir.path().join("chain");
    std::fs::create_dir(&chain).unwrap();
    let certs = dir.path().join("certs");
    make_certs(&certs, &["trustee-2", "coordinator"]);
    let coordinator = MutualTls::load(&files(&certs, "coordinator")).unwrap();

    let serve = |pass: &str| {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--setup"])
            .arg(dir.path().join("setup.json"))
            .arg("--share-file")
            .arg(dir.path().join("trustee-2.share"))
            .arg("--chain-dir")
            .arg(&chain)
            .args(tls_args(&certs, "trustee-2"))
            .env("SEALGRID_TRUSTEE_PASSPHRASE", pass)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };

    let wrong = serve("not it").output().unwrap();
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("wrong passphrase, or the file was modified"),
        "{stderr}"
    );

    let mut child = serve("demo passphrase").spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    let mut client = TrusteeClient::connect(format!("https://{addr}"), &coordinator)
        .await
        .unwrap();
    let info = client.info().await.unwrap();
    assert_eq!(
        (info.trustee, info.threshold, info.committee_size),
        (TrusteeId(2), 2, 3)
    );
    let channel = tonic::transport::Endpoint::new(format!("https://{addr}"))
        .unwrap()
        .tls_config(coordinator.client())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "sealgrid.committee.v1.Trustee".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        status.get_ref().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let e = client
        .partial_decrypt(&sealgrid_committee::trustee::PartialDecryptRequest { round: 9 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(tonic::Code::NotFound));
    drop((client, health));

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // Off the runtime: the client's connection tasks must run to close their connections,
    // or the graceful shutdown waits for them.
    let exit = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&exit.stderr);
    assert!(exit.status.success(), "{stderr}");
    assert!(
        stderr.contains("shutting down") && stderr.contains("stopped"),
        "{stderr}"
    );
    assert!(stderr.contains("round=9"), "request span missing: {stderr}");
}

/// `serve` reads the chain from a node (`--rpc-url` with `--market`) or a directory
/// (`--chain-dir`), documented in `--help`; a node that does not answer stops it at
/// start, before any share is opened.
#[test]
fn serve_takes_a_node_or_a_directory_as_its_chain_view() {
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    let help = run(&["serve", "--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--rpc-url", "--market", "--from-block", "--chain-dir"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let files = ["serve", "--setup", "setup.json", "--share-file", "t.share"];
    let neither = run(&files);
    assert!(!neither.status.success());
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--chain-dir"));
    let market = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let no_market = run(&[&files[..], &["--rpc-url", "http://127.0.0.1:1"]].concat());
    assert!(!no_market.status.success());
    assert!(String::from_utf8_lossy(&no_market.stderr).contains("--market"));
    let both = run(&[
        &files[..],
        &["--rpc-url", "http://127.0.0.1:1", "--market", market],
        &["--chain-dir", "chain"],
    ]
    .concat());
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
    let down = run(&[
        &files[..],
        &["--rpc-url", "http://127.0.0.1:1", "--market", market],
        &["--insecure-plaintext"],
    ]
    .concat());
    assert!(!down.status.success());
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.contains("connecting to http://127.0.0.1:1"),
        "{stderr}"
    );
}
