//! Gadget twin of [`crate::eddsa`]: EdDSA-Poseidon verification inside a BN254 R1CS,
//! the statement of circomlib's `EdDSAPoseidonVerifier`.

use crate::Fr;
use ark_ed_on_bn254::Fr as SubgroupScalar;
use ark_ff::PrimeField;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::SynthesisError;

/// Bit length of the subgroup order `l` (251): `S < l` fits in this many bits.
pub const S_BITS: usize = SubgroupScalar::MODULUS_BIT_SIZE as usize;

/// Enforces that the little-endian `bits` encode an integer below `l`, the subgroup
/// order: circomlib's `CompConstant(l - 1)` on `S`'s bits. Any number of bits is
/// accepted; bits above [`S_BITS`] are forced to zero.
pub fn enforce_below_order(bits: &[Boolean<Fr>]) -> Result<(), SynthesisError> {
    // `enforce_smaller_or_equal_than_le` aligns the most significant bit of `bits` with
    // that of the bound, so pad a short vector with constant zeros first.
    let mut padded = bits.to_vec();
    if padded.len() < S_BITS {
        padded.resize(S_BITS, Boolean::FALSE);
    }
    let mut l_minus_1 = SubgroupScalar::MODULUS;
    // l is odd, so subtracting one only clears its lowest bit.
    l_minus_1.0[0] -= 1;
    let open_run = Boolean::enforce_smaller_or_equal_than_le(&padded, l_minus_1)?;
    // l - 1 ends in a zero bit, so no run of ones is left open at the end.
    debug_assert!(open_run.is_empty());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::One;
    use ark_relations::gr1cs::ConstraintSystem;
    use num_bigint::BigUint;

    fn order() -> BigUint {
        BigUint::from(SubgroupScalar::MODULUS)
    }

    fn witness_bits(
        cs: &ark_relations::gr1cs::ConstraintSystemRef<Fr>,
        n: &BigUint,
        len: usize,
    ) -> Vec<Boolean<Fr>> {
        (0..len)
            .map(|i| Boolean::new_witness(cs.clone(), || Ok(n.bit(i as u64))).unwrap())
            .collect()
    }

    fn below_order_holds(n: &BigUint, len: usize) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits = witness_bits(&cs, n, len);
        enforce_below_order(&bits).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn below_order_boundaries() {
        let l = order();
        let one = BigUint::one();
        for len in [S_BITS, 253, 254] {
            assert!(below_order_holds(&BigUint::from(0u8), len));
            assert!(below_order_holds(&(&l - &one), len), "l - 1, {len} bits");
            assert!(!below_order_holds(&l, len), "l, {len} bits");
            assert!(!below_order_holds(&(&l + &one), len), "l + 1, {len} bits");
            assert!(!below_order_holds(
                &((BigUint::one() << S_BITS) - &one),
                len
            ));
        }
        // S + l for S < l needs 252 bits: the excess bit alone must fail.
        assert!(!below_order_holds(&(&l + &l - &one), 253));
        assert!(!below_order_holds(&(BigUint::one() << 252u32), 253));
        // Short vectors are padded, not misaligned.
        assert!(below_order_holds(&BigUint::from(5u8), 3));
    }
}
