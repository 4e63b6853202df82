//! Azure Arc-enabled clusters (issue 28, docs/kubectl.md "Azure Arc"): real
//! kubectl against a test API server that takes only a signed HTTP request
//! (SHR) whose key is the one the access token's `cnf` names, for its own
//! ARM ID, made within 5 minutes; the SHR and `req_cnf` checked again by
//! PyJWT and cryptography (tests/python/pop_check.py).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::clients::{World, world};
use crate::common::servers::{ARC_AUD, Counts, check_shr, start_arc_api};
use crate::common::*;

const ARM: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/arc-one";
const ARM_TWO: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/arc-two";

/// A kubeconfig with one context per (name, server, cluster extension popClaims) and one shared user.
fn arc_kubeconfig(w: &World, clusters: &[(&str, &str, Option<&str>)]) -> PathBuf {
    let path = w.env.path().join("kubeconfig");
    let ca = w.ca.cert_pem.display();
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (name, server, claims) in clusters {
        text += &format!("- name: {name}\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n");
        if let Some(c) = claims {
            text += &format!(
                "    extensions:\n    - name: client.authentication.k8s.io/exec\n      extension:\n        popClaims: \"{c}\"\n"
            );
        }
    }
    text += "contexts:\n";
    for (name, _, _) in clusters {
        text += &format!("- name: {name}\n  context:\n    cluster: {name}\n    user: arc-user\n");
    }
    text += &format!("current-context: {}\nusers:\n- name: arc-user\n  user:\n    token: placeholder\n", clusters[0].0);
    std::fs::write(&path, text).unwrap();
    path
}

fn kubectl(w: &World, kc: &Path, context: Option<&str>) -> std::process::Output {
    let kcs = kc.to_str().unwrap();
    let mut args = vec!["--kubeconfig", kcs];
    if let Some(c) = context {
        args.extend(["--context", c]);
    }
    args.extend(["get", "--raw", "/api"]);
    w.tool("kubectl", &args, w.env.path())
}

fn pop_key(w: &World) -> PathBuf {
    w.env.cache_dir().join("pop-key.pem")
}

/// The `req_cnf` of the emulator's last PoP token request.
fn last_req_cnf(w: &World) -> String {
    let events = w.emu.stats()["events"].as_array().cloned().unwrap_or_default();
    let pop = events.iter().rev().find(|e| e["tokenType"] == "pop").expect("a PoP token request");
    pop["reqCnf"].as_str().unwrap().to_string()
}

