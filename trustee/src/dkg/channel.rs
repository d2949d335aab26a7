//! The DKG's authenticated channel (`docs/PROTOCOL.md` §7, "Distributed run"): every
//! message is an [`Envelope`] signed with the sender's secp256k1 key over a
//! domain-separated digest of (session, sender, receiver, phase, payload); a private
//! share bundle is also encrypted to its receiver ([`seal_bundle`]).
//!
//! Digest: `keccak256(keccak256("sealgrid.dkg.v1.message") ‖ session ‖ u16 sender ‖
//! u16 receiver ‖ u8 phase ‖ keccak256(payload))`, integers big-endian, receiver 0 for a
//! broadcast. The signature is the committee's usual 65-byte `r ‖ s ‖ v` (low `s`), so the
//! sender is whoever `ecrecover` names, checked against the roster.
//!
//! Share encryption: an ephemeral X25519 key `e`, `k = HKDF-SHA256(salt = session,
//! ikm = X25519(e, R), info)` with `R` the receiver's per-run X25519 key from its signed
//! hello and `info = "sealgrid.dkg.v1.share" ‖ u16 sender ‖ u16 receiver ‖ e·B ‖ R`;
//! ChaCha20-Poly1305 under `k` (used once, nonce 0) with `info` as associated data. The
//! sealed form is `e·B ‖ ciphertext ‖ tag`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sealgrid_committee::sign::{keccak256, recover, Address, EthSignature, TrusteeSigningKey};
use sealgrid_committee::wire;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// The receiver of a broadcast.
pub const EVERYONE: u16 = 0;

const MESSAGE_TAG: &[u8] = b"sealgrid.dkg.v1.message";
const SESSION_TAG: &[u8] = b"sealgrid.dkg.v1.session";
const SHARE_TAG: &[u8] = b"sealgrid.dkg.v1.share";

/// The steps of a distributed run, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Broadcast: the sender's X25519 key for this run (32 bytes).
    Hello = 1,
    /// Broadcast: the sender's Feldman commitments (JSON `Dealing`).
    Dealing = 2,
    /// Private: the sender's share bundle for the receiver, sealed to it.
    Share = 3,
    /// Broadcast: the sender's complaints (JSON list, maybe empty).
    Complaints = 4,
    /// Broadcast: the sender's answers to complaints against it (JSON list, maybe empty).
    Answers = 5,
    /// Broadcast: the hash of everything the sender used and of the files it will write.
    Confirm = 6,
}

impl Phase {
    /// The name used in file names and logs.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Hello => "hello",
            Phase::Dealing => "dealing",
            Phase::Share => "share",
            Phase::Complaints => "complaints",
            Phase::Answers => "answers",
            Phase::Confirm => "confirm",
        }
    }
}

/// Why a message was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Not for this session, phase, sender or receiver.
    #[error("{0}")]
    Misaddressed(String),
    /// The signature does not recover to the sender's roster address.
    #[error("signature of trustee {sender} does not verify (recovered {recovered})")]
    BadSignature {
        /// Claimed sender.
        sender: u16,
        /// What the signature names, if anything.
        recovered: String,
    },
    /// A sealed share does not decrypt.
    #[error("sealed share from trustee {0} does not decrypt")]
    Decrypt(u16),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// The run's identity: every message names it, so a message of another run (other
/// parameters, roster or label) is refused.
pub fn session_id(
    n: u16,
    t: u16,
    instances: usize,
    chain_id: u64,
    roster: &[Address],
    label: &str,
) -> [u8; 32] {
    let mut b = keccak256(SESSION_TAG).to_vec();
    b.extend_from_slice(&n.to_be_bytes());
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&(instances as u64).to_be_bytes());
    b.extend_from_slice(&chain_id.to_be_bytes());
    for a in roster {
        b.extend_from_slice(&a.0);
    }
    b.extend_from_slice(&keccak256(label.as_bytes()));
    keccak256(&b)
}

