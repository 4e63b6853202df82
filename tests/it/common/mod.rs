//! Test harness: the emulator as a child process, throwaway certificates and
//! an isolated entratool environment per test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use serde_json::{Value, json};

pub mod servers;

pub const TENANT: &str = "87654321-4321-4321-4321-cba987654321";
pub const DOMAIN: &str = "contoso.onmicrosoft.com";
pub const CLIENT: &str = "12345678-1234-1234-1234-123456789abc";
pub const GRAPH: &str = "https://graph.microsoft.com/.default";
pub const PASSWORD: &str = "Pfx-Passw0rd!";

/// The emulator is its own crate, so cargo does not build it for these
/// tests: it is built once here, into the same target folder as entratool.
pub fn emulator_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_BIN_EXE_entratool")).parent().expect("target folder").to_path_buf();
            let release = dir.file_name().is_some_and(|n| n == "release");
            let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cargo.args(["build", "--quiet", "-p", "entra-emulator"]).current_dir(env!("CARGO_MANIFEST_DIR"));
            if release {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("run cargo build -p entra-emulator");
            assert!(status.success(), "cargo build -p entra-emulator failed");
            dir.join("entra-emulator")
        })
        .clone()
}

/// A running entra-emulator, killed on drop.
pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Emulator {
        let mut child = Command::new(emulator_bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start entra-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read url");
        let url = line.trim().rsplit(' ').next().expect("url").to_string();
        assert!(url.starts_with("http"), "unexpected first line: {line}");
        Emulator { child, url }
    }

    /// The emulator over https (as Entra ID), with a certificate for
    /// localhost issued by a CA made in `dir`; returns the CA for trust stores.
    pub fn start_tls(dir: &Path) -> (Emulator, TestCert) {
        Self::start_tls_as(dir, "localhost")
    }

    /// `start_tls` with a server certificate for `host` too (only a proxy knows where a name
    /// other than localhost is).
    pub fn start_tls_as(dir: &Path, host: &str) -> (Emulator, TestCert) {
        let ca = make_cert(dir, "emulator-ca", -1, 30, None, true);
        let server = make_cert(dir, host, -1, 30, Some(&ca), false);
        let args = [
            "--tls-cert",
            server.cert_pem.to_str().expect("path"),
            "--tls-key",
            server.key_pem.to_str().expect("path"),
        ];
        (Emulator::start_with(&args), ca)
    }

    fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder().danger_accept_invalid_certs(true).build().expect("client")
    }

    pub fn post(&self, path: &str, body: Value) {
        let resp = self.client().post(format!("{}{path}", self.url)).body(body.to_string()).send().expect("admin call");
        assert!(resp.status().is_success(), "admin {path}: {}", resp.text().unwrap_or_default());
    }

    /// Registers the test app with these certificates (PEM) and secrets.
    pub fn register(&self, certs: &[&Path], secrets: &[&str]) {
        let pems: Vec<String> = certs.iter().map(|p| std::fs::read_to_string(p).expect("pem")).collect();
        self.post(
            "/_emulator/clients",
            json!({"tenant": TENANT, "domains": [DOMAIN], "clientId": CLIENT, "certificates": pems, "secrets": secrets}),
        );
    }

    pub fn fault(&self, kind: &str, count: u32, retry_after: Option<u64>, delay_ms: Option<u64>) {
        self.post(
            "/_emulator/faults",
            json!({"kind": kind, "count": count, "retryAfter": retry_after, "delayMs": delay_ms}),
        );
    }

    pub fn settings(&self, v: Value) {
        self.post("/_emulator/settings", v);
    }

    pub fn stats(&self) -> Value {
        let text =
            self.client().get(format!("{}/_emulator/stats", self.url)).send().expect("stats").text().expect("body");
        serde_json::from_str(&text).expect("json")
    }

    pub fn token_requests(&self) -> u64 {
        self.stats()["tokenRequests"].as_u64().expect("count")
    }

    /// A token of the emulator's Kubernetes-like issuer (`{url}/_k8s`), as a
    /// kubelet projects into a pod; `lifetime` may be negative (expired).
    pub fn federated_token(&self, sub: &str, aud: &str, lifetime: i64) -> String {
        let resp = self
            .client()
            .post(format!("{}/_emulator/federated-token", self.url))
            .body(json!({"sub": sub, "aud": aud, "lifetime": lifetime}).to_string())
            .send()
            .expect("mint");
        let v: Value = serde_json::from_str(&resp.text().expect("body")).expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// Registers the test app with federated credentials (issuer, subject, audience).
    pub fn register_federated(&self, credentials: &[(&str, &str, &str)]) {
        let fics: Vec<Value> =
            credentials.iter().map(|(i, s, a)| json!({"issuer": i, "subject": s, "audiences": [a]})).collect();
        self.post(
            "/_emulator/clients",
            json!({"tenant": TENANT, "domains": [DOMAIN], "clientId": CLIENT, "federatedCredentials": fics}),
        );
    }

    /// Gives the emulated host a managed identity.
    pub fn identity(&self, client_id: &str, object_id: &str, resource_id: &str, system: bool) {
        self.post(
            "/_emulator/identities",
            json!({"clientId": client_id, "objectId": object_id, "resourceId": resource_id, "system": system,
                   "tenant": TENANT}),
        );
    }

    /// The requests the emulator saw at an endpoint (`imds`, `appservice`, `github`, `pipelines`).
    pub fn seen(&self, endpoint: &str) -> Vec<Value> {
        let stats = self.stats();
        stats["events"].as_array().expect("events").iter().filter(|e| e["endpoint"] == endpoint).cloned().collect()
    }

    /// The last token request the emulator saw.
    pub fn last_event(&self) -> Value {
        self.stats()["events"].as_array().and_then(|e| e.last().cloned()).expect("an event")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate and key made for a test.
pub struct TestCert {
    pub cert: X509,
    pub key: PKey<Private>,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

fn name(cn: &str) -> openssl::x509::X509Name {
    let mut n = X509NameBuilder::new().expect("name");
    n.append_entry_by_text("CN", cn).expect("cn");
    n.build()
}

/// Makes a certificate valid from `from_days` to `to_days` relative to now,
/// self-signed or signed by `issuer`.
pub fn make_cert(dir: &Path, cn: &str, from_days: i64, to_days: i64, issuer: Option<&TestCert>, ca: bool) -> TestCert {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    let serial = BigNum::from_u32(rand_u32()).and_then(|n| n.to_asn1_integer()).expect("serial");
    b.set_serial_number(&serial).expect("serial");
    b.set_subject_name(&name(cn)).expect("subject");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now + from_days * 86400).expect("nb")).expect("nb");
    b.set_not_after(&Asn1Time::from_unix(now + to_days * 86400).expect("na")).expect("na");
    b.set_pubkey(&key).expect("pubkey");
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc")).expect("ext");
    } else {
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .dns(cn)
            .ip("127.0.0.1")
            .build(&b.x509v3_context(None, None))
            .expect("san");
        b.append_extension(san).expect("ext");
    }
    match issuer {
        Some(i) => {
            b.set_issuer_name(i.cert.subject_name()).expect("issuer");
            b.sign(&i.key, MessageDigest::sha256()).expect("sign");
        }
        None => {
            b.set_issuer_name(&name(cn)).expect("issuer");
            b.sign(&key, MessageDigest::sha256()).expect("sign");
        }
    }
    let cert = b.build();
    let cert_pem = dir.join(format!("{cn}.crt.pem"));
    let key_pem = dir.join(format!("{cn}.key.pem"));
    std::fs::write(&cert_pem, cert.to_pem().expect("pem")).expect("write");
    std::fs::write(&key_pem, key.private_key_to_pem_pkcs8().expect("pem")).expect("write");
    TestCert { cert, key, cert_pem, key_pem }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).expect("rand");
    u32::from_le_bytes(b) >> 1
}

