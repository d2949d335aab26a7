//! Shared fixtures: Groth16 keys for the three circuits (cached under the target
//! directory), sample statements, deployment helpers.

use std::path::PathBuf;
use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::BalanceCircuit;
use sealgrid_circuits::bid::BidCircuit;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::MarketParams;
use sealgrid_circuits::settle::SettleCircuit;
use sealgrid_prover::circuits::{CircuitKind, Circuits};
use sealgrid_prover::{prove, KeyPair, KeyStore, NoProgress, ProvedStatement};
use sealgrid_verifier_contract::{calldata, Chain, EmbeddedChain};

/// The three statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Circuit {
    Balance,
    Bid,
    Settle,
}

impl Circuit {
    pub const ALL: [Circuit; 3] = [Circuit::Balance, Circuit::Bid, Circuit::Settle];

    pub fn name(self) -> &'static str {
        match self {
            Circuit::Balance => "balance",
            Circuit::Bid => "bid",
            Circuit::Settle => "settle",
        }
    }
}

/// Market parameters, committee flow keys and the three key pairs.
pub struct Fixture {
    pub params: MarketParams,
    pub flow: FlowKeys,
    pub balance: KeyPair,
    pub bid: KeyPair,
    pub settle: KeyPair,
}

impl Fixture {
    pub fn keys(&self, c: Circuit) -> &KeyPair {
        match c {
            Circuit::Balance => &self.balance,
            Circuit::Bid => &self.bid,
            Circuit::Settle => &self.settle,
        }
    }
}

/// The key directory: under the target directory, so a second run reuses the keys.
pub fn key_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sealgrid-contract-keys")
}

/// The fixture, set up once per test binary (a cache hit after the first run).
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = MarketParams::default();
        // Test-only keys: a fixed seed makes the circuits' constants, and so the
        // cached keys' shape, identical from run to run.
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (flow, _secrets) = FlowKeys::random(2 * params.levels + 1, &mut rng);
        let store = KeyStore::open(key_dir()).expect("key directory");
        let balance = store
            .get_or_setup("balance", BalanceCircuit::blank(), &mut rng, &NoProgress)
            .expect("balance keys");
        let bid = store
            .get_or_setup(
                "bid",
                BidCircuit::for_setup(&params, &flow),
                &mut rng,
                &NoProgress,
            )
            .expect("bid keys");
        let settle = store
            .get_or_setup(
                "settle",
                SettleCircuit::for_setup(&params, &flow),
                &mut rng,
                &NoProgress,
            )
            .expect("settle keys");
        Fixture {
            params,
            flow,
            balance,
            bid,
            settle,
        }
    })
}

/// A valid proof of a random statement of `c` (the prover's sampler, under the
/// fixture's parameters and flow keys).
pub fn prove_sample(c: Circuit, rng: &mut ChaCha20Rng) -> ProvedStatement {
    let f = fixture();
    let kind = match c {
        Circuit::Balance => CircuitKind::Balance,
        Circuit::Bid => CircuitKind::Bid,
        Circuit::Settle => CircuitKind::Settle,
    };
    let circuits = Circuits::new(f.params.clone(), f.flow.clone()).expect("valid fixture");
    let sample = circuits.sample(kind, rng).expect("valid sample");
    let st = prove(&f.keys(c).pk, sample.circuit, rng, &NoProgress).expect("prove");
    assert_eq!(st.public_inputs, sample.public_inputs);
    st
}

/// The account that deploys and operates everything in these tests.
pub const OPERATOR: Address = Address::repeat_byte(0x0a);

/// Deploys a verifier for circuit `c`'s key.
pub fn deploy_verifier(chain: &mut EmbeddedChain, c: Circuit) -> (Address, u64) {
    deploy_verifier_as(chain, OPERATOR, c)
}

/// Deploys a verifier for circuit `c`'s key from `from`, on any chain.
pub fn deploy_verifier_as<C: Chain>(chain: &mut C, from: Address, c: Circuit) -> (Address, u64) {
    let vk = &fixture().keys(c).vk;
    let r = chain
        .deploy(from, calldata::verifier_init_code(vk))
        .expect("verifier deploys");
    (r.contract_address.expect("created"), r.gas_used)
}

/// `x` as a `uint256`, plus `r` (still the same scalar mod r, but not canonical).
pub fn plus_modulus(x: U256) -> U256 {
    x + scalar_modulus()
}

pub fn scalar_modulus() -> U256 {
    U256::from_str_radix(
        "21888242871839275222246405745257275088548364400416034343698204186575808495617",
        10,
    )
    .expect("r")
}

pub fn base_modulus() -> U256 {
    U256::from_str_radix(
        "21888242871839275222246405745257275088696311157297823662689037894645226208583",
        10,
    )
    .expect("q")
}
