//! Never say done when nothing was (#25): success only for what stands,
//! the exact change before it is made, and what a new user tripped on. Each
//! test failed on the code before it; the real git is driven where the item
//! is git's file.

use std::path::Path;

use crate::clients::{one_spn_user, world};
use crate::common::*;
use serde_json::Value;

/// Removes the `*.key.pem` files the harness leaves beside the certificates it makes.
fn remove_loose_keys(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().ends_with(".key.pem") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

fn cache_files(env: &Env) -> usize {
    std::fs::read_dir(env.cache_dir()).map(|d| d.flatten().count()).unwrap_or(0)
}

#[test]
fn config_edit_without_flags_or_a_terminal_changes_nothing_and_names_the_flags() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("p", &pfx, &emu, &["--match", "https://dev.azure.com/contoso"]);
    assert_ok(&env.run(&["get-token", "-p", "p"]));
    let profiles = env.config_dir().join("profiles.json");
    let before = std::fs::read(&profiles).unwrap();
    let cached = cache_files(&env);
    assert!(cached > 0);
    let out = env.run(&["config", "edit", "-p", "p"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("got nothing to change") && stderr(&out).contains("--certificate PATH"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nothing was changed") && !stdout(&out).contains("✓"), "{}", both(&out));
    assert_eq!(std::fs::read(&profiles).unwrap(), before);
    assert_eq!(cache_files(&env), cached, "the cached tokens were dropped");
    // A change to the same value changes nothing, and says so.
    let out = env.run(&["config", "edit", "-p", "p", "--scope", GRAPH]);
    assert_ok(&out);
    assert!(stdout(&out).contains("already has these settings: nothing changed"), "{}", stdout(&out));
    assert_eq!(cache_files(&env), cached);
    // Match entries can be removed, and the authority cleared.
    let out = env.run(&["config", "edit", "-p", "p", "--remove-match", "https://nowhere.example"]);
    assert_exit(&out, 2);
    assert_ok(&env.run(&["config", "edit", "-p", "p", "--remove-match", "https://dev.azure.com/contoso"]));
    assert_ok(&env.run(&["config", "edit", "-p", "p", "--clear-authority-host"]));
    let shown: Value =
        serde_json::from_str(&stdout(&env.run(&["config", "show", "-p", "p", "--output", "json"]))).unwrap();
    assert!(shown.get("match").is_none() && shown.get("authorityHost").is_none(), "{shown}");
}

/// The original tool's "Automated Rotation Script", as its page prints it:
/// it used to report a rotation that never happened.
#[test]
fn the_seeds_automated_rotation_script_fails_loudly_at_its_manual_step() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("production-service", &pfx, &emu, &[]);
    let script = format!(
        r#"#!/bin/bash
set -euo pipefail
PROFILE="production-service"
NEW_CERT="{new}"
CERT_PASSWORD="YourPassword"
# Backup current profile
entratool config export -p "$PROFILE" -o "backup-$PROFILE.json"
# Update certificate path (manual edit required for password)
echo "Updating profile with new certificate..."
entratool config edit -p "$PROFILE"
# Manual step: Select Certificate Path, enter new path and password
# Test
echo "Testing new certificate..."
if entratool get-token -p "$PROFILE" --silent > /dev/null; then
echo "✓ Certificate rotation successful"
else
echo "✗ Certificate rotation failed"
exit 1
fi
"#,
        new = env.path().join("new-certificate.pfx").display()
    );
    let path = env.path().join("rotate.sh");
    std::fs::write(&path, script).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_entratool")).parent().unwrap().display().to_string();
    let out = env
        .program("bash")
        .arg(&path)
        .current_dir(env.path())
        .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stdout(&out).contains("Updating profile with new certificate...") && !stdout(&out).contains("successful"));
    assert!(
        stderr(&out).contains("error: config edit -p production-service got nothing to change"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn doctor_reports_entras_refusal_of_a_certificate_that_opens() {
    let App { emu, mut env, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let stranger = make_cert(env.path(), "stranger", -1, 365, None, false);
    let pfx = env.path().join("stranger.pfx");
    make_pfx(&stranger, &pfx, PASSWORD, &[], None);
    // The keys the PFXs were made from go, as they should (doctor flags them otherwise).
    remove_loose_keys(env.path());
    env.create_cert_profile("p", &pfx, &emu, &[]);
    let out = env.run(&["doctor", "-p", "p"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("✓ p: certificate") && text.contains("opens"), "{text}");
    assert!(
        text.contains("✗ p: no token for https://graph.microsoft.com/.default") && text.contains("AADSTS700027"),
        "{text}"
    );
    assert!(text.contains("SHA-1 thumbprint is"), "the hint: {text}");
}

#[test]
fn a_conversion_whose_token_check_fails_announces_no_profile() {
    let mut w = world();
    w.env.set("ENTRATOOL_KEYRING", "keyutils");
    w.emu.register(&[], &["the-right-secret"]);
    let kc = w.env.path().join("kubeconfig");
    std::fs::write(&kc, one_spn_user(&w, "wrong-user", "a-wrong-secret", &w.emu.url)).unwrap();
    let out = w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kc.to_str().unwrap()]);
    assert_exit(&out, 5);
    assert!(!both(&out).contains("created successfully"), "announced what did not stand:\n{}", both(&out));
    assert!(both(&out).contains("user 'wrong-user' is left as it is"), "{}", both(&out));
    let list = stdout(&w.env.run(&["config", "list", "--names"]));
    assert!(!list.contains("wrong-user"), "{list}");
}

#[test]
fn a_secret_kept_in_the_kubeconfig_is_named_by_config_show_and_get_token() {
    let mut w = world();
    w.env.set("ENTRATOOL_KEYRING", "keyutils");
    w.emu.register(&[], &["kube-secret"]);
    let kc = w.env.path().join("kubeconfig");
    std::fs::write(&kc, one_spn_user(&w, "kept-user", "kube-secret", &w.emu.url)).unwrap();
    assert_ok(&w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kc.to_str().unwrap()]));
    let show = stdout(&w.env.run(&["config", "show", "-p", "kept-user"]));
    assert!(show.contains(&format!("client secret in the kubeconfig {}", kc.display())), "{show}");
    assert!(!show.contains("in the keyring") && !show.contains("kernel keyring)"), "{show}");
    let out = w.env.run(&["get-token", "-p", "kept-user"]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("it is kept in the kubeconfig") && stderr(&out).contains("hint: run it through kubectl"),
        "{}",
        stderr(&out)
    );
    // With the secret given for the run, as kubectl passes it, it works.
    let out =
        w.env.cmd(&["get-token", "-p", "kept-user"]).env("ENTRATOOL_CLIENT_SECRET", "kube-secret").output().unwrap();
    assert_ok(&out);
}

/// The files of a folder named like backups of `name`.
fn backups_of(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{name}.entratool-backup-")))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[test]
fn setup_git_backs_up_first_prints_commands_that_paste_and_says_when_nothing_changes() {
    if !require_tool("git") {
        return;
    }
    let w = world();
    w.profile("dev", &[]);
    let home = w.env.path();
    let global = home.join(".gitconfig");
    let original = "[user]\n\tname = Someone\n";
    std::fs::write(&global, original).unwrap();
    let url = "https://dev.azure.com/contoso";
    // The dry run's commands, pasted into a shell against a copy of the home folder, do what the
    // real run does, to the byte.
    let out = w.env.run(&["setup", "git", "-p", "dev", "--url", url, "--dry-run"]);
    assert_ok(&out);
    let commands: Vec<String> = stdout(&out)
        .lines()
        .skip_while(|l| *l != "would run:")
        .skip(1)
        .take_while(|l| l.starts_with("  git config"))
        .map(|l| l.trim().to_string())
        .collect();
    assert!(commands.len() >= 4 && commands.iter().all(|c| c.contains("--global")), "{commands:?}");
    assert!(stdout(&out).contains("+\thelper = ") && stdout(&out).contains("(dry run"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&global).unwrap(), original);
    let copy = home.join("pasted");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join(".gitconfig"), original).unwrap();
    let pasted = w.env.program("sh").arg("-c").arg(commands.join("\n")).env("HOME", &copy).output().unwrap();
    assert!(pasted.status.success() || pasted.status.code() == Some(5), "{}", stderr(&pasted));
    assert_ok(&w.env.run(&["setup", "git", "-p", "dev", "--url", url]));
    assert_eq!(std::fs::read(copy.join(".gitconfig")).unwrap(), std::fs::read(&global).unwrap());
    // A backup of the exact bytes came first.
    let found = backups_of(home, ".gitconfig");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(std::fs::read_to_string(&found[0]).unwrap(), original);
    // A rerun changes nothing, says so, and writes no backup.
    let out = w.env.run(&["setup", "git", "-p", "dev", "--url", url]);
    assert_ok(&out);
    assert!(stdout(&out).contains("already: nothing changed"), "{}", stdout(&out));
    assert_eq!(backups_of(home, ".gitconfig").len(), 1);
    // --file: the same rule.
    let file = home.join("team.gitconfig");
    std::fs::write(&file, "[core]\n\tautocrlf = false\n").unwrap();
    assert_ok(&w.env.run(&["setup", "git", "-p", "dev", "--url", url, "--file", file.to_str().unwrap()]));
    let found = backups_of(home, "team.gitconfig");
    assert_eq!(found.len(), 1);
    assert_eq!(std::fs::read_to_string(&found[0]).unwrap(), "[core]\n\tautocrlf = false\n");
    let helper = w.tool(
        "git",
        &["config", "--file", file.to_str().unwrap(), "--get-all", &format!("credential.{url}.helper")],
        home,
    );
    assert!(stdout(&helper).contains("git-credential -p dev"), "{}", stdout(&helper));
}

#[test]
fn setup_docker_keeps_no_lock_in_dockers_folder_and_a_dry_run_writes_nothing_anywhere() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("acr", &pfx, &emu, &[]);
    let docker = env.path().join("docker");
    env.set("DOCKER_CONFIG", docker.to_str().unwrap());
    std::fs::remove_dir_all(env.cache_dir()).ok();
    let out = env.run(&["setup", "docker", "-p", "acr", "--registry", "contoso.azurecr.io", "--dry-run"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("+\t\t\"contoso.azurecr.io\": \"entratool\""), "{}", stdout(&out));
    assert!(!docker.exists(), "a dry run made docker's folder");
    assert!(!env.cache_dir().exists(), "a dry run wrote into entratool's cache folder");
    assert_ok(&env.run(&["setup", "docker", "-p", "acr", "--registry", "contoso.azurecr.io"]));
    let names: Vec<String> =
        std::fs::read_dir(&docker).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["config.json".to_string()], "only docker's own file stays in its folder");
    let out = env.run(&["setup", "docker", "-p", "acr", "--registry", "contoso.azurecr.io"]);
    assert!(stdout(&out).contains("already: nothing changed"), "{}", stdout(&out));
}

#[test]
fn another_certificate_is_tried_with_its_own_password_never_the_profiles() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = format!("try-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let pfx_s = pfx.display().to_string();
    let create =
        create_args(&name, TENANT, &["--authority-host", &emu.url, "--certificate", &pfx_s, "--password-stdin"]);
    assert_ok(&env.run_stdin(&create, PASSWORD));
    let new = make_cert(env.path(), "new", -1, 365, None, false);
    let new_pfx = env.path().join("new.pfx");
    make_pfx(&new, &new_pfx, "Another-Pass1", &[], None);
    emu.register(&[&new.cert_pem], &[]);
    let new_s = new_pfx.display().to_string();
    let out = env.run(&["get-token", "-p", &name, "--certificate", &new_s]);
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("none was given for it") && err.contains("never tried on another file"), "{err}");
    assert!(!err.contains("config edit"), "the hint must not tell to overwrite the live profile's password: {err}");
    let out = env.run_stdin(&["get-token", "-p", &name, "--certificate", &new_s, "--password-stdin"], "Wrong-Pass");
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("the password came from --password-stdin"), "{}", stderr(&out));
    let out = env.run_stdin(&["get-token", "-p", &name, "--certificate", &new_s, "--password-stdin"], "Another-Pass1");
    assert_ok(&out);
    // The profile and its password are as they were.
    assert_ok(&env.run(&["get-token", "-p", &name, "--force-refresh"]));
    assert_ok(&env.run(&["config", "delete", "-p", &name]));
}

