//! Phase 2 (per circuit): `new`, `contribute`, `beacon`, `verify`, and the export to the
//! prover's key store, all on snarkjs's `.zkey`.
//!
//! A contribution with secret `x` multiplies `delta` (G1 and G2) by `x` and the L and H
//! sections by `1/x`, and proves knowledge of `x`: `s` and `s x` in G1 (`s` random) and
//! `h x` in G2, where `h = hash_to_g2(transcript)` and the transcript hashes the circuit
//! hash, every earlier contribution and `s, s x`. Nothing else changes.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, Zero};
use blake2::Digest;
use rayon::prelude::*;
use sha2::Sha256;

use crate::encoding::{
    digest, fr_to_zkey_coeff, g1_uncompressed, g2_uncompressed, generators, hash_to_g2,
    random_scalars, same_ratio, ChaCha, Hash64, Hasher,
};
use crate::ptau::{Ptau, LAGRANGE_ALPHA_G1, LAGRANGE_BETA_G1, LAGRANGE_G1, LAGRANGE_G2, TAU_G1};
use crate::r1cs::R1cs;
use crate::zkey::{Contribution, ContributionKind, Zkey};
use crate::CeremonyError;

/// Reports the step under way (for a spinner); the library prints nothing.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// A progress sink that ignores everything.
pub fn quiet(_: &str) {}

fn lincomb<G: CurveGroup<ScalarField = Fr> + VariableBaseMSM>(
    bases: &[G::Affine],
    terms: &[(usize, Fr)],
) -> G {
    match terms {
        [] => G::zero(),
        [(i, v)] if v.is_one() => bases[*i].into_group(),
        [(i, v)] => bases[*i].into_group() * v,
        _ => {
            let b: Vec<G::Affine> = terms.iter().map(|(i, _)| bases[*i]).collect();
            let s: Vec<Fr> = terms.iter().map(|(_, v)| *v).collect();
            G::msm_unchecked(&b, &s)
        }
    }
}

/// Points of the H-query hashed into the circuit hash: `tau^(i+d) - tau^i` for
/// `i < d - 1`, except that snarkjs hashes in chunks of 2^14 points and rounds the count
/// up to whole chunks when there is more than one.
fn hashed_h_points(d: usize) -> usize {
    const CHUNK: usize = 1 << 14;
    if d - 1 <= CHUNK {
        d - 1
    } else {
        (d - 1).div_ceil(CHUNK) * CHUNK
    }
}

fn hash_u32(h: &mut Hasher, v: usize) {
    h.update((v as u32).to_be_bytes());
}

/// The initial `.zkey` of `r1cs` from the prepared phase-1 file `ptau`: snarkjs's
/// `zkey new`, byte for byte. Its circuit hash binds the key to the R1CS and to the
/// phase-1 powers. Runs on a thread pool of its own whose workers have 64 MiB stacks:
/// the multi-scalar multiplications of wires with many terms recurse deeper than
/// rayon's default 2 MiB.
pub fn new_zkey(r1cs: &R1cs, ptau: &Ptau, progress: Progress<'_>) -> Result<Zkey, CeremonyError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(64 << 20)
        .build()
        .map_err(|e| CeremonyError::Ptau(format!("starting worker threads: {e}")))?;
    pool.install(|| new_zkey_in_pool(r1cs, ptau, progress))
}

