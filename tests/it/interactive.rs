//! A person at a terminal, through a pseudo-terminal: the `config create`
//! wizard with its re-asks and hidden answers, Ctrl-C and Ctrl-D leaving
//! files alone, the `config edit` menu, and the first-use password prompt.

use crate::common::*;
use rexpect::session::{PtySession, spawn_command};

fn pty(env: &Env, args: &[&str]) -> PtySession {
    let mut cmd = env.program(env!("CARGO_BIN_EXE_entratool"));
    cmd.args(args);
    spawn_command(cmd, Some(15_000)).expect("spawn in a pty")
}

struct Kit {
    emu: Emulator,
    env: Env,
    pfx: std::path::PathBuf,
}

fn kit() -> Kit {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    env.set("AZURE_AUTHORITY_HOST", &emu.url);
    Kit { emu, env, pfx }
}

/// Waits for `expect` on the terminal, keeps what was shown, types `answer`.
fn reply(s: &mut PtySession, transcript: &mut String, expect: &str, answer: &str) {
    *transcript += &s.exp_string(expect).unwrap_or_else(|e| panic!("waiting for {expect:?}: {e}\n{transcript}"));
    *transcript += expect;
    s.send_line(answer).unwrap();
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

#[test]
fn wizard_asks_checks_each_answer_and_hides_the_password() {
    let k = kit();
    let name = unique("wiz");
    let mut s = pty(&k.env, &["config", "create"]);
    let mut transcript = String::new();
    let mut step = |s: &mut PtySession, expect: &str, answer: &str| reply(s, &mut transcript, expect, answer);
    step(&mut s, "Profile name: ", "bad name!");
    step(&mut s, "Profile name: ", &name);
    step(&mut s, "Client ID: ", "not-a-guid");
    step(&mut s, "Client ID: ", CLIENT);
    step(&mut s, "Tenant ID: ", TENANT);
    step(&mut s, "Select: ", "2");
    step(&mut s, "Certificate path: ", "/nonexistent/certificate.pfx");
    step(&mut s, "Certificate path: ", k.pfx.to_str().unwrap());
    step(&mut s, "Certificate password: ", "Wrong-Typed-Secret");
    step(&mut s, "Certificate password: ", PASSWORD);
    step(&mut s, "Scope [https://graph.microsoft.com/.default]: ", "");
    transcript += &s.exp_string(&format!("Profile '{name}' created successfully")).unwrap();
    transcript += &s.exp_eof().unwrap();
    for shown in [
        "invalid profile name",
        "invalid client ID",
        "Certificate not found: /nonexistent/certificate.pfx",
        "Invalid certificate password",
    ] {
        assert!(transcript.contains(shown), "{shown} missing:\n{transcript}");
    }
    assert!(!transcript.contains(PASSWORD) && !transcript.contains("Wrong-Typed-Secret"), "echoed:\n{transcript}");
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(&k.env.run(&["config", "show", "-p", &name, "--output", "json"]))).unwrap();
    assert_eq!(shown["scope"], "https://graph.microsoft.com/.default");
    assert_eq!(shown["certificatePath"], k.pfx.to_str().unwrap());
    // The password went to the keyring: a token with no environment secret.
    let out = k.env.run(&["get-token", "-p", &name]);
    assert_ok(&out);
    assert_eq!(jwt_part(&stdout(&out), 1)["appid"], CLIENT);
    assert_ok(&k.env.run(&["config", "delete", "-p", &name]));
    let _ = &k.emu;
}

