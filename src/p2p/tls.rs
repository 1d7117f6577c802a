//! TLS 1.3 with the ring provider and a self-signed certificate kept in the data dir.
//!
//! The certificate is not trusted through any PKI: it only gives the session its encryption.
//! Peer identity comes from the Hello, whose signature covers this session's exporter value
//! ([`exporter`]), so a node key is bound to one TLS session. The client therefore accepts any
//! certificate (but still checks the handshake signature made with it), and the server asks no
//! client certificate.

use super::message::EXPORTER_LABEL;
use super::P2pError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// Certificate file name in the data dir.
pub const CERT_FILE: &str = "p2p_cert.pem";
/// Private key file name in the data dir (mode 0600).
pub const KEY_FILE: &str = "p2p_key.pem";
/// Server name the dialer presents (the certificate is not checked against it).
pub const SERVER_NAME: &str = "timecoin.p2p";

/// The ring crypto provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Loads the certificate and key from `dir`, creating them on first start.
pub fn load_or_create_identity(
    dir: &Path,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), P2pError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let tls_err = |what: String| P2pError::Tls(what);
    if !cert_path.exists() || !key_path.exists() {
        std::fs::create_dir_all(dir).map_err(|e| P2pError::DataDir {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let ck = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_owned()])
            .map_err(|e| tls_err(format!("could not generate a certificate: {e}")))?;
        write_private(&key_path, ck.key_pair.serialize_pem().as_bytes())?;
        std::fs::write(&cert_path, ck.cert.pem()).map_err(|e| P2pError::DataDir {
            path: cert_path.clone(),
            source: e,
        })?;
        tracing::info!(target: "p2p::tls", "created TLS certificate {}", cert_path.display());
    }
    let cert = CertificateDer::from_pem_file(&cert_path).map_err(|e| {
        tls_err(format!(
            "cannot read {}: {e}; delete it and {KEY_FILE} to create new ones",
            cert_path.display()
        ))
    })?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        tls_err(format!(
            "cannot read {}: {e}; delete it and {CERT_FILE} to create new ones",
            key_path.display()
        ))
    })?;
    Ok((cert, key))
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), P2pError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |e| P2pError::DataDir {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(data).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

/// Server side: TLS 1.3 only, our certificate, no client certificate.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, P2pError> {
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| P2pError::Tls(format!("TLS 1.3 setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| {
            P2pError::Tls(format!(
                "the key in {KEY_FILE} does not fit the certificate: {e}; delete both files"
            ))
        })?;
    Ok(Arc::new(cfg))
}

/// Client side: TLS 1.3 only, any server certificate accepted (identity comes from the Hello).
pub fn client_config() -> Result<Arc<ClientConfig>, P2pError> {
    let provider = provider();
    let verifier = Arc::new(AnyServerCert {
        provider: provider.clone(),
    });
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| P2pError::Tls(format!("TLS 1.3 setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The name the dialer sends in SNI.
pub fn server_name() -> ServerName<'static> {
    ServerName::DnsName(
        rustls::pki_types::DnsName::try_from(SERVER_NAME)
            .expect("SERVER_NAME is a constant, valid DNS name")
            .to_owned(),
    )
}

/// Accepts any certificate: peers authenticate by node key in the Hello. The handshake
/// signature is still verified, so the server proves it holds the certificate's key.
#[derive(Debug)]
struct AnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The 32-byte exporter value of a finished TLS session (RFC 8446 section 7.5).
pub fn exporter<S>(conn: &rustls::ConnectionCommon<S>) -> Result<[u8; 32], P2pError> {
    conn.export_keying_material([0u8; 32], EXPORTER_LABEL, None)
        .map_err(|e| P2pError::Tls(format!("TLS exporter unavailable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (c1, _) = load_or_create_identity(dir.path()).unwrap();
        let (c2, k2) = load_or_create_identity(dir.path()).unwrap();
        assert_eq!(c1, c2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        server_config(c2, k2).unwrap();
        client_config().unwrap();
    }
}
