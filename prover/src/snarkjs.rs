//! snarkjs's JSON: `verification_key.json`, `proof.json` and `public.json`.
//!
//! The format, read from snarkjs 0.7.6 and ffjavascript (`zkey_export_verificationkey.js`,
//! `groth16_prove.js`, `wasm_curve.js` `toObject`/`fromObject`):
//!
//! - numbers are decimal strings;
//! - a G1 point is `[x, y, "1"]` (projective with z = 1), the identity `["0", "1", "0"]`;
//! - a G2 point is `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`, coefficients of
//!   `c0 + c1 * u` in that order (the EVM precompile wants (c1, c0): not here), the
//!   identity `[["0", "0"], ["1", "0"], ["0", "0"]]`;
//! - the curve is called `bn128`.
//!
//! `vk_alphabeta_12` is optional (snarkjs's verifier does not read it) and is not
//! exported: nothing here checks that arkworks' `Fq12` tower and final exponentiation
//! give snarkjs's value, and a wrong field is worse than a missing one.
//!
//! Import is strict: coordinates must be canonical (below the field modulus, no sign,
//! no leading zeros), z must be exactly `"1"` (or the identity's encoding), and points
//! must be on the curve and in the prime-order subgroup. snarkjs itself checks only
//! that the points are on the curve.

use std::io;
use std::path::Path;

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, Zero};
use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use crate::{Fr, Proof, VerifyingKey};

const PROTOCOL: &str = "groth16";
const CURVE: &str = "bn128";

/// Why snarkjs JSON was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnarkjsError {
    /// The JSON did not parse into the expected structure.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `protocol` is not `groth16`.
    #[error("protocol is {0:?}, expected \"groth16\"")]
    Protocol(String),
    /// `curve` is not `bn128`.
    #[error("curve is {0:?}, expected \"bn128\"")]
    Curve(String),
    /// An array has the wrong length.
    #[error("{field}: expected {expected} elements, found {found}")]
    Length {
        /// The JSON field.
        field: String,
        /// The expected length.
        expected: usize,
        /// The actual length.
        found: usize,
    },
    /// A number is not a canonical decimal string.
    #[error("{field}: {value:?} is not a canonical decimal number")]
    NotDecimal {
        /// The JSON field.
        field: String,
        /// The offending string.
        value: String,
    },
    /// A number is not below its field's modulus.
    #[error("{field}: {value} is not below the field modulus")]
    NonCanonical {
        /// The JSON field.
        field: String,
        /// The offending number.
        value: String,
    },
    /// A point's z coordinate is neither one nor the identity's encoding.
    #[error("{field}: z must be 1 (affine) or the point must be the identity encoding")]
    NotAffine {
        /// The JSON field.
        field: String,
    },
    /// A point is not on the curve.
    #[error("{field}: the point is not on the curve")]
    NotOnCurve {
        /// The JSON field.
        field: String,
    },
    /// A point is not in the prime-order subgroup.
    #[error("{field}: the point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// The JSON field.
        field: String,
    },
    /// `nPublic` does not match the number of IC points minus one.
    #[error("nPublic is {n_public} but IC has {ic} points (expected nPublic + 1)")]
    NPublic {
        /// The declared `nPublic`.
        n_public: usize,
        /// The number of IC points.
        ic: usize,
    },
    /// Writing the files failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// snarkjs's `verification_key.json` for Groth16.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnarkjsVerifyingKey {
    /// Always `groth16`.
    pub protocol: String,
    /// Always `bn128`.
    pub curve: String,
    /// Number of public inputs.
    #[serde(rename = "nPublic")]
    pub n_public: usize,
    /// alpha in G1.
    pub vk_alpha_1: Vec<String>,
    /// beta in G2.
    pub vk_beta_2: Vec<Vec<String>>,
    /// gamma in G2.
    pub vk_gamma_2: Vec<Vec<String>>,
    /// delta in G2.
    pub vk_delta_2: Vec<Vec<String>>,
    /// e(alpha, beta): optional, never exported here, ignored on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vk_alphabeta_12: Option<serde_json::Value>,
    /// The input bases, `nPublic + 1` points in G1.
    #[serde(rename = "IC")]
    pub ic: Vec<Vec<String>>,
}

/// snarkjs's `proof.json` for Groth16.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnarkjsProof {
    /// A in G1.
    pub pi_a: Vec<String>,
    /// B in G2.
    pub pi_b: Vec<Vec<String>>,
    /// C in G1.
    pub pi_c: Vec<String>,
    /// Always `groth16`.
    pub protocol: String,
    /// Always `bn128`.
    pub curve: String,
}

