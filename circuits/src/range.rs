//! Range checks and comparisons of bounded integers held in field elements.
//!
//! The native functions here state the relations; the gadgets in [`r1cs`] enforce them.
//! Every width `n` is at most [`MAX_BITS`] = 252, so `2^(n+1) < p` and no sum of bits
//! wraps around the field modulus (`p ≈ 2^253.6`).
//!
//! Comparisons are defined for *bounded* values only: both operands must already be
//! known to lie in `[0, 2^n)` (range-checked by the caller, or by construction). On
//! unbounded field elements a comparison gadget is unsound: e.g. `a = p - 1` ("-1")
//! passes `enforce_less_than(a, 0, n)`.

use crate::Fr;
use ark_ff::{BigInteger, Field, PrimeField};

pub mod r1cs;

/// The widest range a gadget here accepts.
pub const MAX_BITS: usize = 252;

/// Why a native range relation could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// The width is above [`MAX_BITS`].
    #[error("range checks take at most {MAX_BITS} bits, got {0}")]
    TooWide(usize),
    /// An operand of a comparison is not below `2^n`: the comparison is undefined.
    #[error("operand does not fit in {0} bits")]
    OutOfRange(usize),
}

/// Whether `v`, read as an integer in `[0, p)`, is below `2^n`.
pub fn fits_in_bits(v: Fr, n: usize) -> bool {
    v.into_bigint().num_bits() as usize <= n
}

/// The `n` little-endian bits of `v`.
///
/// # Errors
///
/// [`RangeError::TooWide`] for `n > MAX_BITS`, [`RangeError::OutOfRange`] when `v >= 2^n`.
pub fn to_bits_le(v: Fr, n: usize) -> Result<Vec<bool>, RangeError> {
    check_width(n)?;
    if !fits_in_bits(v, n) {
        return Err(RangeError::OutOfRange(n));
    }
    let big = v.into_bigint();
    Ok((0..n).map(|i| big.get_bit(i)).collect())
}

/// `a < b` for `a, b < 2^n`.
///
/// # Errors
///
/// [`RangeError::TooWide`] for `n > MAX_BITS`, [`RangeError::OutOfRange`] when an
/// operand is not below `2^n`.
pub fn is_less_than(a: Fr, b: Fr, n: usize) -> Result<bool, RangeError> {
    check_width(n)?;
    if !fits_in_bits(a, n) || !fits_in_bits(b, n) {
        return Err(RangeError::OutOfRange(n));
    }
    Ok(a.into_bigint() < b.into_bigint())
}

/// `a <= b` for `a, b < 2^n`; errors as [`is_less_than`].
pub fn is_less_or_equal(a: Fr, b: Fr, n: usize) -> Result<bool, RangeError> {
    is_less_than(b, a, n).map(|lt| !lt)
}

fn check_width(n: usize) -> Result<(), RangeError> {
    if n > MAX_BITS {
        Err(RangeError::TooWide(n))
    } else {
        Ok(())
    }
}

/// `2^n` as a field element.
pub(crate) fn pow2(n: usize) -> Fr {
    Fr::from(2u64).pow([n as u64])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::AdditiveGroup;

    #[test]
    fn fits_at_the_boundary() {
        assert!(fits_in_bits(Fr::ZERO, 0));
        assert!(!fits_in_bits(Fr::ONE, 0));
        assert!(fits_in_bits(pow2(64) - Fr::ONE, 64));
        assert!(!fits_in_bits(pow2(64), 64));
        assert!(!fits_in_bits(-Fr::ONE, MAX_BITS));
    }

    #[test]
    fn bits_round_trip() {
        let bits = to_bits_le(Fr::from(0b1011u64), 5).unwrap();
        assert_eq!(bits, [true, true, false, true, false]);
        assert_eq!(
            to_bits_le(Fr::from(32u64), 5),
            Err(RangeError::OutOfRange(5))
        );
        assert_eq!(to_bits_le(Fr::ZERO, 253), Err(RangeError::TooWide(253)));
    }

    #[test]
    fn comparisons() {
        let (a, b) = (Fr::from(3u64), Fr::from(5u64));
        assert_eq!(is_less_than(a, b, 8), Ok(true));
        assert_eq!(is_less_than(b, a, 8), Ok(false));
        assert_eq!(is_less_than(a, a, 8), Ok(false));
        assert_eq!(is_less_or_equal(a, a, 8), Ok(true));
        assert_eq!(is_less_than(-Fr::ONE, b, 8), Err(RangeError::OutOfRange(8)));
    }
}
