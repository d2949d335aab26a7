//! Serde forms of curve objects, so every request and response of the trustee API is a
//! plain serializable struct that a tonic service can wrap later.
//!
//! Points travel as circomlib's packed form (`packPoint`, 32 bytes, hex) and are decoded
//! with [`babyjubjub::unpack`], which refuses non-canonical encodings, points off the
//! curve and points outside the prime-order subgroup. Scalars travel as 32 little-endian
//! bytes (hex) and must be below `l`. Field elements (digests) travel as decimal strings,
//! like snarkjs's `public.json`, and must be below `p`.

use ark_ff::{BigInteger, PrimeField};
use sealgrid_circuits::babyjubjub::{self, Point, Scalar};
use sealgrid_circuits::Fr;
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// `0x`-prefixed hex of exactly `N` bytes.
pub(crate) fn from_hex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let s = s.strip_prefix("0x").ok_or("hex must start with 0x")?;
    let v = hex::decode(s).map_err(|e| e.to_string())?;
    v.try_into()
        .map_err(|v: Vec<u8>| format!("expected {N} bytes, got {}", v.len()))
}

/// A point in packed form.
pub fn point_to_string(p: &Point) -> String {
    to_hex(&babyjubjub::pack(p))
}

/// A packed point, fully checked.
pub fn point_from_string(s: &str) -> Result<Point, String> {
    babyjubjub::unpack(&from_hex::<32>(s)?).map_err(|e| e.to_string())
}

/// A scalar as 32 little-endian bytes.
pub fn scalar_to_string(s: &Scalar) -> String {
    let mut b = [0u8; 32];
    b.copy_from_slice(&s.into_bigint().to_bytes_le());
    to_hex(&b)
}

/// A scalar from 32 little-endian bytes, below `l`.
pub fn scalar_from_string(s: &str) -> Result<Scalar, String> {
    babyjubjub::scalar_from_le_bytes(&from_hex::<32>(s)?).map_err(|e| e.to_string())
}

/// `#[serde(with = "wire::point")]`.
pub mod point {
    use super::*;
    /// Serializes a point.
    pub fn serialize<S: Serializer>(p: &Point, s: S) -> Result<S::Ok, S::Error> {
        point_to_string(p).serialize(s)
    }
    /// Deserializes a point, checked.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Point, D::Error> {
        point_from_string(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "wire::points")]`.
pub mod points {
    use super::*;
    /// Serializes points.
    pub fn serialize<S: Serializer>(p: &[Point], s: S) -> Result<S::Ok, S::Error> {
        p.iter()
            .map(point_to_string)
            .collect::<Vec<_>>()
            .serialize(s)
    }
    /// Deserializes points, each checked.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Point>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|x| point_from_string(x).map_err(D::Error::custom))
            .collect()
    }
}

/// `#[serde(with = "wire::scalar")]`.
pub mod scalar {
    use super::*;
    /// Serializes a scalar.
    pub fn serialize<S: Serializer>(x: &Scalar, s: S) -> Result<S::Ok, S::Error> {
        scalar_to_string(x).serialize(s)
    }
    /// Deserializes a scalar, below `l`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        scalar_from_string(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "wire::scalars")]`.
pub mod scalars {
    use super::*;
    /// Serializes scalars.
    pub fn serialize<S: Serializer>(x: &[Scalar], s: S) -> Result<S::Ok, S::Error> {
        x.iter()
            .map(scalar_to_string)
            .collect::<Vec<_>>()
            .serialize(s)
    }
    /// Deserializes scalars, each below `l`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Scalar>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|x| scalar_from_string(x).map_err(D::Error::custom))
            .collect()
    }
}

/// `#[serde(with = "wire::fr")]`: a base-field element as a decimal string.
pub mod fr {
    use super::*;
    /// Serializes a field element.
    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> Result<S::Ok, S::Error> {
        x.into_bigint().to_string().serialize(s)
    }
    /// Deserializes a field element, below `p`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        babyjubjub::fr_from_decimal(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "wire::flow_ciphertexts")]`: `{ "c1": point, "c2": [point] }`.
pub mod flow_ciphertexts {
    use super::*;
    use sealgrid_circuits::flow::FlowCiphertexts;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        #[serde(with = "super::point")]
        c1: Point,
        #[serde(with = "super::points")]
        c2: Vec<Point>,
    }

    /// Serializes a ciphertext vector.
    pub fn serialize<S: Serializer>(ct: &FlowCiphertexts, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            c1: ct.c1,
            c2: ct.c2.clone(),
        }
        .serialize(s)
    }
    /// Deserializes a ciphertext vector, every point checked.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FlowCiphertexts, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(FlowCiphertexts { c1: w.c1, c2: w.c2 })
    }
}

/// `#[serde(with = "wire::bytes")]` for fixed-size byte arrays as `0x` hex.
pub mod bytes {
    use super::*;
    /// Serializes bytes.
    pub fn serialize<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        to_hex(b).serialize(s)
    }
    /// Deserializes exactly `N` bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        from_hex::<N>(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}
