//! The embedded chain keeps its state on disk: a reopened chain sees the contracts and
//! storage written before, and the logs of every committed transaction.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use sealgrid_verifier_contract::bindings::TestToken;
use sealgrid_verifier_contract::embedded::sidecar_path;
use sealgrid_verifier_contract::{Chain, EmbeddedChain, LogFilter};

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

fn mint(chain: &mut EmbeddedChain, token: Address, to: Address, value: u64) {
    chain
        .sol_transact(
            OPERATOR,
            token,
            &TestToken::mintCall {
                to,
                value: U256::from(value),
            },
        )
        .expect("mints");
}

fn transfers(chain: &mut EmbeddedChain, token: Address) -> Vec<(u64, U256)> {
    chain
        .logs(&LogFilter::since(token, 0))
        .expect("logs")
        .into_iter()
        .map(|l| {
            let t = TestToken::Transfer::decode_log_data(&l.log.data).expect("Transfer");
            (l.block_number, t.value)
        })
        .collect()
}

/// The logs survive reopening, with their block numbers; a sidecar line written by a
/// transaction whose snapshot never reached the disk (a crash in between) is dropped.
#[test]
fn logs_survive_reopening_and_a_torn_append() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chain.json");
    let alice = Address::repeat_byte(0xa1);
    let token = {
        let mut chain = EmbeddedChain::open(&path).expect("opens");
        let token = chain
            .deploy(OPERATOR, TestToken::BYTECODE.clone())
            .expect("deploys")
            .contract_address
            .expect("created");
        mint(&mut chain, token, alice, 1);
        mint(&mut chain, token, alice, 2);
        assert_eq!(chain.block_number().expect("head"), 3);
        token
    };
    let side = sidecar_path(&path);
    let good = std::fs::read(&side).expect("sidecar");
    assert_eq!(good.iter().filter(|&&b| b == b'\n').count(), 2);
    // a crash after appending (part of) a line, before the snapshot
    let mut torn = good.clone();
    torn.extend_from_slice(b"{\"block\":4,\"logs\":[{\"addr");
    std::fs::write(&side, &torn).expect("writes");
    let mut chain = EmbeddedChain::open(&path).expect("reopens");
    assert_eq!(std::fs::read(&side).expect("sidecar"), good, "truncated");
    let want = vec![(2, U256::from(1u8)), (3, U256::from(2u8))];
    assert_eq!(transfers(&mut chain, token), want);
    // the range is honoured, and other addresses' logs are not returned
    let only_3 = chain
        .logs(&LogFilter {
            address: token,
            from_block: 3,
            to_block: Some(3),
        })
        .expect("logs");
    assert_eq!(only_3.len(), 1);
    assert_eq!(only_3[0].log_index, 0);
    assert_eq!(
        chain.logs(&LogFilter::since(alice, 0)).expect("logs").len(),
        0
    );
    mint(&mut chain, token, alice, 3);
    drop(chain);
    let mut chain = EmbeddedChain::open(&path).expect("reopens");
    assert_eq!(transfers(&mut chain, token).len(), 3);
    assert_eq!(chain.block_number().expect("head"), 4);
    // a sidecar shorter than the snapshot says is an error, not a silent gap
    std::fs::write(&side, &good).expect("writes");
    let e = EmbeddedChain::open(&path).unwrap_err();
    assert!(e.to_string().contains("logs.jsonl"), "{e}");
}

/// A state file written before the log sidecar existed (no `logs_bytes`) still opens,
/// with an empty log history, and records logs from then on.
#[test]
fn a_snapshot_from_before_the_log_sidecar_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chain.json");
    let alice = Address::repeat_byte(0xa1);
    let token = {
        let mut chain = EmbeddedChain::open(&path).expect("opens");
        let token = chain
            .deploy(OPERATOR, TestToken::BYTECODE.clone())
            .expect("deploys")
            .contract_address
            .expect("created");
        mint(&mut chain, token, alice, 5);
        token
    };
    let mut snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("JSON");
    assert!(snapshot
        .as_object_mut()
        .expect("object")
        .remove("logs_bytes")
        .is_some());
    std::fs::write(&path, serde_json::to_vec(&snapshot).expect("JSON")).expect("writes");
    std::fs::remove_file(sidecar_path(&path)).expect("removes");
    let mut chain = EmbeddedChain::open(&path).expect("opens the old format");
    assert_eq!(transfers(&mut chain, token), vec![]);
    let balance = chain
        .sol_call(alice, token, &TestToken::balanceOfCall(alice))
        .expect("reads");
    assert_eq!(balance, U256::from(5u8));
    mint(&mut chain, token, alice, 6);
    drop(chain);
    let mut chain = EmbeddedChain::open(&path).expect("reopens");
    assert_eq!(transfers(&mut chain, token), vec![(3, U256::from(6u8))]);
}

/// The auditor's open (issue #13 item 11): nothing on disk changes, a missing state or
/// log is an error rather than a new empty chain, and a log longer than the state
/// vouches for is reported instead of cut away. `EmbeddedChain::open`, which the audit
/// used before, rewrote the log in the last case and created an empty one in the second.
#[test]
fn a_read_only_open_changes_nothing_and_reports_what_does_not_fit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("chain.json");
    let alice = Address::repeat_byte(0xa1);
    let token = {
        let mut chain = EmbeddedChain::open(&path).expect("opens");
        let token = chain
            .deploy(OPERATOR, TestToken::BYTECODE.clone())
            .expect("deploys")
            .contract_address
            .expect("created");
        mint(&mut chain, token, alice, 1);
        token
    };
    let side = sidecar_path(&path);
    let (state, log) = (
        std::fs::read(&path).expect("state"),
        std::fs::read(&side).expect("log"),
    );
    {
        let mut chain = EmbeddedChain::open_read_only(&path).expect("opens read-only");
        assert_eq!(transfers(&mut chain, token), vec![(2, U256::from(1u8))]);
        // a transaction runs in memory only
        mint(&mut chain, token, alice, 2);
    }
    assert_eq!(
        std::fs::read(&path).expect("state"),
        state,
        "state untouched"
    );
    assert_eq!(std::fs::read(&side).expect("log"), log, "log untouched");

    // a line appended to the log: reported, and left where it is
    let mut longer = log.clone();
    longer.extend_from_slice(b"{\"block\":3,\"logs\":[],\"input\":\"0x\"}\n");
    std::fs::write(&side, &longer).expect("writes");
    let e = EmbeddedChain::open_read_only(&path).unwrap_err();
    assert!(e.to_string().contains("never recorded"), "{e}");
    assert_eq!(std::fs::read(&side).expect("log"), longer, "not cut away");

    // a missing log, or a missing state: errors, nothing created
    std::fs::remove_file(&side).expect("removes");
    assert!(EmbeddedChain::open_read_only(&path).is_err());
    assert!(!side.exists(), "no empty log created");
    let nowhere = dir.path().join("none.json");
    assert!(EmbeddedChain::open_read_only(&nowhere).is_err());
    assert!(!nowhere.exists() && !sidecar_path(&nowhere).exists());
}
