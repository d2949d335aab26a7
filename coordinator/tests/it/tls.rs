//! TLS, when configured: a client that trusts the certificate is served; a plaintext
//! client gets nothing.

use sealgrid_coordinator::{start, RoundPlan, TlsFiles};
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_configured_only_tls_clients_are_served() {
    let net = Net::new().await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.key_pair.serialize_pem());
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key_pem).unwrap();
    let mut settings = net.local.settings(
        SCHEDULE,
        RoundPlan {
            first: Some(net.round),
            count: Some(0),
        },
    );
    settings.tls = Some(TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        client_ca: None,
    });
    let running = start(settings.clone(), net.local.chain.clone())
        .await
        .unwrap();
    let port = running.addr.port();

    let channel = Endpoint::new(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&cert_pem))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .expect("a TLS client connects");
    let info = CoordinatorClient::new(channel)
        .get_market(pb::GetMarketRequest {})
        .await
        .expect("served over TLS")
        .into_inner();
    assert_eq!(info.market, net.local.market.deployment.market.to_vec());

    let plain = async {
        let mut c = CoordinatorClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .ok()?;
        c.get_market(pb::GetMarketRequest {}).await.ok()
    };
    let plain = tokio::time::timeout(std::time::Duration::from_secs(10), plain).await;
    assert!(
        !matches!(plain, Ok(Some(_))),
        "a plaintext client was served"
    );
    running.shutdown().await;

    // a key without its certificate is refused at start
    settings.tls = Some(TlsFiles {
        cert: dir.path().join("missing.pem"),
        key: dir.path().join("key.pem"),
        client_ca: None,
    });
    let e = start(settings, net.local.chain.clone()).await.unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");
    net.local.shutdown().await;
}
