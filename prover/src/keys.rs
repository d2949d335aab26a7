//! A key store over a directory: Groth16 keys in files named by their hash.
//!
//! `setup` writes, for a circuit named `bid`:
//!
//! - `bid-<h>.pk`: the proving key, `<h>` the first 16 hex digits of the SHA-256 of
//!   the file's bytes;
//! - `bid-<h'>.vk`: the verifying key, named the same way;
//! - `bid.keys.json`: the manifest naming the two and the circuit's [`CircuitShape`],
//!   written last, so that it only ever names complete keys.
//!
//! Every file is written to a temporary file in the same directory, synced and renamed
//! into place: a crash leaves the old file or the new one, never half a key. Loading
//! recomputes the hash and refuses a file whose bytes no longer match its name.
//!
//! Keys are ark-serialize *uncompressed*: compressed points need a square root per
//! point on load. Measured with `examples/key_sizes.rs` (30k constraints, dev profile,
//! 2 busy cores): proving key 11.7 MB uncompressed, loaded in 0.18 s unchecked or
//! 6.6 s with point validation; 5.9 MB compressed, 8.4 s unchecked, 17.8 s checked.
//! Twice the disk for a load some 40 times faster.
//!
//! The hash guards against corruption and against a key swapped under an old name;
//! it does not authenticate who made the key. Whoever may write the directory may
//! write a key and name it by its own hash: keep the directory as trusted as the keys.
//! There is no lock: two processes setting up the same circuit at once each get a
//! consistent key pair, and the manifest written last wins.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ark_relations::gr1cs::{ConstraintSynthesizer, SynthesisError};
use ark_serialize::{
    CanonicalDeserialize, CanonicalSerialize, Compress, SerializationError, Validate,
};
use ark_std::rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::progress::{timed, Event, Phase, Progress};
use crate::qap::Groth16;
use crate::shape::{CircuitShape, ShapeError};
use crate::{Fr, PreparedVerifyingKey, ProvingKey, VerifyingKey};

/// Hex digits of the SHA-256 kept in a key's file name (64 bits).
const HASH_HEX_LEN: usize = 16;
/// Longest circuit name accepted.
const MAX_NAME_LEN: usize = 64;

/// Proving keys are deserialised without point validation: their bytes are hash
/// checked, a proving key only ever makes proofs (which every verifier checks against
/// the verifying key), and validating the subgroup of every point of a large proving
/// key costs more than the rest of the load. Verifying keys are small and always
/// validated.
const PROVING_KEY_VALIDATE: Validate = Validate::No;

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A circuit name must be 1 to 64 characters of `[a-z0-9_-]`.
    #[error("invalid circuit name {0:?}: use 1 to 64 characters of [a-z0-9_-]")]
    InvalidCircuitName(String),
    /// A key file name is not `<circuit>-<16 hex>.pk` or `.vk`.
    #[error("invalid key file name {0:?}: expected <circuit>-<16 hex digits>.pk or .vk")]
    InvalidKeyFileName(String),
    /// A key file's bytes do not hash to the hash in its name.
    #[error("key file {file} is refused: its bytes hash to {actual}, not to the {expected} its name claims")]
    HashMismatch {
        /// The key file.
        file: String,
        /// The hash in the file name.
        expected: String,
        /// The first 16 hex digits of the SHA-256 of the file's bytes.
        actual: String,
    },
    /// A key of one kind was asked for with the id of the other.
    #[error("{id} is not a {expected:?} key")]
    WrongKind {
        /// The id given.
        id: KeyId,
        /// The kind that was needed.
        expected: KeyKind,
    },
    /// A key file matched its hash but did not deserialise (or failed validation).
    #[error("key file {file} does not deserialise: {source}")]
    Deserialize {
        /// The key file.
        file: String,
        /// The underlying error.
        #[source]
        source: SerializationError,
    },
    /// Serialising a key failed.
    #[error("serialising a key failed: {0}")]
    Serialize(#[source] SerializationError),
    /// The Groth16 setup failed.
    #[error("setup of circuit {circuit} failed: {source}")]
    Setup {
        /// The circuit name.
        circuit: String,
        /// The underlying error.
        #[source]
        source: SynthesisError,
    },
    /// The circuit's shape could not be measured.
    #[error("measuring circuit {circuit} failed: {source}")]
    Shape {
        /// The circuit name.
        circuit: String,
        /// The underlying error.
        #[source]
        source: ShapeError,
    },
    /// A manifest did not parse or names keys of another circuit.
    #[error("manifest {path} is invalid: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The verifying key named by a manifest is not the one inside its proving key.
    #[error("keys {pk} and {vk} do not belong together")]
    PairMismatch {
        /// The proving key.
        pk: KeyId,
        /// The verifying key.
        vk: KeyId,
    },
}

