//! The committee's public setup: what every trustee, the coordinator and an auditor read
//! to know who decrypts and signs for a market (one JSON file, the same for every trustee,
//! and the `trustee_setup` part of the market file).

use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::dkg::CommitteePublic;
use sealgrid_committee::sign::SigningDomain;
use serde::{Deserialize, Serialize};

/// Everything public a trustee needs: the committee's DKG output, the market, the
/// signing domain (one JSON file, the same for every trustee).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeSetup {
    /// Flow keys and verification keys.
    pub committee: CommitteePublic,
    /// Market parameters (checked at load).
    pub market: MarketParams,
    /// Where signatures are valid.
    pub domain: SigningDomain,
}
