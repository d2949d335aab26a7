//! sealgrid's three circuits (`docs/PROTOCOL.md` §4) as the prover sees them: a name
//! for the key store, the circuit a setup runs on, and a random valid statement for
//! demos, tests and benchmarks.
//!
//! The bid and settle circuits take the market parameters and the committee's flow
//! keys as *constants*: a key made for one set proves nothing under another. Their key
//! names therefore carry an id of that set, `bid-k8-<8 hex>`, so that the keys of several
//! parameter sets or committee epochs sit side by side in one key store. The balance
//! circuit depends on neither and is plainly `balance`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use ark_ff::UniformRand;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_serialize::CanonicalSerialize;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sealgrid_circuits::balance::{
    BalanceCircuit, BalanceError, BalanceOpening, BalanceProofPrivate, PayoutOpening,
};
use sealgrid_circuits::bid::{self, BidCircuit, BidError, BidOpening};
use sealgrid_circuits::eddsa::PrivateKey as MeterKey;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::clearing::ClearingError;
use sealgrid_circuits::market::{self, MarketParams, ParamsError, Side};
use sealgrid_circuits::settle::{self, SettleCircuit, SettleError, READING_BITS};
use sha2::{Digest, Sha256};

use crate::Fr;

/// The environment variable that overrides the default key directory.
pub const KEY_DIR_ENV: &str = "SEALGRID_KEY_DIR";

/// Seed of the demo flow keys ([`Circuits::demo`]). Their secrets are public knowledge:
/// anything encrypted under them is readable by anyone.
pub const DEMO_FLOW_KEY_SEED: u64 = 0x5ea1_9e1d;

/// Hex digits of the parameter-set id in a key name (32 bits: tells sets apart in one
/// directory; the key store's shape digest, not this id, guards against a wrong key).
const SET_ID_HEX_LEN: usize = 8;

/// One of sealgrid's circuits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CircuitKind {
    /// Deposit, withdraw, merge a payout (§4.1).
    Balance,
    /// A sealed bid with its margin locked and its flows encrypted (§4.2).
    Bid,
    /// A bid's settlement against the public clearing and a signed meter reading (§4.3).
    Settle,
}

impl CircuitKind {
    /// Every circuit, in the order of `docs/PROTOCOL.md` §4.
    pub const ALL: [CircuitKind; 3] = [CircuitKind::Balance, CircuitKind::Bid, CircuitKind::Settle];

    /// `balance`, `bid` or `settle`.
    pub fn name(self) -> &'static str {
        match self {
            CircuitKind::Balance => "balance",
            CircuitKind::Bid => "bid",
            CircuitKind::Settle => "settle",
        }
    }

    /// Number of public inputs (the statement's, in `to_field_elements` order).
    pub fn num_public_inputs(self) -> usize {
        match self {
            CircuitKind::Balance => sealgrid_circuits::balance::BalanceProofPublic::NUM_INPUTS,
            CircuitKind::Bid => bid::BidProofPublic::LEN,
            CircuitKind::Settle => settle::SettleProofPublic::LEN,
        }
    }
}

impl fmt::Display for CircuitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CircuitKind {
    type Err = CircuitsError;

    fn from_str(s: &str) -> Result<Self, CircuitsError> {
        CircuitKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| CircuitsError::UnknownCircuit(s.to_owned()))
    }
}

