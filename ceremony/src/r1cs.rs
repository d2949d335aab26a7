//! circom's `.r1cs` and `.wtns` files, from and for arkworks circuits.
//!
//! `.r1cs` (version 1): section 1, the header: `n8 = 32`, the prime `r` (32 bytes LE),
//! the number of wires, of public outputs, of public inputs, of private inputs (`u32`
//! each), of labels (`u64`) and of constraints (`u32`); section 2, the constraints, each
//! three linear combinations `A, B, C` of a `u32` term count then terms of a `u32` wire
//! and a coefficient (32 bytes LE, plain form); section 3, a `u64` label per wire.
//!
//! `.wtns` (version 2): section 1, `n8`, the prime, the number of values; section 2, the
//! values (32 bytes LE each).
//!
//! Wire numbering is arkworks' variable numbering after synthesis: wire 0 the constant
//! one, then the public inputs in allocation order, then the witness variables. An
//! arkworks circuit has no public outputs, so its public variables are exported as
//! circom *public inputs*; snarkjs counts both alike (`nPublic`), and its `public.json`
//! lists them in wire order, which is the order of the circuit's statement.

use std::path::Path;

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use sha2::{Digest, Sha256};

use crate::binfile::{BinFile, FileError, Reader};
use crate::encoding::{fr_from_le, fr_to_le, N8};

/// One linear combination: `(wire, coefficient)` terms.
pub type Lc = Vec<(u32, Fr)>;

/// A rank-1 constraint system in circom's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct R1cs {
    /// Number of wires, the constant one included.
    pub n_wires: u32,
    /// Public outputs (zero for arkworks circuits).
    pub n_pub_out: u32,
    /// Public inputs.
    pub n_pub_in: u32,
    /// Private inputs (informational; zero for arkworks circuits).
    pub n_prv_in: u32,
    /// Constraints `A * B = C`.
    pub constraints: Vec<[Lc; 3]>,
}

/// Why a circuit could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Synthesis failed.
    #[error("synthesising the circuit failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// A generalised-R1CS predicate other than R1CS was used.
    #[error("the circuit uses predicate {0:?}; only R1CS can be exported")]
    UnsupportedPredicate(String),
    /// The witness does not satisfy the constraints.
    #[error("the witness does not satisfy constraint {0}")]
    Unsatisfied(String),
}

fn synthesize<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    prove: bool,
) -> Result<ark_relations::gr1cs::ConstraintSystemRef<Fr>, ExportError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    // The settings of ark-groth16 (and the prover's `CircuitShape`): the exported system
    // is the one the project's keys are made for.
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(if prove {
        SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        }
    } else {
        SynthesisMode::Setup
    });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(cs)
}

impl R1cs {
    /// The constraint system of `circuit` (synthesised without a witness).
    pub fn of<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self, ExportError> {
        let cs = synthesize(circuit, false)?;
        let mut matrices = cs.to_matrices()?;
        if let Some((label, _)) = matrices
            .iter()
            .find(|(l, m)| *l != R1CS_PREDICATE_LABEL && m.iter().any(|m| !m.is_empty()))
        {
            return Err(ExportError::UnsupportedPredicate(label.clone()));
        }
        let m = matrices.remove(R1CS_PREDICATE_LABEL).unwrap_or_default();
        let n = cs.num_constraints();
        let lc =
            |row: &Vec<(Fr, usize)>| -> Lc { row.iter().map(|(c, i)| (*i as u32, *c)).collect() };
        let constraints = (0..n)
            .map(|i| [lc(&m[0][i]), lc(&m[1][i]), lc(&m[2][i])])
            .collect();
        Ok(R1cs {
            n_wires: (cs.num_instance_variables() + cs.num_witness_variables()) as u32,
            n_pub_out: 0,
            n_pub_in: (cs.num_instance_variables() - 1) as u32,
            n_prv_in: 0,
            constraints,
        })
    }

    /// Public wires, the constant one excluded (snarkjs's `nPublic`).
    pub fn n_public(&self) -> u32 {
        self.n_pub_out + self.n_pub_in
    }

    /// snarkjs's domain size for this system: the smallest power of two at least the
    /// number of constraints plus the public wires plus one.
    pub fn domain_size(&self) -> usize {
        (self.constraints.len() + self.n_public() as usize + 1).next_power_of_two()
    }

