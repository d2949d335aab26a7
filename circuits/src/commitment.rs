pub mod r1cs;
