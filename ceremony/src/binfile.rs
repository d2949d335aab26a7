//! iden3's binary container (`@iden3/binfileutils`), shared by `.r1cs`, `.wtns`,
//! `.ptau` and `.zkey`: a 4-byte ASCII magic, a `u32` version, a `u32` section count,
//! then sections of a `u32` type, a `u64` byte length and the bytes; integers
//! little-endian. Files are read and written whole: the largest this project handles
//! (a phase-1 file prepared for the bid circuit) is some tens of megabytes.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// The file is not of the expected kind or is malformed.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A parsed container.
#[derive(Clone, Debug)]
pub struct BinFile {
    /// The four-byte magic (`r1cs`, `wtns`, `ptau`, `zkey`).
    pub magic: [u8; 4],
    /// The format version.
    pub version: u32,
    /// The sections in file order.
    pub sections: Vec<(u32, Vec<u8>)>,
}

impl BinFile {
    /// An empty container.
    pub fn new(magic: &[u8; 4], version: u32) -> Self {
        BinFile {
            magic: *magic,
            version,
            sections: Vec::new(),
        }
    }

    /// Appends a section.
    pub fn push(&mut self, kind: u32, bytes: Vec<u8>) {
        self.sections.push((kind, bytes));
    }

    /// Parses `bytes`, expecting `magic` and a version at most `max_version`.
    pub fn parse(bytes: &[u8], magic: &[u8; 4], max_version: u32) -> Result<Self, String> {
        if bytes.len() < 12 || &bytes[..4] != magic {
            return Err(format!(
                "not a {} file (its magic is not {:?})",
                String::from_utf8_lossy(magic),
                String::from_utf8_lossy(magic)
            ));
        }
        let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if version > max_version {
            return Err(format!("version {version} is not supported"));
        }
        let n = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        let mut pos = 12usize;
        let mut sections = Vec::new();
        for i in 0..n {
            if bytes.len() < pos + 12 {
                return Err(format!("truncated in the header of section {i}"));
            }
            let kind = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
            let len = u64::from_le_bytes(bytes[pos + 4..pos + 12].try_into().expect("8 bytes"));
            pos += 12;
            let len = usize::try_from(len).map_err(|_| "a section is too large".to_owned())?;
            let end = pos
                .checked_add(len)
                .filter(|e| *e <= bytes.len())
                .ok_or_else(|| format!("section {kind} runs past the end of the file"))?;
            sections.push((kind, bytes[pos..end].to_vec()));
            pos = end;
        }
        if pos != bytes.len() {
            return Err(format!(
                "{} bytes after the last section",
                bytes.len() - pos
            ));
        }
        Ok(BinFile {
            magic: *magic,
            version,
            sections,
        })
    }

    /// Reads and parses a file.
    pub fn read(path: &Path, magic: &[u8; 4], max_version: u32) -> Result<Self, FileError> {
        let bytes = fs::read(path).map_err(|error| FileError::Io {
            path: path.display().to_string(),
            error,
        })?;
        BinFile::parse(&bytes, magic, max_version).map_err(|reason| FileError::Format {
            path: path.display().to_string(),
            reason,
        })
    }

    /// The serialised container.
    pub fn to_bytes(&self) -> Vec<u8> {
        let total: usize = self.sections.iter().map(|(_, b)| b.len() + 12).sum();
        let mut out = Vec::with_capacity(12 + total);
        out.extend_from_slice(&self.magic);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for (kind, bytes) in &self.sections {
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Writes the file through a temporary file and a rename.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        write_atomic(path, &self.to_bytes())
    }

    /// The one section of type `kind`; an error if it is missing or repeated.
    pub fn section(&self, kind: u32) -> Result<&[u8], String> {
        let mut found = self.sections.iter().filter(|(k, _)| *k == kind);
        match (found.next(), found.next()) {
            (Some((_, b)), None) => Ok(b),
            (None, _) => Err(format!("section {kind} is missing")),
            (Some(_), Some(_)) => Err(format!("section {kind} appears more than once")),
        }
    }

    /// Whether a section of type `kind` exists.
    pub fn has(&self, kind: u32) -> bool {
        self.sections.iter().any(|(k, _)| *k == kind)
    }
}

/// Writes `bytes` to `path` through a synced temporary file in the same directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let io = |error| FileError::Io {
        path: path.display().to_string(),
        error,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => Path::new(".").to_owned(),
    };
    let mut tmp = tempfile_in(&dir).map_err(io)?;
    tmp.1.write_all(bytes).map_err(io)?;
    tmp.1.sync_all().map_err(io)?;
    fs::rename(&tmp.0, path).map_err(io)?;
    Ok(())
}

fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, fs::File)> {
    use rand::RngCore;
    for _ in 0..16 {
        let name = format!(".tmp-ceremony-{:016x}", rand::rngs::OsRng.next_u64());
        let path = dir.join(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary file name"))
}

/// A little-endian reader over a section, with errors naming the section.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `bytes`, naming errors after `what`.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| format!("{} is truncated", self.what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next `u32`.
    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// The next `u64`.
    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), String> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(format!(
                "{} has {} unexpected trailing bytes",
                self.what,
                self.bytes.len() - self.pos
            ))
        }
    }
}
