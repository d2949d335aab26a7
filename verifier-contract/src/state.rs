//! The market contract's state enums (`Market.sol`'s `Phase`, `BidState`, `PayoutState`)
//! mirrored in Rust. The ABI carries them as `uint8` (the `sol!` bindings cannot name
//! their values), so this is the one place that does; a test reads the declarations in
//! `contracts/Market.sol` (whose hash the artifacts record) so the mirror cannot drift.

/// A `uint8` that names no value of the contract enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a value of the market contract's {what}")]
pub struct UnknownState {
    /// The enum.
    pub what: &'static str,
    /// The value read.
    pub value: u8,
}

macro_rules! contract_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $value,)+
        }

        impl $name {
            /// Every value, in the contract's declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name the contract gives the value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }
        }

        impl TryFrom<u8> for $name {
            type Error = UnknownState;

            fn try_from(value: u8) -> Result<$name, UnknownState> {
                match value {
                    $($value => Ok($name::$variant),)+
                    _ => Err(UnknownState { what: stringify!($name), value }),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v as u8
            }
        }
    };
}

contract_enum! {
    /// A round's phase (`Market.Phase`, the `phase` of `rounds(round)`).
    Phase {
        /// Not opened.
        None = 0,
        /// Opened: its deadlines are set.
        Open = 1,
        /// Taking bids.
        Bidding = 2,
        /// Past its bid deadline; waiting for the committee's clearing.
        Closed = 3,
        /// Its clearing is posted.
        Cleared = 4,
        /// At least one settlement is posted.
        Settling = 5,
        /// Its totals are posted; defaulters are marked.
        Finalized = 6,
        /// Not finalized by the committee in time: ended by anyone, nothing paid to the
        /// operator; its payouts are spendable.
        Expired = 7,
    }
}

contract_enum! {
    /// A bid's state (`Market.BidState`, the `state` of `bids(bid)`).
    BidState {
        /// No such bid.
        None = 0,
        /// Posted, not settled.
        Live = 1,
        /// Settled.
        Settled = 2,
        /// Left unsettled past the settlement deadline.
        Defaulted = 3,
    }
}

contract_enum! {
    /// A payout commitment's state (`Market.PayoutState`, `payouts(p)`).
    PayoutState {
        /// No such payout.
        None = 0,
        /// Created by a settlement, not yet merged into a balance (spendable once its
        /// round is finalized or expired).
        Unspent = 1,
        /// Merged into a balance.
        Spent = 2,
        /// Voided at finalize: its settlement's posted flow ciphertexts did not match.
        Void = 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variant names of `enum <name> { ... }` in a Solidity source, in order.
    fn solidity_enum(source: &str, name: &str) -> Vec<String> {
        let head = format!("enum {name} {{");
        let start = source
            .find(&head)
            .unwrap_or_else(|| panic!("Market.sol declares no enum {name}"))
            + head.len();
        let body = &source[start..];
        let end = body.find('}').expect("the enum's closing brace");
        body[..end]
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn source() -> String {
        std::fs::read_to_string(crate::artifacts::contracts_dir().join("Market.sol"))
            .expect("contracts/Market.sol")
    }

    fn check<T: Copy + std::fmt::Debug + PartialEq + TryFrom<u8, Error = UnknownState>>(
        name: &'static str,
        all: &[T],
        names: impl Fn(T) -> &'static str,
        value: impl Fn(T) -> u8,
    ) {
        let declared = solidity_enum(&source(), name);
        let mirrored: Vec<String> = all.iter().map(|&v| names(v).to_owned()).collect();
        assert_eq!(mirrored, declared, "{name}: Rust and Market.sol disagree");
        // Solidity numbers enum values by declaration order, from 0.
        for (i, &v) in all.iter().enumerate() {
            assert_eq!(usize::from(value(v)), i, "{name}::{v:?}");
            assert_eq!(T::try_from(value(v)), Ok(v));
        }
        let past = u8::try_from(all.len()).expect("a small enum");
        assert_eq!(
            T::try_from(past),
            Err(UnknownState {
                what: name,
                value: past
            })
        );
    }

    #[test]
    fn phase_mirrors_the_contract() {
        check("Phase", Phase::ALL, Phase::name, u8::from);
    }

    #[test]
    fn bid_state_mirrors_the_contract() {
        check("BidState", BidState::ALL, BidState::name, u8::from);
    }

    #[test]
    fn payout_state_mirrors_the_contract() {
        check("PayoutState", PayoutState::ALL, PayoutState::name, u8::from);
    }
}
