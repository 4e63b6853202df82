//! Replays the golden transcripts in protocols/<tool>/transcripts.json:
//! arguments, environment and stdin in; exact stdout and exit code out.
//! Placeholders: {REGISTRY}, {CLIENT} anywhere; in the expected output
//! <TOKEN>, <EXPIRES_ON>, <EXPIRES_RFC3339>, <EXPIRES_AZ_UTC> (of the case's
//! `token`), <JWT> (any JWT) and <RFC3339> (any UTC time).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::servers::{Registry, Validator};
use crate::common::*;
use base64::Engine;
use serde_json::{Value, json};

struct Fixture {
    emu: Emulator,
    env: Env,
    registry: Registry,
    bin: PathBuf,
}

fn fixture() -> Fixture {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let ca = make_cert(env.path(), "ca", -1, 30, None, true);
    let tls = make_cert(env.path(), "registry", -1, 30, Some(&ca), false);
    env.set("SSL_CERT_FILE", ca.cert_pem.to_str().unwrap());
    let registry = Registry::start(Validator::for_emulator(&emu), &tls, TENANT);
    let base = |name: &str, matches: Value| {
        json!({"name": name, "clientId": CLIENT, "tenantId": TENANT, "certificatePath": pfx, "useCertificate": true,
               "authorityHost": emu.url, "subscriptionId": "11111111-2222-3333-4444-555555555555", "match": matches})
    };
    let mut basic = base("basic", json!(["https://dev.azure.com/basicorg"]));
    basic["gitAuth"] = json!("basic");
    let doc = json!({"defaultProfile": "devops", "profiles": [
        base("devops", json!(["https://dev.azure.com/contoso",
            {"pattern": "https://dev.azure.com/fabrikam", "scope": "https://management.azure.com/.default"}])),
        basic,
        base("acr", json!([registry.host, "*.azurecr.io", "contoso.azurecr.io"])),
    ]});
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(env.config_dir().join("profiles.json"), doc.to_string()).unwrap();
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    Fixture { emu, env, registry, bin }
}

fn fill(text: &str, f: &Fixture) -> String {
    text.replace("{REGISTRY}", &f.registry.host).replace("{CLIENT}", CLIENT)
}

/// `expected` with <JWT> holes (any JWT) and <RFC3339> holes (any UTC time
/// `YYYY-MM-DDTHH:MM:SSZ`) matches `actual`.
fn matches_with_jwts(expected: &str, actual: &str) -> bool {
    let mut rest = actual;
    let mut text = expected;
    loop {
        let next =
            [("<JWT>", 0), ("<RFC3339>", 1)].iter().filter_map(|(h, k)| text.find(h).map(|i| (i, h.len(), *k))).min();
        let Some((at, len, kind)) = next else { return rest == text };
        let Some(r) = rest.strip_prefix(&text[..at]) else { return false };
        let hole = if kind == 0 {
            r.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(r.len())
        } else {
            20
        };
        let Some(value) = r.get(..hole) else { return false };
        let fits = if kind == 0 {
            value.split('.').count() == 3
        } else {
            chrono::DateTime::parse_from_rfc3339(value).is_ok() && value.ends_with('Z')
        };
        if !fits {
            return false;
        }
        rest = &r[hole..];
        text = &text[at + len..];
    }
}

