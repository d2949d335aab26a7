//! A market's ceremony (PROTOCOL §12): the files of one key set, the record the market
//! file keeps of them, their check against the market's circuits, and a local run of the
//! whole ceremony for demos and pilots.
//!
//! A *ceremony directory* holds the prepared phase-1 file ([`PHASE1_FILE`]) and the final
//! key of each circuit ([`zkey_file`]: `balance.zkey`, `bid.zkey`, `settle.zkey`); every
//! contribution's public key is inside those files, so they are the whole public
//! transcript. [`verify_dir`] checks a directory against the circuits of a market
//! (market parameters and the committee's flow keys as constants) and says what the
//! market file must record of it ([`SetupRecord`]); [`install`] puts the keys into the
//! prover's key store; [`run_local`] runs every step on one machine, each step reading
//! the previous step's file and writing its own, as separate invocations would.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sealgrid_prover::{CircuitKeys, CircuitKind, Circuits, KeyStore, VerifyingKey};

use crate::encoding::Hash64;
use crate::phase2::{self, Progress};
use crate::zkey::ContributionKind;
use crate::{phase1, CeremonyError, Ptau, R1cs, Zkey};

/// The prepared phase-1 file of a ceremony directory.
pub const PHASE1_FILE: &str = "phase1.ptau";

/// The three circuits, in the market file's order.
pub const CIRCUITS: [CircuitKind; 3] =
    [CircuitKind::Balance, CircuitKind::Bid, CircuitKind::Settle];

/// The final key of `kind` in a ceremony directory (`bid.zkey`, …).
pub fn zkey_file(kind: CircuitKind) -> String {
    format!("{}.zkey", kind.name())
}

/// One contribution as published: the contributor's name and the hash it printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contributor {
    /// The name recorded in the file, if any.
    pub name: Option<String>,
    /// The contribution hash (phase 2) or response hash (phase 1), hex (BLAKE2b-512).
    pub hash: String,
    /// A beacon (public randomness: anyone can recompute its secret).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub beacon: bool,
}

impl Contributor {
    fn new(name: &Option<String>, hash: &Hash64, kind: &ContributionKind) -> Self {
        Contributor {
            name: name.clone(),
            hash: hex::encode(hash),
            beacon: matches!(kind, ContributionKind::Beacon { .. }),
        }
    }
}

/// What the market file records of phase 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase1Record {
    /// The file's power (circuits up to 2^power constraints and inputs).
    pub power: u32,
    /// Its contributions, oldest first.
    pub contributions: Vec<Contributor>,
}

/// What the market file records of one circuit's phase 2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitRecord {
    /// The transcript hash ([`phase2::Transcript::hash`]), hex.
    pub transcript: String,
    /// The circuit hash (binds the R1CS and the phase-1 file), hex.
    pub circuit_hash: String,
    /// Its contributions, oldest first.
    pub contributions: Vec<Contributor>,
}

/// How the market's three keys were made: the ceremony's public record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupRecord {
    /// Phase 1.
    pub phase1: Phase1Record,
    /// The balance circuit's phase 2.
    pub balance: CircuitRecord,
    /// The bid circuit's.
    pub bid: CircuitRecord,
    /// The settle circuit's.
    pub settle: CircuitRecord,
}

impl SetupRecord {
    /// The record of `kind`'s phase 2.
    pub fn circuit(&self, kind: CircuitKind) -> &CircuitRecord {
        match kind {
            CircuitKind::Balance => &self.balance,
            CircuitKind::Bid => &self.bid,
            CircuitKind::Settle => &self.settle,
        }
    }
}

fn invalid(what: impl Into<String>) -> CeremonyError {
    CeremonyError::Invalid(what.into())
}

/// How much of a ceremony directory [`verify_dir`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Each key against its circuit's R1CS and the phase-1 file by random linear
    /// combinations, every phase-2 proof of knowledge and hash chain
    /// ([`phase2::verify`]); phase 1's contributions are read, not re-verified.
    Keys,
    /// Also phase 1 point by point ([`phase1::verify`]) and each key's initial form
    /// recomputed as snarkjs does ([`phase2::verify_full`]): minutes.
    Full,
}

