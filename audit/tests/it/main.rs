//! The audit on a real round (see `fixture`): it passes, and each kind of tampering
//! fails the check that is about it. One test, so the round is proven once.

mod fixture;

use std::collections::BTreeMap;

use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use sealgrid_audit::checks::*;
use sealgrid_audit::market::{
    COMMITTEE, MARKET_CODE, MARKET_PARAMETERS, REGISTRATIONS, TOKEN_BALANCE, VERIFYING_KEYS,
};
use sealgrid_audit::{audit_record, read_record, AuditReport, PublicRecord, Rounds};
use sealgrid_proto::market::v1 as pb;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::events::MarketEvents;
use sealgrid_verifier_contract::EmbeddedChain;

use fixture::{Fixture, ROUND};

fn audit(f: &Fixture, record: &PublicRecord, bundle: &pb::AuditBundle) -> AuditReport {
    audit_audit_keys(f, record, bundle, &f.keys)
}

fn audit_audit_keys(
    f: &Fixture,
    record: &PublicRecord,
    bundle: &pb::AuditBundle,
    keys: &sealgrid_audit::VerifyingKeys,
) -> AuditReport {
    let bundles = BTreeMap::from([(ROUND, bundle.clone())]);
    audit_record(
        record,
        &f.market,
        keys,
        &bundles,
        &Rounds::List(vec![ROUND]),
    )
}

/// The audit of `record` against another market file than the fixture's.
fn audit_market_file(
    f: &Fixture,
    record: &PublicRecord,
    market: &sealgrid_market::file::MarketFile,
) -> AuditReport {
    let bundles = BTreeMap::from([(ROUND, f.bundle.clone())]);
    audit_record(
        record,
        market,
        &f.keys,
        &bundles,
        &Rounds::List(vec![ROUND]),
    )
}

/// Asserts that `check` (of the round, or market-wide) failed, and returns its detail.
fn failed(report: &AuditReport, round: Option<u64>, check: &str) -> String {
    let c = report
        .check(round, check)
        .unwrap_or_else(|| panic!("no check {check}"));
    assert!(!report.passed());
    assert!(
        !c.passed,
        "{check} passed after tampering: {}; failures: {:?}",
        c.detail,
        report.failures()
    );
    c.detail.clone()
}

/// The bid of the first `Settled` event (the settlement posted alone).
fn record_first_settled(record: &PublicRecord) -> U256 {
    record
        .events
        .iter()
        .find_map(|e| match &e.event {
            MarketEvents::Settled(s) => Some(s.bid),
            _ => None,
        })
        .expect("a settlement")
}

/// Re-encodes the input of the transaction that emitted the first event `pick` selects.
fn tamper_input<C: SolCall>(
    record: &mut PublicRecord,
    pick: impl Fn(&MarketEvents) -> bool,
    edit: impl FnOnce(&mut C),
) {
    let e = record
        .events
        .iter()
        .find(|e| pick(&e.event))
        .expect("event");
    let hash = e.tx_hash.expect("hash");
    let mut call = C::abi_decode(&record.inputs[&hash]).expect("decodes");
    edit(&mut call);
    record.inputs.insert(hash, call.abi_encode().into());
}