fn new_zkey_in_pool(
    r1cs: &R1cs,
    ptau: &Ptau,
    progress: Progress<'_>,
) -> Result<Zkey, CeremonyError> {
    let bad = |e: String| CeremonyError::Ptau(e);
    let d = r1cs.domain_size();
    let cir_power = d.trailing_zeros();
    if cir_power > ptau.power {
        return Err(CeremonyError::CircuitTooBig {
            needed: cir_power,
            power: ptau.power,
        });
    }
    if !ptau.is_prepared() {
        return Err(CeremonyError::NotPrepared);
    }
    let n_hashed = hashed_h_points(d);
    if n_hashed + d > (1usize << (ptau.power + 1)) - 1 {
        return Err(CeremonyError::Ptau(format!(
            "a circuit of domain 2^{cir_power} needs a phase-1 file of power at least {} \
             (snarkjs hashes one point past 2^{}): use a larger file",
            cir_power + 1,
            ptau.power
        )));
    }
    let np = r1cs.n_public() as usize;
    let nv = r1cs.n_wires as usize;
    let m = r1cs.constraints.len();

    progress("reading the Lagrange basis");
    let off = d - 1;
    let l_tau = ptau.g1(LAGRANGE_G1, off, d).map_err(bad)?;
    let l_tau2 = ptau.g2(LAGRANGE_G2, off, d).map_err(bad)?;
    let l_alpha = ptau.g1(LAGRANGE_ALPHA_G1, off, d).map_err(bad)?;
    let l_beta = ptau.g1(LAGRANGE_BETA_G1, off, d).map_err(bad)?;

    let mut a_terms: Vec<Vec<(usize, Fr)>> = vec![Vec::new(); nv];
    let mut b_terms: Vec<Vec<(usize, Fr)>> = vec![Vec::new(); nv];
    let mut c_terms: Vec<Vec<(usize, Fr)>> = vec![Vec::new(); nv];
    for (ci, [a, b, c]) in r1cs.constraints.iter().enumerate() {
        for (w, v) in a {
            a_terms[*w as usize].push((ci, *v));
        }
        for (w, v) in b {
            b_terms[*w as usize].push((ci, *v));
        }
        for (w, v) in c {
            c_terms[*w as usize].push((ci, *v));
        }
    }
    let coeff_section = coefficients(r1cs);

    progress("computing the A, B and C points");
    let a: Vec<G1Projective> = (0..nv)
        .into_par_iter()
        .map(|s| {
            let mut p: G1Projective = lincomb(&l_tau, &a_terms[s]);
            if s <= np {
                p += l_tau[m + s];
            }
            p
        })
        .collect();
    let b1: Vec<G1Projective> = (0..nv)
        .into_par_iter()
        .map(|s| lincomb(&l_tau, &b_terms[s]))
        .collect();
    let b2: Vec<G2Projective> = (0..nv)
        .into_par_iter()
        .map(|s| lincomb(&l_tau2, &b_terms[s]))
        .collect();
    let k: Vec<G1Projective> = (0..nv)
        .into_par_iter()
        .map(|s| {
            let mut p: G1Projective = lincomb(&l_beta, &a_terms[s]);
            p += lincomb::<G1Projective>(&l_alpha, &b_terms[s]);
            p += lincomb::<G1Projective>(&l_tau, &c_terms[s]);
            if s <= np {
                p += l_beta[m + s];
            }
            p
        })
        .collect();
    let a = G1Projective::normalize_batch(&a);
    let b1 = G1Projective::normalize_batch(&b1);
    let b2 = G2Projective::normalize_batch(&b2);
    let k = G1Projective::normalize_batch(&k);
    let ic = k[..=np].to_vec();
    let c = k[np + 1..].to_vec();

    progress("reading the H points");
    let odd = ptau.g1(LAGRANGE_G1, 2 * d - 1, 2 * d).map_err(bad)?;
    let h: Vec<G1Affine> = odd.iter().skip(1).step_by(2).copied().collect();

    let alpha_g1 = ptau.g1(crate::ptau::ALPHA_TAU_G1, 0, 1).map_err(bad)?[0];
    let beta_g1 = ptau.g1(crate::ptau::BETA_TAU_G1, 0, 1).map_err(bad)?[0];
    let beta_g2 = ptau.g2(crate::ptau::BETA_G2, 0, 1).map_err(bad)?[0];
    let (g1, g2) = generators();

    progress("hashing the circuit");
    let mut hs = Hasher::default();
    hs.update(g1_uncompressed(&alpha_g1));
    hs.update(g1_uncompressed(&beta_g1));
    hs.update(g2_uncompressed(&beta_g2));
    hs.update(g2_uncompressed(&g2));
    hs.update(g1_uncompressed(&g1));
    hs.update(g2_uncompressed(&g2));
    hash_u32(&mut hs, ic.len());
    for p in &ic {
        hs.update(g1_uncompressed(p));
    }
    hash_u32(&mut hs, d - 1);
    let taus = ptau.g1(TAU_G1, 0, n_hashed + d).map_err(bad)?;
    let diffs: Vec<G1Projective> = (0..n_hashed)
        .into_par_iter()
        .map(|i| taus[i + d].into_group() - taus[i])
        .collect();
    for p in G1Projective::normalize_batch(&diffs) {
        hs.update(g1_uncompressed(&p));
    }
    hash_u32(&mut hs, c.len());
    for p in &c {
        hs.update(g1_uncompressed(p));
    }
    for pts in [&a, &b1] {
        hash_u32(&mut hs, pts.len());
        for p in pts.iter() {
            hs.update(g1_uncompressed(p));
        }
    }
    hash_u32(&mut hs, b2.len());
    for p in &b2 {
        hs.update(g2_uncompressed(p));
    }
    Ok(Zkey {
        n_vars: nv as u32,
        n_public: np as u32,
        domain_size: d as u32,
        alpha_g1,
        beta_g1,
        beta_g2,
        gamma_g2: g2,
        delta_g1: g1,
        delta_g2: g2,
        ic,
        coeffs: coeff_section,
        a,
        b1,
        b2,
        c,
        h,
        cs_hash: digest(hs),
        contributions: Vec::new(),
    })
}

