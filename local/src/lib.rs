//! A whole market on one machine: the embedded EVM on its own thread, the demo committee
//! (3 trustees, t = 2, as gRPC services on loopback, each reading the chain itself), the
//! Groth16 keys (cached in the key store), the contracts deployed and the market file
//! written. The coordinator is then started on it with [`LocalMarket::settings`]. What
//! the demo, the tests and the load benchmark stand on.
//!
//! The demo committee's DKG seed is public (see `sealgrid_trustee::demo`): a local market
//! protects nothing and exists to run the real code paths.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
pub use sealgrid_ceremony::market::LocalCeremony;
use sealgrid_ceremony::market::SetupRecord;
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::sign::{Address as CAddress, SigningDomain};
use sealgrid_market::TrusteeSetup;
use sealgrid_proto::tls::{MutualTls, TlsFiles};
use sealgrid_prover::{CircuitKeys, Circuits, Event, KeyStore, Progress};
use sealgrid_trustee::certs::LocalCa;
use sealgrid_trustee::chain::EvmChainView;
use sealgrid_trustee::demo::DemoCommittee;
use sealgrid_trustee::service::{Auditor, TrusteeService};
use sealgrid_trustee::store::DisclosureLog;
use sealgrid_trustee::Transport;
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::chain::address_of_secret;
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec};
use sealgrid_verifier_contract::rpc::GANACHE_DEV_KEY;
use sealgrid_verifier_contract::{Chain, ChainError, DevChain, EmbeddedChain, JsonRpcChain};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use sealgrid_coordinator::chain::{Backend, ChainClient};
use sealgrid_coordinator::committee::TrusteeTls;
use sealgrid_coordinator::engine::RoundPlan;
use sealgrid_coordinator::operator::{register_prosumers, Registration, GAS_MONEY};
use sealgrid_coordinator::Settings;
use sealgrid_market::{Clock, MarketFile, Schedule, VerifierKeyIds};
use sealgrid_wallet::Wallet;

/// The operator's key on a local chain (public: the embedded chain checks no signature).
pub use sealgrid_coordinator::operator::EMBEDDED_OPERATOR_SECRET as OPERATOR_SECRET;
/// The auditor the local trustees accept for escrowed disclosure: the party whose
/// certificate is `dir/certs/regulator.pem`.
pub const LOCAL_AUDITOR: &str = "regulator";

/// The local market's mutual-TLS material: a self-made CA (`dir/certs/ca.pem`, its key
/// not kept) and a certificate per party, `dir/certs/NAME.pem` and `NAME.key`.
#[derive(Clone, Debug)]
pub struct LocalTls {
    /// The directory of the PEM files.
    pub dir: PathBuf,
    /// The coordinator's (it dials the trustees with it).
    pub coordinator: MutualTls,
    /// The regulator's (the one auditor of the local trustees).
    pub regulator: MutualTls,
    /// The trustees', in id order.
    pub trustees: Vec<MutualTls>,
}

impl LocalTls {
    /// The files of party `name`.
    pub fn files(&self, name: &str) -> TlsFiles {
        TlsFiles {
            ca: self.dir.join("ca.pem"),
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        }
    }
}

