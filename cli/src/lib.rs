//! sealgrid's command-line application. The `sealgrid` binary (`src/main.rs`) is a thin
//! shell around [`demo`] and [`audit`], which tests run in the suite as well; [`args`]
//! is its command line, [`commands`] the commands the demo prints for its own output.

pub mod args;
pub mod audit;
pub mod commands;
pub mod demo;