/// A zkey's section 4 for `r1cs`: the `A` and `B` terms of each constraint in order
/// (`A` first), then `A[m + i][i] = 1` for each public wire `i` (the constant one
/// included).
pub fn coefficients(r1cs: &R1cs) -> Vec<u8> {
    let m = r1cs.constraints.len();
    let np = r1cs.n_public() as usize;
    let mut out = vec![0u8; 4];
    let mut n = 0u32;
    let mut entry = |matrix: u32, c: usize, w: u32, v: &Fr, out: &mut Vec<u8>| {
        out.extend_from_slice(&matrix.to_le_bytes());
        out.extend_from_slice(&(c as u32).to_le_bytes());
        out.extend_from_slice(&w.to_le_bytes());
        fr_to_zkey_coeff(v, out);
        n += 1;
    };
    for (ci, [a, b, _]) in r1cs.constraints.iter().enumerate() {
        for (w, v) in a {
            entry(0, ci, *w, v, &mut out);
        }
        for (w, v) in b {
            entry(1, ci, *w, v, &mut out);
        }
    }
    for s in 0..=np {
        entry(0, m + s, s as u32, &Fr::one(), &mut out);
    }
    out[..4].copy_from_slice(&n.to_le_bytes());
    out
}

/// A `.zkey` holding an arkworks proving key made for `r1cs` (for example by
/// [`sealgrid_prover::KeyStore::setup`], a single party's setup): snarkjs can prove with
/// it. It has no circuit hash (zeros) and no contribution, so `verify` refuses it: it is
/// for interoperability and benchmarks, not a ceremony's output.
pub fn zkey_from_proving_key(
    pk: &sealgrid_prover::ProvingKey,
    r1cs: &R1cs,
) -> Result<Zkey, CeremonyError> {
    let np = r1cs.n_public() as usize;
    if pk.vk.gamma_abc_g1.len() != np + 1
        || pk.a_query.len() != r1cs.n_wires as usize
        || pk.h_query.len() != r1cs.domain_size()
    {
        return Err(invalid(
            "the proving key does not fit this R1CS (or was not made for snarkjs's reduction)",
        ));
    }
    Ok(Zkey {
        n_vars: r1cs.n_wires,
        n_public: np as u32,
        domain_size: r1cs.domain_size() as u32,
        alpha_g1: pk.vk.alpha_g1,
        beta_g1: pk.beta_g1,
        beta_g2: pk.vk.beta_g2,
        gamma_g2: pk.vk.gamma_g2,
        delta_g1: pk.delta_g1,
        delta_g2: pk.vk.delta_g2,
        ic: pk.vk.gamma_abc_g1.clone(),
        coeffs: coefficients(r1cs),
        a: pk.a_query.clone(),
        b1: pk.b_g1_query.clone(),
        b2: pk.b_g2_query.clone(),
        c: pk.l_query.clone(),
        h: pk.h_query.clone(),
        cs_hash: [0; 64],
        contributions: Vec::new(),
    })
}

