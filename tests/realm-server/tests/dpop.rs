//! DPoP (RFC 9449) as Keycloak 26 does it: proofs checked at the token endpoint (every
//! check's error), tokens bound to the proof key (`cnf.jkt`, `typ`/`token_type` DPoP, a
//! public client's refresh token too), refresh with and without the key, userinfo with the
//! `DPoP` scheme and `ath`, clients that require DPoP, discovery, CORS. Proofs are made
//! here with `ring`.

mod common;
use common::*;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair};
use serde_json::{json, Value};

const TOKEN: &str = "/realms/demo/protocol/openid-connect/token";
const USERINFO: &str = "/realms/demo/protocol/openid-connect/userinfo";
const ADMIN_USER: &str = "dpop-admin";
const ADMIN_PASSWORD: &str = "dpop-admin-pw";
const BAD_SIGNATURE: &str =
    "DPoP verification failure: org.keycloak.exceptions.TokenSignatureInvalidException: Invalid token signature";

/// A fixed 2048-bit RSA test key (PKCS#1 DER, made with `openssl genpkey` for these tests):
/// ring signs with RSA keys but cannot generate them.
const RSA_TEST_KEY: &[&str] = &[
    "MIIEogIBAAKCAQEAijSjxDH64ZNOh7w0rIkJaKtQqyUWG4cadUiWUMSoGSRd5Z/qEKfRmBGLee4aucpwHuu5ApBqQG0HvT2e8IpH",
    "vCYucfj+lIQO64TylKAtTGLwk7FDCq0BsCiR0W70EDBXfZAPAaqRFfVKNf6UOrniwLXmFTcUUWpbCwPa7GMzePayOY1K2qTjaPdV",
    "mP/vvkJwXM1Pl3nnxMoQcwqhEnSmBsgpNnHoBcQXYHDUw1eZ9nxPz74DP53nQCpGwQJ0pjYG1gaqtZp4ecF30z/0ksjDUAkoEufv",
    "CYlubYSKh7ZiCMOau8fI3V3w5J5nt2kwGrYIRNFqPkoha4hx4FjFtywr7wIDAQABAoIBABXsFqQK14RLhPPj5ykNDaiEMCYNmm2g",
    "ZxJ+gpVqNE3Upm5DiPG+ZPEtq0WafrPEyDcnZe/hr3DruoQKj7kQ/iL6nXhnqh4tul4idwYbSEQrF4Ud44gAfFmQfdzOMDmXKXGZ",
    "1b+Kajwk7fIVoTaVgMHXuJjZ5Ueqyqk7IdFIRQRlRZ61JJjclGxeBBp43Yc2jqHgwch//ox5CiGb6PokZRlodLvYGHDb7OvC0GMr",
    "s83MhAo+Hf+5aVV6Gg52sIX+K1mWcnOgVReaw90YFp7tGxutBMHQYvu8CqWGsY9fNRjl/ZjImS44sZ5pCk7H5jvclIGaDpS3qWLb",
    "rWsRZYfePe0CgYEAvyQXRAFTB8e6IhMuMgOcRF0DrNKAztTWgwo9Owk4o5gH54MfAc4AIhd/t+wz2YW4BL9NTGeP25XtaY1SYhap",
    "nSDTuldoGDj7b07OyIwUp4qIxliq52aEWsBg0mLbvKkXsnHU28cKCvStM3TEKBj+FxOpP84EwoVROxoK19LEqhUCgYEAuRox8Mir",
    "Dwm6leEiKE8E1pKybyJ1fqGgRuByamGbrPwwdjIgpJDgydC8gf4CeGJ5zayjryb4ob0jyz93HN/i3dNYo/OYkZSdzrLpn/1m0Z2U",
    "Xg/1RkhPJ6if5Nz9HGOF+JjL9M/Z4U4VaU8pcfQtxMlrC6yDOpAlZwxFhFz0UvMCgYBxs31nhcYnhabyqCg9tioZ/J64Cox2/OMS",
    "FmAwIx8fKcvh6vzh7PHlVccy2H5LciDyKf5Iaf6IaBpPRLLyCHsjLijk2yPf7N2c6+tUHwgWVfFg09PuTOyEs5Wk8Qu3oXqoOtCd",
    "YDxYIg554obhN2TGw3pVqy7nq7iTiL1Uf1tftQKBgDRmpwasOEjcjzbI8juJCyyXgO4XSj3cEZyfA6T8Fu8kwa9kR3tvDEP11LfU",
    "Kezcq/C+0+PM24wmGFD8mYLSGs6De0+GsYVdFkOiwKKrQQVMX+k1CVGpPMdUZFeM/BaiUhXrY6ndgafXzBXw9CGvZ5mTD7vRTaEx",
    "l3URs0hibERjAoGAfAiDc/a/BTOi3o/ZCSavyKl0yCF75slDzOW3TARy7D145wva4GzpSfXKSVJDRk8ghpL+JRsCYMwbMFEgv19w",
    "1Lghd2J84pHnMynJ0mvH3ES72v0+BPw6WAOilRyIPJM7LKXztGArEN/xtI3t5tJWTSqjsg+1dsvPGpWsU8BkzvA=",
];

