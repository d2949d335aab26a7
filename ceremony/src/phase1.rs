//! Phase 1 (powers of tau) in snarkjs's `.ptau`: `new`, `contribute`, `beacon`, `verify`
//! and "prepare phase 2" (the Lagrange sections).
//!
//! A contribution with secrets `tau, alpha, beta` multiplies point `i` of the tau
//! sections by `tau^i` (the alpha and beta sections also by `alpha`, `beta`), and
//! publishes for each secret `x` a key `s, s x` (G1, `s` random) and `h x` (G2) with
//! `h = hash_to_g2(BLAKE2b(personalisation || challenge || s || s x))`. The *challenge*
//! chains the contributions: the first is a hash of the blank file, each next one the
//! BLAKE2b of the previous *response* (the hash of the challenge, the new points
//! compressed, and the key) and the new points uncompressed.
//!
//! A contribution record (section 7): `tau G1, tau G2, alpha G1, beta G1, beta G2`
//! (LEM), the key (six G1 then three G2, LEM), the response hasher's state before the
//! key ([`crate::blake2b`]), the next challenge (64 bytes), a `u32` type and parameters
//! as in a zkey contribution.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{One, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use blake2::Digest;
use rayon::prelude::*;

use crate::binfile::{BinFile, Reader};
use crate::blake2b::{Blake2b, PARTIAL_LEN};
use crate::encoding::{
    digest, g1_compressed, g1_from_lem, g1_to_lem, g1_uncompressed, g2_compressed, g2_from_lem,
    g2_to_lem, g2_uncompressed, generators, hash_to_g2, random_scalars, same_ratio, ChaCha, Hash64,
    Hasher, G1_SIZE, G2_SIZE,
};
use crate::phase2::{beacon_rng, check_beacon, secret_rng, Progress};
use crate::ptau::{
    header, Ptau, ALPHA_TAU_G1, BETA_G2, BETA_TAU_G1, CONTRIBUTIONS, LAGRANGE_ALPHA_G1,
    LAGRANGE_BETA_G1, LAGRANGE_G1, LAGRANGE_G2, MAX_POWER, TAU_G1, TAU_G2,
};
use crate::zkey::{contribution_params, g1s, g2s, ContributionKind};
use crate::CeremonyError;

/// The public key of one secret.
#[derive(Clone, Debug, PartialEq)]
pub struct PubKey {
    /// `s`.
    pub g1_s: G1Affine,
    /// `s x`.
    pub g1_sx: G1Affine,
    /// `h x`.
    pub g2_spx: G2Affine,
}

/// One phase-1 contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct PtauContribution {
    /// `tau G1` after it.
    pub tau_g1: G1Affine,
    /// `tau G2` after it.
    pub tau_g2: G2Affine,
    /// `alpha G1` after it.
    pub alpha_g1: G1Affine,
    /// `beta G1` after it.
    pub beta_g1: G1Affine,
    /// `beta G2` after it.
    pub beta_g2: G2Affine,
    /// Keys for tau, alpha, beta.
    pub keys: [PubKey; 3],
    /// The response hasher's state before the key.
    pub partial_hash: [u8; PARTIAL_LEN],
    /// The challenge for the next contributor.
    pub next_challenge: Hash64,
    /// Secret or beacon.
    pub kind: ContributionKind,
    /// The contributor's name.
    pub name: Option<String>,
}

impl PtauContribution {
    fn key_uncompressed(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for k in &self.keys {
            v.extend_from_slice(&g1_uncompressed(&k.g1_s));
            v.extend_from_slice(&g1_uncompressed(&k.g1_sx));
        }
        for k in &self.keys {
            v.extend_from_slice(&g2_uncompressed(&k.g2_spx));
        }
        v
    }

    /// The response hash: the contribution hash its contributor publishes.
    pub fn response_hash(&self) -> Hash64 {
        let mut h = Blake2b::import(&self.partial_hash).expect("checked when read");
        h.update(&self.key_uncompressed());
        h.finalize()
    }

