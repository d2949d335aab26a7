//! sealgrid's command-line application. The `sealgrid` binary (`src/main.rs`) is a thin
//! shell around [`demo`], which a test runs in the suite as well.

pub mod demo;
