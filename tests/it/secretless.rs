//! Credentials with no stored secret (docs/reference.md#credentials-with-no-stored-secret) against the emulator's
//! federation, its CI OIDC services and its managed identity endpoints:
//! exact requests, refusals with Entra's codes, bad input, the environment
//! profile, the proxy rule, bounds and single flight.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};

const SA: &str = "system:serviceaccount:apps:builder";
const AUD: &str = "api://AzureADTokenExchange";
const MI_CLIENT: &str = "aaaaaaaa-1111-2222-3333-444444444444";
const MI_OBJECT: &str = "bbbbbbbb-1111-2222-3333-444444444444";
const MI_RESOURCE: &str =
    "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/build";
const SYSTEM_CLIENT: &str = "cccccccc-1111-2222-3333-444444444444";

fn token_of(out: &Output) -> String {
    assert_ok(out);
    stdout(out).trim().to_string()
}

/// An emulator whose app trusts the emulator's Kubernetes issuer for SA, and
/// an environment with a workload identity profile `wi` reading `token`.
struct Wi {
    emu: Emulator,
    env: Env,
    file: PathBuf,
}

fn workload_identity() -> Wi {
    let emu = Emulator::start();
    let env = Env::new();
    emu.register_federated(&[(&format!("{}/_k8s", emu.url), SA, AUD)]);
    let file = env.path().join("token");
    std::fs::write(&file, emu.federated_token(SA, AUD, 3600)).unwrap();
    let f = file.display().to_string();
    let mut args = create_args("wi", TENANT, &["--auth-method", "workload-identity", "--federated-token-file", &f]);
    args.extend(["--authority-host", &emu.url]);
    assert_ok(&env.run(&args));
    Wi { emu, env, file }
}

#[test]
fn workload_identity_sends_the_file_unmodified_and_reads_it_afresh() {
    let w = workload_identity();
    let file_token = std::fs::read_to_string(&w.file).unwrap();
    let token = token_of(&w.env.run(&["get-token", "-p", "wi"]));
    assert_eq!(jwt_part(&token, 1)["appid"], CLIENT);
    let ev = w.emu.last_event();
    assert_eq!(ev["auth"], "assertion");
    assert_eq!(ev["assertion"], file_token, "the federated token is the assertion, unmodified");
    assert_eq!(ev["assertionClaims"]["sub"], SA);
    // Cached: no second request.
    token_of(&w.env.run(&["get-token", "-p", "wi"]));
    assert_eq!(w.emu.token_requests(), 1);
    // The kubelet rotates the file (with a trailing newline): the next request reads the new one.
    let rotated = w.emu.federated_token(SA, AUD, 3600);
    std::fs::write(&w.file, format!("{rotated}\n")).unwrap();
    token_of(&w.env.run(&["get-token", "-p", "wi", "--force-refresh"]));
    assert_eq!(w.emu.last_event()["assertion"], rotated);
    let show = stdout(&w.env.run(&["config", "show", "-p", "wi"]));
    assert!(show.contains("workloadIdentity") && show.contains(&w.file.display().to_string()), "{show}");
}

#[test]
fn federated_refusals_carry_entras_code_and_the_presented_claims() {
    let w = workload_identity();
    let run = |token: &str| {
        std::fs::write(&w.file, token).unwrap();
        let out = w.env.run(&["get-token", "-p", "wi", "--force-refresh"]);
        assert_exit(&out, 5);
        let err = stderr(&out);
        assert!(!err.contains(token), "the federated token is never printed: {err}");
        err
    };
    let err = run(&w.emu.federated_token("system:serviceaccount:apps:other", AUD, 3600));
    assert!(err.contains("AADSTS700213"), "{err}");
    assert!(err.contains("subject 'system:serviceaccount:apps:other'") && err.contains("/_k8s'"), "{err}");
    let err = run(&w.emu.federated_token(SA, "api://other", 3600));
    assert!(err.contains("AADSTS700212") && err.contains("audience 'api://other'"), "{err}");
    let err = run(&w.emu.federated_token(SA, AUD, -600));
    assert!(err.contains("AADSTS700024") && err.contains("the federated token has expired"), "{err}");
    // Signed by a key that is not the issuer's.
    let forged = forge(&w.emu, &format!("{}/_k8s", w.emu.url));
    let err = run(&forged);
    assert!(err.contains("AADSTS700027"), "{err}");
    // An issuer the app does not trust.
    let err = run(&forge(&w.emu, "https://issuer.example.com"));
    assert!(err.contains("AADSTS700211") && err.contains("issuer 'https://issuer.example.com'"), "{err}");
}

