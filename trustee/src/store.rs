//! A trustee's secrets at rest: its DKG [`KeyShare`] and its secp256k1 signing key in one
//! file, encrypted with ChaCha20-Poly1305 under a key that Argon2id derives from a
//! passphrase.
//!
//! File layout (all integers little-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 8 | magic `SGTSHR01` (format version 1) |
//! | 4, 4, 4 | Argon2id memory (KiB), passes, lanes |
//! | 16 | salt |
//! | 12 | nonce |
//! | rest | ciphertext ‖ 16-byte tag |
//!
//! The whole header is the AEAD's associated data, so a changed parameter, salt or nonce
//! fails authentication like a changed ciphertext does; a wrong passphrase and a tampered
//! file give the same [`StoreError::Decrypt`] (the AEAD cannot tell them apart). The
//! plaintext is `id: u16 ‖ count: u32 ‖ count × 32-byte scalar (LE) ‖ 32-byte signing key
//! (BE)`, kept in zeroizing buffers. A file is written to a temporary sibling, synced,
//! then renamed over the target, so a crash leaves the old file or the new one.
//!
//! What zeroizing cannot cover: the arkworks scalars inside [`KeyShare`] and k256's key are
//! not wiped on drop; this module wipes the buffers it owns (plaintext, derived key).

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sealgrid_committee::dkg::KeyShare;
use sealgrid_committee::sign::TrusteeSigningKey;
use sealgrid_committee::{wire, TrusteeId};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const MAGIC: &[u8; 8] = b"SGTSHR01";
const HEADER: usize = 8 + 12 + 16 + 12;
/// Refuse parameters a tampered header could use to exhaust memory or time before the
/// tag is even checked.
const MAX_MEMORY_KIB: u32 = 1 << 21;
const MAX_PASSES: u32 = 64;
const MAX_LANES: u32 = 16;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub passes: u32,
    /// Lanes.
    pub lanes: u32,
}

impl KdfParams {
    /// The default for share files: 64 MiB, 3 passes, 1 lane (above OWASP's Argon2id
    /// minimum of 19 MiB and 2 passes).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        passes: 3,
        lanes: 1,
    };

    /// Cheap parameters for tests only.
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };
}

/// A passphrase; `Debug` does not print it, drop wipes it.
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// A passphrase from a string (refused if empty).
    pub fn new(s: impl Into<String>) -> Result<Passphrase, StoreError> {
        let s = Zeroizing::new(s.into());
        if s.is_empty() {
            return Err(StoreError::EmptyPassphrase);
        }
        Ok(Passphrase(s))
    }

    /// From an environment variable.
    pub fn from_env(var: &str) -> Result<Passphrase, StoreError> {
        Passphrase::new(
            std::env::var(var).map_err(|_| StoreError::MissingPassphrase {
                place: format!("environment variable {var}"),
            })?,
        )
    }

    /// From the first line of a file.
    pub fn from_file(path: &Path) -> Result<Passphrase, StoreError> {
        let s = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| StoreError::Io {
            path: path.to_owned(),
            source: e,
        })?);
        Passphrase::new(s.lines().next().unwrap_or(""))
    }
}

/// Why a share file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a share file (no magic, too short, or an unknown version).
    #[error("{} is not a sealgrid trustee share file (version 1)", .0.display())]
    NotAShareFile(PathBuf),
    /// The header's KDF parameters are out of bounds.
    #[error("{}: KDF parameters out of bounds", .0.display())]
    KdfBounds(PathBuf),
    /// Authentication failed.
    #[error("{}: cannot decrypt: wrong passphrase, or the file was modified", .0.display())]
    Decrypt(PathBuf),
    /// Decrypted, but the content is malformed (written by another tool?).
    #[error("{}: decrypted content is malformed: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The passphrase is empty.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// No passphrase was provided.
    #[error("no passphrase: {place} is not set")]
    MissingPassphrase {
        /// Where it was looked for.
        place: String,
    },
    /// Bad KDF parameters.
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

/// What a share file holds. `Debug` prints the trustee id and signing address only.
#[derive(Debug, Clone)]
pub struct TrusteeSecrets {
    /// The DKG key share.
    pub key: KeyShare,
    /// The signing key.
    pub signer: TrusteeSigningKey,
}

