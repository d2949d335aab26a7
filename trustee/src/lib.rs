//! sealgrid's trustee service (issue #5 item 6): one committee member behind tonic.
//!
//! | module | does |
//! | --- | --- |
//! | [`service`] | the gRPC handlers and the `Status` mapping |
//! | [`client`] | the client the coordinator and auditors use (re-exported from `sealgrid-proto`) |
//! | [`store`] | the key share and signing key encrypted at rest; the disclosure log |
//! | [`certs`] | self-made certificates (a local CA) for mutual TLS on loopback |
//! | [`chain`] | the trustee's own view of the accepted bids |
//!
//! The messages and their checked conversions are in `sealgrid-proto`
//! (`proto/sealgrid/committee/v1/trustee.proto`); the cryptography is the committee
//! crate's [`Trustee`].

pub mod certs;
pub mod chain;
/// The client, beside the generated code in `sealgrid-proto`.
pub use sealgrid_proto::trustee_client as client;
pub mod demo;
pub mod dkg;
pub mod service;
pub mod store;

use sealgrid_committee::dkg::DkgError;
use sealgrid_committee::trustee::{Trustee, TrusteeConfig};
/// The public setup, defined with the market file in `sealgrid-market`.
pub use sealgrid_market::TrusteeSetup;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use store::{Passphrase, StoreError};
use tokio::net::TcpListener;

/// Why a trustee could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The share file.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The setup's market parameters are invalid.
    #[error("invalid market parameters in the setup: {0}")]
    Market(#[from] sealgrid_circuits::market::ParamsError),
    /// The committee's key count does not fit the market (2K + 1 flow keys).
    #[error("the committee has {keys} flow keys, the market's K = {levels} needs 2K + 1")]
    KeyCount {
        /// Flow keys of the committee.
        keys: usize,
        /// The market's K.
        levels: usize,
    },
    /// The share does not belong to this committee.
    #[error("the key share of {id} does not match the committee's verification keys: {source}")]
    Share {
        /// The share's trustee.
        id: sealgrid_committee::TrusteeId,
        /// The mismatch.
        source: DkgError,
    },
}

/// Opens a share file and checks the share against the committee's verification keys
/// (`x_j·G = Y_j`), so a trustee never serves with a share that would only produce
/// rejected decryptions.
pub fn load_trustee(
    share_file: &Path,
    pass: &Passphrase,
    setup: &TrusteeSetup,
) -> Result<Trustee, LoadError> {
    setup.market.validate()?;
    if setup.committee.params.instances != 2 * setup.market.levels + 1 {
        return Err(LoadError::KeyCount {
            keys: setup.committee.params.instances,
            levels: setup.market.levels,
        });
    }
    let secrets = store::open(share_file, pass)?;
    secrets
        .key
        .check(&setup.committee)
        .map_err(|source| LoadError::Share {
            id: secrets.key.id,
            source,
        })?;
    Ok(Trustee::new(
        secrets.key,
        Arc::new(setup.committee.clone()),
        secrets.signer,
        TrusteeConfig {
            market: setup.market.clone(),
            domain: setup.domain,
        },
    ))
}

/// How a trustee serves.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Mutual TLS: the trustee presents its certificate and serves only clients with a
    /// certificate its CA signed; the caller's certificate is its identity.
    MutualTls(sealgrid_proto::tls::MutualTls),
    /// Plaintext, no caller authenticated: nobody is an auditor, and anyone reaching the
    /// port is served. Development only (`--insecure-plaintext`).
    InsecurePlaintext,
}

/// Serves `service` (and the standard gRPC health service) on `listener` over
/// `transport` until `shutdown` completes, then finishes the calls in flight. Every
/// request first passes [`service::authenticate`], which sets its caller from the TLS
/// connection.
pub async fn serve(
    listener: TcpListener,
    service: service::TrusteeService,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    use sealgrid_proto::committee::v1::trustee_server::TrusteeServer;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<TrusteeServer<service::TrusteeService>>()
        .await;
    let mut builder = tonic::transport::Server::builder();
    if let Transport::MutualTls(tls) = &transport {
        builder = builder.tls_config(tls.server())?;
    } else {
        tracing::warn!(target: "sealgrid::trustee", "INSECURE: serving plaintext, no caller is authenticated (development only)");
    }
    let server = tonic::service::interceptor::InterceptedService::new(
        service.into_server(),
        service::authenticate,
    );
    builder
        .trace_fn(|req| {
            tracing::info_span!(target: "sealgrid::trustee", "grpc", path = %req.uri().path())
        })
        .add_service(health)
        .add_service(server)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}
