//! Hardening, round two (docs/reliability.md): each defect a second attack
//! found, reproduced against the built binary. Hostile token endpoints are
//! loopback servers standing in for a managed identity endpoint under an
//! attacker's control (`AZURE_POD_IDENTITY_AUTHORITY_HOST`).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tiny_http::{Header, Response, Server};

use crate::common::*;

type Answer = (u16, Vec<(&'static str, String)>, Box<dyn Read + Send>);

/// A loopback HTTP server answering every request with `answer()`; its URL and request count.
fn endpoint(answer: impl Fn() -> Answer + Send + Sync + 'static) -> (String, Arc<AtomicU64>) {
    let server = Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let hits = Arc::new(AtomicU64::new(0));
    let (h, answer) = (hits.clone(), Arc::new(answer));
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            h.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            std::thread::spawn(move || {
                let (status, headers, body) = answer();
                let headers = headers.iter().map(|(k, v)| Header::from_bytes(*k, v.as_bytes()).unwrap()).collect();
                // The client may hang up mid-answer: that is what some tests want.
                let _ = req.respond(Response::new(status.into(), headers, body, None, None));
            });
        }
    });
    (url, hits)
}

fn json_answer(status: u16, body: serde_json::Value) -> Answer {
    (status, vec![("Content-Type", "application/json".into())], Box::new(std::io::Cursor::new(body.to_string())))
}

/// An environment with a managed identity profile `mi` whose endpoint is `url`.
fn managed_identity_at(url: &str) -> Env {
    let mut env = Env::new();
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", url);
    assert_ok(&env.run(&["config", "create", "--name", "mi", "--auth-method", "managed-identity"]));
    env
}

const VAULT: &str = "https://vault.azure.net/.default";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn a_token_with_a_line_break_never_reaches_git_or_a_header() {
    let (url, _) = endpoint(|| {
        json_answer(200, json!({"access_token": "eyJ0.eyJ1.sig\nusername=injected", "expires_in": "3600"}))
    });
    let env = managed_identity_at(&url);
    let out = env.run(&["get-token", "-p", "mi", "--scope", VAULT, "--output", "header"]);
    assert_exit(&out, 5);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains("not a token") && !stderr(&out).contains("injected"), "{}", stderr(&out));
    // git itself, asking the helper for Azure DevOps: no extra protocol lines.
    if !require_tool("git") {
        return;
    }
    let helper = format!("!'{}' git-credential -p mi", env!("CARGO_BIN_EXE_entratool"));
    let out = env
        .program("git")
        .args(["-c", "credential.helper=", "-c", &format!("credential.helper={helper}"), "credential", "fill"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"protocol=https\nhost=dev.azure.com\npath=org/_git/r\n\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(!stdout(&out).contains("injected"), "git read an injected line: {}", stdout(&out));
    assert!(stderr(&out).contains("not a token"), "{}", stderr(&out));
}

#[test]
fn an_expired_token_from_a_managed_identity_endpoint_is_refused() {
    let (url, _) = endpoint(|| json_answer(200, json!({"access_token": "eyJ0.eyJ1.sig", "expires_on": now() - 60})));
    let env = managed_identity_at(&url);
    let out = env.run(&["get-token", "-p", "mi", "--scope", VAULT]);
    assert_exit(&out, 5);
    assert!(stdout(&out).is_empty() && stderr(&out).contains("already expired"), "{}", stderr(&out));
}

#[test]
fn an_answer_larger_than_a_token_answer_is_never_read_whole() {
    // 200 MB without a length (chunked), then with one: neither is read into memory.
    for with_length in [false, true] {
        let (url, _) = endpoint(move || {
            let size = 200 * 1024 * 1024;
            let body = Box::new(std::io::repeat(b'a').take(size));
            let headers = if with_length { vec![("Content-Length", size.to_string())] } else { vec![] };
            (200, headers, body)
        });
        let env = managed_identity_at(&url);
        let out = env
            .program("/usr/bin/time")
            .args(["-f", "maxrss_kib=%M", env!("CARGO_BIN_EXE_entratool"), "get-token", "-p", "mi", "--scope", VAULT])
            .output()
            .unwrap();
        assert_exit(&out, 5);
        let err = stderr(&out);
        assert!(err.contains("more than 1024 KiB"), "{err}");
        let rss: u64 = err.rsplit("maxrss_kib=").next().unwrap().trim().parse().unwrap();
        assert!(rss < 64 * 1024, "max RSS {rss} KiB reading a 200 MB answer");
    }
}

#[test]
fn a_retry_after_beyond_any_date_holds_the_key_instead_of_wrapping() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &[]);
    for huge in [u64::MAX, i64::MAX as u64] {
        emu.fault("429", 1, Some(huge), None);
        let before = emu.token_requests();
        let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]);
        assert_exit(&out, 6);
        assert!(stderr(&out).contains("try again after") && !stderr(&out).contains("1970"), "{}", stderr(&out));
        // Held: the next call fails at once without asking Entra ID.
        let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]);
        assert_exit(&out, 6);
        assert_eq!(emu.token_requests(), before + 1, "a held key reached the emulator again");
        assert_ok(&env.run(&["cache", "clear"]));
    }
}

