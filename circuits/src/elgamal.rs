//! Exponential ElGamal on Baby Jubjub with `G = Base8`:
//! `Enc(PK, m; r) = (r G, m G + r PK)`, `PK = sk G`.
//!
//! Ciphertexts add component-wise, so the sum of ciphertexts encrypts the sum of the
//! messages; decryption gives `m G`, and a small `m` is recovered by baby-step
//! giant-step with a [`DlogTable`] built once and reused.

pub mod r1cs;

use crate::babyjubjub::{
    point_from_coordinates, CurveError, Point, ProjectivePoint, Scalar, BASE8,
};
use crate::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand, Zero};
use std::collections::HashMap;
use std::iter::Sum;
use std::ops::Add;

/// Why a public key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElGamalError {
    /// The point failed decoding (off the curve, outside the subgroup, ...).
    #[error(transparent)]
    Curve(#[from] CurveError),
    /// The identity is no key: it would encrypt in the clear.
    #[error("the identity is not a valid public key")]
    IdentityKey,
}

/// A decryption key: a scalar mod l. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(pub Scalar);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A uniformly random key (never zero).
    pub fn random<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        loop {
            let s = Scalar::rand(rng);
            if !s.is_zero() {
                return Self(s);
            }
        }
    }

    /// `sk G`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey((BASE8 * self.0).into_affine())
    }
}

/// An encryption key `sk G`, a non-identity point of the prime-order subgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(pub Point);

impl PublicKey {
    /// A key from outside: checked on the curve, in the subgroup, not the identity.
    pub fn from_coordinates(x: Fr, y: Fr) -> Result<Self, ElGamalError> {
        let p = point_from_coordinates(x, y)?;
        if p.is_zero() {
            return Err(ElGamalError::IdentityKey);
        }
        Ok(Self(p))
    }
}

/// `(c1, c2) = (r G, m G + r PK)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// `r G`.
    pub c1: Point,
    /// `m G + r PK`.
    pub c2: Point,
}

impl Ciphertext {
    /// The encryption of 0 with r = 0: the neutral element of ciphertext addition.
    pub fn zero() -> Self {
        Self {
            c1: Point::zero(),
            c2: Point::zero(),
        }
    }
}

impl Add for Ciphertext {
    type Output = Ciphertext;
    /// Encrypts the sum of the messages under the sum of the randomness.
    fn add(self, rhs: Self) -> Self {
        Self {
            c1: (self.c1 + rhs.c1).into_affine(),
            c2: (self.c2 + rhs.c2).into_affine(),
        }
    }
}

impl Sum for Ciphertext {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), Add::add)
    }
}

impl<'a> Sum<&'a Ciphertext> for Ciphertext {
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

/// `Enc(pk, m; r) = (r G, m G + r pk)`.
pub fn encrypt(pk: &PublicKey, m: u64, r: &Scalar) -> Ciphertext {
    Ciphertext {
        c1: (BASE8 * r).into_affine(),
        c2: (BASE8 * Scalar::from(m) + pk.0 * r).into_affine(),
    }
}

/// `c2 - sk c1 = m G`.
pub fn decrypt_to_point(sk: &SecretKey, ct: &Ciphertext) -> Point {
    (ct.c2.into_group() - ct.c1 * sk.0).into_affine()
}

/// Decrypts and solves the discrete log for `m < 2^max_bits` (see [`DlogTable::solve`]).
pub fn decrypt(sk: &SecretKey, ct: &Ciphertext, table: &DlogTable, max_bits: u32) -> Option<u64> {
    table.solve(&decrypt_to_point(sk, ct), max_bits)
}

/// Baby-step table for discrete logs base `G`: `key(i G) -> i` for `i < baby_steps`,
/// where the key is the low 64 bits of `x`. Built once, shared by every solve.
///
/// Memory: about 20 bytes per baby step in the hash map (8-byte key, 4-byte index,
/// hashbrown overhead at 7/8 load): 2^16 steps about 1.3 MB, 2^20 about 21 MB, 2^24
/// about 340 MB. A solve for `m < 2^b` costs up to `2^b / baby_steps` giant steps
/// (one point addition each, normalised in batches).
#[derive(Debug, Clone)]
pub struct DlogTable {
    baby_steps: u64,
    table: HashMap<u64, u32>,
    /// Keys that collided in 64 bits (rare): every index per key.
    overflow: HashMap<u64, Vec<u32>>,
    /// `-baby_steps G`.
    giant: ProjectivePoint,
}

/// Normalisation batch for baby and giant steps.
const BATCH: usize = 1024;

fn key(p: &Point) -> u64 {
    p.x.into_bigint().0[0]
}

impl DlogTable {
    /// A table of `baby_steps` entries (`1 <= baby_steps <= 2^32`).
    pub fn new(baby_steps: u64) -> Self {
        assert!(
            (1..=1u64 << 32).contains(&baby_steps),
            "baby steps in 1..=2^32"
        );
        let mut table = HashMap::with_capacity(baby_steps as usize);
        let mut overflow: HashMap<u64, Vec<u32>> = HashMap::new();
        let g = BASE8.into_group();
        let mut cur = ProjectivePoint::zero();
        let mut i: u64 = 0;
        while i < baby_steps {
            let n = BATCH.min((baby_steps - i) as usize);
            let mut pts = Vec::with_capacity(n);
            for _ in 0..n {
                pts.push(cur);
                cur += g;
            }
            for (j, p) in ProjectivePoint::normalize_batch(&pts).iter().enumerate() {
                let idx = (i + j as u64) as u32;
                let k = key(p);
                if let Some(prev) = table.insert(k, idx) {
                    // keep both: the first stays in `table`, all go to `overflow`
                    table.insert(k, prev);
                    overflow.entry(k).or_insert_with(|| vec![prev]).push(idx);
                }
            }
            i += n as u64;
        }
        Self {
            baby_steps,
            table,
            overflow,
            giant: -(BASE8 * Scalar::from(baby_steps)),
        }
    }

    /// The number of baby steps.
    pub fn baby_steps(&self) -> u64 {
        self.baby_steps
    }

    /// `m` with `m G = p` and `m < 2^max_bits` (`max_bits <= 64`), or `None`.
    pub fn solve(&self, p: &Point, max_bits: u32) -> Option<u64> {
        assert!(max_bits <= 64);
        let bound: u128 = 1u128 << max_bits;
        let giants = bound.div_ceil(self.baby_steps as u128) as u64;
        let mut cur = p.into_group();
        let mut j: u64 = 0;
        while j < giants {
            let n = BATCH.min((giants - j) as usize);
            let mut pts = Vec::with_capacity(n);
            for _ in 0..n {
                pts.push(cur);
                cur += self.giant;
            }
            for (t, q) in ProjectivePoint::normalize_batch(&pts).iter().enumerate() {
                let k = key(q);
                let Some(&i) = self.table.get(&k) else {
                    continue;
                };
                let candidates = self.overflow.get(&k).cloned().unwrap_or_else(|| vec![i]);
                for i in candidates {
                    let m = (j + t as u64) as u128 * self.baby_steps as u128 + i as u128;
                    if m < bound && (BASE8 * Scalar::from(m)).into_affine() == *p {
                        return Some(m as u64);
                    }
                }
            }
            j += n as u64;
        }
        None
    }
}

#[cfg(test)]
mod tests;
