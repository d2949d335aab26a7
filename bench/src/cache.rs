//! The benchmarks' proof caches: records made once (client-side proofs are not what a
//! benchmark measures) and kept under `target/sealgrid-bench/`, one file per kind and
//! per everything its records depend on but their index.
//!
//! A file is a sequence of records, each its length as a varint and its bytes (the
//! form of a length-delimited protobuf message). Records are appended one at a time,
//! so an interrupted run keeps what it made; a torn last record is cut off on the next
//! read. Record `i` depends only on `i` and the file's name, so a cache made for 1,000
//! serves 20.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// `$CARGO_TARGET_DIR/sealgrid-bench`, else the workspace's `target/sealgrid-bench`.
pub fn dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
        .join("sealgrid-bench")
}

/// The cache file `{kind}-{tag}.{ext}` in `dir`, the tag a hash of `depends_on`.
pub fn file(dir: &Path, kind: &str, ext: &str, depends_on: &str) -> PathBuf {
    let tag = hex::encode(&Sha256::digest(depends_on.as_bytes())[..8]);
    dir.join(format!("{kind}-{tag}.{ext}"))
}

/// The whole records of `path` (none if it does not exist) and the length they take: a
/// torn last record (a run interrupted while appending, or one appending now) is left
/// out.
fn read(path: &Path) -> Result<(Vec<Vec<u8>>, u64)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e).with_context(|| path.display().to_string()),
    };
    let mut buf = bytes.as_slice();
    let mut out = Vec::new();
    while !buf.is_empty() {
        let rest = buf;
        match prost::encoding::decode_length_delimiter(&mut buf) {
            Ok(len) if len <= buf.len() => {
                out.push(buf[..len].to_vec());
                buf = &buf[len..];
            }
            _ => {
                buf = rest;
                break;
            }
        }
    }
    Ok((out, (bytes.len() - buf.len()) as u64))
}

/// The first `n` records of `path`, made by `make(i)` (and appended) where missing,
/// with a progress bar naming `what`.
pub fn load_or_make(
    path: &Path,
    n: usize,
    what: &str,
    mut make: impl FnMut(usize) -> Result<Vec<u8>>,
) -> Result<Vec<Vec<u8>>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    let (mut records, good) = read(path)?;
    if records.len() >= n {
        // only read: another run may be appending to the same file
        records.truncate(n);
        return Ok(records);
    }
    // appending: a torn last record is cut off first
    if std::fs::metadata(path).is_ok_and(|m| m.len() > good) {
        tracing::warn!(target: "sealgrid::bench", path = %path.display(), good, "torn proof cache; cut");
        File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(good))
            .with_context(|| path.display().to_string())?;
    }
    let missing = n - records.len();
    eprintln!(
        "proving {missing} {what} (cached in {}; later runs reuse them)",
        path.display()
    );
    let bar = indicatif::ProgressBar::new(missing as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {what} proved, {{eta}} left"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| path.display().to_string())?;
    for i in records.len()..n {
        let r = make(i).with_context(|| format!("{what}: {i}"))?;
        let mut framed = Vec::with_capacity(r.len() + 5);
        prost::encoding::encode_length_delimiter(r.len(), &mut framed)?;
        framed.extend_from_slice(&r);
        // one record at a time: an interrupted run keeps what it proved
        file.write_all(&framed)
            .with_context(|| path.display().to_string())?;
        records.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_torn_tail_and_are_made_only_where_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "t", "rec", "x");
        let made = load_or_make(&path, 3, "records", |i| Ok(vec![i as u8; 200 + i])).unwrap();
        assert_eq!(made[2], vec![2u8; 202]);
        // a torn last record: cut, made again, the others kept
        let len = std::fs::metadata(&path).unwrap().len();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 7)
            .unwrap();
        let mut calls = Vec::new();
        let again = load_or_make(&path, 4, "records", |i| {
            calls.push(i);
            Ok(vec![i as u8; 200 + i])
        })
        .unwrap();
        assert_eq!(calls, vec![2, 3]);
        assert_eq!(
            again,
            (0..4).map(|i| vec![i as u8; 200 + i]).collect::<Vec<_>>()
        );
        assert_eq!(
            load_or_make(&path, 2, "records", |_| unreachable!())
                .unwrap()
                .len(),
            2
        );
        // a reader that needs no more leaves a torn tail to the run that appends
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[200, 1, 9])
            .unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            load_or_make(&path, 4, "records", |_| unreachable!())
                .unwrap()
                .len(),
            4
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        let five = load_or_make(&path, 5, "records", |i| Ok(vec![i as u8])).unwrap();
        assert_eq!(five[4], vec![4u8]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len - 3 + 2);
    }
}
