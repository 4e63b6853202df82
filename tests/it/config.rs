//! Profiles: the config commands, both file layouts, secrets in the keyring,
//! and bad input that must lose nothing.

use crate::common::*;
use serde_json::{Value, json};

fn cert_env() -> (Env, std::path::PathBuf) {
    let mut env = Env::new();
    let cert = make_cert(env.path(), "cfg", -1, 365, None, false);
    let pfx = env.path().join("cfg.pfx");
    make_pfx(&cert, &pfx, PASSWORD, &[], None);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    (env, pfx)
}

fn create(env: &Env, name: &str, pfx: &std::path::Path) -> std::process::Output {
    env.run(&create_args(name, TENANT, &["--certificate", pfx.to_str().unwrap()]))
}

#[test]
fn create_list_show_edit_export_import_delete() {
    let (env, pfx) = cert_env();
    let out = create(&env, "production-service", &pfx);
    assert_ok(&out);
    assert_eq!(stdout(&out), "✓ Profile 'production-service' created successfully\n");
    let file: Value = serde_json::from_slice(&std::fs::read(env.config_dir().join("profiles.json")).unwrap()).unwrap();
    assert_eq!(file["defaultProfile"], "production-service");
    let p = &file["profiles"][0];
    assert_eq!(p["useCertificate"], true);
    assert_eq!(p["certificatePath"], pfx.to_str().unwrap());
    assert_eq!(p["scope"], GRAPH);

    let table = stdout(&env.run(&["config", "list"]));
    assert!(table.contains("NAME") && table.contains("production-service") && table.contains("certificate"), "{table}");
    let shown = stdout(&env.run(&["config", "show", "-p", "production-service"]));
    assert!(shown.contains(CLIENT) && shown.contains("login.microsoftonline.com"), "{shown}");

    assert_ok(&env.run(&[
        "config",
        "edit",
        "-p",
        "production-service",
        "--scope",
        "https://management.azure.com/.default",
        "--match",
        "https://dev.azure.com/contoso",
    ]));
    let j: Value =
        serde_json::from_str(&stdout(&env.run(&["config", "show", "-p", "production-service", "--output", "json"])))
            .unwrap();
    assert_eq!(j["scope"], "https://management.azure.com/.default");
    assert_eq!(j["clientId"], CLIENT, "unchanged fields stay");
    assert_eq!(j["match"], json!(["https://dev.azure.com/contoso"]));

    let export = env.path().join("backup.json");
    assert_ok(&env.run(&["config", "export", "-p", "production-service", "-o", export.to_str().unwrap()]));
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(!exported.contains(PASSWORD));
    assert_eq!(serde_json::from_str::<Value>(&exported).unwrap(), j);
    let out = env.run(&["config", "import", "-i", export.to_str().unwrap()]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("--name"));
    assert_ok(&env.run(&["config", "import", "-i", export.to_str().unwrap(), "--name", "copy"]));

    assert_ok(&env.run(&["config", "delete", "-p", "production-service"]));
    let list: Value = serde_json::from_str(&stdout(&env.run(&["config", "list", "--output", "json"]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_exit(&env.run(&["config", "delete", "-p", "production-service"]), 3);
}

#[test]
fn bare_array_layout_is_read_and_rewritten_as_object_keeping_unknown_fields() {
    let (env, pfx) = cert_env();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let old = json!([{"name": "legacy", "clientId": CLIENT, "tenantId": TENANT, "authMethod": "ClientSecret",
        "color": "blue", "match": [{"pattern": "*.azurecr.io", "scope": "https://containerregistry.azure.net/.default", "note": "x"}]}]);
    std::fs::write(env.config_dir().join("profiles.json"), old.to_string()).unwrap();
    let shown: Value =
        serde_json::from_str(&stdout(&env.run(&["config", "show", "-p", "legacy", "--output", "json"]))).unwrap();
    assert_eq!(shown["color"], "blue");
    assert_ok(&create(&env, "new", &pfx));
    let file: Value = serde_json::from_slice(&std::fs::read(env.config_dir().join("profiles.json")).unwrap()).unwrap();
    assert!(file.is_object());
    assert_eq!(file["profiles"][0]["color"], "blue");
    assert_eq!(file["profiles"][0]["authMethod"], "ClientSecret");
    assert_eq!(file["profiles"][0]["match"][0]["note"], "x");
    assert_eq!(file["profiles"][1]["name"], "new");
}

#[test]
fn malformed_profiles_json_is_never_overwritten() {
    let (env, pfx) = cert_env();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let path = env.config_dir().join("profiles.json");
    let broken = b"{\n  \"profiles\": [\n    {\"name\": \"a\",, }\n  ]\n}\n";
    std::fs::write(&path, broken).unwrap();
    for args in [vec!["config", "list"], vec!["get-token", "-p", "a"], vec!["config", "delete", "-p", "a"]] {
        let out = env.run(&args);
        assert_exit(&out, 3);
        assert!(stderr(&out).contains(&format!("{}:3:", path.display())), "{}", stderr(&out));
    }
    assert_exit(&create(&env, "b", &pfx), 3);
    // An import meets the same file: its own hint, not the import's "under another name".
    let export = env.path().join("export.json");
    let one = serde_json::json!({"name": "c", "clientId": CLIENT, "tenantId": TENANT, "authMethod": "secret"});
    std::fs::write(&export, one.to_string()).unwrap();
    let out = env.run(&["config", "import", "-i", export.to_str().unwrap()]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("hint: fix the file by hand"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("another name"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), broken, "byte for byte unchanged");
}

#[test]
fn unknown_profile_lists_the_known_ones() {
    let (env, pfx) = cert_env();
    assert_ok(&create(&env, "alpha", &pfx));
    assert_ok(&create(&env, "beta", &pfx));
    let out = env.run(&["get-token", "-p", "gamma"]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("alpha, beta"), "{}", stderr(&out));
}

#[test]
fn certificate_problems_exit_4_with_the_contract_messages() {
    let (mut env, pfx) = cert_env();
    let missing = env.path().join("nope.pfx");
    let out = env.run(&create_args("m", TENANT, &["--certificate", missing.to_str().unwrap()]));
    assert_exit(&out, 4);
    assert!(stderr(&out).contains(&format!("Certificate not found: {}", missing.display())));
    let corrupt = env.path().join("corrupt.pfx");
    std::fs::write(&corrupt, [0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef]).unwrap();
    let out = env.run(&create_args("c", TENANT, &["--certificate", corrupt.to_str().unwrap()]));
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("cannot read the certificate"), "{}", stderr(&out));
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", "not-it");
    let out = create(&env, "w", &pfx);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains(&format!("Invalid certificate password for {}", pfx.display())), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-it"));
    // Without any password: exit 4 naming both fixes.
    env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    let out = create(&env, "n", &pfx);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("--password-stdin"), "{}", stderr(&out));
    // Nothing was saved by any of these.
    assert!(!env.config_dir().join("profiles.json").exists());
    // A profile whose file vanished later: exit 4 on get-token.
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let moved = env.path().join("moved.pfx");
    std::fs::copy(&pfx, &moved).unwrap();
    assert_ok(&create(&env, "later", &moved));
    std::fs::remove_file(&moved).unwrap();
    let out = env.run(&["get-token", "-p", "later"]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("Certificate not found:"));
}

#[test]
fn invalid_fields_are_rejected_before_saving() {
    let (env, pfx) = cert_env();
    for (flag, value) in [("--client-id", "not-a-guid"), ("--tenant-id", "common"), ("--name", "bad name!")] {
        let mut args = vec![
            "config",
            "create",
            "--name",
            "ok",
            "--client-id",
            CLIENT,
            "--tenant-id",
            TENANT,
            "--certificate",
            pfx.to_str().unwrap(),
        ];
        let i = args.iter().position(|a| *a == flag).unwrap();
        args[i + 1] = value;
        let out = env.run(&args);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(value), "{}", stderr(&out));
    }
    let out = env.run(&create_args(
        "ok",
        TENANT,
        &["--certificate", pfx.to_str().unwrap(), "--authority-host", "http://login.example.com"],
    ));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("https only"));
    assert!(!env.config_dir().join("profiles.json").exists());
    assert_exit(&env.run(&["get-token", "--bogus"]), 2);
}

