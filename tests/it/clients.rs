//! The real clients — git, kubectl, skopeo and azure-identity — using
//! entratool in their own protocols against servers that accept only
//! emulator tokens for their own audience. Under CI=true a missing client
//! fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use crate::common::servers::*;
use crate::common::*;
use serde_json::{Value, json};

/// Emulator, app certificate, an Env with the password in the environment,
/// and a bin folder holding the helper links (first on PATH).
pub struct World {
    pub emu: Emulator,
    pub env: Env,
    pub pfx: PathBuf,
    pub bin: PathBuf,
    pub validator: Validator,
    pub ca: TestCert,
    pub tls: TestCert,
    /// The app's registered certificate.
    pub cert: TestCert,
}

pub fn world() -> World {
    let App { emu, mut env, pfx, cert } = App::new(&[]);
    env.set("ENTRATOOL_CERTIFICATE_PASSWORD", PASSWORD);
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    assert_ok(&env.run(&["install", "--dir", bin.to_str().unwrap(), "--az", "--azd"]));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    env.set("PATH", &path);
    let ca = make_cert(env.path(), "ca", -1, 30, None, true);
    let tls = make_cert(env.path(), "server", -1, 30, Some(&ca), false);
    env.set("SSL_CERT_FILE", ca.cert_pem.to_str().unwrap());
    let validator = Validator::for_emulator(&emu);
    World { emu, env, pfx, bin, validator, ca, tls, cert }
}

impl World {
    pub fn profile(&self, name: &str, extra: &[&str]) {
        self.env.create_cert_profile(name, &self.pfx, &self.emu, extra);
    }

    pub fn tool(&self, program: &str, args: &[&str], dir: &Path) -> Output {
        let mut cmd = self.env.program(program);
        cmd.args(args).current_dir(dir);
        cmd.env("GIT_TERMINAL_PROMPT", "0").env("GIT_CONFIG_NOSYSTEM", "1");
        cmd.output().unwrap()
    }

    fn edit_profile(&self, name: &str, change: impl Fn(&mut Value)) {
        let path = self.env.config_dir().join("profiles.json");
        let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for p in doc["profiles"].as_array_mut().unwrap() {
            if p["name"] == name {
                change(p);
            }
        }
        std::fs::write(&path, doc.to_string()).unwrap();
    }
}

fn git_in(w: &World, git: &str, dir: &Path, args: &[&str]) -> Output {
    w.tool(git, args, dir)
}

