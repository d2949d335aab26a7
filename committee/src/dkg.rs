//! Distributed key generation of the committee's flow keys: joint-Feldman VSS (Pedersen's
//! DKG) with complaints, `m = 2K + 1` independent instances run side by side in one run,
//! one per flow key `PK_j = s_j·G` (`docs/PROTOCOL.md` §2, §3).
//!
//! Rounds, for `n` trustees with threshold `t` (any `t` reconstruct, `t − 1` learn nothing):
//!
//! 1. **Deal.** Dealer `i` draws, per instance `j`, a polynomial `f_ij` of degree `t − 1`,
//!    broadcasts the Feldman commitments `A_ijk = a_ijk·G` ([`Dealing`]) and sends
//!    `f_ij(l)` for every instance to trustee `l` over a private authenticated channel
//!    ([`ShareBundle`]).
//! 2. **Complain.** Trustee `l` checks every share against the commitments,
//!    `f_ij(l)·G = Σ_k l^k·A_ijk` ([`verify_bundle`]), and broadcasts a [`Complaint`]
//!    against each dealer whose bundle fails (or never came).
//! 3. **Answer.** A dealer answers each complaint by broadcasting the accuser's bundle
//!    ([`ComplaintAnswer`]).
//! 4. **Qualify.** A dealer is disqualified if its dealing is malformed, if it broadcast
//!    two dealings, if it left a complaint unanswered, if an answer does not verify, or if
//!    `t` or more trustees complained (at most `t − 1` are corrupt, so then an honest one
//!    did). Everyone computes the same set `QUAL` from the broadcast data alone
//!    ([`qualify`]).
//! 5. **Keys.** `PK_j = Σ_{i∈QUAL} A_ij0`; trustee `l`'s share of `s_j` is
//!    `x_lj = Σ_{i∈QUAL} f_ij(l)` (answers replace the bundles they answer); its
//!    verification key is `Y_lj = Σ_{i∈QUAL} Σ_k l^k·A_ijk = x_lj·G`.
//!
//! The instances are independent: each dealer draws every instance's polynomial afresh,
//! so no relation between two flow keys is known to anyone (a relation would reveal
//! whether two slots carry equal values, PROTOCOL §3).
//!
//! Known limit of joint-Feldman (Gennaro et al., "Secure distributed key generation for
//! discrete-log based cryptosystems", 1999): a rushing adversary can bias the key's
//! distribution by choosing whether to get disqualified. It cannot learn any secret nor
//! create a known relation between keys (that needs a discrete log); Gennaro, Jarecki,
//! Krawczyk and Rabin (CT-RSA 2003) show such keys remain secure for ElGamal-type use.
//! The broadcast channel (the contract or a signed log kept by the coordinator) must be
//! consistent: everyone sees the same dealings, complaints and answers.

use crate::ids::TrusteeId;
use crate::wire;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{UniformRand, Zero};
use sealgrid_circuits::babyjubjub::{base8, Point, ProjectivePoint, Scalar};
use sealgrid_circuits::flow::{FlowError, FlowKeys};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The shape of a DKG run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkgParams {
    /// Number of trustees, ids `1..=n`.
    pub n: u16,
    /// Threshold: any `t` trustees decrypt; polynomials have degree `t − 1`.
    pub t: u16,
    /// Number of independent keys (2K + 1 flow keys).
    pub instances: usize,
}

impl DkgParams {
    /// Checks `1 <= t <= n` and `n >= 2t − 1` (an honest majority, so that the `t − 1`
    /// corrupt trustees cannot stop `t` honest ones), and at least one instance.
    pub fn validate(&self) -> Result<(), DkgError> {
        let (n, t) = (self.n as u32, self.t as u32);
        if t == 0 || t > n || n < 2 * t - 1 || self.instances == 0 {
            return Err(DkgError::Params(*self));
        }
        Ok(())
    }

    /// The trustee ids `1..=n`.
    pub fn trustees(&self) -> impl Iterator<Item = TrusteeId> {
        (1..=self.n).map(TrusteeId)
    }
}