    fn write(&self, out: &mut Vec<u8>) {
        g1_to_lem(&self.tau_g1, out);
        g2_to_lem(&self.tau_g2, out);
        g1_to_lem(&self.alpha_g1, out);
        g1_to_lem(&self.beta_g1, out);
        g2_to_lem(&self.beta_g2, out);
        for k in &self.keys {
            g1_to_lem(&k.g1_s, out);
            g1_to_lem(&k.g1_sx, out);
        }
        for k in &self.keys {
            g2_to_lem(&k.g2_spx, out);
        }
        out.extend_from_slice(&self.partial_hash);
        out.extend_from_slice(&self.next_challenge);
        let mut params = Vec::new();
        if let Some(name) = &self.name {
            let mut end = name.len().min(64);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            params.push(1);
            params.push(end as u8);
            params.extend_from_slice(&name.as_bytes()[..end]);
        }
        let kind = match &self.kind {
            ContributionKind::Secret => 0u32,
            ContributionKind::Beacon {
                hash,
                iterations_exp,
            } => {
                params.extend_from_slice(&[2, *iterations_exp, 3, hash.len() as u8]);
                params.extend_from_slice(hash);
                1
            }
        };
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(params.len() as u32).to_le_bytes());
        out.extend_from_slice(&params);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let e = |e: crate::encoding::EncodingError| e.to_string();
        let g1 = |r: &mut Reader<'_>| g1_from_lem(r.take(G1_SIZE)?, "a contribution").map_err(e);
        let g2 =
            |r: &mut Reader<'_>| g2_from_lem(r.take(G2_SIZE)?, "a contribution", true).map_err(e);
        let tau_g1 = g1(r)?;
        let tau_g2 = g2(r)?;
        let alpha_g1 = g1(r)?;
        let beta_g1 = g1(r)?;
        let beta_g2 = g2(r)?;
        let mut g1k = Vec::new();
        for _ in 0..6 {
            g1k.push(g1(r)?);
        }
        let mut g2k = Vec::new();
        for _ in 0..3 {
            g2k.push(g2(r)?);
        }
        let keys = [0, 1, 2].map(|i| PubKey {
            g1_s: g1k[2 * i],
            g1_sx: g1k[2 * i + 1],
            g2_spx: g2k[i],
        });
        let partial_hash: [u8; PARTIAL_LEN] = r.take(PARTIAL_LEN)?.try_into().expect("len");
        Blake2b::import(&partial_hash).ok_or("a contribution's partial hash is invalid")?;
        let next_challenge: Hash64 = r.take(64)?.try_into().expect("64 bytes");
        let kind = r.u32()?;
        let len = r.u32()? as usize;
        let (name, kind) = contribution_params(kind, r.take(len)?)?;
        Ok(PtauContribution {
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2,
            keys,
            partial_hash,
            next_challenge,
            kind,
            name,
        })
    }
}

/// The contributions recorded in a `.ptau`.
pub fn contributions(ptau: &Ptau) -> Result<Vec<PtauContribution>, CeremonyError> {
    let sec = ptau
        .file
        .section(CONTRIBUTIONS)
        .map_err(CeremonyError::Ptau)?;
    let mut r = Reader::new(sec, "the ptau contributions");
    let n = r.u32().map_err(CeremonyError::Ptau)?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(PtauContribution::read(&mut r).map_err(CeremonyError::Ptau)?);
    }
    r.finish().map_err(CeremonyError::Ptau)?;
    Ok(out)
}

fn contributions_section(cs: &[PtauContribution]) -> Vec<u8> {
    let mut out = (cs.len() as u32).to_le_bytes().to_vec();
    for c in cs {
        c.write(&mut out);
    }
    out
}

fn counts(power: u32) -> [(u32, usize); 5] {
    let n = 1usize << power;
    [
        (TAU_G1, 2 * n - 1),
        (TAU_G2, n),
        (ALPHA_TAU_G1, n),
        (BETA_TAU_G1, n),
        (BETA_G2, 1),
    ]
}

fn is_g2(section: u32) -> bool {
    section == TAU_G2 || section == BETA_G2
}

/// The first challenge: BLAKE2b of the BLAKE2b of nothing and the blank file's points
/// (every point the generator), for `power`.
pub fn first_challenge(power: u32) -> Hash64 {
    let (g1, g2) = generators();
    let (u1, u2) = (g1_uncompressed(&g1), g2_uncompressed(&g2));
    let mut h = Hasher::default();
    h.update(digest(Hasher::default()));
    for (s, n) in counts(power) {
        let block: &[u8] = if is_g2(s) { &u2 } else { &u1 };
        let many = block.repeat(n.min(4096));
        let mut left = n;
        while left > 0 {
            let k = left.min(4096);
            h.update(&many[..k * block.len()]);
            left -= k;
        }
    }
    digest(h)
}