fn expected_output(case: &Value, f: &Fixture) -> String {
    let mut out = fill(case["stdout"].as_str().unwrap(), f);
    if let Some(t) = case.get("token") {
        let got = f.env.run(&[
            "get-token",
            "-p",
            t["profile"].as_str().unwrap(),
            "--scope",
            t["scope"].as_str().unwrap(),
            "-o",
            "json",
        ]);
        assert_ok(&got);
        let v: Value = serde_json::from_str(&stdout(&got)).unwrap();
        let exp = v["expires_on"].as_i64().unwrap();
        let utc = chrono::DateTime::from_timestamp(exp, 0).unwrap();
        out = out
            .replace("<TOKEN>", v["accessToken"].as_str().unwrap())
            .replace("<EXPIRES_ON>", &exp.to_string())
            .replace("<EXPIRES_RFC3339>", &utc.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .replace("<EXPIRES_AZ_UTC>", &utc.format("%Y-%m-%d %H:%M:%S.000000").to_string());
    }
    out
}

fn program(case: &Value, f: &Fixture) -> PathBuf {
    match case["argv0"].as_str() {
        Some(name) => {
            let link = f.bin.join(name);
            if !link.exists() {
                std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_entratool"), &link).unwrap();
            }
            link
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_entratool")),
    }
}

fn replay(tool: &str) {
    let f = fixture();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocols").join(tool).join("transcripts.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(!cases.is_empty());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let expected = expected_output(case, &f);
        let args: Vec<String> =
            case["args"].as_array().unwrap().iter().map(|a| fill(a.as_str().unwrap(), &f)).collect();
        let mut run = f.env.program(program(case, &f));
        run.args(&args);
        for (k, v) in case["env"].as_object().unwrap() {
            run.env(k, fill(v.as_str().unwrap(), &f));
        }
        let input = match (case.get("stdin_base64"), case["stdin"].as_str()) {
            (Some(b), _) => base64::engine::general_purpose::STANDARD.decode(b.as_str().unwrap()).unwrap(),
            (None, Some(s)) => fill(s, &f).into_bytes(),
            (None, None) => Vec::new(),
        };
        let mut child = run.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(&input);
        let out = child.wait_with_output().unwrap();
        let actual = stdout(&out);
        assert_eq!(
            out.status.code(),
            case["exit"].as_i64().map(|c| c as i32),
            "{tool}: {name}\nstdout: {actual}\nstderr: {}",
            stderr(&out)
        );
        assert!(
            matches_with_jwts(&expected, &actual),
            "{tool}: {name}\nexpected: {expected:?}\nactual:   {actual:?}\nstderr: {}",
            stderr(&out)
        );
    }
    let _ = &f.emu;
}

#[test]
fn git_transcripts() {
    replay("git");
}

#[test]
fn docker_transcripts() {
    replay("docker");
}

#[test]
fn kubectl_transcripts() {
    replay("kubectl");
}

#[test]
fn az_transcripts() {
    replay("az");
}

#[test]
fn git_erase_makes_the_next_get_fetch_anew() {
    let f = fixture();
    let req = "protocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n";
    let get = || f.env.run_stdin(&["git-credential", "get"], req);
    let first = stdout(&get());
    assert_eq!(stdout(&get()), first);
    let n = f.emu.token_requests();
    assert_ok(&f.env.run_stdin(&["git-credential", "erase"], req));
    let third = stdout(&get());
    assert_ne!(third, first);
    assert_eq!(f.emu.token_requests(), n + 1);
}

#[test]
fn docker_get_is_cached_and_erase_drops_it() {
    let f = fixture();
    let get = || f.env.run_stdin(&["docker-credential", "get"], &f.registry.host);
    let a = stdout(&get());
    let b = stdout(&get());
    assert_eq!(a, b);
    assert_eq!(f.registry.counts.exchanges.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_ok(&f.env.run_stdin(&["docker-credential", "erase"], &f.registry.host));
    let c = stdout(&get());
    assert_ne!(a, c);
    assert_eq!(f.registry.counts.exchanges.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn helpers_survive_huge_and_binary_input() {
    let f = fixture();
    let huge = "a".repeat(10 * 1024 * 1024);
    for args in [["git-credential", "get"], ["docker-credential", "get"]] {
        for input in [huge.clone(), format!("host={huge}\n"), "\u{0}\u{1}\u{2}garbage\u{7f}".into()] {
            let out = f.env.run_stdin(&args, &input);
            assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{args:?}: {:?}", out.status);
            let s = stdout(&out);
            assert!(s.is_empty() || s == "credentials not found in native keychain\n", "{args:?}: {s:?}");
        }
    }
}

#[test]
fn unreadable_docker_config_is_reported_and_left_alone() {
    let f = fixture();
    let dir = f.env.path().join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    let broken = b"{\"auths\": {\"x\": }";
    std::fs::write(&config, broken).unwrap();
    let out = f
        .env
        .cmd(&["setup", "docker", "-p", "acr", "--registry", "contoso.azurecr.io"])
        .env("DOCKER_CONFIG", &dir)
        .output()
        .unwrap();
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("config.json:1:"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&config).unwrap(), broken);
    // A good one keeps every other key.
    std::fs::write(
        &config,
        r#"{"auths": {"x": {"auth": "eA=="}}, "credsStore": "desktop", "credHelpers": {"other.io": "gcloud"}}"#,
    )
    .unwrap();
    assert_ok(
        &f.env
            .cmd(&["setup", "docker", "-p", "acr", "--registry", "contoso.azurecr.io"])
            .env("DOCKER_CONFIG", &dir)
            .output()
            .unwrap(),
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(v["auths"]["x"]["auth"], "eA==");
    assert_eq!(v["credsStore"], "desktop");
    assert_eq!(v["credHelpers"], json!({"other.io": "gcloud", "contoso.azurecr.io": "entratool"}));
}

#[test]
fn setup_git_writes_the_given_file_and_binds_the_url() {
    let f = fixture();
    let file = f.env.path().join("repo.gitconfig");
    assert_ok(&f.env.run(&[
        "setup",
        "git",
        "-p",
        "acr",
        "--url",
        "https://dev.azure.com/neworg/",
        "--file",
        file.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("[credential \"https://dev.azure.com/neworg\"]"), "{text}");
    assert!(text.contains("git-credential -p acr") && text.contains("useHttpPath = true"), "{text}");
    assert!(!f.env.path().join(".gitconfig").exists(), "the global config is left alone");
    let shown: Value =
        serde_json::from_str(&stdout(&f.env.run(&["config", "show", "-p", "acr", "--output", "json"]))).unwrap();
    assert!(shown["match"].as_array().unwrap().contains(&json!("https://dev.azure.com/neworg")));
    // Plain http to a remote host is refused before anything is written.
    let out = f.env.run(&[
        "setup",
        "git",
        "-p",
        "acr",
        "--url",
        "http://git.example.com/org",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_exit(&out, 3);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}
