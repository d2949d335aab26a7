//! The market file: one JSON document that ties a deployed market to its committee and
//! its proving keys. The operator writes it when deploying; the coordinator, the
//! trustees (its `trustee_setup` part), prosumer clients and auditors read it. Written
//! atomically (temporary file, then rename).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use sealgrid_ceremony::market::SetupRecord;
use sealgrid_committee::sign::Address;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::{KeyError, KeyId, KeyStore};
use sealgrid_verifier_contract::deploy::MarketDeployment;

use crate::schedule::Schedule;
use crate::{TrusteeSetup, Verifiers};

/// The ids (hashes) of the verifying keys the three verifier contracts were built from
/// (the keys themselves are in the key store; the audit's `VerifyingKeys` holds them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierKeyIds {
    /// The balance circuit's.
    pub balance: KeyId,
    /// The bid circuit's.
    pub bid: KeyId,
    /// The settle circuit's.
    pub settle: KeyId,
}

/// A deployed market.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketFile {
    /// Addresses, chain, deployment block, limits.
    pub deployment: MarketDeployment,
    /// The committee's public keys, the market parameters and the signing domain.
    pub trustee_setup: TrusteeSetup,
    /// The committee's signing addresses, as the contract registered them.
    pub trustees: Vec<Address>,
    /// The verifying keys.
    pub verifying_keys: VerifierKeyIds,
    /// The trusted-setup ceremony the keys came from (PROTOCOL §12): its phase-1 and
    /// per-circuit transcript hashes and contributors. `None`: keys made by a single
    /// party (`KeyStore::setup`), which the audit reports, since that party can forge
    /// any proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<SetupRecord>,
}

/// Why a market file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("market file {path}: {reason}")]
pub struct MarketFileError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

impl MarketFile {
    /// Reads and checks a market file.
    pub fn load(path: &Path) -> Result<MarketFile, MarketFileError> {
        let e = |reason: String| MarketFileError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|x| e(x.to_string()))?;
        let m: MarketFile = serde_json::from_str(&text).map_err(|x| e(x.to_string()))?;
        m.trustee_setup
            .market
            .validate()
            .map_err(|x| e(x.to_string()))?;
        if m.trustee_setup.domain.chain_id != m.deployment.chain_id
            || m.trustee_setup.domain.contract.0 != m.deployment.market.0 .0
        {
            return Err(e(
                "the committee's signing domain is not the deployment's chain and market".into(),
            ));
        }
        Ok(m)
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), MarketFileError> {
        let e = |reason: String| MarketFileError {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|x| e(x.to_string()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|x| e(x.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|x| e(x.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|x| e(x.to_string()))
    }

    /// Loads and prepares the three verifying keys from the key store at `dir`.
    pub fn verifiers(&self, dir: &Path) -> Result<Verifiers, KeyError> {
        let store = KeyStore::open(dir)?;
        let k = &self.verifying_keys;
        Ok(Verifiers {
            balance: Arc::new(store.load_prepared_verifying_key(&k.balance)?),
            bid: Arc::new(store.load_prepared_verifying_key(&k.bid)?),
            settle: Arc::new(store.load_prepared_verifying_key(&k.settle)?),
        })
    }

    /// The market's description for `GetMarket`.
    pub fn info(&self, schedule: Schedule, max_batch: u32, key_dir: &Path) -> pb::MarketInfo {
        let d = &self.deployment;
        let p = &self.trustee_setup.market;
        let c = &self.trustee_setup.committee;
        let vk = |circuit: &str, id: &KeyId| pb::VerifyingKeyId {
            circuit: circuit.to_owned(),
            name: id.to_string(),
            sha256: std::fs::read(key_dir.join(id.file_name()))
                .map(|b| Sha256::digest(&b).to_vec())
                .unwrap_or_default(),
        };
        pb::MarketInfo {
            chain_id: d.chain_id,
            market: d.market.to_vec(),
            token: d.token.to_vec(),
            balance_verifier: d.balance_verifier.to_vec(),
            bid_verifier: d.bid_verifier.to_vec(),
            settle_verifier: d.settle_verifier.to_vec(),
            deployment_block: d.deployment_block,
            grid: Some(pb::PriceGrid {
                levels: p.levels as u32,
                floor: p.floor,
                tick: p.tick,
                margin_bps: p.margin_bps,
                penalty_rate: p.penalty_rate,
                k_anonymity: p.k_anonymity as u32,
                max_quantity_wh: (1u64 << sealgrid_circuits::market::params::Q_BITS) - 1,
            }),
            schedule: Some(pb::Schedule {
                slot_seconds: schedule.slot_seconds,
                bidding_seconds: schedule.bidding_seconds,
                gate_closure_seconds: schedule.gate_closure_seconds,
                settle_seconds: schedule.settle_seconds,
            }),
            committee: Some(pb::Committee {
                size: c.params.n as u32,
                threshold: c.params.t as u32,
                trustees: self.trustees.iter().map(|a| a.0.to_vec()).collect(),
                flow_keys: c
                    .flow_keys
                    .iter()
                    .map(|k| sealgrid_committee::wire::point_to_bytes(k).to_vec())
                    .collect(),
            }),
            verifying_keys: vec![
                vk("balance", &self.verifying_keys.balance),
                vk("bid", &self.verifying_keys.bid),
                vk("settle", &self.verifying_keys.settle),
            ],
            max_unsettled: d.max_unsettled,
            max_defaults: d.max_defaults,
            max_batch,
        }
    }
}