/// A JWT with the right claims but signed with a key of the test's own.
fn forge(emu: &Emulator, iss: &str) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = chrono::Utc::now().timestamp();
    let real = emu.federated_token(SA, AUD, 3600);
    let kid = jwt_part(&real, 0)["kid"].clone();
    let head = b64(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}));
    let body = b64(&json!({"iss": iss, "sub": SA, "aud": AUD, "iat": now, "nbf": now, "exp": now + 600}));
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    signer.update(format!("{head}.{body}").as_bytes()).unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signer.sign_to_vec().unwrap());
    format!("{head}.{body}.{sig}")
}

#[test]
fn bad_token_files_are_clear_errors_never_hangs() {
    let w = workload_identity();
    let check = |what: &str, needle: &str| {
        let started = Instant::now();
        let out = w.env.run(&["get-token", "-p", "wi", "--force-refresh"]);
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: took {:?}", started.elapsed());
        assert_exit(&out, 4);
        assert!(stderr(&out).contains(needle), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains("hint:"), "{what}: a remedy: {}", stderr(&out));
    };
    std::fs::remove_file(&w.file).unwrap();
    check("missing", "cannot read the federated token file");
    std::fs::write(&w.file, "  \n").unwrap();
    check("empty", "is empty");
    std::fs::write(&w.file, "not a jwt").unwrap();
    check("garbage", "did not give a JWT");
    std::fs::write(&w.file, vec![b'a'; 65 * 1024 + 1]).unwrap();
    check("huge", "more than a token");
    std::fs::remove_file(&w.file).unwrap();
    let st = std::process::Command::new("mkfifo").arg(&w.file).status().unwrap();
    assert!(st.success());
    check("fifo", "is not a regular file");
    assert_eq!(w.emu.token_requests(), 0, "nothing reached Entra ID");
}

#[test]
fn a_missing_variable_names_itself_and_the_fix_for_that_ci_system() {
    let emu = Emulator::start();
    let env = Env::new();
    let host = emu.url.as_str();
    for (name, method) in [("w", "workload-identity"), ("g", "github-actions"), ("a", "azure-pipelines")] {
        assert_ok(&env.run(&create_args(name, TENANT, &["--auth-method", method, "--authority-host", host])));
    }
    let err = |name: &str| {
        let out = env.run(&["get-token", "-p", name]);
        assert_exit(&out, 4);
        stderr(&out)
    };
    let e = err("w");
    assert!(e.contains("AZURE_FEDERATED_TOKEN_FILE is not set") && e.contains("azure.workload.identity/use"), "{e}");
    let e = err("g");
    assert!(e.contains("ACTIONS_ID_TOKEN_REQUEST_URL is not set") && e.contains("id-token: write"), "{e}");
    let e = err("a");
    assert!(e.contains("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID is not set"), "{e}");
    let mut env = env;
    env.set("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc-1");
    env.set("SYSTEM_OIDCREQUESTURI", &format!("{}/_pipelines/oidctoken", emu.url));
    let out = env.run(&["get-token", "-p", "a"]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("SYSTEM_ACCESSTOKEN: $(System.AccessToken)"), "{}", stderr(&out));
}

/// An emulator trusting its GitHub and Azure Pipelines issuers for the app.
fn ci() -> (Emulator, Env) {
    let emu = Emulator::start();
    emu.register_federated(&[
        (&format!("{}/_github", emu.url), "repo:contoso/app:ref:refs/heads/main", AUD),
        (&format!("{}/_pipelines", emu.url), "sc://contoso/project/sc-1", AUD),
    ]);
    let mut env = Env::new();
    env.set("ACTIONS_ID_TOKEN_REQUEST_URL", &format!("{}/_github/idtoken?api-version=2.0", emu.url));
    env.set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "github-request-token");
    env.set("SYSTEM_OIDCREQUESTURI", &format!("{}/_pipelines/oidctoken", emu.url));
    env.set("SYSTEM_ACCESSTOKEN", "system-access-token");
    env.set("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc-1");
    for (name, method) in [("gh", "github-actions"), ("ado", "azure-pipelines")] {
        let args = create_args(name, TENANT, &["--auth-method", method, "--authority-host", &emu.url]);
        assert_ok(&env.run(&args));
    }
    (emu, env)
}