#[test]
fn git_clone_and_push_with_bearer_and_basic() {
    if !require_tool("git") {
        return;
    }
    let w = world();
    let root = w.env.path().join("srv");
    std::fs::create_dir_all(&root).unwrap();
    assert_ok(
        &Command::new("git").args(["init", "--bare", "-q", "-b", "main"]).arg(root.join("repo")).output().unwrap(),
    );
    let server = GitServer::start(w.validator.clone(), &root);
    let org = format!("{}/org", server.url);
    let repo_url = format!("{org}/_git/repo");
    w.profile("dev", &[]);
    assert_ok(&w.env.run(&["setup", "git", "-p", "dev", "--url", &org]));
    let gitconfig = std::fs::read_to_string(w.env.path().join(".gitconfig")).unwrap();
    assert!(gitconfig.contains("useHttpPath = true") && gitconfig.contains("git-credential -p dev"), "{gitconfig}");

    let new_git = "/usr/local/bin/git";
    let git = if Path::new(new_git).exists() { new_git } else { "git" };
    let work = w.env.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    for args in [
        vec!["init", "-q", "-b", "main"],
        vec!["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "first"],
        vec!["push", "-q", &repo_url, "main"],
    ] {
        assert_ok(&git_in(&w, git, &work, &args));
    }
    let version = String::from_utf8_lossy(&Command::new(git).arg("--version").output().unwrap().stdout).to_string();
    let schemes = server.counts.schemes.lock().unwrap().clone();
    // git 2.46 added capability[]=authtype; older ones get Basic.
    let minor: Vec<u32> =
        version.split_whitespace().nth(2).unwrap_or("0.0").split('.').take(2).filter_map(|n| n.parse().ok()).collect();
    let expected = if minor >= vec![2, 46] { "bearer" } else { "basic" };
    assert!(!schemes.is_empty() && schemes.iter().all(|s| *s == expected), "git {version}: {schemes:?}");
    let clone = w.env.path().join("clone");
    assert_ok(&git_in(&w, git, w.env.path(), &["clone", "-q", &repo_url, clone.to_str().unwrap()]));
    assert!(clone.join(".git").exists());

    // gitAuth basic: username/password even though git offers Bearer.
    w.edit_profile("dev", |p| p["gitAuth"] = json!("basic"));
    server.counts.schemes.lock().unwrap().clear();
    assert_ok(&git_in(
        &w,
        git,
        &work,
        &["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "second"],
    ));
    assert_ok(&git_in(&w, git, &work, &["push", "-q", &repo_url, "main"]));
    assert!(server.counts.schemes.lock().unwrap().iter().all(|s| *s == "basic"));
    // Debian's older git (no authtype capability) gets Basic too.
    if Path::new("/usr/bin/git").exists() {
        w.edit_profile("dev", |p| {
            p.as_object_mut().unwrap().remove("gitAuth");
        });
        server.counts.schemes.lock().unwrap().clear();
        let old = w.env.path().join("old-clone");
        assert_ok(&git_in(&w, "/usr/bin/git", w.env.path(), &["clone", "-q", &repo_url, old.to_str().unwrap()]));
        assert!(server.counts.schemes.lock().unwrap().contains(&"basic"));
    }

    // A second host bound to nothing gets no credential.
    let other_root = w.env.path().join("srv2");
    std::fs::create_dir_all(&other_root).unwrap();
    assert_ok(&Command::new("git").args(["init", "--bare", "-q"]).arg(other_root.join("repo")).output().unwrap());
    let other = GitServer::start(w.validator.clone(), &other_root);
    let out = git_in(&w, git, w.env.path(), &["clone", "-q", &format!("{}/org/_git/repo", other.url), "nope"]);
    assert!(!out.status.success());
    assert_eq!(other.counts.authorized.load(Ordering::SeqCst), 0);
    assert!(other.counts.unauthorized.load(Ordering::SeqCst) >= 1);
}

fn kubeconfig(w: &World, server: &str) -> PathBuf {
    let path = w.env.path().join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: aks\n  cluster:\n    server: {server}\n    certificate-authority: {}\n\
         contexts:\n- name: aks\n  context:\n    cluster: aks\n    user: aks-user\n    namespace: team\n\
         current-context: aks\nusers:\n- name: aks-user\n  user:\n    token: placeholder\npreferences: {{}}\n",
        w.ca.cert_pem.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn kubectl_uses_the_exec_plugin_v1_and_v1beta1() {
    if !require_tool("kubectl") {
        return;
    }
    let w = world();
    let (url, counts) = start_kube_api(w.validator.clone(), &w.tls);
    w.profile("k", &[]);
    let kc = kubeconfig(&w, &url);
    let kcs = kc.to_str().unwrap();
    assert_ok(&w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs]));
    let after = std::fs::read_to_string(&kc).unwrap();
    for kept in ["namespace: team", "certificate-authority:", "current-context: aks"] {
        assert!(after.contains(kept), "{kept} lost:\n{after}");
    }
    assert!(after.contains("interactiveMode: Never") && after.contains("installHint"), "{after}");
    assert!(
        !after.contains("env: null") && !after.contains("provideClusterInfo: false"),
        "as docs/kubectl.md: {after}"
    );
    let get = |w: &World| w.tool("kubectl", &["--kubeconfig", kcs, "get", "--raw", "/api"], w.env.path());
    let out = get(&w);
    assert_ok(&out);
    assert!(stdout(&out).contains("APIVersions"));
    let first = w.emu.token_requests();
    assert_ok(&get(&w));
    assert_eq!(w.emu.token_requests(), first, "the second kubectl run is served from entratool's cache");
    // v1beta1
    assert_ok(&w.tool(
        "kubectl",
        &[
            "--kubeconfig",
            kcs,
            "config",
            "set-credentials",
            "aks-user",
            "--exec-api-version=client.authentication.k8s.io/v1beta1",
        ],
        w.env.path(),
    ));
    assert_ok(&get(&w));
    assert!(counts.authorized.load(Ordering::SeqCst) >= 3);
    // A token for another audience is refused by the API server.
    assert_ok(&w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs, "--server-id", DEVOPS_AUD]));
    let out = get(&w);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(counts.unauthorized.load(Ordering::SeqCst) >= 1);
}

#[test]
fn skopeo_inspects_through_the_docker_helper_and_acr_exchange() {
    if !require_tool("skopeo") {
        return;
    }
    let w = world();
    let registry = Registry::start(w.validator.clone(), &w.tls, TENANT);
    w.profile("acr", &[]);
    let docker_dir = w.env.path().join("docker");
    let mut setup = w.env.cmd(&["setup", "docker", "-p", "acr", "--registry", &registry.host]);
    setup.env("DOCKER_CONFIG", &docker_dir);
    assert_ok(&setup.output().unwrap());
    let auth = docker_dir.join("config.json");
    let cfg: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    assert_eq!(cfg["credHelpers"][&registry.host], "entratool");
    let certs = w.env.path().join("certs.d");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&w.ca.cert_pem, certs.join("ca.crt")).unwrap();
    let image = format!("docker://{}/hello:latest", registry.host);
    let inspect = || {
        w.tool(
            "skopeo",
            &["inspect", "--authfile", auth.to_str().unwrap(), "--cert-dir", certs.to_str().unwrap(), &image],
            w.env.path(),
        )
    };
    let out = inspect();
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["Architecture"], "amd64");
    assert_eq!(registry.counts.exchanges.load(Ordering::SeqCst), 1);
    assert_ok(&inspect());
    assert_eq!(registry.counts.exchanges.load(Ordering::SeqCst), 1, "the second inspect makes no new exchange");
}

#[test]
fn azure_identity_cli_credential_gets_entratools_token_through_the_az_shim() {
    let Some(python) = python() else { return };
    let w = world();
    w.profile("sdk", &["--subscription-id", "11111111-2222-3333-4444-555555555555"]);
    let got = sdk_gets_entratools_token(&w, &python, "AzureCliCredential");
    assert_eq!(jwt_part(got["token"].as_str().unwrap(), 1)["aud"], "https://management.azure.com");
    let _ = &w.bin;
}

