//! TLS for the hub: certificate files, or a self-signed certificate made
//! once and kept in the data directory so devices can pin it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::Digest;

/// Where the hub's TLS identity comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// Made on first start in `<data>/tls/`, reused afterwards.
    SelfSigned,
}

/// PEM certificate and key, ready for rustls.
pub struct TlsIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub cert_path: PathBuf,
}

impl TlsIdentity {
    /// SHA-256 of the certificate (DER), for people comparing fingerprints.
    pub fn fingerprint(&self) -> String {
        let der = rustls_pki_types::pem::PemObject::pem_slice_iter(&self.cert_pem)
            .filter_map(|c: Result<rustls_pki_types::CertificateDer<'static>, _>| c.ok())
            .next();
        der.map(|d| hex::encode(sha2::Sha256::digest(d.as_ref())))
            .unwrap_or_default()
    }
}

pub fn load(source: &TlsSource, data_dir: &Path) -> anyhow::Result<TlsIdentity> {
    match source {
        TlsSource::Files { cert, key } => Ok(TlsIdentity {
            cert_pem: std::fs::read(cert)
                .with_context(|| format!("reading TLS certificate {}", cert.display()))?,
            key_pem: std::fs::read(key)
                .with_context(|| format!("reading TLS key {}", key.display()))?,
            cert_path: cert.clone(),
        }),
        TlsSource::SelfSigned => {
            let dir = data_dir.join("tls");
            let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert_path.exists() || !key_path.exists() {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let mut names = vec![
                    "localhost".to_string(),
                    "127.0.0.1".to_string(),
                    "::1".to_string(),
                ];
                if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
                    let host = host.trim();
                    if !host.is_empty() {
                        names.push(host.to_string());
                    }
                }
                let certified = rcgen::generate_simple_self_signed(names)
                    .context("making a self-signed certificate")?;
                std::fs::write(&cert_path, certified.cert.pem())?;
                write_private(&key_path, certified.signing_key.serialize_pem().as_bytes())?;
            }
            Ok(TlsIdentity {
                cert_pem: std::fs::read(&cert_path)?,
                key_pem: std::fs::read(&key_path)?,
                cert_path,
            })
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    Ok(())
}