/// What a ceremony directory holds, checked.
#[derive(Clone, Debug)]
pub struct Verified {
    /// What the market file must record.
    pub record: SetupRecord,
    /// The final keys, in [`CIRCUITS`] order.
    pub zkeys: [Zkey; 3],
}

impl Verified {
    /// The verifying key `kind`'s transcript yields (what its verifier contract must hold).
    pub fn verifying_key(&self, kind: CircuitKind) -> VerifyingKey {
        let i = CIRCUITS
            .iter()
            .position(|k| *k == kind)
            .expect("one of three");
        self.zkeys[i].proving_key().vk
    }
}

/// A phase whose contributions are all beacons (or none) has secrets anyone can
/// recompute: its key protects nothing.
pub fn needs_a_secret(contributions: &[Contributor], phase: &str) -> Result<(), CeremonyError> {
    if contributions.iter().any(|c| !c.beacon) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{phase}: no contribution but beacons ({} in all): its secrets are known to anyone",
            contributions.len()
        )))
    }
}

/// Reads a ceremony file, naming it on failure.
fn read_zkey(dir: &Path, kind: CircuitKind) -> Result<Zkey, CeremonyError> {
    Ok(Zkey::read(&dir.join(zkey_file(kind)))?)
}

/// Checks the ceremony directory `dir` against `circuits` (the market's parameters and
/// the committee's flow keys): each final key is the transcript's output for that
/// circuit's R1CS and this phase-1 file, every contribution proves knowledge of its
/// secret, and each phase has at least one contribution that is not a beacon (a key
/// with none is known to anyone who reruns the beacon).
pub fn verify_dir(
    dir: &Path,
    circuits: &Circuits,
    depth: Depth,
    progress: Progress<'_>,
) -> Result<Verified, CeremonyError> {
    progress("reading the phase-1 file");
    let ptau = Ptau::read(&dir.join(PHASE1_FILE))?;
    let phase1 = match depth {
        Depth::Full => {
            progress("verifying phase 1 point by point");
            phase1::verify(&ptau, progress)?
                .contributions
                .iter()
                .map(|(name, hash, kind)| Contributor::new(name, hash, kind))
                .collect::<Vec<_>>()
        }
        Depth::Keys => phase1::contributions(&ptau)?
            .iter()
            .map(|c| Contributor::new(&c.name, &c.response_hash(), &c.kind))
            .collect(),
    };
    needs_a_secret(&phase1, "phase 1")?;
    let mut records = Vec::new();
    let mut zkeys = Vec::new();
    for kind in CIRCUITS {
        let name = kind.name();
        progress(&format!("{name}: synthesising the circuit"));
        let r1cs = R1cs::of(circuits.setup_circuit(kind))?;
        let zkey = read_zkey(dir, kind)?;
        progress(&format!("{name}: verifying the transcript"));
        let t = match depth {
            Depth::Keys => phase2::verify(&r1cs, &ptau, &zkey, progress),
            Depth::Full => phase2::verify_full(&r1cs, &ptau, &zkey, progress),
        }
        .map_err(|e| match e {
            CeremonyError::Invalid(why) => invalid(format!("{name}: {why}")),
            e => e,
        })?;
        let contributions: Vec<Contributor> = t
            .contributions
            .iter()
            .map(|c| Contributor::new(&c.name, &c.hash, &c.kind))
            .collect();
        needs_a_secret(&contributions, name)?;
        records.push(CircuitRecord {
            transcript: hex::encode(t.hash()),
            circuit_hash: hex::encode(t.cs_hash),
            contributions,
        });
        zkeys.push(zkey);
    }
    let [balance, bid, settle]: [CircuitRecord; 3] = records.try_into().expect("three circuits");
    Ok(Verified {
        record: SetupRecord {
            phase1: Phase1Record {
                power: ptau.power,
                contributions: phase1,
            },
            balance,
            bid,
            settle,
        },
        zkeys: zkeys.try_into().expect("three circuits"),
    })
}

