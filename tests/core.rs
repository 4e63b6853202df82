//! The token path against the emulator: certificates, assertions, outputs,
//! cache, concurrency, faults and bad input.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;
use openssl::hash::MessageDigest;
use serde_json::{Value, json};

/// An emulator with the app registered for one self-signed certificate, a
/// profile `p` using its PFX (password in the environment).
struct Setup {
    emu: Emulator,
    env: Env,
    cert: TestCert,
    pfx: PathBuf,
}

fn setup() -> Setup {
    let emu = Emulator::start();
    let mut env = Env::new();
    let cert = make_cert(env.path(), "app", -1, 365, None, false);
    let pfx = env.path().join("app.pfx");
    make_pfx(&cert, &pfx, PASSWORD, &[], None);
    emu.register(&[&cert.cert_pem], &["the-secret"]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &[]);
    Setup { emu, env, cert, pfx }
}

fn token_of(out: &std::process::Output) -> String {
    assert_ok(out);
    stdout(out).trim().to_string()
}

#[test]
fn ps256_assertion_is_exactly_as_specified() {
    let s = setup();
    let token = token_of(&s.env.run(&["get-token", "-p", "p"]));
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["appid"], CLIENT);
    assert_eq!(claims["tid"], TENANT);
    let ev = s.emu.last_event();
    let h = &ev["assertionHeader"];
    assert_eq!(h["alg"], "PS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(h["x5t#S256"], b64url_digest(&s.cert.cert, MessageDigest::sha256()));
    assert!(h.get("x5t").is_none() && h.get("x5c").is_none(), "{h}");
    let c = &ev["assertionClaims"];
    assert_eq!(c["aud"], format!("{}/{TENANT}/oauth2/v2.0/token", s.emu.url));
    assert_eq!(c["iss"], CLIENT);
    assert_eq!(c["sub"], CLIENT);
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    assert!(uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).is_ok());
    assert_eq!(ev["scope"], GRAPH);
    assert_eq!(ev["grantType"], "client_credentials");
}

#[test]
fn rs256_sends_sha1_x5t() {
    let s = setup();
    assert_ok(&s.env.run(&["config", "edit", "-p", "p", "--assertion-algorithm", "RS256"]));
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    let h = s.emu.last_event()["assertionHeader"].clone();
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["x5t"], b64url_digest(&s.cert.cert, MessageDigest::sha1()));
    assert!(h.get("x5t#S256").is_none());
}