/// Why a circuit set or a sample could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CircuitsError {
    /// Not `balance`, `bid` or `settle`.
    #[error("unknown circuit {0:?}: expected balance, bid or settle")]
    UnknownCircuit(String),
    /// The market parameters are out of range.
    #[error("invalid market parameters: {0}")]
    Params(#[from] ParamsError),
    /// The bid circuit needs one flow key per slot, 2K + 1.
    #[error("{keys} flow keys for K = {levels}: the bid circuit needs 2K + 1")]
    FlowKeys {
        /// Keys given.
        keys: usize,
        /// K.
        levels: usize,
    },
    /// A sample balance transition was refused (a bug in the sampler).
    #[error("sample balance statement: {0}")]
    Balance(#[from] BalanceError),
    /// A sample bid was refused (a bug in the sampler).
    #[error("sample bid statement: {0}")]
    Bid(#[from] BidError),
    /// A sample clearing was refused (a bug in the sampler).
    #[error("sample clearing: {0}")]
    Clearing(#[from] ClearingError),
    /// A sample settlement was refused (a bug in the sampler).
    #[error("sample settle statement: {0}")]
    Settle(#[from] SettleError),
}

/// Any of the three circuits, so that one key store call and one `prove` serve all.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum SealgridCircuit {
    /// §4.1.
    Balance(BalanceCircuit),
    /// §4.2.
    Bid(BidCircuit),
    /// §4.3.
    Settle(SettleCircuit),
}

impl ConstraintSynthesizer<Fr> for SealgridCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        match self {
            SealgridCircuit::Balance(c) => c.generate_constraints(cs),
            SealgridCircuit::Bid(c) => c.generate_constraints(cs),
            SealgridCircuit::Settle(c) => c.generate_constraints(cs),
        }
    }
}

/// A valid statement: the circuit with its witness and the public inputs it proves.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Which circuit.
    pub kind: CircuitKind,
    /// The circuit with a satisfying witness.
    pub circuit: SealgridCircuit,
    /// The public inputs, in the order of `docs/PROTOCOL.md` §4.
    pub public_inputs: Vec<Fr>,
}

/// The circuits of one market parameter set and one committee key set.
#[derive(Clone, Debug)]
pub struct Circuits {
    params: MarketParams,
    keys: FlowKeys,
    set_id: String,
}

impl Circuits {
    /// The circuits for `params` (validated) and the committee's flow `keys` (2K + 1).
    pub fn new(params: MarketParams, keys: FlowKeys) -> Result<Self, CircuitsError> {
        params.validate()?;
        if keys.len() != 2 * params.levels + 1 {
            return Err(CircuitsError::FlowKeys {
                keys: keys.len(),
                levels: params.levels,
            });
        }
        let set_id = set_id(&params, &keys);
        Ok(Circuits {
            params,
            keys,
            set_id,
        })
    }

    /// The default market parameters with `levels` price levels, and demo flow keys:
    /// `FlowKeys::random` from the fixed seed [`DEMO_FLOW_KEY_SEED`]. Everyone can
    /// recompute the secrets, so this is for demos, tests and benchmarks only, until the
    /// committee's DKG supplies real keys (use [`Circuits::new`] then).
    pub fn demo(levels: usize) -> Result<Self, CircuitsError> {
        let params = MarketParams {
            levels,
            ..MarketParams::default()
        };
        params.validate()?;
        let mut rng = ChaCha20Rng::seed_from_u64(DEMO_FLOW_KEY_SEED);
        let (keys, _secrets) = FlowKeys::random(2 * levels + 1, &mut rng);
        Circuits::new(params, keys)
    }

    /// The market parameters.
    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// The committee's flow keys.
    pub fn flow_keys(&self) -> &FlowKeys {
        &self.keys
    }

    /// The id of this parameter and key set: the first 8 hex digits of a SHA-256 over
    /// the market parameters and the serialised flow keys.
    pub fn set_id(&self) -> &str {
        &self.set_id
    }

    /// The key store name of `kind`'s keys: `balance`, or `bid-k<K>-<set id>`,
    /// `settle-k<K>-<set id>`.
    pub fn key_name(&self, kind: CircuitKind) -> String {
        match kind {
            CircuitKind::Balance => kind.name().to_owned(),
            CircuitKind::Bid | CircuitKind::Settle => {
                format!("{}-k{}-{}", kind.name(), self.params.levels, self.set_id)
            }
        }
    }

    /// The circuit a Groth16 setup runs on (only its shape matters).
    pub fn setup_circuit(&self, kind: CircuitKind) -> SealgridCircuit {
        match kind {
            CircuitKind::Balance => SealgridCircuit::Balance(BalanceCircuit::blank()),
            CircuitKind::Bid => {
                SealgridCircuit::Bid(BidCircuit::for_setup(&self.params, &self.keys))
            }
            CircuitKind::Settle => {
                SealgridCircuit::Settle(SettleCircuit::for_setup(&self.params, &self.keys))
            }
        }
    }

