//! Test helper: re-check a synthesised constraint system after overwriting one witness.
//!
//! arkworks caches the value of every symbolic linear combination when it is created, so
//! overwriting a witness afterwards would leave those caches stale. [`Tamper`] works on a
//! copy whose linear combinations are inlined (`finalize`) and whose cache is dropped, so
//! `is_satisfied` re-evaluates every constraint from the raw assignment.

use crate::Fr;
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};

#[derive(Debug)]
pub(crate) struct Tamper {
    cs: ConstraintSystem<Fr>,
}

impl Tamper {
    pub(crate) fn new(cs: &ConstraintSystemRef<Fr>) -> Self {
        let mut cs = cs.borrow().expect("a constraint system").clone();
        cs.finalize();
        // Index 0 is the zero combination; every other one is re-evaluated from its
        // (now inlined) terms.
        cs.assignments.lc_assignment.truncate(1);
        Self { cs }
    }

    pub(crate) fn num_witnesses(&self) -> usize {
        self.cs.assignments.witness_assignment.len()
    }

    pub(crate) fn witness(&self, index: usize) -> Fr {
        self.cs.assignments.witness_assignment[index]
    }

    pub(crate) fn is_satisfied(&self) -> bool {
        self.cs.is_satisfied().expect("proving mode")
    }

    /// Whether the system holds with witness `index` set to `value` (restored after).
    pub(crate) fn satisfied_with(&mut self, index: usize, value: Fr) -> bool {
        let old = std::mem::replace(&mut self.cs.assignments.witness_assignment[index], value);
        let ok = self.is_satisfied();
        self.cs.assignments.witness_assignment[index] = old;
        ok
    }
}
