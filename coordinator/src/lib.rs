//! sealgrid's coordinator (issue #6, `docs/PROTOCOL.md` §9): the gRPC service prosumer
//! devices and aggregators talk to. It runs the market clock, checks every submission off
//! chain and relays what passes to the market contract (paying the gas), keeps the
//! posted ciphertexts available, drives the committee and publishes the results as an
//! event stream. It handles only commitments, ciphertexts and proofs, never a quote.
//!
//! - [`service`]: the thin gRPC handlers (form and proof checks, batch verification);
//! - [`engine`]: the one task that owns round state, sequencing and relaying;
//! - [`committee`]: the trustee calls (partial decryptions, signatures);
//! - [`store`]: the embedded database (redb) that makes accepted submissions durable;
//! - [`chain`]: the embedded EVM or a JSON-RPC node;
//! - [`config`]: configuration by file, environment and flags;
//!
//! The market file and the clock live in `sealgrid-market` (re-exported here as
//! [`market`] and [`schedule`]), the prosumer wallet in `sealgrid-wallet`: the audit and
//! the wallet read them without linking this server.

pub use sealgrid_market::file as market;
pub use sealgrid_market::schedule;

pub mod chain;
pub mod committee;
pub mod config;
pub mod engine;
pub mod operator;
pub mod refusal;
pub mod service;
pub mod store;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use sealgrid_circuits::elgamal::DlogTable;
use sealgrid_proto::market::v1 as pb;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use chain::{Backend, ChainClient, ChainHandle};
pub use engine::{EngineConfig, RoundPlan};
pub use market::MarketFile;
pub use schedule::{Clock, Schedule};

/// Baby steps of the discrete-log table (histogram sums up to 2^40 solve in 2^24 giant
/// steps at most; sums of a pilot's size in a handful).
pub const DLOG_BABY_STEPS: u64 = 1 << 16;

/// The discrete-log table, built once per process (a restarted coordinator in the same
/// process, as in the crash tests, reuses it).
fn dlog_table() -> Arc<DlogTable> {
    static TABLE: std::sync::OnceLock<Arc<DlogTable>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| Arc::new(DlogTable::new(DLOG_BABY_STEPS)))
        .clone()
}

/// Everything a coordinator runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The market.
    pub market: MarketFile,
    /// Where to listen (loopback in tests and demos).
    pub listen: SocketAddr,
    /// The store's file.
    pub store: std::path::PathBuf,
    /// The key store holding the three verifying keys.
    pub key_dir: std::path::PathBuf,
    /// The trustees' endpoints, `https://host:port`.
    pub trustees: Vec<String>,
    /// How the trustees are dialled (mutual TLS; plaintext for development only).
    pub trustee_tls: committee::TrusteeTls,
    /// The clock.
    pub schedule: Schedule,
    /// Which rounds to run.
    pub plan: RoundPlan,
    /// Bids (and settlements) are refused this long before their deadline.
    pub relay_margin_seconds: u64,
    /// The most queued submissions.
    pub max_queue: usize,
    /// The most bids per batch.
    pub max_batch: u32,
    /// The most bids (or settlements) relayed in one transaction (`submitBids`,
    /// `settleBatch`); 1 relays each alone.
    pub relay_batch: usize,
    /// The most batched transactions sent before their receipts are awaited.
    pub relay_in_flight: usize,
    /// How long the first queued submission may wait for others to join its batch,
    /// milliseconds (0: relay at once).
    pub relay_linger_ms: u64,
    /// How often the clock is looked at, milliseconds.
    pub tick_ms: u64,
    /// The market clock (the wall clock in production; the chain must read the same).
    pub clock: schedule::Clock,
    /// Serve TLS with this certificate chain and key (PEM files); plaintext if `None`.
    pub tls: Option<TlsFiles>,
}

/// A server certificate chain and its private key, PEM files, and optionally the CA
/// whose client certificates are required (aggregators, auditors): with it, a caller
/// without such a certificate gets nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: std::path::PathBuf,
    /// The private key.
    pub key: std::path::PathBuf,
    /// Require client certificates this CA signed.
    pub client_ca: Option<std::path::PathBuf>,
}

/// Why the coordinator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The verifying keys.
    #[error("verifying keys: {0}")]
    Keys(#[from] sealgrid_prover::KeyError),
    /// The store.
    #[error("{0}")]
    Store(#[from] store::StoreError),
    /// The market file or the chain.
    #[error("{0}")]
    Setup(String),
    /// The engine could not recover its state from the store and the chain.
    #[error("{0}")]
    Engine(#[from] engine::EngineError),
    /// The TLS files or configuration.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listener.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The failure.
        source: std::io::Error,
    },
}

/// A running coordinator.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (the port resolved if 0 was asked).
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    engine: JoinHandle<()>,
    /// The store, to know when the last task holding it has let go.
    store: std::sync::Weak<store::Store>,
    store_path: std::path::PathBuf,
}

