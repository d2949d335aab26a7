//! The market the demo runs on, all on loopback: a [`LocalMarket`] (the embedded EVM on
//! its own thread with its state in `dir/chain.json`, the demo committee's 3 trustees as
//! gRPC services each reading the chain itself, the Groth16 keys, the contracts deployed,
//! `dir/market.json`) and the gRPC coordinator started on it (its store in
//! `dir/store.redb`), a client of the coordinator, its event stream and the market clock.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sealgrid_circuits::market::MarketParams;
use sealgrid_coordinator::{start, Clock, RoundPlan, Running, Schedule};
use sealgrid_local::{LocalCeremony, LocalConfig, LocalMarket};
use sealgrid_market::schedule::RoundTimes;
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use sealgrid_prover::{Event, Progress};
use sealgrid_verifier_contract::ChainError;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::observer::Observer;
use super::{Checks, DemoError};

/// The demo ceremony's beacon: a fixed public value, so that every demo machine's
/// transcript can be recomputed by anyone. A real market takes the hash of a block whose
/// number it announced before the first contribution (PROTOCOL §12).
pub const DEMO_BEACON: &[u8] = b"sealgrid demo beacon: market day 2027-06-21";

/// How long the demo waits for the coordinator to reach a phase or publish an event.
pub const WAIT: Duration = Duration::from_secs(300);

/// The files a run writes into its directory besides `bundles/` (a run starts from none
/// of them).
pub const RUN_FILES: [&str; 3] = ["chain.json", "market.json", "store.redb"];

/// The running market and the demo's connection to it.
pub struct Net {
    /// Chain, trustees, keys, market file.
    pub local: LocalMarket,
    /// The coordinator.
    pub running: Running,
    /// A client of the coordinator.
    pub client: CoordinatorClient<Channel>,
    /// The market clock, shared by the engine and the chain.
    pub clock: Clock,
    /// The schedule (real 15-minute slots).
    pub schedule: Schedule,
    /// Every event received so far, in order.
    pub seen: Vec<pb::MarketEvent>,
    events: mpsc::UnboundedReceiver<pb::MarketEvent>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("local", &self.local)
            .field("coordinator", &self.running.addr)
            .finish_non_exhaustive()
    }
}

/// Forwards the key store's events from its blocking task to the demo's thread.
struct KeyEvents(Mutex<mpsc::UnboundedSender<Event>>);

impl Progress for KeyEvents {
    fn event(&self, event: &Event) {
        let tx = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // The receiver lives until setup returns; after that there is nobody to tell.
        tx.send(event.clone()).ok();
    }
}

fn setup_err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> DemoError + '_ {
    move |e| DemoError::Setup(format!("{what}: {e}"))
}