/// The kernel keyring: --password-stdin stores, get-token finds it with no
/// environment override, config delete removes it.
#[test]
fn password_stdin_goes_to_the_kernel_keyring_and_delete_removes_it() {
    let App { emu, mut env, pfx, .. } = App::new(&[]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = format!("kr-{}", uuid::Uuid::new_v4().simple());
    let out = env.run_stdin(
        &create_args(
            &name,
            TENANT,
            &["--certificate", pfx.to_str().unwrap(), "--authority-host", &emu.url, "--password-stdin"],
        ),
        &format!("{PASSWORD}\n"),
    );
    assert_ok(&out);
    assert!(stderr(&out).contains("kernel keyring"));
    let token = stdout(&env.run(&["get-token", "-p", &name]));
    assert_eq!(jwt_part(&token, 1)["appid"], CLIENT);
    // No secret in any file of ours.
    for dir in [env.config_dir(), env.cache_dir()] {
        for e in std::fs::read_dir(dir).unwrap() {
            assert!(!std::fs::read_to_string(e.unwrap().path()).unwrap_or_default().contains(PASSWORD));
        }
    }
    assert_ok(&env.run(&["config", "delete", "-p", &name]));
    // Recreate without a password: the old one must be gone.
    let out = env.run(&create_args(&name, TENANT, &["--certificate", pfx.to_str().unwrap()]));
    assert_exit(&out, 4);
    // ENTRATOOL_KEYRING=none with no environment secret names both fixes.
    env.set("ENTRATOOL_KEYRING", "none");
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    assert_ok(&env.run(&create_args(
        &name,
        TENANT,
        &["--certificate", pfx.to_str().unwrap(), "--authority-host", &emu.url],
    )));
    env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    let out = env.run(&["get-token", "-p", &name]);
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("ENTRATOOL_CERTIFICATE_PASSWORD") && err.contains("--password-stdin"), "{err}");
}

