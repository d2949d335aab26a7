//! The key store: names by hash, atomic writes, refusal of altered keys, caching.

use std::cell::RefCell;
use std::fs;

use sealgrid_prover::{Event, KeyError, KeyId, KeyKind, KeyStore, NoProgress, Phase};
use sha2::{Digest, Sha256};

use crate::common::{rng, MulRange};

fn files(store: &KeyStore) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn setup_writes_keys_named_by_the_hash_of_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let pair = store
        .setup("mul", MulRange::blank(1), &mut rng(1), &NoProgress)
        .unwrap();

    for id in [&pair.id.proving, &pair.id.verifying] {
        let bytes = fs::read(store.path_of(id)).unwrap();
        let full = hex::encode(Sha256::digest(&bytes));
        assert_eq!(id.hash(), &full[..16]);
        assert_eq!(id.circuit(), "mul");
    }
    assert_eq!(pair.id.proving.kind(), KeyKind::Proving);
    assert!(pair.id.proving.file_name().ends_with(".pk"));
    assert!(pair.id.verifying.file_name().ends_with(".vk"));
    assert_eq!(pair.vk, pair.pk.vk);
    assert_eq!(pair.id.shape.public_inputs, 2);
    // Exactly the two keys and the manifest: no temporary file left behind.
    let mut expected = vec![
        pair.id.proving.file_name(),
        pair.id.verifying.file_name(),
        "mul.keys.json".to_owned(),
    ];
    expected.sort();
    assert_eq!(files(&store), expected);
}

#[test]
fn keys_load_back_equal_and_the_pair_is_found_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let pair = store
        .setup("mul", MulRange::blank(1), &mut rng(2), &NoProgress)
        .unwrap();

    let found = store.lookup("mul").unwrap().expect("manifest written");
    assert_eq!(found, pair.id);
    let loaded = store.load_pair(&found, &NoProgress).unwrap();
    assert_eq!(loaded.pk, pair.pk);
    assert_eq!(loaded.vk, pair.vk);
    let pvk = store.load_prepared_verifying_key(&found.verifying).unwrap();
    assert_eq!(pvk.vk, pair.vk);
    assert!(store.lookup("other").unwrap().is_none());
}

#[test]
fn a_key_whose_bytes_differ_from_its_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let pair = store
        .setup("mul", MulRange::blank(1), &mut rng(3), &NoProgress)
        .unwrap();

    for id in [&pair.id.proving, &pair.id.verifying] {
        let path = store.path_of(id);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
    }
    let err = store
        .load_proving_key(&pair.id.proving, &NoProgress)
        .unwrap_err();
    assert!(
        matches!(&err, KeyError::HashMismatch { file, expected, .. }
            if *file == pair.id.proving.file_name() && expected == pair.id.proving.hash()),
        "{err}"
    );
    let err = store.load_verifying_key(&pair.id.verifying).unwrap_err();
    assert!(matches!(err, KeyError::HashMismatch { .. }), "{err}");
    // The cache path refuses too, rather than silently replacing the key.
    let err = store
        .get_or_setup("mul", MulRange::blank(1), &mut rng(4), &NoProgress)
        .unwrap_err();
    assert!(matches!(err, KeyError::HashMismatch { .. }), "{err}");
}

#[test]
fn a_key_copied_under_another_keys_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let one = store
        .setup("one", MulRange::blank(1), &mut rng(5), &NoProgress)
        .unwrap();
    let two = store
        .setup("two", MulRange::blank(1), &mut rng(6), &NoProgress)
        .unwrap();
    fs::copy(
        store.path_of(&two.id.verifying),
        store.path_of(&one.id.verifying),
    )
    .unwrap();
    let err = store.load_verifying_key(&one.id.verifying).unwrap_err();
    assert!(matches!(err, KeyError::HashMismatch { .. }), "{err}");
}

#[test]
fn key_ids_parse_from_file_names_and_reject_anything_else() {
    let id: KeyId = "bid-0123456789abcdef.pk".parse().unwrap();
    assert_eq!(id.circuit(), "bid");
    assert_eq!(id.kind(), KeyKind::Proving);
    assert_eq!(id.hash(), "0123456789abcdef");
    assert_eq!(id.to_string(), "bid-0123456789abcdef.pk");
    let id: KeyId = "settle-v2-0123456789abcdef.vk".parse().unwrap();
    assert_eq!(id.circuit(), "settle-v2");
    assert_eq!(id.kind(), KeyKind::Verifying);

    for bad in [
        "bid-0123456789abcdef",
        "bid-0123456789abcdef.key",
        "bid-0123456789ABCDEF.pk",
        "bid-0123456789abcde.pk",
        "bid0123456789abcdef.pk",
        "-0123456789abcdef.pk",
        "../x-0123456789abcdef.pk",
    ] {
        let err = bad.parse::<KeyId>().unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidKeyFileName(_)),
            "{bad}: {err}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let err = store.load_verifying_key(&"bid-0123456789abcdef.pk".parse().unwrap());
    assert!(matches!(
        err,
        Err(KeyError::WrongKind {
            expected: KeyKind::Verifying,
            ..
        })
    ));
    let err = store.setup("Bad/Name", MulRange::blank(1), &mut rng(7), &NoProgress);
    assert!(matches!(err, Err(KeyError::InvalidCircuitName(_))));
}