/// A blank phase-1 file of `power` (every point the generator, no contribution).
pub fn new_ptau(power: u32) -> Result<Ptau, CeremonyError> {
    if power == 0 || power > MAX_POWER {
        return Err(CeremonyError::Ptau(format!(
            "power must be 1 to {MAX_POWER}"
        )));
    }
    let (g1, g2) = generators();
    let mut f = BinFile::new(b"ptau", 1);
    f.push(1, header(power, power));
    for (s, n) in counts(power) {
        if is_g2(s) {
            f.push(s, g2s(&vec![g2; n]));
        } else {
            f.push(s, g1s(&vec![g1; n]));
        }
    }
    f.push(CONTRIBUTIONS, 0u32.to_le_bytes().to_vec());
    Ptau::from_bin(f).map_err(CeremonyError::Ptau)
}

fn g2sp(personalisation: u8, challenge: &Hash64, s: &G1Affine, sx: &G1Affine) -> G2Affine {
    let mut h = Hasher::default();
    h.update([personalisation]);
    h.update(challenge);
    h.update(g1_uncompressed(s));
    h.update(g1_uncompressed(sx));
    hash_to_g2(&digest(h))
}

fn powers(first: Fr, x: Fr, n: usize) -> Vec<Fr> {
    let mut v = Vec::with_capacity(n);
    let mut t = first;
    for _ in 0..n {
        v.push(t);
        t *= x;
    }
    v
}

fn scale_each_g1(p: &[G1Affine], s: &[Fr]) -> Vec<G1Affine> {
    let v: Vec<G1Projective> = p
        .par_iter()
        .zip(s)
        .map(|(p, s)| p.into_group() * s)
        .collect();
    G1Projective::normalize_batch(&v)
}

fn scale_each_g2(p: &[G2Affine], s: &[Fr]) -> Vec<G2Affine> {
    let v: Vec<G2Projective> = p
        .par_iter()
        .zip(s)
        .map(|(p, s)| p.into_group() * s)
        .collect();
    G2Projective::normalize_batch(&v)
}

fn last_challenge(ptau: &Ptau, cs: &[PtauContribution]) -> Hash64 {
    cs.last()
        .map(|c| c.next_challenge)
        .unwrap_or_else(|| first_challenge(ptau.ceremony_power))
}

fn apply(
    ptau: &Ptau,
    rng: &mut ChaCha,
    kind: ContributionKind,
    name: Option<&str>,
    progress: Progress<'_>,
) -> Result<(Ptau, Hash64), CeremonyError> {
    if ptau.power != ptau.ceremony_power {
        return Err(CeremonyError::Ptau(
            "this file was truncated from a larger ceremony: contribute to the original".into(),
        ));
    }
    let mut cs = contributions(ptau)?;
    let challenge = last_challenge(ptau, &cs);
    // snarkjs's createPTauKey: the three secrets, then each key.
    let secrets = [rng.fr(), rng.fr(), rng.fr()];
    if secrets.iter().any(|x| x.is_zero()) {
        return Err(CeremonyError::Ptau("a zero secret was drawn".into()));
    }
    let keys = [0usize, 1, 2].map(|i| {
        let g1_s = rng.g1();
        let g1_sx = (g1_s * secrets[i]).into_affine();
        let g2_spx = (g2sp(i as u8, &challenge, &g1_s, &g1_sx) * secrets[i]).into_affine();
        PubKey {
            g1_s,
            g1_sx,
            g2_spx,
        }
    });
    let [tau, alpha, beta] = secrets;
    let bad = CeremonyError::Ptau;
    let mut f = BinFile::new(b"ptau", 1);
    f.push(1, header(ptau.power, ptau.ceremony_power));
    let mut response = Blake2b::default();
    response.update(&challenge);
    let mut firsts_g1 = Vec::new();
    let mut firsts_g2 = Vec::new();
    for (s, count) in counts(ptau.power) {
        progress(&format!("updating section {s}"));
        let (first, inc) = match s {
            TAU_G1 | TAU_G2 => (Fr::one(), tau),
            ALPHA_TAU_G1 => (alpha, tau),
            _ => (beta, tau),
        };
        let scalars = powers(first, inc, count);
        if is_g2(s) {
            let pts = scale_each_g2(&ptau.g2(s, 0, count).map_err(bad)?, &scalars);
            for p in &pts {
                response.update(&g2_compressed(p));
            }
            firsts_g2.push(pts[..pts.len().min(2)].to_vec());
            f.push(s, g2s(&pts));
        } else {
            let pts = scale_each_g1(&ptau.g1(s, 0, count).map_err(bad)?, &scalars);
            for p in &pts {
                response.update(&g1_compressed(p));
            }
            firsts_g1.push(pts[..pts.len().min(2)].to_vec());
            f.push(s, g1s(&pts));
        }
    }
    let partial_hash = response.export();
    let mut c = PtauContribution {
        tau_g1: firsts_g1[0][1],
        tau_g2: firsts_g2[0][1],
        alpha_g1: firsts_g1[1][0],
        beta_g1: firsts_g1[2][0],
        beta_g2: firsts_g2[1][0],
        keys,
        partial_hash,
        next_challenge: [0; 64],
        kind,
        name: name.map(str::to_owned),
    };
    let response_hash = c.response_hash();
    let mut nh = Hasher::default();
    nh.update(response_hash);
    for (s, _) in counts(ptau.power) {
        if is_g2(s) {
            for p in crate::ptau::decode_g2s(section_of(&f, s)).map_err(bad)? {
                nh.update(g2_uncompressed(&p));
            }
        } else {
            for p in crate::ptau::decode_g1s(section_of(&f, s)).map_err(bad)? {
                nh.update(g1_uncompressed(&p));
            }
        }
    }
    c.next_challenge = digest(nh);
    cs.push(c);
    f.push(CONTRIBUTIONS, contributions_section(&cs));
    Ok((Ptau::from_bin(f).map_err(bad)?, response_hash))
}

