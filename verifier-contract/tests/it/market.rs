//! The whole market round of `round.rs` on the embedded EVM.

use sealgrid_verifier_contract::EmbeddedChain;

use crate::round::whole_round;

#[test]
fn a_whole_round_conserves_money_and_refuses_every_misuse() {
    let mut chain = EmbeddedChain::in_memory();
    chain.set_timestamp(1_767_225_600);
    for (label, lo, hi) in whole_round(chain) {
        eprintln!("gas {label}: {lo}..{hi}");
    }
}