#[test]
fn get_or_setup_reuses_a_cached_pair_and_replaces_a_stale_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let events = RefCell::new(Vec::new());
    let record = |e: &Event| events.borrow_mut().push(e.clone());

    let first = store
        .get_or_setup("mul", MulRange::blank(1), &mut rng(8), &record)
        .unwrap();
    let setups = |events: &[Event]| {
        events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Finished {
                        phase: Phase::Setup,
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(setups(&events.borrow()), 1);

    events.borrow_mut().clear();
    let again = store
        .get_or_setup("mul", MulRange::blank(1), &mut rng(9), &record)
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(setups(&events.borrow()), 0);
    assert!(events.borrow().contains(&Event::CacheHit {
        circuit: "mul".into()
    }));

    // The circuit changed shape: the cached pair is stale, replaced and deleted.
    events.borrow_mut().clear();
    let changed = store
        .get_or_setup("mul", MulRange::blank(2), &mut rng(10), &record)
        .unwrap();
    assert_ne!(changed.id.shape, first.id.shape);
    assert_eq!(setups(&events.borrow()), 1);
    assert!(events.borrow().contains(&Event::CacheStale {
        circuit: "mul".into()
    }));
    assert!(!store.path_of(&first.id.proving).exists());
    assert!(!store.path_of(&first.id.verifying).exists());
    assert_eq!(store.lookup("mul").unwrap().unwrap(), changed.id);
}

/// Keys cached before the prover moved to snarkjs's reduction (`qap`) have a manifest
/// without `reduction`: they would make proofs nobody accepts, so they are stale (set up
/// again) and never loaded.
#[test]
fn a_manifest_without_the_reduction_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let pair = store
        .setup("mul", MulRange::blank(1), &mut rng(5), &NoProgress)
        .unwrap();
    assert_eq!(pair.id.reduction, sealgrid_prover::Reduction::Circom);
    let path = dir.path().join("mul.keys.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["reduction"], "circom");
    json.as_object_mut().unwrap().remove("reduction");
    fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();

    let legacy = store.lookup("mul").unwrap().unwrap();
    assert_eq!(legacy.reduction, sealgrid_prover::Reduction::Libsnark);
    assert!(matches!(
        store.load_pair(&legacy, &NoProgress),
        Err(KeyError::Manifest { .. })
    ));
    let again = store
        .get_or_setup("mul", MulRange::blank(1), &mut rng(6), &NoProgress)
        .unwrap();
    assert_ne!(
        again.id.proving, pair.id.proving,
        "the stale pair was reused"
    );
    assert_eq!(again.id.reduction, sealgrid_prover::Reduction::Circom);
}

/// A cached key loaded by `get_or_setup` comes with its circuit's matrices, which the
/// shape check built anyway: the first proof with it is witness-only, and it verifies.
/// A freshly made key does not (its first proof builds them), nor does a key loaded
/// without measuring its circuit.
#[test]
fn a_cached_key_loaded_after_its_shape_check_keeps_the_matrices_and_proves() {
    use sealgrid_prover::prove::{keeps_matrices_for, prove};
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let made = store
        .get_or_setup("mul", MulRange::blank(3), &mut rng(21), &NoProgress)
        .unwrap();
    assert!(
        !keeps_matrices_for(&made.pk),
        "a new key's first proof builds them"
    );
    let plain = store.load_pair(&made.id, &NoProgress).unwrap();
    assert!(!keeps_matrices_for(&plain.pk));
    let loaded = store
        .get_or_setup("mul", MulRange::blank(3), &mut rng(22), &NoProgress)
        .unwrap();
    assert_eq!(loaded.id, made.id);
    assert!(
        keeps_matrices_for(&loaded.pk),
        "the shape check's matrices are kept"
    );
    let circuit = MulRange::new(5, 9, 3);
    let x = circuit.public_inputs();
    let st = prove(&loaded.pk, circuit, &mut rng(23), &NoProgress).unwrap();
    assert_eq!(st.public_inputs, x);
    let pvk = sealgrid_prover::verify::prepare(&loaded.vk);
    sealgrid_prover::verify::verify(&pvk, &st.proof, &x).expect("the proof verifies");
    // and a wrong witness is still refused on the kept matrices
    let mut bad = MulRange::new(5, 9, 3);
    bad.product = Some(bad.product.unwrap() + ark_bn254::Fr::from(1u64));
    assert!(prove(&loaded.pk, bad, &mut rng(24), &NoProgress).is_err());
}
