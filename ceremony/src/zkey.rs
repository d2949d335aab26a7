//! snarkjs's `.zkey` file (Groth16 phase 2), version 1.
//!
//! Sections (points in LEM, see [`crate::encoding`]):
//!
//! 1. the protocol: `u32` 1 (Groth16);
//! 2. the Groth16 header: `n8q`, `q`, `n8r`, `r`, the number of wires (`nVars`), of
//!    public wires without the constant one (`nPublic`), the domain size (`u32` each),
//!    then `alpha G1, beta G1, beta G2, gamma G2, delta G1, delta G2`;
//! 3. IC: `(beta A_i + alpha B_i + C_i)(tau) G1` for public wires `i <= nPublic`
//!    (gamma is one);
//! 4. the coefficients of `A` and `B` (a `u32` count, then `u32` matrix, constraint,
//!    wire and the coefficient as `v R^2 mod r`), with one row `A[m + i][i] = 1` per
//!    public wire appended (`m` constraints);
//! 5. `A_i(tau) G1`, 6. `B_i(tau) G1`, 7. `B_i(tau) G2` for every wire;
//! 8. L: `(beta A_i + alpha B_i + C_i)(tau) / delta G1` for private wires;
//! 9. H: `L_{2j+1}(tau) / delta G1` for `j < domain size`, the Lagrange basis of the
//!    doubled domain at its odd points ([`sealgrid_prover::qap`]);
//! 10. the MPC parameters: the circuit hash (64 bytes), a `u32` count and the
//!     contributions (see [`Contribution`]).

use std::path::Path;

use ark_bn254::{Fr, G1Affine, G2Affine};
use ark_ff::{BigInteger, PrimeField};

use crate::binfile::{BinFile, FileError, Reader};
use crate::encoding::{
    fr_from_zkey_coeff, g1_from_lem, g1_to_lem, g1_uncompressed, g2_from_lem, g2_to_lem,
    g2_uncompressed, Hash64, Hasher, G1_SIZE, G2_SIZE, N8,
};
use crate::ptau::{decode_g1s, decode_g2s};

/// A contribution's kind and, for a beacon, its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContributionKind {
    /// A secret drawn by a participant.
    Secret,
    /// The public beacon: the secret derived from `hash` by `2^iterations_exp` SHA-256.
    Beacon {
        /// The beacon value.
        hash: Vec<u8>,
        /// log2 of the number of SHA-256 iterations (10 to 63).
        iterations_exp: u8,
    },
}

/// One phase-2 contribution as recorded in section 10.
///
/// On file: `deltaAfter` (G1), `g1_s`, `g1_sx` (G1), `g2_spx` (G2), the transcript
/// (64 bytes), a `u32` type (0 secret, 1 beacon), a `u32` parameter length and the
/// parameters: `1, len, name` (at most 64 bytes), and for a beacon `2, exp` and
/// `3, len, hash`.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// `delta` after this contribution, in G1.
    pub delta_after: G1Affine,
    /// A random G1 point `s`.
    pub g1_s: G1Affine,
    /// `s` times the contribution's secret `x`.
    pub g1_sx: G1Affine,
    /// `hash_to_g2(transcript)` times `x`.
    pub g2_spx: G2Affine,
    /// BLAKE2b of the circuit hash, every earlier contribution's public key, `s` and
    /// `s x` (all uncompressed).
    pub transcript: Hash64,
    /// Secret or beacon.
    pub kind: ContributionKind,
    /// The contributor's name, if given.
    pub name: Option<String>,
}

impl Contribution {
    /// Feeds the contribution's public key into `h` (snarkjs's `hashPubKey`).
    pub fn hash_pub_key(&self, h: &mut Hasher) {
        use blake2::Digest;
        h.update(g1_uncompressed(&self.delta_after));
        h.update(g1_uncompressed(&self.g1_s));
        h.update(g1_uncompressed(&self.g1_sx));
        h.update(g2_uncompressed(&self.g2_spx));
        h.update(self.transcript);
    }

    /// The contribution hash the contributor publishes: BLAKE2b of its public key.
    pub fn hash(&self) -> Hash64 {
        let mut h = Hasher::default();
        self.hash_pub_key(&mut h);
        crate::encoding::digest(h)
    }

