//! Which crate may depend on which (`docs/ARCHITECTURE.md`): the regulator's audit and the
//! prosumer wallet are clients and must not link a server (the coordinator, the trustee
//! service with its share store, the local market that runs both) nor the coordinator's
//! store (redb); the market description is neutral ground below all of them; the
//! coordinator reaches the trustees through the client in `sealgrid-proto`, not through
//! the trustee's server crate. Read from `cargo metadata`, normal (non-dev) edges only,
//! transitively, so a new indirect path is caught as well as a direct one.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Package name -> names of its normal (non-dev, non-build) dependencies.
fn normal_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    let name_of: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    let mut graph = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve") {
        let from = name_of[node["id"].as_str().expect("id")].clone();
        let deps: BTreeSet<String> = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| name_of[d["pkg"].as_str().expect("pkg")].clone())
            .collect();
        graph.entry(from).or_insert_with(BTreeSet::new).extend(deps);
    }
    graph
}

/// Every package `root` links, transitively, through normal dependencies.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    assert!(graph.contains_key(root), "{root} is not in the workspace");
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_owned()];
    while let Some(p) = todo.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

/// The forbidden packages `root` links, with nothing found meaning the rule holds.
fn forbidden_in(root: &str, forbidden: &[&str]) -> Vec<String> {
    let linked = closure(&normal_graph(), root);
    forbidden
        .iter()
        .filter(|f| linked.contains(**f))
        .map(|f| (*f).to_owned())
        .collect()
}

const SERVERS: &[&str] = &[
    "sealgrid-coordinator",
    "sealgrid-trustee",
    "sealgrid-local",
    "redb",
];

#[test]
fn the_audit_links_no_server() {
    assert_eq!(
        forbidden_in("sealgrid-audit", SERVERS),
        Vec::<String>::new()
    );
}

#[test]
fn the_wallet_links_no_server() {
    assert_eq!(
        forbidden_in("sealgrid-wallet", SERVERS),
        Vec::<String>::new()
    );
}

#[test]
fn the_market_description_links_no_server_and_no_client_crate() {
    let mut forbidden = SERVERS.to_vec();
    forbidden.extend(["sealgrid-wallet", "sealgrid-audit"]);
    assert_eq!(
        forbidden_in("sealgrid-market", &forbidden),
        Vec::<String>::new()
    );
}

#[test]
fn the_coordinator_reaches_trustees_through_the_client_only() {
    assert_eq!(
        forbidden_in(
            "sealgrid-coordinator",
            &["sealgrid-trustee", "sealgrid-local"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn no_crate_links_the_test_kit() {
    // The test kit is a dev-dependency only: no library or binary links test fixtures.
    let graph = normal_graph();
    let linking: Vec<&String> = graph
        .keys()
        .filter(|p| closure(&graph, p).contains("sealgrid-testkit"))
        .collect();
    assert_eq!(linking, Vec::<&String>::new());
}

#[test]
fn the_rule_sees_a_forbidden_edge() {
    // The checker itself: the local market does link the coordinator and the trustee
    // service, and through the coordinator its store, so a rule written against it must
    // report all three (a checker that read no edges would pass every rule above).
    assert_eq!(
        forbidden_in("sealgrid-local", SERVERS),
        vec![
            "sealgrid-coordinator".to_owned(),
            "sealgrid-trustee".to_owned(),
            "redb".to_owned()
        ]
    );
}
