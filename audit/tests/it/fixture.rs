//! One real round on the embedded chain, without the coordinator: the market deployed
//! with the demo committee's keys (cached in the target directory's key store), six
//! prosumers who deposit and bid, the in-process demo trustees who decrypt and sign the
//! clearing, five settlements (one defaulter), the trustees' settlement decryption and
//! finalization; and the audit bundle built from what the trustees returned.

use std::path::PathBuf;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::{BalanceCircuit, BalanceOpening, BalanceProofPrivate};
use sealgrid_circuits::bid::{self, BidCircuit};
use sealgrid_circuits::commitment::account_id;
use sealgrid_circuits::eddsa::PrivateKey;
use sealgrid_circuits::market::{clear, MarketParams, Side};
use sealgrid_circuits::settle::{self, SettleCircuit};
use sealgrid_circuits::Fr;
use sealgrid_committee::settlement::settlement_view;
use sealgrid_committee::sign::{EthSignature, FinalizeTotals, SigningDomain};
use sealgrid_committee::trustee::{FinalizeRequest, PartialDecryptRequest, SignRequest};
use sealgrid_market::file::{MarketFile, VerifierKeyIds as KeyIds};
use sealgrid_proto::committee::v1 as cpb;
use sealgrid_proto::convert;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::circuits::target_key_dir;
use sealgrid_prover::{prove, CircuitKind, Circuits, KeyPair, KeyStore, NoProgress};
use sealgrid_trustee::demo::{DemoCommittee, THRESHOLD};
use sealgrid_market::TrusteeSetup;
use sealgrid_verifier_contract::bindings::{Market, TestToken};
use sealgrid_verifier_contract::chain::address_of_secret;
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec};
use sealgrid_verifier_contract::events::{market_events, posted_bids, posted_settlements};
use sealgrid_verifier_contract::{calldata, Chain, DevChain, EmbeddedChain};

pub const ROUND: u64 = 7;
const W: u64 = 1000;
const DEPOSIT: u64 = 1_000_000;
/// The prosumer who does not settle.
pub const DEFAULTER: usize = 5;

/// Everything a test needs.
pub struct Fixture {
    /// Holds the chain's state file.
    pub _dir: tempfile::TempDir,
    pub state: PathBuf,
    pub market: MarketFile,
    pub keys: sealgrid_audit::VerifyingKeys,
    pub bundle: pb::AuditBundle,
    pub plain: Vec<(Side, usize, u64)>,
}

fn tx<C: SolCall>(chain: &mut EmbeddedChain, from: Address, to: Address, call: &C) {
    chain
        .transact(from, to, call.abi_encode().into())
        .unwrap_or_else(|e| panic!("{}: {e}", C::SIGNATURE));
}

fn market_sig(s: &EthSignature) -> Market::Signature {
    Market::Signature {
        v: s.0[64],
        r: B256::from_slice(&s.0[..32]),
        s: B256::from_slice(&s.0[32..64]),
    }
}

