//! The broadcast channel of a distributed run: a directory every trustee can read and
//! write (a shared or synchronised folder), one file per message,
//! `<phase>-<sender>-<receiver>.json` (receiver 0 for a broadcast).
//!
//! The board is trusted for nothing but delivery: every message is signed (its file name
//! is only a hint, [`Envelope::open`] checks the signed fields) and private shares are
//! encrypted. A message is posted write-once (written to a temporary file, then
//! hard-linked to its name, which fails if the name exists), so an honest board keeps the
//! first version. A dishonest board, or a sender that rewrites its file, can still show
//! different trustees different messages: the confirm round (every trustee signs the hash
//! of what it used and all must match) turns that into an abort, never into two
//! committees.

use super::channel::{Envelope, Phase};
use sealgrid_committee::sign::Address;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiting trustee looks at the board again.
const POLL: Duration = Duration::from_millis(100);

/// Why the board could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// This trustee's slot holds another message already (an earlier run with the same
    /// session, or someone writing in its name).
    #[error("{} exists with another content: use a fresh board or session", .0.display())]
    Taken(PathBuf),
}

/// A directory acting as the broadcast channel.
#[derive(Clone, Debug)]
pub struct Board {
    dir: PathBuf,
}

impl Board {
    /// The board in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Board, BoardError> {
        std::fs::create_dir_all(dir).map_err(|source| BoardError::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Board {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, phase: Phase, sender: u16, receiver: u16) -> PathBuf {
        self.dir
            .join(format!("{}-{sender}-{receiver}.json", phase.name()))
    }

    /// Posts a message, write-once. Posting the same message again is a no-op.
    pub fn post(&self, env: &Envelope) -> Result<(), BoardError> {
        let path = self.path(env.phase, env.sender, env.receiver);
        let bytes = serde_json::to_vec_pretty(env).expect("an envelope serializes");
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BoardError::Io { path, source }
        };
        let tmp = self.dir.join(format!(
            ".{}.tmp-{}",
            path.file_name().expect("a file name").to_string_lossy(),
            std::process::id()
        ));
        std::fs::write(&tmp, &bytes).map_err(io(&tmp))?;
        let linked = std::fs::hard_link(&tmp, &path);
        std::fs::remove_file(&tmp).ok();
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if std::fs::read(&path).map_err(io(&path))? == bytes {
                    Ok(())
                } else {
                    Err(BoardError::Taken(path))
                }
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Waits until `deadline` for the message of `phase` from each of `senders` to
    /// `receiver`, and returns the payloads of those that came and verify. A file that
    /// does not parse or verify is logged and counts as absent; it is looked at again
    /// while time remains (a board may deliver late).
    pub fn collect(
        &self,
        session: &[u8; 32],
        phase: Phase,
        senders: &[u16],
        receiver: u16,
        roster: &[Address],
        deadline: Instant,
    ) -> Result<BTreeMap<u16, Vec<u8>>, BoardError> {
        let mut got = BTreeMap::new();
        let mut warned = std::collections::BTreeSet::new();
        loop {
            for &sender in senders {
                if got.contains_key(&sender) {
                    continue;
                }
                let path = self.path(phase, sender, receiver);
                let bytes = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(BoardError::Io { path, source }),
                };
                let opened = serde_json::from_slice::<Envelope>(&bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|env| {
                        env.open(session, sender, receiver, phase, roster)
                            .map(<[u8]>::to_vec)
                            .map_err(|e| e.to_string())
                    });
                match opened {
                    Ok(payload) => {
                        got.insert(sender, payload);
                    }
                    Err(e) => {
                        if warned.insert(sender) {
                            tracing::warn!(target: "sealgrid::dkg", file = %path.display(), error = %e, "refused a message");
                        }
                    }
                }
            }
            if got.len() == senders.len() || Instant::now() >= deadline {
                return Ok(got);
            }
            std::thread::sleep(POLL);
        }
    }
}
