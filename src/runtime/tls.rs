//! TLS (rustls) on `tls-port`: the server's certificate and key, optionally a CA whose
//! certificates clients must (`tls-auth-clients yes`, Redis's default when a CA is
//! given) or may (`optional`) present. Each shard accepts on its own SO_REUSEPORT
//! listener of the TLS port; a TLS connection is the connection's transport with a
//! rustls session over it (`net/transport.rs`), the rest of its life as any client's.
//!
//! With `tls-replication yes` a replica reaches its primary over TLS (`runtime::peer`),
//! presenting `tls-client-cert-file` (or `tls-cert-file`) and checking the primary's
//! chain against `tls-ca-cert-file`. With `tls-cluster yes` the cluster node ports speak
//! TLS, and so do the links between cluster processes (to a node port). CONFIG SET of
//! these takes effect for new connections; the port is fixed at start-up.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};

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

/// The `tls-*` settings (CONFIG GET / SET, start-up flags).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub port: u16,
    pub cert: String,
    pub key: String,
    pub ca: String,
    /// `yes`, `no` or `optional`.
    pub auth_clients: String,
    /// The certificate and key this server presents as a client (a replica's link);
    /// empty: `cert` and `key`.
    pub client_cert: String,
    pub client_key: String,
    /// Whether a replica connects to its primary over TLS.
    pub replication: bool,
    /// Whether cluster node ports, and the links between cluster processes, are TLS.
    pub cluster: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            port: 0,
            cert: String::new(),
            key: String::new(),
            ca: String::new(),
            auth_clients: "yes".into(),
            client_cert: String::new(),
            client_key: String::new(),
            replication: false,
            cluster: false,
        }
    }
}

/// The settings in force and the configurations made from them.
struct State {
    settings: Settings,
    server: Option<Arc<ServerConfig>>,
    client: Option<Arc<ClientConfig>>,
}

static STATE: std::sync::RwLock<Option<State>> = std::sync::RwLock::new(None);

/// Builds what `s` asks for: the TLS port's configuration (with a port) and the
/// replica link's (with `tls-replication yes`).
fn build(s: &Settings) -> Result<State, String> {
    let server = if s.port == 0 && !s.cluster {
        None
    } else {
        let need = |v: &str, name: &str| {
            if v.is_empty() {
                let what = if s.port == 0 {
                    "tls-cluster"
                } else {
                    "--tls-port"
                };
                Err(format!("{what} needs --{name}"))
            } else {
                Ok(())
            }
        };
        need(&s.cert, "tls-cert-file")?;
        need(&s.key, "tls-key-file")?;
        Some(server_config(&TlsFiles {
            cert: &s.cert,
            key: &s.key,
            ca: (!s.ca.is_empty()).then_some(s.ca.as_str()),
            auth_clients: &s.auth_clients,
        })?)
    };
    let client = if s.replication || s.cluster {
        Some(client_config(s)?)
    } else {
        None
    };
    Ok(State {
        settings: s.clone(),
        server,
        client,
    })
}

/// Puts `s` in force (at start-up, and for CONFIG SET); on an error the settings in
/// force stay.
pub fn configure(s: Settings) -> Result<(), String> {
    let state = build(&s)?;
    *STATE.write().unwrap_or_else(|e| e.into_inner()) = Some(state);
    Ok(())
}

fn with_state<T>(f: impl FnOnce(&State) -> T) -> Option<T> {
    STATE
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(f)
}

/// The TLS port's configuration now (a new connection takes the latest).
pub fn server() -> Option<Arc<ServerConfig>> {
    with_state(|s| s.server.clone()).flatten()
}

/// The replica link's configuration, with `tls-replication yes`.
pub fn replication_client() -> Option<Arc<ClientConfig>> {
    with_state(|s| s.settings.replication.then(|| s.client.clone()).flatten()).flatten()
}

