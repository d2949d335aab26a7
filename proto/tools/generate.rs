//! The generator of `proto/src/gen/`, shared by `examples/regenerate.rs` (which writes
//! the committed files) and `tests/generated.rs` (which checks them): protox compiles the
//! `.proto` files in pure Rust, tonic-prost-build generates from the descriptor set.

use std::path::{Path, PathBuf};

/// The `.proto` files compiled, relative to [`proto_root`].
pub const FILES: &[&str] = &[
    "sealgrid/committee/v1/trustee.proto",
    "sealgrid/market/v1/coordinator.proto",
];

/// `proto/`, the include root.
pub fn proto_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Generates the Rust code of [`FILES`] into `out_dir`.
pub fn generate(out_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = proto_root();
    let fds = protox::compile(FILES, [&root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(true)
        .out_dir(out_dir)
        .compile_fds(fds)?;
    Ok(())
}
