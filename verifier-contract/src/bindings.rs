//! alloy `sol!` bindings from the committed artifacts (`artifacts/*.json`): each module
//! holds the contract's calls, events, errors, structs and its `BYTECODE`.

#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::too_many_arguments
)]

alloy_sol_types::sol!(
    #[sol(all_derives)]
    Groth16Verifier,
    "artifacts/Groth16Verifier.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    Market,
    "artifacts/Market.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    TestToken,
    "artifacts/TestToken.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    ClearingHarness,
    "artifacts/ClearingHarness.json"
);

alloy_sol_types::sol!(
    #[sol(all_derives)]
    /// circomlib's Poseidon with 3 inputs, as circomlibjs's `poseidonContract.createCode(3)`
    /// writes it (`artifacts/Poseidon3.json`): `Market.register` calls it.
    interface Poseidon3 {
        function poseidon(uint256[3] memory input) external pure returns (uint256);
    }
);

/// The committed Poseidon artifact (`artifacts/Poseidon3.json`, written by
/// `test-vectors/poseidon_contract.mjs`).
pub const POSEIDON3_ARTIFACT: &str = include_str!("../artifacts/Poseidon3.json");

/// The creation code of [`Poseidon3`] from its committed artifact.
pub fn poseidon3_init_code() -> alloy_primitives::Bytes {
    crate::artifacts::bytecode_of(POSEIDON3_ARTIFACT)
}
