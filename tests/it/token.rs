//! The token path against the emulator: certificates, assertions, outputs,
//! cache, concurrency, faults and bad input.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::common::*;
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
    let App { emu, mut env, cert, pfx } = App::new(&["the-secret"]);
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
    make_pfx(
        &cert,
        &des3,
        PASSWORD,
        &["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
        None,
    );
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
        let mut full = create_args(name, TENANT, &["--authority-host", &emu.url]);
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
    assert_ok(&env.run(&create_args(
        "bythumb",
        TENANT,
        &["--authority-host", &emu.url, "--certificate-thumbprint", &thumb],
    )));
    token_of(&env.run(&["get-token", "-p", "bythumb"]));
    let info = env.run(&["cert", "info", "-p", "bythumb", "--output", "json"]);
    let v: Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert_eq!(v["thumbprint"], thumb);
    assert_eq!(v["keyType"], "RSA");
    assert_eq!(v["keySize"], 2048);
    assert_eq!(v["x5t#S256"], b64url_digest(&cert.cert, MessageDigest::sha256()));
    // cert info on a file: the legacy PFX, its password from the environment.
    let info = env.run(&["cert", "info", legacy.to_str().unwrap(), "--output", "json"]);
    assert_ok(&info);
    let v: Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert_eq!(v["thumbprint"], thumb);
    assert_eq!(v["subject"], "CN=fmt");
    assert!(v["daysLeft"].as_i64().unwrap() >= 363);
}

#[test]
fn client_secret_auth_and_its_rejection() {
    let s = setup();
    let mut env = s.env;
    env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    // With no keyring a secret cannot be stored, and nothing is saved.
    let out =
        env.run_stdin(&create_args("sec", DOMAIN, &["--authority-host", &s.emu.url, "--secret-stdin"]), "the-secret\n");
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("ENTRATOOL_KEYRING=none"), "{}", stderr(&out));
    assert_exit(&env.run(&["config", "show", "-p", "sec"]), 3);
    // A secret profile from an export; the secret from the environment.
    let file = env.path().join("sec.json");
    std::fs::write(
        &file,
        json!({"name": "sec", "clientId": CLIENT, "tenantId": DOMAIN, "useCertificate": false,
        "authorityHost": s.emu.url, "scope": GRAPH})
        .to_string(),
    )
    .unwrap();
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