#[test]
fn github_actions_asks_for_a_fresh_oidc_token_per_entra_request() {
    let (emu, env) = ci();
    token_of(&env.run(&["get-token", "-p", "gh"]));
    token_of(&env.run(&["get-token", "-p", "gh"]));
    assert_eq!(emu.seen("github").len(), 1, "a cached Entra token needs no OIDC token");
    token_of(&env.run(&["get-token", "-p", "gh", "--force-refresh"]));
    let seen = emu.seen("github");
    assert_eq!(seen.len(), 2, "a fresh OIDC token for each Entra request");
    let r = &seen[1];
    assert_eq!(r["method"], "GET");
    assert_eq!(r["url"], "/_github/idtoken?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange");
    assert_eq!(r["headers"]["Authorization"], "bearer github-request-token");
    assert_eq!(r["headers"]["Accept"], "application/json; api-version=2.0");
    assert_eq!(emu.last_event()["assertionClaims"]["sub"], "repo:contoso/app:ref:refs/heads/main");
    // federatedAudience: asked of GitHub as given; the app trusts only the default, so Entra
    // refuses with 700212 and the hint shows the audience the token carried.
    let path = env.config_dir().join("profiles.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["profiles"][0]["federatedAudience"] = json!("api://custom-audience");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = env.run(&["get-token", "-p", "gh", "--force-refresh"]);
    assert_exit(&out, 5);
    assert!(
        emu.seen("github").last().unwrap()["url"].as_str().unwrap().ends_with("&audience=api%3A%2F%2Fcustom-audience")
    );
    assert!(
        stderr(&out).contains("AADSTS700212") && stderr(&out).contains("audience 'api://custom-audience'"),
        "{}",
        stderr(&out)
    );
    // A wrong request token: GitHub answers 401.
    let mut env = env;
    env.set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong");
    let out = env.run(&["get-token", "-p", "gh", "--force-refresh"]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("GitHub's OIDC service refused") && stderr(&out).contains("id-token: write"));
}

#[test]
fn azure_pipelines_request_is_exact_and_a_sign_in_page_is_understood() {
    let (emu, mut env) = ci();
    token_of(&env.run(&["get-token", "-p", "ado"]));
    let r = &emu.seen("pipelines")[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["url"], "/_pipelines/oidctoken?api-version=7.1&serviceConnectionId=sc-1");
    assert_eq!(r["headers"]["Authorization"], "Bearer system-access-token");
    assert_eq!(r["headers"]["Content-Type"], "application/json");
    assert_eq!(r["headers"]["X-TFS-FedAuthRedirect"], "Suppress");
    assert_eq!(emu.last_event()["assertionClaims"]["sub"], "sc://contoso/project/sc-1");
    env.set("SYSTEM_ACCESSTOKEN", "expired-token");
    let out = env.run(&["get-token", "-p", "ado", "--force-refresh"]);
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("HTTP 203, a sign-in page") && err.contains("SYSTEM_ACCESSTOKEN"), "{err}");
    assert!(!err.contains("<html") && !err.contains("<!DOCTYPE"), "the page itself is not printed: {err}");
}

#[test]
fn oidc_service_failures_are_retried_or_reported() {
    let (emu, env) = ci();
    emu.post("/_emulator/faults", json!({"kind": "503", "count": 2, "retryAfter": 0, "target": "oidc"}));
    token_of(&env.run(&["get-token", "-p", "ado"]));
    assert_eq!(emu.seen("pipelines").len(), 1, "two 503s answered before the handler, then a token");
    emu.post("/_emulator/faults", json!({"kind": "404", "count": 1, "target": "oidc"}));
    let out = env.run(&["get-token", "-p", "ado", "--force-refresh"]);
    assert_exit(&out, 4);
    emu.post("/_emulator/faults", json!({"kind": "garbage", "count": 1, "target": "oidc"}));
    let out = env.run(&["get-token", "-p", "gh", "--force-refresh"]);
    assert_exit(&out, 6);
    assert!(stderr(&out).contains("not JSON"), "{}", stderr(&out));
}

