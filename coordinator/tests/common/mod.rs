//! A local market and helpers shared by the coordinator's test binaries (`it`, `python`,
//! `binary`). Each binary uses a part of them, so what one leaves unused is not dead code.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::MarketParams;
use sealgrid_coordinator::{Clock, RoundPlan, Schedule};
use sealgrid_local::{LocalConfig, LocalMarket};
use sealgrid_proto::market::v1 as pb;
use sealgrid_proto::market::v1::coordinator_client::CoordinatorClient;
use sealgrid_prover::NoProgress;
use sealgrid_wallet::prosumer::Wallet;
use tokio::sync::mpsc;
use tonic::transport::Channel;

/// The quotes of the six test prosumers: (side, level, quantity Wh).
pub use sealgrid_testkit::bids::QUOTES;

/// Tokens minted to each prosumer's payer; half is deposited.
pub const MINTED: u64 = 1_000_000;
pub const DEPOSIT: u64 = 500_000;

/// Long windows: the tests move the clock forward instead of waiting.
pub const SCHEDULE: Schedule = Schedule {
    slot_seconds: 600,
    bidding_seconds: 600,
    gate_closure_seconds: 0,
    settle_seconds: 600,
};

pub struct Net {
    pub local: LocalMarket,
    pub clock: Clock,
    pub round: u64,
    pub _dir: tempfile::TempDir,
}

/// A local market in `dir` on the market `clock`: default parameters, the keys of the
/// target directory's key store, two rounds in flight and one default allowed per
/// account; its embedded chain in memory or, with `persist_chain`, in `dir`.
pub async fn local_market(dir: &Path, clock: Clock, persist_chain: bool) -> LocalMarket {
    LocalMarket::setup(
        LocalConfig {
            dir: dir.to_path_buf(),
            params: MarketParams::default(),
            key_dir: sealgrid_prover::circuits::target_key_dir(),
            max_unsettled: 2,
            max_defaults: 1,
            persist_chain,
            clock,
            ceremony: None,
        },
        Arc::new(NoProgress),
    )
    .await
    .expect("local market")
}

impl Net {
    pub async fn new() -> Net {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::wall();
        let local = local_market(dir.path(), clock.clone(), false).await;
        // The round after the current one, with the clock moved to the opening of its
        // bidding: the whole window is ahead, however slowly the test proves (the
        // current round may have only a minute left on the wall clock).
        let round = SCHEDULE.next_biddable(clock.now(), 60) + 1;
        clock.advance_to(SCHEDULE.times(round).open_at);
        Net {
            local,
            clock,
            round,
            _dir: dir,
        }
    }

    /// Starts the coordinator on this market for the one round of [`Net::plan`].
    pub async fn start(&self) -> sealgrid_coordinator::Running {
        sealgrid_coordinator::start(
            self.local.settings(SCHEDULE, self.plan()),
            self.local.chain.clone(),
        )
        .await
        .expect("coordinator starts")
    }

    pub fn plan(&self) -> RoundPlan {
        RoundPlan {
            first: Some(self.round),
            count: Some(1),
        }
    }

    pub fn times(&self) -> sealgrid_market::schedule::RoundTimes {
        SCHEDULE.times(self.round)
    }

    /// Six registered wallets with fixed secrets.
    pub async fn wallets(&self) -> Vec<Wallet> {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let mut out = Vec::new();
        for _ in 0..QUOTES.len() {
            let w = Wallet::new(&mut rng);
            self.local.register(&w, MINTED).await.expect("registered");
            out.push(w);
        }
        out
    }
}

pub async fn connect(addr: std::net::SocketAddr) -> CoordinatorClient<Channel> {
    CoordinatorClient::connect(format!("http://{addr}"))
        .await
        .expect("connects")
}

/// Collects the event stream from `from` in the background.
pub async fn events(
    client: &mut CoordinatorClient<Channel>,
    from: u64,
) -> mpsc::UnboundedReceiver<pb::MarketEvent> {
    let mut stream = client
        .stream_events(pb::StreamEventsRequest {
            from_sequence: from,
            round: 0,
        })
        .await
        .expect("stream")
        .into_inner();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(e)) = stream.message().await {
            if tx.send(e).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for an event matching `pred`, keeping every event seen in `seen`.
pub async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<pb::MarketEvent>,
    seen: &mut Vec<pb::MarketEvent>,
    what: &str,
    pred: impl Fn(&pb::market_event::Event) -> bool,
) -> pb::MarketEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}; seen {seen:#?}"))
            .unwrap_or_else(|| panic!("stream ended before {what}"));
        seen.push(e.clone());
        if e.event.as_ref().is_some_and(&pred) {
            return e;
        }
    }
}

/// Polls a round until `pred` holds.
pub async fn wait_round(
    client: &mut CoordinatorClient<Channel>,
    round: u64,
    what: &str,
    pred: impl Fn(&pb::RoundStatus) -> bool,
) -> pb::RoundStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get_round(pb::GetRoundRequest { round }).await {
            let r = r.into_inner();
            if pred(&r) {
                return r;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}: {r:?}");
            }
        } else if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}: round unknown");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a CPU-heavy closure (proving) off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("task")
}

/// Runs `f` on `wallet` off the async threads (proving) and puts the wallet back.
pub async fn on_wallet<T: Send + 'static>(
    wallet: &mut Wallet,
    f: impl FnOnce(&Wallet) -> T + Send + 'static,
) -> T {
    let mut spare = ChaCha20Rng::seed_from_u64(0);
    let w = std::mem::replace(wallet, Wallet::new(&mut spare));
    let (w, out) = blocking(move || {
        let out = f(&w);
        (w, out)
    })
    .await;
    *wallet = w;
    out
}

/// Every wallet deposits `DEPOSIT` through the coordinator (proof randomness from
/// `seed + i`).
pub async fn deposit_all(
    net: &Net,
    client: &mut CoordinatorClient<Channel>,
    wallets: &mut [Wallet],
    seed: u64,
) {
    let d = net.local.market.deployment.clone();
    for (i, w) in wallets.iter_mut().enumerate() {
        let k = net.local.keys.clone();
        let (req, next) = on_wallet(w, move |w| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed + i as u64);
            w.deposit_submission(&k, DEPOSIT, d.chain_id, d.market, &mut rng)
                .unwrap()
        })
        .await;
        client.deposit(req).await.expect("deposit relayed");
        w.commit_balance(next);
    }
}

/// Each wallet proves its bid of [`QUOTES`] for `round` (not submitted, not committed).
pub async fn prove_bids(
    net: &Net,
    wallets: &mut [Wallet],
    round: u64,
    seed: u64,
) -> Vec<(
    pb::BidSubmission,
    sealgrid_wallet::prosumer::OpenBid,
    sealgrid_circuits::balance::BalanceOpening,
)> {
    let mut out = Vec::new();
    for (i, (w, &(side, level, q))) in wallets.iter_mut().zip(QUOTES.iter()).enumerate() {
        let k = net.local.keys.clone();
        out.push(
            on_wallet(w, move |w| {
                let mut rng = ChaCha20Rng::seed_from_u64(seed + i as u64);
                w.bid_submission(&k, round, side, level, q, &mut rng)
                    .unwrap()
            })
            .await,
        );
    }
    out
}
