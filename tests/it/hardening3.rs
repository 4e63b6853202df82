//! Hardening, round three (#26): what kubectl reads, big kubeconfigs, owners
//! kept, credentials in URLs, terminal controls. Each test failed on the code
//! before it; kubectl, git and the docker helper are the real ones.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};

/// A kubeconfig with `n` clusters, contexts and users, each user with a
/// client certificate and key (as `az aks get-credentials --admin` writes),
/// and a comment after a block scalar that ends the last user.
fn big_kubeconfig(path: &Path, n: usize, blob_bytes: usize) {
    let blob = "Q".repeat(blob_bytes);
    let mut text = String::from("apiVersion: v1\nkind: Config\ncurrent-context: c0\nclusters:\n");
    for i in 0..n {
        text += &format!(
            "- name: k{i}\n  cluster:\n    server: https://k{i}.example:443\n    certificate-authority-data: {blob}\n"
        );
    }
    text += "contexts:\n";
    for i in 0..n {
        text += &format!("- name: c{i}\n  context:\n    cluster: k{i}\n    user: u{i}\n");
    }
    text += "users:\n";
    for i in 0..n {
        text += &format!(
            "- name: u{i}\n  user:\n    client-certificate-data: {blob}\n    client-key-data: |\n      {blob}\n"
        );
    }
    text += "# kept: a comment after the last user's block scalar\npreferences: {}\n";
    std::fs::write(path, text).unwrap();
}

fn cert_env() -> (Emulator, Env) {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    for name in ["on", "y", "no"] {
        env.create_cert_profile(name, &pfx, &emu, &[]);
    }
    (emu, env)
}

#[test]
fn kubectl_reads_every_string_setup_writes_as_a_string() {
    if !require_tool("kubectl") {
        return;
    }
    let (_emu, env) = cert_env();
    let kc = env.path().join("kubeconfig");
    big_kubeconfig(&kc, 3, 16);
    let kcs = kc.to_str().unwrap();
    for (profile, server_id, context) in [("on", "y", "c0"), ("y", "1_000", "c1"), ("no", "off", "c2")] {
        let args =
            ["setup", "kubectl", "-p", profile, "--server-id", server_id, "--kubeconfig", kcs, "--context", context];
        assert_ok(&env.run(&args));
    }
    // kubectl reads YAML 1.1: an unquoted `on` would break every context of the file.
    let view = env.program("kubectl").args(["--kubeconfig", kcs, "config", "view", "-o", "json"]).output().unwrap();
    assert_ok(&view);
    let v: Value = serde_json::from_str(&stdout(&view)).unwrap();
    let args = |u: &str| {
        v["users"].as_array().unwrap().iter().find(|x| x["name"] == u).unwrap()["user"]["exec"]["args"].clone()
    };
    assert_eq!(args("u0")[2], "on");
    assert_eq!(args("u0")[4], "y");
    assert_eq!(args("u1")[4], "1_000");
    assert_eq!(args("u2")[2], "no");
    assert_eq!(args("u2")[4], "off");
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(text.contains("- \"on\"\n") && text.contains("- \"1_000\"\n"), "{text}");
    assert!(text.contains("# kept: a comment after the last user's block scalar\npreferences: {}"), "{text}");
}

#[test]
fn a_big_kubeconfig_is_changed_in_one_pass_and_kubectls_lock_goes_on_sigterm() {
    let (_emu, env) = cert_env();
    let kc = env.path().join("kubeconfig");
    // 10,000 entries (the quadratic editor took about a minute on half a megabyte of them).
    big_kubeconfig(&kc, 3400, 8);
    let kcs = kc.to_str().unwrap();
    let started = Instant::now();
    assert_ok(&env.run(&["setup", "kubectl", "-p", "on", "--kubeconfig", kcs, "--context", "c3399"]));
    let first = started.elapsed();
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(
        text.contains("- name: u3399\n  user:\n    exec:\n")
            && text.ends_with("# kept: a comment after the last user's block scalar\npreferences: {}\n")
    );
    // Interrupted while it holds kubectl's `<file>.lock`: the lock goes with it, the file is whole.
    let lock = kc.with_file_name("kubeconfig.lock");
    let mut interrupted = 0;
    for round in 0..20 {
        let mut child = env
            .cmd(&[
                "setup",
                "kubectl",
                "-p",
                if round % 2 == 0 { "y" } else { "on" },
                "--kubeconfig",
                kcs,
                "--context",
                "c1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + first * 2 + Duration::from_secs(5);
        while !lock.exists() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(200));
        }
        if lock.exists() {
            // SAFETY: kill sends a signal to our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            interrupted += 1;
        }
        child.wait().unwrap();
        assert!(!lock.exists(), "round {round}: kubectl's lock was left behind");
        let v: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
        assert_eq!(v["users"].as_sequence().unwrap().len(), 3400, "round {round}: the file is not whole");
    }
    assert!(interrupted > 0, "no run was caught holding the lock");
}

