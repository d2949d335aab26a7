//! A circuit and a random generator behind trait objects, so that the prover's heavy
//! generic code is compiled once, here.
//!
//! ark-relations' constraint system (finalize, satisfaction, matrices) and ark-groth16's
//! setup and prover are generic over the circuit and the generator, so a generic
//! `prove::<C, R>` is compiled again in every crate that calls it, once per circuit type,
//! at that crate's opt-level (and at opt-level 2 and above a crate does not reuse another
//! crate's copies). [`crate::prove`], [`crate::KeyStore::setup`] and
//! [`crate::CircuitShape::of`] keep their generic signatures but only wrap their
//! arguments in [`DynCircuit`] and [`DynRng`] and call one non-generic body in this
//! crate: a caller compiles a closure and a call.

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_std::rand::{CryptoRng, RngCore};

use crate::Fr;

type Synthesize<'a> = Box<dyn FnOnce(ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> + 'a>;

/// Any circuit over [`Fr`], type-erased: synthesising it calls the wrapped circuit's
/// `generate_constraints`.
pub struct DynCircuit<'a>(Synthesize<'a>);

impl<'a> DynCircuit<'a> {
    /// Wraps `circuit`.
    pub fn new<C: ConstraintSynthesizer<Fr> + 'a>(circuit: C) -> Self {
        DynCircuit(Box::new(move |cs| circuit.generate_constraints(cs)))
    }
}

impl std::fmt::Debug for DynCircuit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynCircuit")
    }
}

impl ConstraintSynthesizer<Fr> for DynCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        (self.0)(cs)
    }
}

/// A cryptographic generator behind a trait object.
pub struct DynRng<'a>(&'a mut dyn ark_std::rand::RngCore);

impl RngCore for DynRng<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), ark_std::rand::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl std::fmt::Debug for DynRng<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynRng")
    }
}

/// Only ever made from a generator that is [`CryptoRng`] (see [`DynRng::new`]).
impl CryptoRng for DynRng<'_> {}

impl<'a> DynRng<'a> {
    /// Wraps a cryptographic generator.
    pub fn new<R: RngCore + CryptoRng>(rng: &'a mut R) -> Self {
        DynRng(rng)
    }
}