/// Why a DKG step failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DkgError {
    /// Bad parameters.
    #[error("DKG parameters {0:?} need 1 <= t <= n, n >= 2t - 1, instances >= 1")]
    Params(DkgParams),
    /// A trustee id outside `1..=n`.
    #[error("{0} is not a member of the committee")]
    UnknownTrustee(TrusteeId),
    /// A share does not match its dealer's commitments.
    #[error(
        "share from {dealer} to {recipient} for instance {instance} does not match the commitments"
    )]
    BadShare {
        /// Dealer.
        dealer: TrusteeId,
        /// Recipient.
        recipient: TrusteeId,
        /// Instance (flow key index).
        instance: usize,
    },
    /// A dealing or bundle with the wrong number of instances or coefficients.
    #[error("malformed message from {0}")]
    Malformed(TrusteeId),
    /// A bundle addressed to someone else, or from a dealer with no dealing.
    #[error("bundle from {dealer} to {recipient} does not belong here")]
    Misrouted {
        /// Dealer.
        dealer: TrusteeId,
        /// Recipient.
        recipient: TrusteeId,
    },
    /// Finalising needs a valid share from every qualified dealer.
    #[error("no valid share from qualified dealer {0}")]
    MissingShare(TrusteeId),
    /// The summed share does not match the public verification key (inconsistent
    /// broadcast view).
    #[error("share of instance {0} does not match the verification key")]
    ShareMismatch(usize),
    /// Every dealer was disqualified.
    #[error("no dealer qualified")]
    NoQualifiedDealer,
    /// The resulting keys are not a valid flow key set.
    #[error("resulting flow keys refused: {0}")]
    Keys(#[from] FlowError),
}

/// Broadcast by a dealer: Feldman commitments, `t` points per instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dealing {
    /// The dealer.
    pub dealer: TrusteeId,
    /// Per instance, `A_k = a_k·G` for `k = 0..t`.
    pub commitments: Vec<InstanceCommitment>,
}

/// One instance's Feldman commitments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCommitment {
    /// `A_k = a_k·G`, constant term first.
    #[serde(with = "wire::points")]
    pub coefficients: Vec<Point>,
}

/// Sent privately from a dealer to one recipient: its share of every instance.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareBundle {
    /// The dealer.
    pub dealer: TrusteeId,
    /// The recipient.
    pub recipient: TrusteeId,
    /// `f_j(recipient)` per instance `j`.
    #[serde(with = "wire::scalars")]
    pub shares: Vec<Scalar>,
}

impl std::fmt::Debug for ShareBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareBundle")
            .field("dealer", &self.dealer)
            .field("recipient", &self.recipient)
            .field("shares", &format_args!("[{} redacted]", self.shares.len()))
            .finish()
    }
}

/// Broadcast by a recipient whose bundle failed [`verify_bundle`] or never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    /// Who complains.
    pub accuser: TrusteeId,
    /// Against whom.
    pub dealer: TrusteeId,
}

/// Broadcast by a dealer: the accuser's bundle, made public.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintAnswer {
    /// The revealed bundle (its `recipient` is the accuser).
    pub bundle: ShareBundle,
}

/// Everything broadcast during a run; every trustee and any observer derive `QUAL` and
/// the public keys from it alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkgBroadcast {
    /// Round 1.
    pub dealings: Vec<Dealing>,
    /// Round 2.
    pub complaints: Vec<Complaint>,
    /// Round 3.
    pub answers: Vec<ComplaintAnswer>,
}

/// Why a dealer was disqualified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Disqualification {
    /// Wrong number of instances or coefficients, or an identity constant term.
    MalformedDealing,
    /// Two different dealings.
    Equivocation,
    /// A complaint by this trustee was not answered.
    Unanswered(TrusteeId),
    /// The answer to this trustee's complaint does not verify.
    BadAnswer(TrusteeId),
    /// `t` or more complaints.
    TooManyComplaints(usize),
}

/// The outcome of round 4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    /// Dealers whose sharings make the keys, ascending.
    pub qualified: Vec<TrusteeId>,
    /// Dealers dropped, with the reason.
    pub disqualified: Vec<(TrusteeId, Disqualification)>,
}

/// A dealer's secret polynomials, kept until the run ends (to answer complaints).
pub struct Dealer {
    params: DkgParams,
    id: TrusteeId,
    /// Per instance, coefficients `a_0..a_{t-1}`.
    polys: Vec<Vec<Scalar>>,
}

impl std::fmt::Debug for Dealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dealer")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn eval(poly: &[Scalar], x: Scalar) -> Scalar {
    poly.iter().rev().fold(Scalar::zero(), |acc, a| acc * x + a)
}

