//! Gadget twin of [`crate::poseidon`]: circomlib's Poseidon inside a BN254 R1CS.
//!
//! Cost: 3 constraints per S-box on a non-constant value (`x^2`, `x^4`, `x^5`), and
//! nothing else. ARK and MDS are linear, so the state is kept as affine forms over the
//! variables allocated so far and never gets constraints of its own; an S-box whose input
//! is a constant is computed natively. With all inputs variable that is
//! `3 * (8 * t + R_P) - 3` constraints (the `-3`: `state[0]` is a constant in the first
//! round), the same as circomlib: 213 / 240 / 261 / 297 / 321 / 354 for 1 ..= 6 inputs.
//! Constant inputs are folded; all-constant inputs give a constant and no constraint.
//!
//! Linear combinations stay flat: every state element is one affine form over the
//! *current basis* (the S-box outputs of the last full round and of the partial rounds
//! since), not a tree of `+` nodes. Each S-box input becomes exactly one symbolic
//! linear combination in the constraint system, used by two of its three constraints.
//! After a full round every element is a fresh variable (or a constant), so the basis
//! restarts there and the forms never grow beyond `t + R_P` terms.
//!
//! When the constraint system builds no matrices (a prover that synthesises the witness
//! only, `sealgrid_prover::prove`), the forms are not kept: only the values and which
//! elements are constants. That is the same decision in every mode, because the MDS
//! matrix has no zero entry and every S-box output is a fresh variable, so after a mix an
//! element is a constant exactly when every element before it was.

