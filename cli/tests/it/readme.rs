//! Every shell command of README.md maps to something real, so that a newcomer can run
//! them as written. The fenced `sh` blocks are read command by command (`cd` followed);
//! a command the test does not know how to check fails it, so a new command in the README
//! needs a check here.
//!
//! - `sealgrid` (`cargo run --release -- …`, `target/release/sealgrid …`): parsed by the
//!   binary's own clap definition ([`sealgrid::args::Cli`]), and the audit command is the
//!   one a default `sealgrid demo` prints for its output ([`sealgrid::commands`]), its
//!   rounds the demo's. The demo test runs the printed commands for real.
//! - another package's binary (`cargo run -p …`): the package and binary exist, `cargo
//!   run` can tell which binary to run, the subcommand and every `--flag` are declared in
//!   the package's source, and when that binary is built next to `sealgrid` (as `cargo
//!   test --workspace` builds it) they appear in its `--help`.
//! - `cargo test -p P --test T`: the package and its test target exist.
//! - scripts, the Python client, npm and node: the files exist where the block's `cd`
//!   leads; the Python client's subcommands and flags are declared in its argparse parser
//!   and driven by `coordinator/tests/it/python.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use sealgrid::args::Cli;
use sealgrid::commands::{shell_words, DemoOutput};
use sealgrid::demo::first_round;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// One command of a fenced block: its words and the directory it runs in (relative to
/// the repository's root).
#[derive(Debug)]
struct Cmd {
    cwd: PathBuf,
    words: Vec<String>,
}

/// The commands of README.md's `sh` blocks, `&&` chains split and `cd` followed: a `cd`
/// holds for the rest of its section (up to the next `## ` heading), as for a reader who
/// works through a section in one shell.
fn readme_commands(readme: &str) -> Vec<Cmd> {
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    let mut cwd = PathBuf::new();
    for line in readme.lines() {
        match (&mut block, line.trim_start()) {
            (None, l) if l.starts_with("## ") => cwd = PathBuf::new(),
            (None, l) if l.starts_with("```sh") => block = Some(String::new()),
            (Some(b), "```") => {
                let text = b.replace("\\\n", " ");
                for l in text.lines() {
                    let words = shell_words(l).unwrap_or_else(|| panic!("unbalanced: {l}"));
                    for seg in words.split(|w| w == "&&").filter(|s| !s.is_empty()) {
                        // `NAME=value` prefixes set variables for the command
                        let seg: Vec<String> = seg
                            .iter()
                            .skip_while(|w| w.split_once('=').is_some_and(|(n, _)| is_env(n)))
                            .cloned()
                            .collect();
                        if seg.first().map(String::as_str) == Some("cd") {
                            cwd.push(&seg[1]);
                        } else if !seg.is_empty() {
                            out.push(Cmd {
                                cwd: cwd.clone(),
                                words: seg,
                            });
                        }
                    }
                }
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(block.is_none(), "an unclosed fenced block");
    out
}

fn is_env(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// A workspace package: its directory and binaries.
#[derive(Debug)]
struct Package {
    dir: PathBuf,
    bins: Vec<String>,
}

/// `name = "…"` of a Cargo.toml line.
fn name_value(line: &str) -> Option<String> {
    let (k, v) = line.split_once('=')?;
    (k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
}

/// The workspace's packages by name, from the manifests (the members list of the root
/// Cargo.toml; `[package]` and `[[bin]]` names; `src/main.rs` and `src/bin/*.rs`).
fn packages() -> BTreeMap<String, Package> {
    let root = root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("a members list")
        .0;
    let mut out = BTreeMap::new();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')) {
        if member.is_empty() {
            continue;
        }
        let dir = root.join(member);
        let toml = std::fs::read_to_string(dir.join("Cargo.toml")).expect("a member manifest");
        let mut section = String::new();
        let (mut name, mut bins) = (None, Vec::new());
        for line in toml.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
            } else if let Some(v) = name_value(line) {
                match section.as_str() {
                    "[package]" => name = Some(v),
                    "[[bin]]" => bins.push(v),
                    _ => {}
                }
            }
        }
        let name = name.expect("a package name");
        if dir.join("src/main.rs").exists() && bins.is_empty() {
            bins.push(name.clone());
        }
        if let Ok(rd) = std::fs::read_dir(dir.join("src/bin")) {
            for e in rd.flatten() {
                let p = e.path();
                if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                    if p.extension().is_some_and(|x| x == "rs") && !bins.iter().any(|b| b == stem) {
                        bins.push(stem.to_owned());
                    }
                }
            }
        }
        out.insert(name, Package { dir, bins });
    }
    out
}

/// Every `.rs` file under `dir`, concatenated.
fn sources(dir: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("a source directory").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                text += &std::fs::read_to_string(&p).expect("a source file");
            }
        }
    }
    text
}

