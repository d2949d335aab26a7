//! Rewrites `proto/src/gen/` from the `.proto` files:
//! `cargo run -p sealgrid-proto --example regenerate`. `tests/generated.rs` fails while
//! the committed code differs from what this writes.

#[path = "../tools/generate.rs"]
mod generate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = generate::proto_root().join("src/gen");
    generate::generate(&out)?;
    println!("regenerated {}", out.display());
    Ok(())
}