fn decimal<F: PrimeField>(x: &F) -> String {
    BigUint::from_bytes_le(&x.into_bigint().to_bytes_le()).to_string()
}

fn g1_to_json(p: &G1Affine) -> Vec<String> {
    match p.xy() {
        Some((x, y)) => vec![decimal(&x), decimal(&y), "1".into()],
        None => vec!["0".into(), "1".into(), "0".into()],
    }
}

fn fq2_to_json(x: &Fq2) -> Vec<String> {
    vec![decimal(&x.c0), decimal(&x.c1)]
}

fn g2_to_json(p: &G2Affine) -> Vec<Vec<String>> {
    match p.xy() {
        Some((x, y)) => vec![
            fq2_to_json(&x),
            fq2_to_json(&y),
            vec!["1".into(), "0".into()],
        ],
        None => vec![
            vec!["0".into(), "0".into()],
            vec!["1".into(), "0".into()],
            vec!["0".into(), "0".into()],
        ],
    }
}

/// The verifying key as snarkjs's `verification_key.json`.
pub fn export_verifying_key(vk: &VerifyingKey) -> SnarkjsVerifyingKey {
    SnarkjsVerifyingKey {
        protocol: PROTOCOL.into(),
        curve: CURVE.into(),
        n_public: vk.gamma_abc_g1.len().saturating_sub(1),
        vk_alpha_1: g1_to_json(&vk.alpha_g1),
        vk_beta_2: g2_to_json(&vk.beta_g2),
        vk_gamma_2: g2_to_json(&vk.gamma_g2),
        vk_delta_2: g2_to_json(&vk.delta_g2),
        vk_alphabeta_12: None,
        ic: vk.gamma_abc_g1.iter().map(g1_to_json).collect(),
    }
}

/// The proof as snarkjs's `proof.json`.
pub fn export_proof(proof: &Proof) -> SnarkjsProof {
    SnarkjsProof {
        pi_a: g1_to_json(&proof.a),
        pi_b: g2_to_json(&proof.b),
        pi_c: g1_to_json(&proof.c),
        protocol: PROTOCOL.into(),
        curve: CURVE.into(),
    }
}

/// The public inputs as snarkjs's `public.json` (an array of decimal strings).
pub fn export_public_inputs(inputs: &[Fr]) -> Vec<String> {
    inputs.iter().map(decimal).collect()
}

