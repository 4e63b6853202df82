//! Secrets in real stores: the Secret Service (gnome-keyring on a private
//! D-Bus session) and nothing secret in files, outputs or command lines.

use std::io::Write;
use std::process::Stdio;

use crate::common::*;

#[test]
fn secret_service_stores_finds_and_forgets_the_password() {
    if !(require_tool("dbus-run-session") && require_tool("gnome-keyring-daemon") && require_tool("secret-tool")) {
        return;
    }
    let App { emu, env, pfx, .. } = App::new(&[]);
    let name = format!("ss-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let script = r#"
set -eu
# A non-empty password creates the login keyring without a (graphical) prompt.
eval "$(printf 'ci-keyring' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
printf %s "$PW" | "$ET" config create --name "$NAME" --client-id "$CLIENT" --tenant-id "$TENANT" \
  --certificate "$PFX" --authority-host "$AUTH" --password-stdin
# The account is the profile in its config folder: NAME/certificate-password@<folder hash>.
ACCOUNT=$(secret-tool search --all service entratool 2>&1 | sed -n "s|^attribute.username = \($NAME/certificate-password@[0-9a-f]*\)$|\1|p" | head -1)
echo "account: $ACCOUNT"
echo "lookup: $(secret-tool lookup service entratool username "$ACCOUNT" | sha256sum | cut -c1-16)"
echo "token: $("$ET" get-token -p "$NAME" | cut -c1-3)"
"$ET" config delete -p "$NAME"
if secret-tool lookup service entratool username "$ACCOUNT" >/dev/null; then echo "still there"; else echo "gone"; fi
"#;
    let mut run = env.program("dbus-run-session");
    run.args(["--", "bash", "-c", script]);
    run.env("ENTRATOOL_KEYRING", "auto")
        .env("PW", PASSWORD)
        .env("ET", env!("CARGO_BIN_EXE_entratool"))
        .env("NAME", &name)
        .env("CLIENT", CLIENT)
        .env("TENANT", TENANT)
        .env("PFX", &pfx)
        .env("AUTH", &emu.url)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = run.output().unwrap();
    let text = stdout(&out);
    assert_ok(&out);
    let expected_hash: String = openssl::sha::sha256(PASSWORD.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert!(both(&out).contains("stored in the Secret Service"), "{}", both(&out));
    assert!(text.contains(&format!("lookup: {}", &expected_hash[..16])), "secret-tool did not find it:\n{text}");
    assert!(text.contains("token: eyJ"), "no token without an environment override:\n{text}\n{}", stderr(&out));
    assert!(text.contains("gone"), "config delete left the secret:\n{text}");
}

/// No secret in any file under the config and cache folders, in any
/// output, or in the command line of any process entratool runs as.
#[test]
fn secrets_never_reach_files_outputs_or_command_lines() {
    let App { emu, mut env, pfx, .. } = App::new(&["Client-S3cret-Value"]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = format!("leak-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let mut outputs = String::new();
    // A create whose stdin is still open: its command line is visible meanwhile.
    let mut child = env
        .cmd(&create_args(
            &name,
            TENANT,
            &["--certificate", pfx.to_str().unwrap(), "--authority-host", &emu.url, "--password-stdin"],
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&cmdline).contains(PASSWORD));
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    outputs += &stdout(&out);
    outputs += &stderr(&out);
    let sec = format!("{name}-sec");
    let out = env.run_stdin(
        &create_args(&sec, TENANT, &["--authority-host", &emu.url, "--secret-stdin"]),
        "Client-S3cret-Value\n",
    );
    assert_ok(&out);
    outputs += &(stdout(&out) + &stderr(&out));
    for args in [
        vec!["get-token", "-p", &name, "-o", "json"],
        vec!["get-token", "-p", &sec, "-o", "az"],
        vec!["config", "show", "-p", &name],
        vec!["config", "export", "-p", &sec],
        vec!["config", "list", "--output", "json"],
        vec!["cache", "list", "--output", "json"],
        vec!["cert", "info", "-p", &name],
        vec!["doctor"],
    ] {
        let out = env.run(&args);
        outputs += &(stdout(&out) + &stderr(&out));
    }
    // A wrong secret in the environment: the error must not echo it.
    let mut bad = env.cmd(&["get-token", "-p", &sec, "--force-refresh"]);
    let out = bad.env("ENTRATOOL_CLIENT_SECRET", "Env-Wr0ng-Secret").output().unwrap();
    outputs += &(stdout(&out) + &stderr(&out));
    for secret in [PASSWORD, "Client-S3cret-Value", "Env-Wr0ng-Secret"] {
        assert!(!outputs.contains(secret), "{secret} printed");
        for dir in [env.config_dir(), env.cache_dir()] {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let bytes = std::fs::read(&p).unwrap_or_default();
                assert!(!String::from_utf8_lossy(&bytes).contains(secret), "{secret} in {}", p.display());
            }
        }
    }
    for n in [&name, &sec] {
        assert_ok(&env.run(&["config", "delete", "-p", n]));
    }
}

#[test]
fn doctor_reports_each_check_and_completions_generate() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("doc", &pfx, &emu, &[]);
    // The key the PFX was made from, left beside it unencrypted (as openssl's quick start does): flagged.
    let out = env.run(&["doctor"]);
    assert_exit(&out, 1);
    let loose = pfx.with_file_name("app.key.pem");
    assert!(
        stdout(&out).contains(&format!("an unencrypted private key lies beside the certificate: {}", loose.display())),
        "{}",
        stdout(&out)
    );
    std::fs::remove_file(&loose).unwrap();
    let out = env.run(&["doctor"]);
    assert_ok(&out);
    let text = stdout(&out);
    for check in [
        "profiles.json parses",
        "config folder",
        "secret store",
        "doc: certificate",
        "RSA key, 2048 bits",
        "knows tenant",
        "clock within",
        "doc: a token for https://graph.microsoft.com/.default (valid until",
    ] {
        assert!(text.contains(check), "{check} missing:\n{text}");
    }
    // A broken one: exit 1 and the fix.
    env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    let out = env.run(&["doctor", "-p", "doc"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("✗ doc: certificate") && stdout(&out).contains("--password-stdin"),
        "{}",
        stdout(&out)
    );
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = env.run(&["completions", shell]);
        assert_ok(&out);
        assert!(stdout(&out).contains("get-token"), "{shell}");
    }
}

/// `setup kubectl --from-kubelogin` with a durable store: kubelogin's usual spn setup (the secret
/// exported in the shell, not in the kubeconfig) is converted, the secret goes to the Secret
/// Service and the output says where it came from and went; nothing secret stays in the file.
#[test]
fn a_conversion_moves_a_shell_exported_secret_into_a_durable_store() {
    if !(require_tool("dbus-run-session") && require_tool("gnome-keyring-daemon")) {
        return;
    }
    let App { emu, env, .. } = App::new(&["shell-secret"]);
    let user = format!("spn-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let kc = env.path().join("kubeconfig");
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": user,
        "contexts": [{"name": user, "context": {"cluster": "aks", "user": user}}],
        "clusters": [{"name": "aks", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": user, "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin", "args": ["get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
            "--client-id", CLIENT, "--tenant-id", TENANT, "--login", "spn"],
            "env": [{"name": "AZURE_AUTHORITY_HOST", "value": emu.url}]}}}],
    });
    std::fs::write(&kc, serde_yaml::to_string(&kubeconfig).unwrap()).unwrap();
    let script = r#"
set -eu
eval "$(printf 'ci-keyring' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
"$ET" setup kubectl --from-kubelogin --kubeconfig "$KC"
unset AAD_SERVICE_PRINCIPAL_CLIENT_SECRET
echo "token: $("$ET" get-token -p "$USERNAME" | cut -c1-3)"
"$ET" config delete -p "$USERNAME"
"#;
    let mut run = env.program("dbus-run-session");
    run.args(["--", "bash", "-c", script])
        .env("ENTRATOOL_KEYRING", "secret-service")
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "shell-secret")
        .env("ET", env!("CARGO_BIN_EXE_entratool"))
        .env("KC", &kc)
        .env("USERNAME", &user)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = run.output().unwrap();
    assert_ok(&out);
    let text = both(&out);
    assert!(
        text.contains("from $AAD_SERVICE_PRINCIPAL_CLIENT_SECRET in this shell is now in the Secret Service"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(text.contains("token: eyJ"), "{text}\n{}", stderr(&out));
    let after = std::fs::read_to_string(&kc).unwrap();
    assert!(!after.contains("shell-secret") && after.contains(env!("CARGO_BIN_EXE_entratool")), "{after}");
}