    fn write(&self, out: &mut Vec<u8>) {
        g1_to_lem(&self.delta_after, out);
        g1_to_lem(&self.g1_s, out);
        g1_to_lem(&self.g1_sx, out);
        g2_to_lem(&self.g2_spx, out);
        out.extend_from_slice(&self.transcript);
        let mut params = Vec::new();
        if let Some(name) = &self.name {
            let bytes = truncate_utf8(name, 64);
            params.push(1);
            params.push(bytes.len() as u8);
            params.extend_from_slice(bytes);
        }
        let kind = match &self.kind {
            ContributionKind::Secret => 0u32,
            ContributionKind::Beacon {
                hash,
                iterations_exp,
            } => {
                params.push(2);
                params.push(*iterations_exp);
                params.push(3);
                params.push(hash.len() as u8);
                params.extend_from_slice(hash);
                1
            }
        };
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(params.len() as u32).to_le_bytes());
        out.extend_from_slice(&params);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let g1 = |r: &mut Reader<'_>| -> Result<G1Affine, String> {
            g1_from_lem(r.take(G1_SIZE)?, "a contribution").map_err(|e| e.to_string())
        };
        let delta_after = g1(r)?;
        let g1_s = g1(r)?;
        let g1_sx = g1(r)?;
        let g2_spx =
            g2_from_lem(r.take(G2_SIZE)?, "a contribution", true).map_err(|e| e.to_string())?;
        let transcript: Hash64 = r.take(64)?.try_into().expect("64 bytes");
        let kind = r.u32()?;
        let len = r.u32()? as usize;
        let (name, kind) = contribution_params(kind, r.take(len)?)?;
        Ok(Contribution {
            delta_after,
            g1_s,
            g1_sx,
            g2_spx,
            transcript,
            kind,
            name,
        })
    }
}

fn truncate_utf8(s: &str, max: usize) -> &[u8] {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

/// A Groth16 `.zkey`, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Zkey {
    /// Wires, the constant one included.
    pub n_vars: u32,
    /// Public wires, the constant one excluded.
    pub n_public: u32,
    /// The evaluation domain's size.
    pub domain_size: u32,
    /// `alpha G1`.
    pub alpha_g1: G1Affine,
    /// `beta G1`.
    pub beta_g1: G1Affine,
    /// `beta G2`.
    pub beta_g2: G2Affine,
    /// `gamma G2` (the generator: snarkjs's gamma is one).
    pub gamma_g2: G2Affine,
    /// `delta G1`.
    pub delta_g1: G1Affine,
    /// `delta G2`.
    pub delta_g2: G2Affine,
    /// Section 3.
    pub ic: Vec<G1Affine>,
    /// Section 4, raw.
    pub coeffs: Vec<u8>,
    /// Section 5.
    pub a: Vec<G1Affine>,
    /// Section 6.
    pub b1: Vec<G1Affine>,
    /// Section 7.
    pub b2: Vec<G2Affine>,
    /// Section 8 (L, the private wires).
    pub c: Vec<G1Affine>,
    /// Section 9 (H).
    pub h: Vec<G1Affine>,
    /// Section 10: the circuit hash.
    pub cs_hash: Hash64,
    /// Section 10: the contributions, oldest first.
    pub contributions: Vec<Contribution>,
}

fn modulus_bytes<F: PrimeField>() -> Vec<u8> {
    F::MODULUS.to_bytes_le()
}