fn derive_key(
    pass: &Passphrase,
    salt: &[u8],
    p: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let params = Params::new(p.memory_kib, p.passes, p.lanes, Some(32))
        .map_err(|e| StoreError::Kdf(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pass.0.as_bytes(), salt, key.as_mut())
        .map_err(|e| StoreError::Kdf(e.to_string()))?;
    Ok(key)
}

fn encode(secrets: &TrusteeSecrets) -> Zeroizing<Vec<u8>> {
    let key = &secrets.key;
    let mut out = Zeroizing::new(Vec::with_capacity(6 + 32 * key.len() + 32));
    out.extend_from_slice(&key.id.0.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    for j in 0..key.len() {
        let x = key.share(j).expect("j < len");
        out.extend_from_slice(Zeroizing::new(wire::scalar_to_bytes(x)).as_ref());
    }
    out.extend_from_slice(Zeroizing::new(secrets.signer.to_bytes()).as_ref());
    out
}

fn decode(b: &[u8], path: &Path) -> Result<TrusteeSecrets, StoreError> {
    let bad = |reason: &str| StoreError::Malformed {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if b.len() < 6 {
        return Err(bad("too short"));
    }
    let id = u16::from_le_bytes([b[0], b[1]]);
    let count = u32::from_le_bytes([b[2], b[3], b[4], b[5]]) as usize;
    if id == 0 || b.len() != 6 + 32 * count + 32 {
        return Err(bad("wrong id or length"));
    }
    let shares = b[6..6 + 32 * count]
        .chunks(32)
        .map(|c| wire::scalar_from_bytes(c).map_err(|_| bad("share not below l")))
        .collect::<Result<Vec<_>, _>>()?;
    let sk = Zeroizing::new(wire::exact::<32>(&b[6 + 32 * count..]).map_err(|e| bad(&e))?);
    let signer = TrusteeSigningKey::from_bytes(&sk).map_err(|_| bad("invalid signing key"))?;
    Ok(TrusteeSecrets {
        key: KeyShare::from_parts(TrusteeId(id), shares),
        signer,
    })
}

/// Encrypts `secrets` under `pass` and writes them to `path` atomically (mode 0600 on
/// Unix).
pub fn seal(
    path: &Path,
    secrets: &TrusteeSecrets,
    pass: &Passphrase,
    kdf: KdfParams,
) -> Result<(), StoreError> {
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    for v in [kdf.memory_kib, kdf.passes, kdf.lanes] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    let mut salt_nonce = [0u8; 28];
    rand::rngs::OsRng.fill_bytes(&mut salt_nonce);
    header.extend_from_slice(&salt_nonce);
    let key = derive_key(pass, &salt_nonce[..16], kdf)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let plaintext = encode(secrets);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&salt_nonce[16..]),
            Payload {
                msg: &plaintext,
                aad: &header,
            },
        )
        .map_err(|_| StoreError::Kdf("encryption failed".into()))?;
    header.extend_from_slice(&ct);
    write_atomically(path, &header)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |e| StoreError::Io {
        path: path.to_owned(),
        source: e,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist.
        std::fs::remove_file(&tmp).ok();
    }
    result.map_err(io)
}

/// Reads and decrypts a share file.
pub fn open(path: &Path, pass: &Passphrase) -> Result<TrusteeSecrets, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::Io {
        path: path.to_owned(),
        source: e,
    })?;
    if bytes.len() < HEADER + 16 || &bytes[..8] != MAGIC {
        return Err(StoreError::NotAShareFile(path.to_owned()));
    }
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let kdf = KdfParams {
        memory_kib: word(8),
        passes: word(12),
        lanes: word(16),
    };
    if kdf.memory_kib > MAX_MEMORY_KIB || kdf.passes > MAX_PASSES || kdf.lanes > MAX_LANES {
        return Err(StoreError::KdfBounds(path.to_owned()));
    }
    let (header, ct) = bytes.split_at(HEADER);
    // A header with invalid Argon2 parameters can only come from tampering.
    let key =
        derive_key(pass, &header[20..36], kdf).map_err(|_| StoreError::Decrypt(path.to_owned()))?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(&header[36..48]),
                Payload {
                    msg: ct,
                    aad: header,
                },
            )
            .map_err(|_| StoreError::Decrypt(path.to_owned()))?,
    );
    decode(&plaintext, path)
}