/// The node ports' configuration, with `tls-cluster yes`.
pub fn cluster_server() -> Option<Arc<ServerConfig>> {
    with_state(|s| s.settings.cluster.then(|| s.server.clone()).flatten()).flatten()
}

/// The configuration of links to other cluster processes, with `tls-cluster yes`.
pub fn cluster_client() -> Option<Arc<ClientConfig>> {
    with_state(|s| s.settings.cluster.then(|| s.client.clone()).flatten()).flatten()
}

/// The settings in force.
pub fn settings() -> Settings {
    with_state(|s| s.settings.clone()).unwrap_or_default()
}

/// A parameter's value in `s`, as CONFIG GET shows it.
pub fn render(s: &Settings, name: &str) -> Option<String> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    Some(match name {
        "tls-port" => s.port.to_string(),
        "tls-cert-file" => s.cert.clone(),
        "tls-key-file" => s.key.clone(),
        "tls-ca-cert-file" => s.ca.clone(),
        "tls-auth-clients" => s.auth_clients.clone(),
        "tls-client-cert-file" => s.client_cert.clone(),
        "tls-client-key-file" => s.client_key.clone(),
        "tls-replication" => yes_no(s.replication),
        "tls-cluster" => yes_no(s.cluster),
        _ => return None,
    })
}

/// The settings with one parameter changed (CONFIG SET), checked by building what
/// they ask for; the error says why not.
pub fn with_changed(name: &str, value: &str) -> Result<Settings, String> {
    let mut s = settings();
    let lower = value.to_ascii_lowercase();
    let yes_no = || match lower.as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_string()),
    };
    match name {
        "tls-cert-file" => s.cert = value.into(),
        "tls-key-file" => s.key = value.into(),
        "tls-ca-cert-file" => s.ca = value.into(),
        "tls-client-cert-file" => s.client_cert = value.into(),
        "tls-client-key-file" => s.client_key = value.into(),
        "tls-auth-clients" => match lower.as_str() {
            "yes" | "no" | "optional" => s.auth_clients = lower.clone(),
            _ => return Err("argument(s) must be one of the following: no, yes, optional".into()),
        },
        "tls-replication" => s.replication = yes_no()?,
        "tls-cluster" => s.cluster = yes_no()?,
        _ => return Err("unknown TLS parameter".into()),
    }
    if let Err(why) = build(&s) {
        crate::base::log::warning(&format!("Failed applying new TLS configuration: {why}"));
        return Err("Unable to update TLS configuration. Check server logs.".into());
    }
    Ok(s)
}

/// The replica link's client configuration: the CA must vouch for the primary's
/// certificate; as Redis (OpenSSL without a host check), the certificate's names are
/// not matched against the address.
fn client_config(s: &Settings) -> Result<Arc<ClientConfig>, String> {
    if s.ca.is_empty() {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                    tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&s.ca)
        .map_err(|e| format!("cannot read tls-ca-cert-file {}: {e}", s.ca))?
    {
        let c = c.map_err(|e| format!("bad certificate in tls-ca-cert-file {}: {e}", s.ca))?;
        roots
            .add(c)
            .map_err(|e| format!("bad CA certificate in {}: {e}", s.ca))?;
    }
    let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("tls-ca-cert-file {}: {e}", s.ca))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainOnly(chain)));
    let pick = |own: &str, shared: &str| {
        if own.is_empty() {
            shared.to_string()
        } else {
            own.to_string()
        }
    };
    let (cert, key) = (pick(&s.client_cert, &s.cert), pick(&s.client_key, &s.key));
    let config = if cert.is_empty() || key.is_empty() {
        builder.with_no_client_auth()
    } else {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
            .map_err(|e| format!("cannot read {cert}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("bad certificate in {cert}: {e}"))?;
        let key = PrivateKeyDer::from_pem_file(&key)
            .map_err(|e| format!("cannot read a private key from {key}: {e}"))?;
        builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("the client certificate and key do not go together: {e}"))?
    };
    Ok(Arc::new(config))
}

/// Checks a server's certificate chain against the CA, not its names.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
