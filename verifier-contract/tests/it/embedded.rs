//! The embedded chain keeps its state on disk: a reopened chain sees the contracts and
//! storage written before.

use alloy_primitives::{Address, U256};
use sealgrid_verifier_contract::bindings::TestToken;
use sealgrid_verifier_contract::{Chain, EmbeddedChain};

use crate::common::OPERATOR;

#[test]
fn state_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chain.json");
    let alice = Address::repeat_byte(0xa1);
    let token = {
        let mut chain = EmbeddedChain::open(&path).expect("opens");
        chain.set_timestamp(1_700_000_000);
        let token = chain
            .deploy(OPERATOR, TestToken::BYTECODE.clone())
            .expect("deploys")
            .contract_address
            .expect("created");
        let r = chain
            .sol_transact(
                OPERATOR,
                token,
                &TestToken::mintCall {
                    to: alice,
                    value: U256::from(1234u64),
                },
            )
            .expect("mints");
        assert_eq!(r.logs.len(), 1, "Transfer event");
        token
    };
    assert!(path.exists());
    let mut chain = EmbeddedChain::open(&path).expect("reopens");
    assert_eq!(chain.timestamp(), 1_700_000_000);
    let balance = chain
        .sol_call(alice, token, &TestToken::balanceOfCall(alice))
        .expect("reads");
    assert_eq!(balance, U256::from(1234u64));
    // the operator's nonce survived too: its next deployment lands at a new address
    let second = chain
        .deploy(OPERATOR, TestToken::BYTECODE.clone())
        .expect("deploys")
        .contract_address
        .expect("created");
    assert_ne!(second, token);
}