/// A removal's outcome: done, or nothing was there.
fn removed(result: std::io::Result<()>, path: &Path) -> Result<(), DemoError> {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(DemoError::Setup(format!("{}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}

/// Removes the files of a previous run in `dir`: each run deploys a fresh market.
fn clean(dir: &Path) -> Result<(), DemoError> {
    let bundles = dir.join("bundles");
    removed(std::fs::remove_dir_all(&bundles), &bundles)?;
    let chain = dir.join("chain.json");
    let sidecar = sealgrid_verifier_contract::embedded::sidecar_path(&chain);
    for path in RUN_FILES.iter().map(|f| dir.join(f)).chain([sidecar]) {
        removed(std::fs::remove_file(&path), &path)?;
    }
    Ok(())
}

impl Net {
    /// Sets up the local market in `dir` (keys in `key_dir`, reporting progress to
    /// `observer`) and starts the coordinator for `rounds` consecutive rounds from
    /// `first`, the clock moved to the first round's bidding.
    pub async fn start(
        dir: &Path,
        key_dir: &Path,
        params: &MarketParams,
        schedule: Schedule,
        (first, rounds): (u64, u64),
        observer: &dyn Observer,
    ) -> Result<Net, DemoError> {
        clean(dir)?;
        let clock = Clock::wall();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let setup = LocalMarket::setup(
            LocalConfig {
                dir: dir.to_path_buf(),
                params: params.clone(),
                key_dir: key_dir.to_path_buf(),
                // A bid may wait for its settlement while the next slot's bid is made.
                max_unsettled: 2,
                // One default and the account can no longer bid.
                max_defaults: 1,
                persist_chain: true,
                clock: clock.clone(),
                // The keys come from a ceremony: the operator, the regulator and a
                // community representative contribute in turn, then the beacon.
                ceremony: Some(LocalCeremony::demo(DEMO_BEACON)),
            },
            Arc::new(KeyEvents(Mutex::new(tx))),
        );
        tokio::pin!(setup);
        let local = loop {
            tokio::select! {
                r = &mut setup => break r.map_err(|e| DemoError::Setup(e.to_string()))?,
                Some(e) = rx.recv() => observer.key_event(&e),
            }
        };
        while let Ok(e) = rx.try_recv() {
            observer.key_event(&e);
        }
        clock.advance_to(schedule.times(first).open_at);
        let plan = RoundPlan {
            first: Some(first),
            count: Some(rounds),
        };
        let running = start(local.settings(schedule, plan), local.chain.clone())
            .await
            .map_err(|e| setup_err("coordinator")(&e))?;
        let mut client = CoordinatorClient::connect(format!("http://{}", running.addr))
            .await
            .map_err(|e| setup_err("connecting to the coordinator")(&e))?;
        let mut stream = client
            .stream_events(pb::StreamEventsRequest {
                from_sequence: 0,
                round: 0,
            })
            .await
            .map_err(|e| setup_err("event stream")(&e))?
            .into_inner();
        let (etx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(e)) = stream.message().await {
                if etx.send(e).is_err() {
                    return;
                }
            }
        });
        Ok(Net {
            local,
            running,
            client,
            clock,
            schedule,
            seen: Vec::new(),
            events,
        })
    }

    /// The times of round `round`.
    pub fn times(&self, round: u64) -> RoundTimes {
        self.schedule.times(round)
    }

    /// Waits for round `round`'s event matching `pred` (events of other rounds are kept).
    pub async fn wait_event(
        &mut self,
        round: u64,
        what: &str,
        pred: impl Fn(&pb::market_event::Event) -> bool,
    ) -> Result<pb::market_event::Event, DemoError> {
        let found = |e: &pb::MarketEvent| e.round == round && e.event.as_ref().is_some_and(&pred);
        if let Some(e) = self.seen.iter().find(|e| found(e)) {
            return Ok(e.event.clone().expect("matched"));
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let e = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| DemoError::Timeout(format!("round {round}: {what}")))?
                .ok_or_else(|| DemoError::Rpc(format!("the event stream ended before {what}")))?;
            self.seen.push(e.clone());
            if found(&e) {
                return Ok(e.event.expect("matched"));
            }
        }
    }

    /// Polls round `round` until `pred` holds.
    pub async fn wait_round(
        &mut self,
        round: u64,
        what: &str,
        pred: impl Fn(&pb::RoundStatus) -> bool,
    ) -> Result<pb::RoundStatus, DemoError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = self.client.get_round(pb::GetRoundRequest { round }).await {
                let r = r.into_inner();
                if pred(&r) {
                    return Ok(r);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(DemoError::Timeout(format!("round {round}: {what}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Checks that the coordinator counts `accepted` of `what` (`count` of its round
    /// status) in round `round`.
    pub async fn check_count(
        &mut self,
        checks: &mut Checks,
        round: u64,
        what: &str,
        count: fn(&pb::RoundStatus) -> u32,
        accepted: usize,
    ) -> Result<(), DemoError> {
        let status = self
            .client
            .get_round(pb::GetRoundRequest { round })
            .await
            .map_err(rpc("GetRound"))?
            .into_inner();
        let counted = count(&status);
        checks.check(counted as usize == accepted, || {
            format!(
                "round {round}: the coordinator counts {counted} {what}, {accepted} were accepted"
            )
        })
    }

    /// The committee's audit bundle of round `round`.
    pub async fn audit_bundle(&mut self, round: u64) -> Result<pb::AuditBundle, DemoError> {
        Ok(self
            .client
            .get_audit_bundle(pb::GetAuditBundleRequest { round })
            .await
            .map_err(rpc("GetAuditBundle"))?
            .into_inner())
    }

    /// A token balance on chain.
    pub async fn tokens(&self, who: alloy_primitives::Address) -> Result<u64, DemoError> {
        self.local
            .token_balance(who)
            .await
            .map_err(|e| DemoError::Rpc(format!("token balance of {who}: {e}")))
    }

    /// Runs `f` on the chain's thread (reads of events, the audit).
    pub async fn on_chain<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut sealgrid_coordinator::Backend) -> Result<T, ChainError> + Send + 'static,
    ) -> Result<T, DemoError> {
        self.local
            .chain
            .run(f)
            .await
            .map_err(|e| DemoError::Rpc(format!("chain: {e}")))
    }

    /// Stops the coordinator, then the trustees; the chain's state stays in its file.
    pub async fn shutdown(self) {
        self.stop_coordinator().await.shutdown().await;
    }

    /// Stops the coordinator only: the chain and the trustees serve on until
    /// [`LocalMarket::shutdown`].
    pub async fn stop_coordinator(self) -> LocalMarket {
        self.running.shutdown().await;
        self.local
    }
}

/// A gRPC refusal as a demo error.
pub fn rpc(what: &str) -> impl Fn(tonic::Status) -> DemoError + '_ {
    move |s| DemoError::Rpc(format!("{what}: {:?} {}", s.code(), s.message()))
}