/// `Σ_k x^k·A_k`: the commitment to `f(x)`.
fn eval_commitment(coefficients: &[Point], x: Scalar) -> ProjectivePoint {
    coefficients
        .iter()
        .rev()
        .fold(ProjectivePoint::zero(), |acc, a| acc * x + a)
}

impl Dealer {
    /// Round 1: fresh polynomials for every instance.
    pub fn new<R: rand::Rng>(
        params: DkgParams,
        id: TrusteeId,
        rng: &mut R,
    ) -> Result<Dealer, DkgError> {
        params.validate()?;
        if id.0 == 0 || id.0 > params.n {
            return Err(DkgError::UnknownTrustee(id));
        }
        let polys = (0..params.instances)
            .map(|_| (0..params.t).map(|_| Scalar::rand(rng)).collect())
            .collect();
        Ok(Dealer { params, id, polys })
    }

    /// The dealer's id.
    pub fn id(&self) -> TrusteeId {
        self.id
    }

    /// Round 1: the commitments to broadcast.
    pub fn dealing(&self) -> Dealing {
        let g = base8();
        Dealing {
            dealer: self.id,
            commitments: self
                .polys
                .iter()
                .map(|p| InstanceCommitment {
                    coefficients: ProjectivePoint::normalize_batch(
                        &p.iter().map(|a| g * a).collect::<Vec<_>>(),
                    ),
                })
                .collect(),
        }
    }

    /// Round 1: the private bundle for `recipient`.
    pub fn bundle_for(&self, recipient: TrusteeId) -> ShareBundle {
        ShareBundle {
            dealer: self.id,
            recipient,
            shares: self.polys.iter().map(|p| eval(p, recipient.x())).collect(),
        }
    }

    /// Round 3: the answer to a complaint against this dealer (`None` if it is not).
    pub fn answer(&self, complaint: &Complaint) -> Option<ComplaintAnswer> {
        (complaint.dealer == self.id
            && complaint.accuser.0 >= 1
            && complaint.accuser.0 <= self.params.n)
            .then(|| ComplaintAnswer {
                bundle: self.bundle_for(complaint.accuser),
            })
    }
}

fn dealing_well_formed(params: &DkgParams, d: &Dealing) -> bool {
    d.commitments.len() == params.instances
        && d.commitments
            .iter()
            .all(|c| c.coefficients.len() == params.t as usize && !c.coefficients[0].is_zero())
}

/// Round 2: checks a bundle against its dealer's dealing. `Err(BadShare)` means: complain.
pub fn verify_bundle(
    params: &DkgParams,
    dealing: &Dealing,
    bundle: &ShareBundle,
) -> Result<(), DkgError> {
    if bundle.dealer != dealing.dealer {
        return Err(DkgError::Misrouted {
            dealer: bundle.dealer,
            recipient: bundle.recipient,
        });
    }
    if !dealing_well_formed(params, dealing) || bundle.shares.len() != params.instances {
        return Err(DkgError::Malformed(dealing.dealer));
    }
    if bundle.recipient.0 == 0 || bundle.recipient.0 > params.n {
        return Err(DkgError::UnknownTrustee(bundle.recipient));
    }
    let g = base8();
    let x = bundle.recipient.x();
    for (instance, (c, s)) in dealing.commitments.iter().zip(&bundle.shares).enumerate() {
        if g * s != eval_commitment(&c.coefficients, x) {
            return Err(DkgError::BadShare {
                dealer: bundle.dealer,
                recipient: bundle.recipient,
                instance,
            });
        }
    }
    Ok(())
}

