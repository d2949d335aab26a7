//! Market-wide checks: the verifier contracts hold the market file's verifying keys,
//! the contract's committee is the market file's, every balance update's proof verifies,
//! and the market's token balance is what its events add up to.
//!
//! **Verifying keys.** The verifier keeps its key in immutables, which the constructor
//! writes into the runtime code. So the key store's key is deployed, from its init code
//! (`calldata::verifier_init_code`), on a throwaway in-memory EVM, and the runtime code
//! it yields is compared byte for byte with the code at the verifier's address: equal
//! code means the same key and the same verifier logic. Reading the immutables back
//! instead would need the contract to expose them (it exposes only `numInputs`) or an
//! offset table tied to one compiler output; the comparison needs neither.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use sealgrid_circuits::Fr;
use sealgrid_market::file::MarketFile;
use sealgrid_prover::{PreparedVerifyingKey, VerifyingKey};
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::calldata::InputsError;
use sealgrid_verifier_contract::events::MarketEvents;
use sealgrid_verifier_contract::{calldata, Chain, EmbeddedChain};

use crate::record::PublicRecord;
use crate::words::{self, short};
use crate::{Check, VerifyingKeys};

/// Check names.
pub const VERIFYING_KEYS: &str = "verifying-keys";
/// See the module doc.
pub const COMMITTEE: &str = "committee";
/// See the module doc.
pub const BALANCE_PROOFS: &str = "balance-proofs";
/// See the module doc.
pub const TOKEN_BALANCE: &str = "token-balance";

/// The runtime code deploying `vk`'s verifier yields.
pub fn verifier_runtime_code(vk: &VerifyingKey) -> Result<Bytes, String> {
    let mut evm = EmbeddedChain::in_memory();
    let r = evm
        .deploy(Address::ZERO, calldata::verifier_init_code(vk))
        .map_err(|e| e.to_string())?;
    let at = r.contract_address.ok_or("no contract created")?;
    evm.code_at(at).map_err(|e| e.to_string())
}

/// The market-wide checks.
pub fn market_checks(
    record: &PublicRecord,
    market: &MarketFile,
    keys: &VerifyingKeys,
    prepared: &[PreparedVerifyingKey; 3],
) -> Vec<Check> {
    vec![
        verifying_keys(record, market, keys),
        committee(record, market),
        balance_proofs(record, &prepared[0]),
        token_balance(record),
    ]
}

fn verifying_keys(record: &PublicRecord, market: &MarketFile, keys: &VerifyingKeys) -> Check {
    let d = &market.deployment;
    let mut failures = Vec::new();
    let names = ["balance", "bid", "settle"];
    let expected_at = [d.balance_verifier, d.bid_verifier, d.settle_verifier];
    let ids = [
        &market.verifying_keys.balance,
        &market.verifying_keys.bid,
        &market.verifying_keys.settle,
    ];
    for (i, vk) in [&keys.balance, &keys.bid, &keys.settle]
        .into_iter()
        .enumerate()
    {
        if record.verifiers[i] != expected_at[i] {
            failures.push(format!(
                "the market calls the {} verifier at {}, the market file says {}",
                names[i], record.verifiers[i], expected_at[i]
            ));
        }
        match verifier_runtime_code(vk) {
            Err(e) => failures.push(format!("{} key {} does not deploy: {e}", names[i], ids[i])),
            Ok(code) if code != record.verifier_code[i] => failures.push(format!(
                "the {} verifier at {} does not hold key {} (runtime code {} bytes, keccak {}; \
                 the key's verifier: {} bytes, keccak {})",
                names[i],
                record.verifiers[i],
                ids[i],
                record.verifier_code[i].len(),
                short(alloy_primitives::keccak256(&record.verifier_code[i]).as_slice()),
                code.len(),
                short(alloy_primitives::keccak256(&code).as_slice()),
            )),
            Ok(_) => {}
        }
    }
    Check::from_failures(
        VERIFYING_KEYS,
        format!(
            "the three verifiers hold keys {}, {}, {}",
            ids[0], ids[1], ids[2]
        ),
        failures,
    )
}

fn committee(record: &PublicRecord, market: &MarketFile) -> Check {
    let public = &market.trustee_setup.committee;
    let file: Vec<Address> = market.trustees.iter().map(|a| Address::from(a.0)).collect();
    let (on_chain, t) = &record.committee;
    let mut failures = Vec::new();
    if *on_chain != file {
        failures.push(format!(
            "the contract's committee {on_chain:?} is not the market file's {file:?}"
        ));
    }
    if *t != U256::from(public.params.t) {
        failures.push(format!(
            "the contract's threshold {t} is not the committee's t = {}",
            public.params.t
        ));
    }
    if file.len() != public.params.n as usize {
        failures.push(format!(
            "{} trustee addresses for a committee of n = {}",
            file.len(),
            public.params.n
        ));
    }
    Check::from_failures(
        COMMITTEE,
        format!(
            "{} trustees, threshold {t}, as in the market file",
            file.len()
        ),
        failures,
    )
}