/// The transcript hasher after the circuit hash and every contribution so far.
fn transcript_hasher(zkey: &Zkey) -> Hasher {
    let mut h = Hasher::default();
    h.update(zkey.cs_hash);
    for c in &zkey.contributions {
        c.hash_pub_key(&mut h);
    }
    h
}

fn scale_g1(points: &[G1Affine], x: Fr) -> Vec<G1Affine> {
    // Projective: arkworks multiplies G1 affine points by plain double-and-add, projective
    // ones with the GLV endomorphism (about twice as fast).
    let p: Vec<G1Projective> = points.par_iter().map(|p| p.into_group() * x).collect();
    G1Projective::normalize_batch(&p)
}

/// Applies secret `x` with proof-of-knowledge base `g1_s`.
fn apply(
    zkey: &Zkey,
    x: Fr,
    g1_s: G1Affine,
    kind: ContributionKind,
    name: Option<&str>,
    progress: Progress<'_>,
) -> (Zkey, Hash64) {
    let mut th = transcript_hasher(zkey);
    let g1_sx = (g1_s * x).into_affine();
    th.update(g1_uncompressed(&g1_s));
    th.update(g1_uncompressed(&g1_sx));
    let transcript = digest(th);
    let g2_spx = (hash_to_g2(&transcript) * x).into_affine();
    let mut out = zkey.clone();
    out.delta_g1 = (zkey.delta_g1 * x).into_affine();
    out.delta_g2 = (zkey.delta_g2 * x).into_affine();
    let x_inv = x.inverse().expect("the secret is non-zero");
    progress("updating the L points");
    out.c = scale_g1(&zkey.c, x_inv);
    progress("updating the H points");
    out.h = scale_g1(&zkey.h, x_inv);
    let c = Contribution {
        delta_after: out.delta_g1,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        kind,
        name: name.map(str::to_owned),
    };
    let hash = c.hash();
    out.contributions.push(c);
    (out, hash)
}

/// A generator seeded by 64 bytes from the OS and the contributor's typed entropy
/// (BLAKE2b of both), as snarkjs seeds its own.
pub fn secret_rng(entropy: &[u8]) -> ChaCha {
    use rand::RngCore;
    let mut os = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut os);
    let mut h = Hasher::default();
    h.update(os);
    h.update(entropy);
    ChaCha::from_hash(&digest(h))
}

/// A contribution with a fresh secret from the OS (mixed with `entropy`). Returns the
/// new key and the contribution hash to publish. The secret lives only in this call's
/// memory: it is never written, printed or returned.
pub fn contribute(
    zkey: &Zkey,
    name: Option<&str>,
    entropy: &[u8],
    progress: Progress<'_>,
) -> (Zkey, Hash64) {
    let mut rng = secret_rng(entropy);
    let mut x = rng.fr();
    while x.is_zero() {
        x = rng.fr();
    }
    let g1_s = rng.g1();
    apply(zkey, x, g1_s, ContributionKind::Secret, name, progress)
}

/// snarkjs's `rngFromBeaconParams`: `2^iterations_exp` rounds of SHA-256 from `hash`,
/// then ChaCha keyed by the result.
pub fn beacon_rng(hash: &[u8], iterations_exp: u8) -> ChaCha {
    let mut cur = hash.to_vec();
    let n = 1u64 << iterations_exp;
    for _ in 0..n {
        cur = Sha256::digest(&cur).to_vec();
    }
    ChaCha::from_hash(&cur)
}

/// Checks beacon parameters as snarkjs does.
pub fn check_beacon(hash: &[u8], iterations_exp: u8) -> Result<(), CeremonyError> {
    if hash.is_empty() || hash.len() > 255 {
        return Err(CeremonyError::Beacon(
            "the beacon must be 1 to 255 bytes".into(),
        ));
    }
    if !(10..=63).contains(&iterations_exp) {
        return Err(CeremonyError::Beacon(
            "the iteration exponent must be 10 to 63".into(),
        ));
    }
    Ok(())
}