fn io_err<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> KeyError + 'p {
    move |source| KeyError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Whether a key file holds a proving or a verifying key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A proving key, extension `.pk`.
    Proving,
    /// A verifying key, extension `.vk`.
    Verifying,
}

impl KeyKind {
    fn extension(self) -> &'static str {
        match self {
            KeyKind::Proving => "pk",
            KeyKind::Verifying => "vk",
        }
    }
}

/// Identifies one key file: circuit name, kind and the hash of the file's bytes.
///
/// Its string form is the file name, `<circuit>-<16 hex>.pk` or `.vk`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId {
    circuit: String,
    kind: KeyKind,
    hash: String,
}

impl KeyId {
    /// The id that the key file `bytes` of `circuit` gets.
    pub fn for_bytes(circuit: &str, kind: KeyKind, bytes: &[u8]) -> Result<Self, KeyError> {
        check_circuit_name(circuit)?;
        Ok(KeyId {
            circuit: circuit.to_owned(),
            kind,
            hash: short_hash(bytes),
        })
    }

    /// The circuit the key belongs to.
    pub fn circuit(&self) -> &str {
        &self.circuit
    }

    /// Proving or verifying.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The first 16 hex digits of the SHA-256 of the key file.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The key's file name.
    pub fn file_name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}.{}",
            self.circuit,
            self.hash,
            self.kind.extension()
        )
    }
}

impl FromStr for KeyId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::InvalidKeyFileName(s.to_owned());
        let (stem, ext) = s.rsplit_once('.').ok_or_else(bad)?;
        let kind = match ext {
            "pk" => KeyKind::Proving,
            "vk" => KeyKind::Verifying,
            _ => return Err(bad()),
        };
        let (circuit, hash) = stem.rsplit_once('-').ok_or_else(bad)?;
        let lower_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if hash.len() != HASH_HEX_LEN || !hash.chars().all(lower_hex) {
            return Err(bad());
        }
        check_circuit_name(circuit).map_err(|_| bad())?;
        Ok(KeyId {
            circuit: circuit.to_owned(),
            kind,
            hash: hash.to_owned(),
        })
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The R1CS-to-QAP reduction a proving key was made for ([`crate::qap`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// arkworks' default: the reduction of keys made before [`crate::qap`]. A manifest
    /// without a `reduction` field names such keys; they are stale (the prover no
    /// longer uses it) and are set up again.
    #[default]
    Libsnark,
    /// snarkjs's reduction, the one every key now uses.
    Circom,
}

/// A circuit's key pair as recorded in its manifest `<circuit>.keys.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPairId {
    /// The circuit name.
    pub circuit: String,
    /// The proving key file.
    pub proving: KeyId,
    /// The verifying key file.
    pub verifying: KeyId,
    /// The shape of the circuit the keys were made for.
    pub shape: CircuitShape,
    /// The reduction the proving key was made for: always [`Reduction::Circom`] for
    /// keys this version writes.
    #[serde(default)]
    pub reduction: Reduction,
}

/// A loaded key pair with its ids.
#[derive(Clone)]
pub struct KeyPair {
    /// The ids of the two key files.
    pub id: KeyPairId,
    /// The proving key.
    pub pk: ProvingKey,
    /// The verifying key (equal to `pk.vk`).
    pub vk: VerifyingKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// The verifying key prepared for verification (computes one pairing).
    pub fn prepared_vk(&self) -> PreparedVerifyingKey {
        crate::verify::prepare(&self.vk)
    }
}