#[test]
fn every_output_format_has_its_exact_shape() {
    let s = setup();
    let tok = token_of(&s.env.run(&["get-token", "-p", "p"]));
    let raw = stdout(&s.env.run(&["get-token", "-p", "p", "--output", "token"]));
    assert_eq!(raw, format!("{tok}\n"));
    let header = stdout(&s.env.run(&["get-token", "-p", "p", "--output", "header"]));
    assert_eq!(header, format!("Authorization: Bearer {tok}\n"));

    let j: Value = serde_json::from_str(&stdout(&s.env.run(&["get-token", "-p", "p", "-o", "json"]))).unwrap();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["accessToken", "tokenType", "expiresOn", "expires_on", "scope", "profile", "tenantId", "clientId"]
    );
    let exp = j["expires_on"].as_i64().unwrap();
    let rfc = chrono::DateTime::from_timestamp(exp, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(j["expiresOn"], rfc);
    assert_eq!(j["accessToken"], tok);
    assert_eq!(j["tokenType"], "Bearer");
    assert_eq!((j["scope"].as_str(), j["profile"].as_str()), (Some(GRAPH), Some("p")));
    assert_eq!((j["tenantId"].as_str(), j["clientId"].as_str()), (Some(TENANT), Some(CLIENT)));

    let mut env = Env::new();
    env.envs = s.env.envs.clone();
    env.set("TZ", "Asia/Kolkata");
    let az: Value = serde_json::from_str(&stdout(&env.run(&["get-token", "-p", "p", "-o", "az"]))).unwrap();
    let keys: Vec<&str> = az.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["accessToken", "expiresOn", "expires_on", "tenant", "tokenType"]);
    let local = chrono::DateTime::from_timestamp(exp, 0).unwrap() + chrono::Duration::minutes(330);
    assert_eq!(az["expiresOn"], local.format("%Y-%m-%d %H:%M:%S.000000").to_string(), "local time, %f");
    assert_eq!(az["expires_on"], exp);
    assert_eq!(az["tenant"], TENANT);

    let azd: Value = serde_json::from_str(&stdout(&s.env.run(&["get-token", "-p", "p", "-o", "azd"]))).unwrap();
    assert_eq!(azd, json!({"token": tok, "expiresOn": rfc}));

    for (info, version) in [
        (None, "client.authentication.k8s.io/v1beta1"),
        (Some(""), "client.authentication.k8s.io/v1beta1"),
        (
            Some(
                r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
            ),
            "client.authentication.k8s.io/v1",
        ),
        (
            Some(r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}"#),
            "client.authentication.k8s.io/v1beta1",
        ),
    ] {
        let mut c = s.env.cmd(&[
            "get-token",
            "-p",
            "p",
            "--server-id",
            "6dae42f8-4368-4678-94ff-3960e28e3630",
            "-o",
            "exec-credential",
        ]);
        if let Some(i) = info {
            c.env("KUBERNETES_EXEC_INFO", i);
        }
        let out = c.output().unwrap();
        assert_ok(&out);
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["apiVersion"], version);
        assert_eq!(v["kind"], "ExecCredential");
        let t = v["status"]["token"].as_str().unwrap();
        assert_eq!(jwt_part(t, 1)["aud"], "6dae42f8-4368-4678-94ff-3960e28e3630");
        let ts = v["status"]["expirationTimestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok());
    }
    for bad in ["{not json", r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#] {
        let out = s
            .env
            .cmd(&["get-token", "-p", "p", "-o", "exec-credential"])
            .env("KUBERNETES_EXEC_INFO", bad)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("KUBERNETES_EXEC_INFO"));
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn scope_choice_and_profile_choice() {
    let s = setup();
    let t = token_of(&s.env.run(&["get-token", "-p", "p", "--scope", "https://management.azure.com/.default"]));
    assert_eq!(jwt_part(&t, 1)["aud"], "https://management.azure.com");
    // ENTRATOOL_PROFILE, then defaultProfile.
    let mut env = Env::new();
    env.envs = s.env.envs.clone();
    assert_ok(&env.run(&create_args(
        "other",
        TENANT,
        &[
            "--authority-host",
            &s.emu.url,
            "--certificate",
            s.pfx.to_str().unwrap(),
            "--scope",
            "https://vault.azure.net/.default",
        ],
    )));
    let t = token_of(&env.run(&["get-token"]));
    assert_eq!(jwt_part(&t, 1)["aud"], "https://graph.microsoft.com", "defaultProfile is the first one created");
    env.set("ENTRATOOL_PROFILE", "other");
    let t = token_of(&env.run(&["get-token"]));
    assert_eq!(jwt_part(&t, 1)["aud"], "https://vault.azure.net");
}

#[test]
fn cache_reuses_refreshes_and_rekeys() {
    let s = setup();
    let t1 = token_of(&s.env.run(&["get-token", "-p", "p"]));
    let t2 = token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(t1, t2);
    assert_eq!(s.emu.token_requests(), 1, "second call served from the cache");
    let t3 = token_of(&s.env.run(&["get-token", "-p", "p", "--force-refresh"]));
    assert_ne!(t1, t3);
    assert_eq!(s.emu.token_requests(), 2);
    // Folder 0700, files 0600, and no secret inside.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.env.cache_dir()), 0o700);
    assert_eq!(mode(&s.env.config_dir()), 0o700);
    assert_eq!(mode(&s.env.config_dir().join("profiles.json")), 0o600);
    for entry in std::fs::read_dir(s.env.cache_dir()).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        assert!(!std::fs::read_to_string(&p).unwrap().contains(PASSWORD));
    }
    // A corrupt entry is a miss, repaired by the next write.
    let entry = std::fs::read_dir(s.env.cache_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    std::fs::write(&entry, b"{\"key\": tru").unwrap();
    let t4 = token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(s.emu.token_requests(), 3);
    let repaired: Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    assert_eq!(repaired["accessToken"], t4);
    // A new certificate at the same path never reuses the old one's token.
    let newer = make_cert(s.env.path(), "app2", -1, 365, None, false);
    s.emu.register(&[&s.cert.cert_pem, &newer.cert_pem], &[]);
    make_pfx(&newer, &s.pfx, PASSWORD, &[], None);
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(s.emu.token_requests(), 4);
    let h = s.emu.last_event()["assertionHeader"].clone();
    assert_eq!(h["x5t#S256"], b64url_digest(&newer.cert, MessageDigest::sha256()));
    // cache list shows it without the token; cache clear empties it.
    let list = stdout(&s.env.run(&["cache", "list"]));
    assert!(list.contains("graph.microsoft.com") && !list.contains(&t4[..20]), "{list}");
    assert_ok(&s.env.run(&["cache", "clear", "-p", "p"]));
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(s.emu.token_requests(), 5);
}