/// An emulator with a system-assigned and a user-assigned identity; the
/// environment points IMDS at it.
fn managed() -> (Emulator, Env) {
    let emu = Emulator::start();
    emu.identity(SYSTEM_CLIENT, "dddddddd-1111-2222-3333-444444444444", "/subscriptions/s/vm/host", true);
    emu.identity(MI_CLIENT, MI_OBJECT, MI_RESOURCE, false);
    let mut env = Env::new();
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &emu.url);
    assert_ok(&env.run(&["config", "create", "--name", "mi", "--auth-method", "managed-identity"]));
    let args = ["config", "create", "--name", "uami", "--auth-method", "managed-identity"];
    assert_ok(&env.run(&[&args[..], &["--managed-identity-client-id", MI_CLIENT]].concat()));
    (emu, env)
}

#[test]
fn imds_requests_are_exact_and_tokens_live_half_their_day_in_the_cache() {
    let (emu, env) = managed();
    let token = token_of(&env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]));
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["appid"], SYSTEM_CLIENT);
    assert_eq!(claims["aud"], "https://vault.azure.net");
    let r = &emu.seen("imds")[0];
    assert_eq!(r["method"], "GET");
    assert_eq!(
        r["url"],
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
    );
    assert_eq!(r["headers"]["Metadata"], "true");
    let token = token_of(&env.run(&["get-token", "-p", "uami", "--scope", "https://vault.azure.net/.default"]));
    assert_eq!(jwt_part(&token, 1)["xms_mirid"], MI_RESOURCE);
    assert!(emu.seen("imds")[1]["url"].as_str().unwrap().ends_with(&format!("&client_id={MI_CLIENT}")));
    // 24-hour tokens: renewed from half their lifetime on.
    let entries: Vec<Value> = std::fs::read_dir(env.cache_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    let e = entries.iter().find(|e| e["profile"] == "uami").expect("cached");
    let life = e["expiresOn"].as_i64().unwrap() - e["obtainedOn"].as_i64().unwrap();
    assert!(life > 86000, "{e}");
    assert_eq!(e["refreshOn"].as_i64().unwrap() - e["obtainedOn"].as_i64().unwrap(), life / 2, "{e}");
    assert_eq!(emu.token_requests(), 0, "a managed identity never calls the token endpoint itself");
}

#[test]
fn identity_not_found_names_the_identity_and_statuses_are_retried() {
    let (emu, env) = managed();
    let other = "eeeeeeee-1111-2222-3333-444444444444";
    assert_ok(&env.run(&["config", "edit", "-p", "uami", "--managed-identity-client-id", other]));
    let out = env.run(&["get-token", "-p", "uami", "--scope", "https://vault.azure.net/.default"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("Identity not found") && stderr(&out).contains(other), "{}", stderr(&out));
    for status in ["404", "410", "500"] {
        emu.post("/_emulator/faults", json!({"kind": status, "count": 1, "retryAfter": 0, "target": "identity"}));
    }
    token_of(&env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]));
    assert_eq!(emu.seen("imds").len(), 2, "the three faults were retried, then answered: {:?}", emu.stats());
}

#[test]
fn app_service_endpoint_uses_its_header_and_parameter_names() {
    let (emu, mut env) = managed();
    env.set("IDENTITY_ENDPOINT", &format!("{}/msi/token", emu.url));
    env.set("IDENTITY_HEADER", "identity-header-secret");
    // By object ID: App Service calls it principal_id.
    let path = env.config_dir().join("profiles.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let p = doc["profiles"].as_array_mut().unwrap().iter_mut().find(|p| p["name"] == "uami").unwrap();
    p.as_object_mut().unwrap().remove("managedIdentityClientId");
    p["managedIdentityObjectId"] = json!(MI_OBJECT);
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let token = token_of(&env.run(&["get-token", "-p", "uami", "--scope", "https://vault.azure.net/.default"]));
    assert_eq!(jwt_part(&token, 1)["oid"], MI_OBJECT);
    let r = &emu.seen("appservice")[0];
    assert_eq!(
        r["url"],
        format!("/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&principal_id={MI_OBJECT}")
    );
    assert_eq!(r["headers"]["X-IDENTITY-HEADER"], "identity-header-secret");
    assert!(emu.seen("imds").is_empty());
}

#[test]
fn no_managed_identity_endpoint_fails_within_five_seconds() {
    let mut env = Env::new();
    // A closed port on loopback (nothing else is ever a target in tests).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &format!("http://{closed}"));
    assert_ok(&env.run(&["config", "create", "--name", "mi", "--auth-method", "managed-identity"]));
    let started = Instant::now();
    let out = env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_exit(&out, 6);
    assert!(stderr(&out).contains("this host has no managed identity endpoint"), "{}", stderr(&out));
}

#[test]
fn managed_identity_never_goes_through_a_proxy_nor_follows_a_redirect() {
    let (emu, mut env) = managed();
    let (proxy, visits) = counting_sink();
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        env.set(var, &proxy);
    }
    token_of(&env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]));
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 0, "the proxy saw a managed identity request");
    emu.post("/_emulator/faults", json!({"kind": "302", "count": 1, "target": "identity"}));
    let out = env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default", "--force-refresh"]);
    assert_exit(&out, 5);
    assert_eq!(emu.seen("imds").len(), 1, "the redirect was not followed");
}

