//! Fixed-base scalar multiplication: windowed, table lookups as linear combinations of
//! bit monomials, incomplete Montgomery additions inside segments, complete Edwards
//! additions between segments.
//!
//! # Soundness of the incomplete additions
//!
//! The bits are split into segments of at most `S` bits (`S = 249` for 3-bit windows,
//! 248 for 4-bit) and each segment into windows of `w` bits. Within segment `s`, window
//! `j` starting at bit `t_j` (relative to the segment) with digit `d_j < 2^{w_j}` looks
//! up `T_j = (d_j + 2) 2^{t_j} B_s`, with `B_s = 2^{S s} B`. The accumulator after
//! window `j - 1` is `A = a B_s` with `a = sum_{i<j} (d_i + 2) 2^{t_i}`; all earlier
//! windows are full width, so `0 < a <= (2^w + 1)(2^{t_j} - 1)/(2^w - 1) < 2 * 2^{t_j}`
//! (as `w >= 2`), while `c = (d_j + 2) 2^{t_j} >= 2 * 2^{t_j}`: `a < c`. Both stay
//! below `a + c <= (2^w + 1)/(2^w - 1) 2^S <= 9/7 * 2^249 < l`. So `a != c` and
//! `a + c != 0 (mod l)`: `A != +-T_j`, and neither `A`, `T_j` nor `A + T_j` is the
//! identity. Incomplete addition with `u_A != u_T` has a unique satisfying `lambda`,
//! and for any assignment of boolean bits the segment value is exactly
//! `sum_j T_j`. Segments are converted to Edwards and summed with complete additions,
//! and the constant offset `sum_j 2 * 2^{t_j + S s} B` is removed with one complete
//! addition of a constant (the result may be the identity, e.g. for `k = 0`).
//!
//! A last segment of a single window (251 bits: `249 + 2` with 3-bit windows, `248 + 3`
//! with 4-bit) is not a Montgomery segment: its table `d 2^t B - offset B`, in Edwards
//! coordinates, is looked up (linear in the window's monomials, so exact for any bits)
//! and added to the earlier segments' sum with one complete addition, which has no
//! exceptional case. That replaces a conversion (2), a segment addition (6) and the
//! offset's addition (3) by one addition (6): 5 constraints fewer per base.
//!
//! # Cost
//!
//! Single base ([`fixed_base_mul`], 3-bit windows): per window 1 shared product
//! `b0 b1`, 1 per coordinate for the top bit, 3 per addition; 253 bits: 514, 251 bits:
//! 504.
//! Many bases ([`fixed_base_mul_many`]): per window the `2^w - w - 1` monomials of
//! degree >= 2 in its bits (4 for 3-bit windows, 11 for 4-bit), shared by every base,
//! then per base only the 3-constraint addition (lookups are linear). Bit booleanity is
//! the caller's (`Boolean` variables).

use super::{bit_fp, lin_comb, mont::MontVar, PointVar};
use crate::babyjubjub::{Point, ProjectivePoint, Scalar};
use crate::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{AdditiveGroup, Field, Zero};
use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar, fields::FieldVar, GR1CSVar};
use ark_relations::gr1cs::SynthesisError;

/// How a window's table lookup is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// Monomials of the two low bits (1 product), then one product per coordinate with
    /// the top bit: cheapest for one base (circomlib's `MultiMux3`).
    TopBitMux,
    /// All monomials of the window's bits (`2^w - w - 1` products), shared by every
    /// base; each coordinate is then a linear combination: cheapest for many bases.
    Monomials,
}

/// One window's bits and their shared products.
struct WindowBits {
    /// `mono[m]` = product of the bits in mask `m` over the low `k` bits (`mono[0] = 1`).
    mono: Vec<FpVar<Fr>>,
    /// The top bit, when the lookup multiplexes on it.
    top: Option<FpVar<Fr>>,
}

impl WindowBits {
    fn new(bits: &[Boolean<Fr>], mode: Lookup) -> Self {
        let (low, top) = if mode == Lookup::TopBitMux && bits.len() == 3 {
            (&bits[..2], Some(bit_fp(&bits[2])))
        } else {
            (bits, None)
        };
        let mut mono = vec![FpVar::one()];
        for b in low {
            let b = bit_fp(b);
            let len = mono.len();
            for m in 0..len {
                let next = if m == 0 { b.clone() } else { &mono[m] * &b };
                mono.push(next);
            }
        }
        Self { mono, top }
    }