pub fn build() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let params = MarketParams::default();
    let k = params.levels;
    let demo = DemoCommittee::new(k).expect("demo committee");
    let circuits = Circuits::new(params.clone(), demo.public.flow_keys()).expect("circuits");
    let store = KeyStore::open(target_key_dir()).expect("key store");
    let pair = |kind: CircuitKind| -> KeyPair {
        store
            .get_or_setup(
                &circuits.key_name(kind),
                circuits.setup_circuit(kind),
                &mut ChaCha20Rng::seed_from_u64(1),
                &NoProgress,
            )
            .expect("keys")
    };
    let (balance_kp, bid_kp, settle_kp) = (
        pair(CircuitKind::Balance),
        pair(CircuitKind::Bid),
        pair(CircuitKind::Settle),
    );
    let flow = demo.public.flow_keys();

    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("chain.json");
    let mut chain = EmbeddedChain::open(&state).expect("chain");
    let operator = address_of_secret(&[0x0a; 32]).expect("operator");
    let trustees: Vec<Address> = demo
        .addresses()
        .iter()
        .map(|a| Address::from(a.0))
        .collect();
    let deployment = deploy_market(
        &mut chain,
        operator,
        &DeploySpec {
            params: &params,
            balance_vk: &balance_kp.vk,
            bid_vk: &bid_kp.vk,
            settle_vk: &settle_kp.vk,
            trustees: &trustees,
            threshold: THRESHOLD as usize,
            max_unsettled: 1,
            max_defaults: 3,
            token: None,
        },
    )
    .expect("deploys");
    let (mkt, token) = (deployment.market, deployment.token);
    let domain = SigningDomain {
        chain_id: deployment.chain_id,
        contract: sealgrid_committee::sign::Address(mkt.0 .0),
    };
    let market = MarketFile {
        deployment: deployment.clone(),
        trustee_setup: TrusteeSetup {
            committee: (*demo.public).clone(),
            market: params.clone(),
            domain,
        },
        trustees: demo.addresses(),
        verifying_keys: KeyIds {
            balance: balance_kp.id.verifying.clone(),
            bid: bid_kp.id.verifying.clone(),
            settle: settle_kp.id.verifying.clone(),
        },
    };
    // the operator funds negative residuals
    tx(
        &mut chain,
        operator,
        token,
        &TestToken::mintCall {
            to: operator,
            value: U256::from(DEPOSIT),
        },
    );
    tx(
        &mut chain,
        operator,
        token,
        &TestToken::approveCall {
            spender: mkt,
            value: U256::MAX,
        },
    );

    // --- six prosumers register and deposit ---------------------------------------------
    let mut openings = Vec::new();
    let mut meters = Vec::new();
    let mut evms = Vec::new();
    for i in 0..6u8 {
        let evm = chain.add_account([0x10 + i; 32]).expect("key");
        let opening = BalanceOpening {
            sk_acct: Fr::from(1000 + i as u64),
            balance: 0,
            salt: Fr::from(0u64),
        };
        let meter = PrivateKey::from_bytes([0x40 + i; 32]);
        tx(
            &mut chain,
            operator,
            mkt,
            &Market::registerCall {
                acct: calldata::fr(&account_id(opening.sk_acct)),
                meterId: calldata::fr(&settle::meter_id(&meter.public_key())),
                free: calldata::fr(&opening.commitment()),
            },
        );
        tx(
            &mut chain,
            operator,
            token,
            &TestToken::mintCall {
                to: evm,
                value: U256::from(DEPOSIT),
            },
        );
        tx(
            &mut chain,
            evm,
            token,
            &TestToken::approveCall {
                spender: mkt,
                value: U256::MAX,
            },
        );
        let (public, private, next) = BalanceProofPrivate::transition(
            &opening,
            None,
            DEPOSIT as i128,
            Fr::from(0u64),
            &mut rng,
        )
        .expect("valid deposit");
        let st = prove(
            &balance_kp.pk,
            BalanceCircuit::new(public, private),
            &mut rng,
            &NoProgress,
        )
        .expect("proves");
        tx(
            &mut chain,
            evm,
            mkt,
            &Market::depositCall {
                proof: calldata::proof(&st.proof),
                inp: calldata::balance_inputs(&public),
            },
        );
        openings.push(next);
        meters.push(meter);
        evms.push(evm);
    }

    // --- the round: bids ------------------------------------------------------------------
    let t0 = chain.now().expect("clock");
    tx(
        &mut chain,
        operator,
        mkt,
        &Market::openRoundCall {
            round: ROUND,
            bidDeadline: t0 + W,
            settleStart: t0 + 2 * W,
            settleDeadline: t0 + 3 * W,
        },
    );
    tx(
        &mut chain,
        operator,
        mkt,
        &Market::startBiddingCall { round: ROUND },
    );
    let plain: Vec<(Side, usize, u64)> = vec![
        (Side::Buy, 5, 10),
        (Side::Buy, 3, 8),
        (Side::Sell, 1, 6),
        (Side::Sell, 4, 9),
        (Side::Buy, 6, 5),
        (Side::Sell, 2, 7),
    ];
    let mut bid_openings = Vec::new();
    let mut locks = Vec::new();
    for (i, &(side, level, q)) in plain.iter().enumerate() {
        let o = &openings[i];
        let b = bid::prepare(
            &params, &flow, ROUND, o.sk_acct, o.balance, o.salt, side, level, q, &mut rng,
        )
        .expect("valid bid");
        let circuit = BidCircuit {
            params: params.clone(),
            keys: flow.clone(),
            public: b.public.clone(),
            private: b.private.clone(),
        };
        let st = prove(&bid_kp.pk, circuit, &mut rng, &NoProgress).expect("proves");
        tx(
            &mut chain,
            evms[i],
            mkt,
            &Market::submitBidCall {
                proof: calldata::proof(&st.proof),
                inp: calldata::bid_inputs(&b.public),
                ciphertexts: calldata::ciphertexts(&b.ciphertexts),
            },
        );
        bid_openings.push(b.private.opening());
        locks.push(b.private.lock);
    }
    chain.warp(t0 + W).expect("clock");
    tx(
        &mut chain,
        operator,
        mkt,
        &Market::closeRoundCall { round: ROUND },
    );

    // --- the committee decrypts and signs the clearing -------------------------------------
    let events = market_events(&mut chain, mkt, deployment.deployment_block).expect("events");
    let bids = posted_bids(&events, ROUND).expect("bids");
    let members = demo.trustees(&params, domain);
    let responses: Vec<_> = members
        .iter()
        .map(|t| {
            t.partial_decrypt(&PartialDecryptRequest { round: ROUND }, &bids, &mut rng)
                .expect("decrypts")
        })
        .collect();
    let (mut h_buy, mut h_sell) = (vec![0u64; k], vec![0u64; k]);
    for &(side, level, q) in &plain {
        match side {
            Side::Buy => h_buy[level] += q,
            Side::Sell => h_sell[level] += q,
        }
    }
    let clearing = clear(&h_buy, &h_sell, bids.len(), params.k_anonymity).expect("clears");
    assert!(clearing.cleared && clearing.volume > 0);
    let partials: Vec<_> = responses.iter().map(|r| r.partial.clone()).collect();
    let sign_req = SignRequest {
        round: ROUND,
        h_buy: h_buy.clone(),
        h_sell: h_sell.clone(),
        partials: partials.clone(),
    };
    // trustees 1 and 2 sign (t = 2), sorted by address as the contract wants
    let mut signed: Vec<_> = members[..2]
        .iter()
        .map(|t| t.sign(&sign_req, &bids).expect("signs"))
        .collect();
    signed.sort_by_key(|s| s.address);
    let included = signed[0].statement.included.clone();
    tx(
        &mut chain,
        operator,
        mkt,
        &Market::clearCall {
            round: ROUND,
            hBuy: h_buy.clone(),
            hSell: h_sell.clone(),
            included: included.iter().map(|w| U256::from_be_bytes(*w)).collect(),
            sigs: signed.iter().map(|s| market_sig(&s.signature)).collect(),
        },
    );

    // --- settlement: everyone but the defaulter --------------------------------------------
    chain.warp(t0 + 2 * W).expect("clock");
    let mut totals = FinalizeTotals::default();
    for (i, opening) in bid_openings.iter().enumerate() {
        if i == DEFAULTER {
            continue;
        }
        let export = if opening.side == Side::Sell {
            opening.q / 2 + 1
        } else {
            0
        };
        let reading = settle::sign_reading(&meters[i], ROUND, 3, export);
        let s = settle::prepare(
            &params,
            &flow,
            &clearing,
            ROUND,
            openings[i].sk_acct,
            opening.clone(),
            meters[i].public_key(),
            reading,
            &mut rng,
        )
        .expect("valid settlement");
        let circuit = SettleCircuit {
            params: params.clone(),
            keys: flow.clone(),
            clearing,
            public: s.public.clone(),
            private: s.private.clone(),
        };
        let st = prove(&settle_kp.pk, circuit, &mut rng, &NoProgress).expect("proves");
        tx(
            &mut chain,
            operator,
            mkt,
            &Market::settleCall {
                proof: calldata::proof(&st.proof),
                inp: calldata::settle_inputs(&s.public),
                ciphertexts: calldata::ciphertexts(&s.ciphertexts),
            },
        );
        totals.pay += s.settlement.pay;
        totals.credit += s.settlement.credit;
        totals.penalty += s.settlement.penalty;
    }
    totals.defaulted_locks = locks[DEFAULTER];

    // --- the committee decrypts the settlement and signs the finalization ------------------
    chain.warp(t0 + 3 * W + 1).expect("clock");
    let events = market_events(&mut chain, mkt, deployment.deployment_block).expect("events");
    let settlements = posted_settlements(&events, ROUND);
    let view = settlement_view(ROUND, k, &bids, &settlements);
    let shares: Vec<_> = members
        .iter()
        .map(|t| {
            t.partial_decrypt_settlement_view(&view, &mut rng)
                .expect("decrypts")
        })
        .collect();
    let flow_partials: Vec<_> = shares.iter().filter_map(|s| s.0.clone()).collect();
    let lock_partials: Vec<_> = shares.iter().filter_map(|s| s.1.clone()).collect();
    let fin_req = FinalizeRequest {
        round: ROUND,
        totals,
        flow_partials: flow_partials.clone(),
        lock_partials: lock_partials.clone(),
    };
    let mut fin_signed: Vec<_> = members[1..]
        .iter()
        .map(|t| {
            t.sign_finalize(&fin_req, &bids, &settlements)
                .expect("signs")
        })
        .collect();
    fin_signed.sort_by_key(|s| s.address);
    let defaulted = fin_signed[0].statement.defaulted.clone();
    tx(
        &mut chain,
        operator,
        mkt,
        &Market::finalizeCall {
            round: ROUND,
            totals: Market::FlowTotals {
                pay: U256::from(totals.pay),
                credit: U256::from(totals.credit),
                penalty: U256::from(totals.penalty),
                defaultedLocks: U256::from(totals.defaulted_locks),
            },
            defaulted: defaulted.iter().map(|b| U256::from_be_bytes(b.0)).collect(),
            sigs: fin_signed
                .iter()
                .map(|s| market_sig(&s.signature))
                .collect(),
        },
    );

    // --- the audit bundle, as a coordinator keeps it ----------------------------------------
    let to_operator = i64::try_from(totals.operator_residual()).expect("fits an int64");
    let bundle = pb::AuditBundle {
        round: ROUND,
        clearing_partials: partials.iter().map(cpb::PartialDecryption::from).collect(),
        included: responses[0].included.iter().map(|b| b.0.to_vec()).collect(),
        excluded: convert::exclusions_to_pb(&responses[0].excluded),
        clearing: Some(pb::Clearing {
            cleared: clearing.cleared,
            level: clearing.level as u32,
            price: params.price(clearing.level),
            volume: clearing.volume,
            packed: calldata::fr(&clearing.pack()).to_be_bytes::<32>().to_vec(),
            h_buy,
            h_sell,
            included: bids.len() as u32,
            inclusion_bitmap: included.iter().map(|w| w.to_vec()).collect(),
        }),
        clearing_signatures: signed.iter().map(|s| s.signature.0.to_vec()).collect(),
        settlement_partials: flow_partials
            .iter()
            .map(cpb::PartialDecryption::from)
            .collect(),
        defaulted_partials: lock_partials
            .iter()
            .map(cpb::PartialDecryption::from)
            .collect(),
        finalization: Some(pb::Finalization {
            totals: Some((&totals).into()),
            defaulted: defaulted.iter().map(|b| b.0.to_vec()).collect(),
            to_operator,
        }),
        finalize_signatures: fin_signed.iter().map(|s| s.signature.0.to_vec()).collect(),
    };
    drop(chain);
    Fixture {
        _dir: dir,
        state,
        market,
        keys: sealgrid_audit::VerifyingKeys {
            balance: balance_kp.vk,
            bid: bid_kp.vk,
            settle: settle_kp.vk,
        },
        bundle,
        plain,
    }
}
