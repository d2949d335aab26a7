//! Measures key sizes, key load times (compressed / uncompressed, validated or not),
//! proving, and single against batch verification, on the tests' circuit.
//!
//! `cargo run -p sealgrid-prover --features key-sizes --example key_sizes -- [squarings] [batch]`

#[path = "../tests/it/common.rs"]
#[allow(dead_code)]
mod common;

use std::time::Instant;

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use sealgrid_prover::{
    batch_verify, prove, verify, CircuitShape, KeyStore, NoProgress, ProvedStatement, ProvingKey,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(20_000, |a| a.parse().expect("squarings"));
    let batch: u64 = args.next().map_or(16, |a| a.parse().expect("batch size"));

    let shape = CircuitShape::of(common::MulRange::blank(rounds)).expect("shape");
    println!(
        "circuit: {} constraints, {} public inputs, {} witnesses",
        shape.constraints, shape.public_inputs, shape.witnesses
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let store = KeyStore::open(dir.path()).expect("store");
    let t = Instant::now();
    let pair = store
        .setup(
            "mul",
            common::MulRange::blank(rounds),
            &mut common::rng(1),
            &NoProgress,
        )
        .expect("setup");
    println!("setup + write: {:.2?}", t.elapsed());

    for (name, compress) in [
        ("uncompressed", Compress::No),
        ("compressed", Compress::Yes),
    ] {
        let mut bytes = Vec::new();
        pair.pk
            .serialize_with_mode(&mut bytes, compress)
            .expect("serialise");
        let vk_size = pair.vk.serialized_size(compress);
        for (checked, validate) in [("unchecked", Validate::No), ("checked", Validate::Yes)] {
            let t = Instant::now();
            let pk = ProvingKey::deserialize_with_mode(&bytes[..], compress, validate)
                .expect("deserialise");
            println!(
                "pk {name}: {} bytes (vk {vk_size}), load {checked}: {:.2?}",
                bytes.len(),
                t.elapsed()
            );
            assert_eq!(pk, pair.pk);
        }
    }
    let t = Instant::now();
    let _pk = store
        .load_proving_key(&pair.id.proving, &NoProgress)
        .expect("load");
    println!(
        "KeyStore::load_proving_key (read + sha256 + load): {:.2?}",
        t.elapsed()
    );

    let mut rng = common::rng(2);
    let phases = |e: &sealgrid_prover::Event| {
        if matches!(e, sealgrid_prover::Event::Finished { .. }) {
            println!("  {e}");
        }
    };
    prove(
        &pair.pk,
        common::MulRange::new(3, 5, rounds),
        &mut rng,
        &phases,
    )
    .expect("prove");
    let t = Instant::now();
    let _ark = ark_groth16::Groth16::<sealgrid_prover::Curve>::create_random_proof_with_reduction(
        common::MulRange::new(3, 5, rounds),
        &pair.pk,
        &mut rng,
    )
    .expect("ark prove");
    println!("ark-groth16's own prove: {:.2?}", t.elapsed());
    let t = Instant::now();
    let stmts: Vec<ProvedStatement> = (0..batch)
        .map(|i| {
            prove(
                &pair.pk,
                common::MulRange::new(3 + i, 5, rounds),
                &mut rng,
                &NoProgress,
            )
            .expect("prove")
        })
        .collect();
    println!("prove: {:.2?} per proof", t.elapsed() / batch as u32);

    let pvk = pair.prepared_vk();
    let t = Instant::now();
    for s in &stmts {
        verify(&pvk, &s.proof, &s.public_inputs).expect("verify");
    }
    println!("verify {batch} one by one: {:.2?}", t.elapsed());
    let t = Instant::now();
    batch_verify(
        &pvk,
        stmts.iter().map(|s| (&s.proof, &s.public_inputs[..])),
        &mut rng,
    )
    .expect("batch verify");
    println!("batch_verify {batch}: {:.2?}", t.elapsed());
}