#[test]
fn ctrl_c_and_ctrl_d_leave_profiles_json_untouched() {
    let mut k = kit();
    k.env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let env = &k.env;
    env.create_cert_profile("keep", &k.pfx, &k.emu, &[]);
    let path = env.config_dir().join("profiles.json");
    let before = std::fs::read(&path).unwrap();
    for control in ['c', 'd'] {
        let mut s = pty(env, &["config", "create"]);
        s.exp_string("Profile name: ").unwrap();
        s.send_line("half-done").unwrap();
        s.exp_string("Client ID: ").unwrap();
        s.send_control(control).unwrap();
        let rest = s.exp_eof().unwrap();
        if control == 'd' {
            assert!(rest.contains("nothing was saved"), "{rest}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "Ctrl-{control} changed profiles.json");
    }
}

#[test]
fn edit_menu_changes_the_chosen_field() {
    let k = kit();
    let mut env = Env::new();
    env.envs = k.env.envs.clone();
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("menu", &k.pfx, &k.emu, &[]);
    let mut s = pty(&env, &["config", "edit", "-p", "menu"]);
    // The fields of a certificate profile, each with its current value; no client secret.
    let menu = s.exp_string("9. Save and exit").unwrap();
    assert!(menu.contains(&format!("1. Certificate path [{}]", k.pfx.display())), "{menu}");
    assert!(menu.contains("3. Scope [https://graph.microsoft.com/.default]"), "{menu}");
    assert!(menu.contains(&format!("4. Client ID [{CLIENT}]")) && !menu.contains("Client secret"), "{menu}");
    s.exp_string("Select: ").unwrap();
    s.send_line("10").unwrap();
    s.exp_string("type a number from 1 to 9").unwrap();
    s.exp_string("Select: ").unwrap();
    s.send_line("3").unwrap();
    s.exp_string("Scope: ").unwrap();
    s.send_line("https://vault.azure.net/.default").unwrap();
    s.exp_string("3. Scope [https://vault.azure.net/.default]").unwrap();
    s.exp_string("Select: ").unwrap();
    s.send_line("9").unwrap();
    s.exp_string("Profile 'menu' updated successfully").unwrap();
    s.exp_eof().unwrap();
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(&env.run(&["config", "show", "-p", "menu", "--output", "json"]))).unwrap();
    assert_eq!(shown["scope"], "https://vault.azure.net/.default");
    assert_eq!(shown["clientId"], CLIENT);
}

#[test]
fn first_use_prompts_once_then_never_again() {
    let k = kit();
    let name = unique("first");
    let mut env = Env::new();
    env.envs = k.env.envs.clone();
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile(&name, &k.pfx, &k.emu, &[]); // checked with the env password, not stored
    env.envs.retain(|(key, _)| key != "ENTRATOOL_CERTIFICATE_PASSWORD");
    // Without a terminal: no prompt, exit 4.
    assert_exit(&env.run(&["get-token", "-p", &name]), 4);
    let mut s = pty(&env, &["get-token", "-p", &name]);
    s.exp_string("Certificate password: ").unwrap();
    s.send_line(PASSWORD).unwrap();
    let out = s.exp_eof().unwrap();
    assert!(out.contains("eyJ"), "{out}");
    assert!(!out.contains(PASSWORD));
    // Stored after checking: the next fetch needs no prompt and no terminal.
    let out = env.run(&["get-token", "-p", &name, "--force-refresh"]);
    assert_ok(&out);
    assert_ok(&env.run(&["config", "delete", "-p", &name]));
}

#[test]
fn exec_plugin_never_prompts_when_kubectl_says_not_interactive() {
    let k = kit();
    let name = unique("kube");
    let mut env = Env::new();
    env.envs = k.env.envs.clone();
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile(&name, &k.pfx, &k.emu, &[]);
    env.envs.retain(|(key, _)| key != "ENTRATOOL_CERTIFICATE_PASSWORD");
    env.set(
        "KUBERNETES_EXEC_INFO",
        r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
    );
    let mut s = pty(&env, &["get-token", "-p", &name, "--output", "exec-credential"]);
    let out = s.exp_eof().unwrap();
    assert!(!out.contains("Certificate password:"), "prompted:\n{out}");
    assert!(out.contains("ENTRATOOL_CERTIFICATE_PASSWORD"), "{out}");
}

#[test]
fn a_typed_client_secret_is_stored_only_once_entra_accepts_it() {
    let App { emu, mut env, .. } = App::new(&["Typed-S3cret"]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = unique("typed");
    let file = env.path().join("p.json");
    let profile = serde_json::json!({"name": name, "clientId": CLIENT, "tenantId": TENANT, "useCertificate": false,
        "authorityHost": emu.url, "scope": GRAPH});
    std::fs::write(&file, profile.to_string()).unwrap();
    assert_ok(&env.run(&["config", "import", "-i", file.to_str().unwrap()]));
    let mut s = pty(&env, &["get-token", "-p", &name]);
    s.exp_string("Client secret: ").unwrap();
    s.send_line("Not-The-Secret").unwrap();
    let out = s.exp_eof().unwrap();
    assert!(out.contains("AADSTS7000215"), "{out}");
    assert_exit(&env.run(&["get-token", "-p", &name]), 4); // the rejected one was not stored
    let mut s = pty(&env, &["get-token", "-p", &name]);
    s.exp_string("Client secret: ").unwrap();
    s.send_line("Typed-S3cret").unwrap();
    assert!(s.exp_eof().unwrap().contains("eyJ"));
    assert_ok(&env.run(&["get-token", "-p", &name, "--force-refresh"]));
    assert_ok(&env.run(&["config", "delete", "-p", &name]));
}

#[test]
fn wizard_offers_the_secretless_methods_after_the_seeds_two() {
    let env = Env::new();
    let mut s = pty(&env, &["config", "create"]);
    let mut transcript = String::new();
    let mut step = |s: &mut PtySession, expect: &str, answer: &str| reply(s, &mut transcript, expect, answer);
    step(&mut s, "Profile name: ", "mi");
    step(&mut s, "Client ID: ", CLIENT);
    step(&mut s, "Tenant ID: ", TENANT);
    step(&mut s, "Select: ", "8");
    step(&mut s, "Select: ", "6");
    step(&mut s, "Managed identity client ID [system-assigned]: ", "");
    step(&mut s, "Scope [https://graph.microsoft.com/.default]: ", "https://vault.azure.net/.default");
    transcript += &s.exp_string("Profile 'mi' created successfully").unwrap();
    let menu = "1. Client Secret\r\n2. Certificate\r\n3. Workload identity (federated token file)\r\n4. GitHub Actions \
                OIDC\r\n5. Azure Pipelines OIDC\r\n6. Managed identity\r\n7. Managed identity as the app's federated \
                credential";
    assert!(transcript.contains(menu), "{transcript}");
    assert!(transcript.contains("type a number from 1 to 7"), "{transcript}");
    let show = stdout(&env.run(&["config", "show", "-p", "mi"]));
    assert!(show.contains("managedIdentity") && show.contains("system-assigned"), "{show}");
}