use super::{params, sbox, Params, MAX_WIDTH};
use crate::Fr;
use ark_ff::{AdditiveGroup, Field, Zero};
use ark_r1cs_std::{
    fields::fp::{AllocatedFp, FpVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

/// circomlib's Poseidon of 1 to 16 field-element variables, the twin of
/// [`crate::poseidon::hash`].
///
/// # Errors
///
/// [`SynthesisError::ArityMismatch`] for no inputs or more than
/// [`MAX_INPUTS`](crate::poseidon::MAX_INPUTS); otherwise whatever the constraint system
/// reports (e.g. [`SynthesisError::AssignmentMissing`] when proving without a value).
pub fn hash(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let p = params(inputs.len()).map_err(|_| SynthesisError::ArityMismatch)?;
    let cs = inputs.cs();
    let mut state = AffineState::new(p, inputs, cs.should_construct_matrices());
    for r in 0..p.rounds() {
        state.add_round_constants(p.round_constants(r));
        if p.is_full_round(r) {
            state.full_sbox(&cs)?;
        } else {
            state.partial_sbox(&cs)?;
        }
        state.mix(p);
    }
    state.output(&cs)
}

/// The Poseidon state as `t` affine forms `state[i] = rows[i] . basis + consts[i]`, with
/// the state's values alongside when they are known (not in setup mode).
struct AffineState {
    t: usize,
    /// Whether the forms are kept (`rows`, `basis`): only when the constraint system
    /// builds matrices, the only use of the forms.
    forms: bool,
    /// `variable[i]`: `state[i]` is not a constant.
    variable: [bool; MAX_WIDTH],
    /// Variables the forms range over.
    basis: Vec<Variable>,
    /// `rows[i][k]`: coefficient of `basis[k]` in `state[i]`; each row is `basis.len()`
    /// long.
    rows: Vec<Vec<Fr>>,
    consts: [Fr; MAX_WIDTH],
    values: Option<[Fr; MAX_WIDTH]>,
}

impl AffineState {
    /// `[0, inputs...]`: constant inputs go into `consts`, variable ones into the basis.
    fn new(p: &Params, inputs: &[FpVar<Fr>], forms: bool) -> Self {
        let t = p.t;
        let mut variable = [false; MAX_WIDTH];
        let mut basis = Vec::with_capacity(t + p.rounds_p);
        let mut consts = [Fr::ZERO; MAX_WIDTH];
        let mut values = Some([Fr::ZERO; MAX_WIDTH]);
        let mut var_of_row = vec![None; t];
        for (i, input) in inputs.iter().enumerate() {
            match input {
                FpVar::Constant(c) => consts[i + 1] = *c,
                FpVar::Var(a) => {
                    variable[i + 1] = true;
                    var_of_row[i + 1] = Some(basis.len());
                    basis.push(a.variable);
                }
            }
            match (input.value(), values.as_mut()) {
                (Ok(v), Some(vals)) => vals[i + 1] = v,
                _ => values = None,
            }
        }
        let rows = var_of_row
            .iter()
            .map(|col| {
                let mut row = vec![Fr::ZERO; basis.len()];
                if let Some(k) = col {
                    row[*k] = Fr::ONE;
                }
                row
            })
            .collect();
        Self {
            t,
            forms,
            variable,
            basis,
            rows,
            consts,
            values,
        }
    }

    fn add_round_constants(&mut self, c: &[Fr]) {
        for (s, c) in self.consts[..self.t].iter_mut().zip(c) {
            *s += c;
        }
        if let Some(vals) = self.values.as_mut() {
            for (v, c) in vals[..self.t].iter_mut().zip(c) {
                *v += c;
            }
        }
    }

    fn is_constant(&self, i: usize) -> bool {
        debug_assert!(
            !self.forms || self.variable[i] == self.rows[i].iter().any(|c| !c.is_zero()),
            "the constant elements follow from the forms"
        );
        !self.variable[i]
    }

    /// `state[i]` as one flat linear combination.
    fn lc(&self, i: usize) -> LinearCombination<Fr> {
        let mut terms: Vec<(Fr, Variable)> = self.rows[i]
            .iter()
            .zip(&self.basis)
            .filter(|(c, _)| !c.is_zero())
            .map(|(c, v)| (*c, *v))
            .collect();
        if !self.consts[i].is_zero() {
            terms.push((self.consts[i], Variable::One));
        }
        let mut lc = LinearCombination(terms);
        // Inputs may repeat a variable; merge equal terms.
        lc.compactify();
        lc
    }

    /// `y = x^5` for `x = state[i]`, three constraints; returns `y`'s variable.
    fn sbox_var(&self, cs: &ConstraintSystemRef<Fr>, i: usize) -> Result<Variable, SynthesisError> {
        let value = self.values.map(|v| v[i]);
        let witness =
            |f: fn(Fr) -> Fr| move || value.map(f).ok_or(SynthesisError::AssignmentMissing);
        let x = cs.new_lc(|| self.lc(i))?;
        let x2 = cs.new_witness_variable(witness(|x| x.square()))?;
        let x4 = cs.new_witness_variable(witness(|x| x.square().square()))?;
        let y = cs.new_witness_variable(witness(sbox))?;
        cs.enforce_r1cs_constraint(|| x.into(), || x.into(), || x2.into())?;
        cs.enforce_r1cs_constraint(|| x2.into(), || x2.into(), || x4.into())?;
        cs.enforce_r1cs_constraint(|| x4.into(), || x.into(), || y.into())?;
        Ok(y)
    }

    /// S-box on every element; afterwards each element is a fresh variable or a
    /// constant, so the basis restarts with the fresh variables.
    fn full_sbox(&mut self, cs: &ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let mut fresh = vec![None; self.t];
        for (i, f) in fresh.iter_mut().enumerate() {
            if self.is_constant(i) {
                self.consts[i] = sbox(self.consts[i]);
            } else {
                *f = Some(self.sbox_var(cs, i)?);
            }
        }
        self.basis.clear();
        for (i, f) in fresh.iter().enumerate() {
            if let Some(y) = f {
                self.basis.push(*y);
                self.consts[i] = Fr::ZERO;
            }
        }
        if self.forms {
            let mut k = 0;
            for (row, f) in self.rows.iter_mut().zip(&fresh) {
                row.clear();
                row.resize(self.basis.len(), Fr::ZERO);
                if f.is_some() {
                    row[k] = Fr::ONE;
                    k += 1;
                }
            }
        }
        self.sbox_values(self.t);
        Ok(())
    }

    /// S-box on `state[0]` only; its output joins the basis.
    fn partial_sbox(&mut self, cs: &ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        if self.is_constant(0) {
            self.consts[0] = sbox(self.consts[0]);
        } else {
            let y = self.sbox_var(cs, 0)?;
            self.basis.push(y);
            if self.forms {
                for row in &mut self.rows {
                    row.push(Fr::ZERO);
                }
                let row0 = &mut self.rows[0];
                row0.iter_mut().for_each(|c| *c = Fr::ZERO);
                *row0.last_mut().expect("basis is not empty") = Fr::ONE;
            }
            self.consts[0] = Fr::ZERO;
        }
        self.sbox_values(1);
        Ok(())
    }

    fn sbox_values(&mut self, count: usize) {
        if let Some(vals) = self.values.as_mut() {
            for v in &mut vals[..count] {
                *v = sbox(*v);
            }
        }
    }

    /// The MDS layer, applied to the forms (and values): linear, no constraint.
    fn mix(&mut self, p: &Params) {
        let t = self.t;
        let len = self.basis.len();
        let mut consts = [Fr::ZERO; MAX_WIDTH];
        if self.forms {
            let mut rows = vec![vec![Fr::ZERO; len]; t];
            for (i, out) in rows.iter_mut().enumerate() {
                for (m, row) in p.mds_row(i).iter().zip(&self.rows) {
                    for (o, x) in out.iter_mut().zip(row) {
                        if !x.is_zero() {
                            *o += *m * x;
                        }
                    }
                }
            }
            self.rows = rows;
        }
        for (i, out_c) in consts[..t].iter_mut().enumerate() {
            for (m, c) in p.mds_row(i).iter().zip(&self.consts) {
                *out_c += *m * c;
            }
        }
        self.consts = consts;
        // No MDS entry is zero: an element mixes in every element.
        let any = self.variable[..t].iter().any(|v| *v);
        self.variable[..t].iter_mut().for_each(|v| *v = any);
        if let Some(vals) = self.values.as_mut() {
            let old = *vals;
            for (i, v) in vals[..t].iter_mut().enumerate() {
                *v = p
                    .mds_row(i)
                    .iter()
                    .zip(&old[..t])
                    .map(|(m, s)| *m * s)
                    .sum();
            }
        }
    }

    /// `state[0]`: a constant, or one linear combination (no constraint).
    fn output(&self, cs: &ConstraintSystemRef<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        if self.is_constant(0) {
            return Ok(FpVar::Constant(self.consts[0]));
        }
        let variable = cs.new_lc(|| self.lc(0))?;
        Ok(FpVar::Var(AllocatedFp::new(
            self.values.map(|v| v[0]),
            variable,
            cs.clone(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget_test::{fps, matches_native, MODES};
    use crate::poseidon::{self, test_util::Tamper, MAX_INPUTS};
    use ark_ff::UniformRand;
    use ark_r1cs_std::{alloc::AllocationMode, prelude::*};
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use proptest::prelude::*;
    use rand::SeedableRng;

    /// circomlib's constraint count for `n` variable inputs.
    fn circomlib_count(n: usize) -> usize {
        let p = params(n).unwrap();
        3 * (8 * p.t + p.rounds_p) - 3
    }

    #[test]
    fn gadget_equals_native_every_arity_and_mode() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for n in 1..=MAX_INPUTS {
            let xs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let expected = poseidon::hash(&xs).unwrap();
            for mode in MODES {
                let (cs, h) = matches_native(mode, expected, &format!("n = {n}"), |cs, mode| {
                    hash(&fps(cs, &xs, mode)).unwrap()
                });
                if mode == AllocationMode::Constant {
                    assert!(h.is_constant());
                    assert_eq!(cs.num_constraints(), 0);
                } else {
                    assert_eq!(cs.num_constraints(), circomlib_count(n), "n = {n}");
                }
            }
        }
    }

    #[test]
    fn gadget_matches_circomlib_counts() {
        let counts: Vec<usize> = (1..=6).map(circomlib_count).collect();
        assert_eq!(counts, [213, 240, 261, 297, 321, 354]);
    }

    #[test]
    fn gadget_mixed_constant_and_variable_inputs() {
        let xs: Vec<Fr> = (1..=4u64).map(Fr::from).collect();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars = vec![
            FpVar::new_witness(cs.clone(), || Ok(xs[0])).unwrap(),
            FpVar::Constant(xs[1]),
            FpVar::new_input(cs.clone(), || Ok(xs[2])).unwrap(),
            FpVar::Constant(xs[3]),
        ];
        let h = hash(&vars).unwrap();
        assert_eq!(h.value().unwrap(), poseidon::hash(&xs).unwrap());
        assert!(cs.is_satisfied().unwrap());
        // The two constant inputs make two more first-round S-boxes constant; from the
        // first MDS layer on every element depends on a variable.
        assert_eq!(cs.num_constraints(), circomlib_count(4) - 2 * 3);
    }

    #[test]
    fn gadget_repeated_input_variable() {
        let x = Fr::from(42u64);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = FpVar::new_witness(cs.clone(), || Ok(x)).unwrap();
        let h = hash(&[v.clone(), v.clone(), v]).unwrap();
        assert_eq!(h.value().unwrap(), poseidon::hash(&[x, x, x]).unwrap());
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn gadget_input_from_linear_combination() {
        let (a, b) = (Fr::from(5u64), Fr::from(9u64));
        let cs = ConstraintSystem::<Fr>::new_ref();
        let va = FpVar::new_witness(cs.clone(), || Ok(a)).unwrap();
        let vb = FpVar::new_witness(cs.clone(), || Ok(b)).unwrap();
        let h = hash(&[&va + &vb, &va * Fr::from(3u64)]).unwrap();
        assert_eq!(
            h.value().unwrap(),
            poseidon::hash(&[a + b, a * Fr::from(3u64)]).unwrap()
        );
        assert!(cs.is_satisfied().unwrap());
    }

    /// A prover that builds no matrices (witness only) gets the same assignment as one
    /// that does, for every arity, with constant, repeated and variable inputs: the
    /// gadget decides which elements are constants without the forms.
    #[test]
    fn the_witness_only_synthesis_assigns_the_same_variables() {
        let assignment = |construct_matrices: bool, n: usize| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            cs.set_mode(SynthesisMode::Prove {
                construct_matrices,
                generate_lc_assignments: false,
            });
            let xs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(7 + i)).collect();
            let vars: Vec<FpVar<Fr>> = xs
                .iter()
                .enumerate()
                .map(|(i, x)| match i % 3 {
                    0 => FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap(),
                    1 => FpVar::Constant(*x),
                    _ => FpVar::new_input(cs.clone(), || Ok(*x)).unwrap(),
                })
                .collect();
            let mut inputs = vars.clone();
            if n > 2 {
                // A repeated variable.
                inputs[n - 1] = vars[0].clone();
            }
            let h = hash(&inputs).unwrap();
            let value = h.value().unwrap();
            (
                cs.instance_assignment().unwrap(),
                cs.witness_assignment().unwrap(),
                value,
            )
        };
        for n in 1..=MAX_INPUTS {
            let full = assignment(true, n);
            assert!(!full.1.is_empty() || n == 1, "n = {n}");
            assert_eq!(assignment(false, n), full, "n = {n}");
        }
    }

    /// The witness-only path rests on this: an element after a mix is a constant exactly
    /// when all elements before it were.
    #[test]
    fn no_mds_entry_is_zero() {
        for n in 1..=MAX_INPUTS {
            let p = params(n).unwrap();
            for i in 0..p.t {
                assert!(
                    p.mds_row(i).iter().all(|m| !m.is_zero()),
                    "n = {n}, row {i}"
                );
            }
        }
    }

    #[test]
    fn gadget_rejects_bad_arity() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = FpVar::new_witness(cs.clone(), || Ok(Fr::ONE)).unwrap();
        assert_eq!(hash(&[]).unwrap_err(), SynthesisError::ArityMismatch);
        let many = vec![v; MAX_INPUTS + 1];
        assert_eq!(hash(&many).unwrap_err(), SynthesisError::ArityMismatch);
    }

    #[test]
    fn gadget_setup_mode_has_the_same_shape() {
        for n in [1, 2, 5, 16] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            cs.set_mode(SynthesisMode::Setup);
            let vars: Vec<FpVar<Fr>> = (0..n)
                .map(|_| {
                    FpVar::new_witness(cs.clone(), || -> Result<Fr, _> { unreachable!() }).unwrap()
                })
                .collect();
            let h = hash(&vars).unwrap();
            assert!(h.value().is_err());
            assert_eq!(cs.num_constraints(), circomlib_count(n));
        }
    }

    #[test]
    fn wrong_claimed_output_is_unsatisfied() {
        for n in [1, 2, 3, 16] {
            let xs: Vec<Fr> = (0..n as u64).map(Fr::from).collect();
            let expected = poseidon::hash(&xs).unwrap();
            for (claim, ok) in [(expected, true), (expected + Fr::ONE, false)] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let vars = fps(&cs, &xs, AllocationMode::Witness);
                let claimed = FpVar::new_input(cs.clone(), || Ok(claim)).unwrap();
                hash(&vars).unwrap().enforce_equal(&claimed).unwrap();
                assert_eq!(cs.is_satisfied().unwrap(), ok, "n = {n}");
            }
        }
    }

    #[test]
    fn every_tampered_witness_is_caught() {
        for n in [1, 2] {
            let xs: Vec<Fr> = (10..10 + n as u64).map(Fr::from).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars = fps(&cs, &xs, AllocationMode::Witness);
            let claimed =
                FpVar::new_input(cs.clone(), || Ok(poseidon::hash(&xs).unwrap())).unwrap();
            hash(&vars).unwrap().enforce_equal(&claimed).unwrap();
            let mut tamper = Tamper::new(&cs);
            assert!(tamper.is_satisfied(), "untampered system");
            for i in 0..tamper.num_witnesses() {
                let wrong = tamper.witness(i) + Fr::ONE;
                assert!(!tamper.satisfied_with(i, wrong), "n = {n}, witness {i}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn gadget_equals_native_random(n in 1..=MAX_INPUTS, seed in any::<u64>()) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let xs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars = fps(&cs, &xs, AllocationMode::Witness);
            let h = hash(&vars).unwrap();
            prop_assert_eq!(h.value().unwrap(), poseidon::hash(&xs).unwrap());
            prop_assert!(cs.is_satisfied().unwrap());
        }
    }
}
