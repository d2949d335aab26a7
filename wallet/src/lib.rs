//! sealgrid's prosumer wallet: what a household device (or an aggregator acting for many)
//! runs. It holds the account secret, the meter and payer keys, the free-balance opening,
//! the open bids' openings and the unspent payouts, makes every proof client side and
//! talks to the coordinator over gRPC only ([`prosumer`]); [`group`] runs a group of
//! households as one process (the `sealgrid-prosumers` binary).
//!
//! The wallet is a client: it depends on no server crate (no coordinator, no trustee
//! service, no store); `market/tests/deps.rs` holds the workspace to that.

pub mod group;
pub mod prosumer;

pub use prosumer::{clearing_for, OpenBid, Wallet, WalletError};