/// Round 4: `QUAL`, from the broadcast data alone (deterministic: everyone agrees).
pub fn qualify(params: &DkgParams, broadcast: &DkgBroadcast) -> Result<Qualification, DkgError> {
    params.validate()?;
    let mut dealings: BTreeMap<TrusteeId, &Dealing> = BTreeMap::new();
    let mut bad: BTreeMap<TrusteeId, Disqualification> = BTreeMap::new();
    for d in &broadcast.dealings {
        if d.dealer.0 == 0 || d.dealer.0 > params.n {
            continue;
        }
        if let Some(prev) = dealings.insert(d.dealer, d) {
            if prev != d {
                bad.entry(d.dealer)
                    .or_insert(Disqualification::Equivocation);
            }
        }
        if !dealing_well_formed(params, d) {
            bad.entry(d.dealer)
                .or_insert(Disqualification::MalformedDealing);
        }
    }
    // distinct accusers per dealer; complaints by non-members are ignored
    let mut accusers: BTreeMap<TrusteeId, BTreeSet<TrusteeId>> = BTreeMap::new();
    for c in &broadcast.complaints {
        if c.accuser.0 >= 1 && c.accuser.0 <= params.n && c.accuser != c.dealer {
            accusers.entry(c.dealer).or_default().insert(c.accuser);
        }
    }
    for (&dealer, &dealing) in &dealings {
        if bad.contains_key(&dealer) {
            continue;
        }
        let Some(acc) = accusers.get(&dealer) else {
            continue;
        };
        if acc.len() >= params.t as usize {
            bad.insert(dealer, Disqualification::TooManyComplaints(acc.len()));
            continue;
        }
        for &accuser in acc {
            let answer = broadcast
                .answers
                .iter()
                .find(|a| a.bundle.dealer == dealer && a.bundle.recipient == accuser);
            match answer {
                None => {
                    bad.insert(dealer, Disqualification::Unanswered(accuser));
                    break;
                }
                Some(a) if verify_bundle(params, dealing, &a.bundle).is_err() => {
                    bad.insert(dealer, Disqualification::BadAnswer(accuser));
                    break;
                }
                Some(_) => {}
            }
        }
    }
    let qualified: Vec<TrusteeId> = dealings
        .keys()
        .filter(|d| !bad.contains_key(d))
        .copied()
        .collect();
    if qualified.is_empty() {
        return Err(DkgError::NoQualifiedDealer);
    }
    Ok(Qualification {
        qualified,
        disqualified: bad.into_iter().collect(),
    })
}

/// The committee's public output: flow keys and every trustee's verification keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteePublic {
    /// Parameters of the run.
    pub params: DkgParams,
    /// Who qualified and who was dropped.
    pub qualification: Qualification,
    /// `PK_j`, one per instance.
    #[serde(with = "wire::points")]
    pub flow_keys: Vec<Point>,
    /// `verification_keys[l − 1][j] = Y_lj = x_lj·G` for trustee `l`, instance `j`.
    pub verification_keys: Vec<TrusteeVerificationKeys>,
}

/// One trustee's verification keys, one per instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeVerificationKeys {
    /// The trustee.
    pub trustee: TrusteeId,
    /// `Y_j = x_j·G`.
    #[serde(with = "wire::points")]
    pub keys: Vec<Point>,
}

impl CommitteePublic {
    /// Round 5, public part: keys and verification keys from the broadcast data.
    pub fn derive(
        params: &DkgParams,
        broadcast: &DkgBroadcast,
    ) -> Result<CommitteePublic, DkgError> {
        let qualification = qualify(params, broadcast)?;
        // Σ over QUAL of each coefficient commitment, per instance.
        let mut sum = vec![vec![ProjectivePoint::zero(); params.t as usize]; params.instances];
        for dealer in &qualification.qualified {
            let d = broadcast
                .dealings
                .iter()
                .find(|d| d.dealer == *dealer)
                .expect("qualified dealers have a dealing");
            for (acc, c) in sum.iter_mut().zip(&d.commitments) {
                for (a, p) in acc.iter_mut().zip(&c.coefficients) {
                    *a += p;
                }
            }
        }
        let sum: Vec<Vec<Point>> = sum
            .iter()
            .map(|s| ProjectivePoint::normalize_batch(s))
            .collect();
        let flow_keys: Vec<Point> = sum.iter().map(|s| s[0]).collect();
        FlowKeys::new(flow_keys.clone())?;
        let verification_keys = params
            .trustees()
            .map(|l| TrusteeVerificationKeys {
                trustee: l,
                keys: ProjectivePoint::normalize_batch(
                    &sum.iter()
                        .map(|s| eval_commitment(s, l.x()))
                        .collect::<Vec<_>>(),
                ),
            })
            .collect();
        Ok(CommitteePublic {
            params: *params,
            qualification,
            flow_keys,
            verification_keys,
        })
    }

    /// The flow keys as the bid circuit takes them.
    pub fn flow_keys(&self) -> FlowKeys {
        FlowKeys::new(self.flow_keys.clone()).expect("checked in derive")
    }