fn section_of(f: &BinFile, s: u32) -> &[u8] {
    f.section(s).expect("written above")
}

/// A contribution with fresh secrets from the OS mixed with `entropy`. Returns the new
/// file (without Lagrange sections: prepare again after the last contribution) and the
/// response hash to publish. The secrets are never written, printed or returned.
pub fn contribute(
    ptau: &Ptau,
    name: Option<&str>,
    entropy: &[u8],
    progress: Progress<'_>,
) -> Result<(Ptau, Hash64), CeremonyError> {
    let mut rng = secret_rng(entropy);
    apply(ptau, &mut rng, ContributionKind::Secret, name, progress)
}

/// A beacon contribution (secrets derived from public randomness).
pub fn beacon(
    ptau: &Ptau,
    name: Option<&str>,
    hash: &[u8],
    iterations_exp: u8,
    progress: Progress<'_>,
) -> Result<(Ptau, Hash64), CeremonyError> {
    check_beacon(hash, iterations_exp)?;
    let mut rng = beacon_rng(hash, iterations_exp);
    apply(
        ptau,
        &mut rng,
        ContributionKind::Beacon {
            hash: hash.to_vec(),
            iterations_exp,
        },
        name,
        progress,
    )
}

/// Group iFFT over the domain of size `pts.len()` (a power of two): the Lagrange basis
/// at tau from the powers of tau.
fn lagrange<G>(pts: &[G::Affine]) -> Vec<G::Affine>
where
    G: CurveGroup + ark_poly::domain::DomainCoeff<Fr>,
{
    let mut v: Vec<G> = pts.iter().map(|p| p.into_group()).collect();
    let d = Radix2EvaluationDomain::<Fr>::new(v.len()).expect("a power of two within 2^28");
    d.ifft_in_place(&mut v);
    G::normalize_batch(&v)
}

/// Adds the Lagrange sections 12-15 (snarkjs's `powersoftau prepare phase2`).
pub fn prepare(ptau: &Ptau, progress: Progress<'_>) -> Result<Ptau, CeremonyError> {
    let bad = CeremonyError::Ptau;
    let mut f = BinFile::new(b"ptau", 1);
    for (s, b) in &ptau.file.sections {
        if *s <= CONTRIBUTIONS {
            f.push(*s, b.clone());
        }
    }
    let power = ptau.power;
    for (src, dst) in [
        (TAU_G1, LAGRANGE_G1),
        (TAU_G2, LAGRANGE_G2),
        (ALPHA_TAU_G1, LAGRANGE_ALPHA_G1),
        (BETA_TAU_G1, LAGRANGE_BETA_G1),
    ] {
        let top = if src == TAU_G1 { power + 1 } else { power };
        let mut out = Vec::new();
        for p in 0..=top {
            progress(&format!("section {dst}: domain 2^{p}"));
            let n = 1usize << p;
            if is_g2(src) {
                let pts = ptau.g2(src, 0, n).map_err(bad)?;
                out.extend_from_slice(&g2s(&lagrange::<G2Projective>(&pts)));
            } else {
                let mut pts = ptau.g1(src, 0, n.min(2 * (1 << power) - 1)).map_err(bad)?;
                // The top power of the doubled domain is not in the file: zero, as
                // snarkjs takes it.
                pts.resize(n, G1Affine::zero());
                out.extend_from_slice(&g1s(&lagrange::<G1Projective>(&pts)));
            }
        }
        f.push(dst, out);
    }
    Ptau::from_bin(f).map_err(bad)
}