fn make_tls(dir: &std::path::Path, n: usize) -> Result<LocalTls, LocalError> {
    let mut names = vec!["coordinator".to_owned(), LOCAL_AUDITOR.to_owned()];
    names.extend((1..=n).map(|i| format!("trustee-{i}")));
    let ca = LocalCa::new("sealgrid local CA").map_err(|e| LocalError::Other(e.to_string()))?;
    let written = ca
        .write(dir, &names)
        .map_err(|e| LocalError::Other(e.to_string()))?;
    let mut loaded = written
        .iter()
        .map(|(_, f)| MutualTls::load(f).map_err(|e| LocalError::Other(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let coordinator = loaded.next().expect("named");
    let regulator = loaded.next().expect("named");
    Ok(LocalTls {
        dir: dir.to_owned(),
        coordinator,
        regulator,
        trustees: loaded.collect(),
    })
}

/// Why a local market could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The committee.
    #[error("{0}")]
    Committee(#[from] sealgrid_trustee::demo::DemoError),
    /// The circuits.
    #[error("circuits: {0}")]
    Circuits(#[from] sealgrid_prover::CircuitsError),
    /// Keys.
    #[error("Groth16 keys for {0}: {1}")]
    Keys(String, Box<sealgrid_prover::KeyError>),
    /// The trusted-setup ceremony.
    #[error("ceremony: {0}")]
    Ceremony(String),
    /// The chain.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// What to set up.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// Where the chain state (if persistent), market file and store go.
    pub dir: PathBuf,
    /// Market parameters.
    pub params: MarketParams,
    /// The key store.
    pub key_dir: PathBuf,
    /// Qualification limits.
    pub max_unsettled: u32,
    /// See `max_unsettled`.
    pub max_defaults: u32,
    /// Keep the chain's state in `dir/chain.json` (else in memory).
    pub persist_chain: bool,
    /// The market clock (the chain's blocks carry it).
    pub clock: Clock,
    /// Make the keys by a trusted-setup ceremony run here (PROTOCOL §12), cached by
    /// circuit set in `key_dir/ceremony/`, its files copied to `dir/ceremony/` and its
    /// record written into the market file. `None`: a single party's setup
    /// (`KeyStore::setup`), which the audit reports.
    pub ceremony: Option<LocalCeremony>,
}

/// A running local market (without its coordinator).
pub struct LocalMarket {
    /// The chain.
    pub chain: ChainClient,
    /// The market file (also written to `dir/market.json`).
    pub market: MarketFile,
    /// The proving keys.
    pub keys: Arc<CircuitKeys>,
    /// The committee.
    pub committee: DemoCommittee,
    /// The trustees' endpoints, `https://127.0.0.1:port`.
    pub trustee_urls: Vec<String>,
    /// The certificates every party uses.
    pub tls: LocalTls,
    /// The trustees' disclosure logs, in id order.
    pub disclosure_logs: Vec<PathBuf>,
    /// The configuration.
    pub config: LocalConfig,
    trustees_stop: watch::Sender<bool>,
    trustees: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl std::fmt::Debug for LocalMarket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMarket")
            .field("market", &self.market.deployment.market)
            .field("trustees", &self.trustee_urls)
            .finish_non_exhaustive()
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The ceremony's keys for `circuits`: the ceremony directory cached in
/// `store/ceremony/<set id>/` (run by [`sealgrid_ceremony::market::run_local`] when
/// absent, the phase-1 file shared by every set in `store/ceremony/`), copied to
/// `dir/ceremony/` (what the audit reads), checked against the circuits and installed.
fn ceremony_keys(
    circuits: Circuits,
    plan: &LocalCeremony,
    store: &KeyStore,
    dir: &std::path::Path,
    progress: &(dyn Progress + Send + Sync),
) -> Result<(CircuitKeys, SetupRecord), LocalError> {
    use sealgrid_ceremony::market::{keys_from_dir, run_local, zkey_file, CIRCUITS, PHASE1_FILE};
    let fail = |e: &dyn std::fmt::Display| LocalError::Ceremony(e.to_string());
    let step = |what: &str| {
        progress.event(&Event::Step {
            what: format!("ceremony: {what}"),
        })
    };
    let root = store.dir().join("ceremony");
    let cache = root.join(circuits.set_id());
    let mut files: Vec<String> = CIRCUITS.iter().map(|k| zkey_file(*k)).collect();
    files.push(PHASE1_FILE.to_owned());
    let out = dir.join("ceremony");
    let install = |circuits: Circuits| {
        std::fs::create_dir_all(&out).map_err(|e| fail(&e))?;
        for f in &files {
            std::fs::copy(cache.join(f), out.join(f)).map_err(|e| fail(&format!("{f}: {e}")))?;
        }
        keys_from_dir(&out, circuits, store, &step).map_err(|e| fail(&e))
    };
    if files.iter().all(|f| cache.join(f).exists()) {
        step(&format!("reusing the transcript in {}", cache.display()));
        match install(circuits.clone()) {
            Ok(keys) => return Ok(keys),
            // The set id names the parameters and the committee's keys, not the
            // circuits' code: a transcript made before the circuits changed (or a
            // damaged one) does not check against them. It is this machine's cache,
            // not evidence: run the ceremony anew in its place.
            Err(e) => {
                step(&format!(
                    "the cached transcript does not check against these circuits ({e}): \
                     running the ceremony anew"
                ));
                std::fs::remove_dir_all(&cache).map_err(|e| fail(&e))?;
            }
        }
    }
    run_local(&cache, &circuits, plan, &root, &step).map_err(|e| fail(&e))?;
    install(circuits)
}

impl LocalMarket {
    /// Sets everything up: keys (loaded or made, reporting to `progress`), chain,
    /// contracts, committee, trustees.
    pub async fn setup(
        config: LocalConfig,
        progress: Arc<dyn Progress + Send + Sync>,
    ) -> Result<LocalMarket, LocalError> {
        Self::setup_with(config, None, progress).await
    }

    /// [`LocalMarket::setup`] on the node at `url` (JSON-RPC) instead of the embedded
    /// chain: its first deterministic ganache account
    /// ([`sealgrid_verifier_contract::rpc::GANACHE_DEV_KEY`]) pays the operator's and
    /// the payers' gas (`persist_chain` and the clock do not apply to the chain then).
    pub async fn setup_on_node(
        config: LocalConfig,
        url: &str,
        progress: Arc<dyn Progress + Send + Sync>,
    ) -> Result<LocalMarket, LocalError> {
        Self::setup_with(config, Some(url.to_owned()), progress).await
    }

    async fn setup_with(
        config: LocalConfig,
        node: Option<String>,
        progress: Arc<dyn Progress + Send + Sync>,
    ) -> Result<LocalMarket, LocalError> {
        let committee = DemoCommittee::new(config.params.levels)?;
        let circuits = Circuits::new(config.params.clone(), committee.public.flow_keys())?;
        let (key_dir, plan) = (config.key_dir.clone(), config.ceremony.clone());
        let dir = config.dir.clone();
        let (keys, setup) = tokio::task::spawn_blocking(move || {
            let store = KeyStore::open(&key_dir)
                .map_err(|e| LocalError::Keys("key store".into(), Box::new(e)))?;
            match plan {
                None => CircuitKeys::load_or_setup(circuits, &store, &*progress)
                    .map(|keys| (keys, None))
                    .map_err(|e| {
                        let (name, e) = *e;
                        LocalError::Keys(name, Box::new(e))
                    }),
                Some(plan) => {
                    let (keys, record) = ceremony_keys(circuits, &plan, &store, &dir, &*progress)?;
                    Ok((keys, Some(record)))
                }
            }
        })
        .await
        .map_err(|e| LocalError::Other(e.to_string()))??;
        let keys = Arc::new(keys);
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| LocalError::Other(format!("{}: {e}", config.dir.display())))?;
        let state = config.dir.join("chain.json");
        let (persist, clock) = (config.persist_chain, config.clock.clone());
        let chain = ChainClient::spawn(move || {
            if let Some(url) = node {
                let mut c = JsonRpcChain::connect(&url, GANACHE_DEV_KEY)?;
                let operator = c.add_account(OPERATOR_SECRET)?;
                c.fund(operator, U256::from(10 * GAS_MONEY))?;
                return Ok(Backend::Rpc(c));
            }
            let c = if persist {
                EmbeddedChain::open(state)?
            } else {
                EmbeddedChain::in_memory()
            };
            Ok(Backend::Embedded(c, clock))
        })?;
        let operator = address_of_secret(&OPERATOR_SECRET)?;
        let trustees: Vec<CAddress> = committee.addresses();
        let trustee_evm: Vec<Address> = trustees.iter().map(|a| Address::from(a.0)).collect();
        let (k2, c2, p2) = (keys.clone(), chain.clone(), config.params.clone());
        let (max_unsettled, max_defaults) = (config.max_unsettled, config.max_defaults);
        let t = committee.public.params.t as usize;
        let deployment = tokio::task::spawn_blocking(move || {
            let mut chain = c2;
            let d = deploy_market(
                &mut chain,
                operator,
                &DeploySpec {
                    params: &p2,
                    balance_vk: &k2.balance.vk,
                    bid_vk: &k2.bid.vk,
                    settle_vk: &k2.settle.vk,
                    trustees: &trustee_evm,
                    threshold: t,
                    max_unsettled,
                    max_defaults,
                    token: None,
                    // demo and test markets: no delay (PROTOCOL §8 gives the production one)
                    committee_delay: sealgrid_verifier_contract::deploy::DEMO_COMMITTEE_DELAY,
                    evm: sealgrid_verifier_contract::artifacts::EvmTarget::Shanghai,
                },
            )?;
            // The operator funds negative residuals (rounding dust bought by the grid).
            chain.transact(
                operator,
                d.token,
                TestToken::mintCall {
                    to: operator,
                    value: U256::from(1u64 << 40),
                }
                .abi_encode()
                .into(),
            )?;
            chain.transact(
                operator,
                d.token,
                TestToken::approveCall {
                    spender: d.market,
                    value: U256::MAX,
                }
                .abi_encode()
                .into(),
            )?;
            Ok::<_, ChainError>(d)
        })
        .await
        .map_err(|e| LocalError::Other(e.to_string()))??;
        let domain = SigningDomain {
            chain_id: deployment.chain_id,
            contract: CAddress(deployment.market.0 .0),
        };
        let market = MarketFile {
            trustee_setup: TrusteeSetup {
                committee: (*committee.public).clone(),
                market: config.params.clone(),
                domain,
            },
            trustees,
            verifying_keys: VerifierKeyIds {
                balance: keys.balance.id.verifying.clone(),
                bid: keys.bid.id.verifying.clone(),
                settle: keys.settle.id.verifying.clone(),
            },
            deployment,
            setup,
        };
        market
            .save(&config.dir.join("market.json"))
            .map_err(|e| LocalError::Other(e.to_string()))?;
        let tls = make_tls(
            &config.dir.join("certs"),
            committee.public.params.n as usize,
        )?;
        let (trustees_stop, stop_rx) = watch::channel(false);
        let mut urls = Vec::new();
        let mut tasks = Vec::new();
        let mut logs = Vec::new();
        for (i, trustee) in committee
            .trustees(&config.params, domain)
            .into_iter()
            .enumerate()
        {
            let shared: sealgrid_trustee::chain::SharedChain =
                Arc::new(Mutex::new(Box::new(chain.clone())));
            let view = EvmChainView::new(
                shared,
                market.deployment.market,
                market.deployment.deployment_block,
            );
            let log_path = config
                .dir
                .join(format!("trustee-{}.disclosures.jsonl", trustee.id().0));
            let log =
                DisclosureLog::open(&log_path).map_err(|e| LocalError::Other(e.to_string()))?;
            logs.push(log_path);
            let service = TrusteeService::new(
                trustee,
                committee.public.clone(),
                Arc::new(view),
                [Auditor {
                    name: LOCAL_AUDITOR.to_owned(),
                    identity: tls.regulator.identity(),
                }],
                log,
            );
            let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(|e| LocalError::Other(format!("trustee listener: {e}")))?;
            let addr = listener
                .local_addr()
                .map_err(|e| LocalError::Other(e.to_string()))?;
            urls.push(format!("https://{addr}"));
            tasks.push(tokio::spawn(sealgrid_trustee::serve(
                listener,
                service,
                Transport::MutualTls(tls.trustees[i].clone()),
                stopped(stop_rx.clone()),
            )));
        }
        Ok(LocalMarket {
            chain,
            market,
            keys,
            committee,
            trustee_urls: urls,
            tls,
            disclosure_logs: logs,
            config,
            trustees_stop,
            trustees: tasks,
        })
    }

    /// Coordinator settings for this market on loopback (port 0: any free port), its
    /// store in `dir/store.redb`.
    pub fn settings(&self, schedule: Schedule, plan: RoundPlan) -> Settings {
        Settings {
            market: self.market.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: self.config.dir.join("store.redb"),
            key_dir: self.config.key_dir.clone(),
            trustees: self.trustee_urls.clone(),
            trustee_tls: TrusteeTls::Mutual(self.tls.coordinator.clone()),
            schedule,
            plan,
            relay_margin_seconds: 1,
            max_queue: 100_000,
            max_batch: 1000,
            relay_batch: sealgrid_coordinator::config::DEFAULT_RELAY_BATCH,
            relay_in_flight: sealgrid_coordinator::config::DEFAULT_RELAY_IN_FLIGHT,
            relay_linger_ms: 0,
            tick_ms: 100,
            clock: self.config.clock.clone(),
            tls: None,
        }
    }

    /// The operator registers `wallet`'s account and meter; `tokens` are minted to its
    /// payer, which approves the market.
    pub async fn register(&self, wallet: &Wallet, tokens: u64) -> Result<(), LocalError> {
        self.register_many(&[wallet], tokens).await
    }

    /// [`LocalMarket::register`] for many wallets, their transactions sent together
    /// ([`register_prosumers`]): on a node they share blocks.
    pub async fn register_many(&self, wallets: &[&Wallet], tokens: u64) -> Result<(), LocalError> {
        let prosumers: Vec<Registration> = wallets.iter().map(|w| Registration::of(w)).collect();
        let (operator, market, token) = (
            self.market.deployment.operator,
            self.market.deployment.market,
            self.market.deployment.token,
        );
        self.chain
            .run(move |c| {
                register_prosumers(c, operator, market, token, &prosumers, tokens)
                    .map_err(|e| ChainError::Backend(e.to_string()))
            })
            .await?;
        Ok(())
    }

    /// A token balance.
    pub async fn token_balance(&self, who: Address) -> Result<u64, LocalError> {
        let (operator, token) = (
            self.market.deployment.operator,
            self.market.deployment.token,
        );
        let b = self
            .chain
            .run(move |c| {
                let out = c.call(
                    operator,
                    token,
                    TestToken::balanceOfCall(who).abi_encode().into(),
                )?;
                Ok(TestToken::balanceOfCall::abi_decode_returns(&out)?)
            })
            .await?;
        u64::try_from(b).map_err(|_| LocalError::Other("a balance above 2^64".into()))
    }

    /// An account's on-chain record.
    pub async fn prosumer(&self, acct: U256) -> Result<Market::prosumersReturn, LocalError> {
        let (operator, market) = (
            self.market.deployment.operator,
            self.market.deployment.market,
        );
        Ok(self
            .chain
            .run(move |c| {
                let out = c.call(
                    operator,
                    market,
                    Market::prosumersCall(acct).abi_encode().into(),
                )?;
                Ok(Market::prosumersCall::abi_decode_returns(&out)?)
            })
            .await?)
    }

    /// Stops the trustees.
    pub async fn shutdown(self) {
        // No receiver left means the trustees already stopped.
        self.trustees_stop.send(true).ok();
        for t in self.trustees {
            if let Ok(Err(e)) = t.await {
                tracing::warn!(%e, "a trustee server ended with an error");
            }
        }
    }
}