/// The final contribution from public randomness (a future block hash, a drand round):
/// anyone can recompute its secret, and `verify` does.
pub fn beacon(
    zkey: &Zkey,
    name: Option<&str>,
    hash: &[u8],
    iterations_exp: u8,
    progress: Progress<'_>,
) -> Result<(Zkey, Hash64), CeremonyError> {
    check_beacon(hash, iterations_exp)?;
    progress("iterating the beacon");
    let mut rng = beacon_rng(hash, iterations_exp);
    let x = rng.fr();
    let g1_s = rng.g1();
    Ok(apply(
        zkey,
        x,
        g1_s,
        ContributionKind::Beacon {
            hash: hash.to_vec(),
            iterations_exp,
        },
        name,
        progress,
    ))
}

/// One verified contribution, for the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionRecord {
    /// Its position, from 1.
    pub index: usize,
    /// The name given, if any.
    pub name: Option<String>,
    /// The contribution hash (what its contributor published).
    pub hash: Hash64,
    /// Whether it is a beacon, with its parameters.
    pub kind: ContributionKind,
}

/// What `verify` established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    /// The circuit hash (BLAKE2b over the initial key: binds the R1CS and phase 1).
    pub cs_hash: Hash64,
    /// Every contribution, oldest first.
    pub contributions: Vec<ContributionRecord>,
}

impl Transcript {
    /// The transcript hash: BLAKE2b of the circuit hash and the contribution hashes in
    /// order (what a market file records for the circuit).
    pub fn hash(&self) -> Hash64 {
        let mut h = Hasher::default();
        h.update(b"sealgrid-ceremony-transcript-v1");
        h.update(self.cs_hash);
        for c in &self.contributions {
            h.update(c.hash);
        }
        digest(h)
    }
}

fn invalid(what: impl Into<String>) -> CeremonyError {
    CeremonyError::Invalid(what.into())
}

/// Checks the contribution chain alone (no R1CS, no phase 1): every transcript hash,
/// every proof of knowledge, every `delta` following from the previous one, beacons
/// recomputed, and the key's `delta` being the last contribution's.
pub fn verify_chain(zkey: &Zkey) -> Result<Transcript, CeremonyError> {
    let (g1, g2) = generators();
    let mut acc = Hasher::default();
    acc.update(zkey.cs_hash);
    let mut cur_delta = g1;
    let mut records = Vec::new();
    for (i, c) in zkey.contributions.iter().enumerate() {
        let n = i + 1;
        let mut ours = acc.clone();
        ours.update(g1_uncompressed(&c.g1_s));
        ours.update(g1_uncompressed(&c.g1_sx));
        if digest(ours) != c.transcript {
            return Err(invalid(format!(
                "contribution {n}: its transcript hash does not follow the circuit hash and \
                 the earlier contributions (broken hash chain)"
            )));
        }
        let g2_sp = hash_to_g2(&c.transcript);
        if !same_ratio(&c.g1_s, &c.g1_sx, &g2_sp, &c.g2_spx) {
            return Err(invalid(format!(
                "contribution {n}: its proof of knowledge is invalid (G1 and G2 keys differ)"
            )));
        }
        if !same_ratio(&cur_delta, &c.delta_after, &g2_sp, &c.g2_spx) {
            return Err(invalid(format!(
                "contribution {n}: its delta does not follow from the previous delta and its key"
            )));
        }
        if let ContributionKind::Beacon {
            hash,
            iterations_exp,
        } = &c.kind
        {
            check_beacon(hash, *iterations_exp)?;
            let mut rng = beacon_rng(hash, *iterations_exp);
            let x = rng.fr();
            let s = rng.g1();
            if s != c.g1_s || (s * x).into_affine() != c.g1_sx {
                return Err(invalid(format!(
                    "contribution {n}: the beacon's key is not the one its parameters give"
                )));
            }
        }
        c.hash_pub_key(&mut acc);
        records.push(ContributionRecord {
            index: n,
            name: c.name.clone(),
            hash: c.hash(),
            kind: c.kind.clone(),
        });
        cur_delta = c.delta_after;
    }
    if zkey.delta_g1 != cur_delta {
        return Err(invalid(
            "delta in G1 is not the last contribution's".to_owned(),
        ));
    }
    if !same_ratio(&g1, &cur_delta, &g2, &zkey.delta_g2) {
        return Err(invalid("delta in G2 does not match delta in G1".to_owned()));
    }
    Ok(Transcript {
        cs_hash: zkey.cs_hash,
        contributions: records,
    })
}