#[test]
fn loopback_is_never_reached_through_a_proxy() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &[]);
    let (proxy, visits) = counting_sink();
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        env.set(var, &proxy);
    }
    env.set("NO_PROXY", "");
    assert_ok(&env.run(&["get-token", "-p", "p", "--scope", GRAPH]));
    assert_eq!(visits.load(Ordering::SeqCst), 0, "the proxy saw a loopback token request");
}

#[test]
fn a_ca_appended_to_the_system_bundle_is_trusted_beside_the_hashed_folder() {
    let bundle = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !is_root() || !bundle.is_file() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "needs root and Debian's CA bundle under CI=true");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (emu, ca) = Emulator::start_tls(dir.path());
    let env = Env::new();
    let cert = make_cert(env.path(), "app", -1, 365, None, false);
    emu.register(&[&cert.cert_pem], &["s3cret"]);
    let mut env = env;
    env.set("ENTRATOOL_CLIENT_SECRET", "s3cret");
    let args = create_args("p", TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"]);
    assert_ok(&env.run(&args));
    // The system bundle with the emulator's CA appended, as a Dockerfile would; the hashed folder
    // beside it does not know that CA. Bound over the real bundle in a mount namespace of its own.
    let extended = dir.path().join("ca-certificates.crt");
    let mut text = std::fs::read(bundle).unwrap();
    text.extend(std::fs::read(&ca.cert_pem).unwrap());
    std::fs::write(&extended, text).unwrap();
    let run = |mount: bool| {
        let script =
            if mount { "mount --bind \"$0\" /etc/ssl/certs/ca-certificates.crt && exec \"$@\"" } else { "exec \"$@\"" };
        let mut cmd = env.program("unshare");
        cmd.args(["-m", "sh", "-c", script]).arg(&extended).arg(env!("CARGO_BIN_EXE_entratool"));
        cmd.args(["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]);
        cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR").stdin(Stdio::null()).output().unwrap()
    };
    assert_exit(&run(false), 6);
    assert_ok(&run(true));
}

/// Runs entratool with stderr a pipe nobody reads any more.
fn with_closed_stderr(env: &Env, args: &[&str], input: &str) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = env.cmd(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(writer).spawn().unwrap();
    {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stderr_never_turns_an_error_into_a_panic() {
    let env = Env::new();
    assert_exit(&with_closed_stderr(&env, &["get-token", "-p", "nope", "--scope", GRAPH], ""), 3);
    assert_exit(&with_closed_stderr(&env, &["token", "decode"], "not a token"), 2);
    let malformed = "protocol=https\nhost=a.example\nhost=b.example\n\n";
    assert_exit(&with_closed_stderr(&env, &["git-credential", "get"], malformed), 0);
    let out = with_closed_stderr(&env, &["docker-credential", "get"], "unbound.example.io\n");
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("credentials not found"), "{}", stdout(&out));
}

#[test]
fn token_decode_shows_claims_of_any_json_shape() {
    use base64::Engine;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = json!({"aud": {"a": 1}, "iss": ["x", {"y": 2}], "tid": 5, "roles": [[1]], "exp": {"nested": true},
                        "oid": "\u{1b}]0;retitled\u{7}"});
    let jwt = format!("{}.{}.sig", b64(json!({"alg": "none"})), b64(claims));
    let env = Env::new();
    let out = env.run_stdin(&["token", "decode"], &jwt);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains(r#"{"a":1}"#) && text.contains(r#"x, {"y":2}"#), "{text}");
    assert!(!text.contains('\u{1b}') && text.contains("\\u{1b}]0;retitled\\u{7}"), "{text}");
    assert_ok(&env.run_stdin(&["token", "decode", "--output", "json"], &jwt));
}

#[test]
fn a_lock_file_another_user_made_is_replaced_even_when_unreadable() {
    if !is_root() {
        return;
    }
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    // entratool runs as nobody here, so the lock file of root's cannot even be opened.
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pfx_copy = env.path().join("nobody.pfx");
    std::fs::copy(&pfx, &pfx_copy).unwrap();
    for dir in [env.config_dir(), env.cache_dir()] {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let chown = |path: &std::path::Path| {
        let st = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(path).status().unwrap();
        assert!(st.success());
    };
    for p in [env.config_dir(), env.cache_dir(), pfx_copy.clone()] {
        chown(&p);
    }
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let as_nobody = |args: &[&str]| {
        let mut cmd = env.program("setpriv");
        cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", env!("CARGO_BIN_EXE_entratool")]);
        cmd.args(args).stdin(Stdio::null()).output().unwrap()
    };
    let cert = pfx_copy.display().to_string();
    let create = create_args("p", TENANT, &["--authority-host", &emu.url, "--certificate", &cert]);
    assert_ok(&as_nobody(&create));
    assert_ok(&as_nobody(&["get-token", "-p", "p", "--scope", GRAPH]));
    let lock = std::fs::read_dir(env.cache_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "lock"))
        .expect("a lock file");
    let st = Command::new("chown").arg("root:root").arg(&lock).status().unwrap();
    assert!(st.success());
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = as_nobody(&["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]);
    assert_ok(&out);
    use std::os::unix::fs::MetadataExt;
    assert_ne!(std::fs::metadata(&lock).unwrap().uid(), 0, "the foreign lock file was replaced");
}

#[test]
fn a_stopped_lock_holder_is_named_after_a_bounded_wait() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &[]);
    env.set("ENTRATOOL_LOCK_WAIT", "2");
    emu.fault("slow", 1, None, Some(3000));
    let mut holder = env.cmd(&["get-token", "-p", "p", "--scope", GRAPH]).stdout(Stdio::null()).spawn().unwrap();
    // Stopped while it holds the lock, inside its slow request.
    let started = Instant::now();
    let has_lock_file = || {
        std::fs::read_dir(env.cache_dir())
            .is_ok_and(|d| d.flatten().any(|e| e.path().extension() == Some("lock".as_ref())))
    };
    while !has_lock_file() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = holder.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let started = Instant::now();
    let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
    let waited = started.elapsed();
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    holder.wait().unwrap();
    assert_exit(&out, 6);
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    assert!(stderr(&out).contains(&format!("process {pid} has held the lock")), "{}", stderr(&out));
    assert!(stderr(&out).contains("kill -CONT"), "{}", stderr(&out));
}

#[test]
fn profiles_json_holding_a_secret_is_refused_and_never_echoed() {
    let env = Env::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let profiles = json!({"profiles": [{"name": "p", "clientId": CLIENT, "tenantId": TENANT,
                                        "clientSecret": "hunter2-do-not-echo"}]});
    let path = env.config_dir().join("profiles.json");
    std::fs::write(&path, profiles.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    for args in [
        vec!["config", "list", "--output", "json"],
        vec!["config", "show", "-p", "p", "--output", "json"],
        vec!["config", "export", "-p", "p"],
        vec!["get-token", "-p", "p", "--scope", GRAPH],
    ] {
        let out = env.run(&args);
        assert_exit(&out, 3);
        let all = stdout(&out) + &stderr(&out);
        assert!(!all.contains("hunter2"), "{args:?} echoed the secret: {all}");
        assert!(all.contains("field 'clientSecret' of profile 'p'") && all.contains("--secret-stdin"), "{all}");
    }
}

#[test]
fn control_characters_from_servers_and_files_are_escaped() {
    let (url, _) = endpoint(|| {
        json_answer(400, json!({"error": "invalid_request", "error_description": "no\u{1b}]0;pwned\u{7}\u{1b}[2J"}))
    });
    let env = managed_identity_at(&url);
    let out = env.run(&["get-token", "-p", "mi", "--scope", VAULT]);
    assert_exit(&out, 5);
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07), "{:?}", stderr(&out));
    assert!(stderr(&out).contains("\\u{1b}]0;pwned"), "{}", stderr(&out));
}

#[test]
fn profile_names_dot_and_dotdot_are_refused() {
    let env = Env::new();
    for name in [".", ".."] {
        let out = env.run(&create_args(name, TENANT, &["--auth-method", "secret"]));
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("invalid profile name"), "{}", stderr(&out));
    }
}

#[test]
fn a_killed_writes_temporary_file_beside_a_kubeconfig_is_removed() {
    let env = Env::new();
    let kube = env.path().join("kube");
    std::fs::create_dir_all(&kube).unwrap();
    let config = kube.join("config");
    std::fs::write(&config, "apiVersion: v1\nkind: Config\nusers: []\n").unwrap();
    let left = kube.join(".entratool-AbC123.tmp");
    std::fs::write(&left, "users:\n- name: u\n  user: {token: the-only-copy}\n").unwrap();
    let st = Command::new("touch").args(["-d", "1 minute ago"]).arg(&left).status().unwrap();
    assert!(st.success());
    let kubeconfig = config.display().to_string();
    // A dry run writes nothing anywhere, not even a removal.
    let out = env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", &kubeconfig, "--dry-run"]);
    assert_ok(&out);
    assert!(left.exists(), "a dry run removed a file");
    let out = env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", &kubeconfig]);
    assert_ok(&out);
    assert!(!left.exists(), "the killed write's temporary file is still there");
}

#[test]
fn the_release_binary_has_its_exploit_mitigations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let release = root.join("target/release/entratool");
    if !release.is_file() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "scripts/test.sh builds the release binary first");
        return;
    }
    let check =
        |bin: &std::path::Path| Command::new(root.join("scripts/hardening-check.sh")).arg(bin).output().unwrap();
    let out = check(&release);
    assert_ok(&out);
    // The check can fail: a C program built without any of them.
    if !require_tool("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("weak.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let weak = dir.path().join("weak");
    let st = Command::new("gcc")
        .args(["-O0", "-no-pie", "-fno-stack-protector", "-U_FORTIFY_SOURCE", "-Wl,-z,norelro,-z,lazy,-z,execstack"])
        .arg(&src)
        .arg("-o")
        .arg(&weak)
        .status()
        .unwrap();
    assert!(st.success());
    let out = check(&weak);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out).matches("MISS").count(), 6, "{}", stdout(&out));
}