/// azure-identity's `credential` (run in Python) gets exactly the token and
/// expiry entratool's own get-token gives for the same scope; returns what it got.
fn sdk_gets_entratools_token(w: &World, python: &Path, credential: &str) -> Value {
    let script = format!(
        "import json\nfrom azure.identity import {credential}\n\
         t = {credential}().get_token('https://management.azure.com/.default')\n\
         print(json.dumps({{'token': t.token, 'expires_on': t.expires_on}}))"
    );
    let out = w.tool(python.to_str().unwrap(), &["-c", &script], w.env.path());
    assert_ok(&out);
    let got: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let args = ["get-token", "--scope", "https://management.azure.com/.default", "-o", "json"];
    let ours: Value = serde_json::from_str(&stdout(&w.env.run(&args))).unwrap();
    assert_eq!(got["token"], ours["accessToken"], "{credential}");
    assert_eq!(got["expires_on"], ours["expires_on"], "{credential}");
    got
}

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("ENTRATOOL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Command::new(&p).args(["-c", "import azure.identity"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} with azure-identity is required under CI=true (.ci/run makes it)", p.display());
    }
    None
}

/// The pod of AKS workload identity: the webhook's variables, a projected
/// token file, no profiles.json. The app trusts the emulator's Kubernetes issuer.
fn pod(w: &mut World) -> PathBuf {
    let sa = "system:serviceaccount:apps:runner";
    w.emu.register_federated(&[(&format!("{}/_k8s", w.emu.url), sa, "api://AzureADTokenExchange")]);
    let file = w.env.path().join("azure-identity-token");
    std::fs::write(&file, w.emu.federated_token(sa, "api://AzureADTokenExchange", 3600)).unwrap();
    w.env.set("AZURE_CLIENT_ID", CLIENT);
    w.env.set("AZURE_TENANT_ID", TENANT);
    w.env.set("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap());
    w.env.set("AZURE_AUTHORITY_HOST", &w.emu.url);
    file
}

#[test]
fn kubectl_in_a_pod_with_no_profiles_json() {
    if !require_tool("kubectl") {
        return;
    }
    let mut w = world();
    pod(&mut w);
    let (url, counts) = start_kube_api(w.validator.clone(), &w.tls);
    // As docs/kubernetes.md writes it: the exec plugin, nothing else.
    let kc = w.env.path().join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: aks\n  cluster:\n    server: {url}\n    certificate-authority: {}\n\
         contexts:\n- name: aks\n  context:\n    cluster: aks\n    user: wi\ncurrent-context: aks\nusers:\n- name: wi\n  user:\n\
         \x20   exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [get-token, --server-id, \
         6dae42f8-4368-4678-94ff-3960e28e3630, --output, exec-credential]\n      interactiveMode: Never\n",
        w.ca.cert_pem.display(),
        env!("CARGO_BIN_EXE_entratool")
    );
    std::fs::write(&kc, text).unwrap();
    let out = w.tool("kubectl", &["--kubeconfig", kc.to_str().unwrap(), "get", "--raw", "/api"], w.env.path());
    assert_ok(&out);
    assert!(stdout(&out).contains("APIVersions"));
    assert_eq!(counts.authorized.load(Ordering::SeqCst), 1);
    assert!(!w.env.config_dir().join("profiles.json").exists());
    assert_eq!(w.emu.last_event()["auth"], "assertion");
}

#[test]
fn git_clone_with_the_environment_profile_and_entratool_match() {
    if !require_tool("git") {
        return;
    }
    let mut w = world();
    pod(&mut w);
    let root = w.env.path().join("srv");
    std::fs::create_dir_all(root.join("repo")).unwrap();
    assert_ok(&Command::new("git").args(["init", "--bare", "-q"]).arg(root.join("repo")).output().unwrap());
    let server = GitServer::start(w.validator.clone(), &root);
    let other = GitServer::start(w.validator.clone(), &root);
    let helper = format!("!\"{}\" git-credential", env!("CARGO_BIN_EXE_entratool"));
    for kv in [["credential.helper", helper.as_str()], ["credential.useHttpPath", "true"]] {
        assert_ok(&w.tool("git", &["config", "--global", kv[0], kv[1]], w.env.path()));
    }
    w.env.set("ENTRATOOL_MATCH", &format!("{}/org", server.url));
    let out = w.tool("git", &["clone", "-q", &format!("{}/org/_git/repo", server.url), "a"], w.env.path());
    assert_ok(&out);
    assert!(server.counts.authorized.load(Ordering::SeqCst) >= 1);
    let out = w.tool("git", &["clone", "-q", &format!("{}/org/_git/repo", other.url), "b"], w.env.path());
    assert!(!out.status.success(), "a host outside ENTRATOOL_MATCH gets no token");
    assert_eq!(other.counts.authorized.load(Ordering::SeqCst), 0);
}

