//! The coordinator's audit bundle (`AuditBundle` of `coordinator.proto`) in the
//! committee's checked types, and bundles read from a directory (`round-<n>.pb`, the
//! message's protobuf encoding).

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use sealgrid_committee::aggregate::{Exclusion, ExclusionReason};
use sealgrid_committee::decrypt::PartialDecryption;
use sealgrid_committee::sign::{EthSignature, FinalizeTotals};
use sealgrid_committee::BidId;
use sealgrid_proto::committee::v1 as cpb;
use sealgrid_proto::convert;
use sealgrid_proto::market::v1::AuditBundle;

/// A bundle's contents, each field checked on decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// Clearing-context partial decryptions.
    pub clearing_partials: Vec<PartialDecryption>,
    /// The bids the trustees summed.
    pub included: Vec<BidId>,
    /// The bids they left out.
    pub excluded: Vec<Exclusion>,
    /// The histograms the bundle's clearing claims, if it has one.
    pub histograms: Option<(Vec<u64>, Vec<u64>)>,
    /// Signatures on the clearing digest.
    pub clearing_signatures: Vec<EthSignature>,
    /// Settlement-context partial decryptions.
    pub settlement_partials: Vec<PartialDecryption>,
    /// Defaulted-context partial decryptions.
    pub defaulted_partials: Vec<PartialDecryption>,
    /// The finalization's totals, if finalized.
    pub totals: Option<FinalizeTotals>,
    /// Signatures on the finalize digest.
    pub finalize_signatures: Vec<EthSignature>,
}

/// Decodes a bundle; the error names the malformed field.
pub fn decode(b: &AuditBundle) -> Result<Bundle, String> {
    let partials = |v: &[cpb::PartialDecryption], field: &str| {
        v.iter()
            .enumerate()
            .map(|(i, p)| convert::partial_decryption(p, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    };
    let sigs = |v: &[Vec<u8>], field: &str| {
        v.iter()
            .enumerate()
            .map(|(i, s)| convert::signature(s, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    };
    let included = b
        .included
        .iter()
        .enumerate()
        .map(|(i, x)| convert::bid_id(x, &format!("included[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let excluded = b
        .excluded
        .iter()
        .enumerate()
        .map(|(i, e)| exclusion(e).map_err(|why| format!("excluded[{i}]: {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bundle {
        clearing_partials: partials(&b.clearing_partials, "clearing_partials")?,
        included,
        excluded,
        histograms: b
            .clearing
            .as_ref()
            .map(|c| (c.h_buy.clone(), c.h_sell.clone())),
        clearing_signatures: sigs(&b.clearing_signatures, "clearing_signatures")?,
        settlement_partials: partials(&b.settlement_partials, "settlement_partials")?,
        defaulted_partials: partials(&b.defaulted_partials, "defaulted_partials")?,
        totals: b
            .finalization
            .as_ref()
            .and_then(|f| f.totals.as_ref())
            .map(FinalizeTotals::from),
        finalize_signatures: sigs(&b.finalize_signatures, "finalize_signatures")?,
    })
}

fn exclusion(e: &cpb::Exclusion) -> Result<Exclusion, String> {
    use cpb::exclusion::Reason;
    let reason = match Reason::try_from(e.reason) {
        Ok(Reason::DigestMismatch) => ExclusionReason::DigestMismatch,
        Ok(Reason::WrongSlotCount) => ExclusionReason::WrongSlotCount(
            usize::try_from(e.slot_count).map_err(|_| "slot_count too large")?,
        ),
        Ok(Reason::Duplicate) => ExclusionReason::Duplicate,
        _ => return Err(format!("unknown reason {}", e.reason)),
    };
    Ok(Exclusion {
        id: convert::bid_id(&e.bid, "bid").map_err(|x| x.to_string())?,
        reason,
    })
}

/// Why bundles could not be read from a directory.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct BundleFileError {
    /// The file or directory.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// Every `round-<n>.pb` of `dir`, by round.
pub fn read_dir(dir: &Path) -> Result<BTreeMap<u64, AuditBundle>, BundleFileError> {
    let err = |p: &Path, reason: String| BundleFileError {
        path: p.display().to_string(),
        reason,
    };
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| err(dir, e.to_string()))? {
        let path = entry.map_err(|e| err(dir, e.to_string()))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(n) = name
            .strip_prefix("round-")
            .and_then(|r| r.strip_suffix(".pb"))
            .and_then(|r| r.parse::<u64>().ok())
        else {
            continue;
        };
        let bytes = std::fs::read(&path).map_err(|e| err(&path, e.to_string()))?;
        let b = AuditBundle::decode(bytes.as_slice()).map_err(|e| err(&path, e.to_string()))?;
        if b.round != n {
            return Err(err(&path, format!("holds the bundle of round {}", b.round)));
        }
        out.insert(n, b);
    }
    Ok(out)
}

/// Writes `b` as `dir/round-<n>.pb`.
pub fn write(dir: &Path, b: &AuditBundle) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("round-{}.pb", b.round)), b.encode_to_vec())
}
