//! The optimised native permutation: the same function as the textbook rounds of
//! [`super::hash_reference`], with the partial rounds' dense MDS products replaced by
//! sparse ones (Poseidon paper, eprint 2019/458, Appendix B; the form of neptune and of
//! circomlibjs' `poseidon_opt.js`).
//!
//! Everything is derived here, once per width, from the textbook constants `C` and `M`
//! (column convention, `state' = M * state`); nothing new is embedded.
//!
//! # Round constants
//!
//! A textbook round is `x <- M * sbox(x + c_r)`. Writing `c_{r+1} = M * (M^-1 c_{r+1})`,
//! round `r`'s successor's constants move before round `r`'s product as
//! `k_r = M^-1 c_{r+1}`: after the first `c_0`, a round is `x <- M * (sbox(x) + k_r)`,
//! and the last round has none. In a partial round the S-box leaves elements `1..t`
//! alone, so those elements of `k_r` can move before the S-box, and through the previous
//! round's `M` as `M^-1 (0, k_r[1..])`, into `k_{r-1}`. Done from the last partial round
//! back to the first, each partial round keeps one scalar constant (on `state[0]`) and
//! the last full round before them takes the accumulated rest.
//!
//! # Matrices
//!
//! Split `M = [[m00, w^T], [v, M^]]` (`M^` the lower-right `(t-1) x (t-1)` block). For
//! any `A = [[m00, w^T], [v', X]]` with `X` invertible, `A = S * D` with
//! `D = diag(1, X)` and the sparse `S = [[m00, w^T X^-1], [v', I]]`. `D` commutes with a
//! partial round's S-box and scalar constant (neither touches elements `1..t` and `D`
//! does not mix element 0 with them), so `D` moves to the previous round's product,
//! `D * M`, which has the same shape and is split again. From the last partial round
//! back: `X_j = M^^(R_P - j)` for partial round `j`, whose sparse matrix is
//! `S_j = [[m00, (X_j^-T w)^T], [M^^(R_P - 1 - j) v, I]]`, and the last full round before
//! the partial rounds multiplies by `P = diag(1, M^^R_P) * M`.
//!
//! A partial round then costs `2t - 1` multiplications instead of `t^2`.
//!
//! The layouts are circomlibjs' (`poseidon_constants_opt.json`): `c` holds `t`
//! constants, then `t` per full round of the first half (the last of them before `P`),
//! one per partial round, then `t` per full round of the second half but its last;
//! each `S_j` is `2t - 1` values, the row `(m00, w')` then the column `v'` below `m00`.
//! A test checks every derived value against that file when `node_modules` holds it.

use super::{Params, ROUNDS_F};
use crate::Fr;
use ark_ff::{AdditiveGroup, Field, Zero};

/// Half the full rounds: run before the partial rounds, and after them.
const HALF_F: usize = ROUNDS_F / 2;

/// The optimised constants of one width.
#[derive(Debug)]
pub(crate) struct Optimised {
    /// State width.
    pub(crate) t: usize,
    /// Number of partial rounds.
    pub(crate) rounds_p: usize,
    /// Round constants, `8t + R_P` of them (layout in the module documentation).
    pub(crate) c: Vec<Fr>,
    /// The textbook MDS matrix, row-major (`state'[i] = sum_j m[i * t + j] * state[j]`).
    pub(crate) m: Vec<Fr>,
    /// The matrix of the last full round before the partial rounds, row-major.
    pub(crate) p: Vec<Fr>,
    /// The sparse matrices, `2t - 1` values per partial round.
    pub(crate) s: Vec<Fr>,
}

/// `a` (`n x n`, row-major) inverted by Gauss-Jordan elimination; `None` if singular.
fn invert(a: &[Fr], n: usize) -> Option<Vec<Fr>> {
    let mut a = a.to_vec();
    let mut inv = vec![Fr::ZERO; n * n];
    for i in 0..n {
        inv[i * n + i] = Fr::ONE;
    }
    for col in 0..n {
        let pivot = (col..n).find(|&r| !a[r * n + col].is_zero())?;
        if pivot != col {
            for j in 0..n {
                a.swap(pivot * n + j, col * n + j);
                inv.swap(pivot * n + j, col * n + j);
            }
        }
        let scale = a[col * n + col].inverse()?;
        for j in 0..n {
            a[col * n + j] *= scale;
            inv[col * n + j] *= scale;
        }
        for r in 0..n {
            let f = a[r * n + col];
            if r == col || f.is_zero() {
                continue;
            }
            for j in 0..n {
                let (ac, ic) = (a[col * n + j], inv[col * n + j]);
                a[r * n + j] -= f * ac;
                inv[r * n + j] -= f * ic;
            }
        }
    }
    Some(inv)
}

/// `a * b` for `a` (`rows x inner`) and `b` (`inner x cols`), row-major.
fn mat_mul(a: &[Fr], b: &[Fr], rows: usize, inner: usize, cols: usize) -> Vec<Fr> {
    let mut out = vec![Fr::ZERO; rows * cols];
    for i in 0..rows {
        for k in 0..inner {
            let aik = a[i * inner + k];
            for j in 0..cols {
                out[i * cols + j] += aik * b[k * cols + j];
            }
        }
    }
    out
}