#[test]
fn skopeo_and_docker_manifest_inspect_with_a_managed_identity() {
    let (has_skopeo, has_docker) = (require_tool("skopeo"), require_tool("docker"));
    let mut w = world();
    w.emu.identity("aaaaaaaa-1111-2222-3333-444444444444", "bbbbbbbb-1111-2222-3333-444444444444", "/x/build", true);
    w.env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &w.emu.url);
    let registry = Registry::start(w.validator.clone(), &w.tls, TENANT);
    // tenantId is only the ACR exchange's tenant here.
    let create = ["config", "create", "--name", "mi", "--auth-method", "managed-identity", "--tenant-id", TENANT];
    assert_ok(&w.env.run(&create));
    let docker_dir = w.env.path().join("docker");
    w.env.set("DOCKER_CONFIG", docker_dir.to_str().unwrap());
    assert_ok(&w.env.run(&["setup", "docker", "-p", "mi", "--registry", &registry.host]));
    let auth = docker_dir.join("config.json");
    if has_skopeo {
        let certs = w.env.path().join("certs.d");
        std::fs::create_dir_all(&certs).unwrap();
        std::fs::copy(&w.ca.cert_pem, certs.join("ca.crt")).unwrap();
        let image = format!("docker://{}/hello:latest", registry.host);
        let args = ["inspect", "--authfile", auth.to_str().unwrap(), "--cert-dir", certs.to_str().unwrap(), &image];
        let out = w.tool("skopeo", &args, w.env.path());
        assert_ok(&out);
        assert_eq!(registry.counts.exchanges.load(Ordering::SeqCst), 1);
    }
    if has_docker {
        // The CLI runs the credential helper itself; no daemon is involved.
        let image = format!("{}/hello:latest", registry.host);
        let out = w.tool("docker", &["manifest", "inspect", &image], w.env.path());
        assert_ok(&out);
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["schemaVersion"], 2);
    }
    assert!(registry.counts.authorized.load(Ordering::SeqCst) >= 1);
    assert_eq!(w.emu.token_requests(), 0, "the managed identity endpoint issued the token");
    assert!(!w.emu.seen("imds").is_empty());
}

#[test]
fn azure_identity_cli_credential_through_the_az_shim_in_a_pod() {
    let Some(python) = python() else { return };
    let mut w = world();
    pod(&mut w);
    let script = "import json\nfrom azure.identity import AzureCliCredential\n\
                  t = AzureCliCredential().get_token('https://management.azure.com/.default')\n\
                  print(json.dumps({'token': t.token}))";
    let out = w.tool(python.to_str().unwrap(), &["-c", script], w.env.path());
    assert_ok(&out);
    let got: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(jwt_part(got["token"].as_str().unwrap(), 1)["appid"], CLIENT);
    assert!(!w.env.config_dir().join("profiles.json").exists());
    assert_eq!(w.emu.last_event()["auth"], "assertion", "the pod's federated token, not a secret");
}

#[test]
fn azure_identity_developer_cli_credential_through_the_azd_shim() {
    let Some(python) = python() else { return };
    let w = world();
    w.profile("sdk", &[]);
    sdk_gets_entratools_token(&w, &python, "AzureDeveloperCliCredential");
    // What azd itself prints, and only what it serves.
    let azd = w.bin.join("azd");
    let out = w.tool(azd.to_str().unwrap(), &["auth", "token", "--output", "json", "--scope", GRAPH], w.env.path());
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    assert!(v["expiresOn"].as_str().unwrap().ends_with('Z'));
    let out = w.tool(azd.to_str().unwrap(), &["up"], w.env.path());
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("serves only `azd auth token`"));
}