    /// Trustee `id`'s verification key for `instance`.
    pub fn verification_key(&self, id: TrusteeId, instance: usize) -> Option<&Point> {
        self.verification_keys
            .iter()
            .find(|v| v.trustee == id)
            .and_then(|v| v.keys.get(instance))
    }
}

/// A trustee's secret output: its share of every flow secret. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyShare {
    /// The trustee.
    pub id: TrusteeId,
    /// `x_j` per instance.
    shares: Vec<Scalar>,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShare")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl KeyShare {
    /// Round 5, private part: sums the bundles received from the qualified dealers, each
    /// replaced by the public answer where one was given, and checks the result against
    /// the verification keys.
    pub fn finalize(
        params: &DkgParams,
        me: TrusteeId,
        broadcast: &DkgBroadcast,
        public: &CommitteePublic,
        received: &[ShareBundle],
    ) -> Result<KeyShare, DkgError> {
        let mut shares = vec![Scalar::zero(); params.instances];
        for dealer in &public.qualification.qualified {
            let dealing = broadcast
                .dealings
                .iter()
                .find(|d| d.dealer == *dealer)
                .expect("qualified");
            let answered = broadcast
                .answers
                .iter()
                .map(|a| &a.bundle)
                .find(|b| b.dealer == *dealer && b.recipient == me);
            let bundle = answered
                .into_iter()
                .chain(
                    received
                        .iter()
                        .filter(|b| b.dealer == *dealer && b.recipient == me),
                )
                .find(|b| verify_bundle(params, dealing, b).is_ok())
                .ok_or(DkgError::MissingShare(*dealer))?;
            for (acc, s) in shares.iter_mut().zip(&bundle.shares) {
                *acc += s;
            }
        }
        let share = KeyShare { id: me, shares };
        share.check(public)?;
        Ok(share)
    }

    /// A share from its parts, e.g. read back from storage; [`KeyShare::check`] it
    /// against the committee before use.
    pub fn from_parts(id: TrusteeId, shares: Vec<Scalar>) -> KeyShare {
        KeyShare { id, shares }
    }

    /// Checks `x_j·G = Y_j` for every instance against the committee's verification
    /// keys, and that the share covers every instance.
    pub fn check(&self, public: &CommitteePublic) -> Result<(), DkgError> {
        if self.shares.len() != public.params.instances {
            return Err(DkgError::Malformed(self.id));
        }
        for (j, x) in self.shares.iter().enumerate() {
            let y = public
                .verification_key(self.id, j)
                .ok_or(DkgError::UnknownTrustee(self.id))?;
            if (base8() * x).into_affine() != *y {
                return Err(DkgError::ShareMismatch(j));
            }
        }
        Ok(())
    }

    /// The share of instance `j`.
    pub fn share(&self, instance: usize) -> Option<&Scalar> {
        self.shares.get(instance)
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.shares.len()
    }

    /// True for a share of no instance.
    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }
}

