//! The byte encodings of snarkjs's binary files and transcripts, and its deterministic
//! randomness (the hash-to-G2 of a contribution's proof of knowledge, the beacon).
//!
//! Read from snarkjs 0.7.6 and ffjavascript 0.3 (`wasm_curve.js`, `wasm_field1.js`,
//! `chacha.js`, wasmcurves' `build_curve_jacobian_a0.js`):
//!
//! - **LEM** (in `.ptau` and `.zkey` files): a point's affine coordinates in Montgomery
//!   form (`x R mod p`, `R = 2^256`), 32 bytes little-endian each; a G2 coordinate
//!   `c0 + c1 u` is `c0` then `c1`. The identity is all zeros.
//! - **Uncompressed** (in hashes): the coordinates' plain values, 32 bytes big-endian
//!   each; for G2 `x.c1, x.c0, y.c1, y.c0`. The identity is all zeros.
//! - **Compressed** (the response hash of a `.ptau` contribution): `x` uncompressed,
//!   its top bit set when `y` is "negative" (above `(p - 1) / 2`; for G2 the sign of
//!   `c1`, or of `c0` when `c1` is zero), the identity `0x40` then zeros.
//! - **Fr in a zkey's coefficient section**: `v R^2 mod r` little-endian; in `.r1cs` and
//!   `.wtns`: `v` little-endian.
//! - **ChaCha**: the ChaCha20 block function keyed by eight 32-bit words, a 128-bit block
//!   counter in words 12-15 from zero, words taken in order; `next_u64` is
//!   `(first << 32) | second`.
//! - **Field elements from the RNG**: four `next_u64` as the limbs of an integer (lowest
//!   first), masked to the modulus' 254 bits, rejected when not below the modulus, and
//!   taken as a Montgomery form: the element is `v / R`.
//! - **Points from the RNG**: `x` from the RNG, then one `next_u32` whose low bit says
//!   whether `y` is negative, until `x^3 + b` is a square; G2 points are then multiplied
//!   by G2's cofactor (as an integer, not by an endomorphism).

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInt, BigInteger, Field, One, PrimeField, Zero};
use blake2::{Blake2b512, Digest};

/// Bytes of a BN254 base or scalar field element.
pub const N8: usize = 32;
/// Bytes of a G1 point (LEM or uncompressed).
pub const G1_SIZE: usize = 64;
/// Bytes of a G2 point (LEM or uncompressed).
pub const G2_SIZE: usize = 128;

/// A value that is not a valid encoding.
#[derive(Debug, thiserror::Error)]
pub enum EncodingError {
    /// A coordinate is not below the field modulus.
    #[error("{0}: a coordinate is not below the field modulus")]
    NonCanonical(&'static str),
    /// A point is not on the curve.
    #[error("{0}: a point is not on the curve")]
    NotOnCurve(&'static str),
    /// A G2 point is not in the prime-order subgroup.
    #[error("{0}: a G2 point is not in the prime-order subgroup")]
    NotInSubgroup(&'static str),
}

fn bigint_le(bytes: &[u8]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    }
    BigInt::new(limbs)
}

fn bigint_to_le(b: &BigInt<4>, out: &mut [u8]) {
    for (i, limb) in b.0.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
    }
}

/// An Fq from its Montgomery form, little-endian.
fn fq_from_lem(bytes: &[u8], what: &'static str) -> Result<Fq, EncodingError> {
    let b = bigint_le(bytes);
    if b >= Fq::MODULUS {
        return Err(EncodingError::NonCanonical(what));
    }
    Ok(Fq::new_unchecked(b))
}

fn fq_to_lem(f: &Fq, out: &mut [u8]) {
    bigint_to_le(&f.0, out);
}

fn fq_to_be(f: &Fq, out: &mut [u8]) {
    let bytes = f.into_bigint().to_bytes_be();
    out.copy_from_slice(&bytes);
}

/// A G1 point from its LEM encoding: on the curve (G1's cofactor is one), or the
/// identity.
pub fn g1_from_lem(bytes: &[u8], what: &'static str) -> Result<G1Affine, EncodingError> {
    if bytes[..G1_SIZE].iter().all(|b| *b == 0) {
        return Ok(G1Affine::identity());
    }
    let x = fq_from_lem(&bytes[0..32], what)?;
    let y = fq_from_lem(&bytes[32..64], what)?;
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(EncodingError::NotOnCurve(what));
    }
    Ok(p)
}

