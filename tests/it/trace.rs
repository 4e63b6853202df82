//! `ENTRATOOL_TRACE` and the support IDs (docs/troubleshooting.md): what a
//! trace holds for a cold fetch, a hit, each helper and the managed identity
//! path, and what it never holds; outputs are the same with and without it;
//! a trace that cannot be written changes nothing.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::common::*;

/// A certificate profile `p` at the emulator, its password in the environment.
fn traced_app() -> App {
    let mut app = App::new(&[]);
    app.env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    app.env.create_cert_profile("p", &app.pfx, &app.emu, &[]);
    app
}

/// Every line of a trace: `2026-12-01T16:55:00.123Z entratool[PID] event`.
fn trace_lines(stderr: &str) -> Vec<String> {
    let lines: Vec<String> = stderr.lines().filter(|l| l.contains(" entratool[")).map(str::to_string).collect();
    for l in &lines {
        let (time, rest) = l.split_once(' ').unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.len() == 24 && time.ends_with('Z'), "{l}");
        assert!(rest.starts_with("entratool[") && rest.contains("] "), "{l}");
    }
    lines
}

fn assert_never_in(trace: &str, secrets: &[&str]) {
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        assert!(!trace.contains(s), "the trace holds a secret ({}…): {trace}", &s[..6]);
    }
}

#[test]
fn a_cold_fetch_and_a_hit_are_traced_without_any_secret() {
    let App { emu, mut env, .. } = traced_app();
    let plain = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
    assert_ok(&plain);
    let token = stdout(&plain).trim().to_string();
    let assertion = emu.last_event()["assertion"].as_str().unwrap_or_default().to_string();
    env.set("ENTRATOOL_TRACE", "1");
    let cold = env.run(&["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]);
    assert_ok(&cold);
    let trace = trace_lines(&stderr(&cold)).join("\n");
    for event in [
        "] entratool ",
        "entry point: entratool get-token",
        "profile 'p' (from -p)",
        &format!("scope {GRAPH}"),
        "cache miss (refresh forced)",
        "lock taken after",
        "client-request-id ",
        "/oauth2/v2.0/token: 200 in ",
        "HTTP POST http://127.0.0.1:",
        "exit 0",
    ] {
        assert!(trace.contains(event), "no '{event}' in:\n{trace}");
    }
    let new_token = stdout(&cold).trim().to_string();
    assert_never_in(&trace, &[&token, &new_token, &assertion, PASSWORD]);
    let hit = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
    assert_ok(&hit);
    let trace = trace_lines(&stderr(&hit)).join("\n");
    assert!(trace.contains("cache hit (") && trace.contains("minutes left"), "{trace}");
    assert!(!trace.contains("HTTP "), "a hit makes no request: {trace}");
    assert_never_in(&trace, &[&new_token]);
    // The output is the same, byte for byte, with and without the trace.
    env.set("ENTRATOOL_TRACE", "0");
    assert_eq!(env.run(&["get-token", "-p", "p", "--scope", GRAPH]).stdout, hit.stdout);
}

#[test]
fn helpers_are_traced_with_a_requests_password_hidden_and_the_same_output() {
    let App { emu, mut env, .. } = traced_app();
    let url = "https://dev.azure.com/contoso/_git/repo";
    assert_ok(&env.run(&["config", "edit", "-p", "p", "--match", "https://dev.azure.com/contoso"]));
    let request = "protocol=https\nhost=dev.azure.com\npath=contoso/_git/repo\nusername=me\npassword=hunter2-typed\n\n";
    let quiet = env.run_stdin(&["git-credential", "get"], request);
    assert_ok(&quiet);
    env.set("ENTRATOOL_TRACE", "1");
    let traced = env.run_stdin(&["git-credential", "get"], request);
    assert_ok(&traced);
    assert_eq!(traced.stdout, quiet.stdout, "git's answer changed with the trace on ({url})");
    let trace = trace_lines(&stderr(&traced)).join("\n");
    assert!(trace.contains("entry point: entratool git-credential") || trace.contains("git get:"), "{trace}");
    assert!(trace.contains("password=********") && trace.contains("host=dev.azure.com"), "{trace}");
    assert!(trace.contains("its match entry https://dev.azure.com/contoso"), "{trace}");
    let token = stdout(&traced).lines().find_map(|l| l.strip_prefix("password=")).unwrap_or_default().to_string();
    assert_never_in(&trace, &["hunter2-typed", &token]);
    // docker: an unbound server gets the protocol's answer, traced as such.
    let out = env.run_stdin(&["docker-credential", "get"], "unbound.azurecr.io\n");
    assert_exit(&out, 1);
    let trace = trace_lines(&stderr(&out)).join("\n");
    assert!(trace.contains("docker get: no profile is bound") && trace.contains("exit 1"), "{trace}");
    drop(emu);
}

#[test]
fn the_managed_identity_path_shows_urls_without_query_values() {
    let emu = Emulator::start();
    let mut env = Env::new();
    emu.identity("aaaaaaaa-0000-0000-0000-000000000001", "o", "/r", true);
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &emu.url);
    assert_ok(&env.run(&["config", "create", "--name", "mi", "--auth-method", "managed-identity"]));
    env.set("ENTRATOOL_TRACE", "1");
    let out = env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]);
    assert_ok(&out);
    let trace = trace_lines(&stderr(&out)).join("\n");
    assert!(
        trace.contains("HTTP GET http://127.0.0.1:")
            && trace.contains("/metadata/identity/oauth2/token?api-version&resource: 200"),
        "{trace}"
    );
    assert!(
        !trace.contains("vault.azure.net/\n") && !trace.contains("2018-02-01"),
        "query values in the trace: {trace}"
    );
    assert_never_in(&trace, &[stdout(&out).trim()]);
}