/// Exports a PFX with the openssl command line, as users make them.
/// `extra` picks the encryption (e.g. `-legacy`).
pub fn make_pfx(c: &TestCert, out: &Path, password: &str, extra: &[&str], chain: Option<&Path>) {
    let mut cmd = Command::new("openssl");
    cmd.args(["pkcs12", "-export", "-in"]).arg(&c.cert_pem).arg("-inkey").arg(&c.key_pem).arg("-out").arg(out);
    cmd.arg("-passout").arg(format!("pass:{password}"));
    if let Some(ch) = chain {
        cmd.arg("-certfile").arg(ch);
    }
    cmd.args(extra);
    let st = cmd.status().expect("openssl");
    assert!(st.success(), "openssl pkcs12 failed");
}

/// The usual start: an emulator, an isolated environment, and an app whose
/// certificate (`cert`, exported to `pfx` with PASSWORD) is registered.
pub struct App {
    pub emu: Emulator,
    pub env: Env,
    pub cert: TestCert,
    pub pfx: PathBuf,
}

impl App {
    pub fn new(secrets: &[&str]) -> App {
        let emu = Emulator::start();
        let env = Env::new();
        let cert = make_cert(env.path(), "app", -1, 365, None, false);
        let pfx = env.path().join("app.pfx");
        make_pfx(&cert, &pfx, PASSWORD, &[], None);
        emu.register(&[&cert.cert_pem], secrets);
        App { emu, env, cert, pfx }
    }
}