/// Installs the three keys of `verified` into `store` under `circuits`' key names and
/// returns them as the prover's key set.
pub fn install(
    verified: &Verified,
    circuits: Circuits,
    store: &KeyStore,
) -> Result<CircuitKeys, CeremonyError> {
    let mut pairs = Vec::new();
    for (kind, zkey) in CIRCUITS.iter().zip(&verified.zkeys) {
        let shape =
            sealgrid_prover::CircuitShape::of(circuits.setup_circuit(*kind)).map_err(|e| {
                CeremonyError::Invalid(format!("{}: measuring the circuit: {e}", kind.name()))
            })?;
        pairs.push(phase2::install(
            store,
            &circuits.key_name(*kind),
            shape,
            zkey,
        )?);
    }
    let [balance, bid, settle]: [sealgrid_prover::KeyPair; 3] =
        pairs.try_into().expect("three circuits");
    Ok(CircuitKeys {
        circuits,
        balance,
        bid,
        settle,
    })
}

/// The market's keys from the ceremony directory `dir`: checked ([`verify_dir`], at
/// [`Depth::Keys`]) against `circuits`, installed into `store`, with the record the
/// market file keeps.
pub fn keys_from_dir(
    dir: &Path,
    circuits: Circuits,
    store: &KeyStore,
    progress: Progress<'_>,
) -> Result<(CircuitKeys, SetupRecord), CeremonyError> {
    let verified = verify_dir(dir, &circuits, Depth::Keys, progress)?;
    progress("installing the keys");
    let keys = install(&verified, circuits, store)?;
    Ok((keys, verified.record))
}

/// A ceremony run on one machine (demos, tests, a pilot's dry run): who contributes, in
/// order, and the beacon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCeremony {
    /// The contributors' names, in order (each contributes to phase 1 and to every
    /// circuit's phase 2).
    pub parties: Vec<String>,
    /// The beacon's public randomness (1 to 255 bytes).
    pub beacon: Vec<u8>,
    /// log2 of the beacon's SHA-256 iterations (10 to 63).
    pub beacon_iterations_exp: u8,
}

impl LocalCeremony {
    /// The demo's: the operator, the regulator and a community representative, then a
    /// beacon of `beacon` with 2^10 iterations.
    pub fn demo(beacon: &[u8]) -> Self {
        LocalCeremony {
            parties: ["operator", "regulator", "community"]
                .map(String::from)
                .to_vec(),
            beacon: beacon.to_vec(),
            beacon_iterations_exp: 10,
        }
    }
}

fn atomic_write(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), CeremonyError>,
) -> Result<(), CeremonyError> {
    let tmp = path.with_extension("tmp");
    write(&tmp)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        CeremonyError::File(crate::FileError::Io {
            path: path.display().to_string(),
            error: e,
        })
    })
}

/// The phase-1 file of `power` for `plan` in `cache`: reused if a previous run left it,
/// else made (new, each party's contribution, the beacon, prepare) and left there.
/// Phase 1 serves every circuit up to its power, so one file serves every market of the
/// machine; a pilot would use a public transcript (Hermez's) instead.
pub fn local_phase1(
    cache: &Path,
    power: u32,
    plan: &LocalCeremony,
    progress: Progress<'_>,
) -> Result<PathBuf, CeremonyError> {
    let path = cache.join(format!("phase1-{power}.ptau"));
    if path.exists() {
        progress(&format!("phase 1: reusing {}", path.display()));
        return Ok(path);
    }
    std::fs::create_dir_all(cache).map_err(|e| {
        CeremonyError::File(crate::FileError::Io {
            path: cache.display().to_string(),
            error: e,
        })
    })?;
    progress(&format!("phase 1 (power {power}): new"));
    let mut ptau = phase1::new_ptau(power)?;
    for party in &plan.parties {
        progress(&format!("phase 1: {party} contributes"));
        ptau = phase1::contribute(&ptau, Some(party), b"", progress)?.0;
    }
    progress("phase 1: beacon");
    ptau = phase1::beacon(
        &ptau,
        Some("beacon"),
        &plan.beacon,
        plan.beacon_iterations_exp,
        progress,
    )?
    .0;
    progress("phase 1: preparing the Lagrange sections");
    let prepared = phase1::prepare(&ptau, progress)?;
    atomic_write(&path, |tmp| Ok(prepared.write(tmp)?))?;
    Ok(path)
}

