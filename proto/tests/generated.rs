//! The committed generated code is exactly what the generator makes from the `.proto`
//! files; run `cargo run -p sealgrid-proto --example regenerate` after editing them.

#[path = "../tools/generate.rs"]
mod generate;

#[test]
fn committed_generated_code_matches_the_proto_files() {
    let tmp = tempfile::tempdir().unwrap();
    generate::generate(tmp.path()).unwrap();
    let committed = generate::proto_root().join("src/gen");
    let mut names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut committed_names: Vec<_> = std::fs::read_dir(&committed)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    committed_names.sort();
    assert_eq!(names, committed_names, "generated file set differs");
    for name in names {
        let fresh = std::fs::read_to_string(tmp.path().join(&name)).unwrap();
        let old = std::fs::read_to_string(committed.join(&name)).unwrap();
        assert!(
            fresh == old,
            "{} is stale: run `cargo run -p sealgrid-proto --example regenerate`",
            name.to_string_lossy()
        );
    }
}
