//! The emulator against MSAL Python: proof that it reads the protocol as
//! Microsoft's own client writes it (PS256, RS256 + SHA-1 x5t, secrets), so
//! entratool and the emulator cannot share one misreading and pass together.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;
use openssl::hash::MessageDigest;

/// The virtualenv `.ci/run` makes (or $ENTRATOOL_TEST_PYTHON).
pub fn python() -> Option<PathBuf> {
    let p = std::env::var_os("ENTRATOOL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let has_msal = Command::new(&p)
        .args(["-c", "import msal, azure.identity"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if has_msal {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} with msal and azure-identity is required under CI=true (.ci/run makes it)", p.display());
    }
    eprintln!("skipping: no {} with msal; run .ci/run or set ENTRATOOL_TEST_PYTHON", p.display());
    None
}

#[test]
fn msal_python_gets_tokens_and_tampering_is_refused() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (emu, ca) = Emulator::start_tls(dir.path());
    assert!(emu.url.starts_with("https://localhost:"), "{}", emu.url);
    let app = make_cert(dir.path(), "msal-app", -1, 365, None, false);
    let pfx = dir.path().join("msal.pfx");
    make_pfx(&app, &pfx, PASSWORD, &[], None);
    emu.register(&[&app.cert_pem], &["msal-secret"]);
    let sha1: String = app.cert.digest(MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02x}")).collect();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/msal_check.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([
            &emu.url,
            TENANT,
            CLIENT,
            pfx.to_str().unwrap(),
            PASSWORD,
            app.key_pem.to_str().unwrap(),
            &sha1,
            "msal-secret",
        ])
        .env("REQUESTS_CA_BUNDLE", &ca.cert_pem)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(stdout(&out).contains("all cases as expected"));
    let events = emu.stats()["events"].as_array().unwrap().clone();
    let headers: Vec<_> = events.iter().filter(|e| e["status"] == 200).map(|e| e["assertionHeader"].clone()).collect();
    assert_eq!(headers[0]["alg"], "PS256");
    // MSAL pads its base64url thumbprints; entratool does not (both are accepted).
    let unpadded = |v: &serde_json::Value| v.as_str().unwrap().trim_end_matches('=').to_string();
    assert_eq!(unpadded(&headers[0]["x5t#S256"]), b64url_digest(&app.cert, MessageDigest::sha256()));
    assert_eq!(headers[1]["alg"], "RS256");
    assert_eq!(unpadded(&headers[1]["x5t"]), b64url_digest(&app.cert, MessageDigest::sha1()));
    assert!(events.iter().any(|e| e["auth"] == "secret" && e["status"] == 200));
    assert!(events.iter().any(|e| e["code"] == 700027));

    // entratool over TLS to the same emulator, trusting the test CA through SSL_CERT_FILE.
    let mut env = Env::new();
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.set("SSL_CERT_FILE", ca.cert_pem.to_str().unwrap());
    env.create_cert_profile("tls", &pfx, &emu, &[]);
    let out = env.run(&["get-token", "-p", "tls"]);
    assert_ok(&out);
    assert_eq!(jwt_part(&stdout(&out), 1)["appid"], CLIENT);
    // Without the CA the server is not trusted: exit 6, no token.
    env.envs.retain(|(k, _)| k != "SSL_CERT_FILE");
    env.set("SSL_CERT_FILE", "/nonexistent");
    let out = env.run(&["get-token", "-p", "tls", "--force-refresh"]);
    assert_exit(&out, 6);
}
