//! Market-wide checks: the market file's parameters are the chain's and the circuits',
//! the verifier contracts hold the market file's verifying keys, the market contract is
//! the committed build wired to the file's contracts (and its Poseidon circomlibjs's),
//! the contract's committee
//! is the market file's (its flow keys the threshold key of its verification keys, every
//! round pinned to it), every registration starts from the empty balance with its own
//! meter, every balance update's proof verifies, and the market's token balance is what
//! its events add up to.
//!
//! **Market parameters.** Every field of the market file is checked against what binds
//! it. On chain: the chain id, the operator, the token, K, the k-anonymity floor and the
//! unsettled and default limits (`params()`, and every `ParamsSet` event, which must
//! all carry the file's K), and the deployment block (the first event read from it must
//! be the constructor's `ParamsSet`: a later block would hide the market's first
//! events). The circuit constants (slot length, K, floor, tick, margin, penalty rate,
//! k-anonymity floor) and the committee's flow keys are compiled into the bid and
//! settle circuits, whose keys are named after them: the key store names those keys
//! `bid-k<K>-<set id>` and `settle-k<K>-<set id>`, the set id a SHA-256 over the
//! parameters and flow keys (`Circuits::set_id`), so the names rebuilt from the file
//! must be the file's key ids (and the verifying-keys check ties those keys' bytes to
//! the verifier contracts). The set id is 32 bits: it catches an edited file, not a
//! forger who searches for a colliding parameter set.
//!
//! **Verifying keys.** The verifier keeps its key in immutables, which the constructor
//! writes into the runtime code. So the key store's key is deployed, from its init code
//! (`calldata::verifier_init_code`), on a throwaway in-memory EVM, and the runtime code
//! it yields is compared byte for byte with the code at the verifier's address: equal
//! code means the same key and the same verifier logic. Reading the immutables back
//! instead would need the contract to expose them (it exposes only `numInputs`) or an
//! offset table tied to one compiler output; the comparison needs neither.

use std::collections::BTreeMap;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use sealgrid_circuits::commitment::balance_commitment;
use sealgrid_circuits::Fr;
use sealgrid_market::file::MarketFile;
use sealgrid_prover::{PreparedVerifyingKey, VerifyingKey};
use sealgrid_verifier_contract::artifacts::Deployable;
use sealgrid_verifier_contract::bindings::Market;
use sealgrid_verifier_contract::calldata::InputsError;
use sealgrid_verifier_contract::events::MarketEvents;
use sealgrid_verifier_contract::{calldata, committee, Chain, EmbeddedChain};

use crate::record::PublicRecord;
use crate::words::{self, short};
use crate::{Check, VerifyingKeys};

/// Check names.
pub const VERIFYING_KEYS: &str = "verifying-keys";
/// See the module doc.
pub const MARKET_CODE: &str = "market-code";
/// See the module doc.
pub const COMMITTEE: &str = "committee";
/// See the module doc.
pub const BALANCE_PROOFS: &str = "balance-proofs";
/// See the module doc.
pub const TOKEN_BALANCE: &str = "token-balance";
/// See the module doc.
pub const MARKET_PARAMETERS: &str = "market-parameters";
/// See the module doc.
pub const REGISTRATIONS: &str = "registrations";

/// The runtime code deploying `vk`'s verifier, built for `target`, yields.
pub fn verifier_runtime_code(
    vk: &VerifyingKey,
    target: sealgrid_verifier_contract::artifacts::EvmTarget,
) -> Result<Bytes, String> {
    runtime_code_of(Address::ZERO, calldata::verifier_init_code_for(vk, target))
}

/// What the market file's deployment yields: the committed `Market` build
/// (`deployment.evm`) constructed by the file's operator with the file's token,
/// verifiers, Poseidon contract, committee delay and parameters, on a throwaway
/// in-memory EVM. The constructor writes those into immutables, so equal code means
/// the same logic wired to the same contracts. It also creates the clearing rule's
/// contract and writes its address into an immutable: that address depends on where
/// the market was created, so the expected code names the throwaway one
/// (`ExpectedMarket::code_calling`).
pub fn market_runtime_code(market: &MarketFile) -> Result<ExpectedMarket, String> {
    let d = &market.deployment;
    let p = &market.trustee_setup.market;
    let init = calldata::init_code(
        &d.evm.bytecode(Deployable::Market),
        &Market::constructorCall {
            token_: d.token,
            balanceVerifier_: d.balance_verifier,
            bidVerifier_: d.bid_verifier,
            settleVerifier_: d.settle_verifier,
            poseidon_: d.poseidon,
            committeeDelay_: d.committee_delay,
            params_: Market::Params {
                levels: u32::try_from(p.levels).map_err(|e| e.to_string())?,
                kAnonymity: u32::try_from(p.k_anonymity).map_err(|e| e.to_string())?,
                maxUnsettled: d.max_unsettled,
                maxDefaults: d.max_defaults,
            },
        },
    );
    let mut evm = EmbeddedChain::in_memory();
    let r = evm.deploy(d.operator, init).map_err(|e| e.to_string())?;
    let at = r.contract_address.ok_or("no contract created")?;
    let rule = evm
        .sol_call(d.operator, at, &Market::clearingRuleCall {})
        .map_err(|e| e.to_string())?;
    Ok(ExpectedMarket {
        code: evm.code_at(at).map_err(|e| e.to_string())?,
        rule,
        rule_code: evm.code_at(rule).map_err(|e| e.to_string())?,
    })
}