#[test]
fn near_expiry_and_refresh_in() {
    let s = setup();
    // Tokens that live 200 s are inside the 5-minute margin at once.
    s.emu.settings(json!({"tokenLifetime": 200}));
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(s.emu.token_requests(), 2, "near-expiry token is renewed");
    token_of(&s.env.run(&["get-token", "-p", "p", "--min-validity", "60"]));
    assert_eq!(s.emu.token_requests(), 2, "--min-validity 60 accepts it");
    // refresh_in: renewed once it has passed, though far from expiry (0 s:
    // passed at once, so no test has to wait; the cache's unit tests move the clock).
    s.emu.settings(json!({"tokenLifetime": 3599, "refreshIn": 0}));
    token_of(&s.env.run(&["get-token", "-p", "p", "--force-refresh"]));
    assert_eq!(s.emu.token_requests(), 3);
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(s.emu.token_requests(), 4);
    s.emu.settings(json!({"refreshIn": 3000}));
    token_of(&s.env.run(&["get-token", "-p", "p", "--force-refresh"]));
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert_eq!(s.emu.token_requests(), 5, "refresh_in not yet passed: served from the cache");
}

#[test]
fn entra_down_serves_a_still_valid_token_with_a_warning() {
    let s = setup();
    s.emu.settings(json!({"tokenLifetime": 200}));
    let t1 = token_of(&s.env.run(&["get-token", "-p", "p"]));
    s.emu.fault("503", 4, Some(0), None);
    let out = s.env.run(&["get-token", "-p", "p"]);
    assert_eq!(token_of(&out), t1);
    // One line, in the one shape: `warning: …; serving the cached token …`.
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l.starts_with("warning: ") && l.contains("; serving the cached token, valid until")),
        "{err}"
    );
    assert!(!err.contains("entratool: warning") && !err.lines().any(|l| l.starts_with("serving")), "{err}");
    s.emu.fault("503", 4, Some(0), None);
    let out = s.env.run(&["get-token", "-p", "p", "--silent"]);
    assert_eq!(token_of(&out), t1);
    assert!(stderr(&out).is_empty(), "--silent: {}", stderr(&out));
}

