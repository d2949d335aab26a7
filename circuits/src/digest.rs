//! The ciphertext digest of `docs/PROTOCOL.md` §3: a Poseidon chain that binds a
//! sequence of field elements (ciphertext coordinates) into one public input.
//!
//! ```text
//! h_0 = 0
//! h_{i+1} = Poseidon(h_i, chunk_i[0], ..., chunk_i[14])      (16 inputs)
//! digest = h_n
//! ```
//!
//! The input is cut into chunks of [`CHUNK`] = 15 elements, in order; the last chunk is
//! padded with zeros to 15, so every call is a 16-input Poseidon. The number of chunks
//! is `max(1, ceil(len / 15))`: the empty sequence is padded like any last chunk, into
//! one chunk of 15 zeros, so a digest is always the output of at least one Poseidon
//! call and never the constant `h_0 = 0`.
//!
//! # Fixed length only
//!
//! Zero padding is not injective across lengths: `[x]` and `[x, 0]` (and the empty
//! sequence and `[0]`) have the same digest. The protocol only ever digests sequences
//! of one length fixed by the statement (`2 (2K + 2)` for a bid's ciphertexts, 8 for a
//! settlement's flows), and at one fixed length the digest is collision resistant as
//! Poseidon is. Do not use it to bind sequences of varying length.
//!
//! The gadget twin in [`r1cs`] carries the same name.

use crate::poseidon;
use crate::Fr;
use ark_ff::AdditiveGroup;

pub mod r1cs;

/// Elements absorbed per Poseidon call: 16 inputs, one of them the chaining value.
pub const CHUNK: usize = poseidon::MAX_INPUTS - 1;

/// Number of 16-input Poseidon calls for `len` elements: `max(1, ceil(len / 15))`.
pub const fn num_chunks(len: usize) -> usize {
    if len == 0 {
        1
    } else {
        len.div_ceil(CHUNK)
    }
}

/// The digest of `elements` (see the module documentation).
pub fn digest(elements: &[Fr]) -> Fr {
    let mut h = Fr::ZERO;
    for i in 0..num_chunks(elements.len()) {
        let start = (i * CHUNK).min(elements.len());
        let chunk = &elements[start..(start + CHUNK).min(elements.len())];
        let mut inputs = [Fr::ZERO; poseidon::MAX_INPUTS];
        inputs[0] = h;
        inputs[1..=chunk.len()].copy_from_slice(chunk);
        h = poseidon::hash_fixed(inputs);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Field;

    fn seq(n: usize) -> Vec<Fr> {
        (1..=n as u64).map(Fr::from).collect()
    }

    #[test]
    fn one_chunk_is_one_poseidon_of_zero_then_padded_chunk() {
        let xs = seq(8);
        let mut inputs = vec![Fr::ZERO];
        inputs.extend(&xs);
        inputs.resize(16, Fr::ZERO);
        assert_eq!(digest(&xs), poseidon::hash(&inputs).unwrap());
    }

    #[test]
    fn chunks_chain_in_order() {
        let xs = seq(36);
        let mut h = Fr::ZERO;
        for chunk in xs.chunks(CHUNK) {
            let mut inputs = vec![h];
            inputs.extend(chunk);
            inputs.resize(16, Fr::ZERO);
            h = poseidon::hash(&inputs).unwrap();
        }
        assert_eq!(digest(&xs), h);
        assert_eq!(num_chunks(36), 3);
    }

    #[test]
    fn chunk_boundaries() {
        assert_eq!(
            [0, 1, 14, 15, 16, 30, 31, 36, 60].map(num_chunks),
            [1, 1, 1, 1, 2, 2, 3, 3, 4]
        );
        // 15 elements fill exactly one call; the 16th starts a second one.
        assert_ne!(digest(&seq(15)), digest(&seq(16)));
    }

    #[test]
    fn empty_is_one_chunk_of_zeros() {
        let zeros = [Fr::ZERO; 16];
        assert_eq!(digest(&[]), poseidon::hash(&zeros).unwrap());
        assert_ne!(digest(&[]), Fr::ZERO);
    }

    #[test]
    fn padding_is_ambiguous_across_lengths_as_documented() {
        // Only one length per statement may be digested (see the module documentation).
        assert_eq!(digest(&[Fr::ONE]), digest(&[Fr::ONE, Fr::ZERO]));
        assert_eq!(digest(&[]), digest(&[Fr::ZERO]));
    }

    #[test]
    fn order_and_values_matter() {
        let xs = seq(36);
        let mut swapped = xs.clone();
        swapped.swap(0, 20);
        assert_ne!(digest(&xs), digest(&swapped));
        let mut changed = xs.clone();
        changed[35] += Fr::ONE;
        assert_ne!(digest(&xs), digest(&changed));
        assert_ne!(
            digest(&[Fr::from(2u64).pow([3])]),
            digest(&[Fr::from(9u64)])
        );
    }
}
