//! The distributed DKG (`docs/PROTOCOL.md` §7, "Distributed run"): each trustee process
//! runs its own [`Party`] of the committee crate's joint-Feldman DKG, so its polynomials,
//! its share and its signing key never leave it; the messages travel over a signed
//! channel ([`channel`]) through a directory acting as the broadcast channel ([`board`]).
//!
//! Phases, each a wait for every trustee's message (until a timeout):
//!
//! 1. **hello**: each trustee broadcasts a fresh X25519 key for this run, signed with its
//!    secp256k1 key (the roster of signing addresses is known beforehand);
//! 2. **dealing / share**: it broadcasts its commitments and sends each peer its bundle,
//!    sealed to the peer's run key;
//! 3. **complaints**: against every dealer whose bundle is missing, does not decrypt or
//!    does not verify (`Party::complaints`);
//! 4. **answers**: the bundles it sent to its accusers, made public;
//! 5. **confirm**: `QUAL`, the keys and the public files follow from the broadcast alone
//!    (`Party::finalize`); each trustee broadcasts the hash of the broadcast it used and
//!    of the two files it is about to write, and keeps its result only if all `n`
//!    confirmations are equal to its own.
//!
//! A missing dealing leaves its dealer out of `QUAL`, a missing bundle is complained
//! about, a missing complaint list counts as empty, a missing answer disqualifies; a
//! missing hello or confirmation, or a confirmation that differs, aborts the run.

pub mod board;
pub mod channel;

use crate::store::TrusteeSecrets;
use crate::TrusteeSetup;
use board::{Board, BoardError};
use channel::{open_bundle, seal_bundle, session_id, ChannelError, Envelope, Phase, EVERYONE};
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::dkg::{
    Complaint, ComplaintAnswer, Dealing, DkgBroadcast, DkgError, DkgParams, Party, ShareBundle,
};
use sealgrid_committee::sign::{keccak256, Address, SigningDomain, TrusteeSigningKey};
use sealgrid_committee::TrusteeId;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use x25519_dalek::{PublicKey, StaticSecret};

/// One trustee's view of the run it takes part in.
#[derive(Clone, Debug)]
pub struct DkgConfig {
    /// This trustee.
    pub me: TrusteeId,
    /// `n`, `t` and the number of flow keys (2K + 1).
    pub params: DkgParams,
    /// The trustees' signing addresses, ids `1..=n` (exchanged beforehand: the channel's
    /// authentication rests on it).
    pub roster: Vec<Address>,
    /// A name for this run, bound into the session id with the parameters and roster.
    pub label: String,
    /// The signing domain's chain id (the deployment rewrites the contract address).
    pub chain_id: u64,
    /// The market the committee serves.
    pub market: MarketParams,
    /// The broadcast directory.
    pub board: PathBuf,
    /// How long each phase waits for the trustees' messages.
    pub phase_timeout: Duration,
}

