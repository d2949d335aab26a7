//! A small test circuit, phase-1 files shared between tests, and the snarkjs CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ark_ff::Field;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use sealgrid_ceremony::phase2::quiet;
use sealgrid_ceremony::{phase1, Ptau};
use sealgrid_prover::Fr;

/// Knowledge of `a`, `b` with `a * b = product` and `a` squared `rounds` times equal to
/// `tower`; `a < 2^16`. Public inputs: `product`, `tower`.
#[derive(Clone, Debug)]
pub struct Small {
    pub a: Option<Fr>,
    pub b: Option<Fr>,
    pub rounds: usize,
}

impl Small {
    pub fn new(a: u64, b: u64, rounds: usize) -> Self {
        Small {
            a: Some(Fr::from(a)),
            b: Some(Fr::from(b)),
            rounds,
        }
    }

    pub fn blank(rounds: usize) -> Self {
        Small {
            a: None,
            b: None,
            rounds,
        }
    }

    pub fn public_inputs(&self) -> Vec<Fr> {
        let (a, b) = (self.a.unwrap(), self.b.unwrap());
        let mut t = a;
        for _ in 0..self.rounds {
            t = t.square();
        }
        vec![a * b, t]
    }
}

impl ConstraintSynthesizer<Fr> for Small {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let missing = || SynthesisError::AssignmentMissing;
        let (pa, pb, rounds) = (self.a, self.b, self.rounds);
        let publics = pa.map(|_| self.public_inputs());
        let a = FpVar::new_witness(cs.clone(), || pa.ok_or_else(missing))?;
        let b = FpVar::new_witness(cs.clone(), || pb.ok_or_else(missing))?;
        let product = FpVar::new_input(cs.clone(), || {
            publics.as_ref().map(|p| p[0]).ok_or_else(missing)
        })?;
        let tower = FpVar::new_input(cs.clone(), || {
            publics.as_ref().map(|p| p[1]).ok_or_else(missing)
        })?;
        (&a * &b).enforce_equal(&product)?;
        let (_bits, _rest_enforced_zero) = a.to_bits_le_with_top_bits_zero(16)?;
        let mut x = a;
        for _ in 0..rounds {
            x = x.square()?;
        }
        x.enforce_equal(&tower)
    }
}

/// The rounds of the small circuit used by most tests (under 64 constraints).
pub const ROUNDS: usize = 8;

/// A phase-1 file of power 6 with two contributions and a beacon, prepared; made once
/// per test binary.
pub fn ptau() -> &'static Ptau {
    static P: OnceLock<Ptau> = OnceLock::new();
    P.get_or_init(|| {
        let p = phase1::new_ptau(6).unwrap();
        let (p, _) = phase1::contribute(&p, Some("alice"), b"typed entropy", &quiet).unwrap();
        let (p, _) = phase1::contribute(&p, None, b"", &quiet).unwrap();
        let (p, _) = phase1::beacon(&p, Some("beacon"), &[0xab; 32], 10, &quiet).unwrap();
        phase1::prepare(&p, &quiet).unwrap()
    })
}

pub fn snarkjs_cli() -> Result<PathBuf, String> {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-vectors/node_modules/snarkjs/build/cli.cjs");
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => return Err(format!("`node --version` failed: {:?}", out.status)),
        Err(e) => return Err(format!("node is not installed ({e})")),
    }
    if !cli.exists() {
        return Err(format!(
            "{} is missing: run `npm ci` in test-vectors",
            cli.display()
        ));
    }
    Ok(cli)
}

/// The snarkjs CLI, or `None` (after printing why) when it cannot run and
/// SEALGRID_REQUIRE_SNARKJS is not 1; panics when it is.
pub fn snarkjs_or_skip(test: &str) -> Option<PathBuf> {
    match snarkjs_cli() {
        Ok(cli) => Some(cli),
        Err(why) => {
            if std::env::var("SEALGRID_REQUIRE_SNARKJS").as_deref() == Ok("1") {
                panic!("SEALGRID_REQUIRE_SNARKJS=1 but snarkjs cannot run: {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// Runs snarkjs with `args` in `dir`; returns whether it succeeded and its output.
pub fn snarkjs(cli: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("node")
        .arg(cli)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // snarkjs exits 0 on some failures: look for its error markers too.
    let ok = out.status.success()
        && !text.contains("[ERROR]")
        && !text.contains("INVALID")
        && !text.contains("Invalid");
    (ok, text)
}
