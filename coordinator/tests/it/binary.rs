//! The `sealgrid-coordinator` binary: configuration by file, environment and flags (an
//! unknown key and a missing market are clear errors), serving on 127.0.0.1:0 (address
//! printed), answering GetMarket and the health service with a span per call, stopping
//! gracefully on SIGTERM with its store intact for the next start.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sealgrid_market::Clock;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;

use crate::common::local_market;

const BIN: &str = env!("CARGO_BIN_EXE_sealgrid-coordinator");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_from_its_configuration_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    // A market on an embedded chain persisted in `dir`, then released for the binary.
    let local = local_market(dir.path(), Clock::wall(), true).await;
    let market = local.market.deployment.market;
    let trustees = local.trustee_urls.clone();
    local.shutdown().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let config = dir.path().join("coordinator.toml");
    std::fs::write(
        &config,
        format!(
            "market = {:?}\nstore = {:?}\nkey_dir = {:?}\nembedded_state = {:?}\ntrustees = {:?}\ninsecure_plaintext_trustees = true\n[schedule]\nslot_seconds = 60\nbidding_seconds = 120\n",
            dir.path().join("market.json"),
            dir.path().join("store.redb"),
            sealgrid_prover::circuits::target_key_dir(),
            dir.path().join("chain.json"),
            trustees,
        ),
    )
    .unwrap();
    let serve = |extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };

    // a typo in the file is an error, not a silent default
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "market = \"m.json\"\nslot_secs = 4\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("slot_secs"));
    // the trustees are dialled over mutual TLS unless plaintext is asked for by name
    let no_tls = dir.path().join("no-tls.toml");
    std::fs::write(
        &no_tls,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("insecure_plaintext_trustees = true\n", ""),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&no_tls)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mutual TLS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the market file is required
    let out = Command::new(BIN)
        .args(["serve", "--trustee", "http://127.0.0.1:1"])
        .env_remove("SEALGRID_COORDINATOR_MARKET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("market"));

    // flags override the file: the listen address
    let mut child = serve(&["--listen", "127.0.0.1:0", "--settle-seconds", "30"])
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let mut client = CoordinatorClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let info = client
        .get_market(pb::GetMarketRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.market, market.to_vec());
    let s = info.schedule.unwrap();
    assert_eq!((s.slot_seconds, s.settle_seconds), (60, 30));
    let e = client
        .get_round(pb::GetRoundRequest { round: 3 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    let channel = tonic::transport::Endpoint::new(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "sealgrid.market.v1.Coordinator".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        status.get_ref().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    drop((client, health));

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
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
    assert!(
        stderr.contains("GetRound") && stderr.contains("unknown-round"),
        "request span missing: {stderr}"
    );

    // the store is intact: a second start on it works
    let mut child = serve(&["--listen", "127.0.0.1:0"]).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on "), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
}