#[test]
fn audit_passes_on_a_real_round_and_each_tampering_fails_its_check() {
    let f = fixture::build();
    // the record is read from the state file as an auditor would: a fresh chain opened
    // on it (the transaction inputs come back from the log sidecar)
    let mut chain = EmbeddedChain::open(&f.state).expect("reopens");
    let record = read_record(&mut chain, &f.market).expect("record");
    let report = audit(&f, &record, &f.bundle);
    assert!(report.passed(), "{:#?}", report.failures());
    assert_eq!(report.rounds.len(), 1);
    assert_eq!(report.rounds[0].checks.len(), 11);
    assert_eq!(report.market.len(), 7);
    // the whole-API entry point agrees
    let bundles = BTreeMap::from([(ROUND, f.bundle.clone())]);
    let again =
        sealgrid_audit::audit_rounds(&mut chain, &f.market, &f.keys, &bundles, ROUND..=ROUND)
            .expect("audits");
    assert_eq!(again, report);
    let _ = &f.plain;

    // --- a tampered DLEQ proof in the bundle ------------------------------------------------
    let mut b = f.bundle.clone();
    let z1 = b.clearing_partials[0].shares[1]
        .proof
        .as_ref()
        .expect("proof")
        .z
        .clone();
    b.clearing_partials[0].shares[0]
        .proof
        .as_mut()
        .expect("proof")
        .z = z1;
    let trustee = b.clearing_partials[0].trustee_id;
    let d = failed(&audit(&f, &record, &b), Some(ROUND), CLEARING_DECRYPTION);
    assert!(
        d.contains(&format!("trustee {trustee}")) && d.contains("BadProof { slot: 0 }"),
        "{d}"
    );

    // --- a wrong partial decryption share (another slot's D, its proof kept) ---------------
    let mut b = f.bundle.clone();
    let d2 = b.settlement_partials[1].shares[2].d.clone();
    b.settlement_partials[1].shares[0].d = d2;
    let trustee = b.settlement_partials[1].trustee_id;
    let d = failed(&audit(&f, &record, &b), Some(ROUND), SETTLEMENT_DECRYPTION);
    assert!(d.contains(&format!("trustee {trustee}")), "{d}");

    // --- a share that verifies but for another context: settlement shares as clearing ------
    let mut b = f.bundle.clone();
    b.clearing_partials = b.settlement_partials.clone();
    let d = failed(&audit(&f, &record, &b), Some(ROUND), CLEARING_DECRYPTION);
    assert!(d.contains("WrongContext"), "{d}");

    // --- histograms in the bundle that differ from chain --------------------------------------
    let mut b = f.bundle.clone();
    b.clearing.as_mut().expect("clearing").h_buy[5] += 1;
    let d = failed(&audit(&f, &record, &b), Some(ROUND), HISTOGRAMS);
    assert!(d.contains("not the posted"), "{d}");

    // --- histograms posted on chain that the partial decryptions do not give ----------------
    let mut r = record.clone();
    tamper_input::<Market::clearCall>(
        &mut r,
        |e| matches!(e, MarketEvents::RoundCleared(_)),
        |c| c.hBuy[5] += 1,
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), CLEARING_DECRYPTION);
    assert!(d.contains("combine slot 5"), "{d}");

    // --- a signature removed from the bundle --------------------------------------------------
    let mut b = f.bundle.clone();
    b.clearing_signatures.pop();
    let d = failed(&audit(&f, &record, &b), Some(ROUND), CLEARING_SIGNATURES);
    assert!(
        d.contains("bundle: 1 distinct committee signers, threshold 2"),
        "{d}"
    );

    // --- a forged signature in the finalize transaction ---------------------------------------
    let mut r = record.clone();
    tamper_input::<Market::finalizeCall>(
        &mut r,
        |e| matches!(e, MarketEvents::RoundFinalized(_)),
        |c| {
            let mut s = c.sigs[0].s.0;
            s[31] ^= 1;
            c.sigs[0].s = s.into();
        },
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), FINALIZE_SIGNATURES);
    assert!(d.contains("transaction signature #0"), "{d}");

    // --- a default charged to another account than the bid's ---------------------------------
    let mut r = record.clone();
    let other = r
        .events
        .iter()
        .find_map(|e| match &e.event {
            MarketEvents::BidSubmitted(b) if b.index == 0 => Some(b.acct),
            _ => None,
        })
        .expect("bid 0");
    let d = r
        .events
        .iter_mut()
        .find_map(|e| match &mut e.event {
            MarketEvents::Defaulted(d) => Some(d),
            _ => None,
        })
        .expect("the round's default");
    assert_ne!(d.acct, other);
    d.acct = other;
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), MONEY);
    assert!(d.contains("not to the account that posted it"), "{d}");

    // --- a bid's ciphertext changed in the chain's record ------------------------------------
    let mut r = record.clone();
    let e = r
        .events
        .iter_mut()
        .find_map(|e| match &mut e.event {
            MarketEvents::BidSubmitted(b) if b.index == 2 => Some(b),
            _ => None,
        })
        .expect("bid 2");
    // C2_0 replaced by C2_1: still points, but not what the proof's digest binds
    e.ciphertexts[1] = e.ciphertexts[2];
    let report = audit(&f, &r, &f.bundle);
    let d = failed(&report, Some(ROUND), CIPHERTEXT_DIGESTS);
    assert!(d.contains("DigestMismatch"), "{d}");
    // the committee's aggregate no longer matches what is rebuilt either
    failed(&report, Some(ROUND), AGGREGATES);
    // had the committee excluded that bid (PROTOCOL §3: ignored), the digest check holds;
    // the decryption then no longer yields the posted histograms
    let mut b = f.bundle.clone();
    let id = b.included.remove(2);
    b.excluded.push(sealgrid_proto::committee::v1::Exclusion {
        bid: id,
        reason: sealgrid_proto::committee::v1::exclusion::Reason::DigestMismatch.into(),
        slot_count: 0,
    });
    let report = audit(&f, &r, &b);
    let c = report
        .check(Some(ROUND), CIPHERTEXT_DIGESTS)
        .expect("check");
    assert!(c.passed && c.detail.contains("ignored"), "{c:?}");
    failed(&report, Some(ROUND), CLEARING_DECRYPTION);

    // --- a proof altered in a transaction input -------------------------------------------
    let mut r = record.clone();
    tamper_input::<Market::submitBidCall>(
        &mut r,
        |e| matches!(e, MarketEvents::BidSubmitted(b) if b.index == 1),
        |c| {
            // A and C exchanged: both still valid points
            c.proof.swap(0, 6);
            c.proof.swap(1, 7);
        },
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), BID_PROOFS);
    assert!(d.contains("bid #1") && d.contains("does not verify"), "{d}");
    // the same inside a batch (`submitBids`): only that item's proof fails
    let mut r = record.clone();
    tamper_input::<Market::submitBidsCall>(
        &mut r,
        |e| matches!(e, MarketEvents::BidSubmitted(b) if b.index == 3),
        |c| {
            c.items[1].proof.swap(0, 6);
            c.items[1].proof.swap(1, 7);
        },
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), BID_PROOFS);
    assert!(
        d.contains("bid #3") && d.contains("does not verify") && !d.contains("bid #2"),
        "{d}"
    );
    // a batch item whose inputs are not the event's
    let mut r = record.clone();
    tamper_input::<Market::settleBatchCall>(
        &mut r,
        |e| matches!(e, MarketEvents::Settled(s) if s.bid != record_first_settled(&record)),
        |c| {
            for it in c.items.iter_mut() {
                it.inp.digest += U256::from(1u8);
            }
        },
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), SETTLE_PROOFS);
    assert!(
        d.contains("the transaction's inputs are not the event's"),
        "{d}"
    );
    let mut r = record.clone();
    tamper_input::<Market::settleCall>(
        &mut r,
        |e| matches!(e, MarketEvents::Settled(_)),
        |c| c.inp.clearing += U256::from(1u8),
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), SETTLE_PROOFS);
    assert!(d.contains("proven against clearing"), "{d}");
    let mut r = record.clone();
    tamper_input::<Market::settleCall>(
        &mut r,
        |e| matches!(e, MarketEvents::Settled(_)),
        |c| c.proof.swap(0, 6),
    );
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), SETTLE_PROOFS);
    assert!(d.contains("malformed"), "{d}");

    // --- a different verifying key -------------------------------------------------------------
    let mut keys = f.keys.clone();
    keys.bid = keys.settle.clone();
    let report = audit_audit_keys(&f, &record, &f.bundle, &keys);
    let d = failed(&report, None, VERIFYING_KEYS);
    assert!(d.contains("the bid verifier"), "{d}");
    failed(&report, Some(ROUND), BID_PROOFS);

    // --- the market file names the other EVM build: its verifiers' code is not the chain's ---
    let mut london = f.market.clone();
    london.deployment.evm = sealgrid_verifier_contract::artifacts::EvmTarget::London;
    let report = audit_market_file(&f, &record, &london);
    let d = failed(&report, None, VERIFYING_KEYS);
    assert!(d.contains("does not hold key"), "{d}");
    let d = failed(&report, None, MARKET_CODE);
    assert!(d.contains("is not the committed london build"), "{d}");

    // --- a market contract that is not the committed one (the operator's own code): every
    //     other check reads its events and views as it says them -------------------------------
    let mut r = record.clone();
    let mut code = r.market_code.to_vec();
    let last = code.len() - 40; // inside the code, before the metadata
    code[last] ^= 1;
    r.market_code = code.into();
    let d = failed(&audit(&f, &r, &f.bundle), None, MARKET_CODE);
    assert!(d.contains("is not the committed shanghai build"), "{d}");
    // a market wired to another Poseidon, or a Poseidon that is not circomlibjs's
    let mut other = f.market.clone();
    other.deployment.poseidon = alloy_primitives::Address::repeat_byte(0x99);
    let report = audit_market_file(&f, &record, &other);
    failed(&report, None, MARKET_CODE);
    let mut r = record.clone();
    r.poseidon_code = alloy_primitives::Bytes::from(vec![0x60, 0x00]);
    let d = failed(&audit(&f, &r, &f.bundle), None, MARKET_CODE);
    assert!(d.contains("is not circomlibjs's"), "{d}");
    // a clearing rule that is not the committed one, and a market that calls another
    // rule than the one it names
    let mut r = record.clone();
    r.clearing_rule.1 = alloy_primitives::Bytes::from(vec![0x60, 0x00]);
    let d = failed(&audit(&f, &r, &f.bundle), None, MARKET_CODE);
    assert!(
        d.contains("is not the committed shanghai ClearingRule"),
        "{d}"
    );
    let mut r = record.clone();
    r.clearing_rule.0 = alloy_primitives::Address::repeat_byte(0x77);
    let d = failed(&audit(&f, &r, &f.bundle), None, MARKET_CODE);
    assert!(d.contains("is not the committed shanghai build"), "{d}");
    // a market whose immutable names another address that holds the committed rule's
    // code (an operator's own deployment of it, or a CREATE2 address re-created): its
    // code and the rule's code both match, but the rule is not the one the market's
    // constructor created
    let mut r = record.clone();
    let word = |a: alloy_primitives::Address| {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(a.as_slice());
        w
    };
    let (real, other) = (
        word(r.clearing_rule.0),
        word(alloy_primitives::Address::repeat_byte(0x77)),
    );
    let mut code = r.market_code.to_vec();
    let mut named = 0;
    for i in 0..code.len().saturating_sub(31) {
        if code[i..i + 32] == real {
            code[i..i + 32].copy_from_slice(&other);
            named += 1;
        }
    }
    assert!(named > 0, "the market's code names its rule");
    r.market_code = code.into();
    r.clearing_rule.0 = alloy_primitives::Address::repeat_byte(0x77);
    let d = failed(&audit(&f, &r, &f.bundle), None, MARKET_CODE);
    assert!(d.contains("not the one its constructor created"), "{d}");
    assert!(!d.contains("is not the committed shanghai build"), "{d}");

    // --- a wrong finalize total --------------------------------------------------------------
    let mut b = f.bundle.clone();
    let t = b
        .finalization
        .as_mut()
        .and_then(|f| f.totals.as_mut())
        .expect("totals");
    t.pay += 1;
    let d = failed(&audit(&f, &record, &b), Some(ROUND), SETTLEMENT_DECRYPTION);
    assert!(d.contains("not the posted"), "{d}");
    let mut r = record.clone();
    tamper_input::<Market::finalizeCall>(
        &mut r,
        |e| matches!(e, MarketEvents::RoundFinalized(_)),
        |c| c.totals.penalty += U256::from(1u8),
    );
    let d = failed(
        &audit(&f, &r, &f.bundle),
        Some(ROUND),
        SETTLEMENT_DECRYPTION,
    );
    assert!(d.contains("combine slot 2"), "{d}");

    // --- money: a residual that is not the totals', a vanished payout, a missing defaulter ---
    let mut r = record.clone();
    for e in &mut r.events {
        if let MarketEvents::RoundFinalized(x) = &mut e.event {
            x.toOperator += alloy_primitives::I256::ONE;
        }
    }
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), MONEY);
    assert!(d.contains("pays the operator"), "{d}");
    let mut r = record.clone();
    r.events
        .retain(|e| !matches!(e.event, MarketEvents::Defaulted(_)));
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), MONEY);
    assert!(d.contains("defaulters listed []"), "{d}");
    let mut r = record.clone();
    r.token_balance += U256::from(1u8);
    failed(&audit(&f, &r, &f.bundle), None, TOKEN_BALANCE);

    // --- a round cleared with fewer distinct accounts than k (the floor counts parties) --
    let mut r = record.clone();
    let mut first = None;
    for e in r.events.iter_mut() {
        if let MarketEvents::BidSubmitted(b) = &mut e.event {
            b.acct = *first.get_or_insert(b.acct);
        }
    }
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), CLEARING);
    assert!(d.contains("1 distinct bidding accounts"), "{d}");

    // --- market-file fields the chain or the circuits bind (issue #13 item 11) -----------
    let with_market = |m: &sealgrid_market::file::MarketFile| {
        let bundles = BTreeMap::from([(ROUND, f.bundle.clone())]);
        audit_record(&record, m, &f.keys, &bundles, &Rounds::List(vec![ROUND]))
    };
    let mut m = f.market.clone();
    m.trustee_setup.market.floor = 1000;
    let d = failed(&with_market(&m), None, MARKET_PARAMETERS);
    assert!(d.contains("floor 1000"), "{d}");
    let mut m = f.market.clone();
    m.deployment.max_defaults += 1;
    let d = failed(&with_market(&m), None, MARKET_PARAMETERS);
    assert!(d.contains("max_defaults"), "{d}");
    let mut m = f.market.clone();
    m.deployment.operator = alloy_primitives::Address::repeat_byte(0x0e);
    failed(&with_market(&m), None, MARKET_PARAMETERS);

    // --- a flow key swapped in the market file for one the forger holds the secret of ----
    let mut m = f.market.clone();
    m.trustee_setup.committee.flow_keys[0] = ark_ec::CurveGroup::into_affine(
        sealgrid_circuits::babyjubjub::base8()
            * sealgrid_circuits::babyjubjub::Scalar::from(12345u64),
    );
    let d = failed(&with_market(&m), None, COMMITTEE);
    assert!(d.contains("flow key 0"), "{d}");
    // a key set that is not even valid (a key twice) is a failed check, not a panic
    let mut m = f.market.clone();
    m.trustee_setup.committee.flow_keys[0] = m.trustee_setup.committee.flow_keys[1];
    failed(&with_market(&m), None, MARKET_PARAMETERS);

    // --- registrations: an account registered with a balance, a meter backing two ------
    let mut r = record.clone();
    for e in r.events.iter_mut() {
        if let MarketEvents::Registered(x) = &mut e.event {
            x.free += U256::from(1u8);
            break;
        }
    }
    let d = failed(&audit(&f, &r, &f.bundle), None, REGISTRATIONS);
    assert!(d.contains("not the empty balance"), "{d}");
    let mut r = record.clone();
    let first_meter = r
        .events
        .iter()
        .find_map(|e| match &e.event {
            MarketEvents::Registered(x) => Some(x.meterId),
            _ => None,
        })
        .expect("a registration");
    for e in r.events.iter_mut().rev() {
        if let MarketEvents::Registered(x) = &mut e.event {
            x.meterId = first_meter;
            break;
        }
    }
    let d = failed(&audit(&f, &r, &f.bundle), None, REGISTRATIONS);
    assert!(d.contains("backs accounts"), "{d}");

    // --- the round pinned to a committee epoch that is not the market file's ------------
    let mut r = record.clone();
    for e in r.events.iter_mut() {
        if let MarketEvents::RoundPinned(x) = &mut e.event {
            x.epoch += 1;
        }
    }
    let d = failed(&audit(&f, &r, &f.bundle), None, COMMITTEE);
    assert!(d.contains("never activated"), "{d}");
    let mut r = record.clone();
    for e in r.events.iter_mut() {
        if let MarketEvents::CommitteeSet(x) = &mut e.event {
            x.threshold = U256::from(1u8);
        }
    }
    let d = failed(&audit(&f, &r, &f.bundle), None, COMMITTEE);
    assert!(d.contains("not the market file's committee"), "{d}");

    // --- a bid's ciphertext changed in the embedded state's log sidecar ------------------
    let sidecar = sealgrid_verifier_contract::embedded::sidecar_path(&f.state);
    let text = std::fs::read_to_string(&sidecar).expect("sidecar");
    let topic = format!(
        "{}",
        <Market::BidSubmitted as alloy_sol_types::SolEvent>::SIGNATURE_HASH
    );
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.contains(&topic))
        .expect("a bid's line");
    let mut v: serde_json::Value = serde_json::from_str(line).expect("json");
    let data = v["logs"][0]["data"].as_str().expect("data").to_owned();
    let words = (data.len() - 2) / 64;
    let levels = f.market.trustee_setup.market.levels;
    // the event's last 2K + 2 words are the packed points C1, C2_0, C2_1, …
    let c2_0 = 2 + 64 * (words - 2 * (levels + 1) + 1);
    // C2_0 := C2_1: a valid point, the same byte length
    let tampered = format!(
        "{}{}{}",
        &data[..c2_0],
        &data[c2_0 + 64..c2_0 + 128],
        &data[c2_0 + 64..]
    );
    v["logs"][0]["data"] = serde_json::Value::String(tampered);
    *line = serde_json::to_string(&v).expect("json");
    std::fs::write(&sidecar, lines.join("\n") + "\n").expect("writes");
    let mut chain = EmbeddedChain::open(&f.state).expect("reopens");
    let r = read_record(&mut chain, &f.market).expect("record");
    let d = failed(&audit(&f, &r, &f.bundle), Some(ROUND), CIPHERTEXT_DIGESTS);
    assert!(d.contains("DigestMismatch"), "{d}");

    // --- a round that never was --------------------------------------------------------
    let report = audit_record(
        &record,
        &f.market,
        &f.keys,
        &BTreeMap::new(),
        &Rounds::List(vec![ROUND + 1]),
    );
    failed(&report, Some(ROUND + 1), OPENED);

    // --- a missing bundle ------------------------------------------------------------------
    let report = audit_record(&record, &f.market, &f.keys, &BTreeMap::new(), &Rounds::All);
    let d = failed(&report, Some(ROUND), CLEARING_DECRYPTION);
    assert!(d.contains("no audit bundle"), "{d}");
}
