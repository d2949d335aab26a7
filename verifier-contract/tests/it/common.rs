//! Shared fixtures: Groth16 keys for the three circuits (the testkit's contract keys,
//! cached under the target directory), sample statements, deployment helpers.

use std::path::Path;
use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use rand_chacha::ChaCha20Rng;
use sealgrid_prover::circuits::CircuitKind;
use sealgrid_prover::{prove, NoProgress, ProvedStatement};
use sealgrid_testkit::keys::TestKeys;
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

    pub fn kind(self) -> CircuitKind {
        match self {
            Circuit::Balance => CircuitKind::Balance,
            Circuit::Bid => CircuitKind::Bid,
            Circuit::Settle => CircuitKind::Settle,
        }
    }
}

/// The keys, loaded once per test binary (a cache hit after the first run).
pub fn fixture() -> &'static TestKeys {
    static F: OnceLock<TestKeys> = OnceLock::new();
    F.get_or_init(|| TestKeys::contract(Path::new(env!("CARGO_TARGET_TMPDIR"))))
}

/// A valid proof of a random statement of `c` (the prover's sampler, under the
/// fixture's parameters and flow keys).
pub fn prove_sample(c: Circuit, rng: &mut ChaCha20Rng) -> ProvedStatement {
    let f = fixture();
    let sample = f.circuits().sample(c.kind(), rng).expect("valid sample");
    let st = prove(&f.pair(c.kind()).pk, sample.circuit, rng, &NoProgress).expect("prove");
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
    let vk = &fixture().pair(c.kind()).vk;
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