/// `sum r_i a_i` and `sum r_i b_i` for random 64-bit `r_i`.
fn random_combination(a: &[G1Affine], b: &[G1Affine]) -> (G1Affine, G1Affine) {
    let r = random_scalars(a.len());
    (
        G1Projective::msm_unchecked(a, &r).into_affine(),
        G1Projective::msm_unchecked(b, &r).into_affine(),
    )
}

/// [`verify`] plus what snarkjs's `zkey verify` does: the initial key recomputed point
/// by point from the R1CS and the phase-1 file (a multi-scalar multiplication per wire:
/// minutes for the bid circuit, whose inlined linear combinations have 1.4 million
/// terms), its circuit hash compared with the key's, and every section no contribution
/// may change compared byte for byte.
pub fn verify_full(
    r1cs: &R1cs,
    ptau: &Ptau,
    zkey: &Zkey,
    progress: Progress<'_>,
) -> Result<Transcript, CeremonyError> {
    progress("recomputing the initial key from the R1CS and phase 1");
    let init = new_zkey(r1cs, ptau, progress)?;
    progress("checking the key against it");
    if (zkey.n_vars, zkey.n_public, zkey.domain_size)
        != (init.n_vars, init.n_public, init.domain_size)
    {
        return Err(invalid(format!(
            "the key's sizes (wires {}, public {}, domain {}) are not this circuit's \
             ({}, {}, {}): a key for another circuit",
            zkey.n_vars,
            zkey.n_public,
            zkey.domain_size,
            init.n_vars,
            init.n_public,
            init.domain_size
        )));
    }
    if zkey.cs_hash != init.cs_hash {
        return Err(invalid(
            "the key's circuit hash is not that of this R1CS and phase-1 file \
             (another circuit or another phase 1)"
                .to_owned(),
        ));
    }
    let same = [
        ("alpha", zkey.alpha_g1 == init.alpha_g1),
        ("beta (G1)", zkey.beta_g1 == init.beta_g1),
        ("beta (G2)", zkey.beta_g2 == init.beta_g2),
        ("gamma", zkey.gamma_g2 == init.gamma_g2),
        ("the IC section", zkey.ic == init.ic),
        ("the coefficient section", zkey.coeffs == init.coeffs),
        ("the A section", zkey.a == init.a),
        ("the B1 section", zkey.b1 == init.b1),
        ("the B2 section", zkey.b2 == init.b2),
    ];
    if let Some((what, _)) = same.iter().find(|(_, ok)| !ok) {
        return Err(invalid(format!(
            "{what} differs from the one this R1CS and phase-1 file give"
        )));
    }
    progress("checking the contributions");
    let transcript = verify_chain(zkey)?;
    let (_, g2) = generators();
    progress("checking the L and H sections");
    for (what, new, old) in [("L", &zkey.c, &init.c), ("H", &zkey.h, &init.h)] {
        if new.len() != old.len() {
            return Err(invalid(format!("the {what} section has the wrong size")));
        }
        if new.is_empty() {
            continue;
        }
        let (r_old, r_new) = random_combination(old, new);
        // new = old / delta: e(old, 1) = e(new, delta).
        if !same_ratio(&r_old, &r_new, &zkey.delta_g2, &g2) {
            return Err(invalid(format!(
                "the {what} section is not the initial one divided by delta"
            )));
        }
    }
    Ok(transcript)
}

/// `sum_c s_c P_c` for the scalars `s` over the first `s.len()` points.
fn msm_g1(points: &[G1Affine], s: &[Fr]) -> G1Projective {
    G1Projective::msm_unchecked(&points[..s.len()], s)
}

