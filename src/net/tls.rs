//! TLS (rustls) on `tls-port`: the server's certificate and key, optionally a CA whose
//! certificates clients must (`tls-auth-clients yes`, Redis's default when a CA is
//! given) or may (`optional`) present. Each shard accepts on its own SO_REUSEPORT
//! listener of the TLS port; a TLS connection is a glommio stream with a rustls
//! session over it (`transport.rs`), the rest of its life as any client's.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

/// What `tls-*` settings ask for.
pub struct TlsFiles<'a> {
    pub cert: &'a str,
    pub key: &'a str,
    pub ca: Option<&'a str>,
    /// `yes`, `no` or `optional`.
    pub auth_clients: &'a str,
}

/// The rustls configuration for the TLS port, or why it cannot be made (naming the
/// file).
pub fn server_config(f: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    // ring (no post-quantum key exchange, hence the deprecation) rather than
    // aws-lc-rs, which needs cmake and a long C build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(f.cert)
        .map_err(|e| format!("cannot read tls-cert-file {}: {e}", f.cert))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in tls-cert-file {}: {e}", f.cert))?;
    if certs.is_empty() {
        return Err(format!("no certificate in tls-cert-file {}", f.cert));
    }
    let key = PrivateKeyDer::from_pem_file(f.key)
        .map_err(|e| format!("cannot read a private key from tls-key-file {}: {e}", f.key))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match (f.ca, f.auth_clients) {
        (Some(ca), "yes" | "optional") => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("cannot read tls-ca-cert-file {ca}: {e}"))?
            {
                let c = c.map_err(|e| format!("bad certificate in tls-ca-cert-file {ca}: {e}"))?;
                roots
                    .add(c)
                    .map_err(|e| format!("bad CA certificate in {ca}: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if f.auth_clients == "optional" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| format!("tls-ca-cert-file {ca}: {e}"))?,
            )
        }
        (None, "yes") => {
            return Err(
                "tls-auth-clients yes needs tls-ca-cert-file (or set tls-auth-clients no)".into(),
            )
        }
        _ => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls-cert-file and tls-key-file do not go together: {e}"))?;
    Ok(Arc::new(config))
}