/// One signed message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`session_id`].
    #[serde(with = "wire::bytes")]
    pub session: [u8; 32],
    /// Sender's trustee id.
    pub sender: u16,
    /// Receiver's trustee id, [`EVERYONE`] for a broadcast.
    pub receiver: u16,
    /// The step.
    pub phase: Phase,
    /// The content, `0x` hex.
    #[serde(with = "hex_vec")]
    pub payload: Vec<u8>,
    /// The sender's signature over [`message_digest`].
    pub signature: EthSignature,
}

mod hex_vec {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(b)))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(
            s.strip_prefix("0x")
                .ok_or_else(|| D::Error::custom("no 0x"))?,
        )
        .map_err(D::Error::custom)
    }
}

/// The digest a message's signature covers (one definition, used to sign and to check).
pub fn message_digest(
    session: &[u8; 32],
    sender: u16,
    receiver: u16,
    phase: Phase,
    payload: &[u8],
) -> [u8; 32] {
    let mut b = keccak256(MESSAGE_TAG).to_vec();
    b.extend_from_slice(session);
    b.extend_from_slice(&sender.to_be_bytes());
    b.extend_from_slice(&receiver.to_be_bytes());
    b.push(phase as u8);
    b.extend_from_slice(&keccak256(payload));
    keccak256(&b)
}

impl Envelope {
    /// Signs `payload` from `sender` to `receiver`.
    pub fn sign(
        key: &TrusteeSigningKey,
        session: [u8; 32],
        sender: u16,
        receiver: u16,
        phase: Phase,
        payload: Vec<u8>,
    ) -> Result<Envelope, ChannelError> {
        let digest = message_digest(&session, sender, receiver, phase, &payload);
        let signature = key
            .sign_digest(&digest)
            .map_err(|e| ChannelError::Sign(e.to_string()))?;
        Ok(Envelope {
            session,
            sender,
            receiver,
            phase,
            payload,
            signature,
        })
    }

    /// Checks that this is the message `(session, sender → receiver, phase)` and that
    /// `roster[sender − 1]` signed it; returns the payload.
    pub fn open(
        &self,
        session: &[u8; 32],
        sender: u16,
        receiver: u16,
        phase: Phase,
        roster: &[Address],
    ) -> Result<&[u8], ChannelError> {
        if self.session != *session
            || self.sender != sender
            || self.receiver != receiver
            || self.phase != phase
        {
            return Err(ChannelError::Misaddressed(format!(
                "expected {} from {sender} to {receiver} in this session, got {} from {} to {}",
                phase.name(),
                self.phase.name(),
                self.sender,
                self.receiver
            )));
        }
        let expected = roster
            .get((sender as usize).wrapping_sub(1))
            .ok_or_else(|| ChannelError::Misaddressed(format!("no trustee {sender}")))?;
        let digest = message_digest(session, sender, receiver, phase, &self.payload);
        match recover(&digest, &self.signature) {
            Ok(a) if a == *expected => Ok(&self.payload),
            other => Err(ChannelError::BadSignature {
                sender,
                recovered: format!("{other:?}"),
            }),
        }
    }
}

fn share_info(sender: u16, receiver: u16, eph: &PublicKey, to: &PublicKey) -> Vec<u8> {
    let mut info = SHARE_TAG.to_vec();
    info.extend_from_slice(&sender.to_be_bytes());
    info.extend_from_slice(&receiver.to_be_bytes());
    info.extend_from_slice(eph.as_bytes());
    info.extend_from_slice(to.as_bytes());
    info
}

fn share_cipher(
    session: &[u8; 32],
    shared: &x25519_dalek::SharedSecret,
    info: &[u8],
) -> ChaCha20Poly1305 {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(session), shared.as_bytes())
        .expand(info, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 length");
    ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
}

