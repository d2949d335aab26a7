//! The distributed DKG with each trustee in its own process (`sealgrid-trustee keygen`,
//! then `sealgrid-trustee dkg` three times at once, n = 3, t = 2), one of them cheating:
//! trustee 3 sends trustee 1 a bad share (a test-only switch compiled into debug builds
//! only) and stands by it when trustee 1 complains. Trustee 3 is
//! disqualified, every trustee writes the same `setup.json` byte for byte, and two honest
//! trustees' shares decrypt an encryption under the new flow keys.

use ark_ec::CurveGroup;
use sealgrid_circuits::babyjubjub::{base8, Scalar};
use sealgrid_committee::decrypt::{combine, partial_decrypt};
use sealgrid_committee::dkg::Disqualification;
use sealgrid_committee::dleq::DecryptionContext;
use sealgrid_committee::TrusteeId;
use sealgrid_trustee::store::{self, Passphrase};
use sealgrid_trustee::{load_trustee, TrusteeSetup};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sealgrid-trustee");

fn passphrase(i: u16) -> String {
    format!("trustee {i}'s own passphrase")
}

#[test]
fn a_trustee_that_deals_a_bad_share_is_disqualified_and_the_others_agree_on_the_committee() {
    let dir = tempfile::tempdir().unwrap();
    let board = dir.path().join("board");
    let share = |i: u16| dir.path().join(format!("trustee-{i}.share"));
    let out = |i: u16| dir.path().join(format!("out-{i}"));

    // each trustee makes its own signing key
    let mut peers = Vec::new();
    for i in 1..=3u16 {
        let o = Command::new(BIN)
            .args(["keygen", "--id", &i.to_string(), "--share-file"])
            .arg(share(i))
            .env("SEALGRID_TRUSTEE_PASSPHRASE", passphrase(i))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = String::from_utf8(o.stdout).unwrap();
        let addr = line
            .trim()
            .strip_prefix(&format!("trustee {i} address "))
            .expect(&line)
            .to_owned();
        peers.push(addr);
    }
    // keygen never overwrites a share file
    let again = Command::new(BIN)
        .args(["keygen", "--id", "1", "--share-file"])
        .arg(share(1))
        .env("SEALGRID_TRUSTEE_PASSPHRASE", passphrase(1))
        .output()
        .unwrap();
    assert!(!again.status.success());

    // three processes at once; trustee 3 cheats against trustee 1
    let peers = peers.join(",");
    let children: Vec<_> = (1..=3u16)
        .map(|i| {
            let mut cmd = Command::new(BIN);
            cmd.args(["dkg", "--id", &i.to_string(), "--n", "3", "--t", "2"])
                .args(["--peers", &peers, "--session", "test-committee"])
                .arg("--board")
                .arg(&board)
                .arg("--share-file")
                .arg(share(i))
                .arg("--out")
                .arg(out(i))
                .env("SEALGRID_TRUSTEE_PASSPHRASE", passphrase(i))
                .env("RUST_LOG", "info")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if i == 3 {
                cmd.env("SEALGRID_DKG_CHEAT_BAD_SHARE_TO", "1");
            }
            cmd.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (i, o) in outputs.iter().enumerate() {
        assert!(
            o.status.success(),
            "trustee {}: {}",
            i + 1,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(String::from_utf8_lossy(&outputs[2].stderr).contains("CHEATING"));
    let stdout1 = String::from_utf8_lossy(&outputs[0].stdout);
    assert!(
        stdout1.contains("qualified [1, 2]") && stdout1.contains("disqualified trustee 3"),
        "{stdout1}"
    );

    // the same public files at every trustee, the cheater's included
    let files: Vec<(Vec<u8>, Vec<u8>)> = (1..=3u16)
        .map(|i| {
            (
                std::fs::read(out(i).join("setup.json")).unwrap(),
                std::fs::read(out(i).join("addresses.json")).unwrap(),
            )
        })
        .collect();
    assert_eq!(files[0], files[1]);
    assert_eq!(files[0], files[2]);
    let setup: TrusteeSetup = serde_json::from_slice(&files[0].0).unwrap();
    let q = &setup.committee.qualification;
    assert_eq!(q.qualified, vec![TrusteeId(1), TrusteeId(2)]);
    assert_eq!(
        q.disqualified,
        vec![(TrusteeId(3), Disqualification::BadAnswer(TrusteeId(1)))]
    );
    let addresses: Vec<String> = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(addresses.join(",").to_lowercase(), peers.to_lowercase());

    // each share opens only with its own trustee's passphrase, and matches the keys
    for i in 1..=3u16 {
        assert!(load_trustee(&share(i), &Passphrase::new(passphrase(i)).unwrap(), &setup).is_ok());
        assert!(store::open(&share(i), &Passphrase::new(passphrase(i % 3 + 1)).unwrap()).is_err());
    }
    // the bundles travel sealed: a bundle's JSON (`"recipient"`) is in no share message,
    // only in the public answer of the cheater to trustee 1's complaint
    let needle = hex::encode(b"\"recipient\"");
    let mut shares_seen = 0;
    for e in std::fs::read_dir(&board).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if name.starts_with("share-") {
            shares_seen += 1;
            assert!(
                !text.contains(&needle),
                "{name} holds a bundle in the clear"
            );
        }
        assert_eq!(text.contains(&needle), name == "answers-3-0.json", "{name}");
    }
    assert_eq!(shares_seen, 6);

    // two honest trustees decrypt an encryption under the new flow keys
    let keys = setup.committee.flow_keys();
    let messages: Vec<u64> = (0..keys.len() as u64).map(|j| 1000 + 7 * j).collect();
    let r = Scalar::from(123_456_789u64);
    let ct = keys.encrypt(&messages, &r).unwrap();
    let slots: Vec<u32> = (0..keys.len() as u32).collect();
    let context = DecryptionContext::Clearing { round: 1 };
    let mut rng = rand::rngs::OsRng;
    let partials: Vec<_> = [1u16, 2]
        .iter()
        .map(|&i| {
            let secrets = store::open(&share(i), &Passphrase::new(passphrase(i)).unwrap()).unwrap();
            partial_decrypt(
                &secrets.key,
                &setup.committee,
                context,
                &ct.c1,
                &slots,
                &mut rng,
            )
            .unwrap()
        })
        .collect();
    let combined = combine(
        &setup.committee,
        &context,
        &ct.c1,
        &ct.c2,
        &slots,
        &partials,
    )
    .unwrap();
    assert!(combined.rejected.is_empty());
    for (m, p) in messages.iter().zip(&combined.points) {
        assert_eq!((base8() * Scalar::from(*m)).into_affine(), *p);
    }
}
