//! Hostile files and inputs (docs/reference.md: files, git and docker helpers): special files are errors,
//! not hangs; symlinks are never followed into lock or cache files, and a
//! linked profiles.json stays linked; killed writes leave nothing behind;
//! duplicate profile names and non-UTF-8 exec info are refused.

use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};

/// A secret profile `p`; the secret comes from ENTRATOOL_CLIENT_SECRET.
fn secret_profile(env: &Env, emu: &Emulator) {
    assert_ok(&env.run(&create_args("p", TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"])));
}

fn quick(env: &Env, args: &[&str]) -> std::process::Output {
    let started = Instant::now();
    let out = env.run(args);
    assert!(started.elapsed() < Duration::from_secs(10), "{args:?} took {:?}", started.elapsed());
    out
}

fn mkfifo(path: &std::path::Path) {
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn special_files_are_errors_not_hangs() {
    let App { emu, mut env, .. } = App::new(&["the-secret"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "the-secret");
    secret_profile(&env, &emu);
    let profiles = env.config_dir().join("profiles.json");
    let saved = std::fs::read(&profiles).unwrap();
    // profiles.json as a FIFO: every command, and both helpers, fail fast.
    std::fs::remove_file(&profiles).unwrap();
    mkfifo(&profiles);
    let out = quick(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("is not a regular file"), "{}", stderr(&out));
    let git = env.run_stdin(&["git-credential", "get"], "protocol=https\nhost=dev.azure.com\npath=x\n\n");
    assert_exit(&git, 1);
    let docker = env.run_stdin(&["docker-credential", "get"], "contoso.azurecr.io");
    assert_exit(&docker, 1);
    // linked to /dev/zero: refused, not read.
    std::fs::remove_file(&profiles).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &profiles).unwrap();
    assert_exit(&quick(&env, &["config", "list"]), 3);
    let out = quick(&env, &["config", "import", "-i", "/dev/zero"]);
    assert_exit(&out, 3);
    std::fs::remove_file(&profiles).unwrap();
    std::fs::write(&profiles, &saved).unwrap();
    // A cache entry that is a FIFO is a miss, replaced by the next write.
    token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    let entry = only_entry(&env);
    std::fs::remove_file(&entry).unwrap();
    mkfifo(&entry);
    let out = quick(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    assert_ok(&out);
    assert!(std::fs::symlink_metadata(&entry).unwrap().is_file(), "the FIFO was replaced by an entry");
    assert_eq!(emu.token_requests(), 2);
}

fn token_file_of(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert_ok(&out);
    stdout(&out)
}

fn only_entry(env: &Env) -> std::path::PathBuf {
    let mut entries: Vec<_> = std::fs::read_dir(env.cache_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.remove(0)
}

#[test]
fn symlinks_are_not_followed_into_lock_or_cache_files_and_a_linked_profiles_json_stays_linked() {
    let App { emu, mut env, .. } = App::new(&["the-secret"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "the-secret");
    // A dotfile manager keeps profiles.json elsewhere and links it.
    let dotfiles = env.path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(dotfiles.join("profiles.json"), "{\"profiles\": []}").unwrap();
    let link = env.config_dir().join("profiles.json");
    std::os::unix::fs::symlink(dotfiles.join("profiles.json"), &link).unwrap();
    secret_profile(&env, &emu);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
    let target: Value = serde_json::from_slice(&std::fs::read(dotfiles.join("profiles.json")).unwrap()).unwrap();
    assert_eq!(target["profiles"][0]["name"], "p", "the link's target was written");
    // A dangling link where a lock file goes: removed, not followed (its target is not created).
    token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    let entry = only_entry(&env);
    let lock = entry.with_extension("lock");
    std::fs::remove_file(&lock).ok();
    let victim = env.path().join("victim");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    // A cache entry linked to a file elsewhere: never read.
    let elsewhere = env.path().join("planted.json");
    std::fs::copy(&entry, &elsewhere).unwrap();
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
    let before = emu.token_requests();
    assert_ok(&env.run(&["get-token", "-p", "p", "--scope", GRAPH]));
    assert_eq!(emu.token_requests(), before + 1, "the linked entry was not served");
    assert!(!victim.exists(), "the lock's link target was created");
    assert!(std::fs::symlink_metadata(&entry).unwrap().is_file());
}

#[test]
fn temporary_files_of_killed_writes_are_removed() {
    let App { emu, mut env, .. } = App::new(&["the-secret"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "the-secret");
    secret_profile(&env, &emu);
    token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    // What a write killed between create and rename leaves: a token in a temporary file.
    let stale = env.cache_dir().join(".entratool-killed.tmp");
    std::fs::write(&stale, "{\"accessToken\": \"a live token\"}").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
    assert_ok(&env.run(&["cache", "clear"]));
    assert!(!stale.exists(), "cache clear removes it");
    std::fs::write(&stale, "x").unwrap();
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
    token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    assert!(!stale.exists(), "the next write in the folder removes it");
}

#[test]
fn duplicate_names_and_non_utf8_exec_info_are_refused() {
    let env = Env::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let p = json!({"name": "twin", "clientId": CLIENT, "tenantId": TENANT, "useCertificate": false});
    std::fs::write(env.config_dir().join("profiles.json"), json!({"profiles": [p, p]}).to_string()).unwrap();
    let out = env.run(&["get-token", "-p", "twin", "--scope", GRAPH]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("more than one profile named twin"), "{}", stderr(&out));
    let mut cmd = env.cmd(&["get-token", "--scope", GRAPH, "--output", "exec-credential"]);
    cmd.env("KUBERNETES_EXEC_INFO", std::ffi::OsStr::from_bytes(b"{\"apiVersion\":\"\xff\"}"));
    let out = cmd.output().unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("KUBERNETES_EXEC_INFO is not UTF-8"), "{}", stderr(&out));
}

fn chown_nobody(path: &std::path::Path) {
    let st = std::process::Command::new("chown").args(["-h", "nobody"]).arg(path).status().unwrap();
    assert!(st.success());
}

#[test]
fn files_of_another_user_or_in_folders_others_can_write_are_not_trusted() {
    if !is_root() {
        return;
    }
    let App { emu, mut env, .. } = App::new(&["the-secret"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "the-secret");
    secret_profile(&env, &emu);
    let planted = token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    // A cache entry of user nobody is a miss, and replaced by one of ours.
    let entry = only_entry(&env);
    chown_nobody(&entry);
    let again = token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH]);
    assert_ne!(again, planted, "the foreign entry was not served");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&entry).unwrap().uid(), 0, "replaced by root's own");
    // A lock file of nobody's is replaced too.
    chown_nobody(&entry.with_extension("lock"));
    token_file_of(&env, &["get-token", "-p", "p", "--scope", GRAPH, "--force-refresh"]);
    // profiles.json of another user: refused with the fix.
    let profiles = env.config_dir().join("profiles.json");
    chown_nobody(&profiles);
    let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("owned by another user") && stderr(&out).contains("hint: chown 0 "),
        "{}",
        stderr(&out)
    );
    let st = std::process::Command::new("chown").arg("root").arg(&profiles).status().unwrap();
    assert!(st.success());
    // Folders others can write: refused, config and cache alike.
    use std::os::unix::fs::PermissionsExt;
    for dir in [env.config_dir(), env.cache_dir()] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
        assert_exit(&out, 3);
        assert!(stderr(&out).contains(&format!("hint: chmod 700 {}", dir.display())), "{}", stderr(&out));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    assert_ok(&env.run(&["get-token", "-p", "p", "--scope", GRAPH]));
}

#[test]
fn other_tools_files_that_are_special_or_missing_are_named_errors_not_hangs() {
    let env = Env::new();
    assert_ok(&env.run(&create_args("p", TENANT, &["--auth-method", "secret"])));
    let fifo = env.path().join("kubeconfig.fifo");
    mkfifo(&fifo);
    let missing = env.path().join("no-such-kubeconfig");
    for file in [fifo.as_path(), std::path::Path::new("/dev/zero")] {
        let f = file.to_str().unwrap();
        for args in [
            vec!["setup", "kubectl", "-p", "p", "--kubeconfig", f],
            vec!["setup", "kubectl", "--from-kubelogin", "--kubeconfig", f, "--dry-run"],
        ] {
            let out = quick(&env, &args);
            assert_exit(&out, 3);
            assert!(stderr(&out).contains(&format!("the kubeconfig {f} is not a regular file")), "{}", stderr(&out));
        }
    }
    let m = missing.to_str().unwrap();
    for args in [
        vec!["setup", "kubectl", "-p", "p", "--kubeconfig", m],
        vec!["setup", "kubectl", "--from-kubelogin", "--kubeconfig", m],
    ] {
        let out = quick(&env, &args);
        assert_exit(&out, 3);
        assert!(stderr(&out).contains(&format!("the kubeconfig {m} does not exist")), "{}", stderr(&out));
    }
    // docker's config.json as a FIFO.
    let docker = env.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    mkfifo(&docker.join("config.json"));
    let mut denv = Env::new();
    denv.envs = env.envs.clone();
    denv.set("DOCKER_CONFIG", docker.to_str().unwrap());
    let out = quick(&denv, &["setup", "docker", "-p", "p", "--registry", "contoso.azurecr.io"]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("is not a regular file"), "{}", stderr(&out));
}