/// Every `Deposited` / `Withdrawn`: its transaction is a `deposit`, `depositFor` or
/// `withdraw` whose inputs are the event's, and whose proof verifies.
fn balance_proofs(record: &PublicRecord, pvk: &PreparedVerifyingKey) -> Check {
    let mut failures = Vec::new();
    let mut n = 0;
    for e in &record.events {
        let (what, acct, f_new, p_in) = match &e.event {
            MarketEvents::Deposited(d) => ("deposit", d.acct, d.fNew, d.pIn),
            MarketEvents::Withdrawn(w) => ("withdrawal", w.acct, w.fNew, w.pIn),
            _ => continue,
        };
        n += 1;
        let at = format!(
            "{what} of account {} (block {})",
            short(&words::word(&acct)),
            e.block_number
        );
        let input = match record.input_of(e) {
            Ok(i) => i,
            Err(why) => {
                failures.push(format!("{at}: {why}"));
                continue;
            }
        };
        let decoded = Market::depositCall::abi_decode(input)
            .map(|c| (c.proof, c.inp))
            .or_else(|_| Market::depositForCall::abi_decode(input).map(|c| (c.proof, c.inp)))
            .or_else(|_| Market::withdrawCall::abi_decode(input).map(|c| (c.proof, c.inp)));
        let Ok((proof, inp)) = decoded else {
            failures.push(format!(
                "{at}: the transaction is not a deposit or withdraw call"
            ));
            continue;
        };
        if (inp.acct, inp.fNew, inp.pIn) != (acct, f_new, p_in) {
            failures.push(format!(
                "{at}: the transaction's inputs are not the event's"
            ));
            continue;
        }
        let public = calldata::balance_public(&inp).map(|p| p.to_field_elements());
        if let Err(why) = verify(pvk, &proof, public) {
            failures.push(format!("{at}: {why}"));
        }
    }
    Check::from_failures(
        BALANCE_PROOFS,
        format!("{n} balance-update proofs verify"),
        failures,
    )
}

/// Verifies one proof from its words against a statement's public inputs, read from
/// the transaction by `calldata::{bid,settle,balance}_public`.
pub fn verify(
    pvk: &PreparedVerifyingKey,
    proof: &[U256; 8],
    inputs: Result<Vec<Fr>, InputsError>,
) -> Result<(), String> {
    let proof = words::proof(proof).ok_or("the proof's points are malformed")?;
    let inputs = inputs.map_err(|e| e.to_string())?;
    sealgrid_prover::verify(pvk, &proof, &inputs)
        .map_err(|e| format!("the proof does not verify: {e}"))
}

/// The market's token balance is Σ deposits − Σ withdrawals − Σ toOperator.
fn token_balance(record: &PublicRecord) -> Check {
    let mut expected: i128 = 0;
    let (mut dep, mut wd, mut op) = (0i128, 0i128, 0i128);
    let mut overflow = false;
    for e in &record.events {
        let amount = |x: U256| i128::try_from(x).ok();
        match &e.event {
            MarketEvents::Deposited(d) => match amount(d.amount) {
                Some(a) => dep += a,
                None => overflow = true,
            },
            MarketEvents::Withdrawn(w) => match amount(w.amount) {
                Some(a) => wd += a,
                None => overflow = true,
            },
            MarketEvents::RoundFinalized(f) => match i128::try_from(f.toOperator) {
                Ok(a) => op += a,
                Err(_) => overflow = true,
            },
            _ => {}
        }
    }
    expected += dep - wd - op;
    let got = i128::try_from(record.token_balance).ok();
    let mut failures = Vec::new();
    if overflow {
        failures.push("an amount in the events does not fit 127 bits".into());
    } else if got != Some(expected) {
        failures.push(format!(
            "the market holds {} tokens; deposits {dep} − withdrawals {wd} − to operator {op} = \
             {expected}",
            record.token_balance
        ));
    }
    Check::from_failures(
        TOKEN_BALANCE,
        format!(
            "balance {} = deposits {dep} − withdrawals {wd} − to operator {op} (block {})",
            record.token_balance, record.block
        ),
        failures,
    )
}