/// The rotation of docs/certificates.md, scripted: export a backup, switch
/// the certificate and its password in one edit, test, all without a prompt.
#[test]
fn scripted_rotation_switches_certificate_and_password() {
    let App { emu, mut env, cert, pfx } = App::new(&[]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = format!("rot-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let out = env.run_stdin(
        &create_args(
            &name,
            TENANT,
            &["--certificate", pfx.to_str().unwrap(), "--authority-host", &emu.url, "--password-stdin"],
        ),
        PASSWORD,
    );
    assert_ok(&out);
    assert_ok(&env.run(&["get-token", "-p", &name]));
    let newer = make_cert(env.path(), "newer", -1, 730, None, false);
    let new_pfx = env.path().join("new-certificate.pfx");
    make_pfx(&newer, &new_pfx, "N3w-Passw0rd", &["-legacy"], None);
    emu.register(&[&cert.cert_pem, &newer.cert_pem], &[]);
    let backup = env.path().join("backup.json");
    assert_ok(&env.run(&["config", "export", "-p", &name, "-o", backup.to_str().unwrap()]));
    // The wrong password for the new file changes nothing.
    let out = env.run_stdin(
        &["config", "edit", "-p", &name, "--certificate", new_pfx.to_str().unwrap(), "--password-stdin"],
        PASSWORD,
    );
    assert_exit(&out, 4);
    let shown: Value =
        serde_json::from_str(&stdout(&env.run(&["config", "show", "-p", &name, "--output", "json"]))).unwrap();
    assert_eq!(shown["certificatePath"], pfx.to_str().unwrap());
    let out = env.run_stdin(
        &["config", "edit", "-p", &name, "--certificate", new_pfx.to_str().unwrap(), "--password-stdin"],
        "N3w-Passw0rd",
    );
    assert_ok(&out);
    assert_ok(&env.run(&["get-token", "-p", &name, "--silent"]));
    let h = emu.last_event()["assertionHeader"].clone();
    assert_eq!(h["x5t#S256"], b64url_digest(&newer.cert, openssl::hash::MessageDigest::sha256()));
    assert_eq!(emu.token_requests(), 2, "the edit cleared the old certificate's cached token");
    assert_ok(&env.run(&["config", "delete", "-p", &name]));
}

#[test]
fn a_bad_field_in_profiles_json_exits_3_and_can_still_be_edited() {
    let env = Env::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let doc =
        json!({"profiles": [{"name": "p", "clientId": "not-a-guid", "tenantId": TENANT, "useCertificate": false}]});
    std::fs::write(env.config_dir().join("profiles.json"), doc.to_string()).unwrap();
    let out = env.run(&["get-token", "-p", "p", "--scope", GRAPH]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("invalid client ID 'not-a-guid'") && stderr(&out).contains("profiles.json"));
    assert_ok(&env.run(&["config", "edit", "-p", "p", "--client-id", CLIENT]));
}

#[test]
fn no_profiles_at_all_suggests_config_create() {
    let env = Env::new();
    let out = env.run(&["get-token", "--scope", GRAPH]);
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("there are no profiles yet") && err.contains("hint: create one with `entratool config create`")
    );
}