/// Encrypts `plaintext` (a serialized share bundle) from `sender` to `receiver`, whose
/// run key is `to`.
pub fn seal_bundle<R: rand::RngCore + rand::CryptoRng>(
    session: &[u8; 32],
    sender: u16,
    receiver: u16,
    to: &PublicKey,
    plaintext: &[u8],
    rng: &mut R,
) -> Vec<u8> {
    let eph = StaticSecret::random_from_rng(rng);
    let eph_pub = PublicKey::from(&eph);
    let info = share_info(sender, receiver, &eph_pub, to);
    let cipher = share_cipher(session, &eph.diffie_hellman(to), &info);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: plaintext,
                aad: &info,
            },
        )
        .expect("ChaCha20-Poly1305 encrypts any short message");
    let mut out = eph_pub.as_bytes().to_vec();
    out.extend_from_slice(&ct);
    out
}

/// Decrypts a sealed bundle from `sender` with this receiver's run secret.
pub fn open_bundle(
    session: &[u8; 32],
    sender: u16,
    receiver: u16,
    secret: &StaticSecret,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
    if sealed.len() < 32 + 16 {
        return Err(ChannelError::Decrypt(sender));
    }
    let eph_pub = PublicKey::from(<[u8; 32]>::try_from(&sealed[..32]).expect("checked length"));
    let shared = secret.diffie_hellman(&eph_pub);
    if !shared.was_contributory() {
        return Err(ChannelError::Decrypt(sender));
    }
    let info = share_info(sender, receiver, &eph_pub, &PublicKey::from(secret));
    share_cipher(session, &shared, &info)
        .decrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: &sealed[32..],
                aad: &info,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| ChannelError::Decrypt(sender))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_message_opens_only_as_signed_and_a_share_only_for_its_receiver() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let keys: Vec<TrusteeSigningKey> = (0..3)
            .map(|_| TrusteeSigningKey::random(&mut rng))
            .collect();
        let roster: Vec<Address> = keys.iter().map(TrusteeSigningKey::address).collect();
        let session = session_id(3, 2, 17, 246, &roster, "test");
        let env = Envelope::sign(
            &keys[1],
            session,
            2,
            EVERYONE,
            Phase::Dealing,
            b"d".to_vec(),
        )
        .unwrap();
        assert_eq!(
            env.open(&session, 2, EVERYONE, Phase::Dealing, &roster)
                .unwrap(),
            b"d"
        );
        // every bound field, changed in turn, is refused
        let other = session_id(3, 2, 17, 246, &roster, "other");
        assert!(env
            .open(&other, 2, EVERYONE, Phase::Dealing, &roster)
            .is_err());
        assert!(env.open(&session, 2, 1, Phase::Dealing, &roster).is_err());
        assert!(env
            .open(&session, 2, EVERYONE, Phase::Answers, &roster)
            .is_err());
        let mut forged = env.clone();
        forged.sender = 3;
        assert!(matches!(
            forged.open(&session, 3, EVERYONE, Phase::Dealing, &roster),
            Err(ChannelError::BadSignature { .. })
        ));
        let mut changed = env.clone();
        changed.payload = b"e".to_vec();
        assert!(matches!(
            changed.open(&session, 2, EVERYONE, Phase::Dealing, &roster),
            Err(ChannelError::BadSignature { .. })
        ));
        let json = serde_json::to_string(&env).unwrap();
        assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), env);

        let r1 = StaticSecret::random_from_rng(&mut rng);
        let r3 = StaticSecret::random_from_rng(&mut rng);
        let sealed = seal_bundle(&session, 2, 1, &PublicKey::from(&r1), b"share", &mut rng);
        assert_eq!(
            open_bundle(&session, 2, 1, &r1, &sealed)
                .unwrap()
                .as_slice(),
            b"share"
        );
        assert!(!sealed.windows(5).any(|w| w == b"share"));
        assert_eq!(
            open_bundle(&session, 2, 3, &r3, &sealed),
            Err(ChannelError::Decrypt(2))
        );
        assert_eq!(
            open_bundle(&session, 3, 1, &r1, &sealed),
            Err(ChannelError::Decrypt(3))
        );
        assert_eq!(
            open_bundle(&other, 2, 1, &r1, &sealed),
            Err(ChannelError::Decrypt(2))
        );
    }
}
