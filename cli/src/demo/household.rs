//! A household: its profile (what it produces and consumes) and its prosumer wallet
//! (`sealgrid_wallet::prosumer::Wallet`: account secret, meter key, payer key, the
//! free-balance opening, open bids, unspent payouts), plus what the demo tallies.

use rand::{CryptoRng, RngCore};
use sealgrid_wallet::prosumer::Wallet;

use super::profile::Profile;

/// One member of the community.
#[derive(Debug)]
pub struct Household {
    /// Index in the community, 0-based.
    pub index: usize,
    /// Annual consumption and PV size, which scale the standard profiles.
    pub profile: Profile,
    /// The prosumer's own client state; proofs are made from it.
    pub wallet: Wallet,
    /// Tokens deposited in total.
    pub deposited: u64,
    /// Defaulted once: the contract refuses its bids from then on, the demo skips it.
    pub defaulted: bool,
}

impl Household {
    /// A household with fresh secrets from `rng`.
    pub fn new<R: RngCore + CryptoRng>(index: usize, profile: Profile, rng: &mut R) -> Household {
        Household {
            index,
            profile,
            wallet: Wallet::new(rng),
            deposited: 0,
            defaulted: false,
        }
    }

    /// The free balance as the wallet knows it.
    pub fn free_balance(&self) -> u64 {
        self.wallet.balance.balance
    }

    /// The payouts not merged yet.
    pub fn unspent(&self) -> u64 {
        let frozen = self.wallet.frozen_payouts.values().flatten();
        self.wallet
            .payouts
            .iter()
            .chain(frozen)
            .map(|p| p.amount)
            .sum()
    }

    /// Short display name, `h01` …
    pub fn name(&self) -> String {
        format!("h{:02}", self.index + 1)
    }
}
