//! What a newcomer meets when something is off (docs/troubleshooting.md):
//! the environment profile in `doctor` and `status`, where a secret came
//! from, the kernel keyring announced as volatile, errors with context, and
//! `token decode` of every `get-token` output.

use serde_json::Value;

use crate::common::*;

const POD_SECRET: &str = "pod-secret-do-not-print";

/// A pod's environment: no profiles.json, the Azure SDK variables with a secret.
fn pod() -> (Emulator, Env) {
    let emu = Emulator::start();
    emu.register(&[], &[POD_SECRET]);
    let mut env = Env::new();
    for (k, v) in [("AZURE_CLIENT_ID", CLIENT), ("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_SECRET", POD_SECRET)] {
        env.set(k, v);
    }
    env.set("AZURE_AUTHORITY_HOST", &emu.url);
    (emu, env)
}

#[test]
fn doctor_and_status_show_the_environment_profile_without_its_secret() {
    let (_emu, env) = pod();
    for args in [vec!["doctor"], vec!["doctor", "-p", "env"]] {
        let out = env.run(&args);
        let text = stdout(&out) + &stderr(&out);
        assert!(
            text.contains("environment profile 'env'") && text.contains(&format!("AZURE_CLIENT_ID={CLIENT}")),
            "{text}"
        );
        assert!(text.contains("AZURE_CLIENT_SECRET set (value not shown)"), "{text}");
        assert!(text.contains("env: client secret in AZURE_CLIENT_SECRET"), "{text}");
        assert!(!text.contains(POD_SECRET) && !text.contains("config edit -p env"), "{text}");
        assert_ok(&out);
    }
    let out = env.run(&["status", "--output", "json"]);
    assert_ok(&out);
    let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows[0]["name"], "env");
    assert_eq!(rows[0]["source"], "environment");
    assert!(!stdout(&out).contains(POD_SECRET));
    let out = env.run(&["status"]);
    assert!(stdout(&out).contains("env: the environment profile"), "{}", stdout(&out));
    // Without a scope, the hint for the environment profile is --scope, never `config edit -p env`.
    let out = env.run(&["get-token"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("hint: pass --scope") && !stderr(&out).contains("config edit"), "{}", stderr(&out));
}

#[test]
fn a_wrong_or_missing_secret_names_its_source() {
    let App { emu, mut env, pfx, .. } = App::new(&["right-secret"]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", "not-the-password");
    let cert = pfx.display().to_string();
    let args = create_args("c", TENANT, &["--authority-host", &emu.url, "--certificate", &cert]);
    let out = env.run_stdin(&[&args[..], &["--password-stdin"]].concat(), "also-wrong");
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("Invalid certificate password") && err.contains("came from --password-stdin"), "{err}");
    assert!(!err.contains("config edit"), "a profile that was not created is not to be edited: {err}");
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    assert_ok(&env.run(&args));
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", "not-the-password");
    let out = env.run(&["get-token", "-p", "c", "--scope", GRAPH]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("came from ENTRATOOL_CERTIFICATE_PASSWORD"), "{}", stderr(&out));
    // A secret profile with no secret anywhere: where it was looked for.
    env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    assert_ok(&env.run(&create_args("s", TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"])));
    let out = env.run(&["get-token", "-p", "s", "--scope", GRAPH]);
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(
        err.contains("looked in ENTRATOOL_CLIENT_SECRET and the environment only (ENTRATOOL_KEYRING=none)"),
        "{err}"
    );
}

#[test]
fn the_kernel_keyring_is_announced_as_lost_at_reboot() {
    let App { emu, mut env, .. } = App::new(&["kept-secret"]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = format!("volatile-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let args = create_args(&name, TENANT, &["--authority-host", &emu.url, "--secret-stdin"]);
    let out = env.run_stdin(&args, "kept-secret");
    assert_ok(&out);
    assert!(stderr(&out).contains("the kernel keyring is lost at reboot; durable choices"), "{}", stderr(&out));
    let doctor = stdout(&env.run(&["doctor", "-p", &name]));
    assert!(doctor.contains(&format!("! {name}: its client secret is in the kernel keyring")), "{doctor}");
    let status = stdout(&env.run(&["status"]));
    assert!(status.contains(&format!("! {name}: its secret is in the kernel keyring")), "{status}");
    let rows: Value = serde_json::from_str(&stdout(&env.run(&["status", "--output", "json"]))).unwrap();
    assert_eq!(rows[0]["volatileSecret"], true);
    assert_ok(&env.run(&["config", "delete", "-p", &name]));
}

#[test]
fn profile_names_get_context_near_misses_and_completion() {
    let App { emu, mut env, .. } = App::new(&[]);
    for name in ["production-service", "staging"] {
        assert_ok(&env.run(&create_args(name, TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"])));
    }
    let out = env.run(&["get-token", "-p", "Production-Service", "--scope", GRAPH]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("hint: did you mean 'production-service'?"), "{}", stderr(&out));
    env.set("ENTRATOOL_PROFILE", "stagign");
    let out = env.run(&["get-token", "--scope", GRAPH]);
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(err.contains("no profile named 'stagign' (named by $ENTRATOOL_PROFILE)"), "{err}");
    assert!(err.contains("did you mean 'staging'?"), "{err}");
    env.envs.retain(|(k, _)| k != "ENTRATOOL_PROFILE");
    assert_eq!(stdout(&env.run(&["config", "list", "--names"])), "production-service\nstaging\n");
    if !require_tool("bash") {
        return;
    }
    // bash, as a shell completing `entratool get-token -p st<TAB>` would.
    let script = stdout(&env.run(&["completions", "bash"]));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_entratool")).parent().unwrap().display().to_string();
    let probe = format!(
        "{script}\nCOMP_WORDS=(entratool get-token -p st); COMP_CWORD=3; _entratool_profiles; echo \"${{COMPREPLY[@]}}\""
    );
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    let out = env.program("bash").args(["-c", &probe]).env("PATH", path).output().unwrap();
    assert_eq!(stdout(&out).trim(), "staging", "{}", stderr(&out));
}

#[test]
fn token_decode_takes_every_get_token_output() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &[]);
    for format in ["token", "json", "az", "azd", "exec-credential", "header"] {
        let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH, "--output", format]);
        assert_ok(&out);
        let decoded = env.run_stdin(&["token", "decode", "--output", "json"], &stdout(&out));
        assert_ok(&decoded);
        let claims: Value = serde_json::from_str(&stdout(&decoded)).unwrap();
        assert_eq!(claims["appid"], CLIENT, "{format}");
    }
}

#[test]
fn install_help_names_azd() {
    let out = Env::new().run(&["install", "--help"]);
    assert!(stdout(&out).contains("--azd"), "{}", stdout(&out));
}
