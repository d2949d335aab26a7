//! One real round on the embedded chain, without the coordinator: the market deployed
//! with the demo committee's keys (cached in the target directory's key store), six
//! prosumers who deposit and bid, the in-process demo trustees who decrypt and sign the
//! clearing, five settlements (one defaulter), the trustees' settlement decryption and
//! finalization; and the audit bundle built from what the trustees returned.

use std::path::PathBuf;

use alloy_primitives::{Address, B256, U256};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::market::{clear, MarketParams, Side};
use sealgrid_committee::settlement::settlement_view;
use sealgrid_committee::sign::{EthSignature, FinalizeTotals, SigningDomain};
use sealgrid_committee::trustee::{FinalizeRequest, PartialDecryptRequest, SignRequest};
use sealgrid_market::file::{MarketFile, VerifierKeyIds as KeyIds};
use sealgrid_market::TrusteeSetup;
use sealgrid_proto::committee::v1 as cpb;
use sealgrid_proto::convert;
use sealgrid_proto::market::v1 as pb;
use sealgrid_prover::circuits::target_key_dir;
use sealgrid_testkit::bids::{histograms, QUOTES};
use sealgrid_testkit::keys::TestKeys;
use sealgrid_testkit::market::{
    fund_operator, prove_bid, prove_deposit, prove_settlement, register, transact, Contracts,
    Prosumer,
};
use sealgrid_trustee::demo::{DemoCommittee, THRESHOLD};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::chain::address_of_secret;
use sealgrid_verifier_contract::deploy::{deploy_market, DeploySpec};
use sealgrid_verifier_contract::events::{market_events, posted_bids, posted_settlements};
use sealgrid_verifier_contract::{calldata, DevChain, EmbeddedChain};

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
    // the keys of the demo committee's circuits, shared with the demo and the local market
    let keys = TestKeys::load_or_setup(&target_key_dir(), params.clone(), demo.public.flow_keys());
    let (balance_kp, bid_kp, settle_kp) = (&keys.balance, &keys.bid, &keys.settle);

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
            // demo and test markets: no delay (PROTOCOL §8 gives the production one)
            committee_delay: sealgrid_verifier_contract::deploy::DEMO_COMMITTEE_DELAY,
            evm: sealgrid_verifier_contract::artifacts::EvmTarget::Shanghai,
        },
    )
    .expect("deploys");
    let (mkt, _token) = (deployment.market, deployment.token);
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
        // keys of a single party: the `key-setup` check (not part of `audit_record`)
        // would report them
        setup: None,
    };
    // the operator funds negative residuals
    let contracts = Contracts::from(&deployment);
    fund_operator(&mut chain, &contracts, DEPOSIT);

    // --- six prosumers register and deposit ---------------------------------------------
    let mut prosumers = Vec::new();
    for i in 0..6u8 {
        let mut p = Prosumer::join(&mut chain, i);
        register(&mut chain, &contracts, &p, DEPOSIT);
        let step = prove_deposit(&keys, &p.opening, DEPOSIT, &mut rng);
        transact(&mut chain, p.evm, mkt, &step.deposit());
        p.opening = step.next;
        prosumers.push(p);
    }

    // --- the round: bids ------------------------------------------------------------------
    let t0 = chain.now().expect("clock");
    transact(
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
    transact(
        &mut chain,
        operator,
        mkt,
        &Market::startBiddingCall { round: ROUND },
    );
    let plain = QUOTES.to_vec();
    let mut bid_openings = Vec::new();
    let mut locks = Vec::new();
    // Bids 0 and 1 alone (`submitBid`), the others in one `submitBids`: the audit reads
    // proofs back from both.
    let mut batch = Vec::new();
    for (i, (p, &quote)) in prosumers.iter().zip(&plain).enumerate() {
        let (b, call) = prove_bid(&keys, ROUND, &p.opening, quote, &mut rng);
        if i < 2 {
            transact(&mut chain, p.evm, mkt, &call);
        } else {
            batch.push(Market::BidItem {
                proof: call.proof,
                inp: call.inp,
                ciphertexts: call.ciphertexts,
            });
        }
        bid_openings.push(b.private.opening());
        locks.push(b.private.lock);
    }
    transact(
        &mut chain,
        operator,
        mkt,
        &Market::submitBidsCall { items: batch },
    );
    chain.warp(t0 + W).expect("clock");
    transact(
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
    let (h_buy, h_sell) = histograms(k, plain.iter().copied());
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
    transact(
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
    let mut settle_batch = Vec::new();
    for (i, opening) in bid_openings.iter().enumerate() {
        if i == DEFAULTER {
            continue;
        }
        let p = &prosumers[i];
        let (s, call) = prove_settlement(
            &keys,
            &clearing,
            ROUND,
            p.opening.sk_acct,
            opening.clone(),
            &p.meter,
            &mut rng,
        );
        // The first settlement alone (`settle`), the others in one `settleBatch`.
        if i == 0 {
            transact(&mut chain, operator, mkt, &call);
        } else {
            settle_batch.push(Market::SettleItem {
                proof: call.proof,
                inp: call.inp,
                ciphertexts: call.ciphertexts,
            });
        }
        totals.pay += s.settlement.pay;
        totals.credit += s.settlement.credit;
        totals.penalty += s.settlement.penalty;
    }
    transact(
        &mut chain,
        operator,
        mkt,
        &Market::settleBatchCall {
            items: settle_batch,
        },
    );

    // --- the committee decrypts the settlement and signs the finalization ------------------
    chain.warp(t0 + 3 * W + 1).expect("clock");
    let events = market_events(&mut chain, mkt, deployment.deployment_block).expect("events");
    let settlements = posted_settlements(&events, ROUND);
    let view = settlement_view(ROUND, k, params.k_anonymity as usize, &bids, &settlements);
    // A lone defaulter (fewer than k_anonymity): its lock is withheld, never decrypted.
    totals.defaulted_locks = if view.locks_withheld() {
        0
    } else {
        locks[DEFAULTER]
    };
    transact(
        &mut chain,
        operator,
        mkt,
        &Market::recordDefaultsCall {
            round: ROUND,
            defaulted: vec![U256::from_be_bytes(bids[DEFAULTER].id.0)],
            accounts: vec![U256::from_be_bytes(
                bids[DEFAULTER].acct.as_ref().expect("its account").0,
            )],
        },
    );
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
    transact(
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
            voided: Vec::new(),
            voidedPayouts: Vec::new(),
            voidedAccounts: Vec::new(),
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
            defaulted: vec![bids[DEFAULTER].id.0.to_vec()],
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
            balance: balance_kp.vk.clone(),
            bid: bid_kp.vk.clone(),
            settle: settle_kp.vk.clone(),
        },
        bundle,
        plain,
    }
}
