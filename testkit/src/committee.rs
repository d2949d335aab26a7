//! A committee without processes: keys from an in-memory DKG, trustees that hold them,
//! and the share a cheating trustee holds.

use std::sync::Arc;

use rand::{CryptoRng, Rng};
use sealgrid_circuits::babyjubjub::Scalar;
use sealgrid_circuits::market::MarketParams;
use sealgrid_committee::dkg::{run_in_memory, CommitteePublic, DkgParams, KeyShare};
use sealgrid_committee::sign::{Address, SigningDomain, TrusteeSigningKey};
use sealgrid_committee::trustee::{Trustee, TrusteeConfig};

/// The signing domain of the committee tests: chain 246 (Energy Web), a market at
/// `0x5f…5f`.
pub const DOMAIN: SigningDomain = SigningDomain {
    chain_id: 246,
    contract: Address([0x5f; 20]),
};

/// A committee of `n` trustees with threshold `t`, from a DKG run in memory with no
/// tampering: one key instance per flow slot of `market` (2K + 1).
pub fn dkg<R: Rng>(
    market: &MarketParams,
    n: u16,
    t: u16,
    rng: &mut R,
) -> (CommitteePublic, Vec<KeyShare>) {
    let params = DkgParams {
        n,
        t,
        instances: 2 * market.levels + 1,
    };
    let (public, shares, _) = run_in_memory(params, rng, |_| {}).expect("the DKG completes");
    (public, shares)
}

/// One trustee per share, in order, each with a fresh signing key drawn from `rng`.
pub fn trustees<R: Rng + CryptoRng>(
    shares: impl IntoIterator<Item = KeyShare>,
    public: &Arc<CommitteePublic>,
    market: &MarketParams,
    domain: SigningDomain,
    rng: &mut R,
) -> Vec<Trustee> {
    shares
        .into_iter()
        .map(|s| {
            let config = TrusteeConfig {
                market: market.clone(),
                domain,
            };
            Trustee::new(
                s,
                public.clone(),
                TrusteeSigningKey::random(&mut *rng),
                config,
            )
        })
        .collect()
}

/// `key` with the share of each of `slots` off by one: what a cheating (or corrupted)
/// trustee holds, whose partial decryptions of those slots fail their proofs.
pub fn wrong_share(key: &KeyShare, slots: &[usize]) -> KeyShare {
    let mut x: Vec<Scalar> = (0..key.len())
        .map(|j| *key.share(j).expect("a share per instance"))
        .collect();
    for &slot in slots {
        x[slot] += Scalar::from(1u64);
    }
    KeyShare::from_parts(key.id, x)
}
