//! The R1CS-to-QAP reduction of every sealgrid key: snarkjs's ("circom") reduction.
//!
//! Groth16's proving key holds, besides the per-variable queries, an *h-query* that the
//! prover combines with the quotient `h(x) = (a(x) b(x) - c(x)) / Z(x)`. Two conventions
//! exist for the same verifying equation:
//!
//! - arkworks' default (`LibsnarkReduction`): the h-query is `x^i Z(x) / delta` for
//!   `i < n - 1` and the prover hands it the coefficients of `h`;
//! - snarkjs's (`groth16_prove.js`, `zkey_new.js`): the h-query is `L_{2i+1}(x) / delta`
//!   for `i < n`, the Lagrange polynomials of the domain of size `2n` at its odd points,
//!   and the prover hands it `a b - c` evaluated at those points (no division by `Z`:
//!   `a b - c = h Z` vanishes on the even points, so `sum_odd (a b - c)(w^j) L_j(x)` is
//!   `h(x) Z(x)`).
//!
//! Both append the same public-input constraints: row `m + i` of `A` (for `m`
//! constraints) selects instance variable `i`, the constant one included, and `B`, `C`
//! are zero there. A key is only usable with the reduction it was made for, so the
//! project uses one everywhere: [`CircomReduction`], which makes a key from a snarkjs
//! `.zkey` (the ceremony's output) and a key from [`crate::KeyStore::setup`]
//! interchangeable, and lets snarkjs prove with either. The key store's manifest
//! records the reduction (`"reduction": "circom"`); a manifest without it predates this
//! module and is treated as stale.
//!
//! Written from the description of the reduction in snarkjs's sources, not from
//! ark-circom's code.

use ark_ff::{batch_inversion, PrimeField};
use ark_groth16::r1cs_to_qap::{evaluate_constraint, LibsnarkReduction, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, Matrix, SynthesisError};

/// snarkjs's reduction: the h-query over the odd points of the doubled domain.
#[derive(Clone, Copy, Debug, Default)]
pub struct CircomReduction;

/// Groth16 over BN254 with the project's reduction.
pub type Groth16 = ark_groth16::Groth16<crate::Curve, CircomReduction>;

/// `L_j(t)` for the odd `j = 2i + 1 < 2n` of the domain of size `2n`, `i < n`, each times
/// `scale`: the scalars of a zkey's h-query (`scale` = `1 / delta`).
///
/// `L_j(t) = (t^{2n} - 1) w^j / (2n (t - w^j))` with `w` the domain's generator. `t` must
/// lie outside the domain (the setup samples it so).
pub fn odd_lagrange_scalars<F: PrimeField, D: EvaluationDomain<F>>(
    n: usize,
    t: F,
    scale: F,
) -> Result<Vec<F>, SynthesisError> {
    let big = D::new(2 * n).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    if big.size() != 2 * n {
        return Err(SynthesisError::PolynomialDegreeTooLarge);
    }
    let w = big.group_gen();
    let w2 = w.square();
    let m = F::from(big.size() as u64);
    let common = (t.pow([big.size() as u64]) - F::one())
        * m.inverse().ok_or(SynthesisError::DivisionByZero)?
        * scale;
    let mut points = Vec::with_capacity(n);
    let mut wj = w;
    for _ in 0..n {
        points.push(wj);
        wj *= w2;
    }
    let mut denominators: Vec<F> = points.iter().map(|wj| t - wj).collect();
    if denominators.iter().any(|d| d.is_zero()) {
        return Err(SynthesisError::DivisionByZero);
    }
    batch_inversion(&mut denominators);
    Ok(points
        .iter()
        .zip(denominators)
        .map(|(wj, inv)| common * wj * inv)
        .collect())
}

impl R1CSToQAP for CircomReduction {
    #[allow(clippy::type_complexity)]
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        // The per-variable polynomials (and the public-input rows) are the same in both
        // reductions; only the h-query differs.
        LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        let domain =
            D::new(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let n = domain.size();
        let big = D::new(2 * n).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let odd = domain
            .get_coset(big.group_gen())
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;

        let row = |m: usize, len: usize| -> Vec<F> {
            let mut v = vec![F::zero(); n];
            for (i, slot) in v.iter_mut().enumerate().take(len) {
                *slot = evaluate_constraint(&matrices[m][i], full_assignment);
            }
            v
        };
        let mut a = row(0, num_constraints);
        let mut b = row(1, num_constraints);
        let mut c = row(2, num_constraints);
        // The satisfaction check, for free: `a b = c` on every constraint (the rows are
        // evaluated here anyway). Without it an unsatisfying witness would give a proof
        // no verifier accepts (ark-groth16 checks only in debug builds).
        if (0..num_constraints).any(|i| a[i] * b[i] != c[i]) {
            return Err(SynthesisError::Unsatisfiable);
        }
        a[num_constraints..num_constraints + num_inputs]
            .copy_from_slice(&full_assignment[..num_inputs]);
        for v in [&mut a, &mut b, &mut c] {
            domain.ifft_in_place(v);
            odd.fft_in_place(v);
        }
        Ok(a.iter()
            .zip(&b)
            .zip(&c)
            .map(|((a, b), c)| *a * b - c)
            .collect())
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        _zt: F,
        delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        // The generator passes the domain size minus one.
        odd_lagrange_scalars::<F, D>(max_power + 1, t, delta_inverse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One, UniformRand, Zero};
    use ark_poly::Radix2EvaluationDomain;
    use rand::SeedableRng;

    use crate::Fr;

    /// `sum_i p(w^{2i+1}) L_{2i+1}(t) = p(t)` for `p` of degree below `2n - 1` vanishing on
    /// the even points: the identity the h-query rests on.
    #[test]
    fn odd_lagrange_scalars_interpolate() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let n = 8;
        let big = Radix2EvaluationDomain::<Fr>::new(2 * n).unwrap();
        let t = Fr::rand(&mut rng);
        // p(x) = (x^n - 1) q(x), deg q = n - 2.
        let q: Vec<Fr> = (0..n - 1).map(|_| Fr::rand(&mut rng)).collect();
        let eval_q = |x: Fr| q.iter().rev().fold(Fr::zero(), |acc, c| acc * x + c);
        let p = |x: Fr| (x.pow([n as u64]) - Fr::one()) * eval_q(x);
        let l = odd_lagrange_scalars::<Fr, Radix2EvaluationDomain<Fr>>(n, t, Fr::one()).unwrap();
        let w = big.group_gen();
        let sum: Fr = (0..n).map(|i| p(w.pow([2 * i as u64 + 1])) * l[i]).sum();
        assert_eq!(sum, p(t));
    }
}