/// The demo realm plus `dpop-app` (public, requires DPoP) and `dpop-conf` (confidential),
/// with a bootstrap admin for the Admin API. One server for this test binary.
fn srv() -> &'static Server {
    static S: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let extra = r#""clients": [
    {
      "clientId": "dpop-app",
      "publicClient": true,
      "directAccessGrantsEnabled": true,
      "redirectUris": ["http://localhost:3000/*"],
      "webOrigins": ["+"],
      "attributes": { "dpop.bound.access.tokens": "true" }
    },
    {
      "clientId": "dpop-conf",
      "publicClient": false,
      "secret": "dpop-conf-secret",
      "directAccessGrantsEnabled": true,
      "serviceAccountsEnabled": true,
      "redirectUris": ["http://localhost:3000/*"],
      "webOrigins": ["+"]
    },"#;
        let json = std::fs::read_to_string(DEMO_REALM).unwrap().replacen("\"clients\": [", extra, 1);
        let dir = std::env::temp_dir().join(format!("realm-dpop-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("realm.json");
        std::fs::write(&file, json).unwrap();
        Server::with_args_env(
            &["--import", file.to_str().unwrap()],
            &[("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USER), ("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)],
        )
    })
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

enum Signer {
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
    Rsa(sig::RsaKeyPair, &'static dyn sig::RsaEncoding),
}

/// A proof key: its signer, algorithm and public JWK.
struct Key {
    signer: Signer,
    alg: &'static str,
    jwk: Value,
}

impl Key {
    /// A fresh P-256 key (ES256).
    fn es256() -> Key {
        Key::ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, "ES256", "P-256")
    }

    fn ec(alg: &'static sig::EcdsaSigningAlgorithm, name: &'static str, crv: &str) -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        // Uncompressed point 0x04 || x || y.
        let point = pair.public_key().as_ref().to_vec();
        let half = (point.len() - 1) / 2;
        let jwk = json!({ "kty": "EC", "crv": crv, "x": b64url(&point[1..1 + half]), "y": b64url(&point[1 + half..]) });
        Key { signer: Signer::Ec(pair), alg: name, jwk }
    }

    fn ed25519() -> Key {
        let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url(pair.public_key().as_ref()) });
        Key { signer: Signer::Ed(pair), alg: "EdDSA", jwk }
    }

    fn rsa(alg: &'static str) -> Key {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD.decode(RSA_TEST_KEY.concat()).unwrap();
        let pair = sig::RsaKeyPair::from_der(&der).unwrap();
        let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
        let jwk = json!({ "kty": "RSA", "n": b64url(&public.n), "e": b64url(&public.e) });
        let enc: &'static dyn sig::RsaEncoding = match alg {
            "RS256" => &sig::RSA_PKCS1_SHA256,
            "RS384" => &sig::RSA_PKCS1_SHA384,
            "RS512" => &sig::RSA_PKCS1_SHA512,
            "PS256" => &sig::RSA_PSS_SHA256,
            "PS384" => &sig::RSA_PSS_SHA384,
            _ => &sig::RSA_PSS_SHA512,
        };
        Key { signer: Signer::Rsa(pair, enc), alg, jwk }
    }

    /// RFC 7638 thumbprint, computed here independently of the server.
    fn jkt(&self) -> String {
        let j = &self.jwk;
        let canonical = match j["kty"].as_str().unwrap() {
            "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, j["crv"].as_str().unwrap(), j["x"].as_str().unwrap(), j["y"].as_str().unwrap()),
            "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, j["crv"].as_str().unwrap(), j["x"].as_str().unwrap()),
            _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, j["e"].as_str().unwrap(), j["n"].as_str().unwrap()),
        };
        b64url(&sha256(canonical.as_bytes()))
    }

    fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk })
    }

    /// A JWS of `header` and `claims` signed with this key.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let signature = match &self.signer {
            Signer::Ec(p) => p.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Signer::Ed(p) => p.sign(input.as_bytes()).as_ref().to_vec(),
            Signer::Rsa(p, enc) => {
                let mut s = vec![0u8; p.public().modulus_len()];
                p.sign(*enc, &rng, input.as_bytes(), &mut s).unwrap();
                s
            }
        };
        format!("{input}.{}", b64url(&signature))
    }

    /// A proof for `htm` `htu` (a path on the test server, or an absolute URL).
    fn proof(&self, htm: &str, htu: &str, ath: Option<&str>) -> String {
        let mut claims = json!({ "jti": jti(), "htm": htm, "htu": url(htu), "iat": now() });
        if let Some(token) = ath {
            claims["ath"] = b64url(&sha256(token.as_bytes())).into();
        }
        self.sign(&self.header(), &claims)
    }

    /// A token-endpoint proof.
    fn token_proof(&self) -> String {
        self.proof("POST", TOKEN, None)
    }
}