/// One trustee's side of a run: the state machine every run goes through, in one process
/// ([`run_in_memory`]) or with each trustee in its own process (`sealgrid-trustee dkg`,
/// whose channel carries the messages). The steps, in order:
///
/// 1. [`Party::new`] draws the polynomials; [`Party::dealing`] is broadcast and
///    [`Party::deal`] gives the private bundles, one per trustee (its own included);
/// 2. [`Party::receive`] takes each bundle addressed to it; once the dealings are known,
///    [`Party::complaints`] lists the dealers whose bundle is missing or does not verify;
/// 3. [`Party::answers`] answers the broadcast complaints against it with what it sent;
/// 4. [`Party::finalize`] derives `QUAL` and the public keys from the broadcast alone
///    ([`CommitteePublic::derive`]) and sums its share ([`KeyShare::finalize`]).
///
/// Every check and every disqualification rule is the free functions'
/// ([`verify_bundle`], [`qualify`]): the party only keeps what it sent and received.
pub struct Party {
    dealer: Dealer,
    /// The bundles as this dealer sent them, by recipient: a complaint is answered with
    /// what was sent, so a dealer that stands by a bad share is disqualified.
    sent: BTreeMap<TrusteeId, ShareBundle>,
    /// The first bundle received from each dealer.
    received: BTreeMap<TrusteeId, ShareBundle>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Party")
            .field("id", &self.dealer.id)
            .field("received", &self.received.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Party {
    /// Step 1: fresh polynomials for every instance.
    pub fn new<R: rand::Rng>(
        params: DkgParams,
        me: TrusteeId,
        rng: &mut R,
    ) -> Result<Party, DkgError> {
        Ok(Party {
            dealer: Dealer::new(params, me, rng)?,
            sent: BTreeMap::new(),
            received: BTreeMap::new(),
        })
    }

    /// This trustee.
    pub fn me(&self) -> TrusteeId {
        self.dealer.id
    }

    /// The run's parameters.
    pub fn params(&self) -> &DkgParams {
        &self.dealer.params
    }

    /// Step 1: the commitments to broadcast.
    pub fn dealing(&self) -> Dealing {
        self.dealer.dealing()
    }

    /// Step 1: the private bundle for every trustee, ids `1..=n` (this one's own
    /// included), each passed through `tamper` before it is recorded as sent. An honest
    /// dealer's `tamper` does nothing; tests use it to make a cheating dealer.
    pub fn deal(&mut self, mut tamper: impl FnMut(&mut ShareBundle)) -> Vec<ShareBundle> {
        let params = self.dealer.params;
        params
            .trustees()
            .map(|r| {
                let mut b = self.dealer.bundle_for(r);
                tamper(&mut b);
                self.sent.insert(r, b.clone());
                b
            })
            .collect()
    }

    /// Step 2: keeps a bundle addressed to this trustee (the first one per dealer; a
    /// bundle for someone else is refused). Whether it verifies is decided in
    /// [`Party::complaints`], once the dealings are known.
    pub fn receive(&mut self, bundle: ShareBundle) -> Result<(), DkgError> {
        if bundle.recipient != self.me()
            || bundle.dealer.0 == 0
            || bundle.dealer.0 > self.dealer.params.n
        {
            return Err(DkgError::Misrouted {
                dealer: bundle.dealer,
                recipient: bundle.recipient,
            });
        }
        self.received.entry(bundle.dealer).or_insert(bundle);
        Ok(())
    }

    /// Step 2: a complaint against each dealer of `dealings` whose bundle to this
    /// trustee never came or does not match its commitments, in dealer order.
    pub fn complaints(&self, dealings: &[Dealing]) -> Vec<Complaint> {
        let mut against: BTreeSet<TrusteeId> = BTreeSet::new();
        for d in dealings {
            let ok = self
                .received
                .get(&d.dealer)
                .is_some_and(|b| verify_bundle(&self.dealer.params, d, b).is_ok());
            if !ok && d.dealer != self.me() {
                against.insert(d.dealer);
            }
        }
        against
            .into_iter()
            .map(|dealer| Complaint {
                accuser: self.me(),
                dealer,
            })
            .collect()
    }

    /// Step 3: the answers to the complaints against this trustee: each accuser's
    /// bundle exactly as it was sent (in accuser order, once per accuser).
    pub fn answers(&self, complaints: &[Complaint]) -> Vec<ComplaintAnswer> {
        let accusers: BTreeSet<TrusteeId> = complaints
            .iter()
            .filter(|c| c.dealer == self.me())
            .map(|c| c.accuser)
            .collect();
        accusers
            .into_iter()
            .filter_map(|accuser| {
                let complaint = Complaint {
                    accuser,
                    dealer: self.me(),
                };
                let honest = self.dealer.answer(&complaint)?;
                Some(match self.sent.get(&accuser) {
                    Some(b) => ComplaintAnswer { bundle: b.clone() },
                    None => honest,
                })
            })
            .collect()
    }

    /// Step 4: `QUAL`, the public keys and this trustee's share, from the broadcast (the
    /// same for everyone) and the bundles this trustee received.
    pub fn finalize(
        &self,
        broadcast: &DkgBroadcast,
    ) -> Result<(CommitteePublic, KeyShare), DkgError> {
        let params = self.dealer.params;
        let public = CommitteePublic::derive(&params, broadcast)?;
        let received: Vec<ShareBundle> = self.received.values().cloned().collect();
        let share = KeyShare::finalize(&params, self.me(), broadcast, &public, &received)?;
        Ok((public, share))
    }
}

/// A whole run in one process, for tests, benchmarks and the fixed-seed demo committee
/// (whoever runs it knows every share: it protects nothing). Each trustee is a [`Party`];
/// the broadcast is a shared [`DkgBroadcast`] and the private channel a direct hand-over.
/// `tamper` may rewrite any bundle before it is delivered (a cheating dealer); the dealer
/// answers complaints with what it actually sent, so a dealer that stands by an
/// inconsistent share is disqualified.
pub fn run_in_memory<R: rand::Rng>(
    params: DkgParams,
    rng: &mut R,
    mut tamper: impl FnMut(&mut ShareBundle),
) -> Result<(CommitteePublic, Vec<KeyShare>, DkgBroadcast), DkgError> {
    params.validate()?;
    let mut parties: Vec<Party> = params
        .trustees()
        .map(|id| Party::new(params, id, rng))
        .collect::<Result<_, _>>()?;
    let mut broadcast = DkgBroadcast {
        dealings: parties.iter().map(Party::dealing).collect(),
        ..DkgBroadcast::default()
    };
    let mut bundles = Vec::new();
    for p in &mut parties {
        bundles.extend(p.deal(&mut tamper));
    }
    for b in bundles {
        let r = b.recipient.0 as usize - 1;
        parties[r].receive(b)?;
    }
    broadcast.complaints = parties
        .iter()
        .flat_map(|p| p.complaints(&broadcast.dealings))
        .collect();
    broadcast.answers = parties
        .iter()
        .flat_map(|p| p.answers(&broadcast.complaints))
        .collect();
    let mut public = None;
    let mut shares = Vec::with_capacity(parties.len());
    for p in &parties {
        let (pb, share) = p.finalize(&broadcast)?;
        public.get_or_insert(pb);
        shares.push(share);
    }
    let public = public.expect("n >= 1");
    Ok((public, shares, broadcast))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decrypt::lagrange_at_zero;
    use rand::SeedableRng;

    const PARAMS: DkgParams = DkgParams {
        n: 5,
        t: 3,
        instances: 17,
    };

    /// Any `t` shares interpolate to the secret behind every key; `t − 1` do not.
    fn assert_shares_open_keys(public: &CommitteePublic, shares: &[KeyShare]) {
        for subset in [[0usize, 1, 2], [0, 2, 4], [2, 3, 4], [1, 3, 4]] {
            let ids: Vec<TrusteeId> = subset.iter().map(|&i| shares[i].id).collect();
            let lambda = lagrange_at_zero(&ids);
            for j in 0..public.flow_keys.len() {
                let s: Scalar = subset
                    .iter()
                    .zip(&lambda)
                    .map(|(&i, l)| *l * shares[i].share(j).unwrap())
                    .sum();
                assert_eq!(
                    (base8() * s).into_affine(),
                    public.flow_keys[j],
                    "subset {subset:?}, key {j}"
                );
            }
        }
        let ids = [shares[0].id, shares[1].id];
        let lambda = lagrange_at_zero(&ids);
        let s = lambda[0] * shares[0].share(0).unwrap() + lambda[1] * shares[1].share(0).unwrap();
        assert_ne!((base8() * s).into_affine(), public.flow_keys[0]);
    }

    #[test]
    fn honest_run_n5_t3_gives_17_independent_keys() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let (public, shares, broadcast) = run_in_memory(PARAMS, &mut rng, |_| {}).unwrap();
        assert!(broadcast.complaints.is_empty());
        assert_eq!(
            public.qualification.qualified,
            PARAMS.trustees().collect::<Vec<_>>()
        );
        assert!(public.qualification.disqualified.is_empty());
        assert_eq!(public.flow_keys().len(), 17); // FlowKeys::new: distinct, valid
        assert_eq!(public.verification_keys.len(), 5);
        assert_shares_open_keys(&public, &shares);
        // the public output is a function of the broadcast alone, and survives serde
        assert_eq!(
            CommitteePublic::derive(&PARAMS, &broadcast).unwrap(),
            public
        );
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(
            serde_json::from_str::<CommitteePublic>(&json).unwrap(),
            public
        );
    }

    #[test]
    fn inconsistent_dealer_is_disqualified_and_the_key_is_still_produced() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
        // dealer 2 gives trustee 4 a share of instance 5 off its commitments
        let (public, shares, broadcast) = run_in_memory(PARAMS, &mut rng, |b| {
            if b.dealer == TrusteeId(2) && b.recipient == TrusteeId(4) {
                b.shares[5] += Scalar::from(1u64);
            }
        })
        .unwrap();
        assert_eq!(
            broadcast.complaints,
            vec![Complaint {
                accuser: TrusteeId(4),
                dealer: TrusteeId(2)
            }]
        );
        assert_eq!(
            public.qualification.disqualified,
            vec![(TrusteeId(2), Disqualification::BadAnswer(TrusteeId(4)))]
        );
        assert_eq!(
            public.qualification.qualified,
            [1, 3, 4, 5].map(TrusteeId).to_vec()
        );
        // the keys are the qualified dealers' constant terms only
        let d2 = &broadcast.dealings[1];
        let without_2: ProjectivePoint = broadcast
            .dealings
            .iter()
            .filter(|d| d.dealer != TrusteeId(2))
            .map(|d| d.commitments[0].coefficients[0])
            .sum();
        assert_eq!(without_2.into_affine(), public.flow_keys[0]);
        assert_ne!(
            (without_2 + d2.commitments[0].coefficients[0]).into_affine(),
            public.flow_keys[0]
        );
        // every trustee, the cheater included, holds a working share
        assert_shares_open_keys(&public, &shares);
    }