#[test]
fn subject_name_issuer_auth_sends_x5c_leaf_first() {
    let emu = Emulator::start();
    let mut env = Env::new();
    let ca = make_cert(env.path(), "ca", -1, 3650, None, true);
    let leaf = make_cert(env.path(), "sni-app", -1, 365, Some(&ca), false);
    let pfx = env.path().join("sni.pfx");
    make_pfx(&leaf, &pfx, PASSWORD, &[], Some(&ca.cert_pem));
    let ca_pem = std::fs::read_to_string(&ca.cert_pem).unwrap();
    // Registered by trusted CA and subject name only, no certificate.
    emu.post(
        "/_emulator/clients",
        json!({"tenant": TENANT, "clientId": CLIENT, "trustedCas": [ca_pem], "subjectNames": ["sni-app"]}),
    );
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("sni", &pfx, &emu, &[]);
    // Without the chain Entra cannot find the key.
    let out = env.run(&["get-token", "-p", "sni"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("AADSTS700027"));
    assert_ok(&env.run(&["config", "edit", "-p", "sni", "--send-certificate-chain"]));
    token_of(&env.run(&["get-token", "-p", "sni"]));
    let x5c = emu.last_event()["assertionHeader"]["x5c"].as_array().unwrap().clone();
    assert_eq!(x5c.len(), 2);
    use base64::Engine;
    let first = base64::engine::general_purpose::STANDARD.decode(x5c[0].as_str().unwrap()).unwrap();
    assert_eq!(first, leaf.cert.to_der().unwrap(), "leaf first, standard base64 DER");
}

#[test]
fn every_certificate_format_gets_a_token() {
    let emu = Emulator::start();
    let mut env = Env::new();
    let cert = make_cert(env.path(), "fmt", -1, 365, None, false);
    emu.register(&[&cert.cert_pem], &[]);
    let dir = env.path().to_path_buf();
    let modern = dir.join("modern.pfx");
    make_pfx(&cert, &modern, PASSWORD, &[], None);
    let legacy = dir.join("legacy-rc2.pfx");
    make_pfx(&cert, &legacy, PASSWORD, &["-legacy"], None);
    let des3 = dir.join("3des.p12");
    make_pfx(&cert, &des3, PASSWORD, &["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"], None);
    let nopass = dir.join("nopass.pfx");
    make_pfx(&cert, &nopass, "", &[], None);
    // PEM with certificate and key in one file, and an encrypted PKCS#8 key on its own.
    let combined = dir.join("combined.pem");
    let mut both = std::fs::read(&cert.cert_pem).unwrap();
    both.extend(std::fs::read(&cert.key_pem).unwrap());
    std::fs::write(&combined, both).unwrap();
    let enc_key = dir.join("enc.key.pem");
    let pem = cert
        .key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), PASSWORD.as_bytes())
        .unwrap();
    std::fs::write(&enc_key, pem).unwrap();
    // Legacy RC2 really is RC2 (so the legacy provider path is exercised).
    let info = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-legacy", "-passin"])
        .arg(format!("pass:{PASSWORD}"))
        .arg("-in")
        .arg(&legacy)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&info.stderr).contains("RC2"), "{}", String::from_utf8_lossy(&info.stderr));

    let cases: Vec<(&str, Vec<String>, bool)> = vec![
        ("modern", vec!["--certificate".into(), modern.display().to_string()], true),
        ("legacy", vec!["--certificate".into(), legacy.display().to_string()], true),
        ("des3", vec!["--certificate".into(), des3.display().to_string()], true),
        ("nopass", vec!["--certificate".into(), nopass.display().to_string()], false),
        ("combined", vec!["--certificate".into(), combined.display().to_string()], false),
        (
            "split",
            vec![
                "--certificate".into(),
                cert.cert_pem.display().to_string(),
                "--certificate-key".into(),
                enc_key.display().to_string(),
            ],
            true,
        ),
    ];
    for (name, args, needs_password) in cases {
        let mut full = vec!["config", "create", "--name", name, "--client-id", CLIENT, "--tenant-id", TENANT, "--authority-host", &emu.url];
        full.extend(args.iter().map(String::as_str));
        if needs_password {
            env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
        } else {
            env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
        }
        assert_ok(&env.run(&full));
        let token = token_of(&env.run(&["get-token", "-p", name, "--output", "token"]));
        assert_eq!(jwt_part(&token, 1)["appid"], CLIENT, "{name}");
    }
    // Thumbprint lookup in <config>/certs/.
    let certs_dir = env.config_dir().join("certs");
    std::fs::create_dir_all(&certs_dir).unwrap();
    std::fs::copy(&modern, certs_dir.join("mine.pfx")).unwrap();
    let thumb: String = cert.cert.digest(MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    assert_ok(&env.run(&[
        "config", "create", "--name", "bythumb", "--client-id", CLIENT, "--tenant-id", TENANT, "--authority-host", &emu.url,
        "--certificate-thumbprint", &thumb,
    ]));
    token_of(&env.run(&["get-token", "-p", "bythumb"]));
    let info = env.run(&["cert", "info", "-p", "bythumb", "--output", "json"]);
    let v: Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert_eq!(v["thumbprint"], thumb);
    assert_eq!(v["keyType"], "RSA");
    assert_eq!(v["keySize"], 2048);
    assert_eq!(v["x5t#S256"], b64url_digest(&cert.cert, MessageDigest::sha256()));
}

#[test]
fn client_secret_auth_and_its_rejection() {
    let s = setup();
    let mut env = s.env;
    env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    // With no keyring a secret cannot be stored, and nothing is saved.
    let out = env.run_stdin(
        &["config", "create", "--name", "sec", "--client-id", CLIENT, "--tenant-id", DOMAIN, "--authority-host", &s.emu.url, "--secret-stdin"],
        "the-secret\n",
    );
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("ENTRATOOL_KEYRING=none"), "{}", stderr(&out));
    assert_exit(&env.run(&["config", "show", "-p", "sec"]), 3);
    // A secret profile from an export; the secret from the environment.
    let file = env.path().join("sec.json");
    std::fs::write(&file, json!({"name": "sec", "clientId": CLIENT, "tenantId": DOMAIN, "useCertificate": false,
        "authorityHost": s.emu.url, "scope": GRAPH}).to_string()).unwrap();
    assert_ok(&env.run(&["config", "import", "-i", file.to_str().unwrap()]));
    let out = env.run(&["get-token", "-p", "sec"]);
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("ENTRATOOL_CLIENT_SECRET") && err.contains("--secret-stdin"), "{err}");
    env.set("ENTRATOOL_CLIENT_SECRET", "Wr0ngS3cretValue");
    let out = env.run(&["get-token", "-p", "sec"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("AADSTS7000215"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Wr0ngS3cretValue"), "the secret must not be echoed");
    env.set("ENTRATOOL_CLIENT_SECRET", "the-secret");
    let token = token_of(&env.run(&["get-token", "-p", "sec"]));
    assert_eq!(jwt_part(&token, 1)["appid"], CLIENT);
    assert_eq!(s.emu.last_event()["auth"], "secret");
}