#[test]
fn setup_git_refuses_a_fifo_at_once() {
    let (_emu, env) = cert_env();
    let fifo = env.path().join("gitconfig.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut child = env
        .cmd(&["setup", "git", "-p", "on", "--url", "https://dev.azure.com/contoso", "--file", fifo.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("setup git hangs on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("is not a regular file"), "{}", stderr(&out));
}

/// A TLS emulator that also answers as an ACR registry at its own host:port.
fn registry_env() -> (Emulator, Env, String) {
    let mut env = Env::new();
    let (emu, ca) = Emulator::start_tls(env.path());
    let cert = make_cert(env.path(), "app", -1, 365, None, false);
    let pfx = env.path().join("app.pfx");
    make_pfx(&cert, &pfx, PASSWORD, &[], None);
    emu.register(&[&cert.cert_pem], &["the-secret"]);
    env.set("SSL_CERT_FILE", ca.cert_pem.to_str().unwrap());
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let registry = emu.url.trim_start_matches("https://").to_string();
    env.create_cert_profile("acr", &pfx, &emu, &["--match", &registry]);
    (emu, env, registry)
}

#[test]
fn the_docker_helpers_answer_line_carries_no_terminal_controls_and_no_secret() {
    let (emu, env, registry) = registry_env();
    emu.post("/_emulator/faults", json!({"kind": "echo", "count": 1, "target": "exchange"}));
    let out = env.run_stdin(&["docker-credential", "get"], &registry);
    assert_exit(&out, 1);
    let line = stdout(&out);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(!line.contains('\u{1b}') && line.contains("\\u{1b}[31m"), "{line:?}");
    assert!(line.contains("access_token=********") && !line.contains("access_token=eyJ"), "{line}");
    assert!(!stderr(&out).contains('\u{1b}') && !stderr(&out).contains("access_token=eyJ"), "{}", stderr(&out));
}

#[test]
fn a_server_that_echoes_the_request_never_gets_a_secret_printed() {
    let App { emu, mut env, .. } = App::new(&["s3cr3t-value"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "s3cr3t-value");
    let create = create_args("sec", TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"]);
    assert_ok(&env.run(&create));
    emu.fault("echo", 1, None, None);
    let out = env.run(&["get-token", "-p", "sec"]);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("client_secret=********"), "{}", stderr(&out));
    assert!(!both(&out).contains("s3cr3t-value"), "{}", both(&out));
}

#[test]
fn other_tools_files_keep_their_owner_group_mode_and_hard_links() {
    if !is_root() {
        return;
    }
    let (_emu, mut env) = cert_env();
    let kc = env.path().join("kubeconfig");
    big_kubeconfig(&kc, 2, 8);
    let other = 4242;
    std::os::unix::fs::chown(&kc, Some(other), Some(other)).unwrap();
    std::fs::set_permissions(&kc, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_ok(&env.run(&["setup", "kubectl", "-p", "on", "--kubeconfig", kc.to_str().unwrap()]));
    let meta = std::fs::metadata(&kc).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (other, other, 0o640),
        "root left the user's kubeconfig its own"
    );
    // A kubeconfig with two names: both see the change, and the output says why it was written in place.
    let twin = env.path().join("twin");
    std::fs::hard_link(&kc, &twin).unwrap();
    let out = env.run(&["setup", "kubectl", "-p", "y", "--kubeconfig", kc.to_str().unwrap()]);
    assert_ok(&out);
    assert!(stdout(&out).contains("the file has 2 hard links: it was rewritten in place"), "{}", stdout(&out));
    assert_eq!(std::fs::read(&kc).unwrap(), std::fs::read(&twin).unwrap());
    assert!(std::fs::read_to_string(&twin).unwrap().contains("- \"y\"\n"));
    // docker's 0644 config stays 0644.
    let docker = env.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let config = docker.join("config.json");
    std::fs::write(&config, "{\n\t\"auths\": {}\n}\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.set("DOCKER_CONFIG", docker.to_str().unwrap());
    assert_ok(&env.run(&["setup", "docker", "-p", "on", "--registry", "contoso.azurecr.io"]));
    assert_eq!(std::fs::metadata(&config).unwrap().mode() & 0o7777, 0o644);
}

#[test]
fn setup_git_refuses_a_url_with_a_credential_without_echoing_it() {
    let (_emu, env) = cert_env();
    let profiles = env.config_dir().join("profiles.json");
    let before = std::fs::read(&profiles).unwrap();
    let out = env.run(&["setup", "git", "-p", "on", "--url", "https://user:PAT-0123456789@dev.azure.com/contoso"]);
    assert_exit(&out, 2);
    assert!(!both(&out).contains("PAT-0123456789"), "{}", both(&out));
    assert!(stderr(&out).contains("user name or password"), "{}", stderr(&out));
    assert!(!env.path().join(".gitconfig").exists());
    assert_eq!(std::fs::read(&profiles).unwrap(), before);
}

#[test]
fn the_trace_shows_no_userinfo_query_value_or_helper_state() {
    let App { emu, mut env, .. } = App::new(&[]);
    emu.identity("aaaaaaaa-1111-2222-3333-444444444444", "bbbbbbbb-1111-2222-3333-444444444444", "/x/id", true);
    let trace = env.path().join("trace.log");
    env.set("ENTRATOOL_TRACE", trace.to_str().unwrap());
    let port = emu.url.rsplit(':').next().unwrap().to_string();
    env.set("IDENTITY_ENDPOINT", &format!("http://user:EndpointPass@127.0.0.1:{port}/msi/token?code=QuerySecret"));
    env.set("IDENTITY_HEADER", "identity-header-secret");
    assert_ok(&env.run(&["config", "create", "--name", "mi", "--auth-method", "managed-identity"]));
    // A retry, whose line once carried the URL's query values.
    emu.post("/_emulator/faults", json!({"kind": "500", "count": 1, "retryAfter": 0, "target": "identity"}));
    let _ = env.run(&["get-token", "-p", "mi", "--scope", "https://vault.azure.net/.default"]);
    let request = "protocol=https\nhost=dev.azure.com\npath=x\nurl=https://gituser:GitPass@dev.azure.com/x\nstate[]=helper:StateValue\n\n";
    let _ = env.run_stdin(&["git-credential", "get"], request);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.contains("retry 1 of") && text.contains("git get: "), "{text}");
    for secret in ["EndpointPass", "QuerySecret", "GitPass", "StateValue", "identity-header-secret"] {
        assert!(!text.contains(secret), "{secret} in the trace:\n{text}");
    }
}

#[test]
fn docker_config_keeps_big_numbers_and_bytes_and_a_full_disk_leaves_no_partial_backup() {
    let (_emu, mut env) = cert_env();
    let docker = env.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let config = docker.join("config.json");
    let original =
        b"{\n\t\"big\": 123456789012345678901234567890,\n\t\"odd\": \"\xff\xfe\",\n\t\"auths\": {}\n}\n".to_vec();
    std::fs::write(&config, &original).unwrap();
    env.set("DOCKER_CONFIG", docker.to_str().unwrap());
    assert_ok(&env.run(&["setup", "docker", "-p", "on", "--registry", "contoso.azurecr.io"]));
    let after = std::fs::read(&config).unwrap();
    assert!(
        after.starts_with(b"{\n\t\"big\": 123456789012345678901234567890,\n\t\"odd\": \"\xff\xfe\",\n\t\"auths\": {}"),
        "{}",
        String::from_utf8_lossy(&after)
    );
    if !is_root() || !require_tool("unshare") {
        return;
    }
    // A full disk: the backup cannot be written whole, so there is none, and the file stays as it was.
    let full = env.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    let big = format!("{{\"auths\": {{}}, \"pad\": \"{}\"}}\n", "x".repeat(40 * 1024));
    let entratool = env!("CARGO_BIN_EXE_entratool");
    let probe = "mount -t tmpfs -o size=96k tmpfs \"$1\" || exit 90; printf '%s' \"$2\" > \"$1/config.json\"; \
         head -c 40960 /dev/zero > \"$1/filler\" 2>/dev/null; \
         DOCKER_CONFIG=\"$1\" \"$3\" setup docker -p on --registry contoso.azurecr.io; code=$?; \
         ls \"$1\" | grep -c entratool-backup; printf '%s' \"$2\" | cmp -s \"$1/config.json\" - || echo changed; \
         exit $code";
    let out = env
        .program("unshare")
        .args(["-m", "sh", "-c", probe, "sh", full.to_str().unwrap(), &big, entratool])
        .output()
        .unwrap();
    assert_exit(&out, 3);
    assert!(stdout(&out).starts_with("0\n"), "a backup was left: {}", both(&out));
    assert!(!stdout(&out).contains("changed"), "{}", both(&out));
    assert!(stderr(&out).contains("write the backup"), "{}", stderr(&out));
}

#[test]
fn a_registry_is_a_host_and_port_and_nothing_else() {
    let (_emu, mut env) = cert_env();
    let docker = env.path().join("docker");
    env.set("DOCKER_CONFIG", docker.to_str().unwrap());
    let profiles = env.config_dir().join("profiles.json");
    let before = std::fs::read(&profiles).unwrap();
    for bad in ["host?x", "contoso.azurecr.io.", "contoso.azurecr.io/path", "a\nb", "a b", "https://u@h.io"] {
        let out = env.run(&["setup", "docker", "-p", "on", "--registry", bad]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("invalid --registry"), "{bad:?}: {}", stderr(&out));
    }
    assert!(!docker.exists());
    assert_eq!(std::fs::read(&profiles).unwrap(), before);
}

#[test]
fn the_kubeconfig_changed_is_the_one_kubectl_would_change() {
    let (_emu, mut env) = cert_env();
    let (a, b) = (env.path().join("a.yaml"), env.path().join("b.yaml"));
    std::fs::write(&a, "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nusers: []\n").unwrap();
    std::fs::write(&b, "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: x}\n").unwrap();
    let missing = env.path().join("missing.yaml");
    env.set("KUBECONFIG", &format!(":{}:{}:{}", missing.display(), a.display(), b.display()));
    let out = env.run(&["setup", "kubectl", "-p", "on"]);
    assert_ok(&out);
    assert!(
        stdout(&out)
            .contains(&format!("kubeconfig: {} (the first file of $KUBECONFIG that defines user 'u')", b.display())),
        "{}",
        stdout(&out)
    );
    assert!(std::fs::read_to_string(&b).unwrap().contains("exec:"));
    assert!(!std::fs::read_to_string(&a).unwrap().contains("exec:"));
    assert!(!missing.exists());
}

#[test]
fn a_lock_wait_that_is_no_number_of_seconds_is_said_once_and_bounded() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &[]);
    env.set("ENTRATOOL_LOCK_WAIT", "2.5");
    // Two cold callers: the second waits on the first's lock, and reads the variable then.
    emu.fault("slow", 1, None, Some(1500));
    let first = env.cmd(&["get-token", "-p", "p"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = env.run(&["get-token", "-p", "p"]);
    let _ = first.wait_with_output();
    assert_ok(&out);
    let warned = stderr(&out).matches("ENTRATOOL_LOCK_WAIT='2.5' is not a whole number of seconds").count();
    assert_eq!(warned, 1, "{}", stderr(&out));
}

#[test]
fn bidirectional_controls_in_a_claim_are_escaped() {
    let env = Env::new();
    use base64::Engine;
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let jwt = format!(
        "{}.{}.sig",
        enc(&json!({"alg": "none"})),
        enc(&json!({"oid": "evil\u{202e}txt.exe", "aud": "a\u{2066}b"}))
    );
    let out = env.run_stdin(&["token", "decode"], &jwt);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(!text.contains('\u{202e}') && !text.contains('\u{2066}'), "{text}");
    assert!(text.contains("evil\\u{202e}txt.exe") && text.contains("a\\u{2066}b"), "{text}");
}
