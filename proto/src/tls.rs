//! Mutual TLS for the trustee and coordinator services (`docs/PROTOCOL.md` §7, §9):
//! rustls through tonic's `tls-ring` feature. One home for loading the PEM files, for the
//! server and client configurations, and for a caller's identity.
//!
//! A party holds a certificate and key and trusts one certificate authority (CA): a
//! server asks every client for a certificate the CA signed and presents its own; a
//! client checks the server's certificate against the CA and presents its own. A caller
//! is then known by the SHA-256 of its leaf certificate ([`CallerId`]), which is what
//! access lists (a trustee's auditors) name: a name typed into a request authorises
//! nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tonic::transport::{Certificate, CertificateDer, ClientTlsConfig, Identity, ServerTlsConfig};

/// The three PEM files of a party: the CA it trusts, its certificate chain and its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate authority whose certificates the party accepts from its peers.
    pub ca: PathBuf,
    /// The party's certificate (chain), PEM.
    pub cert: PathBuf,
    /// The party's private key, PEM.
    pub key: PathBuf,
}

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A PEM file holds no certificate.
    #[error("{what}: no PEM certificate")]
    NoCertificate {
        /// Which file or input.
        what: String,
    },
}

/// A caller's identity: the SHA-256 of the DER of its leaf certificate, as the TLS
/// handshake proved the caller holds the certificate's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallerId(pub [u8; 32]);

impl CallerId {
    /// The identity of a DER certificate.
    pub fn of_der(der: &[u8]) -> CallerId {
        CallerId(Sha256::digest(der).into())
    }

    /// The identity of the first certificate of a PEM text.
    pub fn of_pem(pem: &[u8], what: &str) -> Result<CallerId, TlsError> {
        use tonic::transport::CertificateDer as Der;
        let der =
            <Der<'_> as rustls_pki_types::pem::PemObject>::from_pem_slice(pem).map_err(|_| {
                TlsError::NoCertificate {
                    what: what.to_owned(),
                }
            })?;
        Ok(CallerId::of_der(&der))
    }

    /// The identity of the certificate in a PEM file.
    pub fn of_pem_file(path: &Path) -> Result<CallerId, TlsError> {
        CallerId::of_pem(&read(path)?, &path.display().to_string())
    }

    /// The authenticated caller of a request: its leaf certificate's identity, `None`
    /// on a connection without a client certificate (plaintext, or a server that does
    /// not ask for one).
    pub fn of_peer(certs: Option<Arc<Vec<CertificateDer<'static>>>>) -> Option<CallerId> {
        certs.and_then(|c| c.first().map(|leaf| CallerId::of_der(leaf)))
    }

    /// `sha256:` and 64 hex digits.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

impl std::fmt::Display for CallerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

/// A party's TLS material, loaded: the CA it trusts and its own identity.
#[derive(Clone, Debug)]
pub struct MutualTls {
    ca: Vec<u8>,
    cert: Vec<u8>,
    key: Vec<u8>,
    own: CallerId,
}

impl MutualTls {
    /// From PEM texts.
    pub fn from_pem(
        ca: impl Into<Vec<u8>>,
        cert: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Result<MutualTls, TlsError> {
        let (ca, cert, key) = (ca.into(), cert.into(), key.into());
        CallerId::of_pem(&ca, "the CA")?;
        let own = CallerId::of_pem(&cert, "the certificate")?;
        Ok(MutualTls { ca, cert, key, own })
    }

    /// Reads the three files.
    pub fn load(files: &TlsFiles) -> Result<MutualTls, TlsError> {
        let (ca, cert, key) = (read(&files.ca)?, read(&files.cert)?, read(&files.key)?);
        CallerId::of_pem(&ca, &files.ca.display().to_string())?;
        let own = CallerId::of_pem(&cert, &files.cert.display().to_string())?;
        Ok(MutualTls { ca, cert, key, own })
    }

    /// This party's own identity (its certificate's SHA-256).
    pub fn identity(&self) -> CallerId {
        self.own
    }

    /// A server that presents this party's certificate and serves only clients with a
    /// certificate the CA signed (the handshake fails otherwise).
    pub fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert, &self.key))
            .client_ca_root(Certificate::from_pem(&self.ca))
            .client_auth_optional(false)
    }

    /// A client that presents this party's certificate and accepts only a server whose
    /// certificate the CA signed for the host it dials.
    pub fn client(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca))
            .identity(Identity::from_pem(&self.cert, &self.key))
    }
}
