//! The emulator proven faithful by azure-identity (a client nobody here
//! wrote): WorkloadIdentityCredential, AzurePipelinesCredential and
//! ManagedIdentityCredential (IMDS and App Service) get tokens from it, and
//! federated tokens with a wrong subject, audience, issuer key or expiry are
//! refused with Entra's codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::msal::python;
use serde_json::Value;

const SA: &str = "system:serviceaccount:apps:sdk";
const AUD: &str = "api://AzureADTokenExchange";

/// azure-identity over TLS to the emulator (it refuses http authorities).
struct Sdk {
    python: PathBuf,
    emu: Emulator,
    ca: TestCert,
    dir: tempfile::TempDir,
}

impl Sdk {
    fn run(&self, envs: &[(&str, &str)], args: &[&str]) -> Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/identity_check.py");
        let mut cmd = Command::new(&self.python);
        cmd.arg(script).args(args).env("REQUESTS_CA_BUNDLE", &self.ca.cert_pem);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AZURE_") || k.starts_with("IDENTITY_")) {
            cmd.env_remove(k);
        }
        cmd.env("AZURE_TENANT_ID", TENANT).env("AZURE_CLIENT_ID", CLIENT).env("AZURE_AUTHORITY_HOST", &self.emu.url);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("python");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("one JSON line")
    }

    fn token_file(&self, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("token-{}", rand_suffix()));
        std::fs::write(&path, token).unwrap();
        path
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn sdk() -> Option<Sdk> {
    let python = python()?;
    let dir = tempfile::tempdir().unwrap();
    let (emu, ca) = Emulator::start_tls(dir.path());
    Some(Sdk { python, emu, ca, dir })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn workload_identity_credential_and_the_refusals_it_meets() {
    let Some(s) = sdk() else { return };
    s.emu.register_federated(&[(&format!("{}/_k8s", s.emu.url), SA, AUD)]);
    let good = s.token_file(&s.emu.federated_token(SA, AUD, 3600));
    let v = s.run(&[], &["workload-identity", "https://graph.microsoft.com/.default", path(&good)]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["claims"]["appid"], crate::common::CLIENT);
    let refused = |token: String, code: &str| {
        let file = s.token_file(&token);
        let v = s.run(&[], &["workload-identity", "https://graph.microsoft.com/.default", path(&file)]);
        assert_eq!(v["ok"], false, "{v}");
        assert!(v["error"].as_str().unwrap().contains(code), "{code}: {v}");
    };
    refused(s.emu.federated_token("system:serviceaccount:apps:other", AUD, 3600), "AADSTS700213");
    refused(s.emu.federated_token(SA, "api://elsewhere", 3600), "AADSTS700212");
    refused(s.emu.federated_token(SA, AUD, -900), "AADSTS700024");
    // Another issuer key: the header and claims of a good token, signed by a stranger.
    let real = s.emu.federated_token(SA, AUD, 3600);
    let parts: Vec<&str> = real.split('.').collect();
    let stranger = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &stranger).unwrap();
    signer.update(format!("{}.{}", parts[0], parts[1]).as_bytes()).unwrap();
    use base64::Engine;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signer.sign_to_vec().unwrap());
    refused(format!("{}.{}.{sig}", parts[0], parts[1]), "AADSTS700027");
}

#[test]
fn azure_pipelines_credential() {
    let Some(s) = sdk() else { return };
    s.emu.register_federated(&[(&format!("{}/_pipelines", s.emu.url), "sc://contoso/project/sc-7", AUD)]);
    let uri = format!("{}/_pipelines/oidctoken", s.emu.url);
    let envs = [("SYSTEM_OIDCREQUESTURI", uri.as_str())];
    let v = s.run(&envs, &["azure-pipelines", "https://graph.microsoft.com/.default", "sc-7", "system-access-token"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(s.emu.seen("pipelines")[0]["url"], "/_pipelines/oidctoken?api-version=7.1&serviceConnectionId=sc-7");
    let v = s.run(&envs, &["azure-pipelines", "https://graph.microsoft.com/.default", "sc-8", "system-access-token"]);
    assert!(v["error"].as_str().unwrap().contains("AADSTS700213"), "{v}");
}

#[test]
fn managed_identity_credential_over_imds_and_app_service() {
    let Some(s) = sdk() else { return };
    let uami = "aaaaaaaa-1111-2222-3333-444444444444";
    s.emu.identity("cccccccc-1111-2222-3333-444444444444", "dddddddd-1111-2222-3333-444444444444", "/vm", true);
    s.emu.identity(uami, "bbbbbbbb-1111-2222-3333-444444444444", "/uami", false);
    let imds = [("AZURE_POD_IDENTITY_AUTHORITY_HOST", s.emu.url.as_str())];
    let v = s.run(&imds, &["managed-identity", "https://vault.azure.net/.default"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["claims"]["appid"], "cccccccc-1111-2222-3333-444444444444");
    let v = s.run(&imds, &["managed-identity", "https://vault.azure.net/.default", uami]);
    assert_eq!(v["claims"]["xms_mirid"], "/uami", "{v}");
    // The SDK's request is the one entratool sends (tests/it/secretless.rs checks entratool's).
    let seen = s.emu.seen("imds");
    assert_eq!(seen[0]["headers"]["Metadata"], "true");
    assert!(seen[1]["url"].as_str().unwrap().contains(&format!("client_id={uami}")), "{seen:?}");
    let endpoint = format!("{}/msi/token", s.emu.url);
    let app = [("IDENTITY_ENDPOINT", endpoint.as_str()), ("IDENTITY_HEADER", "identity-header-secret")];
    let v = s.run(&app, &["managed-identity", "https://vault.azure.net/.default", uami]);
    assert_eq!(v["ok"], true, "{v}");
    let r = &s.emu.seen("appservice")[0];
    assert_eq!(r["headers"]["X-IDENTITY-HEADER"], "identity-header-secret");
    assert!(r["url"].as_str().unwrap().starts_with("/msi/token?api-version=2019-08-01&resource="), "{r}");
}