#[test]
fn setup_git_places_its_helper_first_and_keeps_another_for_other_hosts() {
    if !require_tool("git") {
        return;
    }
    let w = world();
    w.profile("dev", &[]);
    let log = w.env.path().join("other-helper.log");
    // A helper like Git Credential Manager, configured for every host.
    let other = format!("!f() {{ echo \"$1\" >> {}; }}; f", log.display());
    assert_ok(&w.tool("git", &["config", "--global", "credential.helper", &other], w.env.path()));
    let gitconfig = w.env.path().join(".gitconfig");
    let before = std::fs::read_to_string(&gitconfig).unwrap();
    let out = w.env.run(&["setup", "git", "-p", "dev", "--url", "https://dev.azure.com/contoso", "--dry-run"]);
    assert_ok(&out);
    assert!(both(&out).contains("also answers https://dev.azure.com/contoso") && stdout(&out).contains("would run"));
    assert_eq!(std::fs::read_to_string(&gitconfig).unwrap(), before, "--dry-run changed nothing");
    assert_ok(&w.env.run(&["setup", "git", "-p", "dev", "--url", "https://dev.azure.com/contoso"]));
    let fill = |host: &str, path: &str| {
        let mut c = w.env.program("git");
        c.args(["credential", "fill"]).current_dir(w.env.path()).env("GIT_TERMINAL_PROMPT", "0");
        c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("protocol=https\nhost={host}\npath={path}\n\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = fill("dev.azure.com", "contoso/p/_git/r");
    assert_ok(&out);
    assert!(stdout(&out).contains("password=eyJ"), "{}", stdout(&out));
    assert!(!log.exists(), "entratool answered first; the other helper was not asked");
    drop(fill("example.com", "x"));
    assert!(std::fs::read_to_string(&log).unwrap().contains("get"), "the other helper still serves other hosts");
    // Running setup again gives the same helper list (no second copy of either).
    let helpers = || {
        let args = ["config", "--global", "--get-all", "credential.https://dev.azure.com/contoso.helper"];
        stdout(&w.tool("git", &args, w.env.path()))
    };
    let once = helpers();
    assert_eq!(once.lines().count(), 3, "reset, entratool, the other: {once}");
    assert_ok(&w.env.run(&["setup", "git", "-p", "dev", "--url", "https://dev.azure.com/contoso"]));
    assert_eq!(helpers(), once);
}

/// A kubeconfig as kubelogin's convert-kubeconfig writes it: one cluster,
/// users for spn (secret, certificate), workloadidentity, msi and azurecli,
/// a static-token user, a context each, and fields entratool does not know.
fn kubelogin_kubeconfig(w: &World, server: &str, pfx: &Path) -> String {
    let user = |name: &str, args: &[&str], env: &[(&str, &str)]| {
        let args: Vec<Value> = args.iter().map(|a| json!(a)).collect();
        let env: Vec<Value> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        json!({"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
            "args": args, "env": if env.is_empty() { Value::Null } else { json!(env) },
            "installHint": "install kubelogin", "interactiveMode": "IfAvailable", "provideClusterInfo": false}}})
    };
    let aks = "6dae42f8-4368-4678-94ff-3960e28e3630";
    let base = ["get-token", "--environment", "AzurePublicCloud", "--server-id", aks];
    let emu = ("AZURE_AUTHORITY_HOST", w.emu.url.as_str());
    let pfx = pfx.to_str().unwrap();
    let users = vec![
        user(
            "spn-secret",
            &[&base[..], &["--client-id", CLIENT, "--tenant-id", TENANT, "--login", "spn"]].concat(),
            &[("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "kube-secret"), emu],
        ),
        user(
            "spn-cert",
            &[
                &base[..],
                &["--client-id", CLIENT, "--tenant-id", TENANT, "--client-certificate", pfx, "--login", "spn"],
            ]
            .concat(),
            &[("AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD", PASSWORD), emu],
        ),
        user("wi", &[&base[..], &["--login", "workloadidentity"]].concat(), &[]),
        user(
            "msi",
            &[&base[..], &["--login", "msi", "--client-id", "aaaaaaaa-1111-2222-3333-444444444444"]].concat(),
            &[],
        ),
        user("cli", &[&base[..], &["--login", "azurecli"]].concat(), &[]),
        json!({"name": "static", "user": {"token": "static-token"}}),
    ];
    let names = ["spn-secret", "spn-cert", "wi", "msi", "cli", "static"];
    let contexts: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "context": {"cluster": "aks", "user": n, "namespace": "team"}}))
        .collect();
    let doc = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "spn-secret", "preferences": {},
        "clusters": [{"name": "aks", "cluster": {"server": server, "certificate-authority": w.ca.cert_pem.display().to_string()}}],
        "contexts": contexts, "users": users, "x-team-notes": {"owner": "platform", "keep": [1, 2]},
    });
    serde_yaml::to_string(&doc).unwrap()
}