/// `export-snarkjs` as the clap variant `ExportSnarkjs`.
fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The `--flags` of `args` (without `=value`).
fn flags(args: &[String]) -> Vec<&str> {
    args.iter()
        .filter_map(|a| a.strip_prefix("--"))
        .map(|f| f.split('=').next().unwrap_or(f))
        .collect()
}

/// `sealgrid ARGS` as the binary parses them.
fn check_sealgrid(args: &[String], line: &str) {
    let argv = std::iter::once("sealgrid".to_owned()).chain(args.iter().cloned());
    if let Err(e) = Cli::try_parse_from(argv) {
        panic!("README: `{line}` does not parse:\n{e}");
    }
}

/// Another package's binary `bin` with `args`, checked against its source and, when
/// built, its `--help`.
fn check_binary(pkg: &Package, bin: &str, args: &[String], line: &str) {
    let src = sources(&pkg.dir.join("src"));
    let sub = args.first().filter(|a| !a.starts_with('-'));
    if let Some(sub) = sub {
        let variant = camel(sub);
        assert!(
            src.contains(&format!("{variant}(")) || src.contains(&format!("{variant} {{")),
            "README: `{line}`: no subcommand {sub} ({variant}) in {}",
            pkg.dir.display()
        );
    }
    for f in flags(args) {
        let field = f.replace('-', "_");
        assert!(
            src.contains(&format!("long = \"{f}\"")) || src.contains(&format!(" {field}: ")),
            "README: `{line}`: no flag --{f} in {}",
            pkg.dir.display()
        );
    }
    // The binary built beside `sealgrid` (by `cargo test --workspace`, which builds every
    // package's binaries): its help must list the flags.
    let built = Path::new(env!("CARGO_BIN_EXE_sealgrid")).with_file_name(bin);
    if built.exists() {
        let o = Command::new(&built)
            .args(sub)
            .arg("--help")
            .output()
            .expect("runs");
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{} {sub:?} --help: {help}",
            built.display()
        );
        for f in flags(args) {
            assert!(
                help.contains(&format!("--{f}")),
                "README: `{line}`: {} {sub:?} --help has no --{f}:\n{help}",
                built.display()
            );
        }
    } else {
        eprintln!(
            "note: {} is not built: checked against its source only",
            built.display()
        );
    }
}

/// `cargo run …` and `cargo test …`.
fn check_cargo(words: &[String], line: &str, packages: &BTreeMap<String, Package>) {
    let (cargo_args, rest) = match words.iter().position(|w| w == "--") {
        Some(i) => (&words[1..i], &words[i + 1..]),
        None => (&words[1..], &[][..]),
    };
    let value = |flag: &str| {
        cargo_args
            .iter()
            .position(|w| w == flag)
            .map(|i| cargo_args[i + 1].clone())
    };
    let pkg_name = value("-p").unwrap_or_else(|| "sealgrid".to_owned());
    let pkg = packages
        .get(&pkg_name)
        .unwrap_or_else(|| panic!("README: `{line}`: no package {pkg_name}"));
    match cargo_args.first().map(String::as_str) {
        Some("run") => {
            let bin = match value("--bin") {
                Some(b) => b,
                None => {
                    assert_eq!(
                        pkg.bins.len(),
                        1,
                        "README: `{line}`: cargo cannot tell which of {:?} to run: give --bin",
                        pkg.bins
                    );
                    pkg.bins[0].clone()
                }
            };
            assert!(pkg.bins.contains(&bin), "README: `{line}`: no binary {bin}");
            if bin == "sealgrid" {
                check_sealgrid(rest, line);
            } else {
                check_binary(pkg, &bin, rest, line);
            }
        }
        Some("test") => {
            if let Some(t) = value("--test") {
                let tests = pkg.dir.join("tests");
                assert!(
                    tests.join(format!("{t}.rs")).exists()
                        || tests.join(&t).join("main.rs").exists(),
                    "README: `{line}`: no test target {t} in {}",
                    pkg.dir.display()
                );
            }
        }
        _ => panic!("README: `{line}`: a cargo command this test does not check"),
    }
}