/// The regulator's check, in seconds: the key is the output of this transcript on this
/// R1CS and this phase-1 file. Every contribution is checked ([`verify_chain`]); the
/// sizes, alpha, beta, gamma and the coefficient section are compared with what the
/// R1CS and phase 1 give; and each point section is checked against the phase-1 Lagrange
/// basis by one random linear combination (64-bit coefficients, a false acceptance
/// chance of about 2^-64 per section): `sum_w r_w A_w = sum_c (sum_w r_w A[c][w]) L_c`
/// for A, B (G1 and G2) and IC, and the same for L and H through a pairing with the
/// final delta. B's G2 points are also checked to lie in the subgroup. The circuit hash
/// itself is not recomputed (that needs every initial point: [`verify_full`]); it is a
/// label, bound into every contribution's transcript.
pub fn verify(
    r1cs: &R1cs,
    ptau: &Ptau,
    zkey: &Zkey,
    progress: Progress<'_>,
) -> Result<Transcript, CeremonyError> {
    let bad = |e: String| CeremonyError::Ptau(e);
    let d = r1cs.domain_size();
    if d.trailing_zeros() > ptau.power {
        return Err(CeremonyError::CircuitTooBig {
            needed: d.trailing_zeros(),
            power: ptau.power,
        });
    }
    if !ptau.is_prepared() {
        return Err(CeremonyError::NotPrepared);
    }
    let np = r1cs.n_public() as usize;
    let nv = r1cs.n_wires as usize;
    let m = r1cs.constraints.len();
    if (
        zkey.n_vars as usize,
        zkey.n_public as usize,
        zkey.domain_size as usize,
    ) != (nv, np, d)
    {
        return Err(invalid(format!(
            "the key's sizes (wires {}, public {}, domain {}) are not this circuit's \
             ({nv}, {np}, {d}): a key for another circuit",
            zkey.n_vars, zkey.n_public, zkey.domain_size
        )));
    }
    progress("checking the contributions");
    let transcript = verify_chain(zkey)?;
    progress("checking the key against the R1CS and phase 1");
    if zkey.coeffs != coefficients(r1cs) {
        return Err(invalid(
            "the coefficient section is not this R1CS's: a key for another circuit",
        ));
    }
    let (_, g2) = generators();
    let alpha = ptau.g1(crate::ptau::ALPHA_TAU_G1, 0, 1).map_err(bad)?[0];
    let beta = ptau.g1(crate::ptau::BETA_TAU_G1, 0, 1).map_err(bad)?[0];
    let beta2 = ptau.g2(crate::ptau::BETA_G2, 0, 1).map_err(bad)?[0];
    if zkey.alpha_g1 != alpha || zkey.beta_g1 != beta || zkey.beta_g2 != beta2 {
        return Err(invalid(
            "alpha or beta is not the phase-1 file's: a key from another phase 1",
        ));
    }
    if zkey.gamma_g2 != g2 {
        return Err(invalid("gamma is not the generator"));
    }
    if let Some(i) = zkey
        .b2
        .par_iter()
        .position_any(|p| !p.is_in_correct_subgroup_assuming_on_curve())
    {
        return Err(invalid(format!("B2 point {i} is not in the subgroup")));
    }
    let off = d - 1;
    let l_tau = ptau.g1(LAGRANGE_G1, off, d).map_err(bad)?;
    let l_tau2 = ptau.g2(LAGRANGE_G2, off, d).map_err(bad)?;
    let l_alpha = ptau.g1(LAGRANGE_ALPHA_G1, off, d).map_err(bad)?;
    let l_beta = ptau.g1(LAGRANGE_BETA_G1, off, d).map_err(bad)?;

    // Folds a matrix with the wire weights `r` into per-constraint scalars (the public
    // rows appended to A), restricted to wires `lo..hi`.
    let fold = |r: &[Fr], which: usize, lo: usize, hi: usize| -> Vec<Fr> {
        let mut s: Vec<Fr> = r1cs
            .constraints
            .par_iter()
            .map(|lcs| {
                lcs[which]
                    .iter()
                    .filter(|(w, _)| (lo..hi).contains(&(*w as usize)))
                    .map(|(w, v)| r[*w as usize] * v)
                    .sum()
            })
            .collect();
        s.resize(d, Fr::zero());
        if which == 0 {
            for w in lo..hi.min(np + 1) {
                s[m + w] += r[w];
            }
        }
        s
    };
    let fail = |what: &str| {
        invalid(format!(
            "the {what} section is not the one this R1CS and phase-1 file give"
        ))
    };

    let r = random_scalars(nv);
    let sa = fold(&r, 0, 0, nv);
    if G1Projective::msm_unchecked(&zkey.a, &r) != msm_g1(&l_tau, &sa) {
        return Err(fail("A"));
    }
    let r = random_scalars(nv);
    let sb = fold(&r, 1, 0, nv);
    if G1Projective::msm_unchecked(&zkey.b1, &r) != msm_g1(&l_tau, &sb) {
        return Err(fail("B1"));
    }
    if G2Projective::msm_unchecked(&zkey.b2, &r) != G2Projective::msm_unchecked(&l_tau2, &sb) {
        return Err(fail("B2"));
    }
    // beta A + alpha B + C, over the public wires (IC) and the private ones (L * delta).
    let k = |r: &[Fr], lo: usize, hi: usize| -> G1Projective {
        msm_g1(&l_beta, &fold(r, 0, lo, hi))
            + msm_g1(&l_alpha, &fold(r, 1, lo, hi))
            + msm_g1(&l_tau, &fold(r, 2, lo, hi))
    };
    let r = random_scalars(nv);
    if G1Projective::msm_unchecked(&zkey.ic, &r[..=np]) != k(&r, 0, np + 1) {
        return Err(fail("IC"));
    }
    if nv > np + 1 {
        let lhs = G1Projective::msm_unchecked(&zkey.c, &r[np + 1..]).into_affine();
        let rhs = k(&r, np + 1, nv).into_affine();
        // L = K / delta: e(K, 1) = e(L, delta).
        if !same_ratio(&rhs, &lhs, &zkey.delta_g2, &g2) {
            return Err(fail("L"));
        }
    }
    progress("checking the H section");
    let odd = ptau.g1(LAGRANGE_G1, 2 * d - 1, 2 * d).map_err(bad)?;
    let h0: Vec<G1Affine> = odd.iter().skip(1).step_by(2).copied().collect();
    let r = random_scalars(d);
    let lhs = G1Projective::msm_unchecked(&zkey.h, &r).into_affine();
    let rhs = G1Projective::msm_unchecked(&h0, &r).into_affine();
    if !same_ratio(&rhs, &lhs, &zkey.delta_g2, &g2) {
        return Err(fail("H"));
    }
    Ok(transcript)
}