    /// A random valid statement of `kind`, its witness drawn from `rng` through the
    /// circuits' own `transition` / `prepare` functions (which check the relation
    /// natively before returning).
    pub fn sample<R: Rng>(&self, kind: CircuitKind, rng: &mut R) -> Result<Sample, CircuitsError> {
        let (circuit, public_inputs) = match kind {
            CircuitKind::Balance => self.sample_balance(rng)?,
            CircuitKind::Bid => self.sample_bid(rng)?,
            CircuitKind::Settle => self.sample_settle(rng)?,
        };
        Ok(Sample {
            kind,
            circuit,
            public_inputs,
        })
    }

    /// A merge of a payout together with a deposit or a withdrawal.
    fn sample_balance<R: Rng>(
        &self,
        rng: &mut R,
    ) -> Result<(SealgridCircuit, Vec<Fr>), CircuitsError> {
        let prior = BalanceOpening {
            sk_acct: Fr::rand(rng),
            balance: rng.gen_range(0..1 << 40),
            salt: Fr::rand(rng),
        };
        let payout = PayoutOpening {
            amount: rng.gen_range(0..1 << 40),
            salt: Fr::rand(rng),
        };
        let available = i128::from(prior.balance) + i128::from(payout.amount);
        let (delta, recipient) = if rng.gen_bool(0.5) {
            (rng.gen_range(0..1i128 << 40), Fr::from(0u8))
        } else {
            // An EVM address, < 2^160.
            let address =
                Fr::from(rng.gen::<u128>()) * Fr::from(1u64 << 32) + Fr::from(rng.gen::<u32>());
            (-rng.gen_range(0..=available), address)
        };
        let (public, private, _next) =
            BalanceProofPrivate::transition(&prior, Some(&payout), delta, recipient, rng)?;
        Ok((
            SealgridCircuit::Balance(BalanceCircuit::new(public, private)),
            public.to_field_elements(),
        ))
    }

    /// A buy or sell bid at a random level from a balance that covers its lock.
    fn sample_bid<R: Rng>(&self, rng: &mut R) -> Result<(SealgridCircuit, Vec<Fr>), CircuitsError> {
        let (side, level, q) = self.random_bid(rng);
        let lock = self.params.lock(side, level, q)?;
        let prepared = bid::prepare(
            &self.params,
            &self.keys,
            rng.gen_range(0..1 << 32),
            Fr::rand(rng),
            lock + rng.gen_range(0..1 << 40),
            Fr::rand(rng),
            side,
            level,
            q,
            rng,
        )?;
        let public_inputs = prepared.public.to_field_elements();
        Ok((
            SealgridCircuit::Bid(BidCircuit {
                params: self.params.clone(),
                keys: self.keys.clone(),
                public: prepared.public,
                private: prepared.private,
            }),
            public_inputs,
        ))
    }

    /// A bid settled against a clearing of random histograms that include it, with a
    /// reading signed by a random meter.
    fn sample_settle<R: Rng>(
        &self,
        rng: &mut R,
    ) -> Result<(SealgridCircuit, Vec<Fr>), CircuitsError> {
        let k = self.params.levels;
        let (side, level, q) = self.random_bid(rng);
        let opening = BidOpening {
            side,
            level,
            q,
            lock: self.params.lock(side, level, q)?,
            salt: Fr::rand(rng),
        };
        let mut h_buy: Vec<u64> = (0..k).map(|_| rng.gen_range(0..1 << 16)).collect();
        let mut h_sell: Vec<u64> = (0..k).map(|_| rng.gen_range(0..1 << 16)).collect();
        match side {
            Side::Buy => h_buy[level] += q,
            Side::Sell => h_sell[level] += q,
        }
        let clearing = market::clear(
            &h_buy,
            &h_sell,
            self.params.k_anonymity,
            self.params.k_anonymity,
        )?;
        let round = rng.gen_range(0..1 << 32);
        let meter = MeterKey::from_bytes(rng.gen());
        let reading = settle::sign_reading(
            &meter,
            round,
            rng.gen_range(0..1 << READING_BITS),
            rng.gen_range(0..1 << READING_BITS),
        );
        let prepared = settle::prepare(
            &self.params,
            &self.keys,
            &clearing,
            round,
            Fr::rand(rng),
            opening,
            meter.public_key(),
            reading,
            rng,
        )?;
        let public_inputs = prepared.public.to_field_elements();
        Ok((
            SealgridCircuit::Settle(SettleCircuit {
                params: self.params.clone(),
                keys: self.keys.clone(),
                clearing,
                public: prepared.public,
                private: prepared.private,
            }),
            public_inputs,
        ))
    }

