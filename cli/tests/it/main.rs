//! The `sealgrid` binary and library end to end: a small demo through the real stack
//! (`demo`), the audit command on a real round and on tampered files (`audit`), and
//! every command of the README against the real command lines (`readme`). One test
//! binary: each more costs a link and a compile of its own copies of the generic code.

mod audit;
mod demo;
mod readme;