fn python_check(shr: &str, req_cnf: &str) -> Option<Value> {
    let py = crate::msal::python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/pop_check.py");
    let out = Command::new(py).arg(script).args([shr, req_cnf]).output().unwrap();
    assert!(out.status.success(), "PyJWT/cryptography refused the SHR: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// An Arc cluster for ARM, the profile `arc`, and a kubeconfig set up by
/// `setup kubectl --pop-claims u=<claimed>`.
fn arc_set_up(claimed: &str) -> (World, std::sync::Arc<Counts>, PathBuf) {
    let w = world();
    let (url, counts) = start_arc_api(w.validator.clone(), &w.tls, ARM);
    w.profile("arc", &[]);
    let kc = arc_kubeconfig(&w, &[("arc", &url, None)]);
    let claims = format!("u={claimed}");
    let kcs = kc.to_str().unwrap();
    assert_ok(&w.env.run(&["setup", "kubectl", "-p", "arc", "--pop-claims", &claims, "--kubeconfig", kcs]));
    (w, counts, kc)
}

#[test]
fn kubectl_reaches_an_arc_cluster_with_a_fresh_shr_on_every_call() {
    if !require_tool("kubectl") {
        return;
    }
    let (w, counts, kc) = arc_set_up(ARM);
    let claims = format!("u={ARM}");
    let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    let exec = &doc["users"][0]["user"]["exec"];
    let args: Vec<&str> = exec["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(args.windows(2).any(|p| p == ["--server-id", ARC_AUD]), "Arc's server id by default: {args:?}");
    assert!(args.windows(2).any(|p| p == ["--pop-claims", claims.as_str()]), "{args:?}");
    assert!(Path::new(exec["command"].as_str().unwrap()).is_absolute(), "an absolute command for allowlists");
    assert_eq!(exec["provideClusterInfo"], true, "a cluster's own popClaims can win");

    let out = kubectl(&w, &kc, None);
    assert_ok(&out);
    assert!(stdout(&out).contains("APIVersions"));
    let request = w.emu.stats()["events"].as_array().unwrap().iter().rev().find(|e| e["tokenType"] == "pop").cloned();
    let request = request.expect("the token request asked for a PoP token");
    assert_eq!(request["scope"], format!("{ARC_AUD}/.default"));
    let key_before = std::fs::read(pop_key(&w)).unwrap();
    let mode = std::fs::metadata(pop_key(&w)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the PoP key is the user's alone");

    // The second kubectl: the access token from the cache, a new SHR all the same.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let requests = w.emu.token_requests();
    assert_ok(&kubectl(&w, &kc, None));
    assert_eq!(w.emu.token_requests(), requests, "the access token came from entratool's cache");
    let shrs = counts.shrs.lock().unwrap().clone();
    assert_eq!(shrs.len(), 2, "{shrs:?}");
    assert_ne!(shrs[0]["nonce"], shrs[1]["nonce"], "a new nonce on a cache hit");
    assert!(shrs[1]["ts"].as_i64() > shrs[0]["ts"].as_i64(), "a new ts on a cache hit: {shrs:?}");
    assert_eq!(shrs[0]["cnf"]["jwk"]["kid"], shrs[1]["cnf"]["jwk"]["kid"], "one key across runs");
    assert_eq!(std::fs::read(pop_key(&w)).unwrap(), key_before, "the key file is kept as it is");

    // The SHR and req_cnf, checked by libraries nobody here wrote.
    let out = w.env.run(&["get-token", "-p", "arc", "--pop-claims", &claims]);
    assert_ok(&out);
    let shr = stdout(&out).trim().to_string();
    if let Some(seen) = python_check(&shr, &last_req_cnf(&w)) {
        assert_eq!(seen["payload"]["u"], ARM);
        assert_eq!(seen["header"]["kid"], shrs[0]["cnf"]["jwk"]["kid"]);
    }
}

#[test]
fn an_arc_cluster_refuses_an_shr_for_another_cluster() {
    if !require_tool("kubectl") {
        return;
    }
    let (w, counts, kc) = arc_set_up(ARM_TWO);
    let out = kubectl(&w, &kc, None);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert_eq!(counts.authorized.load(Ordering::SeqCst), 0);
    let refusals = counts.refusals.lock().unwrap().clone();
    assert!(refusals.iter().any(|r| r.starts_with("u is")), "refused for its u: {refusals:?}");
    // A bearer token is refused too: the server really demands an SHR.
    let bearer = w.env.run(&["get-token", "-p", "arc", "--server-id", ARC_AUD]);
    assert_ok(&bearer);
    assert!(check_shr(&w.validator, stdout(&bearer).trim(), ARM).is_err());
}

#[test]
fn a_clusters_own_pop_claims_let_one_user_serve_many_arc_clusters() {
    if !require_tool("kubectl") {
        return;
    }
    let w = world();
    let (one, one_counts) = start_arc_api(w.validator.clone(), &w.tls, ARM);
    let (two, two_counts) = start_arc_api(w.validator.clone(), &w.tls, ARM_TWO);
    w.profile("arc", &[]);
    let two_claims = format!("u={ARM_TWO}");
    let kc = arc_kubeconfig(&w, &[("one", &one, None), ("two", &two, Some(&two_claims))]);
    let claims = format!("u={ARM}");
    let kcs = kc.to_str().unwrap();
    assert_ok(&w.env.run(&[
        "setup",
        "kubectl",
        "-p",
        "arc",
        "--pop-claims",
        &claims,
        "--kubeconfig",
        kcs,
        "--context",
        "one",
    ]));
    // One user entry; each cluster gets an SHR for its own ARM ID, and one access token serves both.
    assert_ok(&kubectl(&w, &kc, Some("one")));
    let requests = w.emu.token_requests();
    assert_ok(&kubectl(&w, &kc, Some("two")));
    assert_eq!(w.emu.token_requests(), requests, "one cached access token for both clusters");
    assert_eq!(one_counts.authorized.load(Ordering::SeqCst), 1);
    assert_eq!(two_counts.authorized.load(Ordering::SeqCst), 1);
    assert_eq!(two_counts.shrs.lock().unwrap()[0]["u"], ARM_TWO);
}

#[test]
fn a_secret_profile_gets_pop_tokens_and_other_methods_are_refused() {
    let mut w = world();
    w.emu.register(&[], &["arc-secret"]);
    // The secret for each run from the environment, as CI jobs pass it.
    let create = create_args("sp", TENANT, &["--auth-method", "secret", "--authority-host", &w.emu.url]);
    w.env.set("ENTRATOOL_CLIENT_SECRET", "arc-secret");
    assert_ok(&w.env.run(&create));
    let claims = format!("u={ARM}");
    let out = w.env.run(&["get-token", "-p", "sp", "--pop-claims", &claims, "-o", "exec-credential"]);
    assert_ok(&out);
    let cred: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let shr = cred["status"]["token"].as_str().unwrap();
    check_shr(&w.validator, shr, ARM).expect("the cluster takes it");
    let event = w.emu.last_event();
    assert_eq!((event["auth"].as_str(), event["tokenType"].as_str()), (Some("secret"), Some("pop")), "{event}");
    // kubectl asks again within 5 minutes, so the SHR's ts never ages past what the cluster takes.
    let expires =
        chrono::DateTime::parse_from_rfc3339(cred["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((280..=300).contains(&left), "{left} s");
    // A token that ends sooner than that: the SHR ends with it.
    w.emu.settings(json!({"tokenLifetime": 200}));
    let out =
        w.env.run(&["get-token", "-p", "sp", "--pop-claims", &claims, "-o", "exec-credential", "--force-refresh"]);
    let cred: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(cred["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((180..=200).contains(&left), "the access token's expiry: {left} s");
    w.emu.settings(json!({"tokenLifetime": 3599}));
    // PoP tokens are cached apart from bearer tokens of the same scope: neither serves the other.
    assert_ok(&w.env.run(&["get-token", "-p", "sp", "--pop-claims", &claims]));
    let requests = w.emu.token_requests();
    let bearer = w.env.run(&["get-token", "-p", "sp", "--server-id", ARC_AUD]);
    assert_ok(&bearer);
    assert_eq!(w.emu.token_requests(), requests + 1, "a bearer token of its own");
    assert!(jwt_part(stdout(&bearer).trim(), 1).get("cnf").is_none(), "a bearer token carries no cnf");
    assert_ok(&w.env.run(&["get-token", "-p", "sp", "--pop-claims", &claims]));
    assert_eq!(w.emu.token_requests(), requests + 1, "the PoP token still cached, beside the bearer one");

    // Workload identity: PoP tokens are for certificate and secret profiles (as kubelogin's spn).
    let file = w.env.path().join("sa-token");
    std::fs::write(&file, "x.y.z").unwrap();
    let create = create_args(
        "wi",
        TENANT,
        &["--auth-method", "workload-identity", "--federated-token-file", file.to_str().unwrap()],
    );
    assert_ok(&w.env.run(&create));
    std::fs::remove_file(pop_key(&w)).unwrap();
    let out = w.env.run(&["get-token", "-p", "wi", "--pop-claims", &claims]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("come only from certificate and secret profiles"), "{}", stderr(&out));
    assert!(!pop_key(&w).exists(), "refused before a PoP key was made");
    // Formats that cannot carry an SHR are refused before any request.
    let out = w.env.run(&["get-token", "-p", "sp", "--pop-claims", &claims, "-o", "az"]);
    assert_exit(&out, 2);
}

#[test]
fn racing_first_calls_agree_on_one_pop_key() {
    let w = world();
    w.profile("arc", &[]);
    let claims = format!("u={ARM}");
    let children: Vec<_> = (0..6)
        .map(|_| {
            w.env
                .cmd(&["get-token", "-p", "arc", "--pop-claims", &claims])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let kids: Vec<Value> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert_ok(&out);
            jwt_part(stdout(&out).trim(), 0)["kid"].clone()
        })
        .collect();
    assert!(kids.iter().all(|k| k == &kids[0]), "{kids:?}");
    let left: Vec<String> = std::fs::read_dir(w.env.cache_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("pop-key"))
        .collect();
    assert_eq!(left, ["pop-key.pem"], "no temporary files left");
}

#[test]
fn a_malformed_pop_key_is_kept_and_named_and_bad_claims_are_refused() {
    let w = world();
    w.profile("arc", &[]);
    std::fs::create_dir_all(w.env.cache_dir()).unwrap();
    std::fs::set_permissions(w.env.cache_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(pop_key(&w), "not a key\n").unwrap();
    std::fs::set_permissions(pop_key(&w), std::fs::Permissions::from_mode(0o600)).unwrap();
    let claims = format!("u={ARM}");
    let out = w.env.run(&["get-token", "-p", "arc", "--pop-claims", &claims]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("pop-key.pem is not an RSA-2048 private key") && stderr(&out).contains("mv "),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(pop_key(&w)).unwrap(), b"not a key\n", "never overwritten");
    assert_ok(&w.env.run(&["get-token", "-p", "arc"]));
    // A planted link is never followed, nor replaced; a FIFO is an error, not a hang.
    let elsewhere = w.env.path().join("planted.pem");
    std::fs::write(&elsewhere, "planted\n").unwrap();
    std::fs::remove_file(pop_key(&w)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, pop_key(&w)).unwrap();
    let out = w.env.run(&["get-token", "-p", "arc", "--pop-claims", &claims]);
    assert!(!out.status.success() && stderr(&out).contains("pop-key.pem"), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(pop_key(&w)).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"planted\n");
    std::fs::remove_file(pop_key(&w)).unwrap();
    assert!(Command::new("mkfifo").arg(pop_key(&w)).status().unwrap().success());
    let out = w.env.run(&["get-token", "-p", "arc", "--pop-claims", &claims]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("the PoP key file") && stderr(&out).contains("is not a regular file"),
        "{}",
        stderr(&out)
    );

    for bad in ["k=v", "u=", "nonsense"] {
        let out = w.env.run(&["get-token", "-p", "arc", "--pop-claims", bad]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("u=<ARM ID of the cluster>"), "{bad}: {}", stderr(&out));
    }
    let kc = w.env.path().join("kc");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\nusers: []\n").unwrap();
    let out =
        w.env.run(&["setup", "kubectl", "-p", "arc", "--pop-claims", "k=v", "--kubeconfig", kc.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert_eq!(std::fs::read_to_string(&kc).unwrap(), "apiVersion: v1\nkind: Config\nusers: []\n");
}

#[test]
fn token_decode_shows_an_shr_and_the_token_inside() {
    let w = world();
    w.profile("arc", &[]);
    let claims = format!("u={ARM}");
    let shr = stdout(&w.env.run(&["get-token", "-p", "arc", "--pop-claims", &claims, "-o", "header"]));
    assert!(shr.starts_with("Authorization: PoP "), "{shr}");
    let out = w.env.run_stdin(&["token", "decode"], &shr);
    assert_ok(&out);
    let text = stdout(&out);
    for part in ["A signed HTTP request (Azure Arc PoP)", ARM, "nonce:", "The access token inside:", ARC_AUD, "cnf:"] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    let out = w.env.run_stdin(&["token", "decode", "--output", "json"], &shr);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["signedRequest"]["u"], ARM);
    assert_eq!(v["signedRequest"]["kid"], v["accessToken"]["cnf"]["kid"]);
    assert!(!stdout(&out).contains(&shr.trim()["Authorization: PoP ".len()..][..40]), "never the SHR itself");
}

#[test]
fn kubelogins_pop_flags_convert_for_service_principals() {
    if !require_tool("kubectl") {
        return;
    }
    let w = world();
    let (url, counts) = start_arc_api(w.validator.clone(), &w.tls, ARM);
    let cert_pem = vec![std::fs::read_to_string(&w.cert.cert_pem).unwrap()];
    w.emu.post("/_emulator/clients", json!({"tenant": TENANT, "clientId": CLIENT, "certificates": cert_pem}));
    let kc = w.env.path().join("kubeconfig");
    let ca = w.ca.cert_pem.display();
    let exec = |claims: &str| {
        format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n      args: [get-token, \
             --login, spn, --server-id, {ARC_AUD}, --client-id, {CLIENT}, --tenant-id, {TENANT}, --client-certificate, \
             {}, --pop-enabled{claims}]\n      env:\n      - name: AZURE_AUTHORITY_HOST\n        value: {}\n",
            w.pfx.display(),
            w.emu.url
        )
    };
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: arc\n  cluster:\n    server: {url}\n    certificate-authority: {ca}\n\
         contexts:\n- name: arc\n  context:\n    cluster: arc\n    user: arc-spn\n- name: half\n  context:\n    cluster: arc\n    \
         user: half\ncurrent-context: arc\nusers:\n- name: arc-spn\n  user:\n{}- name: half\n  user:\n{}",
        exec(&format!(", --pop-claims, \"u={ARM}\"")),
        exec("")
    );
    std::fs::write(&kc, &text).unwrap();
    let out = w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kc.to_str().unwrap()]);
    assert_ok(&out);
    assert!(both(&out).contains("--pop-enabled and --pop-claims must be given together"), "{}", both(&out));
    let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    let args = doc["users"][0]["user"]["exec"]["args"].to_string();
    assert!(args.contains("--pop-claims") && args.contains(ARM), "{args}");
    assert_eq!(doc["users"][1]["user"]["exec"]["command"], "kubelogin", "the half-configured user is left");
    assert_ok(&kubectl(&w, &kc, Some("arc")));
    assert_eq!(counts.authorized.load(Ordering::SeqCst), 1);
}

#[test]
fn a_profiles_pop_claims_make_its_get_token_a_signed_request() {
    let w = world();
    w.profile("arc", &[]);
    let claims = format!("u={ARM}");
    assert_exit(&w.env.run(&["config", "edit", "-p", "arc", "--pop-claims", "k=v"]), 2);
    assert_ok(&w.env.run(&["config", "edit", "-p", "arc", "--pop-claims", &claims]));
    let show = stdout(&w.env.run(&["config", "show", "-p", "arc"]));
    assert!(show.contains(&format!("PoP claims:      {claims}")), "{show}");
    let out = w.env.run(&["get-token", "-p", "arc"]);
    assert_ok(&out);
    let shr = stdout(&out);
    assert_eq!(jwt_part(shr.trim(), 0)["typ"], "pop");
    check_shr(&w.validator, shr.trim(), ARM).expect("Arc's scope by default, the profile's claims");
    // A flag wins over the profile; a cluster's own claims win over both (see above).
    let out = w.env.run(&["get-token", "-p", "arc", "--pop-claims", &format!("u={ARM_TWO}")]);
    check_shr(&w.validator, stdout(&out).trim(), ARM_TWO).expect("the flag's claims");
}