#[test]
fn setup_kubectl_from_kubelogin_converts_what_it_can_and_nothing_else() {
    if !require_tool("kubectl") {
        return;
    }
    let mut w = world();
    w.env.set("ENTRATOOL_KEYRING", "keyutils");
    w.env.envs.retain(|(k, _)| k != "ENTRATOOL_CERTIFICATE_PASSWORD");
    // One app with its certificate, a secret and a federated credential for the pod.
    let sa = "system:serviceaccount:apps:kube";
    let cert_pem = vec![std::fs::read_to_string(&w.cert.cert_pem).unwrap()];
    w.emu.post("/_emulator/clients", json!({"tenant": TENANT, "clientId": CLIENT, "certificates": cert_pem,
        "secrets": ["kube-secret"],
        "federatedCredentials": [{"issuer": format!("{}/_k8s", w.emu.url), "subject": sa, "audiences": ["api://AzureADTokenExchange"]}]}));
    w.emu.identity("aaaaaaaa-1111-2222-3333-444444444444", "bbbbbbbb-1111-2222-3333-444444444444", "/msi", false);
    let (url, counts) = start_kube_api(w.validator.clone(), &w.tls);
    let kc = w.env.path().join("kubeconfig");
    let original = kubelogin_kubeconfig(&w, &url, &w.pfx);
    std::fs::write(&kc, &original).unwrap();
    let kcs = kc.to_str().unwrap();

    // --dry-run: a diff, and nothing changed anywhere.
    let out = w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kcs, "--dry-run"]);
    assert_ok(&out);
    let diff = stdout(&out);
    assert!(diff.contains("-      command: kubelogin") || diff.contains("-    command: kubelogin"), "{diff}");
    assert!(diff.contains(env!("CARGO_BIN_EXE_entratool")), "{diff}");
    assert!(both(&out).contains("azurecli") && both(&out).contains("left as it is"), "{}", both(&out));
    assert_eq!(std::fs::read_to_string(&kc).unwrap(), original, "--dry-run wrote the kubeconfig");
    assert!(!w.env.config_dir().join("profiles.json").exists(), "--dry-run saved a profile");
    assert!(!diff.contains("kube-secret") && diff.contains("********"), "a secret in the diff:\n{diff}");

    let out = w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kcs]);
    assert_ok(&out);
    let after = std::fs::read_to_string(&kc).unwrap();
    // The only store here is the kernel keyring, lost at reboot: the secrets stay in the file, as
    // entratool's own variables in the exec env, and the output says why.
    assert!(both(&out).contains("stays in the kubeconfig (as ENTRATOOL_CLIENT_SECRET"), "{}", both(&out));
    assert!(both(&out).contains("lost at reboot"), "{}", both(&out));
    let kept: Value = serde_yaml::from_str(&after).unwrap();
    let env_of = |n: &str| {
        let u = kept["users"].as_array().unwrap().iter().find(|u| u["name"] == n).unwrap().clone();
        u["user"]["exec"]["env"].clone()
    };
    assert!(env_of("spn-secret").to_string().contains(r#"{"name":"ENTRATOOL_CLIENT_SECRET","value":"kube-secret"}"#));
    assert!(env_of("spn-cert").to_string().contains("ENTRATOOL_CERTIFICATE_PASSWORD"));
    assert!(!after.contains("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET"), "kubelogin's variable stayed:\n{after}");
    let before: Value = serde_yaml::from_str(&original).unwrap();
    let now: Value = serde_yaml::from_str(&after).unwrap();
    for key in ["apiVersion", "kind", "current-context", "preferences", "clusters", "contexts", "x-team-notes"] {
        assert_eq!(before[key], now[key], "{key} changed");
    }
    let user = |doc: &Value, n: &str| doc["users"].as_array().unwrap().iter().find(|u| u["name"] == n).unwrap().clone();
    for untouched in ["cli", "static"] {
        assert_eq!(user(&before, untouched), user(&now, untouched), "{untouched} changed");
    }
    for converted in ["spn-secret", "spn-cert", "wi", "msi"] {
        let exec = &user(&now, converted)["user"]["exec"];
        assert_eq!(exec["command"], env!("CARGO_BIN_EXE_entratool"), "{converted}");
        assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1", "kept");
        assert_eq!(exec["provideClusterInfo"], false, "unknown-to-us fields kept");
    }
    // kubectl reaches the API server through entratool for each converted context.
    let token_file = w.env.path().join("sa-token");
    std::fs::write(&token_file, w.emu.federated_token(sa, "api://AzureADTokenExchange", 3600)).unwrap();
    w.env.set("AZURE_CLIENT_ID", CLIENT);
    w.env.set("AZURE_TENANT_ID", TENANT);
    w.env.set("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap());
    w.env.set("AZURE_AUTHORITY_HOST", &w.emu.url);
    w.env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", &w.emu.url);
    for ctx in ["spn-secret", "spn-cert", "wi", "msi"] {
        let out = w.tool("kubectl", &["--kubeconfig", kcs, "--context", ctx, "get", "--raw", "/api"], w.env.path());
        assert_ok(&out);
    }
    assert!(counts.authorized.load(Ordering::SeqCst) >= 4);
    // The backup restores the original.
    let backup = std::fs::read_dir(w.env.path())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("kubeconfig.entratool-backup-"))
        .expect("a backup")
        .path();
    assert_eq!(std::fs::read_to_string(backup).unwrap(), original);
}

#[test]
fn setup_kubectl_honours_dry_run_and_backs_up_exclusively() {
    if !require_tool("kubectl") {
        return;
    }
    let w = world();
    w.profile("k", &[]);
    let kc = kubeconfig(&w, "https://127.0.0.1:1");
    let kcs = kc.to_str().unwrap();
    let original = std::fs::read(&kc).unwrap();
    let backups = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir(w.env.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("kubeconfig.entratool-backup-"))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    };
    // --dry-run in the plain mode: the exact change as a diff, no change, no backup, no secret.
    let out = w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs, "--dry-run"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains(&format!("--- {kcs}\n+++ {kcs} (after)\n"))
            && stdout(&out).contains(" - name: aks-user\n   user:\n-    token: ********\n+    exec:\n")
            && stdout(&out).contains("(dry run"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("placeholder"), "the static token was shown");
    assert_eq!(std::fs::read(&kc).unwrap(), original, "--dry-run changed the kubeconfig");
    assert!(backups().is_empty());
    // Links planted at the next seconds' backup names are never followed.
    let stolen = w.env.path().join("stolen");
    let now = chrono::Utc::now();
    for s in 0..4 {
        let stamp = (now + chrono::Duration::seconds(s)).format("%Y%m%dT%H%M%SZ");
        let link = w.env.path().join(format!("kubeconfig.entratool-backup-{stamp}"));
        std::os::unix::fs::symlink(&stolen, link).unwrap();
    }
    // Two runs that change it, within a second or two: two backups, the first the original bytes.
    for server in ["6dae42f8-4368-4678-94ff-3960e28e3630", DEVOPS_AUD] {
        let out = w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs, "--server-id", server]);
        assert_ok(&out);
        assert!(stdout(&out).contains("backup of the file as it was: "), "{}", stdout(&out));
    }
    // A rerun that changes nothing says so, and writes no backup.
    let unchanged = std::fs::read(&kc).unwrap();
    let out = w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs, "--server-id", DEVOPS_AUD]);
    assert_ok(&out);
    assert!(stdout(&out).contains("already: nothing changed") && !stdout(&out).contains("backup"), "{}", stdout(&out));
    assert_eq!(std::fs::read(&kc).unwrap(), unchanged);
    let out = w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs, "--server-id", DEVOPS_AUD, "--dry-run"]);
    assert!(stdout(&out).contains("would not change: it is set up already"), "{}", stdout(&out));
    assert!(!stolen.exists(), "a backup was written through a planted link");
    let found = backups();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(std::fs::read(&found[0]).unwrap(), original);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&found[0]).unwrap().permissions().mode() & 0o777, 0o600);
}