#[test]
fn cert_info_shows_public_certificates_and_takes_a_password_on_stdin() {
    let App { env, cert, pfx, .. } = App::new(&[]);
    let thumb: String =
        cert.cert.digest(openssl::hash::MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
    let der = env.path().join("app.cer");
    std::fs::write(&der, cert.cert.to_der().unwrap()).unwrap();
    for file in [cert.cert_pem.clone(), der] {
        let out = env.run(&["cert", "info", file.to_str().unwrap(), "--output", "json"]);
        assert_ok(&out);
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["thumbprint"], thumb.as_str(), "{}", file.display());
    }
    let out = env.run(&["cert", "info", pfx.to_str().unwrap()]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("hint: pass it with --password-stdin"), "{}", stderr(&out));
    let out = env.run_stdin(&["cert", "info", pfx.to_str().unwrap(), "--password-stdin"], PASSWORD);
    assert_ok(&out);
    assert!(stdout(&out).contains(&thumb));
}

#[test]
fn cert_check_exits_one_for_any_problem_with_a_line_for_each() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("fine", &pfx, &emu, &[]);
    let gone = env.path().join("gone.pfx");
    std::fs::copy(&pfx, &gone).unwrap();
    env.create_cert_profile("gone", &gone, &emu, &[]);
    std::fs::remove_file(&gone).unwrap();
    let out = env.run(&["cert", "check"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("✓ fine: certificate"), "{text}");
    assert!(text.contains(&format!("✗ gone: cannot be checked: Certificate not found: {}", gone.display())), "{text}");
}