/// What `verify` established about a phase-1 file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauTranscript {
    /// The power.
    pub power: u32,
    /// Response hashes (what the contributors published), oldest first, with names.
    pub contributions: Vec<(Option<String>, Hash64, ContributionKind)>,
    /// Whether the Lagrange sections are present (and were checked).
    pub prepared: bool,
}

fn invalid(s: impl Into<String>) -> CeremonyError {
    CeremonyError::Invalid(s.into())
}

/// `sum r_i p_i` for random `r` over `p[lo..hi]` and `p[lo+1..hi+1]`.
fn shifted_combination<G: CurveGroup<ScalarField = Fr> + VariableBaseMSM>(
    p: &[G::Affine],
) -> (G::Affine, G::Affine) {
    let n = p.len() - 1;
    let r = random_scalars(n);
    (
        G::msm_unchecked(&p[..n], &r).into_affine(),
        G::msm_unchecked(&p[1..], &r).into_affine(),
    )
}

/// Verifies a phase-1 file as snarkjs's `powersoftau verify` does: every contribution's
/// keys (beacons recomputed) and that each follows the previous one, that the points
/// are successive powers consistent with the last contribution, the challenge chain, and
/// the Lagrange sections if present. A file without contributions is refused.
pub fn verify(ptau: &Ptau, progress: Progress<'_>) -> Result<PtauTranscript, CeremonyError> {
    let bad = CeremonyError::Ptau;
    let cs = contributions(ptau)?;
    if cs.is_empty() {
        return Err(invalid("the file has no contribution"));
    }
    let (g1, g2) = generators();
    let mut prev = (g1, g2, g1, g1, g2, first_challenge(ptau.ceremony_power));
    let mut out = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        let n = i + 1;
        progress(&format!("contribution {n}"));
        let challenge = prev.5;
        if let ContributionKind::Beacon {
            hash,
            iterations_exp,
        } = &c.kind
        {
            check_beacon(hash, *iterations_exp)?;
            let mut rng = beacon_rng(hash, *iterations_exp);
            let xs = [rng.fr(), rng.fr(), rng.fr()];
            for (k, x) in c.keys.iter().zip(xs) {
                let s = rng.g1();
                if k.g1_s != s || k.g1_sx != (s * x).into_affine() {
                    return Err(invalid(format!(
                        "contribution {n}: the beacon's key is not the one its parameters give"
                    )));
                }
            }
        }
        let sp: Vec<G2Affine> = (0..3)
            .map(|i| g2sp(i as u8, &challenge, &c.keys[i].g1_s, &c.keys[i].g1_sx))
            .collect();
        for (i, what) in ["tau", "alpha", "beta"].iter().enumerate() {
            let k = &c.keys[i];
            if !same_ratio(&k.g1_s, &k.g1_sx, &sp[i], &k.g2_spx) {
                return Err(invalid(format!(
                    "contribution {n}: the {what} key's proof of knowledge is invalid"
                )));
            }
        }
        let checks = [
            (
                "tau G1",
                same_ratio(&prev.0, &c.tau_g1, &sp[0], &c.keys[0].g2_spx),
            ),
            (
                "tau G2",
                same_ratio(&c.keys[0].g1_s, &c.keys[0].g1_sx, &prev.1, &c.tau_g2),
            ),
            (
                "alpha G1",
                same_ratio(&prev.2, &c.alpha_g1, &sp[1], &c.keys[1].g2_spx),
            ),
            (
                "beta G1",
                same_ratio(&prev.3, &c.beta_g1, &sp[2], &c.keys[2].g2_spx),
            ),
            (
                "beta G2",
                same_ratio(&c.keys[2].g1_s, &c.keys[2].g1_sx, &prev.4, &c.beta_g2),
            ),
        ];
        if let Some((what, _)) = checks.iter().find(|(_, ok)| !ok) {
            return Err(invalid(format!(
                "contribution {n}: {what} does not follow the previous contribution and its key"
            )));
        }
        out.push((c.name.clone(), c.response_hash(), c.kind.clone()));
        prev = (
            c.tau_g1,
            c.tau_g2,
            c.alpha_g1,
            c.beta_g1,
            c.beta_g2,
            c.next_challenge,
        );
    }
    let last = cs.last().expect("non-empty");
    progress("checking the powers");
    let taus = ptau.g1(TAU_G1, 0, (2 << ptau.power) - 1).map_err(bad)?;
    let taus2 = ptau.g2(TAU_G2, 0, 1 << ptau.power).map_err(bad)?;
    let alphas = ptau.g1(ALPHA_TAU_G1, 0, 1 << ptau.power).map_err(bad)?;
    let betas = ptau.g1(BETA_TAU_G1, 0, 1 << ptau.power).map_err(bad)?;
    let beta2 = ptau.g2(BETA_G2, 0, 1).map_err(bad)?[0];
    if taus[0] != g1 || taus2[0] != g2 {
        return Err(invalid("the first powers are not the generators"));
    }
    if taus[1] != last.tau_g1
        || taus2[1] != last.tau_g2
        || alphas[0] != last.alpha_g1
        || betas[0] != last.beta_g1
        || beta2 != last.beta_g2
    {
        return Err(invalid(
            "the points do not start with the last contribution's",
        ));
    }
    for (what, pts) in [
        ("tau G1", &taus),
        ("alpha tau G1", &alphas),
        ("beta tau G1", &betas),
    ] {
        let (a, b) = shifted_combination::<G1Projective>(pts);
        if !same_ratio(&a, &b, &g2, &last.tau_g2) {
            return Err(invalid(format!(
                "the {what} section is not successive powers"
            )));
        }
    }
    let (a, b) = shifted_combination::<G2Projective>(&taus2);
    if !same_ratio(&g1, &last.tau_g1, &a, &b) {
        return Err(invalid("the tau G2 section is not successive powers"));
    }
    if ptau.power == ptau.ceremony_power {
        let mut nh = Hasher::default();
        nh.update(last.response_hash());
        for p in &taus {
            nh.update(g1_uncompressed(p));
        }
        for p in &taus2 {
            nh.update(g2_uncompressed(p));
        }
        for p in alphas.iter().chain(&betas) {
            nh.update(g1_uncompressed(p));
        }
        nh.update(g2_uncompressed(&beta2));
        if digest(nh) != last.next_challenge {
            return Err(invalid(
                "the points do not hash to the last contribution's next challenge",
            ));
        }
    }
    let prepared = ptau.is_prepared();
    if prepared {
        for (src, dst) in [
            (TAU_G1, LAGRANGE_G1),
            (TAU_G2, LAGRANGE_G2),
            (ALPHA_TAU_G1, LAGRANGE_ALPHA_G1),
            (BETA_TAU_G1, LAGRANGE_BETA_G1),
        ] {
            progress(&format!("checking section {dst}"));
            let top = if src == TAU_G1 {
                ptau.power + 1
            } else {
                ptau.power
            };
            for p in 0..=top {
                let n = 1usize << p;
                // sum r_i L_i = sum_j (iFFT^T r)_j P_j; the iFFT matrix is symmetric.
                let r = random_scalars(n);
                let mut s = r.clone();
                let d = Radix2EvaluationDomain::<Fr>::new(n).expect("power of two");
                d.ifft_in_place(&mut s);
                let ok = if is_g2(src) {
                    let l = ptau.g2(dst, n - 1, n).map_err(bad)?;
                    let pts = ptau.g2(src, 0, n).map_err(bad)?;
                    G2Projective::msm_unchecked(&l, &r) == G2Projective::msm_unchecked(&pts, &s)
                } else {
                    let l = ptau.g1(dst, n - 1, n).map_err(bad)?;
                    let avail = n.min((2 << ptau.power) - 1);
                    let pts = ptau.g1(src, 0, avail).map_err(bad)?;
                    G1Projective::msm_unchecked(&l, &r)
                        == G1Projective::msm_unchecked(&pts, &s[..avail])
                };
                if !ok {
                    return Err(invalid(format!(
                        "section {dst} (domain 2^{p}) is not the Lagrange basis of section {src}"
                    )));
                }
            }
        }
    }
    Ok(PtauTranscript {
        power: ptau.power,
        contributions: out,
        prepared,
    })
}