#[test]
fn forty_concurrent_cold_callers_make_one_request() {
    let s = setup();
    let children: Vec<_> = (0..40)
        .map(|_| {
            s.env
                .cmd(&["get-token", "-p", "p"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let tokens: Vec<String> = children.into_iter().map(|c| token_of(&c.wait_with_output().unwrap())).collect();
    assert_eq!(s.emu.token_requests(), 1);
    assert!(tokens.iter().all(|t| t == &tokens[0]));
}

#[test]
fn twenty_concurrent_creates_keep_every_profile() {
    let s = setup();
    let children: Vec<_> = (0..20)
        .map(|i| {
            let name = format!("c{i}");
            s.env
                .cmd(&create_args(&name, TENANT, &["--certificate", s.pfx.to_str().unwrap()]))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        assert_ok(&c.wait_with_output().unwrap());
    }
    let list: Value = serde_json::from_str(&stdout(&s.env.run(&["config", "list", "--output", "json"]))).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for i in 0..20 {
        assert!(names.contains(&format!("c{i}").as_str()), "c{i} lost: {names:?}");
    }
    assert_eq!(names.len(), 21);
}

#[test]
fn retries_and_exit_codes_under_faults() {
    let s = setup();
    let run = |extra: &[&str]| {
        let mut args = vec!["get-token", "-p", "p", "--force-refresh"];
        args.extend(extra);
        s.env.run(&args)
    };
    // 429 with Retry-After: waits, retries, succeeds.
    s.emu.fault("429", 1, Some(1), None);
    let started = std::time::Instant::now();
    token_of(&run(&[]));
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "Retry-After honoured");
    assert_eq!(s.emu.token_requests(), 2);
    // A broken connection is retried.
    s.emu.fault("reset", 1, None, None);
    token_of(&run(&[]));
    assert_eq!(s.emu.token_requests(), 4);
    // 503 that does not stop: bounded attempts, then exit 6.
    s.emu.fault("503", 10, Some(0), None);
    let out = run(&[]);
    assert_exit(&out, 6);
    assert_eq!(s.emu.token_requests(), 8, "1 attempt + 3 retries");
    assert!(stderr(&out).contains("HTTP 503"));
    // Garbage is not retried: exit 6.
    s.emu.post("/_emulator/reset", json!({}));
    s.emu.fault("garbage", 1, None, None);
    assert_exit(&run(&[]), 6);
    assert_eq!(s.emu.token_requests(), 1);
    // Slow answers hit the timeout, then the retry gets through.
    let mut env = Env::new();
    env.envs = s.env.envs.clone();
    env.set("ENTRATOOL_HTTP_TIMEOUT", "1");
    s.emu.fault("slow", 1, None, Some(2500));
    token_of(&env.run(&["get-token", "-p", "p", "--force-refresh"]));
    assert_eq!(s.emu.token_requests(), 3);
    // Nothing listening: exit 6.
    let mut dead = Env::new();
    dead.envs = s.env.envs.clone();
    dead.set("ENTRATOOL_CACHE_DIR", dead.path().join("c").to_str().unwrap());
    let cfg = dead.path().join("cfg");
    dead.set("ENTRATOOL_CONFIG_DIR", cfg.to_str().unwrap());
    assert_ok(&dead.run(&create_args(
        "d",
        TENANT,
        &["--authority-host", "http://127.0.0.1:9", "--certificate", s.pfx.to_str().unwrap()],
    )));
    assert_exit(&dead.run(&["get-token", "-p", "d"]), 6);
}

#[test]
fn aadsts_errors_carry_code_description_and_hint() {
    let s = setup();
    let stranger = make_cert(s.env.path(), "stranger", -1, 365, None, false);
    let pfx = s.env.path().join("stranger.pfx");
    make_pfx(&stranger, &pfx, PASSWORD, &[], None);
    let out = s.env.run(&["get-token", "-p", "p", "--certificate", pfx.to_str().unwrap()]);
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(err.contains("AADSTS700027: Client assertion contains an invalid signature"), "{err}");
    // The hint shows the thumbprint that was used, as the portal lists them (docs/reference.md#commands).
    let used: String =
        stranger.cert.digest(MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
    assert!(err.contains("hint: ") && err.contains(&format!("SHA-1 thumbprint is {used}")), "{err}");
    // Both thumbprints labelled, and the profile named (under kubectl nobody sees which one ran).
    let sha256: String =
        stranger.cert.digest(MessageDigest::sha256()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
    assert!(err.contains(&format!("SHA-256 thumbprint, which Entra's message may show as the key used, is {sha256}")));
    assert!(err.contains("profile 'p' signed with"), "{err}");
    // Entra's IDs once, as support asks for them, not the description's own trailing lines.
    assert_eq!(err.matches("Trace ID").count(), 1, "{err}");
    assert!(err.contains("(Trace ID ") && err.contains(", Correlation ID "), "{err}");
    for (scope, code) in [
        ("https://graph.microsoft.com/User.Read", "AADSTS1002012"),
        ("https://unknown.example.com/.default", "AADSTS500011"),
    ] {
        let out = s.env.run(&["get-token", "-p", "p", "--scope", scope]);
        assert_exit(&out, 5);
        assert!(stderr(&out).contains(code), "{}", stderr(&out));
        assert!(stderr(&out).contains("hint:"));
    }
    assert_ok(&s.env.run(&["config", "edit", "-p", "p", "--tenant-id", "11111111-2222-3333-4444-555555555555"]));
    let out = s.env.run(&["get-token", "-p", "p"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("AADSTS90002") && stderr(&out).contains("cloud"), "{}", stderr(&out));
    assert_ok(&s.env.run(&[
        "config",
        "edit",
        "-p",
        "p",
        "--tenant-id",
        TENANT,
        "--client-id",
        "99999999-2222-3333-4444-555555555555",
    ]));
    let out = s.env.run(&["get-token", "-p", "p"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("AADSTS700016"), "{}", stderr(&out));
    // --certificate did not change the profile.
    let shown: Value =
        serde_json::from_str(&stdout(&s.env.run(&["config", "show", "-p", "p", "--output", "json"]))).unwrap();
    assert_eq!(shown["certificatePath"], s.pfx.to_str().unwrap());
}

#[test]
fn expired_and_future_certificates_are_refused_before_any_request() {
    let s = setup();
    for (name, from, to, text) in
        [("old", -400, -1, "Certificate has expired (not after"), ("future", 5, 400, "not yet valid")]
    {
        let c = make_cert(s.env.path(), name, from, to, None, false);
        let pfx = s.env.path().join(format!("{name}.pfx"));
        make_pfx(&c, &pfx, PASSWORD, &[], None);
        let out = s.env.run(&["get-token", "-p", "p", "--certificate", pfx.to_str().unwrap()]);
        assert_exit(&out, 4);
        assert!(stderr(&out).contains(text), "{}", stderr(&out));
        let thumb: String = c.cert.digest(MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
        if name == "old" {
            assert!(stderr(&out).contains(&thumb));
        }
    }
    assert_eq!(s.emu.token_requests(), 0);
    // Within 30 days: a warning, silenced by --silent.
    let soon = make_cert(s.env.path(), "soon", -300, 10, None, false);
    s.emu.register(&[&s.cert.cert_pem, &soon.cert_pem], &[]);
    let pfx = s.env.path().join("soon.pfx");
    make_pfx(&soon, &pfx, PASSWORD, &[], None);
    let out = s.env.run(&["get-token", "-p", "p", "--certificate", pfx.to_str().unwrap()]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("expires in 9 days") || stderr(&out).contains("expires in 10 days"),
        "{}",
        stderr(&out)
    );
    let out = s.env.run(&["get-token", "-p", "p", "--certificate", pfx.to_str().unwrap(), "--silent"]);
    assert_ok(&out);
    assert!(stderr(&out).is_empty());
    // cert check: exit 1 inside the window, 0 outside.
    assert_ok(&s.env.run(&["config", "edit", "-p", "p", "--certificate", pfx.to_str().unwrap()]));
    let out = s.env.run(&["cert", "check", "-p", "p"]);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("✗ p:"));
    assert_ok(&s.env.run(&["cert", "check", "-p", "p", "--within", "5"]));
}

/// A CONNECT proxy on loopback that counts the tunnels it opens; every host it is asked for is
/// this machine (the port as asked).
fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let asked = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let target = format!("127.0.0.1:{}", asked.rsplit(':').next().unwrap_or(""));
                while reader.read_line(&mut String::new()).map(|n| n > 2).unwrap_or(false) {}
                let Ok(upstream) = TcpStream::connect(&target) else { return };
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut client = client;
                client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
                let (mut up_r, mut up_w) = (upstream.try_clone().unwrap(), upstream);
                let mut down_w = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut up_r, &mut down_w));
                let _ = std::io::copy(&mut reader, &mut up_w);
            });
        }
    });
    (url, count)
}

