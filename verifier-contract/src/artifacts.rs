//! The contract sources' SHA-256 as `solc/compile.mjs` computes it and records in every
//! artifact (`sourcesSha256`): a test compares it with the sources on disk, with or
//! without node.

use sha2::{Digest, Sha256};
use std::path::Path;

/// SHA-256 over `name \0 content \0` of every `*.sol` file in `dir`, in name order
/// (byte order of the names, as JavaScript's default sort on ASCII names).
pub fn sources_sha256(dir: &Path) -> std::io::Result<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sol"))
        .collect();
    names.sort();
    let mut h = Sha256::new();
    for n in &names {
        h.update(n.as_bytes());
        h.update([0u8]);
        h.update(std::fs::read(dir.join(n))?);
        h.update([0u8]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The directory of the contract sources.
pub fn contracts_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/contracts"))
}

/// The directory of the committed artifacts.
pub fn artifacts_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts"))
}