    /// The `.r1cs` file.
    pub fn to_bin(&self) -> BinFile {
        let mut f = BinFile::new(b"r1cs", 1);
        let mut h = Vec::new();
        h.extend_from_slice(&(N8 as u32).to_le_bytes());
        fr_to_le_modulus(&mut h);
        for v in [self.n_wires, self.n_pub_out, self.n_pub_in, self.n_prv_in] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&(self.n_wires as u64).to_le_bytes());
        h.extend_from_slice(&(self.constraints.len() as u32).to_le_bytes());
        f.push(1, h);
        let mut c = Vec::new();
        for lcs in &self.constraints {
            for lc in lcs {
                c.extend_from_slice(&(lc.len() as u32).to_le_bytes());
                for (w, v) in lc {
                    c.extend_from_slice(&w.to_le_bytes());
                    fr_to_le(v, &mut c);
                }
            }
        }
        f.push(2, c);
        let mut m = Vec::with_capacity(8 * self.n_wires as usize);
        for i in 0..self.n_wires as u64 {
            m.extend_from_slice(&i.to_le_bytes());
        }
        f.push(3, m);
        f
    }

    /// Writes the `.r1cs` file.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        self.to_bin().write(path)
    }

    /// SHA-256 of the `.r1cs` file's bytes as this module writes them: the circuit's
    /// identity in a ceremony's record.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bin().to_bytes()).into()
    }

    /// Parses a `.r1cs` file (any circom-made file over BN254's scalar field; custom
    /// gates are refused).
    pub fn from_bin(f: &BinFile) -> Result<Self, String> {
        let mut h = Reader::new(f.section(1)?, "the r1cs header");
        if h.u32()? as usize != N8 {
            return Err("the field is not 32 bytes wide".into());
        }
        let prime = h.take(N8)?;
        let mut expected = Vec::new();
        fr_to_le_modulus(&mut expected);
        if prime != &expected[..] {
            return Err("the r1cs is not over BN254's scalar field".into());
        }
        let n_wires = h.u32()?;
        let n_pub_out = h.u32()?;
        let n_pub_in = h.u32()?;
        let n_prv_in = h.u32()?;
        let _n_labels = h.u64()?;
        let n_constraints = h.u32()?;
        if f.has(4) || f.has(5) {
            return Err("custom gates are not supported".into());
        }
        if n_pub_out as u64 + n_pub_in as u64 + 1 > n_wires as u64 {
            return Err("more public wires than wires".into());
        }
        let mut c = Reader::new(f.section(2)?, "the r1cs constraints");
        let mut constraints = Vec::with_capacity(n_constraints as usize);
        for _ in 0..n_constraints {
            let mut lcs: [Lc; 3] = Default::default();
            for lc in lcs.iter_mut() {
                let n = c.u32()?;
                for _ in 0..n {
                    let w = c.u32()?;
                    if w >= n_wires {
                        return Err(format!("a constraint names wire {w} of {n_wires}"));
                    }
                    let v = fr_from_le(c.take(N8)?)
                        .ok_or("a coefficient is not below the field modulus")?;
                    lc.push((w, v));
                }
            }
            constraints.push(lcs);
        }
        c.finish()?;
        Ok(R1cs {
            n_wires,
            n_pub_out,
            n_pub_in,
            n_prv_in,
            constraints,
        })
    }

    /// Reads a `.r1cs` file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let f = BinFile::read(path, b"r1cs", 1)?;
        R1cs::from_bin(&f).map_err(|reason| FileError::Format {
            path: path.display().to_string(),
            reason,
        })
    }
}

fn fr_to_le_modulus(out: &mut Vec<u8>) {
    let m = Fr::MODULUS;
    for limb in m.0 {
        out.extend_from_slice(&limb.to_le_bytes());
    }
}

/// The full assignment of `circuit` (with its witness): wire 0 the constant one, then the
/// public inputs, then the witness; checked to satisfy the constraints.
pub fn witness_of<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Vec<Fr>, ExportError> {
    let cs = synthesize(circuit, true)?;
    if !cs.is_satisfied()? {
        let which = cs
            .which_is_unsatisfied()?
            .unwrap_or_else(|| "(unnamed)".to_owned());
        return Err(ExportError::Unsatisfied(which));
    }
    let instance = cs.instance_assignment()?;
    let witness = cs.witness_assignment()?;
    Ok([instance, witness].concat())
}

/// The `.wtns` file of a full assignment.
pub fn wtns_bin(values: &[Fr]) -> BinFile {
    let mut f = BinFile::new(b"wtns", 2);
    let mut h = Vec::new();
    h.extend_from_slice(&(N8 as u32).to_le_bytes());
    fr_to_le_modulus(&mut h);
    h.extend_from_slice(&(values.len() as u32).to_le_bytes());
    f.push(1, h);
    let mut v = Vec::with_capacity(N8 * values.len());
    for x in values {
        fr_to_le(x, &mut v);
    }
    f.push(2, v);
    f
}

/// Writes a `.wtns` file.
pub fn write_wtns(path: &Path, values: &[Fr]) -> Result<(), FileError> {
    wtns_bin(values).write(path)
}

/// Reads a `.wtns` file.
pub fn read_wtns(path: &Path) -> Result<Vec<Fr>, FileError> {
    let bad = |reason: String| FileError::Format {
        path: path.display().to_string(),
        reason,
    };
    let f = BinFile::read(path, b"wtns", 2)?;
    let mut h = Reader::new(f.section(1).map_err(bad)?, "the wtns header");
    if h.u32().map_err(bad)? as usize != N8 {
        return Err(bad("the field is not 32 bytes wide".into()));
    }
    let _prime = h.take(N8).map_err(bad)?;
    let n = h.u32().map_err(bad)? as usize;
    let body = f.section(2).map_err(bad)?;
    if body.len() != n * N8 {
        return Err(bad(
            "the value section's length does not match the header".into()
        ));
    }
    body.chunks(N8)
        .map(|c| fr_from_le(c).ok_or_else(|| bad("a value is not below the modulus".into())))
        .collect()
}

impl R1cs {
    /// Whether `values` (wire 0 first) satisfies every constraint.
    pub fn is_satisfied(&self, values: &[Fr]) -> bool {
        if values.len() != self.n_wires as usize {
            return false;
        }
        let eval = |lc: &Lc| -> Fr { lc.iter().map(|(w, c)| values[*w as usize] * c).sum() };
        self.constraints
            .iter()
            .all(|[a, b, c]| eval(a) * eval(b) == eval(c))
    }
}