    fn random_bid<R: Rng>(&self, rng: &mut R) -> (Side, usize, u64) {
        let side = if rng.gen_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let level = rng.gen_range(0..self.params.levels);
        let q = rng.gen_range(1..1 << 16);
        (side, level, q)
    }
}

/// SHA-256 over every market parameter (destructured, so a new one cannot be left out)
/// and the flow keys, first [`SET_ID_HEX_LEN`] hex digits.
fn set_id(params: &MarketParams, keys: &FlowKeys) -> String {
    let MarketParams {
        slot_seconds,
        levels,
        floor,
        tick,
        margin_bps,
        penalty_rate,
        k_anonymity,
    } = params;
    let mut h = Sha256::new();
    h.update(b"sealgrid-circuit-set-v1");
    for x in [
        *slot_seconds,
        *levels as u64,
        *floor,
        *tick,
        *margin_bps,
        *penalty_rate,
        *k_anonymity as u64,
    ] {
        h.update(x.to_le_bytes());
    }
    let mut bytes = Vec::new();
    keys.serialize_compressed(&mut bytes)
        .expect("serialising into a Vec");
    h.update(bytes);
    let mut id = hex::encode(h.finalize());
    id.truncate(SET_ID_HEX_LEN);
    id
}

/// The Groth16 key pairs of the three circuits of one parameter and key set.
#[derive(Clone, Debug)]
pub struct CircuitKeys {
    /// The circuits (market parameters and flow keys as constants).
    pub circuits: Circuits,
    /// PROTOCOL §4.1.
    pub balance: crate::KeyPair,
    /// §4.2.
    pub bid: crate::KeyPair,
    /// §4.3.
    pub settle: crate::KeyPair,
}

impl CircuitKeys {
    /// The key pair of `kind`.
    pub fn pair(&self, kind: CircuitKind) -> &crate::KeyPair {
        match kind {
            CircuitKind::Balance => &self.balance,
            CircuitKind::Bid => &self.bid,
            CircuitKind::Settle => &self.settle,
        }
    }

    /// Loads the three key pairs of `circuits` from `store`, running a setup (with OS
    /// randomness) for any that is missing or stale. On failure, names the key.
    pub fn load_or_setup(
        circuits: Circuits,
        store: &crate::KeyStore,
        progress: &dyn crate::Progress,
    ) -> Result<CircuitKeys, Box<(String, crate::KeyError)>> {
        let get = |kind: CircuitKind| {
            let name = circuits.key_name(kind);
            store
                .get_or_setup(
                    &name,
                    circuits.setup_circuit(kind),
                    &mut rand::rngs::OsRng,
                    progress,
                )
                .map_err(|e| Box::new((name, e)))
        };
        Ok(CircuitKeys {
            balance: get(CircuitKind::Balance)?,
            bid: get(CircuitKind::Bid)?,
            settle: get(CircuitKind::Settle)?,
            circuits,
        })
    }
}

/// The default key directory: `$SEALGRID_KEY_DIR` if set, else `sealgrid-keys` in
/// `$CARGO_TARGET_DIR` if set, else `target/sealgrid-keys` in the workspace this crate
/// was built from.
pub fn default_key_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(KEY_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    target_key_dir()
}

/// `sealgrid-keys` under the cargo target directory (ignoring `$SEALGRID_KEY_DIR`).
pub fn target_key_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("sealgrid-keys")
}
