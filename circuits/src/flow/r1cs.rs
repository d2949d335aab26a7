//! Gadget twin of [`crate::flow`]: flow encryption under constant committee keys.

use crate::babyjubjub::base8;
use crate::babyjubjub::r1cs::{fixed_base_mul_many, PointVar};
use crate::digest::r1cs::digest;
use crate::flow::FlowKeys;
use crate::Fr;
use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar, select::CondSelectGadget};
use ark_relations::gr1cs::SynthesisError;

/// One message vector's ciphertexts in the circuit.
#[derive(Clone, Debug)]
pub struct FlowCiphertextsVar {
    /// `r·G`.
    pub c1: PointVar,
    /// `m_j·G + r·PK_j`.
    pub c2: Vec<PointVar>,
}

impl FlowCiphertextsVar {
    /// The coordinates in digest order: `C1.x, C1.y, C2_0.x, C2_0.y, …`.
    pub fn coordinates(&self) -> Vec<FpVar<Fr>> {
        std::iter::once(&self.c1)
            .chain(&self.c2)
            .flat_map(|p| [p.x.clone(), p.y.clone()])
            .collect()
    }

    /// The digest of [`crate::flow::FlowCiphertexts::digest`], in the circuit.
    pub fn digest(&self) -> Result<FpVar<Fr>, SynthesisError> {
        digest(&self.coordinates())
    }
}

/// Encrypts the message points `m_j·G` (computed by the caller, who knows how they are
/// constrained) under the constant keys with the randomness spelled by `r_bits`:
/// one shared-bits fixed-base multiplication for `r·G` and every `r·PK_j`, then one
/// complete addition per slot.
pub fn encrypt(
    keys: &FlowKeys,
    r_bits: &[Boolean<Fr>],
    message_points: &[PointVar],
) -> Result<FlowCiphertextsVar, SynthesisError> {
    if message_points.len() != keys.len() {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut bases = Vec::with_capacity(keys.len() + 1);
    bases.push(base8());
    bases.extend_from_slice(keys.keys());
    let mut products = fixed_base_mul_many(&bases, r_bits)?.into_iter();
    let c1 = products.next().expect("r·G");
    let c2 = products
        .zip(message_points)
        .map(|(r_pk, m)| m.add(&r_pk))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FlowCiphertextsVar { c1, c2 })
}

/// `bit ? p : identity`, two constraints.
pub fn select_or_identity(bit: &Boolean<Fr>, p: &PointVar) -> Result<PointVar, SynthesisError> {
    let id = PointVar::identity();
    Ok(PointVar::new_unchecked(
        FpVar::conditionally_select(bit, &p.x, &id.x)?,
        FpVar::conditionally_select(bit, &p.y, &id.y)?,
    ))
}