/// Groth16 keys in a directory.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// Opens (and creates if needed) the key directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, KeyError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        Ok(KeyStore { dir })
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a key file.
    pub fn path_of(&self, id: &KeyId) -> PathBuf {
        self.dir.join(id.file_name())
    }

    fn manifest_path(&self, circuit: &str) -> PathBuf {
        self.dir.join(format!("{circuit}.keys.json"))
    }

    /// Runs a fresh Groth16 setup for `circuit` (synthesised without a witness), writes
    /// both keys and the manifest, and returns the pair. `rng` draws the toxic waste:
    /// use a cryptographic RNG and do not keep its seed.
    pub fn setup<C, R>(
        &self,
        circuit_name: &str,
        circuit: C,
        rng: &mut R,
        progress: &dyn Progress,
    ) -> Result<KeyPair, KeyError>
    where
        C: ConstraintSynthesizer<Fr> + Clone,
        R: RngCore + CryptoRng,
    {
        check_circuit_name(circuit_name)?;
        let shape = self.measure(circuit_name, circuit.clone(), progress)?;
        self.setup_with_shape(circuit_name, circuit, shape, rng, progress)
    }

    /// The key pair recorded for `circuit_name`, if any (the keys are not loaded).
    pub fn lookup(&self, circuit_name: &str) -> Result<Option<KeyPairId>, KeyError> {
        check_circuit_name(circuit_name)?;
        let path = self.manifest_path(circuit_name);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("reading", &path)(e)),
        };
        let id: KeyPairId = serde_json::from_str(&text).map_err(|e| KeyError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let consistent = id.circuit == circuit_name
            && id.proving.circuit == circuit_name
            && id.verifying.circuit == circuit_name
            && id.proving.kind == KeyKind::Proving
            && id.verifying.kind == KeyKind::Verifying;
        if !consistent {
            return Err(KeyError::Manifest {
                path,
                reason: format!("it names keys of another circuit or kind than {circuit_name}"),
            });
        }
        Ok(Some(id))
    }

    /// The keys for `circuit_name`: the cached pair when the manifest's shape matches
    /// the circuit's, otherwise a fresh setup (which replaces a stale pair and deletes
    /// its files). A cached key whose hash differs from its name is refused, not
    /// replaced: that is corruption or tampering, and someone should look.
    pub fn get_or_setup<C, R>(
        &self,
        circuit_name: &str,
        circuit: C,
        rng: &mut R,
        progress: &dyn Progress,
    ) -> Result<KeyPair, KeyError>
    where
        C: ConstraintSynthesizer<Fr> + Clone,
        R: RngCore + CryptoRng,
    {
        check_circuit_name(circuit_name)?;
        let (shape, matrices) = timed(progress, Phase::Shape, circuit_name, || {
            CircuitShape::with_matrices(crate::DynCircuit::new(circuit.clone()))
        })
        .map_err(|source| KeyError::Shape {
            circuit: circuit_name.to_owned(),
            source,
        })?;
        let stale = match self.lookup(circuit_name)? {
            Some(id) if id.shape == shape && id.reduction == Reduction::Circom => {
                progress.event(&Event::CacheHit {
                    circuit: circuit_name.to_owned(),
                });
                match self.load_pair(&id, progress) {
                    Ok(pair) => {
                        // The key was made from exactly these matrices (the shape's
                        // digest covers them): the first proof need not build them again.
                        crate::prove::keep_matrices(&pair.pk, matrices);
                        return Ok(pair);
                    }
                    // A manifest naming a deleted key: set up again.
                    Err(KeyError::Io { source, .. })
                        if source.kind() == io::ErrorKind::NotFound =>
                    {
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
            Some(id) => {
                progress.event(&Event::CacheStale {
                    circuit: circuit_name.to_owned(),
                });
                Some(id)
            }
            None => None,
        };
        let pair = self.setup_with_shape(circuit_name, circuit, shape, rng, progress)?;
        if let Some(old) = stale {
            for old_id in [&old.proving, &old.verifying] {
                if *old_id != pair.id.proving && *old_id != pair.id.verifying {
                    // Best effort: a stale key left behind costs disk space, not safety.
                    if let Err(e) = fs::remove_file(self.path_of(old_id)) {
                        if e.kind() != io::ErrorKind::NotFound {
                            return Err(io_err("removing", &self.path_of(old_id))(e));
                        }
                    }
                }
            }
        }
        Ok(pair)
    }

    /// Loads both keys of a pair and checks that the verifying key is the proving
    /// key's.
    pub fn load_pair(&self, id: &KeyPairId, progress: &dyn Progress) -> Result<KeyPair, KeyError> {
        if id.reduction != Reduction::Circom {
            return Err(KeyError::Manifest {
                path: self.manifest_path(&id.circuit),
                reason: format!(
                    "its keys were made for the {:?} reduction; this prover uses snarkjs's \
                     (circom): set them up again",
                    id.reduction
                ),
            });
        }
        let pk = self.load_proving_key(&id.proving, progress)?;
        let vk = self.load_verifying_key(&id.verifying)?;
        if pk.vk != vk {
            return Err(KeyError::PairMismatch {
                pk: id.proving.clone(),
                vk: id.verifying.clone(),
            });
        }
        Ok(KeyPair {
            id: id.clone(),
            pk,
            vk,
        })
    }

    /// Loads a proving key, refusing it if its bytes do not match its id's hash.
    pub fn load_proving_key(
        &self,
        id: &KeyId,
        progress: &dyn Progress,
    ) -> Result<ProvingKey, KeyError> {
        expect_kind(id, KeyKind::Proving)?;
        timed(progress, Phase::LoadKey, &id.file_name(), || {
            let bytes = self.read_checked(id)?;
            ProvingKey::deserialize_with_mode(&bytes[..], Compress::No, PROVING_KEY_VALIDATE)
                .map_err(|source| KeyError::Deserialize {
                    file: id.file_name(),
                    source,
                })
        })
    }

    /// Loads a verifying key, refusing it if its bytes do not match its id's hash,
    /// and checking every point (on the curve, in the subgroup).
    pub fn load_verifying_key(&self, id: &KeyId) -> Result<VerifyingKey, KeyError> {
        expect_kind(id, KeyKind::Verifying)?;
        let bytes = self.read_checked(id)?;
        VerifyingKey::deserialize_with_mode(&bytes[..], Compress::No, Validate::Yes).map_err(
            |source| KeyError::Deserialize {
                file: id.file_name(),
                source,
            },
        )
    }

    /// Loads a verifying key and prepares it for verification.
    pub fn load_prepared_verifying_key(
        &self,
        id: &KeyId,
    ) -> Result<PreparedVerifyingKey, KeyError> {
        Ok(crate::verify::prepare(&self.load_verifying_key(id)?))
    }

    fn measure<C: ConstraintSynthesizer<Fr>>(
        &self,
        circuit_name: &str,
        circuit: C,
        progress: &dyn Progress,
    ) -> Result<CircuitShape, KeyError> {
        timed(progress, Phase::Shape, circuit_name, || {
            CircuitShape::of(circuit)
        })
        .map_err(|source| KeyError::Shape {
            circuit: circuit_name.to_owned(),
            source,
        })
    }

    fn setup_with_shape<C, R>(
        &self,
        circuit_name: &str,
        circuit: C,
        shape: CircuitShape,
        rng: &mut R,
        progress: &dyn Progress,
    ) -> Result<KeyPair, KeyError>
    where
        C: ConstraintSynthesizer<Fr>,
        R: RngCore + CryptoRng,
    {
        self.setup_dyn(
            circuit_name,
            crate::DynCircuit::new(circuit),
            shape,
            &mut crate::DynRng::new(rng),
            progress,
        )
    }

    /// The setup's body, compiled once in this crate ([`crate::dyn_circuit`]).
    fn setup_dyn(
        &self,
        circuit_name: &str,
        circuit: crate::DynCircuit<'_>,
        shape: CircuitShape,
        rng: &mut crate::DynRng<'_>,
        progress: &dyn Progress,
    ) -> Result<KeyPair, KeyError> {
        let pk = timed(progress, Phase::Setup, circuit_name, || {
            Groth16::generate_random_parameters_with_reduction(circuit, rng)
        })
        .map_err(|source| KeyError::Setup {
            circuit: circuit_name.to_owned(),
            source,
        })?;
        self.install(circuit_name, shape, pk, progress)
    }

    /// Writes a proving key made elsewhere (a ceremony's output, `sealgrid-ceremony
    /// zkey export`) for the circuit of shape `shape`, its verifying key and the
    /// manifest, replacing the circuit's current pair in the manifest. The key must be
    /// made for [`Reduction::Circom`]; the caller vouches that it fits `shape` (the
    /// ceremony checks the key against the circuit's R1CS).
    pub fn install(
        &self,
        circuit_name: &str,
        shape: CircuitShape,
        pk: ProvingKey,
        progress: &dyn Progress,
    ) -> Result<KeyPair, KeyError> {
        check_circuit_name(circuit_name)?;
        let vk = pk.vk.clone();
        let proving = self.write_key(circuit_name, KeyKind::Proving, &pk, progress)?;
        let verifying = self.write_key(circuit_name, KeyKind::Verifying, &vk, progress)?;
        let id = KeyPairId {
            circuit: circuit_name.to_owned(),
            proving,
            verifying,
            shape,
            reduction: Reduction::Circom,
        };
        let manifest = serde_json::to_vec_pretty(&id).map_err(|e| KeyError::Manifest {
            path: self.manifest_path(circuit_name),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir, &format!("{circuit_name}.keys.json"), &manifest)?;
        Ok(KeyPair { id, pk, vk })
    }

    fn write_key<T: CanonicalSerialize>(
        &self,
        circuit_name: &str,
        kind: KeyKind,
        key: &T,
        progress: &dyn Progress,
    ) -> Result<KeyId, KeyError> {
        let subject = format!("{circuit_name}.{}", kind.extension());
        timed(progress, Phase::WriteKey, &subject, || {
            let mut bytes = Vec::with_capacity(key.uncompressed_size());
            key.serialize_uncompressed(&mut bytes)
                .map_err(KeyError::Serialize)?;
            let id = KeyId::for_bytes(circuit_name, kind, &bytes)?;
            write_atomic(&self.dir, &id.file_name(), &bytes)?;
            Ok(id)
        })
    }

    fn read_checked(&self, id: &KeyId) -> Result<Vec<u8>, KeyError> {
        let path = self.path_of(id);
        let bytes = fs::read(&path).map_err(io_err("reading", &path))?;
        let actual = short_hash(&bytes);
        if actual != id.hash {
            return Err(KeyError::HashMismatch {
                file: id.file_name(),
                expected: id.hash.clone(),
                actual,
            });
        }
        Ok(bytes)
    }
}

fn expect_kind(id: &KeyId, expected: KeyKind) -> Result<(), KeyError> {
    if id.kind == expected {
        Ok(())
    } else {
        Err(KeyError::WrongKind {
            id: id.clone(),
            expected,
        })
    }
}

fn check_circuit_name(name: &str) -> Result<(), KeyError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(ok_char) {
        return Err(KeyError::InvalidCircuitName(name.to_owned()));
    }
    Ok(())
}

fn short_hash(bytes: &[u8]) -> String {
    let mut hex = hex::encode(Sha256::digest(bytes));
    hex.truncate(HASH_HEX_LEN);
    hex
}

/// Writes `bytes` to `dir/name` through a synced temporary file and a rename.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), KeyError> {
    let target = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io_err("creating a temporary file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io_err("writing", tmp.path()))?;
    tmp.persist(&target)
        .map_err(|e| io_err("renaming into", &target)(e.error))?;
    // Make the rename itself durable.
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing", dir))?;
    Ok(())
}