/// The market's and its clearing rule's runtime code as the market file's deployment
/// yields them ([`market_runtime_code`]).
#[derive(Clone, Debug)]
pub struct ExpectedMarket {
    /// The market's runtime code, calling the rule at `rule`.
    pub code: Bytes,
    /// The address the throwaway market created its clearing rule at.
    pub rule: Address,
    /// The clearing rule's runtime code (no immutables: the same wherever created).
    pub rule_code: Bytes,
}

impl ExpectedMarket {
    /// The market's runtime code with `rule` as its clearing rule: the immutable's
    /// 32-byte words that name the throwaway rule name `rule` instead.
    pub fn code_calling(&self, rule: Address) -> Bytes {
        let word = |a: Address| {
            let mut w = [0u8; 32];
            w[12..].copy_from_slice(a.as_slice());
            w
        };
        let (from, to) = (word(self.rule), word(rule));
        let mut code = self.code.to_vec();
        let mut i = 0;
        while i + 32 <= code.len() {
            if code[i..i + 32] == from {
                code[i..i + 32].copy_from_slice(&to);
                i += 32;
            } else {
                i += 1;
            }
        }
        code.into()
    }
}

/// The runtime code `init` deploys (from `from`) on a throwaway in-memory EVM.
fn runtime_code_of(from: Address, init: Bytes) -> Result<Bytes, String> {
    let mut evm = EmbeddedChain::in_memory();
    let r = evm.deploy(from, init).map_err(|e| e.to_string())?;
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
        market_parameters(record, market),
        verifying_keys(record, market, keys),
        market_code(record, market),
        committee(record, market),
        registrations(record),
        balance_proofs(record, market, &prepared[0]),
        token_balance(record),
    ]
}

fn market_parameters(record: &PublicRecord, market: &MarketFile) -> Check {
    let d = &market.deployment;
    let p = &market.trustee_setup.market;
    let mut failures = Vec::new();
    let mut differ = |what: &str, chain: String, file: String| {
        if chain != file {
            failures.push(format!(
                "{what}: the chain says {chain}, the market file {file}"
            ));
        }
    };
    differ(
        "chain id",
        record.chain_id.to_string(),
        d.chain_id.to_string(),
    );
    differ(
        "operator",
        record.operator.to_string(),
        d.operator.to_string(),
    );
    differ("token", record.token.to_string(), d.token.to_string());
    let on = &record.params;
    differ("levels", on.levels.to_string(), p.levels.to_string());
    differ(
        "k_anonymity",
        on.k_anonymity.to_string(),
        p.k_anonymity.to_string(),
    );
    differ(
        "max_unsettled",
        on.max_unsettled.to_string(),
        d.max_unsettled.to_string(),
    );
    differ(
        "max_defaults",
        on.max_defaults.to_string(),
        d.max_defaults.to_string(),
    );
    for e in &record.events {
        if let MarketEvents::ParamsSet(s) = &e.event {
            if s.levels as usize != p.levels {
                failures.push(format!(
                    "block {}: ParamsSet to {} levels, the circuits have {}",
                    e.block_number, s.levels, p.levels
                ));
            }
        }
    }
    match record.events.first().map(|e| &e.event) {
        Some(MarketEvents::ParamsSet(_)) => {}
        _ => failures.push(format!(
            "deployment_block {}: the first event read from it is not the market's constructor's ParamsSet",
            d.deployment_block
        )),
    }
    // The circuit constants: the key names the file's parameters and flow keys give.
    // (an edited file's keys may not even be a valid key set: refused, never a panic)
    let flow_keys =
        sealgrid_circuits::flow::FlowKeys::new(market.trustee_setup.committee.flow_keys.clone())
            .map_err(|e| format!("the market file's flow keys: {e}"));
    match flow_keys.and_then(|k| {
        sealgrid_prover::circuits::Circuits::new(p.clone(), k).map_err(|e| e.to_string())
    }) {
        Err(e) => failures.push(format!("the market file's circuits: {e}")),
        Ok(c) => {
            use sealgrid_prover::circuits::CircuitKind;
            let ids = [
                (CircuitKind::Balance, &market.verifying_keys.balance),
                (CircuitKind::Bid, &market.verifying_keys.bid),
                (CircuitKind::Settle, &market.verifying_keys.settle),
            ];
            for (kind, id) in ids {
                let name = c.key_name(kind);
                if id.circuit() != name {
                    failures.push(format!(
                        "the {kind} key {id} is not for the market file's parameters and flow keys (circuit {name}: slot_seconds {}, levels {}, floor {}, tick {}, margin_bps {}, penalty_rate {}, k_anonymity {})",
                        p.slot_seconds,
                        p.levels,
                        p.floor,
                        p.tick,
                        p.margin_bps,
                        p.penalty_rate,
                        p.k_anonymity
                    ));
                }
            }
        }
    }
    Check::from_failures(
        MARKET_PARAMETERS,
        format!(
            "chain {}, operator {}, token {}, K = {}, k = {}, limits {}/{}, deployed after block {}; circuit set of floor {}, tick {}, margin {} bps, penalty {}",
            d.chain_id,
            d.operator,
            d.token,
            p.levels,
            p.k_anonymity,
            d.max_unsettled,
            d.max_defaults,
            d.deployment_block,
            p.floor,
            p.tick,
            p.margin_bps,
            p.penalty_rate
        ),
        failures,
    )
}

