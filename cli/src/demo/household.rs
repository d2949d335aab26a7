//! A household as the prosumer's own software sees it: its account secret, its meter's
//! key, its confidential free balance opening, and what it has in flight (a bid's
//! opening until settlement, a payout's opening until it is merged).

use ark_std::UniformRand;
use rand::Rng;
use sealgrid_circuits::balance::{BalanceOpening, PayoutOpening};
use sealgrid_circuits::bid::BidOpening;
use sealgrid_circuits::eddsa::PrivateKey as MeterKey;
use sealgrid_circuits::settle::meter_id;
use sealgrid_circuits::Fr;

use super::profile::Profile;

/// One member of the community.
#[derive(Debug)]
pub struct Household {
    /// Index in the community, 0-based.
    pub index: usize,
    /// Annual consumption and PV size, which scale the standard profiles.
    pub profile: Profile,
    /// The account secret `sk_acct`.
    pub sk_acct: Fr,
    /// The meter's EdDSA-Poseidon key (the meter holds it; the demo simulates the meter).
    pub meter: MeterKey,
    /// The current free balance opening; `None` until the first deposit.
    pub balance: Option<BalanceOpening>,
    /// The open bid of the slot in progress.
    pub bid: Option<BidOpening>,
    /// The unspent payout of the last settlement, until merged.
    pub payout: Option<PayoutOpening>,
    /// Tokens deposited in total.
    pub deposited: u64,
}

impl Household {
    /// A household with fresh secrets from `rng`.
    pub fn new<R: Rng>(index: usize, profile: Profile, rng: &mut R) -> Household {
        Household {
            index,
            profile,
            sk_acct: Fr::rand(rng),
            meter: MeterKey::from_bytes(rng.gen()),
            balance: None,
            bid: None,
            payout: None,
            deposited: 0,
        }
    }

    /// The registered meter id `H(A.x, A.y)`.
    pub fn meter_id(&self) -> Fr {
        meter_id(&self.meter.public_key())
    }

    /// The free balance (0 before the first deposit).
    pub fn free_balance(&self) -> u64 {
        self.balance.map_or(0, |b| b.balance)
    }

    /// Short display name, `h01` …
    pub fn name(&self) -> String {
        format!("h{:02}", self.index + 1)
    }
}