#[test]
fn doctor_flags_a_private_key_other_users_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    remove_loose_keys(env.path());
    env.create_cert_profile("p", &pfx, &emu, &[]);
    std::fs::set_permissions(&pfx, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["doctor", "-p", "p"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("other users may read it (mode 644)") && stdout(&out).contains("chmod 600"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_man_page_named_is_written() {
    let env = Env::new();
    let dir = env.path().join("man");
    assert_ok(&env.run(&["manpages", dir.to_str().unwrap()]));
    let mut named = std::collections::BTreeSet::new();
    for page in std::fs::read_dir(&dir).unwrap().flatten() {
        // roff escapes the hyphens of names: `entratool\-config\-edit(1)`.
        let text = std::fs::read_to_string(page.path()).unwrap().replace("\\-", "-");
        for (i, _) in text.match_indices("entratool-") {
            let rest = &text[i..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '\\')).unwrap_or(rest.len());
            if rest[end..].starts_with("(1)") {
                named.insert(rest[..end].replace('\\', ""));
            }
        }
    }
    assert!(named.contains("entratool-config-edit"), "{named:?}");
    for page in &named {
        assert!(dir.join(format!("{page}.1")).exists(), "{page}(1) is named but not written");
    }
}

#[test]
fn zsh_and_fish_complete_profile_names() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    env.create_cert_profile("staging", &pfx, &emu, &[]);
    let bin = Path::new(env!("CARGO_BIN_EXE_entratool")).parent().unwrap().display().to_string();
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    if require_tool("fish") {
        let script = env.path().join("entratool.fish");
        std::fs::write(&script, stdout(&env.run(&["completions", "fish"]))).unwrap();
        let probe = format!("source {}; complete -C 'entratool get-token -p st'", script.display());
        let out = env.program("fish").args(["--no-config", "-c", &probe]).env("PATH", &path).output().unwrap();
        assert!(stdout(&out).lines().any(|l| l.trim() == "staging"), "{}{}", stdout(&out), stderr(&out));
    }
    if require_tool("zsh") {
        let script = env.path().join("_entratool");
        std::fs::write(&script, stdout(&env.run(&["completions", "zsh"]))).unwrap();
        let check = env.program("zsh").args(["-n", script.to_str().unwrap()]).output().unwrap();
        assert_ok(&check);
        // Defined as when autoloaded, the helper lists the profiles `-p` completes with.
        let probe = format!("autoload -U compinit; compinit -u; source {}; _entratool_profile_names", script.display());
        let out = env.program("zsh").args(["-f", "-c", &probe]).env("PATH", &path).output().unwrap();
        assert_eq!(stdout(&out).trim(), "staging", "{}", stderr(&out));
        // Every -p/--profile value is completed by it, none left to files.
        let text = std::fs::read_to_string(&script).unwrap();
        let profile_args: Vec<&str> =
            text.lines().filter(|l| l.contains("'-p+[") || l.contains("'--profile=[")).collect();
        assert!(!profile_args.is_empty());
        for line in profile_args {
            assert!(line.contains(":NAME:_entratool_profiles'"), "{line}");
        }
    }
}

#[test]
fn the_emulator_adds_lists_and_removes_an_apps_certificates() {
    let App { emu, env, cert, .. } = App::new(&[]);
    let second = make_cert(env.path(), "second", -1, 30, None, false);
    emu.register(&[&second.cert_pem], &[]);
    let list = || -> Vec<Value> {
        let text = reqwest::blocking::get(format!("{}/_emulator/clients/{CLIENT}/certificates", emu.url))
            .unwrap()
            .text()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let thumb = |c: &TestCert| -> String {
        c.cert.digest(openssl::hash::MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02X}")).collect()
    };
    let listed: Vec<String> = list().iter().map(|k| k["thumbprint"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, vec![thumb(&cert), thumb(&second)], "an upload adds, as the portal's does");
    emu.post(
        &format!("/_emulator/clients/{CLIENT}/certificates/remove"),
        serde_json::json!({"thumbprint": thumb(&cert)}),
    );
    let listed: Vec<String> = list().iter().map(|k| k["thumbprint"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, vec![thumb(&second)]);
    assert!(list()[0]["keyId"].as_str().is_some_and(|k| k.len() == 36));
}

#[test]
fn messages_have_one_shape_wherever_they_are_printed() {
    let App { emu, mut env, .. } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    // A certificate that expires within 30 days: the plain CLI's warning.
    let soon = make_cert(env.path(), "soon", -1, 10, None, false);
    let pfx = env.path().join("soon.pfx");
    make_pfx(&soon, &pfx, PASSWORD, &[], None);
    emu.register(&[&soon.cert_pem], &[]);
    env.create_cert_profile("p", &pfx, &emu, &["--match", "https://dev.azure.com/contoso"]);
    let out = env.run(&["get-token", "-p", "p"]);
    assert_ok(&out);
    assert!(
        stderr(&out).starts_with("warning: certificate") && stderr(&out).contains("expires in"),
        "{}",
        stderr(&out)
    );
    // git's helper: every line led by who speaks.
    let request = "protocol=https\nhost=dev.azure.com\npath=contoso/repo\n\n";
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", "wrong");
    let out = env.run_stdin(&["git-credential", "get"], request);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.lines().all(|l| l.starts_with("entratool: ")), "{err}");
    assert!(err.contains("entratool: error: ") && err.contains("entratool: hint: "), "{err}");
    // docker's: the first line on stdout, escaped, then the same on stderr.
    let out = env.run_stdin(&["docker-credential", "frobnicate"], "");
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "unknown operation 'frobnicate'\n");
    assert!(stderr(&out).starts_with("entratool: error: unknown operation"), "{}", stderr(&out));
}
