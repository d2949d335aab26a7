//! Self-made certificates for mutual TLS on loopback: a local certificate authority and
//! leaf certificates it signs (rcgen, ECDSA P-256). What the demo, `scripts/multi-process.sh`
//! (`sealgrid-trustee certs`) and the tests use; a deployment gets its certificates from
//! its own CA instead.
//!
//! Every leaf names `localhost`, `127.0.0.1` and `::1` (a server is dialled by its
//! loopback address) and is valid for both server and client authentication: a trustee
//! serves with it, the coordinator and an auditor dial with theirs.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use sealgrid_proto::tls::{MutualTls, TlsFiles};

/// Why certificates could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen refused.
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// Writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A name that cannot be a file name.
    #[error("{0:?} is not a plain name (letters, digits, '-', '_', '.')")]
    BadName(String),
}

/// A certificate and its key, PEM.
#[derive(Clone)]
pub struct Pem {
    /// The certificate.
    pub cert: String,
    /// The private key.
    pub key: String,
}

impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pem").finish_non_exhaustive()
    }
}

/// A local certificate authority.
pub struct LocalCa {
    key: KeyPair,
    cert: rcgen::Certificate,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").finish_non_exhaustive()
    }
}

fn named(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "sealgrid local");
    dn
}

impl LocalCa {
    /// A fresh CA named `name`.
    pub fn new(name: &str) -> Result<LocalCa, CertError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = named(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(LocalCa { key, cert })
    }

    /// The CA's certificate, PEM (what every party trusts).
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf for `name` (its common name), signed by this CA.
    pub fn leaf(&self, name: &str) -> Result<Pem, CertError> {
        let mut params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])?;
        params.distinguished_name = named(name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// A leaf for `name` as a party's mutual-TLS material (this CA trusted).
    pub fn party(&self, name: &str) -> Result<MutualTls, CertError> {
        let leaf = self.leaf(name)?;
        Ok(MutualTls::from_pem(self.cert_pem(), leaf.cert, leaf.key)
            .expect("rcgen writes PEM certificates"))
    }

    /// Writes `ca.pem` and, per name, `NAME.pem` and `NAME.key` (mode 0600) under `dir`;
    /// returns each name's files. The CA's key is not written: nothing more can be
    /// signed later.
    pub fn write(
        &self,
        dir: &Path,
        names: &[String],
    ) -> Result<Vec<(String, TlsFiles)>, CertError> {
        std::fs::create_dir_all(dir).map_err(|source| CertError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let ca = dir.join("ca.pem");
        write(&ca, self.cert_pem().as_bytes(), false)?;
        let mut out = Vec::new();
        for name in names {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                || name.starts_with('.')
            {
                return Err(CertError::BadName(name.clone()));
            }
            let leaf = self.leaf(name)?;
            let (cert, key) = (
                dir.join(format!("{name}.pem")),
                dir.join(format!("{name}.key")),
            );
            write(&cert, leaf.cert.as_bytes(), false)?;
            write(&key, leaf.key.as_bytes(), true)?;
            out.push((
                name.clone(),
                TlsFiles {
                    ca: ca.clone(),
                    cert,
                    key,
                },
            ));
        }
        Ok(out)
    }
}

fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), CertError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    opts.open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| CertError::Io {
            path: path.to_owned(),
            source,
        })
}