/// `a * x` for `a` (`rows x cols`, row-major).
fn mat_vec(a: &[Fr], x: &[Fr], rows: usize, cols: usize) -> Vec<Fr> {
    (0..rows)
        .map(|i| {
            a[i * cols..(i + 1) * cols]
                .iter()
                .zip(x)
                .map(|(a, x)| *a * x)
                .sum()
        })
        .collect()
}

/// `a^T` for `a` (`n x n`, row-major).
fn transpose(a: &[Fr], n: usize) -> Vec<Fr> {
    (0..n * n).map(|k| a[(k % n) * n + k / n]).collect()
}

/// `a^e` for `a` (`n x n`, row-major), by squaring.
fn mat_pow(a: &[Fr], n: usize, mut e: usize) -> Vec<Fr> {
    let mut result: Vec<Fr> = (0..n * n)
        .map(|k| if k / n == k % n { Fr::ONE } else { Fr::ZERO })
        .collect();
    let mut base = a.to_vec();
    while e > 0 {
        if e & 1 == 1 {
            result = mat_mul(&result, &base, n, n, n);
        }
        e >>= 1;
        if e > 0 {
            base = mat_mul(&base, &base, n, n, n);
        }
    }
    result
}

impl Optimised {
    /// Derives the optimised constants from the textbook ones (see the module
    /// documentation). Panics if `M` or its lower-right block is singular, which an MDS
    /// matrix's is not (every width is exercised by the tests).
    pub(crate) fn derive(params: &Params) -> Self {
        let t = params.t;
        let rounds_p = params.rounds_p;
        let rounds = params.rounds();
        let m = &params.m;
        let m_inv = invert(m, t).expect("poseidon: the MDS matrix is invertible");

        // k_r = M^-1 c_{r+1} for r = 0 .. rounds - 2; then the partial rounds' elements
        // 1..t are pushed back, last partial round first.
        let mut k: Vec<Vec<Fr>> = (0..rounds - 1)
            .map(|r| mat_vec(&m_inv, params.round_constants(r + 1), t, t))
            .collect();
        for r in (HALF_F..HALF_F + rounds_p).rev() {
            let mut rest = std::mem::take(&mut k[r]);
            let scalar = std::mem::replace(&mut rest[0], Fr::ZERO);
            let back = mat_vec(&m_inv, &rest, t, t);
            for (a, b) in k[r - 1].iter_mut().zip(back) {
                *a += b;
            }
            k[r] = vec![scalar];
        }
        let c: Vec<Fr> = params
            .round_constants(0)
            .iter()
            .chain(k.iter().flatten())
            .copied()
            .collect();
        debug_assert_eq!(c.len(), ROUNDS_F * t + rounds_p);

        // M = [[m00, w^T], [v, M^]].
        let n = t - 1;
        let m00 = m[0];
        let w = &m[1..t];
        let v: Vec<Fr> = (1..t).map(|i| m[i * t]).collect();
        let m_hat: Vec<Fr> = (1..t)
            .flat_map(|i| m[i * t + 1..(i + 1) * t].iter().copied())
            .collect();
        let m_hat_inv_t = transpose(
            &invert(&m_hat, n).expect("poseidon: the MDS matrix's lower-right block is invertible"),
            n,
        );

        // S_j, from the last partial round back: w'_j = (M^^-T)^(R_P - j) w and
        // v'_j = M^^(R_P - 1 - j) v.
        let mut s = vec![Fr::ZERO; rounds_p * (2 * t - 1)];
        let mut w_j = w.to_vec();
        let mut v_j = v.clone();
        for j in (0..rounds_p).rev() {
            w_j = mat_vec(&m_hat_inv_t, &w_j, n, n);
            let sj = &mut s[j * (2 * t - 1)..(j + 1) * (2 * t - 1)];
            sj[0] = m00;
            sj[1..t].copy_from_slice(&w_j);
            sj[t..].copy_from_slice(&v_j);
            v_j = mat_vec(&m_hat, &v_j, n, n);
        }

        // P = diag(1, M^^R_P) * M.
        let lower = mat_mul(&mat_pow(&m_hat, n, rounds_p), &m[t..], n, n, t);
        let p: Vec<Fr> = m[..t].iter().chain(&lower).copied().collect();

        Self {
            t,
            rounds_p,
            c,
            m: m.clone(),
            p,
            s,
        }
    }
}

/// `x^5`.
#[inline(always)]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// `out = a * state` for `a` (`T x T`, row-major).
#[inline(always)]
fn mix<const T: usize>(a: &[Fr], state: &[Fr; T]) -> [Fr; T] {
    let mut out = [Fr::ZERO; T];
    for (o, row) in out.iter_mut().zip(a.chunks_exact(T)) {
        *o = dot(row, state);
    }
    out
}