#[test]
fn a_failed_write_to_stdout_is_reported_a_closed_one_is_not() {
    let env = Env::new();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = env.cmd(&["config", "list", "--output", "json"]).stdout(full).output().unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("cannot write the output"), "{}", stderr(&out));
    // A reader that went away (`| head`) is not an error worth a message.
    let mut child = env.cmd(&["completions", "bash"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn secretless_methods_from_flags_and_in_show() {
    let env = Env::new();
    let args = ["config", "create", "--name", "mi", "--auth-method", "managed-identity"];
    assert_ok(&env.run(&[&args[..], &["--managed-identity-client-id", CLIENT]].concat()));
    let out = env.run(&["config", "show", "-p", "mi"]);
    assert!(stdout(&out).contains("managedIdentity") && stdout(&out).contains(CLIENT), "{}", stdout(&out));
    let doc: Value = serde_json::from_slice(&std::fs::read(env.config_dir().join("profiles.json")).unwrap()).unwrap();
    let p = &doc["profiles"][0];
    assert_eq!(p["authMethod"], "managedIdentity");
    assert!(p.get("clientId").is_none() && p.get("useCertificate").is_none(), "{p}");
    assert_ok(&env.run(&create_args(
        "ado",
        TENANT,
        &["--auth-method", "azure-pipelines", "--service-connection-id", "sc-9"],
    )));
    assert!(stdout(&env.run(&["config", "list"])).contains("azurePipelines"));
    let out = env.run(&create_args("x", TENANT, &["--auth-method", "carrier-pigeon"]));
    assert_exit(&out, 2);
    // Without a terminal, the message says the questions were skipped and lists what is missing.
    let out = env.run(&["config", "create", "--name", "y"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("--client-id, --tenant-id, and one of") && err.contains("no questions were asked"), "{err}");
}

#[test]
fn secrets_of_same_named_profiles_in_two_config_folders_stay_apart() {
    let App { emu, env: mut a, .. } = App::new(&["secret-a", "secret-b", "secret-old"]);
    a.set("ENTRATOOL_KEYRING", "keyutils");
    let mut b = Env::new();
    b.set("ENTRATOOL_KEYRING", "keyutils");
    // The kernel keyring is per user: one name for both folders, unique to this test run.
    let name = format!("twin-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let create = |env: &Env, secret: &str| {
        let args = create_args(&name, TENANT, &["--authority-host", &emu.url, "--secret-stdin"]);
        assert_ok(&env.run_stdin(&args, secret));
    };
    create(&a, "secret-a");
    create(&b, "secret-b");
    let graph = ["get-token", "-p", name.as_str(), "--scope", GRAPH];
    assert_ok(&a.run(&graph));
    assert_eq!(emu.last_event()["auth"], "secret");
    assert_ok(&b.run(&["config", "delete", "-p", &name]));
    assert_ok(&a.run(&[&graph[..], &["--force-refresh"]].concat()));
    assert_ok(&a.run(&["config", "delete", "-p", &name]));
    // An entry written by the previous version (the name alone), which knew only the default folder.
    let old = format!("old-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let legacy = format!("entratool:{old}/client-secret");
    let keyctl = |args: &[&str]| std::process::Command::new("keyctl").args(args).output().unwrap();
    let st = keyctl(&["add", "user", &legacy, "secret-old", "@u"]);
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let args = create_args(&old, TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"]);
    // Another folder's profile of that name neither uses nor deletes it.
    assert_ok(&a.run(&args));
    assert_exit(&a.run(&["get-token", "-p", &old, "--scope", GRAPH]), 4);
    assert_ok(&a.run(&["config", "delete", "-p", &old]));
    assert!(keyctl(&["search", "@u", "user", &legacy]).status.success(), "another folder deleted the old entry");
    // Nor does a folder that XDG_CONFIG_HOME moves elsewhere: the earlier version's entries belong to
    // ~/.config/entratool alone, whatever the variable says.
    let mut x = Env::new();
    x.set("ENTRATOOL_KEYRING", "keyutils");
    x.envs.retain(|(k, _)| k != "ENTRATOOL_CONFIG_DIR");
    x.set("XDG_CONFIG_HOME", &x.path().join("elsewhere").display().to_string());
    assert_ok(&x.run(&args));
    assert_exit(&x.run(&["get-token", "-p", &old, "--scope", GRAPH]), 4);
    assert_ok(&x.run(&["config", "delete", "-p", &old]));
    assert!(keyctl(&["search", "@u", "user", &legacy]).status.success(), "an XDG folder deleted the old entry");
    // The default folder's profile finds it, copies it, and takes it along when deleted.
    let mut d = Env::new();
    d.set("ENTRATOOL_KEYRING", "keyutils");
    d.envs.retain(|(k, _)| k != "ENTRATOOL_CONFIG_DIR");
    d.set("XDG_CONFIG_HOME", &d.path().join(".config").display().to_string());
    assert_ok(&d.run(&args));
    assert!(d.path().join(".config/entratool/profiles.json").is_file());
    assert_ok(&d.run(&["get-token", "-p", &old, "--scope", GRAPH]));
    assert_ok(&d.run(&["config", "delete", "-p", &old]));
    assert!(!keyctl(&["search", "@u", "user", &legacy]).status.success(), "the old entry went with its profile");
}

#[test]
fn an_orphaned_secret_of_a_killed_create_is_reported_and_cleaned() {
    let App { emu, mut env, .. } = App::new(&["s"]);
    env.set("ENTRATOOL_KEYRING", "keyutils");
    let name = format!("orphan-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let args = create_args(&name, TENANT, &["--authority-host", &emu.url, "--secret-stdin"]);
    assert_ok(&env.run_stdin(&args, "s"));
    assert!(!env.config_dir().join("secrets.pending.json").exists(), "the journal is empty after a create");
    // What a create killed after storing its secret leaves: the secret and its name in the journal.
    let path = env.config_dir().join("profiles.json");
    std::fs::write(&path, "{\"profiles\": []}").unwrap();
    std::fs::write(env.config_dir().join("secrets.pending.json"), format!("[\"{name}\"]")).unwrap();
    let doctor = stdout(&env.run(&["doctor"]));
    assert!(doctor.contains(&format!("a secret is stored for '{name}', which has no profile")), "{doctor}");
    let out = env.run(&["config", "delete", "-p", &name]);
    assert_ok(&out);
    assert!(stdout(&out).contains("orphaned secret"), "{}", stdout(&out));
    let keys = std::process::Command::new("keyctl").args(["show", "@u"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&keys.stdout).contains(&format!("entratool:{name}/")), "the secret is gone");
    // Recreated without a secret: the old one is not picked up.
    assert_ok(&env.run(&create_args(&name, TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"])));
    let out = env.run(&["get-token", "-p", &name, "--scope", GRAPH]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("no client secret"), "{}", stderr(&out));
    assert!(!stdout(&env.run(&["doctor"])).contains("which has no profile"));
}

#[test]
fn what_a_newcomer_tripped_over() {
    let App { emu, env, .. } = App::new(&["s"]);
    // cert check with no certificate profile says so.
    let out = env.run(&["cert", "check"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("uses a certificate: nothing to check"), "{}", stdout(&out));
    // doctor counts in English.
    assert_ok(&env.run(&create_args("one", TENANT, &["--authority-host", &emu.url, "--auth-method", "secret"])));
    assert!(stdout(&env.run(&["doctor"])).contains("(1 profile)"));
    // install --dir makes the folder (docs suggest ~/.local/bin, often missing).
    let dir = env.path().join("new/bin");
    assert_ok(&env.run(&["install", "--dir", dir.to_str().unwrap()]));
    assert!(dir.join("git-credential-entratool").exists());
    // Every -p has a help text.
    for cmd in [
        &["config", "show"][..],
        &["config", "delete"],
        &["config", "export"],
        &["config", "edit"],
        &["setup", "git"],
        &["cache", "clear"],
        &["cert", "check"],
        &["git-credential"],
    ] {
        let help = stdout(&env.run(&[cmd, &["--help"]].concat()));
        let line = help.lines().find(|l| l.contains("--profile")).unwrap_or_default();
        assert!(line.trim().len() > "-p, --profile <NAME>".len() + 4, "{cmd:?}: {line:?}");
    }
    // --version and -V answer before clap, as clap would; with more arguments clap still does.
    // The version, the commit built and the target (docs/install.md): the commit is this checkout's.
    let head = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(head.len(), 12, "git rev-parse gave {head:?}");
    let expected = format!("entratool {} (commit {head}, x86_64-unknown-linux-gnu)\n", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"], &["--version", "--help"]] {
        let out = env.run(args);
        assert_ok(&out);
        assert_eq!(stdout(&out), expected, "{args:?}");
    }
    // A network error names the URL once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{closed}");
    assert_ok(&env.run(&["config", "edit", "-p", "one", "--authority-host", &url]));
    let mut env = env;
    env.set("ENTRATOOL_CLIENT_SECRET", "s");
    let out = env.run(&["get-token", "-p", "one", "--scope", GRAPH]);
    assert_exit(&out, 6);
    assert_eq!(stderr(&out).matches(&url).count(), 1, "{}", stderr(&out));
}
