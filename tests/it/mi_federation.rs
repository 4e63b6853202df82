//! Managed identity as an app's federated credential (issue 28,
//! docs/managed-identity.md): the identity's token for the cloud's token
//! exchange audience from the emulator's managed identity endpoint, presented
//! as the app's assertion (in the identity's tenant or another), cached apart;
//! each step's failure named; the identity endpoint never through a proxy.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

const MI_CLIENT: &str = "aaaaaaaa-1111-2222-3333-444444444444";
const MI_OBJECT: &str = "bbbbbbbb-1111-2222-3333-444444444444";
/// The app's tenant when it is not the identity's.
const OTHER_TENANT: &str = "99999999-8888-7777-6666-555555555555";
const OTHER_APP: &str = "0a0a0a0a-1111-2222-3333-444444444444";
const VAULT: &str = "https://vault.azure.net/.default";

/// Entra's v2 issuer of the identity's tenant: what the app's federated credential names.
fn identity_issuer() -> String {
    format!("https://login.microsoftonline.com/{TENANT}/v2.0")
}

/// An emulator whose host has the user-assigned identity and whose app
/// (in the identity's tenant) trusts it; `mif` uses it.
fn federation() -> (Emulator, Env) {
    let emu = Emulator::start();
    emu.identity(MI_CLIENT, MI_OBJECT, "/subscriptions/s/resourcegroups/rg/providers/x/build", false);
    emu.register_federated(&[(&identity_issuer(), MI_OBJECT, "api://AzureADTokenExchange")]);
    let mut env = Env::new();
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &emu.url);
    let mut args = create_args("mif", TENANT, &["--auth-method", "managed-identity-federation"]);
    args.extend(["--managed-identity-client-id", MI_CLIENT, "--authority-host", &emu.url]);
    assert_ok(&env.run(&args));
    (emu, env)
}

#[test]
fn the_identitys_token_for_the_exchange_audience_is_the_apps_assertion_and_is_cached_apart() {
    let (emu, env) = federation();
    let out = env.run(&["get-token", "-p", "mif", "--scope", GRAPH]);
    assert_ok(&out);
    let claims = jwt_part(stdout(&out).trim(), 1);
    assert_eq!((claims["appid"].as_str(), claims["tid"].as_str()), (Some(CLIENT), Some(TENANT)), "the app's token");
    let imds = emu.seen("imds");
    assert_eq!(imds.len(), 1);
    assert_eq!(
        imds[0]["url"],
        format!(
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api%3A%2F%2FAzureADTokenExchange&client_id={MI_CLIENT}"
        )
    );
    let event = emu.last_event();
    assert_eq!(event["auth"], "assertion");
    let presented = jwt_part(event["assertion"].as_str().unwrap(), 1);
    assert_eq!(presented["iss"], identity_issuer().as_str());
    assert_eq!(presented["sub"], MI_OBJECT);
    assert_eq!(presented["aud"], "api://AzureADTokenExchange");

    // Another scope: a new app token, the identity's token from the cache (it lives 24 hours).
    assert_ok(&env.run(&["get-token", "-p", "mif", "--scope", VAULT]));
    assert_eq!(emu.token_requests(), 2);
    assert_eq!(emu.seen("imds").len(), 1, "the identity's token was cached under its own key");
    let list = stdout(&env.run(&["cache", "list"]));
    assert!(list.contains("api://AzureADTokenExchange/.default"), "{list}");

    // config show, status and doctor name the method and the identity.
    let show = stdout(&env.run(&["config", "show", "-p", "mif"]));
    assert!(show.contains(&format!("client ID {MI_CLIENT}'s token for api://AzureADTokenExchange")), "{show}");
    let status = stdout(&env.run(&["status"]));
    assert!(status.contains("managedIdentityFederation"), "{status}");
    let doctor = env.run(&["doctor"]);
    let text = both(&doctor);
    assert!(
        text.contains(&format!("iss {}, sub {MI_OBJECT}, aud api://AzureADTokenExchange", identity_issuer())),
        "{text}"
    );
    assert!(text.contains("Instance Metadata Service"), "{text}");
    assert!(!text.contains(stdout(&out).trim()), "never the token");
}