fn url(path: &str) -> String {
    if path.starts_with('/') { format!("{}{path}", srv().base()) } else { path.to_string() }
}

fn password(client: &str, user: &str, headers: &[(&str, &str)]) -> Resp {
    let mut form = vec![("grant_type", "password"), ("client_id", client), ("username", user), ("password", user)];
    if client == "dpop-conf" {
        form.push(("client_secret", "dpop-conf-secret"));
    }
    form.push(("scope", "openid"));
    srv().post_form(TOKEN, headers, &form)
}

fn refresh_with(client: &str, rt: &str, headers: &[(&str, &str)]) -> Resp {
    let mut form = vec![("grant_type", "refresh_token"), ("client_id", client), ("refresh_token", rt)];
    if client == "dpop-conf" {
        form.push(("client_secret", "dpop-conf-secret"));
    }
    srv().post_form(TOKEN, headers, &form)
}

fn claims(token: &Value, name: &str) -> Value {
    jwt_part(token[name].as_str().unwrap(), 1)
}

/// 400 `invalid_request` with this description, no tokens.
fn assert_refused(r: &Resp, desc: &str) {
    assert_eq!(r.status, 400, "{desc}: {}", r.body);
    assert_eq!(r.json(), json!({ "error": "invalid_request", "error_description": desc }));
}

