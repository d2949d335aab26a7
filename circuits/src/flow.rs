//! Flow encryption (`docs/PROTOCOL.md` §3): exponential ElGamal with one randomness per
//! message vector and one committee key per slot,
//! `C1 = r·G, C2_j = m_j·G + r·PK_j`, bound into a circuit by one Poseidon digest.
//!
//! The keys are circuit constants (a new setup per committee epoch), so the gadget twin
//! in [`r1cs`] multiplies fixed bases only, sharing the bits of `r`.

pub mod r1cs;

use crate::babyjubjub::{base8, Point, ProjectivePoint, Scalar};
use crate::digest::digest;
use crate::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

/// The committee's flow keys of one epoch: `PK_0 … PK_{n-1}`, each from its own DKG.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct FlowKeys {
    keys: Vec<Point>,
}

/// Why a key set or a message vector is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlowError {
    /// A key is the identity or outside the prime-order subgroup.
    #[error("flow key {0} is the identity or not in the prime-order subgroup")]
    BadKey(usize),
    /// Two keys are equal: a relation between keys reveals whether slots carry equal values.
    #[error("flow keys {0} and {1} are equal")]
    DuplicateKey(usize, usize),
    /// Wrong number of messages for the key set.
    #[error("{messages} messages for {keys} keys")]
    Length {
        /// Messages given.
        messages: usize,
        /// Keys held.
        keys: usize,
    },
}

impl FlowKeys {
    /// Checks every key: in the prime-order subgroup, not the identity, pairwise distinct.
    pub fn new(keys: Vec<Point>) -> Result<FlowKeys, FlowError> {
        for (i, k) in keys.iter().enumerate() {
            if k.is_zero() || !k.is_on_curve() || !k.is_in_correct_subgroup_assuming_on_curve() {
                return Err(FlowError::BadKey(i));
            }
            if let Some(j) = keys[..i].iter().position(|other| other == k) {
                return Err(FlowError::DuplicateKey(j, i));
            }
        }
        Ok(FlowKeys { keys })
    }

    /// Independent random keys with known secrets, for tests, benchmarks and the
    /// embedded single-process demo before the committee runs its DKG.
    pub fn random<R: rand::Rng>(n: usize, rng: &mut R) -> (FlowKeys, Vec<Scalar>) {
        use ark_std::UniformRand;
        let secrets: Vec<Scalar> = (0..n).map(|_| Scalar::rand(rng)).collect();
        let keys = secrets
            .iter()
            .map(|s| (base8() * s).into_affine())
            .collect();
        (FlowKeys::new(keys).expect("random keys are valid"), secrets)
    }

    /// The keys, slot by slot.
    pub fn keys(&self) -> &[Point] {
        &self.keys
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Encrypts `messages[j]` under key j with the shared randomness `r`.
    pub fn encrypt(&self, messages: &[u64], r: &Scalar) -> Result<FlowCiphertexts, FlowError> {
        if messages.len() != self.keys.len() {
            return Err(FlowError::Length {
                messages: messages.len(),
                keys: self.keys.len(),
            });
        }
        let g = base8();
        let c1 = (g * r).into_affine();
        let c2 = messages
            .iter()
            .zip(&self.keys)
            .map(|(&m, pk)| (g * Scalar::from(m) + *pk * r).into_affine())
            .collect();
        Ok(FlowCiphertexts { c1, c2 })
    }
}

/// One message vector's ciphertexts: the shared `C1` and one `C2_j` per slot.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct FlowCiphertexts {
    /// `r·G`.
    pub c1: Point,
    /// `m_j·G + r·PK_j`.
    pub c2: Vec<Point>,
}

impl FlowCiphertexts {
    /// The coordinates in digest order: `C1.x, C1.y, C2_0.x, C2_0.y, …`.
    pub fn coordinates(&self) -> Vec<Fr> {
        std::iter::once(&self.c1)
            .chain(&self.c2)
            .flat_map(|p| [p.x, p.y])
            .collect()
    }

    /// The digest that the proofs take as a public input (`docs/PROTOCOL.md` §3).
    pub fn digest(&self) -> Fr {
        digest(&self.coordinates())
    }

    /// Slot-wise sum of many vectors' ciphertexts (all of one length).
    pub fn sum<'a>(
        items: impl IntoIterator<Item = &'a FlowCiphertexts>,
    ) -> Option<FlowCiphertexts> {
        let mut it = items.into_iter();
        let first = it.next()?;
        let mut c1: ProjectivePoint = first.c1.into_group();
        let mut c2: Vec<ProjectivePoint> = first.c2.iter().map(|p| p.into_group()).collect();
        for ct in it {
            if ct.c2.len() != c2.len() {
                return None;
            }
            c1 += ct.c1;
            for (acc, p) in c2.iter_mut().zip(&ct.c2) {
                *acc += p;
            }
        }
        Some(FlowCiphertexts {
            c1: c1.into_affine(),
            c2: ProjectivePoint::normalize_batch(&c2),
        })
    }

    /// Decrypts slot j to `m_j·G` with that slot's secret (tests and the embedded demo;
    /// the committee decrypts with shares instead).
    pub fn decrypt_to_point(&self, slot: usize, secret: &Scalar) -> Point {
        (self.c2[slot].into_group() - self.c1 * secret).into_affine()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn encrypts_adds_and_decrypts_slotwise() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let (keys, secrets) = FlowKeys::random(5, &mut rng);
        use ark_std::UniformRand;
        let a = keys
            .encrypt(&[1, 0, 7, 0, 3], &Scalar::rand(&mut rng))
            .unwrap();
        let b = keys
            .encrypt(&[0, 2, 5, 0, 1], &Scalar::rand(&mut rng))
            .unwrap();
        let sum = FlowCiphertexts::sum([&a, &b]).unwrap();
        for (j, m) in [1u64, 2, 12, 0, 4].into_iter().enumerate() {
            assert_eq!(
                sum.decrypt_to_point(j, &secrets[j]),
                (base8() * Scalar::from(m)).into_affine()
            );
        }
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.coordinates().len(), 12);
    }

    #[test]
    fn bad_key_sets_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let (keys, _) = FlowKeys::random(3, &mut rng);
        let mut k = keys.keys().to_vec();
        k[2] = k[0];
        assert_eq!(FlowKeys::new(k.clone()), Err(FlowError::DuplicateKey(0, 2)));
        k[2] = Point::zero();
        assert_eq!(FlowKeys::new(k.clone()), Err(FlowError::BadKey(2)));
        k[2] = crate::babyjubjub::generator();
        assert_eq!(FlowKeys::new(k), Err(FlowError::BadKey(2)));
        assert_eq!(
            keys.encrypt(&[1, 2], &Scalar::from(3u64)),
            Err(FlowError::Length {
                messages: 2,
                keys: 3
            })
        );
    }
}
