//! Market rules shared by the circuits, the contract tests, the committee and the
//! coordinator: parameters (`docs/PROTOCOL.md` §1) and the uniform-price clearing (§5).

pub mod clearing;
pub mod params;

pub use clearing::{clear, Clearing, SideRation};
pub use params::{MarketParams, ParamsError, Side};