/// A kubeconfig with one kubelogin spn user (its secret and authority in the exec env) and its context.
pub fn one_spn_user(w: &World, user: &str, secret: &str, authority: &str) -> String {
    let doc = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": user, "preferences": {},
        "clusters": [{"name": "aks", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority": w.ca.cert_pem.display().to_string()}}],
        "contexts": [{"name": user, "context": {"cluster": "aks", "user": user}}],
        "users": [{"name": user, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
            "args": ["get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630", "--client-id", CLIENT,
                     "--tenant-id", TENANT, "--login", "spn"],
            "env": [{"name": "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "value": secret},
                    {"name": "AZURE_AUTHORITY_HOST", "value": authority}]}}}],
    });
    serde_yaml::to_string(&doc).unwrap()
}

#[test]
fn a_conversion_keeps_a_racing_kubectl_change_and_a_failed_user_leaves_nothing_behind() {
    if !require_tool("kubectl") {
        return;
    }
    let mut w = world();
    w.env.set("ENTRATOOL_KEYRING", "keyutils");
    w.emu.register(&[], &["kube-secret"]);
    let kc = w.env.path().join("kubeconfig");
    std::fs::write(&kc, one_spn_user(&w, "race-user", "kube-secret", &w.emu.url)).unwrap();
    let kcs = kc.to_str().unwrap();
    // The token check is slow; kubectl changes the file meanwhile, under its own lock.
    w.emu.fault("slow", 1, None, Some(2500));
    let conversion = w.env.cmd(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kcs]).output();
    let racing = std::thread::spawn({
        let mut kubectl = w.env.program("kubectl");
        kubectl.args([
            "--kubeconfig",
            kcs,
            "config",
            "set-context",
            "added",
            "--cluster",
            "aks",
            "--user",
            "race-user",
        ]);
        move || {
            std::thread::sleep(std::time::Duration::from_millis(800));
            kubectl.output().unwrap()
        }
    });
    let out = conversion.unwrap();
    let kubectl = racing.join().unwrap();
    assert_ok(&kubectl);
    assert_ok(&out);
    let after: Value = serde_yaml::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    let contexts: Vec<&str> = after["contexts"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(contexts.contains(&"added"), "the context kubectl added meanwhile was lost: {contexts:?}");
    assert_eq!(after["users"][0]["user"]["exec"]["command"], env!("CARGO_BIN_EXE_entratool"));
    assert!(!w.env.path().join("kubeconfig.lock").exists(), "the lock was left behind");
    // A user whose secret Entra ID refuses: unchanged, no profile, no secret; exit 5 (the cause).
    let bad = w.env.path().join("bad-kubeconfig");
    let original = one_spn_user(&w, "bad-user", "wrong-secret", &w.emu.url);
    std::fs::write(&bad, &original).unwrap();
    let out = w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", bad.to_str().unwrap()]);
    assert_exit(&out, 5);
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), original, "a failed user's kubeconfig changed");
    assert_exit(&w.env.run(&["config", "show", "-p", "bad-user"]), 3);
    let keys = std::process::Command::new("keyctl").args(["show", "@u"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&keys.stdout).contains("bad-user/"), "its secret stayed in the keyring");
    // Entra ID unreachable: exit 6.
    let dead = w.env.path().join("dead-kubeconfig");
    std::fs::write(&dead, one_spn_user(&w, "dead-user", "kube-secret", "http://127.0.0.1:9")).unwrap();
    let out = w.env.run(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", dead.to_str().unwrap()]);
    assert_exit(&out, 6);
    assert_exit(&w.env.run(&["config", "show", "-p", "dead-user"]), 3);
}

#[test]
fn setup_git_copies_no_helper_of_another_scope_and_concurrent_runs_all_land() {
    if !require_tool("git") {
        return;
    }
    let env = Env::new();
    assert_ok(&env.run(&create_args("p", TENANT, &["--auth-method", "secret"])));
    let repo = env.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str], dir: &Path| {
        let out = env.program("git").args(args).current_dir(dir).env("GIT_CONFIG_NOSYSTEM", "1").output().unwrap();
        assert_ok(&out);
        stdout(&out)
    };
    git(&["init", "-q"], &repo);
    git(&["config", "--local", "credential.helper", "!echo repository-helper"], &repo);
    let out = env
        .cmd(&["setup", "git", "-p", "p", "--url", "https://dev.azure.com/contoso"])
        .current_dir(&repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(both(&out).contains("!echo repository-helper (git's local config)"), "{}", both(&out));
    let global = std::fs::read_to_string(env.path().join(".gitconfig")).unwrap();
    assert!(!global.contains("repository-helper"), "a repository's helper reached the global config:\n{global}");
    // Six at once, each for its own URL: all land, none is left with the reset entry alone.
    let runs: Vec<_> = (0..6)
        .map(|i| {
            env.cmd(&["setup", "git", "-p", "p", "--url", &format!("https://dev.azure.com/org{i}")]).spawn().unwrap()
        })
        .collect();
    for run in runs {
        assert_ok(&run.wait_with_output().unwrap());
    }
    for i in 0..6 {
        let helpers = git(
            &["config", "--global", "--get-all", &format!("credential.https://dev.azure.com/org{i}.helper")],
            env.path(),
        );
        let lines: Vec<&str> = helpers.lines().collect();
        assert!(
            lines.len() >= 2 && lines[0].is_empty() && lines[1].contains("git-credential -p p"),
            "org{i}: {lines:?}"
        );
    }
}