#[test]
fn a_trace_that_cannot_be_written_changes_nothing() {
    let App { emu, mut env, .. } = traced_app();
    let quiet = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
    assert_ok(&quiet);
    let private = env.path().join("traces");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = env.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "untouched\n").unwrap();
    let planted = private.join("planted.log");
    std::os::unix::fs::symlink(&elsewhere, &planted).unwrap();
    let shared = env.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    for target in [
        env.path().join("missing/trace.log").display().to_string(),
        planted.display().to_string(),
        shared.join("trace.log").display().to_string(),
        "relative/trace.log".to_string(),
    ] {
        env.set("ENTRATOOL_TRACE", &target);
        let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
        assert_ok(&out);
        assert_eq!(out.stdout, quiet.stdout, "{target}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one warning for {target}: {err}");
        assert!(err.contains("ENTRATOOL_TRACE: not tracing to"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "untouched\n", "the planted link was followed");
    assert!(!shared.join("trace.log").exists(), "a trace in a folder others can write");
    // A file in a private folder: created 0600, appended to.
    let file = private.join("trace.log");
    env.set("ENTRATOOL_TRACE", &file.display().to_string());
    for _ in 0..2 {
        let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
        assert_ok(&out);
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(trace_lines(&text).iter().filter(|l| l.ends_with("exit 0")).count(), 2, "{text}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    drop(emu);
}

#[test]
fn every_token_request_carries_a_fresh_client_request_id_and_errors_show_entras_ids() {
    let App { emu, env, .. } = traced_app();
    let ids: Vec<Value> = (0..2)
        .map(|_| {
            assert_ok(&env.run(&["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]));
            let e = emu.last_event();
            assert_eq!(e["returnClientRequestId"], "true", "{e}");
            e["clientRequestId"].clone()
        })
        .collect();
    for id in &ids {
        assert!(uuid::Uuid::parse_str(id.as_str().unwrap_or("")).is_ok(), "{id}");
    }
    assert_ne!(ids[0], ids[1], "the same client-request-id twice");
    // An AADSTS error: Entra's Trace ID and Correlation ID (the client-request-id sent) in the message.
    let wrong = create_args("other", "11111111-2222-3333-4444-555555555555", &["--authority-host", &emu.url]);
    let mut wrong = wrong;
    let pfx = env.path().join("app.pfx").display().to_string();
    wrong.extend(["--certificate", pfx.as_str()]);
    let mut env = env;
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    assert_ok(&env.run(&wrong));
    let out = env.run(&["get-token", "-p", "other", "--scope", GRAPH]);
    assert_exit(&out, 5);
    let sent = emu.last_event()["clientRequestId"].as_str().unwrap_or_default().to_string();
    let err = stderr(&out);
    assert!(err.contains("Trace ID ") && err.contains(&format!("Correlation ID {sent}")), "{err}");
}