    /// `table[d]` for the digit `d` the bits spell, as a linear combination of the
    /// monomials (Moebius inversion of the table over the subset lattice), plus one
    /// product when multiplexing on the top bit.
    fn lookup(&self, table: &[Fr]) -> FpVar<Fr> {
        let eval = |c: &[Fr]| {
            debug_assert_eq!(c.len(), self.mono.len());
            let mut a = c.to_vec();
            let mut bit = 1;
            while bit < a.len() {
                for m in 0..a.len() {
                    if m & bit != 0 {
                        a[m] = a[m] - a[m ^ bit];
                    }
                }
                bit <<= 1;
            }
            let terms: Vec<(Fr, &FpVar<Fr>)> = a.iter().copied().zip(self.mono.iter()).collect();
            lin_comb(Fr::zero(), &terms)
        };
        match &self.top {
            None => eval(table),
            Some(t) => {
                let half = table.len() / 2;
                let lo = eval(&table[..half]);
                let hi = eval(&table[half..]);
                &lo + &(t * &(&hi - &lo))
            }
        }
    }
}

/// `k * base` for the integer `k` spelled by `bits` (little-endian, any length; `k >= l`
/// wraps mod l). 3-bit windows; 514 constraints for 253 variable bits.
///
/// Panics if `base` is not in the prime-order subgroup (a circuit-definition error).
pub fn fixed_base_mul(base: &Point, bits: &[Boolean<Fr>]) -> Result<PointVar, SynthesisError> {
    Ok(windowed(&[*base], bits, 3, Lookup::TopBitMux)?.remove(0))
}

/// `k * base_i` for every base, sharing `bits`' window monomials: for 253 bits, 3-bit
/// windows for up to 6 bases (about 255 per base plus 340 shared), 4-bit windows
/// beyond (about 200 per base plus about 700 shared).
///
/// Panics if a base is not in the prime-order subgroup.
pub fn fixed_base_mul_many(
    bases: &[Point],
    bits: &[Boolean<Fr>],
) -> Result<Vec<PointVar>, SynthesisError> {
    // Per 3-bit window: TopBitMux costs 1 shared + 5 per base; Monomials 4 shared + 3
    // per base. Per 4-bit window: Monomials 11 shared + 3 per base. Cheapest by count:
    match bases.len() {
        0 | 1 => windowed(bases, bits, 3, Lookup::TopBitMux),
        2..=6 => windowed(bases, bits, 3, Lookup::Monomials),
        _ => windowed(bases, bits, 4, Lookup::Monomials),
    }
}

