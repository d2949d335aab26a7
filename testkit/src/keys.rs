//! The Groth16 keys of the three circuits, set up once and cached in a key directory.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::MarketParams;
use sealgrid_prover::{CircuitKeys, CircuitKind, Circuits, KeyPair, KeyStore, NoProgress};

/// The directory of [`TestKeys::contract`] under the target's temporary directory.
pub const CONTRACT_KEYS: &str = "sealgrid-contract-keys";

/// Market parameters, the committee's flow keys and the key pairs of the balance, bid
/// and settle circuits under them.
#[derive(Clone, Debug)]
pub struct TestKeys {
    /// The market parameters (K = `params.levels`).
    pub params: MarketParams,
    /// The committee's 2K + 1 flow keys, constants of the bid and settle circuits.
    pub flow: FlowKeys,
    /// PROTOCOL §4.1.
    pub balance: KeyPair,
    /// §4.2.
    pub bid: KeyPair,
    /// §4.3.
    pub settle: KeyPair,
}

impl TestKeys {
    /// The keys for `params` and `flow` from the key store in `dir`, set up for any
    /// circuit whose key is missing or stale (a cache hit after the first run).
    pub fn load_or_setup(dir: &Path, params: MarketParams, flow: FlowKeys) -> TestKeys {
        let store = KeyStore::open(dir).expect("key directory");
        let circuits = Circuits::new(params.clone(), flow.clone()).expect("valid circuits");
        let keys = CircuitKeys::load_or_setup(circuits, &store, &NoProgress)
            .unwrap_or_else(|e| panic!("keys of {}: {}", e.0, e.1));
        TestKeys {
            params,
            flow,
            balance: keys.balance,
            bid: keys.bid,
            settle: keys.settle,
        }
    }

    /// The keys of the contract tests: default parameters and flow keys of a committee
    /// whose secrets nobody needs (drawn from a fixed seed, so the circuits' constants,
    /// and so the cached keys, are the same from run to run and crate to crate), cached
    /// in `sealgrid-contract-keys` under `target_tmp`. Pass `env!("CARGO_TARGET_TMPDIR")`
    /// (Cargo sets it for integration tests only, so the kit cannot read it itself).
    pub fn contract(target_tmp: &Path) -> TestKeys {
        let params = MarketParams::default();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (flow, _secrets) = FlowKeys::random(2 * params.levels + 1, &mut rng);
        TestKeys::load_or_setup(&target_tmp.join(CONTRACT_KEYS), params, flow)
    }

    /// The key pair of `kind`.
    pub fn pair(&self, kind: CircuitKind) -> &KeyPair {
        match kind {
            CircuitKind::Balance => &self.balance,
            CircuitKind::Bid => &self.bid,
            CircuitKind::Settle => &self.settle,
        }
    }

    /// The circuits these keys are for.
    pub fn circuits(&self) -> Circuits {
        Circuits::new(self.params.clone(), self.flow.clone()).expect("valid circuits")
    }
}