#[test]
fn code_exchange_and_refresh_with_proofs_bind_the_tokens() {
    let srv = srv();
    let key = Key::es256();
    let mut jar = Jar::default();
    let r = login(srv, &mut jar, &auth_path(&[]), "alice", "alice");
    assert_eq!(r.status, 302, "{}", r.body);
    let cb = callback_params(r.location(), false);
    let proof = key.token_proof();
    let r = exchange(srv, &cb["code"], REDIRECT, Some(VERIFIER), &[("DPoP", &proof)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(t["token_type"], "DPoP");
    let at = claims(&t, "access_token");
    assert_eq!(at["typ"], "DPoP");
    assert_eq!(at["cnf"], json!({ "jkt": key.jkt() }));
    // demo-app is public: its refresh token is bound too; the ID token is not.
    assert_eq!(claims(&t, "refresh_token")["cnf"]["jkt"], key.jkt().as_str());
    assert!(claims(&t, "id_token").get("cnf").is_none());
    assert_eq!(claims(&t, "id_token")["typ"], "ID");

    let rt = t["refresh_token"].as_str().unwrap();
    let r = refresh_with("demo-app", rt, &[("DPoP", &key.token_proof())]);
    assert_eq!(r.status, 200, "{}", r.body);
    let t2 = r.json();
    assert_eq!(t2["token_type"], "DPoP");
    assert_eq!(claims(&t2, "access_token")["cnf"]["jkt"], key.jkt().as_str());
    assert_eq!(claims(&t2, "refresh_token")["cnf"]["jkt"], key.jkt().as_str());

    // A bound refresh token: no proof, or a proof of another key, is refused.
    let r = refresh_with("demo-app", rt, &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({ "error": "invalid_grant", "error_description": "DPoP proof is missing" }));
    let other = Key::es256();
    let r = refresh_with("demo-app", rt, &[("DPoP", &other.token_proof())]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({ "error": "invalid_grant", "error_description": "DPoP confirmation doesn't match DPoP proof" }));
    // A bad proof is refused before the refresh token is looked at.
    let r = refresh_with("demo-app", rt, &[("DPoP", "garbage")]);
    assert_refused(&r, "DPoP header verification failure");
    // The right key still works.
    assert_eq!(refresh_with("demo-app", rt, &[("DPoP", &key.token_proof())]).status, 200);
}

#[test]
fn without_a_proof_tokens_stay_bearer() {
    let t = password("demo-app", "bob", &[]).json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(claims(&t, "access_token")["typ"], "Bearer");
    assert!(claims(&t, "access_token").get("cnf").is_none());
    assert!(claims(&t, "refresh_token").get("cnf").is_none());
}

#[test]
fn each_check_has_keycloaks_error() {
    let key = Key::es256();
    let post = |proof: &str| password("demo-app", "bob", &[("DPoP", proof)]);
    let claims_now = || json!({ "jti": jti(), "htm": "POST", "htu": url(TOKEN), "iat": now() });

    // 1. present: a blank header counts as missing
    assert_refused(&post(""), "DPoP proof is missing");
    // 2. parses
    assert_refused(&post("garbage"), "DPoP header verification failure");
    assert_refused(&post("e30.e30.e30.e30"), "DPoP header verification failure");
    let mut h = key.header();
    h["alg"] = "XX999".into();
    assert_refused(&post(&key.sign(&h, &claims_now())), "DPoP header verification failure");
    // 3. typ
    let mut h = key.header();
    h["typ"] = "JWT".into();
    assert_refused(&post(&key.sign(&h, &claims_now())), "Invalid or missing type in DPoP header: JWT");
    h.as_object_mut().unwrap().remove("typ");
    assert_refused(&post(&key.sign(&h, &claims_now())), "Invalid or missing type in DPoP header: null");
    // 4. alg: never symmetric, never none
    for alg in ["HS256", "HS512", "none"] {
        let mut h = key.header();
        h["alg"] = alg.into();
        let unsigned = format!("{}.{}.", b64url(h.to_string().as_bytes()), b64url(claims_now().to_string().as_bytes()));
        assert_refused(&post(&unsigned), &format!("Unsupported DPoP algorithm: {alg}"));
    }
    // 5. jwk
    let mut h = key.header();
    h.as_object_mut().unwrap().remove("jwk");
    assert_refused(&post(&key.sign(&h, &claims_now())), "No JWK in DPoP header");
    let mut h = key.header();
    h["jwk"] = json!({ "kty": "oct", "k": "c2VjcmV0" });
    assert_refused(&post(&key.sign(&h, &claims_now())), "No public key in DPoP header");
    let mut h = key.header();
    h["jwk"]["d"] = "AAAA".into();
    assert_refused(&post(&key.sign(&h, &claims_now())), "Private key is present in DPoP header");
    // 6. signature: signed by another key than the one in the header
    let other = Key::es256();
    assert_refused(&post(&other.sign(&key.header(), &claims_now())), BAD_SIGNATURE);
    let mut tampered = key.token_proof();
    tampered.push_str("AA");
    assert_refused(&post(&tampered), BAD_SIGNATURE);
    // 7. mandatory claims
    for missing in ["jti", "htm", "htu", "iat"] {
        let mut c = claims_now();
        c.as_object_mut().unwrap().remove(missing);
        assert_refused(&post(&key.sign(&key.header(), &c)), "DPoP mandatory claims are missing");
    }
    let mut c = claims_now();
    c["jti"] = " ".into();
    assert_refused(&post(&key.sign(&key.header(), &c)), "DPoP mandatory claims are missing");
    // 8. htu (without query), htm (exact)
    assert_refused(&post(&key.proof("POST", USERINFO, None)), "DPoP HTTP URL mismatch");
    assert_refused(&post(&key.proof("POST", &format!("http://127.0.0.1:{}{TOKEN}", srv().port), None)), "DPoP HTTP URL mismatch");
    assert_refused(&post(&key.proof("POST", &format!("{TOKEN}/"), None)), "DPoP HTTP URL mismatch");
    assert_refused(&post(&key.proof("POST", "http://localhost/%zz", None)), "Malformed HTTP URL in DPoP proof");
    assert_refused(&post(&key.proof("post", TOKEN, None)), "DPoP HTTP method mismatch");
    assert_refused(&post(&key.proof("GET", TOKEN, None)), "DPoP HTTP method mismatch");
    assert_eq!(post(&key.proof("POST", &format!("{TOKEN}?x=1"), None)).status, 200, "the query is ignored");
    let upper = url(TOKEN).replacen("http://localhost", "HTTP://LOCALHOST", 1);
    assert_eq!(post(&key.proof("POST", &upper, None)).status, 200, "scheme and host in any case");
    // 9. iat: now - 25 <= iat <= now + 15
    for (offset, ok) in [(-60, false), (-35, false), (-20, true), (10, true), (40, false)] {
        let mut c = claims_now();
        c["iat"] = (now() + offset).into();
        let r = post(&key.sign(&key.header(), &c));
        if ok {
            assert_eq!(r.status, 200, "iat {offset:+}: {}", r.body);
        } else {
            assert_refused(&r, "DPoP proof is not active");
        }
    }
    // 10. jti: once per htu
    let proof = key.token_proof();
    assert_eq!(post(&proof).status, 200);
    assert_refused(&post(&proof), "DPoP proof has already been used");
    let mut c = claims_now();
    c["jti"] = "same-jti".into();
    assert_eq!(post(&key.sign(&key.header(), &c)).status, 200);
    c["htu"] = format!("{}?other", url(TOKEN)).into();
    assert_eq!(post(&key.sign(&key.header(), &c)).status, 200, "same jti, another htu string: not a replay");
}

#[test]
fn errors_carry_the_clients_cors_headers() {
    let r = password("demo-app", "bob", &[("DPoP", "garbage"), ("Origin", "http://localhost:3000")]);
    assert_refused(&r, "DPoP header verification failure");
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:3000"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn every_accepted_algorithm_verifies() {
    let d = srv().get("/realms/demo/.well-known/openid-configuration", &[]).json();
    let algs: Vec<&str> = d["dpop_signing_alg_values_supported"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for alg in ["ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        assert!(algs.contains(&alg), "{alg} in {algs:?}");
    }
    for alg in ["HS256", "HS384", "HS512", "none"] {
        assert!(!algs.contains(&alg), "{alg}");
    }
    let keys = vec![
        Key::es256(),
        Key::ec(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, "ES384", "P-384"),
        Key::ed25519(),
        Key::rsa("RS256"),
        Key::rsa("RS384"),
        Key::rsa("RS512"),
        Key::rsa("PS256"),
        Key::rsa("PS384"),
        Key::rsa("PS512"),
    ];
    for key in &keys {
        let r = password("demo-app", "bob", &[("DPoP", &key.token_proof())]);
        assert_eq!(r.status, 200, "{}: {}", key.alg, r.body);
        assert_eq!(claims(&r.json(), "access_token")["cnf"]["jkt"], key.jkt().as_str(), "{}", key.alg);
    }
    // A key of the wrong type for the algorithm does not verify.
    let mut rsa_as_es = Key::rsa("RS256");
    rsa_as_es.alg = "ES256";
    assert_refused(&password("demo-app", "bob", &[("DPoP", &rsa_as_es.token_proof())]), BAD_SIGNATURE);
}

#[test]
fn userinfo_with_the_dpop_scheme_and_ath() {
    let key = Key::es256();
    let t = password("demo-app", "alice", &[("DPoP", &key.token_proof())]).json();
    let at = t["access_token"].as_str().unwrap();
    let dpop_auth = format!("DPoP {at}");
    let ok = srv().get(USERINFO, &[("Authorization", &dpop_auth), ("DPoP", &key.proof("GET", USERINFO, Some(at)))]);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["preferred_username"], "alice");
    let ok = srv().post_form(USERINFO, &[("Authorization", &dpop_auth), ("DPoP", &key.proof("POST", USERINFO, Some(at)))], &[]);
    assert_eq!(ok.status, 200, "POST: {}", ok.body);

    let algs = "PS384 RS384 EdDSA ES384 ES256 RS256 PS256 PS512 RS512";
    let dpop_challenge =
        format!("DPoP algs=\"{algs}\", realm=\"demo\", error=\"invalid_token\", error_description=\"Token verification failed\"");
    let bearer_challenge = "Bearer realm=\"demo\", error=\"invalid_token\", error_description=\"Token verification failed\"";
    let refused = |headers: &[(&str, &str)], challenge: &str| {
        let r = srv().get(USERINFO, headers);
        assert_eq!(r.status, 401, "{headers:?}: {}", r.body);
        assert_eq!(r.header("www-authenticate"), Some(challenge));
        r
    };
    // No ath; ath of another token; a proof of another key; a proof for another URL or
    // method; no proof; a replayed proof.
    let r = refused(&[("Authorization", &dpop_auth), ("DPoP", &key.proof("GET", USERINFO, None))], &dpop_challenge);
    assert_eq!(r.body, "", "empty body with the DPoP scheme");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    refused(&[("Authorization", &dpop_auth), ("DPoP", &key.proof("GET", USERINFO, Some("other")))], &dpop_challenge);
    let other = Key::es256();
    refused(&[("Authorization", &dpop_auth), ("DPoP", &other.proof("GET", USERINFO, Some(at)))], &dpop_challenge);
    refused(&[("Authorization", &dpop_auth), ("DPoP", &key.proof("GET", TOKEN, Some(at)))], &dpop_challenge);
    refused(&[("Authorization", &dpop_auth), ("DPoP", &key.proof("POST", USERINFO, Some(at)))], &dpop_challenge);
    refused(&[("Authorization", &dpop_auth)], &dpop_challenge);
    let once = key.proof("GET", USERINFO, Some(at));
    assert_eq!(srv().get(USERINFO, &[("Authorization", &dpop_auth), ("DPoP", &once)]).status, 200);
    refused(&[("Authorization", &dpop_auth), ("DPoP", &once)], &dpop_challenge);
    // A DPoP token with the Bearer scheme (even with a good proof).
    let bearer_auth = format!("Bearer {at}");
    let r = refused(&[("Authorization", &bearer_auth), ("DPoP", &key.proof("GET", USERINFO, Some(at)))], bearer_challenge);
    assert_eq!(r.json()["error"], "invalid_token");
    let r = srv().post_form(USERINFO, &[], &[("access_token", at)]);
    assert_eq!(r.status, 401, "form parameter = Bearer scheme: {}", r.body);
    // The scheme is case-sensitive: `dpop` is no scheme at all.
    let r = srv().get(USERINFO, &[("Authorization", &format!("dpop {at}")), ("DPoP", &key.proof("GET", USERINFO, Some(at)))]);
    assert_eq!(r.status, 400, "{}", r.body);

    // Bearer tokens work as before; with the DPoP scheme they are refused.
    let plain = password("demo-app", "alice", &[]).json();
    let pat = plain["access_token"].as_str().unwrap();
    assert_eq!(srv().get(USERINFO, &[("Authorization", &format!("Bearer {pat}"))]).status, 200);
    refused(&[("Authorization", &format!("DPoP {pat}")), ("DPoP", &key.proof("GET", USERINFO, Some(pat)))], &dpop_challenge);

    // CORS: any origin may read the challenge.
    let r = srv().get(USERINFO, &[("Authorization", &dpop_auth), ("Origin", "http://elsewhere.example")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://elsewhere.example"));
    assert_eq!(r.header("access-control-expose-headers"), Some("Access-Control-Allow-Methods, WWW-Authenticate"));
}

#[test]
fn account_accepts_the_dpop_scheme_too() {
    let key = Key::es256();
    let t = password("demo-app", "alice", &[("DPoP", &key.token_proof())]).json();
    let at = t["access_token"].as_str().unwrap();
    let path = "/realms/demo/account";
    let auth = format!("DPoP {at}");
    let r = srv().get(path, &[("Authorization", &auth), ("Accept", "application/json"), ("DPoP", &key.proof("GET", path, Some(at)))]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["username"], "alice");
    let r = srv().get(path, &[("Authorization", &format!("Bearer {at}")), ("Accept", "application/json")]);
    assert_eq!(r.status, 401);
}

#[test]
fn preflights_allow_the_dpop_header() {
    for path in [TOKEN, USERINFO] {
        let headers = [
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "dpop, authorization"),
        ];
        let r = request(srv().port, "OPTIONS", path, &headers, None);
        assert_eq!(r.status, 200);
        let allowed = r.header("access-control-allow-headers").unwrap();
        assert!(allowed.split(", ").any(|h| h == "DPoP"), "{path}: {allowed}");
        assert!(allowed.split(", ").any(|h| h == "Authorization"), "{path}: {allowed}");
    }
}

#[test]
fn a_client_that_requires_dpop_refuses_requests_without_proof() {
    assert_refused(&password("dpop-app", "bob", &[]), "DPoP proof is missing");
    let key = Key::es256();
    let r = password("dpop-app", "bob", &[("DPoP", &key.token_proof())]);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(t["token_type"], "DPoP");
    let rt = t["refresh_token"].as_str().unwrap();
    // Refresh: the client's requirement comes first.
    assert_refused(&refresh_with("dpop-app", rt, &[]), "DPoP proof is missing");
    assert_eq!(refresh_with("dpop-app", rt, &[("DPoP", &key.token_proof())]).status, 200);
}

#[test]
fn a_confidential_clients_refresh_token_is_not_bound() {
    let key = Key::es256();
    let r = password("dpop-conf", "bob", &[("DPoP", &key.token_proof())]);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(claims(&t, "access_token")["cnf"]["jkt"], key.jkt().as_str());
    assert!(claims(&t, "refresh_token").get("cnf").is_none());
    let rt = t["refresh_token"].as_str().unwrap();
    // Without a proof: an unbound Bearer token; with another key: bound to that key.
    let r = refresh_with("dpop-conf", rt, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["token_type"], "Bearer");
    let other = Key::es256();
    let r = refresh_with("dpop-conf", rt, &[("DPoP", &other.token_proof())]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(claims(&r.json(), "access_token")["cnf"]["jkt"], other.jkt().as_str());
    // The client credentials grant is bound as well (no refresh token there).
    let r = srv().post_form(TOKEN, &[("DPoP", &key.token_proof())], &[("grant_type", "client_credentials"), ("client_id", "dpop-conf"), ("client_secret", "dpop-conf-secret")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(t["token_type"], "DPoP");
    assert_eq!(claims(&t, "access_token")["cnf"]["jkt"], key.jkt().as_str());
    assert!(t.get("refresh_token").is_none());
}

#[test]
fn the_attribute_goes_through_the_admin_api() {
    let srv = srv();
    let r = srv.post_form(
        "/realms/master/protocol/openid-connect/token",
        &[],
        &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", ADMIN_USER), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = r.json()["access_token"].as_str().unwrap().to_string();
    let rep = json!({ "clientId": "made-by-admin", "publicClient": true, "directAccessGrantsEnabled": true,
        "attributes": { "dpop.bound.access.tokens": "true" } });
    let r = admin_call(srv, &admin, "POST", "/admin/realms/demo/clients", Some(&rep));
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.location().rsplit('/').next().unwrap().to_string();
    let path = format!("/admin/realms/demo/clients/{id}");
    let got = admin_call(srv, &admin, "GET", &path, None).json();
    assert_eq!(got["attributes"]["dpop.bound.access.tokens"], "true");
    assert_refused(&password("made-by-admin", "bob", &[]), "DPoP proof is missing");
    let r = admin_call(srv, &admin, "PUT", &path, Some(&json!({ "attributes": { "dpop.bound.access.tokens": "false" } })));
    assert_eq!(r.status, 204, "{}", r.body);
    let r = password("made-by-admin", "bob", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["token_type"], "Bearer");
}

#[test]
fn discovery_and_no_nonces() {
    let d = srv().get("/realms/demo/.well-known/openid-configuration", &[]).json();
    assert!(d["dpop_signing_alg_values_supported"].is_array());
    let key = Key::es256();
    let r = password("demo-app", "bob", &[("DPoP", &key.token_proof())]);
    assert_eq!(r.status, 200);
    assert!(r.header("dpop-nonce").is_none(), "Keycloak 26 issues no DPoP nonces");
    // A nonce claim is ignored.
    let c = json!({ "jti": jti(), "htm": "POST", "htu": url(TOKEN), "iat": now(), "nonce": "whatever" });
    assert_eq!(password("demo-app", "bob", &[("DPoP", &key.sign(&key.header(), &c))]).status, 200);
}