impl Running {
    /// Stops accepting calls, lets the calls in flight finish, stops the engine (what
    /// is queued stays in the store) and waits for both.
    pub async fn shutdown(self) {
        self.stop.send(true).ok();
        if let Ok(Err(e)) = self.server.await {
            tracing::warn!(%e, "the server ended with an error");
        }
        self.engine.await.ok();
    }

    /// Kills the coordinator without a goodbye, as a crash would: the tasks are aborted
    /// mid-flight. Only what the store committed survives.
    pub async fn abort(self) {
        self.server.abort();
        self.engine.abort();
        self.server.await.ok();
        self.engine.await.ok();
        // Event streams outlive an aborted server task; end them so that the store's
        // file is released as a dead process would release it.
        self.stop.send(true).ok();
        // Calls still in flight (a blocking store write, a stream, a read transaction)
        // hold the store's file a moment longer; a dead process releases it at once.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while (self.store.strong_count() > 0 || !store::Store::released(&self.store_path))
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits until the server ends (after a shutdown signal).
    pub async fn wait(self) -> Result<(), tonic::transport::Error> {
        let r = self.server.await.unwrap_or(Ok(()));
        self.engine.await.ok();
        r
    }

    /// A future that completes when the stop signal is sent.
    pub fn stop_handle(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Starts the coordinator on `chain`: opens the store, loads the verifying keys, recovers
/// state, and serves gRPC (the coordinator service and the standard health service).
pub async fn start(settings: Settings, chain: ChainClient) -> Result<Running, StartError> {
    let m = &settings.market;
    let verifiers = m.verifiers(&settings.key_dir)?;
    let info = Arc::new(m.info(settings.schedule, settings.max_batch, &settings.key_dir));
    let store = Arc::new(store::Store::open(&settings.store)?);
    let store_weak = Arc::downgrade(&store);
    let handle = ChainHandle::new(chain, m.deployment.operator, m.deployment.market);
    let table = tokio::task::spawn_blocking(dlog_table)
        .await
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let driver = committee::CommitteeDriver {
        urls: settings.trustees.clone(),
        tls: settings.trustee_tls.clone(),
        public: Arc::new(m.trustee_setup.committee.clone()),
        params: m.trustee_setup.market.clone(),
        domain: m.trustee_setup.domain,
        table,
        members: m.trustees.clone(),
    };
    let cfg = EngineConfig {
        deployment: m.deployment.clone(),
        params: m.trustee_setup.market.clone(),
        schedule: settings.schedule,
        plan: settings.plan,
        relay_margin_seconds: settings.relay_margin_seconds,
        max_queue: settings.max_queue,
        relay_batch: settings.relay_batch.max(1),
        relay_in_flight: settings.relay_in_flight.max(1),
        relay_linger: std::time::Duration::from_millis(settings.relay_linger_ms),
        tick: std::time::Duration::from_millis(settings.tick_ms.max(10)),
        clock: settings.clock.clone(),
    };
    let (engine, engine_handle, rx) =
        engine::Engine::start(cfg, handle.clone(), store, driver).await?;
    let (stop, stop_rx) = watch::channel(false);
    let engine_task = tokio::spawn(engine.run(rx, stopped(stop_rx.clone())));
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: settings.listen,
                source,
            })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: settings.listen,
        source,
    })?;
    let service = service::CoordinatorService {
        engine: engine_handle,
        chain: handle,
        info,
        verifiers,
        stop: stop_rx.clone(),
        verify_slots: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        client_slots: Arc::new(service::ClientSlots::default()),
    };
    let max_request = service::max_request_bytes(m.trustee_setup.market.levels, settings.max_batch);
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<pb::coordinator_server::CoordinatorServer<service::CoordinatorService>>()
        .await;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &settings.tls {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| StartError::Tls(format!("{}: {e}", p.display())))
        };
        let identity = tonic::transport::Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        let mut config = tonic::transport::ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &tls.client_ca {
            config = config
                .client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?))
                .client_auth_optional(false);
        }
        builder = builder
            .tls_config(config)
            .map_err(|e| StartError::Tls(e.to_string()))?;
    }
    let server = tokio::spawn(
        builder
            .trace_fn(|req| {
                tracing::info_span!(target: "sealgrid::coordinator", "grpc", path = %req.uri().path())
            })
            .add_service(health)
            .add_service(
                pb::coordinator_server::CoordinatorServer::new(service)
                    .max_decoding_message_size(max_request),
            )
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stopped(stop_rx),
            ),
    );
    tracing::info!(%addr, market = %m.deployment.market, "coordinator serving");
    Ok(Running {
        addr,
        stop,
        server,
        engine: engine_task,
        store: store_weak,
        store_path: settings.store.clone(),
    })
}
