//! sealgrid's committee (issue #5): `t`-of-`n` trustees who hold shares of the 2K + 1
//! flow keys, decrypt only aggregates, prove every decryption share, and sign the result.
//!
//! | module | does |
//! | --- | --- |
//! | [`dkg`] | joint-Feldman DKG with complaints: one run, 2K + 1 independent keys |
//! | [`aggregate`] | slot-wise sums of the accepted bids whose ciphertexts match their proven digest |
//! | [`inclusion`] | the inclusion bitmap of a round's bids, as the contract records and reads it |
//! | [`dleq`] | Chaum-Pedersen DLEQ proofs over merlin transcripts |
//! | [`decrypt`] | partial decryption, verification, Lagrange combination, discrete logs |
//! | [`round`] | coordinator side: combine, solve, clear |
//! | [`settlement`] | settlement flow totals and defaulted locks for finalization |
//! | [`sign`] | the signed clearing and finalize messages (ABI encoding, keccak256) and ecrecover-compatible signatures |
//! | [`disclosure`] | escrowed disclosure of one bid, verified by the auditor from public data |
//! | [`trustee`] | a trustee and its request/response API (serde), mapped to gRPC by `sealgrid-trustee` |
//! | [`wire`] | checked serde forms of points, scalars and field elements |
//!
//! The gRPC trustee service (item 6) is the `sealgrid-trustee` crate; its messages and
//! their conversions are in `sealgrid-proto`.

pub mod aggregate;
pub mod decrypt;
pub mod disclosure;
pub mod dkg;
pub mod dleq;
pub mod ids;
pub mod inclusion;
pub mod round;
pub mod settlement;
pub mod sign;
pub mod trustee;
pub mod wire;

pub use ids::{AccountId, BidId, TrusteeId};
pub use inclusion::InclusionBitmap;