/// A G2 point from its LEM encoding: on the curve, or the identity. `subgroup` also
/// checks the prime-order subgroup (a scalar multiplication: done for the few points
/// that enter a pairing check, not for whole sections whose bytes are compared
/// against recomputed ones).
pub fn g2_from_lem(
    bytes: &[u8],
    what: &'static str,
    subgroup: bool,
) -> Result<G2Affine, EncodingError> {
    if bytes[..G2_SIZE].iter().all(|b| *b == 0) {
        return Ok(G2Affine::identity());
    }
    let x = Fq2::new(
        fq_from_lem(&bytes[0..32], what)?,
        fq_from_lem(&bytes[32..64], what)?,
    );
    let y = Fq2::new(
        fq_from_lem(&bytes[64..96], what)?,
        fq_from_lem(&bytes[96..128], what)?,
    );
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(EncodingError::NotOnCurve(what));
    }
    if subgroup && !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(EncodingError::NotInSubgroup(what));
    }
    Ok(p)
}

/// LEM encoding of a G1 point.
pub fn g1_to_lem(p: &G1Affine, out: &mut Vec<u8>) {
    let mut buf = [0u8; G1_SIZE];
    if let Some((x, y)) = p.xy() {
        fq_to_lem(&x, &mut buf[0..32]);
        fq_to_lem(&y, &mut buf[32..64]);
    }
    out.extend_from_slice(&buf);
}

/// LEM encoding of a G2 point.
pub fn g2_to_lem(p: &G2Affine, out: &mut Vec<u8>) {
    let mut buf = [0u8; G2_SIZE];
    if let Some((x, y)) = p.xy() {
        fq_to_lem(&x.c0, &mut buf[0..32]);
        fq_to_lem(&x.c1, &mut buf[32..64]);
        fq_to_lem(&y.c0, &mut buf[64..96]);
        fq_to_lem(&y.c1, &mut buf[96..128]);
    }
    out.extend_from_slice(&buf);
}

/// Uncompressed encoding of a G1 point (for hashing).
pub fn g1_uncompressed(p: &G1Affine) -> [u8; G1_SIZE] {
    let mut buf = [0u8; G1_SIZE];
    if let Some((x, y)) = p.xy() {
        fq_to_be(&x, &mut buf[0..32]);
        fq_to_be(&y, &mut buf[32..64]);
    }
    buf
}

/// Uncompressed encoding of a G2 point (for hashing).
pub fn g2_uncompressed(p: &G2Affine) -> [u8; G2_SIZE] {
    let mut buf = [0u8; G2_SIZE];
    if let Some((x, y)) = p.xy() {
        fq_to_be(&x.c1, &mut buf[0..32]);
        fq_to_be(&x.c0, &mut buf[32..64]);
        fq_to_be(&y.c1, &mut buf[64..96]);
        fq_to_be(&y.c0, &mut buf[96..128]);
    }
    buf
}