/// Checks that `zkey` has the sizes of a circuit of `shape` (public inputs, witnesses):
/// a cheap guard before installing it; [`verify`] is the real check.
pub fn check_shape(
    zkey: &Zkey,
    shape: &sealgrid_prover::CircuitShape,
) -> Result<(), CeremonyError> {
    let vars = 1 + shape.public_inputs + shape.witnesses;
    let d = (shape.constraints + shape.public_inputs + 1).next_power_of_two();
    if zkey.n_public as usize != shape.public_inputs
        || zkey.n_vars as usize != vars
        || zkey.domain_size as usize != d
    {
        return Err(invalid(format!(
            "the key (wires {}, public {}, domain {}) is not for this circuit (wires {vars}, \
             public {}, domain {d})",
            zkey.n_vars, zkey.n_public, zkey.domain_size, shape.public_inputs
        )));
    }
    Ok(())
}

/// Installs the key into the prover's key store under `circuit_name` (files named by
/// hash, the manifest recording snarkjs's reduction) after [`check_shape`].
pub fn install(
    store: &sealgrid_prover::KeyStore,
    circuit_name: &str,
    shape: sealgrid_prover::CircuitShape,
    zkey: &Zkey,
) -> Result<sealgrid_prover::KeyPair, CeremonyError> {
    check_shape(zkey, &shape)?;
    Ok(store.install(
        circuit_name,
        shape,
        zkey.proving_key(),
        &sealgrid_prover::NoProgress,
    )?)
}
