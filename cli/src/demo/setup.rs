//! The demo's fixed infrastructure: the committee (DKG among 3 trustees, t = 2) and the
//! Groth16 keys of the three circuits under the committee's flow keys.
//!
//! The bid and settle circuits take the flow keys as circuit constants
//! (`docs/PROTOCOL.md` §3), so their Groth16 keys depend on the DKG's outcome. A fresh
//! DKG per run would force two new setups per run. The demo committee therefore runs its
//! DKG from the FIXED seed [`DEMO_COMMITTEE_SEED`]: same flow keys every run, so the keys
//! are cached in the prover's key store and reused. Anyone who knows the seed can
//! recompute every trustee's share: this committee protects nothing and exists only to
//! exercise the real code paths.

use std::sync::Arc;

use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::dkg::CommitteePublic;
use sealgrid_committee::sign::{Address, SigningDomain};
use sealgrid_committee::trustee::Trustee;
use sealgrid_prover::{CircuitKeys, Circuits, CircuitsError, KeyError, KeyStore, Progress};
use sealgrid_trustee::demo::{DemoCommittee, DemoError};

pub use sealgrid_trustee::demo::{DEMO_COMMITTEE_SEED, THRESHOLD, TRUSTEES};
/// Placeholder signing domain: no contract is deployed yet, so the trustees sign for
/// chain id 0 and the zero address. A real deployment signs for its chain and contract.
pub const SIGNING_DOMAIN: SigningDomain = SigningDomain {
    chain_id: 0,
    contract: Address([0; 20]),
};

/// Why the infrastructure could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The DKG failed.
    #[error("{0}")]
    Dkg(#[from] DemoError),
    /// The DKG's flow keys or the market parameters were refused by the prover.
    #[error("circuits: {0}")]
    Circuits(#[from] CircuitsError),
    /// A trustee signing key could not be derived.
    #[error("trustee signing key: {0}")]
    Signer(#[from] sealgrid_committee::sign::SignError),
    /// Loading or making Groth16 keys failed.
    #[error("Groth16 keys for {circuit}: {source}")]
    Keys {
        /// The key name.
        circuit: String,
        /// The key store's error (boxed: it is large and rare).
        #[source]
        source: Box<KeyError>,
    },
}

/// The demo committee: its public output and its trustees.
#[derive(Debug)]
pub struct Committee {
    /// The DKG's public output (flow keys, verification keys).
    pub public: Arc<CommitteePublic>,
    /// The trustees, ids 1..=n, each with its key share and signing key.
    pub trustees: Vec<Trustee>,
}

impl Committee {
    /// Runs the DKG from [`DEMO_COMMITTEE_SEED`] (deterministic) and makes the trustees.
    pub fn demo(market: &MarketParams) -> Result<Committee, SetupError> {
        let dc = DemoCommittee::new(market.levels)?;
        Ok(Committee {
            public: dc.public.clone(),
            trustees: dc.trustees(market, SIGNING_DOMAIN),
        })
    }

    /// The trustees' signing addresses (what the contract would register).
    pub fn addresses(&self) -> Vec<Address> {
        self.trustees.iter().map(Trustee::address).collect()
    }
}

/// The Groth16 key pairs of the three circuits.
pub type Keys = CircuitKeys;

/// Loads the three key pairs from `store`, running a setup (with OS randomness) for any
/// that is missing or stale.
pub fn load_keys(
    market: &MarketParams,
    committee: &Committee,
    store: &KeyStore,
    progress: &dyn Progress,
) -> Result<Keys, SetupError> {
    let circuits = Circuits::new(market.clone(), committee.public.flow_keys())?;
    CircuitKeys::load_or_setup(circuits, store, progress).map_err(|e| {
        let (circuit, source) = *e;
        SetupError::Keys {
            circuit,
            source: Box::new(source),
        }
    })
}