/// The market contract runs the committed build wired to the market file's contracts,
/// and its Poseidon contract is circomlibjs's (see [`market_runtime_code`]). Without
/// this, an operator could deploy a market of its own making that every other check
/// reads as sealgrid's: events and views are only what its code says they are.
fn market_code(record: &PublicRecord, market: &MarketFile) -> Check {
    let d = &market.deployment;
    let mut failures = Vec::new();
    let keccak = |b: &Bytes| short(&alloy_primitives::keccak256(b).0);
    let (rule, rule_code) = &record.clearing_rule;
    match market_runtime_code(market) {
        Err(e) => failures.push(format!("the market file's deployment does not build: {e}")),
        Ok(expected) => {
            if expected.rule_code != *rule_code {
                failures.push(format!(
                    "the clearing rule the market at {} calls ({rule}) is not the committed \
                     {} ClearingRule (runtime code {} bytes, keccak {})",
                    d.market,
                    d.evm,
                    rule_code.len(),
                    keccak(rule_code)
                ));
            }
            // the contract the market's constructor created (its first, nonce 1), which
            // no one can create again: not any address that holds the same code now
            if *rule != d.market.create(1) {
                failures.push(format!(
                    "the market at {} calls a clearing rule at {rule}, not the one its \
                     constructor created ({})",
                    d.market,
                    d.market.create(1)
                ));
            }
            let code = expected.code_calling(*rule);
            if code != record.market_code {
                failures.push(format!(
                    "the market contract at {} is not the committed {} build constructed \
                     with the market file's operator, token, verifiers, Poseidon, committee \
                     delay and parameters (runtime code {} bytes, keccak {}; expected {} \
                     bytes, keccak {})",
                    d.market,
                    d.evm,
                    record.market_code.len(),
                    keccak(&record.market_code),
                    code.len(),
                    keccak(&code)
                ));
            }
        }
    }
    match runtime_code_of(
        Address::ZERO,
        sealgrid_verifier_contract::bindings::poseidon3_init_code(),
    ) {
        Err(e) => failures.push(format!("the Poseidon artifact does not deploy: {e}")),
        Ok(code) if code != record.poseidon_code => failures.push(format!(
            "the Poseidon contract at {} is not circomlibjs's (runtime code {} bytes, keccak {})",
            d.poseidon,
            record.poseidon_code.len(),
            keccak(&record.poseidon_code)
        )),
        Ok(_) => {}
    }
    Check::from_failures(
        MARKET_CODE,
        format!(
            "the market at {} is the committed {} build wired to the file's contracts and calls the committed clearing rule; Poseidon at {} is circomlibjs's",
            d.market, d.evm, d.poseidon
        ),
        failures,
    )
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
        match verifier_runtime_code(vk, d.evm) {
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

/// The committee: the contract's current one is the market file's; every committee the
/// contract ever activated (`CommitteeSet`) and every round's pinning (`RoundPinned`):
/// each round was pinned to an epoch whose trustees and threshold are the market
/// file's (a round pinned to another committee could be signed by people whose keys
/// decrypt nothing of it); proposals (`CommitteeProposed`) are counted. And the flow
/// keys the circuits encrypt to are the threshold key of the trustees' verification
/// keys (`CommitteePublic::check_threshold_keys`): the partial decryptions the
/// decryption checks verify against those keys are then decryptions under exactly the
/// circuits' keys.
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
    if let Err(why) = public.check_threshold_keys() {
        failures.push(format!("the market file's committee keys: {why}"));
    }
    let file_t = U256::from(public.params.t);
    let mut epochs: BTreeMap<u64, (Vec<Address>, U256)> = BTreeMap::new();
    let (mut proposals, mut pinned) = (0usize, 0usize);
    for e in &record.events {
        match &e.event {
            MarketEvents::CommitteeProposed(_) => proposals += 1,
            MarketEvents::CommitteeSet(c) => {
                epochs.insert(c.epoch, (c.trustees.clone(), c.threshold));
            }
            MarketEvents::RoundPinned(p) => {
                pinned += 1;
                match epochs.get(&p.epoch) {
                    None => failures.push(format!(
                        "round {} (block {}) is pinned to epoch {}, which was never activated",
                        p.round, e.block_number, p.epoch
                    )),
                    Some((trustees, threshold)) if *trustees != file || *threshold != file_t => {
                        failures.push(format!(
                            "round {} (block {}) is pinned to epoch {}: trustees {trustees:?}, \
                             threshold {threshold}, not the market file's committee",
                            p.round, e.block_number, p.epoch
                        ))
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
    if epochs.is_empty() {
        failures.push("no CommitteeSet event: the contract never activated a committee".into());
    }
    Check::from_failures(
        COMMITTEE,
        format!(
            "{} trustees, threshold {t}, as in the market file; flow keys are their threshold \
             key; {} committee epoch(s) activated, {proposals} proposed; {pinned} round(s) \
             pinned, each to the market file's committee",
            file.len(),
            epochs.len()
        ),
        failures,
    )
}

/// Every `Registered`: the account's first free-balance commitment is `H(0, 0, acct)`
/// (an empty balance: the contract computes it, and this re-computes it with the
/// circuits' Poseidon), no account registered twice and no meter backing two accounts
/// (PROTOCOL §8).
fn registrations(record: &PublicRecord) -> Check {
    let mut failures = Vec::new();
    let (mut accounts, mut meters) = (BTreeMap::new(), BTreeMap::new());
    let mut n = 0usize;
    for e in &record.events {
        let MarketEvents::Registered(r) = &e.event else {
            continue;
        };
        n += 1;
        let acct = short(&words::word(&r.acct));
        match calldata::fr_of_word(r.acct) {
            None => failures.push(format!("account {acct} is not a field element")),
            Some(a) => {
                let empty = calldata::fr(&balance_commitment(Fr::from(0u64), Fr::from(0u64), a));
                if r.free != empty {
                    failures.push(format!(
                        "account {acct} (block {}) registered with free-balance commitment {}, \
                         not the empty balance H(0, 0, acct)",
                        e.block_number,
                        short(&words::word(&r.free))
                    ));
                }
            }
        }
        if let Some(b) = accounts.insert(r.acct, e.block_number) {
            failures.push(format!(
                "account {acct} registered twice (blocks {b} and {})",
                e.block_number
            ));
        }
        if let Some(other) = meters.insert(r.meterId, r.acct) {
            failures.push(format!(
                "meter {} backs accounts {} and {acct}",
                r.meterId,
                short(&words::word(&other))
            ));
        }
    }
    Check::from_failures(
        REGISTRATIONS,
        format!("{n} account(s) registered, each with an empty balance, one per meter"),
        failures,
    )
}

/// Every `Deposited` / `Withdrawn`: its transaction is a `deposit`, `depositFor` or
/// `withdraw` whose inputs are the event's, and whose proof verifies; a `depositFor`'s
/// signature is the payer's over the EIP-712 deposit digest (PROTOCOL §8).
fn balance_proofs(record: &PublicRecord, market: &MarketFile, pvk: &PreparedVerifyingKey) -> Check {
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
        if let Ok(c) = Market::depositForCall::abi_decode(input) {
            let d = &market.deployment;
            let digest = committee::deposit_digest(d.chain_id, d.market, c.payer, &c.inp);
            if committee::recover_deposit_signer(digest, &c.sig) != Some(c.payer) {
                failures.push(format!(
                    "{at}: the payer signature does not recover to payer {}",
                    c.payer
                ));
            }
        }
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
