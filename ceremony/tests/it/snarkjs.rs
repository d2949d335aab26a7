//! Interoperability with snarkjs 0.7.6.