/// `sum_j row[j] * state[j]`, with one modular reduction per three products.
#[inline(always)]
fn dot<const T: usize>(row: &[Fr], state: &[Fr; T]) -> Fr {
    let row: &[Fr; T] = row.try_into().expect("a row of the width");
    Fr::sum_of_products(row, state)
}

/// The hash (`state[0]` after the permutation) of `state = [0, inputs...]`, `T` the
/// width. `inputs.len() == T - 1` and `o.t == T`.
pub(crate) fn hash<const T: usize>(o: &Optimised, inputs: &[Fr]) -> Fr {
    debug_assert_eq!(o.t, T);
    let mut state = [Fr::ZERO; T];
    state[1..].copy_from_slice(inputs);
    let (c0, mut c) = o.c.split_at(T);
    for (x, k) in state.iter_mut().zip(c0) {
        *x += k;
    }
    // First half of the full rounds; the last multiplies by P.
    for r in 0..HALF_F {
        let (k, rest) = c.split_at(T);
        c = rest;
        for (x, k) in state.iter_mut().zip(k) {
            *x = sbox(*x) + k;
        }
        state = mix(if r + 1 < HALF_F { &o.m } else { &o.p }, &state);
    }
    // Partial rounds: S-box and one constant on state[0], then the sparse S_j.
    let (k, mut c) = c.split_at(o.rounds_p);
    for (k, sj) in k.iter().zip(o.s.chunks_exact(2 * T - 1)) {
        state[0] = sbox(state[0]) + k;
        let (row, col) = sj.split_at(T);
        let x0 = state[0];
        state[0] = dot(row, &state);
        for (x, v) in state[1..].iter_mut().zip(col) {
            *x += x0 * v;
        }
    }
    // Second half; the last round has no constants and only state[0] is needed.
    for _ in 0..HALF_F - 1 {
        let (k, rest) = c.split_at(T);
        c = rest;
        for (x, k) in state.iter_mut().zip(k) {
            *x = sbox(*x) + k;
        }
        state = mix(&o.m, &state);
    }
    debug_assert!(c.is_empty());
    for x in &mut state {
        *x = sbox(*x);
    }
    dot(&o.m[..T], &state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poseidon::{params, parse_hex, MAX_INPUTS};
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn invert_is_an_inverse() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for n in 1..=6 {
            let a: Vec<Fr> = (0..n * n).map(|_| Fr::rand(&mut rng)).collect();
            let id = mat_mul(&a, &invert(&a, n).unwrap(), n, n, n);
            assert_eq!(id, mat_pow(&a, n, 0), "n = {n}");
            assert_eq!(mat_pow(&a, n, 5), {
                let a2 = mat_mul(&a, &a, n, n, n);
                mat_mul(&mat_mul(&a2, &a2, n, n, n), &a, n, n, n)
            });
        }
        // A singular matrix (two equal rows) has none.
        let x = Fr::from(5u64);
        assert_eq!(invert(&[x, x, x, x], 2), None);
    }

    #[test]
    fn optimised_shapes() {
        for n in 1..=MAX_INPUTS {
            let p = params(n).unwrap();
            let o = Optimised::derive(p);
            let t = p.t;
            assert_eq!(o.c.len(), ROUNDS_F * t + p.rounds_p);
            assert_eq!(o.s.len(), p.rounds_p * (2 * t - 1));
            assert_eq!((o.m.len(), o.p.len()), (t * t, t * t));
        }
    }

    /// circomlibjs' optimised constants, when `test-vectors/node_modules` holds them
    /// (`npm ci` in `test-vectors/`), or the circomlibjs package directory named by
    /// `SEALGRID_CIRCOMLIBJS`: the derivation must reproduce every value. Their `M` and
    /// `P` are stored transposed (`state'[i] = sum_j M[j][i] state[j]`).
    #[test]
    fn optimised_constants_equal_circomlibjs_when_present() {
        let package = std::env::var_os("SEALGRID_CIRCOMLIBJS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../test-vectors/node_modules/circomlibjs")
            });
        let path = package.join("src/poseidon_constants_opt.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!(
                "skipped: {} absent (npm ci in test-vectors/)",
                path.display()
            );
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).expect("parses");
        let flat = |v: &serde_json::Value| -> Vec<Fr> {
            v.as_array()
                .expect("array")
                .iter()
                .map(|x| parse_hex(x.as_str().expect("hex string")))
                .collect()
        };
        let transposed = |v: &serde_json::Value| -> Vec<Fr> {
            let rows: Vec<Vec<Fr>> = v.as_array().expect("rows").iter().map(flat).collect();
            let t = rows.len();
            (0..t * t).map(|k| rows[k % t][k / t]).collect()
        };
        for n in 1..=MAX_INPUTS {
            let o = Optimised::derive(params(n).unwrap());
            let k = n - 1;
            assert_eq!(o.c, flat(&json["C"][k]), "C, {n} inputs");
            assert_eq!(o.s, flat(&json["S"][k]), "S, {n} inputs");
            assert_eq!(o.m, transposed(&json["M"][k]), "M, {n} inputs");
            assert_eq!(o.p, transposed(&json["P"][k]), "P, {n} inputs");
        }
    }
}