fn windowed(
    bases: &[Point],
    bits: &[Boolean<Fr>],
    w: usize,
    mode: Lookup,
) -> Result<Vec<PointVar>, SynthesisError> {
    assert!((2..=4).contains(&w));
    for b in bases {
        assert!(
            b.is_on_curve() && b.is_in_correct_subgroup_assuming_on_curve(),
            "fixed base outside the prime-order subgroup"
        );
    }
    if bits.iter().all(|b| b.is_constant()) {
        let k = super::bits::bits_value(bits)?;
        return Ok(bases
            .iter()
            .map(|b| PointVar::constant(crate::babyjubjub::mul_biguint(b, &k)))
            .collect());
    }
    // Segment length: see the module documentation for the bound.
    let seg_bits = (249 / w) * w;
    let mut results: Vec<Option<PointVar>> = vec![None; bases.len()];
    let mut offset = Scalar::zero();
    // steps[bi] = 2^t B_bi for the current window's first bit t, advanced by doublings
    // (the windows are contiguous across segments: seg_bits is a multiple of w).
    let mut steps: Vec<ProjectivePoint> = bases.iter().map(|b| b.into_group()).collect();
    let mut t = 0u64;
    let segments: Vec<&[Boolean<Fr>]> = bits.chunks(seg_bits).collect();
    for (si, seg) in segments.iter().enumerate() {
        if si > 0 && si + 1 == segments.len() && seg.len() <= w {
            // A last segment of one window (251 bits: 249 + 2 with 3-bit windows,
            // 248 + 3 with 4-bit): its table, in Edwards form and with the offset of the
            // earlier segments folded in, is added to their sum with one complete
            // addition, in place of a Montgomery conversion, a segment addition and the
            // offset's addition.
            let wb = WindowBits::new(seg, mode);
            return bases
                .iter()
                .zip(steps.iter())
                .zip(results)
                .map(|((base, step), r)| {
                    let Some(r) = r else {
                        return Ok(PointVar::identity()); // the identity as base
                    };
                    // d 2^t B - offset B for d in 0 .. 2^width
                    let mut cur = *base * -offset;
                    let mut pts = Vec::with_capacity(1 << seg.len());
                    for _ in 0..(1usize << seg.len()) {
                        pts.push(cur.into_affine());
                        cur += step;
                    }
                    let xs: Vec<Fr> = pts.iter().map(|p| p.x).collect();
                    let ys: Vec<Fr> = pts.iter().map(|p| p.y).collect();
                    r.add(&PointVar::new_unchecked(wb.lookup(&xs), wb.lookup(&ys)))
                })
                .collect();
        }
        let mut accs: Vec<Option<MontVar>> = vec![None; bases.len()];
        for win in seg.chunks(w) {
            let two_t = Scalar::from(2u64).pow([t]);
            offset += two_t.double();
            let wb = WindowBits::new(win, mode);
            for (bi, base) in bases.iter().enumerate() {
                if base.is_zero() {
                    continue;
                }
                // (d + 2) 2^t B for d in 0 .. 2^width
                let step = steps[bi];
                let mut cur = step.double();
                let mut pts = Vec::with_capacity(1 << win.len());
                for _ in 0..(1usize << win.len()) {
                    pts.push(cur);
                    cur += step;
                }
                let (us, vs) = to_mont_batch(&pts);
                let entry = MontVar {
                    u: wb.lookup(&us),
                    v: wb.lookup(&vs),
                };
                accs[bi] = Some(match accs[bi].take() {
                    None => entry,
                    Some(acc) => acc.add_incomplete(&entry)?,
                });
            }
            for step in steps.iter_mut() {
                for _ in 0..win.len() {
                    step.double_in_place();
                }
            }
            t += win.len() as u64;
        }
        for (bi, acc) in accs.into_iter().enumerate() {
            let Some(acc) = acc else { continue };
            let e = acc.to_edwards()?;
            results[bi] = Some(match results[bi].take() {
                None => e,
                Some(r) => r.add(&e)?,
            });
        }
    }
    bases
        .iter()
        .zip(results)
        .map(|(base, r)| match r {
            None => Ok(PointVar::identity()),
            Some(r) => r.add(&PointVar::constant((*base * -offset).into_affine())),
        })
        .collect()
}

/// Montgomery coordinates of many non-identity points with two field inversions
/// (serial batch inversions: one inversion per point made the tables most of the
/// synthesis time, and rayon's parallel batch inversion costs more than it saves on a
/// window's 8 or 16 points).
fn to_mont_batch(points: &[ProjectivePoint]) -> (Vec<Fr>, Vec<Fr>) {
    let mut zs: Vec<Fr> = points.iter().map(|p| p.z).collect();
    ark_ff::serial_batch_inversion_and_mul(&mut zs, &Fr::ONE);
    let affine: Vec<(Fr, Fr)> = points
        .iter()
        .zip(&zs)
        .map(|(p, zi)| (p.x * zi, p.y * zi))
        .collect();
    // u = (1 + y) / (1 - y), v = u / x
    let mut dens: Vec<Fr> = affine.iter().map(|(_, y)| Fr::ONE - y).collect();
    dens.extend(affine.iter().map(|(x, _)| *x));
    ark_ff::serial_batch_inversion_and_mul(&mut dens, &Fr::ONE);
    let n = points.len();
    let us: Vec<Fr> = affine
        .iter()
        .zip(&dens[..n])
        .map(|((_, y), inv)| (Fr::ONE + y) * inv)
        .collect();
    let vs = us.iter().zip(&dens[n..]).map(|(u, inv)| *u * inv).collect();
    (us, vs)
}