fn concurrent_cold(env: &Env, args: &[&str]) {
    let children: Vec<_> =
        (0..20).map(|_| env.cmd(args).stdout(std::process::Stdio::piped()).spawn().expect("spawn")).collect();
    let tokens: Vec<String> = children.into_iter().map(|c| token_of(&c.wait_with_output().unwrap())).collect();
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "one token for all");
}

#[test]
fn twenty_concurrent_cold_callers_make_one_request_for_every_type() {
    let w = workload_identity();
    concurrent_cold(&w.env, &["get-token", "-p", "wi"]);
    assert_eq!(w.emu.token_requests(), 1);
    let (emu, env) = managed();
    concurrent_cold(&env, &["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]);
    assert_eq!(emu.seen("imds").len(), 1);
    let (emu, env) = ci();
    concurrent_cold(&env, &["get-token", "-p", "gh"]);
    assert_eq!((emu.token_requests(), emu.seen("github").len()), (1, 1));
}

/// The variables the AKS webhook injects, with the emulator as authority.
fn pod_env(emu: &Emulator, env: &mut Env, file: &Path) {
    env.set("AZURE_CLIENT_ID", CLIENT);
    env.set("AZURE_TENANT_ID", TENANT);
    env.set("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap());
    env.set("AZURE_AUTHORITY_HOST", &emu.url);
}

#[test]
fn the_environment_profile_needs_no_profiles_json() {
    let w = workload_identity();
    let mut env = Env::new();
    pod_env(&w.emu, &mut env, &w.file);
    let out = env.run(&["get-token", "--scope", GRAPH, "--output", "json"]);
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["profile"], "env");
    assert!(!env.config_dir().join("profiles.json").exists(), "nothing was written to the config folder");
    // DefaultAzureCredential's order: a secret wins over the token file.
    w.emu.register(&[], &["pod-secret"]);
    env.set("AZURE_CLIENT_SECRET", "pod-secret");
    token_of(&env.run(&["get-token", "--scope", GRAPH, "--force-refresh"]));
    assert_eq!(w.emu.last_event()["auth"], "secret");
    // Helpers answer only for $ENTRATOOL_MATCH.
    let req = "protocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n";
    let out = env.run_stdin(&["git-credential", "get"], req);
    assert_ok(&out);
    assert!(stdout(&out).is_empty(), "no ENTRATOOL_MATCH, no answer: {}", stdout(&out));
    env.set("ENTRATOOL_MATCH", "https://dev.azure.com/contoso, contoso.azurecr.io");
    let out = env.run_stdin(&["git-credential", "get"], req);
    assert!(stdout(&out).contains("password="), "{}", stderr(&out));
    let other = "protocol=https\nhost=dev.azure.com\npath=fabrikam/p/_git/r\n\n";
    assert!(stdout(&env.run_stdin(&["git-credential", "get"], other)).is_empty());
    let out = env.run_stdin(&["git-credential", "-p", "env", "get"], other);
    assert!(stdout(&out).is_empty(), "even chosen, env answers only its matches");
}

#[test]
fn doctor_decodes_the_federated_token_without_printing_it() {
    let w = workload_identity();
    let out = w.env.run(&["doctor", "-p", "wi"]);
    let text = stdout(&out);
    assert!(text.contains(&format!("iss {}/_k8s, sub {SA}, aud {AUD}", w.emu.url)), "{text}");
    assert!(text.contains("federated token valid until"), "{text}");
    let token = std::fs::read_to_string(&w.file).unwrap();
    assert!(!text.contains(&token) && !stderr(&out).contains(&token[..40]));
}