/// One disclosure a trustee answered (`docs/PROTOCOL.md` §7, "Disclosure records"): one
/// JSON object per line of the trustee's disclosure log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DisclosureRecord {
    /// When, Unix seconds (the trustee's clock).
    pub time: u64,
    /// The trustee that answered.
    pub trustee: u16,
    /// The round.
    pub round: u64,
    /// The bid opened (its commitment, 0x and 64 hex digits).
    pub bid: String,
    /// The auditor's name on the trustee's list.
    pub auditor: String,
    /// The caller's certificate, `sha256:` and 64 hex digits.
    pub caller: String,
    /// SHA-256 of the previous line (without its newline), 0x and 64 hex digits; zeros
    /// for the first: a line removed or changed in the middle breaks the chain.
    pub prev: String,
}

fn hex0x(b: &[u8]) -> String {
    let mut s = String::from("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

impl DisclosureRecord {
    /// A record stamped with the current time; `prev` is set by [`DisclosureLog::append`].
    pub fn now(
        trustee: u16,
        round: u64,
        bid: sealgrid_committee::BidId,
        auditor: &str,
        caller: sealgrid_proto::tls::CallerId,
    ) -> DisclosureRecord {
        DisclosureRecord {
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            trustee,
            round,
            bid: hex0x(&bid.0),
            auditor: auditor.to_owned(),
            caller: caller.hex(),
            prev: String::new(),
        }
    }
}

/// A trustee's append-only log of the disclosures it answered: a file of JSON lines,
/// each synced to disk before the shares it records leave the trustee, each chained to
/// the one before by its hash.
#[derive(Debug)]
pub struct DisclosureLog {
    path: PathBuf,
    state: std::sync::Mutex<(std::fs::File, [u8; 32])>,
}

fn line_hash(line: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(line).into()
}

impl DisclosureLog {
    /// Opens (or creates, mode 0600) the log at `path` for appending; the existing lines
    /// are read and their chain checked first.
    pub fn open(path: &Path) -> Result<DisclosureLog, StoreError> {
        let io = |e| StoreError::Io {
            path: path.to_owned(),
            source: e,
        };
        let last = match std::fs::metadata(path) {
            Ok(_) => read_disclosures(path)?.1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => [0; 32],
            Err(e) => return Err(io(e)),
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(path).map_err(io)?;
        Ok(DisclosureLog {
            path: path.to_owned(),
            state: std::sync::Mutex::new((file, last)),
        })
    }

    /// The log's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` (chained to the last line) and syncs it to disk.
    pub fn append(&self, mut record: DisclosureRecord) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        record.prev = hex0x(&state.1);
        let line = serde_json::to_vec(&record).map_err(|e| StoreError::Malformed {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let mut bytes = line.clone();
        bytes.push(b'\n');
        let io = |e| StoreError::Io {
            path: self.path.clone(),
            source: e,
        };
        state.0.write_all(&bytes).map_err(io)?;
        state.0.sync_data().map_err(io)?;
        state.1 = line_hash(&line);
        Ok(())
    }
}

/// Reads a disclosure log without changing it: every record, and the hash of the last
/// line. A line that does not parse or does not chain to the one before is
/// [`StoreError::Malformed`].
pub fn read_disclosures(path: &Path) -> Result<(Vec<DisclosureRecord>, [u8; 32]), StoreError> {
    let text = std::fs::read(path).map_err(|e| StoreError::Io {
        path: path.to_owned(),
        source: e,
    })?;
    let bad = |n: usize, reason: String| StoreError::Malformed {
        path: path.to_owned(),
        reason: format!("line {n}: {reason}"),
    };
    let mut prev = [0u8; 32];
    let mut out = Vec::new();
    if !text.is_empty() && !text.ends_with(b"\n") {
        return Err(bad(
            text.split(|b| *b == b'\n').count(),
            "unterminated line".into(),
        ));
    }
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() && i == text.split(|b| *b == b'\n').count() - 1 {
            break;
        }
        let r: DisclosureRecord =
            serde_json::from_slice(line).map_err(|e| bad(i + 1, e.to_string()))?;
        if r.prev != hex0x(&prev) {
            return Err(bad(i + 1, "does not chain to the line before".into()));
        }
        prev = line_hash(line);
        out.push(r);
    }
    Ok((out, prev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField, UniformRand};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use sealgrid_circuits::babyjubjub::Scalar;

    fn secrets() -> TrusteeSecrets {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        TrusteeSecrets {
            key: KeyShare::from_parts(
                TrusteeId(2),
                (0..17).map(|_| Scalar::rand(&mut rng)).collect(),
            ),
            signer: TrusteeSigningKey::random(&mut rng),
        }
    }

    /// Every printable form of the secret material: shares in decimal, hex LE (the wire
    /// form), hex BE, and the signing key in hex.
    pub(crate) fn secret_strings(s: &TrusteeSecrets) -> Vec<String> {
        let mut out = vec![hex_of(&s.signer.to_bytes())];
        for j in 0..s.key.len() {
            let x = s.key.share(j).unwrap();
            out.push(x.into_bigint().to_string());
            out.push(hex_of(&wire::scalar_to_bytes(x)));
            out.push(hex_of(&x.into_bigint().to_bytes_be()));
        }
        out
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s).unwrap()
    }

    fn sealed() -> (tempfile::TempDir, PathBuf, TrusteeSecrets) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trustee-2.share");
        let s = secrets();
        seal(
            &path,
            &s,
            &pass("correct horse"),
            KdfParams::INSECURE_FOR_TESTS,
        )
        .unwrap();
        (dir, path, s)
    }

    #[test]
    fn sealed_secrets_open_with_the_passphrase_only() {
        let (dir, path, s) = sealed();
        let back = open(&path, &pass("correct horse")).unwrap();
        assert_eq!(back.key, s.key);
        assert_eq!(back.signer.address(), s.signer.address());
        assert!(matches!(
            open(&path, &pass("correct horse!")),
            Err(StoreError::Decrypt(_))
        ));
        // rewriting replaces the file and leaves no temporary behind
        seal(&path, &s, &pass("new"), KdfParams::INSECURE_FOR_TESTS).unwrap();
        assert!(open(&path, &pass("new")).is_ok());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn any_modified_byte_is_a_clear_error() {
        let (_dir, path, _) = sealed();
        let good = std::fs::read(&path).unwrap();
        // in turn: a KDF parameter (still valid), the salt, the nonce, the ciphertext, the tag
        for i in [12, 20, 40, HEADER + 3, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            let err = open(&path, &pass("correct horse")).unwrap_err();
            assert!(matches!(err, StoreError::Decrypt(_)), "byte {i}: {err}");
            assert!(err
                .to_string()
                .contains("wrong passphrase, or the file was modified"));
        }
        let mut bad = good.clone();
        bad[0] = b'X';
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(
            open(&path, &pass("correct horse")),
            Err(StoreError::NotAShareFile(_))
        ));
        std::fs::write(&path, &good[..HEADER + 10]).unwrap();
        assert!(matches!(
            open(&path, &pass("correct horse")),
            Err(StoreError::NotAShareFile(_))
        ));
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &huge).unwrap();
        assert!(matches!(
            open(&path, &pass("correct horse")),
            Err(StoreError::KdfBounds(_))
        ));
        assert!(matches!(
            Passphrase::new(""),
            Err(StoreError::EmptyPassphrase)
        ));
    }

    #[test]
    fn secrets_appear_neither_in_debug_output_nor_in_the_file() {
        let (_dir, path, s) = sealed();
        let file = hex_of(&std::fs::read(&path).unwrap());
        let printed = format!("{s:?} {:?} {:?} {:#?}", pass("correct horse"), s.key, s);
        assert!(!printed.contains("correct horse"));
        for secret in secret_strings(&s) {
            assert!(!printed.contains(&secret), "{secret} printed in {printed}");
            assert!(!file.contains(&secret));
        }
        assert!(printed.contains("TrusteeId(2)"));
    }
}