    #[test]
    fn many_complaints_disqualify_and_an_unanswered_complaint_too() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(13);
        let (public, _, _) = run_in_memory(PARAMS, &mut rng, |b| {
            if b.dealer == TrusteeId(5) && b.recipient.0 <= 3 {
                b.shares[0] += Scalar::from(1u64);
            }
        })
        .unwrap();
        assert_eq!(
            public.qualification.disqualified,
            vec![(TrusteeId(5), Disqualification::TooManyComplaints(3))]
        );

        let dealers: Vec<Dealer> = PARAMS
            .trustees()
            .map(|i| Dealer::new(PARAMS, i, &mut rng).unwrap())
            .collect();
        let mut broadcast = DkgBroadcast {
            dealings: dealers.iter().map(Dealer::dealing).collect(),
            ..Default::default()
        };
        broadcast.complaints.push(Complaint {
            accuser: TrusteeId(1),
            dealer: TrusteeId(3),
        });
        assert_eq!(
            qualify(&PARAMS, &broadcast).unwrap().disqualified,
            vec![(TrusteeId(3), Disqualification::Unanswered(TrusteeId(1)))]
        );
    }

    #[test]
    fn a_valid_answer_keeps_the_dealer_and_replaces_the_lost_share() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(14);
        let dealers: Vec<Dealer> = PARAMS
            .trustees()
            .map(|i| Dealer::new(PARAMS, i, &mut rng).unwrap())
            .collect();
        let mut broadcast = DkgBroadcast {
            dealings: dealers.iter().map(Dealer::dealing).collect(),
            ..Default::default()
        };
        // trustee 1 got a garbled bundle from dealer 4 (say, in transit) and complains
        let mut garbled = dealers[3].bundle_for(TrusteeId(1));
        garbled.shares[0] += Scalar::from(9u64);
        assert_eq!(
            verify_bundle(&PARAMS, &broadcast.dealings[3], &garbled),
            Err(DkgError::BadShare {
                dealer: TrusteeId(4),
                recipient: TrusteeId(1),
                instance: 0
            })
        );
        let complaint = Complaint {
            accuser: TrusteeId(1),
            dealer: TrusteeId(4),
        };
        broadcast.complaints.push(complaint);
        broadcast
            .answers
            .push(dealers[3].answer(&complaint).unwrap());
        let public = CommitteePublic::derive(&PARAMS, &broadcast).unwrap();
        assert!(public.qualification.disqualified.is_empty());
        let shares: Vec<KeyShare> = PARAMS
            .trustees()
            .map(|me| {
                let received: Vec<ShareBundle> = dealers
                    .iter()
                    .map(|d| {
                        if d.id() == TrusteeId(4) && me == TrusteeId(1) {
                            garbled.clone()
                        } else {
                            d.bundle_for(me)
                        }
                    })
                    .collect();
                KeyShare::finalize(&PARAMS, me, &broadcast, &public, &received).unwrap()
            })
            .collect();
        assert_shares_open_keys(&public, &shares);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for (n, t) in [(5, 0), (3, 4), (4, 3)] {
            let p = DkgParams { n, t, instances: 1 };
            assert_eq!(p.validate(), Err(DkgError::Params(p)));
        }
    }
}