/// A finished run: the secrets to seal and the public files, the same bytes at every
/// trustee (the confirm round checked it).
#[derive(Debug)]
pub struct DkgOutcome {
    /// This trustee's share and signing key.
    pub secrets: TrusteeSecrets,
    /// The public setup.
    pub setup: TrusteeSetup,
    /// The broadcast the keys were derived from.
    pub broadcast: DkgBroadcast,
    /// `setup.json`'s bytes.
    pub setup_json: Vec<u8>,
    /// `addresses.json`'s bytes.
    pub addresses_json: Vec<u8>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration does not fit.
    #[error("{0}")]
    Config(String),
    /// The board.
    #[error(transparent)]
    Board(#[from] BoardError),
    /// The channel.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The DKG itself.
    #[error(transparent)]
    Dkg(#[from] DkgError),
    /// Some trustees never said hello or never confirmed.
    #[error("no valid {phase} message from trustee(s) {missing:?} before the timeout")]
    Missing {
        /// The phase.
        phase: &'static str,
        /// Who is missing.
        missing: Vec<u16>,
    },
    /// Some trustees confirmed another result: the broadcast was not consistent.
    #[error("trustee(s) {0:?} confirmed another broadcast or other files: inconsistent broadcast, nothing kept")]
    Inconsistent(Vec<u16>),
}

/// The public files' bytes (one definition for `dkg` and `demo-committee`):
/// `setup.json` and `addresses.json`, pretty JSON.
pub fn public_files(setup: &TrusteeSetup, addresses: &[Address]) -> (Vec<u8>, Vec<u8>) {
    (
        serde_json::to_vec_pretty(setup).expect("the setup serializes"),
        serde_json::to_vec_pretty(addresses).expect("addresses serialize"),
    )
}

/// Writes `setup.json` and `addresses.json` into `out`.
pub fn write_public_files(
    out: &Path,
    setup_json: &[u8],
    addresses_json: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("setup.json"), setup_json)?;
    std::fs::write(out.join("addresses.json"), addresses_json)
}

fn parse<T: DeserializeOwned>(phase: Phase, sender: u16, payload: &[u8]) -> Option<T> {
    match serde_json::from_slice(payload) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(target: "sealgrid::dkg", phase = phase.name(), sender, error = %e, "malformed payload, ignored");
            None
        }
    }
}