#[test]
fn an_app_in_another_tenant_and_the_clouds_own_exchange_audience() {
    let (emu, env) = federation();
    // The app lives in another tenant and trusts the identity of this one, for US Government's audience.
    emu.post(
        "/_emulator/clients",
        json!({"tenant": OTHER_TENANT, "clientId": OTHER_APP, "federatedCredentials": [
            {"issuer": identity_issuer(), "subject": MI_OBJECT, "audiences": ["api://AzureADTokenExchangeUSGov"]}]}),
    );
    let mut args = vec!["config", "create", "--name", "gov", "--client-id", OTHER_APP, "--tenant-id", OTHER_TENANT];
    args.extend(["--auth-method", "managed-identity-federation", "--managed-identity-object-id", MI_OBJECT]);
    args.extend(["--cloud", "AzureUSGovernment", "--authority-host", &emu.url]);
    assert_ok(&env.run(&args));
    let out = env.run(&["get-token", "-p", "gov", "--scope", VAULT]);
    assert_ok(&out);
    let claims = jwt_part(stdout(&out).trim(), 1);
    assert_eq!((claims["appid"].as_str(), claims["tid"].as_str()), (Some(OTHER_APP), Some(OTHER_TENANT)));
    let url = emu.seen("imds").last().unwrap()["url"].as_str().unwrap().to_string();
    assert!(url.contains("resource=api%3A%2F%2FAzureADTokenExchangeUSGov&object_id="), "{url}");
    // federatedAudience overrides the cloud's.
    assert_ok(&env.run(&["config", "edit", "-p", "gov", "--federated-audience", "api://AzureADTokenExchange"]));
    let out = env.run(&["get-token", "-p", "gov", "--scope", VAULT, "--force-refresh"]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("aud 'api://AzureADTokenExchange'")
            || stderr(&out).contains("audience 'api://AzureADTokenExchange'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn each_steps_failure_is_named() {
    let (emu, env) = federation();
    // Step 2: the app does not trust this identity.
    emu.post("/_emulator/clients", json!({"tenant": TENANT, "clientId": OTHER_APP, "secrets": ["unused"]}));
    assert_ok(&env.run(&["config", "edit", "-p", "mif", "--client-id", OTHER_APP]));
    let out = env.run(&["get-token", "-p", "mif", "--scope", GRAPH]);
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(err.contains("step 2 of 2 (the app's token, with the identity's as its assertion)"), "{err}");
    assert!(err.contains(&format!("subject '{MI_OBJECT}'")), "the presented claims, to compare: {err}");
    // Step 1: the host has no such identity.
    let other = "eeeeeeee-1111-2222-3333-444444444444";
    assert_ok(&env.run(&["config", "edit", "-p", "mif", "--managed-identity-client-id", other]));
    let out = env.run(&["get-token", "-p", "mif", "--scope", GRAPH]);
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(err.contains("step 1 of 2 (the managed identity's token for api://AzureADTokenExchange)"), "{err}");
    assert!(err.contains("Identity not found") && err.contains(other), "{err}");
    // Step 1: no managed identity endpoint at all, within 5 seconds.
    let mut env = env;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &format!("http://{closed}"));
    let started = Instant::now();
    let out = env.run(&["get-token", "-p", "mif", "--scope", GRAPH]);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_exit(&out, 6);
    assert!(
        stderr(&out).contains("step 1 of 2") && stderr(&out).contains("no managed identity endpoint"),
        "{}",
        stderr(&out)
    );
    // A profile naming no identity is refused when it is made.
    let out = env.run(&create_args("none", TENANT, &["--auth-method", "managed-identity-federation"]));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("names no user-assigned managed identity"), "{}", stderr(&out));
}

#[test]
fn the_identity_endpoint_is_never_reached_through_a_proxy() {
    let (emu, mut env) = federation();
    let (proxy, visits) = counting_sink();
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"] {
        env.set(var, &proxy);
    }
    let out = env.run(&["get-token", "-p", "mif", "--scope", GRAPH]);
    assert_ok(&out);
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 0, "the proxy saw a request");
    assert_eq!(emu.seen("imds").len(), 1);
    // A redirect from the identity endpoint is not followed: step 1 fails.
    assert_ok(&env.run(&["cache", "clear"]));
    emu.post("/_emulator/faults", json!({"kind": "302", "count": 1, "target": "identity"}));
    let out = env.run(&["get-token", "-p", "mif", "--scope", VAULT]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("step 1 of 2"), "{}", stderr(&out));
}
