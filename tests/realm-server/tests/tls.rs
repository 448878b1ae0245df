//! `--tls`: HTTPS with a self-signed certificate made at start.

mod common;
use common::*;
use std::io::{Read, Write};
use std::sync::Arc;

#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn https_get(port: u16, host: &str, path: &str) -> Resp {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), server_name).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf); // a missing close_notify is not our concern here
    assert!(tls.conn.peer_certificates().is_some_and(|c| !c.is_empty()));
    parse_response(&buf)
}

#[test]
fn serves_https_with_https_issuer_and_secure_cookies() {
    let srv = Server::with_args(&["--tls"]);
    let r = https_get(srv.port, "localhost", "/realms/demo/.well-known/openid-configuration");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["issuer"], format!("https://localhost:{}/realms/demo", srv.port));
    let r = https_get(srv.port, "app.localhost", "/realms/demo/.well-known/openid-configuration");
    assert_eq!(r.json()["issuer"], format!("https://app.localhost:{}/realms/demo", srv.port));
    let r = https_get(srv.port, "localhost", &auth_path(&[("redirect_uri", "https://app.localhost:3443/")]));
    assert_eq!(r.status, 200);
    let c = r.set_cookie("AUTH_SESSION_ID").unwrap();
    assert!(c.contains("SameSite=None; Secure"), "{c}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = raw(srv.port, b"GET /realms/demo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_ne!(plain.status, 200);
}

#[test]
fn plain_http_cookies_on_non_local_hosts_are_lax() {
    let srv = demo();
    let host = format!("kjs-auth.example:{}", srv.port);
    let r = srv.get(&auth_path(&[]), &[("Host", &host)]);
    let c = r.set_cookie("AUTH_SESSION_ID").unwrap();
    assert!(c.contains("SameSite=Lax") && !c.contains("Secure"), "{c}");
}