impl Zkey {
    /// The container.
    pub fn to_bin(&self) -> BinFile {
        let mut f = BinFile::new(b"zkey", 1);
        f.push(1, 1u32.to_le_bytes().to_vec());
        let mut h = Vec::new();
        h.extend_from_slice(&(N8 as u32).to_le_bytes());
        h.extend_from_slice(&modulus_bytes::<ark_bn254::Fq>());
        h.extend_from_slice(&(N8 as u32).to_le_bytes());
        h.extend_from_slice(&modulus_bytes::<Fr>());
        h.extend_from_slice(&self.n_vars.to_le_bytes());
        h.extend_from_slice(&self.n_public.to_le_bytes());
        h.extend_from_slice(&self.domain_size.to_le_bytes());
        g1_to_lem(&self.alpha_g1, &mut h);
        g1_to_lem(&self.beta_g1, &mut h);
        g2_to_lem(&self.beta_g2, &mut h);
        g2_to_lem(&self.gamma_g2, &mut h);
        g1_to_lem(&self.delta_g1, &mut h);
        g2_to_lem(&self.delta_g2, &mut h);
        f.push(2, h);
        f.push(3, g1s(&self.ic));
        f.push(4, self.coeffs.clone());
        f.push(5, g1s(&self.a));
        f.push(6, g1s(&self.b1));
        f.push(7, g2s(&self.b2));
        f.push(8, g1s(&self.c));
        f.push(9, g1s(&self.h));
        let mut m = Vec::new();
        m.extend_from_slice(&self.cs_hash);
        m.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
        for c in &self.contributions {
            c.write(&mut m);
        }
        f.push(10, m);
        f
    }

    /// Writes the `.zkey` file.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        self.to_bin().write(path)
    }

    /// Parses a `.zkey` container: Groth16 over BN254, sections of consistent sizes,
    /// every point on its curve (G2 points of the header and the contributions also in
    /// the subgroup).
    pub fn from_bin(f: &BinFile) -> Result<Self, String> {
        let mut p = Reader::new(f.section(1)?, "the zkey protocol section");
        if p.u32()? != 1 {
            return Err("the zkey is not a Groth16 key".into());
        }
        let mut h = Reader::new(f.section(2)?, "the zkey header");
        if h.u32()? as usize != N8 || h.take(N8)? != &modulus_bytes::<ark_bn254::Fq>()[..] {
            return Err("the zkey is not over BN254".into());
        }
        if h.u32()? as usize != N8 || h.take(N8)? != &modulus_bytes::<Fr>()[..] {
            return Err("the zkey is not over BN254".into());
        }
        let n_vars = h.u32()?;
        let n_public = h.u32()?;
        let domain_size = h.u32()?;
        if n_public >= n_vars || !domain_size.is_power_of_two() || domain_size > 1 << 27 {
            return Err("the zkey's sizes are inconsistent".into());
        }
        let e = |e: crate::encoding::EncodingError| e.to_string();
        let alpha_g1 = g1_from_lem(h.take(G1_SIZE)?, "alpha").map_err(e)?;
        let beta_g1 = g1_from_lem(h.take(G1_SIZE)?, "beta").map_err(e)?;
        let beta_g2 = g2_from_lem(h.take(G2_SIZE)?, "beta", true).map_err(e)?;
        let gamma_g2 = g2_from_lem(h.take(G2_SIZE)?, "gamma", true).map_err(e)?;
        let delta_g1 = g1_from_lem(h.take(G1_SIZE)?, "delta").map_err(e)?;
        let delta_g2 = g2_from_lem(h.take(G2_SIZE)?, "delta", true).map_err(e)?;
        h.finish()?;
        let (nv, np, d) = (n_vars as usize, n_public as usize, domain_size as usize);
        let sized = |s: u32, count: usize, size: usize| -> Result<&[u8], String> {
            let b = f.section(s)?;
            if b.len() != count * size {
                return Err(format!("section {s} does not hold {count} points"));
            }
            Ok(b)
        };
        let ic = decode_g1s(sized(3, np + 1, G1_SIZE)?)?;
        let coeffs = f.section(4)?.to_vec();
        check_coeffs(&coeffs, n_vars)?;
        let a = decode_g1s(sized(5, nv, G1_SIZE)?)?;
        let b1 = decode_g1s(sized(6, nv, G1_SIZE)?)?;
        let b2 = decode_g2s(sized(7, nv, G2_SIZE)?)?;
        let c = decode_g1s(sized(8, nv - np - 1, G1_SIZE)?)?;
        let hq = decode_g1s(sized(9, d, G1_SIZE)?)?;
        let mut m = Reader::new(f.section(10)?, "the zkey's contributions");
        let cs_hash: Hash64 = m.take(64)?.try_into().expect("64 bytes");
        let n = m.u32()?;
        let mut contributions = Vec::new();
        for _ in 0..n {
            contributions.push(Contribution::read(&mut m)?);
        }
        m.finish()?;
        Ok(Zkey {
            n_vars,
            n_public,
            domain_size,
            alpha_g1,
            beta_g1,
            beta_g2,
            gamma_g2,
            delta_g1,
            delta_g2,
            ic,
            coeffs,
            a,
            b1,
            b2,
            c,
            h: hq,
            cs_hash,
            contributions,
        })
    }

    /// Reads a `.zkey` file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let f = BinFile::read(path, b"zkey", 1)?;
        Zkey::from_bin(&f).map_err(|reason| FileError::Format {
            path: path.display().to_string(),
            reason,
        })
    }

    /// The key in arkworks' form, for the prover ([`sealgrid_prover::qap`]'s reduction)
    /// and the Solidity verifier's verifying key.
    pub fn proving_key(&self) -> sealgrid_prover::ProvingKey {
        let vk = sealgrid_prover::VerifyingKey {
            alpha_g1: self.alpha_g1,
            beta_g2: self.beta_g2,
            gamma_g2: self.gamma_g2,
            delta_g2: self.delta_g2,
            gamma_abc_g1: self.ic.clone(),
        };
        sealgrid_prover::ProvingKey {
            vk,
            beta_g1: self.beta_g1,
            delta_g1: self.delta_g1,
            a_query: self.a.clone(),
            b_g1_query: self.b1.clone(),
            b_g2_query: self.b2.clone(),
            h_query: self.h.clone(),
            l_query: self.c.clone(),
        }
    }
}