#[test]
fn https_proxy_and_no_proxy_are_honoured() {
    // A name that is not loopback (loopback never goes through a proxy) and that only the proxy can reach.
    let mut env = Env::new();
    let (emu, ca) = Emulator::start_tls_as(env.path(), "login.entra.test");
    emu.register(&[], &["proxied-secret"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "proxied-secret");
    env.set("SSL_CERT_FILE", ca.cert_pem.to_str().unwrap());
    let authority = format!("https://login.entra.test:{}", emu.url.rsplit(':').next().unwrap());
    let create = create_args("px", TENANT, &["--authority-host", &authority, "--auth-method", "secret"]);
    assert_ok(&env.run(&create));
    let (proxy, tunnels) = connect_proxy();
    env.set("HTTPS_PROXY", &proxy);
    let get = ["get-token", "-p", "px", "--scope", GRAPH, "--force-refresh"];
    token_of(&env.run(&get));
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1, "the request went through HTTPS_PROXY");
    env.set("NO_PROXY", "entra.test");
    assert_exit(&env.run(&get), 6);
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1, "NO_PROXY bypassed the proxy");
    assert_eq!(emu.token_requests(), 1);
}

#[test]
fn a_retry_after_beyond_the_budget_fails_at_once_and_holds_other_processes() {
    let s = setup();
    s.emu.fault("429", 1, Some(3600), None);
    let started = std::time::Instant::now();
    let out = s.env.run(&["get-token", "-p", "p"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    assert_exit(&out, 6);
    let err = stderr(&out);
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(err.contains("asked to wait 3600 s") && err.contains(&format!("hint: try again after {year}-")), "{err}");
    assert_eq!(s.emu.token_requests(), 1);
    // Another process, even forcing a refresh, gets the same answer without calling Entra ID.
    let out = s.env.run(&["get-token", "-p", "p", "--force-refresh"]);
    assert_exit(&out, 6);
    assert!(stderr(&out).contains("asked to wait 3600 s"), "{}", stderr(&out));
    assert_eq!(s.emu.token_requests(), 1, "the throttle record kept it from Entra ID");
    // cache clear forgets the throttle.
    assert_ok(&s.env.run(&["cache", "clear", "-p", "p"]));
    token_of(&s.env.run(&["get-token", "-p", "p"]));
}

#[test]
fn a_short_retry_after_is_honoured() {
    let s = setup();
    s.emu.fault("503", 1, Some(1), None);
    let started = std::time::Instant::now();
    token_of(&s.env.run(&["get-token", "-p", "p"]));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(s.emu.token_requests(), 2);
}

#[test]
fn twenty_callers_while_entra_is_down_share_one_retry_cycle() {
    let s = setup();
    s.emu.fault("503", 1000, None, None);
    let started = std::time::Instant::now();
    let children: Vec<_> = (0..20)
        .map(|_| s.env.cmd(&["get-token", "-p", "p"]).stderr(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_exit(&out, 6);
    }
    // One cycle is 4 attempts with 0.5 + 1 + 2 s between them.
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(9), "took {took:?}");
    assert!(s.emu.token_requests() <= 5, "{} requests", s.emu.token_requests());
}

#[test]
fn token_decode_and_status_show_claims_and_profiles_never_the_token() {
    let s = setup();
    let token = token_of(&s.env.run(&["get-token", "-p", "p"]));
    let out = s.env.run_stdin(&["token", "decode"], &token);
    assert_ok(&out);
    let text = stdout(&out);
    for shown in
        ["aud:", "https://graph.microsoft.com", "tid:", TENANT, "appid:", CLIENT, "oid:", "exp:", "minutes left"]
    {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
    let sig = token.rsplit('.').next().unwrap();
    assert!(!text.contains(&token[..30]) && !text.contains(sig), "the token was printed:\n{text}");
    let out = s.env.run(&["token", "decode", "-p", "p", "--output", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["appid"], CLIENT);
    assert!(v["exp"]["minutesLeft"].as_i64().unwrap() > 50);
    assert_eq!(s.emu.token_requests(), 1, "decode -p used the cached token");
    let out = s.env.run_stdin(&["token", "decode"], "not a token");
    assert_exit(&out, 2);
    // status: one line per profile, plain text when not a terminal.
    let out = s.env.run(&["status"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.starts_with("NAME") && text.contains("p *") && text.contains("certificate"), "{text}");
    assert!(!text.contains(&token[..30]) && !text.contains('\u{1b}'), "{text}");
    let v: Value = serde_json::from_str(&stdout(&s.env.run(&["status", "--output", "json"]))).unwrap();
    assert_eq!(v[0]["cachedTokens"], 1);
    assert!(v[0]["certificateDaysLeft"].as_i64().unwrap() > 300);
    assert!(v[0]["minutesLeft"].as_i64().unwrap() > 50);
}
