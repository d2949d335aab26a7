//! The DEMO committee: a DKG among 3 trustees (t = 2) run in memory from the FIXED,
//! PUBLIC seed [`DEMO_COMMITTEE_SEED`]. Anyone who knows the seed can recompute every
//! trustee's share: this committee protects nothing. It exists so that demos and tests
//! exercise the real code paths with the same flow keys every run, which lets the bid
//! and settle circuits' Groth16 keys (the flow keys are their constants) be cached.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::dkg::{run_in_memory, CommitteePublic, DkgError, DkgParams, KeyShare};
use sealgrid_committee::sign::{Address, SignError, SigningDomain, TrusteeSigningKey};
use sealgrid_committee::trustee::{Trustee, TrusteeConfig};

/// Seed of the demo committee's DKG and its trustees' signing keys. Public.
pub const DEMO_COMMITTEE_SEED: u64 = 0x5ea1_9c0d;
/// Number of trustees.
pub const TRUSTEES: u16 = 3;
/// Threshold: any 2 trustees decrypt and sign.
pub const THRESHOLD: u16 = 2;

/// Why the demo committee could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The DKG failed.
    #[error("committee DKG: {0}")]
    Dkg(#[from] DkgError),
    /// A signing key could not be derived.
    #[error("trustee signing key: {0}")]
    Signer(#[from] SignError),
}

/// The demo committee's public output and its members' secrets.
pub struct DemoCommittee {
    /// Flow keys and verification keys.
    pub public: Arc<CommitteePublic>,
    shares: Vec<KeyShare>,
    signers: Vec<TrusteeSigningKey>,
}

impl std::fmt::Debug for DemoCommittee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCommittee")
            .field("trustees", &self.shares.len())
            .finish_non_exhaustive()
    }
}

impl DemoCommittee {
    /// Runs the DKG for a market of `levels` price levels (2K + 1 flow keys).
    pub fn new(levels: usize) -> Result<DemoCommittee, DemoError> {
        let mut rng = ChaCha20Rng::seed_from_u64(DEMO_COMMITTEE_SEED);
        let params = DkgParams {
            n: TRUSTEES,
            t: THRESHOLD,
            instances: 2 * levels + 1,
        };
        let (public, shares, _broadcast) = run_in_memory(params, &mut rng, |_| {})?;
        let signers = shares
            .iter()
            .map(|_| {
                let mut seed = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rng, &mut seed);
                TrusteeSigningKey::from_bytes(&seed)
            })
            .collect::<Result<_, _>>()?;
        Ok(DemoCommittee {
            public: Arc::new(public),
            shares,
            signers,
        })
    }

    /// Each trustee's secrets (share and signing key), ids 1..=n, to seal into share
    /// files for trustees that run as their own processes.
    pub fn secrets(&self) -> Vec<crate::store::TrusteeSecrets> {
        self.shares
            .iter()
            .zip(&self.signers)
            .map(|(key, signer)| crate::store::TrusteeSecrets {
                key: key.clone(),
                signer: signer.clone(),
            })
            .collect()
    }

    /// The trustees' signing addresses, ids 1..=n.
    pub fn addresses(&self) -> Vec<Address> {
        self.signers
            .iter()
            .map(TrusteeSigningKey::address)
            .collect()
    }

    /// The trustees, ids 1..=n, signing for `domain`.
    pub fn trustees(&self, market: &MarketParams, domain: SigningDomain) -> Vec<Trustee> {
        self.shares
            .iter()
            .zip(&self.signers)
            .map(|(share, signer)| {
                Trustee::new(
                    share.clone(),
                    self.public.clone(),
                    signer.clone(),
                    TrusteeConfig {
                        market: market.clone(),
                        domain,
                    },
                )
            })
            .collect()
    }
}