fn check_coeffs(bytes: &[u8], n_vars: u32) -> Result<(), String> {
    let mut r = Reader::new(bytes, "the zkey's coefficients");
    let n = r.u32()?;
    for _ in 0..n {
        let m = r.u32()?;
        let _c = r.u32()?;
        let s = r.u32()?;
        let v = r.take(N8)?;
        if m > 1 || s >= n_vars || fr_from_zkey_coeff(v).is_none() {
            return Err("a coefficient entry is invalid".into());
        }
    }
    r.finish()
}

/// LEM bytes of G1 points.
pub fn g1s(points: &[G1Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * G1_SIZE);
    for p in points {
        g1_to_lem(p, &mut out);
    }
    out
}

/// LEM bytes of G2 points.
pub fn g2s(points: &[G2Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * G2_SIZE);
    for p in points {
        g2_to_lem(p, &mut out);
    }
    out
}

/// A contribution's type and its parameter block as snarkjs writes them (shared by
/// `.ptau` and `.zkey`): tagged entries in increasing tag order, 1 the name (length
/// byte, UTF-8), 2 a beacon's iteration exponent, 3 a beacon's hash (length byte,
/// bytes); type 0 a secret contribution without beacon entries, 1 a beacon with both.
pub(crate) fn contribution_params(
    kind: u32,
    params: &[u8],
) -> Result<(Option<String>, ContributionKind), String> {
    let mut p = Reader::new(params, "a contribution's parameters");
    let (mut name, mut exp, mut hash) = (None, None, None);
    let mut last = 0u8;
    while let Ok(t) = p.take(1) {
        let t = t[0];
        if t <= last {
            return Err("a contribution's parameters are not sorted".into());
        }
        last = t;
        match t {
            1 => {
                let n = p.take(1)?[0] as usize;
                name = Some(String::from_utf8_lossy(p.take(n)?).into_owned());
            }
            2 => exp = Some(p.take(1)?[0]),
            3 => {
                let n = p.take(1)?[0] as usize;
                hash = Some(p.take(n)?.to_vec());
            }
            _ => return Err(format!("unknown contribution parameter {t}")),
        }
    }
    let kind = match (kind, exp, hash) {
        (0, None, None) => ContributionKind::Secret,
        (1, Some(iterations_exp), Some(hash)) => ContributionKind::Beacon {
            hash,
            iterations_exp,
        },
        _ => return Err("a contribution's type does not match its parameters".into()),
    };
    Ok((name, kind))
}
