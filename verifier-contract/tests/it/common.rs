//! Shared fixtures: Groth16 keys for the three circuits (cached under the target
//! directory), sample statements, deployment helpers.

use std::path::PathBuf;
use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::{BalanceCircuit, BalanceOpening, BalanceProofPrivate};
use sealgrid_circuits::bid::{self, BidCircuit};
use sealgrid_circuits::eddsa::PrivateKey;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::{clear, MarketParams, Side};
use sealgrid_circuits::settle::{self, SettleCircuit};
use sealgrid_circuits::Fr;
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

/// A valid proof of a random statement of `c`.
pub fn prove_sample(c: Circuit, rng: &mut ChaCha20Rng) -> ProvedStatement {
    let f = fixture();
    let sk = Fr::from(rng.gen::<u64>());
    let pk = &f.keys(c).pk;
    match c {
        Circuit::Balance => {
            let prior = BalanceOpening {
                sk_acct: sk,
                balance: rng.gen_range(0..1u64 << 40),
                salt: Fr::from(rng.gen::<u64>()),
            };
            let (public, private, _) = BalanceProofPrivate::transition(
                &prior,
                None,
                rng.gen_range(1..1_000_000),
                Fr::from(0xabcdu64),
                rng,
            )
            .expect("valid deposit");
            prove(pk, BalanceCircuit::new(public, private), rng, &NoProgress).expect("prove")
        }
        Circuit::Bid => {
            let side = if rng.gen() { Side::Buy } else { Side::Sell };
            let level = rng.gen_range(0..f.params.levels);
            let q = rng.gen_range(1..100_000);
            let b = bid::prepare(
                &f.params,
                &f.flow,
                7,
                sk,
                1 << 50,
                Fr::from(5u64),
                side,
                level,
                q,
                rng,
            )
            .expect("valid bid");
            let circuit = BidCircuit {
                params: f.params.clone(),
                keys: f.flow.clone(),
                public: b.public,
                private: b.private,
            };
            prove(pk, circuit, rng, &NoProgress).expect("prove")
        }
        Circuit::Settle => {
            let k = f.params.levels;
            let h_buy: Vec<u64> = (0..k).map(|_| rng.gen_range(0..10_000)).collect();
            let h_sell: Vec<u64> = (0..k).map(|_| rng.gen_range(0..10_000)).collect();
            let clearing = clear(&h_buy, &h_sell, 100, 5).expect("clears");
            let side = if rng.gen() { Side::Buy } else { Side::Sell };
            let level = clearing.level;
            let q = rng.gen_range(1..100_000);
            let opening = bid::BidOpening {
                side,
                level,
                q,
                lock: f.params.lock(side, level, q).expect("valid"),
                salt: Fr::from(rng.gen::<u64>()),
            };
            let meter = PrivateKey::from_bytes(rng.gen());
            let reading =
                settle::sign_reading(&meter, 7, rng.gen_range(0..5000), rng.gen_range(0..100_000));
            let s = settle::prepare(
                &f.params,
                &f.flow,
                &clearing,
                7,
                sk,
                opening,
                meter.public_key(),
                reading,
                rng,
            )
            .expect("valid settlement");
            let circuit = SettleCircuit {
                params: f.params.clone(),
                keys: f.flow.clone(),
                clearing,
                public: s.public,
                private: s.private,
            };
            prove(pk, circuit, rng, &NoProgress).expect("prove")
        }
    }
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
