use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use rand::SeedableRng;
use sealgrid_circuits::bid::BidCircuit;
use sealgrid_circuits::flow::FlowKeys;
use sealgrid_circuits::market::MarketParams;
use std::time::Instant;

fn main() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let params = MarketParams::default();
    let (keys, _) = FlowKeys::random(17, &mut rng);
    let c = BidCircuit::for_setup(&params, &keys);
    for (label, matrices, check) in [
        ("matrices+check", true, true),
        ("matrices", true, false),
        ("witness only", false, false),
    ] {
        for _ in 0..6 {
            let t = Instant::now();
            let cs = ConstraintSystem::new_ref();
            cs.set_optimization_goal(OptimizationGoal::Constraints);
            cs.set_mode(SynthesisMode::Prove {
                construct_matrices: matrices,
                generate_lc_assignments: false,
            });
            c.clone().generate_constraints(cs.clone()).unwrap();
            cs.finalize();
            if check {
                assert!(cs.is_satisfied().unwrap());
            }
            let t1 = t.elapsed();
            if matrices {
                let _ = cs.to_matrices().unwrap();
            }
            println!(
                "{label}: synth {:?} total {:?} witness {}",
                t1,
                t.elapsed(),
                cs.witness_assignment().map(|w| w.len()).unwrap_or(0)
            );
        }
    }
}