fn fq_is_negative(f: &Fq) -> bool {
    // Above (p - 1) / 2.
    f.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

fn fq2_is_negative(f: &Fq2) -> bool {
    if f.c1.is_zero() {
        fq_is_negative(&f.c0)
    } else {
        fq_is_negative(&f.c1)
    }
}

/// Compressed encoding of a G1 point (half of [`G1_SIZE`]).
pub fn g1_compressed(p: &G1Affine) -> [u8; 32] {
    let mut buf = [0u8; 32];
    match p.xy() {
        None => buf[0] = 0x40,
        Some((x, y)) => {
            fq_to_be(&x, &mut buf);
            if fq_is_negative(&y) {
                buf[0] |= 0x80;
            }
        }
    }
    buf
}

/// Compressed encoding of a G2 point (half of [`G2_SIZE`]).
pub fn g2_compressed(p: &G2Affine) -> [u8; 64] {
    let mut buf = [0u8; 64];
    match p.xy() {
        None => buf[0] = 0x40,
        Some((x, y)) => {
            fq_to_be(&x.c1, &mut buf[0..32]);
            fq_to_be(&x.c0, &mut buf[32..64]);
            if fq2_is_negative(&y) {
                buf[0] |= 0x80;
            }
        }
    }
    buf
}

/// An Fr from plain little-endian bytes (`.r1cs`, `.wtns`), refused when not below `r`.
pub fn fr_from_le(bytes: &[u8]) -> Option<Fr> {
    Fr::from_bigint(bigint_le(bytes))
}

/// Plain little-endian bytes of an Fr.
pub fn fr_to_le(f: &Fr, out: &mut Vec<u8>) {
    let mut buf = [0u8; N8];
    bigint_to_le(&f.into_bigint(), &mut buf);
    out.extend_from_slice(&buf);
}

/// An Fr in a zkey's coefficient section (`v R^2 mod r`, little-endian).
pub fn fr_to_zkey_coeff(f: &Fr, out: &mut Vec<u8>) {
    // `f.0` is `v R mod r`; the element whose plain value that is has `v R^2` as its own
    // Montgomery form.
    let vr = Fr::from_bigint(f.0).expect("a Montgomery form is below the modulus");
    let mut buf = [0u8; N8];
    bigint_to_le(&vr.0, &mut buf);
    out.extend_from_slice(&buf);
}

/// The inverse of [`fr_to_zkey_coeff`].
pub fn fr_from_zkey_coeff(bytes: &[u8]) -> Option<Fr> {
    let b = bigint_le(bytes);
    if b >= Fr::MODULUS {
        return None;
    }
    let vr = Fr::new_unchecked(b);
    Some(Fr::new_unchecked(vr.into_bigint()))
}

/// ffjavascript's ChaCha generator.
#[derive(Clone, Debug)]
pub struct ChaCha {
    state: [u32; 16],
    buf: [u32; 16],
    idx: usize,
}

impl ChaCha {
    /// Keyed by eight words.
    pub fn new(seed: [u32; 8]) -> Self {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646E, 0x7962_2D32, 0x6B20_6574]);
        state[4..12].copy_from_slice(&seed);
        ChaCha {
            state,
            buf: [0; 16],
            idx: 16,
        }
    }

    /// Keyed by the first 32 bytes of `hash`, read as big-endian words (snarkjs's
    /// `hashToG2`, `getRandomRng`, `rngFromBeaconParams`).
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut seed = [0u32; 8];
        for (i, w) in seed.iter_mut().enumerate() {
            *w = u32::from_be_bytes(hash[4 * i..4 * i + 4].try_into().expect("4 bytes"));
        }
        ChaCha::new(seed)
    }

    fn update(&mut self) {
        let mut x = self.state;
        fn qr(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(16);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(12);
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(8);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(7);
        }
        for _ in 0..10 {
            qr(&mut x, 0, 4, 8, 12);
            qr(&mut x, 1, 5, 9, 13);
            qr(&mut x, 2, 6, 10, 14);
            qr(&mut x, 3, 7, 11, 15);
            qr(&mut x, 0, 5, 10, 15);
            qr(&mut x, 1, 6, 11, 12);
            qr(&mut x, 2, 7, 8, 13);
            qr(&mut x, 3, 4, 9, 14);
        }
        for (o, s) in x.iter_mut().zip(self.state.iter()) {
            *o = o.wrapping_add(*s);
        }
        self.buf = x;
        self.idx = 0;
        for w in 12..16 {
            self.state[w] = self.state[w].wrapping_add(1);
            if self.state[w] != 0 {
                break;
            }
        }
    }

    /// The next word.
    pub fn next_u32(&mut self) -> u32 {
        if self.idx == 16 {
            self.update();
        }
        let v = self.buf[self.idx];
        self.idx += 1;
        v
    }

    /// The next two words, the first as the high half.
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        let lo = self.next_u32() as u64;
        (hi << 32) | lo
    }

    fn next_montgomery_limbs(&mut self, modulus: &BigInt<4>) -> BigInt<4> {
        loop {
            let mut limbs = [0u64; 4];
            for l in limbs.iter_mut() {
                *l = self.next_u64();
            }
            // Both BN254 moduli have 254 bits.
            limbs[3] &= (1u64 << 62) - 1;
            let v = BigInt::new(limbs);
            if v < *modulus {
                return v;
            }
        }
    }

    /// ffjavascript's `Fr.fromRng`.
    pub fn fr(&mut self) -> Fr {
        Fr::new_unchecked(self.next_montgomery_limbs(&Fr::MODULUS))
    }

    fn fq(&mut self) -> Fq {
        Fq::new_unchecked(self.next_montgomery_limbs(&Fq::MODULUS))
    }

    /// ffjavascript's `G1.fromRng`.
    pub fn g1(&mut self) -> G1Affine {
        loop {
            let x = self.fq();
            let negative = self.next_u32() & 1 == 1;
            let rhs = x.square() * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(mut y) = rhs.sqrt() {
                if fq_is_negative(&y) != negative {
                    y = -y;
                }
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// ffjavascript's `G2.fromRng`, cofactor cleared.
    pub fn g2(&mut self) -> G2Affine {
        loop {
            let x = Fq2::new(self.fq(), self.fq());
            let negative = self.next_u32() & 1 == 1;
            let rhs = x.square() * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(mut y) = rhs.sqrt() {
                if fq2_is_negative(&y) != negative {
                    y = -y;
                }
                let p = G2Projective::from(G2Affine::new_unchecked(x, y));
                return p.mul_bigint(G2_COFACTOR).into_affine();
            }
        }
    }
}

/// BN254's G2 cofactor, `0x30644e72e131a029b85045b68181585e06ceecda572a2489345f2299c0f9fa8d`.
const G2_COFACTOR: [u64; 4] = [
    0x345f_2299_c0f9_fa8d,
    0x06ce_ecda_572a_2489,
    0xb850_45b6_8181_585e,
    0x3064_4e72_e131_a029,
];

/// snarkjs's `hashToG2`: the G2 point a contribution's proof of knowledge is checked
/// against, from the contribution's transcript hash.
pub fn hash_to_g2(hash: &[u8]) -> G2Affine {
    ChaCha::from_hash(hash).g2()
}

/// `e(a1, b2) == e(b1, a2)`, all four points non-zero: `b1 / a1 = b2 / a2` in the
/// exponent. snarkjs's `sameRatio`.
pub fn same_ratio(a1: &G1Affine, b1: &G1Affine, a2: &G2Affine, b2: &G2Affine) -> bool {
    if a1.is_zero() || b1.is_zero() || a2.is_zero() || b2.is_zero() {
        return false;
    }
    let lhs = Bn254::multi_pairing([*a1, (-*b1)], [*b2, *a2]);
    lhs.0.is_one()
}

/// BLAKE2b-512, snarkjs's transcript hash.
pub type Hasher = Blake2b512;

/// A 64-byte BLAKE2b digest.
pub type Hash64 = [u8; 64];

/// Finishes a hasher.
pub fn digest(h: Hasher) -> Hash64 {
    h.finalize().into()
}

/// Random scalars for a random linear combination: 64 bits each (a soundness error of
/// 2^-64 per check, snarkjs uses 32), from the OS.
pub fn random_scalars(n: usize) -> Vec<Fr> {
    use rand::RngCore;
    let mut rng = rand::rngs::OsRng;
    (0..n).map(|_| Fr::from(rng.next_u64())).collect()
}

/// The generator of G1 and G2 (snarkjs's `G1.g`, `G2.g`).
pub fn generators() -> (G1Affine, G2Affine) {
    (
        G1Projective::generator().into_affine(),
        G2Projective::generator().into_affine(),
    )
}

/// The digest formatted as snarkjs prints it: four lines of four 8-digit groups.
pub fn format_hash(h: &[u8]) -> String {
    h.chunks(16)
        .map(|line| {
            line.chunks(4)
                .map(hex::encode)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;

    #[test]
    fn lem_round_trips() {
        let mut rng = ark_std::test_rng();
        let p = G1Projective::rand(&mut rng).into_affine();
        let q = G2Projective::rand(&mut rng).into_affine();
        let mut buf = Vec::new();
        g1_to_lem(&p, &mut buf);
        g2_to_lem(&q, &mut buf);
        assert_eq!(g1_from_lem(&buf[..64], "t").unwrap(), p);
        assert_eq!(g2_from_lem(&buf[64..], "t", true).unwrap(), q);
        let f = Fr::rand(&mut rng);
        let mut c = Vec::new();
        fr_to_zkey_coeff(&f, &mut c);
        assert_eq!(fr_from_zkey_coeff(&c).unwrap(), f);
    }

    #[test]
    fn hash_to_g2_is_in_the_subgroup() {
        let p = hash_to_g2(&[7u8; 64]);
        assert!(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve());
    }
}