#[test]
fn setup_kubectl_changes_only_its_user_keeping_comments_quotes_and_anchors() {
    if !require_tool("kubectl") {
        return;
    }
    let w = world();
    w.profile("k", &[]);
    let kc = w.env.path().join("kubeconfig");
    let head = "# managed by the platform team\napiVersion: v1\nkind: Config\nclusters:\n- name: aks   # prod\n  \
                cluster:\n    server: 'https://127.0.0.1:1'\ncontexts:\n- name: aks\n  context: {cluster: aks, user: \
                aks-user}\n- name: other\n  context: {cluster: aks, user: other-user}\ncurrent-context: aks\nusers:\n";
    let converted = "- name: aks-user\n  user:\n    token: placeholder\n";
    let tail = "# the others keep their shape\n- name: other-user\n  user: &shared\n    username: \"me\"\n    \
                password: 'p@ss'\n- name: third-user\n  user: *shared\npreferences: {}\n";
    std::fs::write(&kc, format!("{head}{converted}{tail}")).unwrap();
    let kcs = kc.to_str().unwrap();
    let out = w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs]);
    assert_ok(&out);
    let after = std::fs::read_to_string(&kc).unwrap();
    assert!(after.starts_with(head) && after.ends_with(tail), "bytes outside the user changed:\n{after}");
    assert!(!after.contains("placeholder"), "{after}");
    // kubectl reads the result: the user runs entratool, the others are as they were.
    let view = w.tool("kubectl", &["--kubeconfig", kcs, "config", "view", "--raw", "-o", "json"], w.env.path());
    assert_ok(&view);
    let v: Value = serde_json::from_str(&stdout(&view)).unwrap();
    let user = |n: &str| v["users"].as_array().unwrap().iter().find(|u| u["name"] == n).unwrap()["user"].clone();
    assert_eq!(user("aks-user")["exec"]["command"], env!("CARGO_BIN_EXE_entratool"));
    assert_eq!(user("third-user")["password"], "p@ss");
    let hint = user("aks-user")["exec"]["installHint"].as_str().unwrap_or_default().to_string();
    assert!(
        hint.starts_with("entratool gets the tokens for this cluster: install it and create the profile named in args"),
        "{hint}"
    );
    // A read-only kubeconfig is kept as it is.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kc, std::fs::Permissions::from_mode(0o400)).unwrap();
    let out = w.env.run(&["setup", "kubectl", "-p", "k", "--kubeconfig", kcs, "--server-id", DEVOPS_AUD]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("is read-only (mode 400)"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&kc).unwrap(), after);
}

#[test]
fn two_conversions_at_once_both_land_keeping_comments_and_an_existing_profile() {
    if !require_tool("kubectl") {
        return;
    }
    let mut w = world();
    w.env.set("ENTRATOOL_KEYRING", "keyutils");
    w.emu.register(&[], &["kube-secret"]);
    // Two users of one file, a comment on top; `u2` has a profile already, which is used as it is.
    let first: Value = serde_yaml::from_str(&one_spn_user(&w, "u1", "kube-secret", &w.emu.url)).unwrap();
    let second: Value = serde_yaml::from_str(&one_spn_user(&w, "u2", "kube-secret", "http://127.0.0.1:9")).unwrap();
    let mut doc = first.clone();
    for key in ["users", "contexts"] {
        let both: Vec<Value> = [&first, &second].iter().flat_map(|d| d[key].as_array().unwrap().clone()).collect();
        doc[key] = Value::Array(both);
    }
    let text = format!("# the platform team's clusters\n{}", serde_yaml::to_string(&doc).unwrap());
    let kc = w.env.path().join("kubeconfig");
    std::fs::write(&kc, &text).unwrap();
    let kcs = kc.to_str().unwrap();
    let create = create_args("u2", TENANT, &["--authority-host", &w.emu.url, "--secret-stdin"]);
    assert_ok(&w.env.run_stdin(&create, "kube-secret"));
    w.emu.fault("slow", 2, None, Some(1500));
    let runs: Vec<_> = ["u1", "u2"]
        .iter()
        .map(|ctx| {
            let mut c = w.env.cmd(&["setup", "kubectl", "--from-kubelogin", "--kubeconfig", kcs, "--context", ctx]);
            c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let outs: Vec<_> = runs.into_iter().map(|r| r.wait_with_output().unwrap()).collect();
    for out in &outs {
        assert_ok(out);
    }
    assert!(both(&outs[1]).contains("profile 'u2' exists already and is used as it is"), "{}", both(&outs[1]));
    let after = std::fs::read_to_string(&kc).unwrap();
    assert!(after.starts_with("# the platform team's clusters\n"), "the comment was lost:\n{after}");
    let now: Value = serde_yaml::from_str(&after).unwrap();
    for u in now["users"].as_array().unwrap() {
        assert_eq!(u["user"]["exec"]["command"], env!("CARGO_BIN_EXE_entratool"), "{u:?} not converted");
        // The same installHint as the plain mode writes.
        assert!(u["user"]["exec"]["installHint"].as_str().unwrap_or_default().starts_with(
            "entratool gets the tokens for this cluster: install it and create the profile named in args"
        ));
    }
    // The existing profile kept its own authority (the kubeconfig's pointed nowhere).
    let shown: Value =
        serde_json::from_str(&stdout(&w.env.run(&["config", "show", "-p", "u2", "--output", "json"]))).unwrap();
    assert_eq!(shown["authorityHost"], w.emu.url.as_str());
}
