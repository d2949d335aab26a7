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

/// The EVM rules the deployed bytecode is compiled for (`solc/compile.mjs` makes both
/// from the same sources with the same optimizer; the ABI is the same).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EvmTarget {
    /// Shanghai (PUSH0): `artifacts/<Contract>.json`.
    #[default]
    Shanghai,
    /// London, no PUSH0, for chains without Shanghai (Energy Web Chain and other
    /// proof-of-authority chains): `artifacts/london/<Contract>.json`.
    London,
}

/// A contract a market deploys from this crate's artifacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployable {
    /// `Groth16Verifier` (its key comes as constructor arguments).
    Groth16Verifier,
    /// `Market`.
    Market,
    /// `TestToken`.
    TestToken,
}

impl EvmTarget {
    /// Both targets.
    pub const ALL: [EvmTarget; 2] = [EvmTarget::Shanghai, EvmTarget::London];

    /// `shanghai` or `london` (solc's `evmVersion`).
    pub fn name(self) -> &'static str {
        match self {
            EvmTarget::Shanghai => "shanghai",
            EvmTarget::London => "london",
        }
    }

    /// The target named `name` (`shanghai`, `london`).
    pub fn parse(name: &str) -> Result<EvmTarget, String> {
        EvmTarget::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| format!("unknown EVM target {name:?}: shanghai or london"))
    }

    /// The creation code of `contract` for this target (constructor arguments not
    /// included).
    pub fn bytecode(self, contract: Deployable) -> alloy_primitives::Bytes {
        use crate::bindings::{Groth16Verifier, Market, TestToken};
        match self {
            EvmTarget::Shanghai => match contract {
                Deployable::Groth16Verifier => Groth16Verifier::BYTECODE.clone(),
                Deployable::Market => Market::BYTECODE.clone(),
                Deployable::TestToken => TestToken::BYTECODE.clone(),
            },
            EvmTarget::London => {
                let json = match contract {
                    Deployable::Groth16Verifier => LONDON_VERIFIER,
                    Deployable::Market => LONDON_MARKET,
                    Deployable::TestToken => LONDON_TOKEN,
                };
                bytecode_of(json)
            }
        }
    }
}

impl std::fmt::Display for EvmTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EvmTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EvmTarget::parse(s)
    }
}

const LONDON_VERIFIER: &str = include_str!("../artifacts/london/Groth16Verifier.json");
const LONDON_MARKET: &str = include_str!("../artifacts/london/Market.json");
const LONDON_TOKEN: &str = include_str!("../artifacts/london/TestToken.json");

/// The `bytecode` of a committed artifact (checked by the artifact tests against the
/// pinned compiler).
pub(crate) fn bytecode_of(json: &str) -> alloy_primitives::Bytes {
    let v: serde_json::Value = serde_json::from_str(json).expect("a committed artifact is JSON");
    let hex_code = v["bytecode"]
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .expect("a committed artifact has a 0x bytecode");
    hex::decode(hex_code)
        .expect("a committed artifact's bytecode is hex")
        .into()
}