/// An isolated entratool environment: its own config, cache and keyring choice.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let envs = vec![
            ("ENTRATOOL_CONFIG_DIR".into(), dir.path().join("config").display().to_string()),
            ("ENTRATOOL_CACHE_DIR".into(), dir.path().join("cache").display().to_string()),
            ("ENTRATOOL_KEYRING".into(), "none".into()),
            ("HOME".into(), dir.path().display().to_string()),
        ];
        Env { dir, envs }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_dir(&self) -> PathBuf {
        self.path().join("config")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.envs.retain(|(key, _)| key != k);
        self.envs.push((k.into(), v.into()));
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.program(env!("CARGO_BIN_EXE_entratool"));
        c.args(args).stdin(Stdio::null());
        c
    }

    /// Any program, with this environment instead of the caller's entratool settings.
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        for (k, _) in std::env::vars() {
            // Nothing of the runner's own identity may leak into a test.
            let inherited = ["ENTRATOOL_", "AZURE_", "IDENTITY_", "MSI_", "ACTIONS_ID_TOKEN_", "SYSTEM_"];
            if inherited.iter().any(|p| k.starts_with(p)) || k == "KUBERNETES_EXEC_INFO" {
                c.env_remove(k);
            }
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run entratool")
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child =
            self.cmd(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        // A helper may stop reading a huge input: a broken pipe is fine.
        let mut stdin = child.stdin.take().expect("stdin");
        let data = input.as_bytes().to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait");
        let _ = writer.join();
        out
    }

    /// `config create` for the test app with a certificate file, the
    /// password passed through the environment.
    pub fn create_cert_profile(&self, name: &str, cert: &Path, emu: &Emulator, extra: &[&str]) {
        let cert_s = cert.display().to_string();
        let mut args = create_args(name, TENANT, &["--authority-host", &emu.url, "--certificate", &cert_s]);
        args.extend(extra);
        let out = self.run(&args);
        assert_ok(&out);
    }
}

/// `config create --name NAME --client-id CLIENT --tenant-id TENANT` and `rest`.
pub fn create_args<'a>(name: &'a str, tenant: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["config", "create", "--name", name, "--client-id", CLIENT, "--tenant-id", tenant];
    args.extend_from_slice(rest);
    args
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What a person sees: stdout then stderr (notes and warnings go to stderr).
pub fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

pub fn assert_ok(o: &Output) {
    assert!(o.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", o.status.code(), stdout(o), stderr(o));
}

pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
}

/// The claims of a JWT, unverified.
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.trim().split('.').nth(index).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

pub fn b64url_digest(cert: &X509, md: MessageDigest) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cert.digest(md).expect("digest"))
}

/// Whether a required external tool exists; under CI=true a missing one fails.
pub fn require_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found && std::env::var("CI").as_deref() == Ok("true") {
        panic!("{name} is required under CI=true but is not installed");
    }
    found
}

/// A proxy that answers nothing and counts who came.
pub fn counting_sink() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, count)
}

/// Whether this runs as root; under CI=true it must (tests that chown files or mount).
pub fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    let root = String::from_utf8_lossy(&out.stdout).trim() == "0";
    if !root && std::env::var("CI").as_deref() == Ok("true") {
        panic!("the planted-file tests run as root under CI=true (they chown files to another user)");
    }
    root
}