/// A command of the Python client's block.
fn check_python_client(cwd: &Path, words: &[String], line: &str) {
    let client = std::fs::read_to_string(cwd.join("sealgrid_client.py")).expect("the client");
    let driven = std::fs::read_to_string(root().join("coordinator/tests/it/python.rs"))
        .expect("the client's test");
    let sub = words
        .iter()
        .skip(2)
        .filter(|w| !w.starts_with('-'))
        .find(|w| client.contains(&format!("add_parser(\"{w}\"")))
        .unwrap_or_else(|| panic!("README: `{line}`: no subcommand of sealgrid_client.py"));
    assert!(
        driven.contains(&format!("\"{sub}\"")),
        "README: `{line}`: coordinator/tests/it/python.rs does not run {sub}"
    );
    for f in flags(words) {
        assert!(
            client.contains(&format!("add_argument(\"--{f}\"")),
            "README: `{line}`: sealgrid_client.py has no --{f}"
        );
    }
}

#[test]
fn every_readme_command_maps_to_a_real_command() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let packages = packages();
    let commands = readme_commands(&readme);
    assert!(commands.len() >= 15, "{commands:?}");
    let mut sealgrid_lines = Vec::new();
    for Cmd { cwd, words } in &commands {
        let line = words.join(" ");
        let dir = root.join(cwd);
        let file = |f: &str| {
            assert!(
                dir.join(f).exists(),
                "README: `{line}`: no {f} in {}",
                dir.display()
            )
        };
        match words[0].as_str() {
            "cargo" => check_cargo(words, &line, &packages),
            // one form throughout: the binary `cargo run --release` built
            "target/release/sealgrid" => {
                check_sealgrid(&words[1..], &line);
                sealgrid_lines.push(words.clone());
            }
            s if s.starts_with("scripts/") => {
                file(s);
                let o = Command::new("bash")
                    .arg("-n")
                    .arg(dir.join(s))
                    .output()
                    .expect("bash");
                assert!(o.status.success(), "{s} does not parse: {o:?}");
            }
            "python3" if words[1..3] == ["-m", "venv"] => file("requirements.txt"),
            ".venv/bin/pip" => file(&words[words.iter().position(|w| w == "-r").expect("-r") + 1]),
            ".venv/bin/python" => {
                file(&words[1]);
                if words[1] == "sealgrid_client.py" {
                    check_python_client(&dir, words, &line);
                }
            }
            "npm" if words[1] == "ci" => file("package-lock.json"),
            "node" => file(&words[1]),
            _ => panic!("README: `{line}`: a command this test does not check"),
        }
    }

    // The audit command is the one a default `sealgrid demo` prints for its files (its
    // rounds: 4 slots from 16:30), the disclosure one of its rounds with its auditor.
    let first = first_round(66);
    let demo = DemoOutput {
        exe: "target/release/sealgrid".into(),
        dir: "target/sealgrid-demo".into(),
        key_dir: None,
        rounds: first..=first + 3,
    };
    let audit = demo.audit();
    assert!(
        sealgrid_lines.contains(&audit),
        "README: no `{}` (what `sealgrid demo` prints)",
        audit.join(" ")
    );
    let disclose = sealgrid_lines
        .iter()
        .find(|w| w.get(2).map(String::as_str) == Some("disclose"))
        .expect("README shows `audit disclose`");
    let arg = |flag: &str| {
        let i = disclose.iter().position(|w| w == flag).expect(flag);
        disclose[i + 1].clone()
    };
    let trustees: Vec<String> = disclose
        .windows(2)
        .filter(|w| w[0] == "--trustee")
        .map(|w| w[1].clone())
        .collect();
    let round: u64 = arg("--round").parse().expect("a round");
    let bid: usize = arg("--bid").parse().expect("a bid index");
    let shown = DemoOutput {
        rounds: round..=round,
        ..demo
    };
    assert!(
        demo_rounds_contain(first, round),
        "--round {round} is no demo round"
    );
    assert_eq!(
        disclose,
        &shown.disclose(bid, &trustees, sealgrid::demo::AUDITOR),
        "README's disclose is not what `sealgrid demo --keep-trustees` prints"
    );

    // The sealgrid subcommands it names answer --help.
    for sub in [&["demo"][..], &["audit"], &["audit", "disclose"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_sealgrid"))
            .args(sub)
            .arg("--help")
            .output()
            .expect("runs");
        assert!(o.status.success(), "sealgrid {sub:?} --help");
    }
}

fn demo_rounds_contain(first: u64, round: u64) -> bool {
    (first..first + 4).contains(&round)
}
