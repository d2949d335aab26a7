//! The gadget-test harness: every gadget is compared with its native twin with its
//! inputs allocated in each mode (constant, public input, witness), because a gadget
//! takes a different path for constants (no constraint at all) than for variables.

use crate::Fr;
use ark_r1cs_std::alloc::{AllocVar, AllocationMode};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
use std::fmt::Debug;

/// The three allocation modes every gadget test runs in.
pub(crate) const MODES: [AllocationMode; 3] = [
    AllocationMode::Constant,
    AllocationMode::Input,
    AllocationMode::Witness,
];

/// `value` allocated in `mode` as any gadget type (`FpVar`, `PointVar`, ...).
pub(crate) fn alloc<T, V: AllocVar<T, Fr>>(
    cs: &ConstraintSystemRef<Fr>,
    value: T,
    mode: AllocationMode,
) -> V {
    V::new_variable(cs.clone(), || Ok(value), mode).expect("allocation")
}

/// One field element allocated in `mode`.
pub(crate) fn fp(cs: &ConstraintSystemRef<Fr>, x: Fr, mode: AllocationMode) -> FpVar<Fr> {
    alloc(cs, x, mode)
}

/// Field elements allocated in `mode`, in order.
pub(crate) fn fps(cs: &ConstraintSystemRef<Fr>, xs: &[Fr], mode: AllocationMode) -> Vec<FpVar<Fr>> {
    xs.iter().map(|x| fp(cs, *x, mode)).collect()
}

/// Runs `gadget` on a fresh constraint system, its inputs allocated in `mode`, and
/// asserts that its output's value is `native` and that the system is satisfied.
/// Returns the system and the output for the caller's mode-specific checks (constraint
/// counts, constness, a tampered claim failing). `context` names the case in a failure.
#[track_caller]
pub(crate) fn matches_native<V>(
    mode: AllocationMode,
    native: V::Value,
    context: &str,
    gadget: impl FnOnce(&ConstraintSystemRef<Fr>, AllocationMode) -> V,
) -> (ConstraintSystemRef<Fr>, V)
where
    V: GR1CSVar<Fr>,
    V::Value: PartialEq + Debug,
{
    let cs = ConstraintSystem::<Fr>::new_ref();
    let out = gadget(&cs, mode);
    assert_eq!(out.value().unwrap(), native, "{context} {mode:?}");
    assert!(cs.is_satisfied().unwrap(), "{context} {mode:?}");
    (cs, out)
}
