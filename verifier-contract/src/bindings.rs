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
