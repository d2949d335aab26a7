//! Loading the independent test vectors committed under `test-vectors/vectors/`.

use crate::Fr;
use std::str::FromStr;

/// Reads one vector file; the path is relative to the repository's `test-vectors/vectors/`.
pub(crate) fn load(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-vectors/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading test vectors {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A decimal string as a field element; panics on values >= the modulus, which no
/// canonical vector holds (tests of non-canonical input parse those themselves).
pub(crate) fn fr(v: &serde_json::Value) -> Fr {
    let s = v.as_str().expect("decimal string");
    let n = num_bigint::BigUint::from_str(s).expect("decimal");
    assert!(
        n < num_bigint::BigUint::from(<Fr as ark_ff::PrimeField>::MODULUS),
        "non-canonical field element in a vector: {s}"
    );
    Fr::from(n)
}
