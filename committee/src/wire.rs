//! Serde forms of curve objects, so every request and response of the trustee API is a
//! plain serializable struct, and the byte forms under them that the gRPC messages carry
//! (`proto/sealgrid/committee/v1/trustee.proto`, converted in `sealgrid_proto::convert`).
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
    exact(&hex::decode(s).map_err(|e| e.to_string())?)
}

/// Exactly `N` bytes.
pub fn exact<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", b.len()))
}

/// A point in packed form, 32 bytes (circomlib's `packPoint`).
pub fn point_to_bytes(p: &Point) -> [u8; 32] {
    babyjubjub::pack(p)
}

/// A packed point from 32 bytes, fully checked: canonical, on the curve, in the
/// prime-order subgroup.
pub fn point_from_bytes(b: &[u8]) -> Result<Point, String> {
    babyjubjub::unpack(&exact::<32>(b)?).map_err(|e| e.to_string())
}

/// A scalar as 32 little-endian bytes.
pub fn scalar_to_bytes(s: &Scalar) -> [u8; 32] {
    let mut b = [0u8; 32];
    b.copy_from_slice(&s.into_bigint().to_bytes_le());
    b
}

/// A scalar from 32 little-endian bytes, below `l`.
pub fn scalar_from_bytes(b: &[u8]) -> Result<Scalar, String> {
    babyjubjub::scalar_from_le_bytes(&exact::<32>(b)?).map_err(|e| e.to_string())
}

/// A point in packed form, `0x` hex.
pub fn point_to_string(p: &Point) -> String {
    to_hex(&point_to_bytes(p))
}

/// A packed point in `0x` hex, fully checked.
pub fn point_from_string(s: &str) -> Result<Point, String> {
    point_from_bytes(&from_hex::<32>(s)?)
}

/// A scalar as 32 little-endian bytes, `0x` hex.
pub fn scalar_to_string(s: &Scalar) -> String {
    to_hex(&scalar_to_bytes(s))
}

/// A scalar from 32 little-endian bytes in `0x` hex, below `l`.
pub fn scalar_from_string(s: &str) -> Result<Scalar, String> {
    scalar_from_bytes(&from_hex::<32>(s)?)
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

/// `#[serde(with = "wire::bytes32_vec")]` for a list of 32-byte words as `0x` hex strings.
pub mod bytes32_vec {
    use super::*;
    /// Serializes the words.
    pub fn serialize<S: Serializer>(words: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        words
            .iter()
            .map(|w| to_hex(w))
            .collect::<Vec<_>>()
            .serialize(s)
    }
    /// Deserializes words of exactly 32 bytes each.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| from_hex::<32>(h).map_err(D::Error::custom))
            .collect()
    }
}