/// Runs the whole ceremony of `circuits` into `dir`: the phase-1 file (from
/// [`local_phase1`] in `phase1_cache`, copied in), then per circuit `zkey new`, one
/// contribution per party and the beacon. Each step reads the file the previous one
/// wrote and writes its own (`bid.0.zkey`, `bid.1.zkey`, …), as separate invocations
/// would; the final key is `bid.zkey`, the intermediate files are removed (the final
/// one carries every contribution's public key).
pub fn run_local(
    dir: &Path,
    circuits: &Circuits,
    plan: &LocalCeremony,
    phase1_cache: &Path,
    progress: Progress<'_>,
) -> Result<(), CeremonyError> {
    let io = |path: &Path, e: std::io::Error| {
        CeremonyError::File(crate::FileError::Io {
            path: path.display().to_string(),
            error: e,
        })
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut r1cs = Vec::new();
    for kind in CIRCUITS {
        progress(&format!("{}: synthesising the circuit", kind.name()));
        r1cs.push(R1cs::of(circuits.setup_circuit(kind))?);
    }
    let power = r1cs
        .iter()
        .map(|r| r.domain_size().trailing_zeros())
        .max()
        .expect("three circuits");
    let source = local_phase1(phase1_cache, power, plan, progress)?;
    let phase1_path = dir.join(PHASE1_FILE);
    atomic_write(&phase1_path, |tmp| {
        std::fs::copy(&source, tmp)
            .map(|_| ())
            .map_err(|e| io(tmp, e))
    })?;
    let ptau = Ptau::read(&phase1_path)?;
    for (kind, r1cs) in CIRCUITS.into_iter().zip(&r1cs) {
        let name = kind.name();
        let step = |i: usize| dir.join(format!("{name}.{i}.zkey"));
        progress(&format!("{name}: zkey new"));
        phase2::new_zkey(r1cs, &ptau, progress)?.write(&step(0))?;
        for (i, party) in plan.parties.iter().enumerate() {
            progress(&format!("{name}: {party} contributes"));
            let before = Zkey::read(&step(i))?;
            let (after, _hash) = phase2::contribute(&before, Some(party), b"", progress);
            after.write(&step(i + 1))?;
        }
        progress(&format!("{name}: beacon"));
        let n = plan.parties.len();
        let before = Zkey::read(&step(n))?;
        let (last, _hash) = phase2::beacon(
            &before,
            Some("beacon"),
            &plan.beacon,
            plan.beacon_iterations_exp,
            progress,
        )?;
        atomic_write(&dir.join(zkey_file(kind)), |tmp| Ok(last.write(tmp)?))?;
        for i in 0..=n {
            std::fs::remove_file(step(i)).map_err(|e| io(&step(i), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, beacon: bool) -> Contributor {
        Contributor {
            name: Some(name.into()),
            hash: "00".into(),
            beacon,
        }
    }

    #[test]
    fn a_phase_needs_one_contribution_that_is_not_a_beacon() {
        assert!(needs_a_secret(&[], "bid").is_err());
        let e = needs_a_secret(&[c("beacon", true)], "bid").unwrap_err();
        assert!(
            e.to_string()
                .contains("bid: no contribution but beacons (1 in all)"),
            "{e}"
        );
        assert!(needs_a_secret(&[c("operator", false), c("beacon", true)], "bid").is_ok());
        assert!(needs_a_secret(&[c("operator", false)], "bid").is_ok());
    }

    #[test]
    fn the_record_reads_back_as_written() {
        let r = CircuitRecord {
            transcript: "ab".repeat(64),
            circuit_hash: "cd".repeat(64),
            contributions: vec![c("operator", false), c("beacon", true)],
        };
        let setup = SetupRecord {
            phase1: Phase1Record {
                power: 14,
                contributions: vec![c("regulator", false)],
            },
            balance: r.clone(),
            bid: r.clone(),
            settle: r,
        };
        let json = serde_json::to_string(&setup).expect("serialises");
        // a secret contribution carries no `beacon` field
        assert!(
            json.contains(r#"{"name":"operator","hash":"00"}"#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<SetupRecord>(&json).expect("parses"),
            setup
        );
    }
}
