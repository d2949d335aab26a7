//! snarkjs's `.ptau` file (phase 1, powers of tau over BN254), version 1.
//!
//! Sections (points in LEM, see [`crate::encoding`]):
//!
//! 1. header: `n8 = 32`, the base field prime `q` (32 bytes LE), `power`, `ceremonyPower`
//!    (`u32` each);
//! 2. `tau^i G1` for `i < 2^(power+1) - 1`;
//! 3. `tau^i G2` for `i < 2^power`;
//! 4. `alpha tau^i G1` for `i < 2^power`;
//! 5. `beta tau^i G1` for `i < 2^power`;
//! 6. `beta G2`;
//! 7. the contributions (see [`crate::phase1`]);
//!
//! Sections 12-15 (after "prepare phase 2"): for each `p = 0..=power` (and for section 12
//! also `p = power + 1`), the Lagrange basis of the domain of size `2^p` at tau, in G1,
//! G2, `alpha G1`, `beta G1`: the iFFT of the first `2^p` points of sections 2-5 (section
//! 12's last block with the missing top power taken as zero, as snarkjs does). The block
//! for `2^p` starts at point `2^p - 1`.

use std::path::Path;

use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ff::PrimeField;

use crate::binfile::{BinFile, FileError, Reader};
use crate::encoding::{g1_from_lem, g2_from_lem, G1_SIZE, G2_SIZE, N8};

/// Section numbers.
pub const TAU_G1: u32 = 2;
/// `tau^i G2`.
pub const TAU_G2: u32 = 3;
/// `alpha tau^i G1`.
pub const ALPHA_TAU_G1: u32 = 4;
/// `beta tau^i G1`.
pub const BETA_TAU_G1: u32 = 5;
/// `beta G2`.
pub const BETA_G2: u32 = 6;
/// The contributions.
pub const CONTRIBUTIONS: u32 = 7;
/// Lagrange basis in G1.
pub const LAGRANGE_G1: u32 = 12;
/// Lagrange basis in G2.
pub const LAGRANGE_G2: u32 = 13;
/// Lagrange basis times alpha in G1.
pub const LAGRANGE_ALPHA_G1: u32 = 14;
/// Lagrange basis times beta in G1.
pub const LAGRANGE_BETA_G1: u32 = 15;

/// Largest power accepted (BN254's scalar field has 2-adicity 28; the H points of a
/// circuit of domain `2^p` need the Lagrange basis of `2^(p+1)`).
pub const MAX_POWER: u32 = 27;

/// A `.ptau` file, kept as its sections; points are decoded on demand.
#[derive(Clone, Debug)]
pub struct Ptau {
    /// The powers held: `2^power` (and `2^(power+1) - 1` in G1).
    pub power: u32,
    /// The power of the ceremony the file comes from (larger when truncated).
    pub ceremony_power: u32,
    pub(crate) file: BinFile,
}

/// The header section.
pub(crate) fn header(power: u32, ceremony_power: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&(N8 as u32).to_le_bytes());
    for limb in Fq::MODULUS.0 {
        h.extend_from_slice(&limb.to_le_bytes());
    }
    h.extend_from_slice(&power.to_le_bytes());
    h.extend_from_slice(&ceremony_power.to_le_bytes());
    h
}