/// Runs this trustee's side of the DKG. `tamper` rewrites each bundle before it is sent
/// (an honest trustee passes a no-op; the test-only cheat a bad share).
pub fn run(
    config: &DkgConfig,
    signer: TrusteeSigningKey,
    tamper: impl FnMut(&mut ShareBundle),
) -> Result<DkgOutcome, RunError> {
    let params = config.params;
    params.validate()?;
    let me = config.me.0;
    let n = params.n;
    if me == 0 || me > n {
        return Err(RunError::Config(format!("--id {me} is not in 1..={n}")));
    }
    if config.roster.len() != n as usize {
        return Err(RunError::Config(format!(
            "{} peer addresses for n = {n}",
            config.roster.len()
        )));
    }
    if config.roster[me as usize - 1] != signer.address() {
        return Err(RunError::Config(format!(
            "peer {me}'s address {:?} is not this trustee's signing address {:?}",
            config.roster[me as usize - 1],
            signer.address()
        )));
    }
    let roster = &config.roster[..];
    let session = session_id(
        n,
        params.t,
        params.instances,
        config.chain_id,
        roster,
        &config.label,
    );
    let board = Board::open(&config.board)?;
    let everyone: Vec<u16> = (1..=n).collect();
    let others: Vec<u16> = everyone.iter().copied().filter(|&i| i != me).collect();
    let deadline = || Instant::now() + config.phase_timeout;
    let post = |receiver: u16, phase: Phase, payload: Vec<u8>| -> Result<(), RunError> {
        board.post(&Envelope::sign(
            &signer, session, me, receiver, phase, payload,
        )?)?;
        Ok(())
    };
    let collect = |phase: Phase, from: &[u16], receiver: u16| {
        tracing::info!(target: "sealgrid::dkg", trustee = me, phase = phase.name(), "waiting");
        board.collect(&session, phase, from, receiver, roster, deadline())
    };
    let mut rng = rand::rngs::OsRng;

    // 1. hello: this run's encryption key
    let run_secret = StaticSecret::random_from_rng(rng);
    post(
        EVERYONE,
        Phase::Hello,
        PublicKey::from(&run_secret).as_bytes().to_vec(),
    )?;
    let hellos = collect(Phase::Hello, &everyone, EVERYONE)?;
    let run_keys: BTreeMap<u16, PublicKey> = hellos
        .iter()
        .filter_map(|(&i, p)| {
            <[u8; 32]>::try_from(p.as_slice())
                .ok()
                .map(|k| (i, PublicKey::from(k)))
        })
        .collect();
    let missing: Vec<u16> = everyone
        .iter()
        .copied()
        .filter(|i| !run_keys.contains_key(i))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Missing {
            phase: "hello",
            missing,
        });
    }

    // 2. deal: commitments to everyone, each bundle sealed to its receiver
    let mut party = Party::new(params, config.me, &mut rng)?;
    post(
        EVERYONE,
        Phase::Dealing,
        serde_json::to_vec(&party.dealing()).expect("serializes"),
    )?;
    for bundle in party.deal(tamper) {
        let to = bundle.recipient.0;
        if to == me {
            party.receive(bundle)?;
            continue;
        }
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&bundle).expect("serializes"));
        let sealed = seal_bundle(&session, me, to, &run_keys[&to], &plain, &mut rng);
        post(to, Phase::Share, sealed)?;
    }
    let dealings: Vec<Dealing> = collect(Phase::Dealing, &everyone, EVERYONE)?
        .into_iter()
        .filter_map(|(i, p)| parse::<Dealing>(Phase::Dealing, i, &p).filter(|d| d.dealer.0 == i))
        .collect();
    for (i, sealed) in collect(Phase::Share, &others, me)? {
        let bundle = open_bundle(&session, i, me, &run_secret, &sealed)
            .map_err(|e| e.to_string())
            .and_then(|plain| {
                serde_json::from_slice::<ShareBundle>(&plain).map_err(|e| e.to_string())
            });
        match bundle {
            // a bundle counts only from its own dealer
            Ok(b) if b.dealer.0 == i => party.receive(b)?,
            Ok(_) => {
                tracing::warn!(target: "sealgrid::dkg", sender = i, "bundle names another dealer, ignored")
            }
            Err(e) => {
                tracing::warn!(target: "sealgrid::dkg", sender = i, error = %e, "bundle refused")
            }
        }
    }

    // 3. complaints, each trustee in its own name only
    post(
        EVERYONE,
        Phase::Complaints,
        serde_json::to_vec(&party.complaints(&dealings)).expect("serializes"),
    )?;
    let complaints: Vec<Complaint> = collect(Phase::Complaints, &everyone, EVERYONE)?
        .into_iter()
        .filter_map(|(i, p)| parse::<Vec<Complaint>>(Phase::Complaints, i, &p).map(|c| (i, c)))
        .flat_map(|(i, c)| c.into_iter().filter(move |c| c.accuser.0 == i))
        .collect();

    // 4. answers, each dealer for its own bundles only
    post(
        EVERYONE,
        Phase::Answers,
        serde_json::to_vec(&party.answers(&complaints)).expect("serializes"),
    )?;
    let answers: Vec<ComplaintAnswer> = collect(Phase::Answers, &everyone, EVERYONE)?
        .into_iter()
        .filter_map(|(i, p)| parse::<Vec<ComplaintAnswer>>(Phase::Answers, i, &p).map(|a| (i, a)))
        .flat_map(|(i, a)| a.into_iter().filter(move |a| a.bundle.dealer.0 == i))
        .collect();

    // 5. QUAL, keys, files; then everyone confirms the same
    let broadcast = DkgBroadcast {
        dealings,
        complaints,
        answers,
    };
    let (committee, key) = party.finalize(&broadcast)?;
    let setup = TrusteeSetup {
        committee,
        market: config.market.clone(),
        domain: SigningDomain {
            chain_id: config.chain_id,
            contract: Address([0; 20]),
        },
    };
    let (setup_json, addresses_json) = public_files(&setup, roster);
    let mut confirm = keccak256(&serde_json::to_vec(&broadcast).expect("serializes")).to_vec();
    confirm.extend_from_slice(&keccak256(&setup_json));
    confirm.extend_from_slice(&keccak256(&addresses_json));
    post(EVERYONE, Phase::Confirm, confirm.clone())?;
    let confirms = collect(Phase::Confirm, &everyone, EVERYONE)?;
    let missing: Vec<u16> = everyone
        .iter()
        .copied()
        .filter(|i| !confirms.contains_key(i))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Missing {
            phase: "confirm",
            missing,
        });
    }
    let differ: Vec<u16> = confirms
        .iter()
        .filter(|(_, c)| **c != confirm)
        .map(|(&i, _)| i)
        .collect();
    if !differ.is_empty() {
        return Err(RunError::Inconsistent(differ));
    }
    Ok(DkgOutcome {
        secrets: TrusteeSecrets { key, signer },
        setup,
        broadcast,
        setup_json,
        addresses_json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn config(me: u16, roster: &[Address], board: &Path, label: &str) -> DkgConfig {
        let market = MarketParams::default();
        DkgConfig {
            me: TrusteeId(me),
            params: DkgParams {
                n: roster.len() as u16,
                t: 2,
                instances: 2 * market.levels + 1,
            },
            roster: roster.to_vec(),
            label: label.into(),
            chain_id: 246,
            market,
            board: board.to_owned(),
            phase_timeout: Duration::from_secs(600),
        }
    }

    /// Runs every trustee of `signers` on its own thread; `configs[i]` for signer `i`.
    fn run_all(
        configs: Vec<DkgConfig>,
        signers: Vec<TrusteeSigningKey>,
    ) -> Vec<Result<DkgOutcome, RunError>> {
        let handles: Vec<_> = configs
            .into_iter()
            .zip(signers)
            .map(|(c, s)| std::thread::spawn(move || run(&c, s, |_| {})))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn honest_trustees_agree_and_a_trustee_off_the_roster_is_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let signers: Vec<TrusteeSigningKey> = (0..3)
            .map(|_| TrusteeSigningKey::random(&mut rng))
            .collect();
        let roster: Vec<Address> = signers.iter().map(TrusteeSigningKey::address).collect();
        let dir = tempfile::tempdir().unwrap();
        let board = dir.path().join("honest");
        let outcomes = run_all(
            (1..=3)
                .map(|i| config(i, &roster, &board, "honest"))
                .collect(),
            signers.clone(),
        );
        let outcomes: Vec<DkgOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
        for o in &outcomes[1..] {
            assert_eq!(o.setup_json, outcomes[0].setup_json);
            assert_eq!(o.addresses_json, outcomes[0].addresses_json);
            assert_eq!(o.broadcast, outcomes[0].broadcast);
        }
        assert_eq!(outcomes[0].setup.committee.qualification.qualified.len(), 3);
        for (i, o) in outcomes.iter().enumerate() {
            assert_eq!(o.secrets.key.id, TrusteeId(i as u16 + 1));
            o.secrets.key.check(&o.setup.committee).unwrap();
        }

        // trustee 2 is impersonated: its messages are signed by a key not on the roster
        // (so they also name another session). The others refuse them, never see its
        // hello and stop.
        let impostor = TrusteeSigningKey::random(&mut rng);
        let board = dir.path().join("impostor");
        let mut configs: Vec<DkgConfig> =
            (1..=3).map(|i| config(i, &roster, &board, "imp")).collect();
        for c in &mut configs {
            c.phase_timeout = Duration::from_secs(1);
        }
        let mut forged_roster = roster.clone();
        forged_roster[1] = impostor.address();
        configs[1].roster = forged_roster;
        configs[1].label = "imp".into();
        let outcomes = run_all(
            configs,
            vec![signers[0].clone(), impostor, signers[2].clone()],
        );
        for i in [0, 2] {
            match &outcomes[i] {
                Err(RunError::Missing { phase, missing }) => {
                    assert_eq!((*phase, missing.as_slice()), ("hello", &[2u16][..]))
                }
                other => panic!("trustee {}: {other:?}", i + 1),
            }
        }
        // and the impostor, whose session (another roster) differs, hears no one
        assert!(matches!(
            &outcomes[1],
            Err(RunError::Missing { phase: "hello", .. })
        ));
    }
}