/// Writes `verification_key.json`, `proof.json` and `public.json` into `dir`, the
/// file names `snarkjs groth16 verify` uses by default.
pub fn write_files(
    dir: &Path,
    vk: &VerifyingKey,
    proof: &Proof,
    public_inputs: &[Fr],
) -> Result<(), SnarkjsError> {
    let write = |name: &str, json: String| {
        let path = dir.join(name);
        std::fs::write(&path, json).map_err(|source| SnarkjsError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    write(
        "verification_key.json",
        serde_json::to_string_pretty(&export_verifying_key(vk))?,
    )?;
    write(
        "proof.json",
        serde_json::to_string_pretty(&export_proof(proof))?,
    )?;
    write(
        "public.json",
        serde_json::to_string_pretty(&export_public_inputs(public_inputs))?,
    )?;
    Ok(())
}

fn parse_field<F: PrimeField>(field: &str, s: &str) -> Result<F, SnarkjsError> {
    let canonical_text =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical_text {
        return Err(SnarkjsError::NotDecimal {
            field: field.into(),
            value: s.into(),
        });
    }
    let n: BigUint = s.parse().map_err(|_| SnarkjsError::NotDecimal {
        field: field.into(),
        value: s.into(),
    })?;
    let modulus = BigUint::from_bytes_le(&F::MODULUS.to_bytes_le());
    if n >= modulus {
        return Err(SnarkjsError::NonCanonical {
            field: field.into(),
            value: s.into(),
        });
    }
    Ok(F::from_le_bytes_mod_order(&n.to_bytes_le()))
}

fn expect_len<T>(field: &str, v: &[T], expected: usize) -> Result<(), SnarkjsError> {
    if v.len() == expected {
        Ok(())
    } else {
        Err(SnarkjsError::Length {
            field: field.into(),
            expected,
            found: v.len(),
        })
    }
}

fn check_point<P: SWCurveConfig>(field: &str, p: Affine<P>) -> Result<Affine<P>, SnarkjsError> {
    if !p.is_on_curve() {
        return Err(SnarkjsError::NotOnCurve {
            field: field.into(),
        });
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(SnarkjsError::NotInSubgroup {
            field: field.into(),
        });
    }
    Ok(p)
}

fn g1_from_json(field: &str, v: &[String]) -> Result<G1Affine, SnarkjsError> {
    expect_len(field, v, 3)?;
    let x: Fq = parse_field(field, &v[0])?;
    let y: Fq = parse_field(field, &v[1])?;
    let z: Fq = parse_field(field, &v[2])?;
    if z.is_zero() {
        return if x.is_zero() && y == Fq::from(1u8) {
            Ok(G1Affine::identity())
        } else {
            Err(SnarkjsError::NotAffine {
                field: field.into(),
            })
        };
    }
    if z != Fq::from(1u8) {
        return Err(SnarkjsError::NotAffine {
            field: field.into(),
        });
    }
    let p = G1Affine::new_unchecked(x, y);
    check_point(field, p)
}

fn fq2_from_json(field: &str, v: &[String]) -> Result<Fq2, SnarkjsError> {
    expect_len(field, v, 2)?;
    Ok(Fq2::new(
        parse_field(field, &v[0])?,
        parse_field(field, &v[1])?,
    ))
}

fn g2_from_json(field: &str, v: &[Vec<String>]) -> Result<G2Affine, SnarkjsError> {
    expect_len(field, v, 3)?;
    let x = fq2_from_json(field, &v[0])?;
    let y = fq2_from_json(field, &v[1])?;
    let z = fq2_from_json(field, &v[2])?;
    if z.is_zero() {
        return if x.is_zero() && y == Fq2::from(1u8) {
            Ok(G2Affine::identity())
        } else {
            Err(SnarkjsError::NotAffine {
                field: field.into(),
            })
        };
    }
    if z != Fq2::from(1u8) {
        return Err(SnarkjsError::NotAffine {
            field: field.into(),
        });
    }
    let p = G2Affine::new_unchecked(x, y);
    check_point(field, p)
}

fn check_protocol(protocol: &str, curve: &str) -> Result<(), SnarkjsError> {
    if protocol != PROTOCOL {
        return Err(SnarkjsError::Protocol(protocol.into()));
    }
    if curve != CURVE {
        return Err(SnarkjsError::Curve(curve.into()));
    }
    Ok(())
}

/// Imports a snarkjs proof, checking every coordinate and point.
pub fn import_proof(proof: &SnarkjsProof) -> Result<Proof, SnarkjsError> {
    check_protocol(&proof.protocol, &proof.curve)?;
    Ok(Proof {
        a: g1_from_json("pi_a", &proof.pi_a)?,
        b: g2_from_json("pi_b", &proof.pi_b)?,
        c: g1_from_json("pi_c", &proof.pi_c)?,
    })
}

/// Parses and imports a `proof.json`.
pub fn import_proof_json(json: &str) -> Result<Proof, SnarkjsError> {
    import_proof(&serde_json::from_str(json)?)
}

/// Imports public inputs, refusing any that is not a canonical element of Fr.
pub fn import_public_inputs(inputs: &[String]) -> Result<Vec<Fr>, SnarkjsError> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, s)| parse_field(&format!("public[{i}]"), s))
        .collect()
}

/// Parses and imports a `public.json`.
pub fn import_public_inputs_json(json: &str) -> Result<Vec<Fr>, SnarkjsError> {
    import_public_inputs(&serde_json::from_str::<Vec<String>>(json)?)
}

/// Imports a snarkjs verifying key, checking every coordinate and point and that
/// `nPublic` agrees with `IC`.
pub fn import_verifying_key(vk: &SnarkjsVerifyingKey) -> Result<VerifyingKey, SnarkjsError> {
    check_protocol(&vk.protocol, &vk.curve)?;
    if vk.ic.len() != vk.n_public + 1 {
        return Err(SnarkjsError::NPublic {
            n_public: vk.n_public,
            ic: vk.ic.len(),
        });
    }
    Ok(VerifyingKey {
        alpha_g1: g1_from_json("vk_alpha_1", &vk.vk_alpha_1)?,
        beta_g2: g2_from_json("vk_beta_2", &vk.vk_beta_2)?,
        gamma_g2: g2_from_json("vk_gamma_2", &vk.vk_gamma_2)?,
        delta_g2: g2_from_json("vk_delta_2", &vk.vk_delta_2)?,
        gamma_abc_g1: vk
            .ic
            .iter()
            .enumerate()
            .map(|(i, p)| g1_from_json(&format!("IC[{i}]"), p))
            .collect::<Result<_, _>>()?,
    })
}

/// Parses and imports a `verification_key.json`.
pub fn import_verifying_key_json(json: &str) -> Result<VerifyingKey, SnarkjsError> {
    import_verifying_key(&serde_json::from_str(json)?)
}
