//! sealgrid's protobuf definitions (`proto/sealgrid/**.proto`), the tonic code generated
//! from them (`src/gen/`, rewritten by `cargo run -p sealgrid-proto --example regenerate`
//! and checked by `tests/generated.rs`), and the one module that turns messages into the
//! committee's checked types and back ([`convert`]), and the trustee client built on them
//! ([`trustee_client`], which the coordinator and auditors use without linking the
//! trustee's server).

pub mod convert;
pub mod tls;
pub mod trustee_client;

/// `package sealgrid.committee.v1`.
pub mod committee {
    /// Generated from `sealgrid/committee/v1/trustee.proto`.
    #[allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic
    )]
    pub mod v1 {
        include!("gen/sealgrid.committee.v1.rs");
    }
}

/// `package sealgrid.market.v1`.
pub mod market {
    /// Generated from `sealgrid/market/v1/coordinator.proto`.
    #[allow(
        missing_docs,
        missing_debug_implementations,
        clippy::all,
        clippy::pedantic
    )]
    pub mod v1 {
        include!("gen/sealgrid.market.v1.rs");
    }
}