impl Ptau {
    /// Parses a `.ptau` container.
    pub fn from_bin(file: BinFile) -> Result<Self, String> {
        let mut h = Reader::new(file.section(1)?, "the ptau header");
        if h.u32()? as usize != N8 {
            return Err("the field is not 32 bytes wide".into());
        }
        let q = h.take(N8)?;
        let mut expected = Vec::new();
        for limb in Fq::MODULUS.0 {
            expected.extend_from_slice(&limb.to_le_bytes());
        }
        if q != &expected[..] {
            return Err("the file is not over BN254".into());
        }
        let power = h.u32()?;
        let ceremony_power = h.u32()?;
        h.finish()?;
        if power == 0 || power > MAX_POWER || ceremony_power < power {
            return Err(format!(
                "power {power} (ceremony power {ceremony_power}) is out of range"
            ));
        }
        let p = Ptau {
            power,
            ceremony_power,
            file,
        };
        let n = 1usize << power;
        for (s, count, size) in [
            (TAU_G1, 2 * n - 1, G1_SIZE),
            (TAU_G2, n, G2_SIZE),
            (ALPHA_TAU_G1, n, G1_SIZE),
            (BETA_TAU_G1, n, G1_SIZE),
            (BETA_G2, 1, G2_SIZE),
        ] {
            if p.file.section(s)?.len() != count * size {
                return Err(format!("section {s} does not hold {count} points"));
            }
        }
        if p.is_prepared() {
            let total = (1usize << (power + 1)) - 1;
            for (s, count, size) in [
                (LAGRANGE_G1, 2 * total + 1, G1_SIZE),
                (LAGRANGE_G2, total, G2_SIZE),
                (LAGRANGE_ALPHA_G1, total, G1_SIZE),
                (LAGRANGE_BETA_G1, total, G1_SIZE),
            ] {
                if p.file.section(s)?.len() != count * size {
                    return Err(format!("section {s} does not hold {count} points"));
                }
            }
        }
        Ok(p)
    }

    /// Reads a `.ptau` file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let f = BinFile::read(path, b"ptau", 1)?;
        Ptau::from_bin(f).map_err(|reason| FileError::Format {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        self.file.write(path)
    }

    /// The container.
    pub fn bin(&self) -> &BinFile {
        &self.file
    }

    /// Whether the Lagrange sections (12-15) are present.
    pub fn is_prepared(&self) -> bool {
        [
            LAGRANGE_G1,
            LAGRANGE_G2,
            LAGRANGE_ALPHA_G1,
            LAGRANGE_BETA_G1,
        ]
        .iter()
        .all(|s| self.file.has(*s))
    }

    /// Raw LEM bytes of points `start..start + n` of G1 section `s`.
    pub fn g1_bytes(&self, s: u32, start: usize, n: usize) -> Result<&[u8], String> {
        let sec = self.file.section(s)?;
        sec.get(start * G1_SIZE..(start + n) * G1_SIZE)
            .ok_or_else(|| format!("section {s} has fewer than {} points", start + n))
    }

    /// Raw LEM bytes of points `start..start + n` of G2 section `s`.
    pub fn g2_bytes(&self, s: u32, start: usize, n: usize) -> Result<&[u8], String> {
        let sec = self.file.section(s)?;
        sec.get(start * G2_SIZE..(start + n) * G2_SIZE)
            .ok_or_else(|| format!("section {s} has fewer than {} points", start + n))
    }

    /// Points `start..start + n` of G1 section `s`, decoded (on-curve checked).
    pub fn g1(&self, s: u32, start: usize, n: usize) -> Result<Vec<G1Affine>, String> {
        decode_g1s(self.g1_bytes(s, start, n)?)
    }

    /// Points `start..start + n` of G2 section `s`, decoded (on-curve checked).
    pub fn g2(&self, s: u32, start: usize, n: usize) -> Result<Vec<G2Affine>, String> {
        decode_g2s(self.g2_bytes(s, start, n)?)
    }
}

/// Decodes LEM G1 points in parallel.
pub fn decode_g1s(bytes: &[u8]) -> Result<Vec<G1Affine>, String> {
    use rayon::prelude::*;
    bytes
        .par_chunks(G1_SIZE)
        .map(|c| g1_from_lem(c, "a G1 point").map_err(|e| e.to_string()))
        .collect()
}

/// Decodes LEM G2 points in parallel (on-curve checked, not subgroup checked).
pub fn decode_g2s(bytes: &[u8]) -> Result<Vec<G2Affine>, String> {
    use rayon::prelude::*;
    bytes
        .par_chunks(G2_SIZE)
        .map(|c| g2_from_lem(c, "a G2 point", false).map_err(|e| e.to_string()))
        .collect()
}
