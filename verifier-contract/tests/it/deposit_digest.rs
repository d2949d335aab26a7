//! The payer's EIP-712 digest (PROTOCOL §8): the Rust definition
//! (`committee::deposit_digest`, which wallets sign) is the contract's `depositDigest`
//! on revm, for several payers and inputs, and the contract's domain separator is the
//! Rust one; a signature over it recovers to the payer in the contract's check.

use alloy_primitives::{Address, U256};
use k256::ecdsa::SigningKey;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::committee::{
    address_of, deposit_digest, domain_separator, sign_deposit,
};
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec};
use sealgrid_verifier_contract::{Chain, EmbeddedChain};

use crate::common::{fixture, OPERATOR};

#[test]
fn the_contracts_deposit_digest_is_the_rust_eip712_hash() {
    let f = fixture();
    let mut chain = EmbeddedChain::in_memory();
    let trustees = [Address::repeat_byte(1), Address::repeat_byte(2)];
    let d = deploy_market(
        &mut chain,
        OPERATOR,
        &DeploySpec {
            params: &f.params,
            balance_vk: &f.pair(sealgrid_prover::circuits::CircuitKind::Balance).vk,
            bid_vk: &f.pair(sealgrid_prover::circuits::CircuitKind::Bid).vk,
            settle_vk: &f.pair(sealgrid_prover::circuits::CircuitKind::Settle).vk,
            trustees: &trustees,
            threshold: 1,
            max_unsettled: 1,
            max_defaults: 1,
            committee_delay: 0,
            evm: sealgrid_verifier_contract::artifacts::EvmTarget::Shanghai,
            token: None,
        },
    )
    .expect("market deploys");
    let chain_id = chain.chain_id().expect("chain id");
    let on_chain_domain = chain
        .sol_call(OPERATOR, d.market, &Market::domainSeparatorCall {})
        .expect("domainSeparator");
    assert_eq!(on_chain_domain, domain_separator(chain_id, d.market));
    let payer_key = SigningKey::from_slice(&[0x33; 32]).expect("key");
    let payers = [address_of(&payer_key), Address::repeat_byte(0xfe)];
    let r_minus_1 = U256::from_str_radix(
        "21888242871839275222246405745257275088548364400416034343698204186575808495616",
        10,
    )
    .expect("r - 1");
    for payer in payers {
        for (i, delta) in [U256::from(1u64), U256::from(500_000u64), r_minus_1]
            .into_iter()
            .enumerate()
        {
            let inp = Market::BalanceInputs {
                acct: U256::from(0xacc7u64) << (8 * i),
                fOld: U256::from(7u64 + i as u64),
                fNew: r_minus_1 - U256::from(i),
                delta,
                pIn: U256::from(i) << 100,
                recipient: U256::from(i),
            };
            let ours = deposit_digest(chain_id, d.market, payer, &inp);
            let theirs = chain
                .sol_call(
                    OPERATOR,
                    d.market,
                    &Market::depositDigestCall {
                        payer,
                        inp: inp.clone(),
                    },
                )
                .expect("depositDigest");
            assert_eq!(theirs, ours, "payer {payer}, inputs {inp:?}");
        }
    }
    // another market or chain is another digest
    let inp = Market::BalanceInputs {
        acct: U256::from(1u64),
        fOld: U256::from(2u64),
        fNew: U256::from(3u64),
        delta: U256::from(4u64),
        pIn: U256::ZERO,
        recipient: U256::ZERO,
    };
    let here = deposit_digest(chain_id, d.market, payers[0], &inp);
    assert_ne!(
        here,
        deposit_digest(chain_id + 1, d.market, payers[0], &inp)
    );
    assert_ne!(
        here,
        deposit_digest(chain_id, Address::repeat_byte(9), payers[0], &inp)
    );
    // the signature a wallet makes over it is one `depositFor` accepts: its revert is
    // past the signature check (the account is not registered)
    let sig = sign_deposit(&payer_key, here);
    let e = chain
        .sol_transact(
            OPERATOR,
            d.market,
            &Market::depositForCall {
                payer: payers[0],
                proof: [U256::ZERO; 8],
                inp: inp.clone(),
                sig: sig.clone(),
            },
        )
        .expect_err("unregistered");
    assert!(
        matches!(
            e.decode::<Market::MarketErrors>(),
            Some(Market::MarketErrors::NotRegistered(_))
        ),
        "{e}"
    );
    // signed for another payer: BadSignature
    let e = chain
        .sol_transact(
            OPERATOR,
            d.market,
            &Market::depositForCall {
                payer: payers[1],
                proof: [U256::ZERO; 8],
                inp,
                sig,
            },
        )
        .expect_err("forged");
    assert!(
        matches!(
            e.decode::<Market::MarketErrors>(),
            Some(Market::MarketErrors::BadSignature(_))
        ),
        "{e}"
    );
}
