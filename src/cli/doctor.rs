//! `entratool doctor`: one line per check, ✓ or ✗ with the fix.

use chrono::Utc;
use clap::Args;

use super::profile_form::PendingSecrets;
use entratool::credential::{
    AuthContext, CertificateCredential, EXPIRY_WARNING_DAYS, FederatedCredential, secrets::SecretKind,
};
use entratool::credential::{managed_identity, secrets};
use entratool::entra::{self, FederatedClaims};
use entratool::error::Result;
use entratool::profile::{self, AuthMethod, Profile};
use entratool::token::{self, TokenKind, TokenRequest};
use entratool::toolconfig::{kubeconfig, kuberc};

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Check only this profile
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: Option<String>,
}

struct Report {
    failures: usize,
}

impl Report {
    fn pass(&mut self, what: &str) {
        entratool::outln!("✓ {what}");
    }
    fn fail(&mut self, what: &str, fix: &str) {
        self.failures += 1;
        entratool::outln!("✗ {what} — {fix}");
    }
    /// Works now, but will not always: said, not counted as a failure.
    fn warn(&mut self, what: &str, note: &str) {
        entratool::outln!("! {what} — {note}");
    }
}

/// Exit 0 when everything passes, 1 otherwise.
pub fn run(a: DoctorArgs) -> Result<u8> {
    let mut r = Report { failures: 0 };
    let store = profile::ProfilesFile::open()?;
    let doc = match store.load() {
        Ok(d) => {
            let n = d.profiles.len();
            r.pass(&format!("{} parses ({n} profile{})", store.path.display(), if n == 1 { "" } else { "s" }));
            d
        }
        Err(e) => {
            r.fail(&format!("{}", store.path.display()), &e.report("", ""));
            return Ok(1);
        }
    };
    check_private_dir(&mut r, "config folder", store.path.parent());
    let cache = entratool::fsutil::cache_dir()?;
    check_private_dir(&mut r, "cache folder", Some(&cache));
    match secrets::open_keyring() {
        Ok(Some(s)) => r.pass(&format!("secret store: {}", s.name())),
        Ok(None) => r.pass("secret store: none (ENTRATOOL_KEYRING=none): secrets come from the environment"),
        Err(e) => r.fail("secret store", &e.report("", "")),
    }
    for orphan in PendingSecrets::of(&store).names().iter().filter(|n| doc.find(n).is_none()) {
        r.fail(
            &format!("a secret is stored for '{orphan}', which has no profile (a config create that did not finish)"),
            &format!("remove it with `entratool config delete -p {orphan}`"),
        );
    }
    // The environment profile (a pod, a CI job: no profiles.json needed), unless the file has an `env`.
    let env_wanted = a.profile.as_deref().is_none_or(|n| n == profile::ENV_PROFILE);
    let env = Profile::from_env().filter(|_| env_wanted && doc.find(profile::ENV_PROFILE).is_none());
    let mut profiles: Vec<&Profile> = match &a.profile {
        Some(_) if env.is_some() => Vec::new(),
        Some(n) => vec![doc.get(n, &store.path)?],
        None => doc.profiles.iter().collect(),
    };
    if let Some(e) = &env {
        r.pass(&format!("environment profile 'env': {}", environment_summary()));
        profiles.push(e);
    }
    for p in profiles {
        check_profile(&mut r, p);
    }
    check_kuberc(&mut r);
    Ok(if r.failures > 0 { 1 } else { 0 })
}

/// kubectl's credential plugin policy (kuberc), when there is a kuberc: does it
/// let kubectl run entratool, as this run is installed and as the kubeconfig
/// names it? If not, the exact allowlist entry.
fn check_kuberc(r: &mut Report) {
    let Some(path) = kuberc::path().filter(|p| p.exists()) else { return };
    let policy = match kuberc::policy(&path) {
        Ok(p) => p,
        Err(e) => return r.fail("kubectl's kuberc", &e.report("", "")),
    };
    let mut commands: Vec<std::path::PathBuf> = super::args::current_exe().into_iter().collect();
    for c in kubeconfig_commands() {
        if !commands.contains(&c) {
            commands.push(c);
        }
    }
    for command in commands {
        let what = format!("kubectl's credential plugin policy ({}) and {}", path.display(), command.display());
        if policy.allows(&command) {
            r.pass(&format!("{what}: allowed"));
            continue;
        }
        r.fail(
            &format!("{what}: kubectl refuses to run it (policy {})", policy.name()),
            &policy.fix_for(&path, &command),
        );
    }
}

/// The entratool commands the default kubeconfig's exec entries name (absolute paths).
fn kubeconfig_commands() -> Vec<std::path::PathBuf> {
    let Ok(chosen) = kubeconfig::default_file(None) else { return Vec::new() };
    let Ok((_, doc)) = kubeconfig::parse(&chosen.path) else { return Vec::new() };
    let users = doc.get("users").and_then(serde_yaml::Value::as_sequence).cloned().unwrap_or_default();
    users
        .iter()
        .filter_map(|u| u.get("user")?.get("exec")?.get("command")?.as_str().map(std::path::PathBuf::from))
        .filter(|c| c.is_absolute() && c.file_name().is_some_and(|n| n.to_string_lossy().starts_with("entratool")))
        .collect()
}

fn check_private_dir(r: &mut Report, what: &str, dir: Option<&std::path::Path>) {
    let Some(dir) = dir else { return };
    match std::fs::metadata(dir) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                r.pass(&format!("{what} {} is private ({mode:o})", dir.display()));
            } else {
                r.fail(&format!("{what} {} is mode {mode:o}", dir.display()), &format!("chmod 700 {}", dir.display()));
            }
        }
        // Windows: the owner SID and access list (docs/windows.md).
        #[cfg(not(unix))]
        Ok(_) => match entratool::fsutil::check_trusted_folder(dir) {
            Ok(()) => r.pass(&format!("{what} {} is yours alone (owner and access list)", dir.display())),
            Err(e) => r.fail(&format!("{what}: {}", e.message), e.remedy.as_deref().unwrap_or_default()),
        },
        Err(_) => r.pass(&format!("{what} {} does not exist yet (created 0700 on first use)", dir.display())),
    }
}

fn check_profile(r: &mut Report, p: &Profile) {
    let n = &p.name;
    if let Err(e) = p.validate() {
        r.fail(&format!("{n}: profile"), &e.report("", ""));
        return;
    }
    let before = r.failures;
    match p.auth_method() {
        AuthMethod::Certificate => check_certificate(r, p),
        AuthMethod::Secret => check_secret(r, p),
        AuthMethod::WorkloadIdentity | AuthMethod::GithubActions | AuthMethod::AzurePipelines => check_federated(r, p),
        // The token below is what tells whether the endpoint answers.
        AuthMethod::ManagedIdentity => check_identity_endpoint(r, p),
        // Step 1 here (the identity's token, its claims to compare with the app's federated
        // credential); step 2 is the token below.
        AuthMethod::ManagedIdentityFederation => {
            check_identity_endpoint(r, p);
            check_federated(r, p);
        }
    }
    // A managed identity's token comes from the host, not the authority.
    if p.auth_method() != AuthMethod::ManagedIdentity {
        check_authority(r, p);
    }
    // What Entra ID says is what counts: a certificate that opens may still be one it does not
    // accept. A local failure already says why no token would come.
    if r.failures == before {
        check_token(r, p);
    }
}

/// A token for the profile's scope, as a helper would get it: a cached one
/// counts, a miss makes one request. Entra's refusal is shown with its hint.
fn check_token(r: &mut Report, p: &Profile) {
    let n = &p.name;
    let scope = p.default_scope().unwrap_or(entra::RESOURCE_MANAGER_SCOPE);
    let request = TokenRequest::for_helper(p, scope, TokenKind::Access);
    match token::acquire(&request, &mut Vec::new()) {
        Ok(t) => {
            r.pass(&format!("{n}: a token for {scope} (valid until {})", entratool::output::rfc3339_utc(t.expires_on)))
        }
        Err(e) => r.fail(&format!("{n}: no token for {scope}: {e}"), e.remedy.as_deref().unwrap_or("see the message")),
    }
}

/// Where the client secret comes from; a volatile store is said.
fn check_secret(r: &mut Report, p: &Profile) {
    let n = &p.name;
    if p.from_environment {
        return r.pass(&format!("{n}: client secret in AZURE_CLIENT_SECRET (value not shown)"));
    }
    if secrets::from_env(SecretKind::ClientSecret).is_some() {
        return r.pass(&format!("{n}: client secret in ENTRATOOL_CLIENT_SECRET (value not shown)"));
    }
    match secrets::held_in(n, SecretKind::ClientSecret) {
        Some(store) => {
            r.pass(&format!("{n}: client secret stored in the {store}"));
            if secrets::is_volatile(store) {
                r.warn(&format!("{n}: its client secret is in the kernel keyring"), secrets::VOLATILE_NOTE);
            }
        }
        None => r.fail(
            &format!("{n}: no client secret (looked in ENTRATOOL_CLIENT_SECRET and the {})", secrets::store_name()),
            &format!("store it with `entratool config edit -p {n} --secret-stdin` or set ENTRATOOL_CLIENT_SECRET"),
        ),
    }
}

/// The variables the environment profile was made from; secrets only as "set".
fn environment_summary() -> String {
    let shown = ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"];
    let hidden = ["AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"];
    let extra = ["AZURE_AUTHORITY_HOST", "ENTRATOOL_MATCH"];
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    let mut parts: Vec<String> =
        shown.iter().chain(&extra).filter_map(|n| var(n).map(|v| format!("{n}={v}"))).collect();
    parts.extend(hidden.iter().filter(|n| var(n).is_some()).map(|n| format!("{n} set (value not shown)")));
    parts.join(", ")
}

/// The federated token can be had (variables present, file readable, the
/// CI service answering) and its claims, decoded, are what the app's
/// federated credential must match. The token itself is never shown.
/// Which managed identity endpoint this host offers, and which identity the profile asks it for.
fn check_identity_endpoint(r: &mut Report, p: &Profile) {
    let endpoint = managed_identity::Endpoint::from_env();
    let at = match &endpoint {
        managed_identity::Endpoint::AppService { url, .. } => format!("{url} (IDENTITY_ENDPOINT)"),
        managed_identity::Endpoint::Imds { host } => host.clone(),
    };
    r.pass(&format!("{}: {} from {} at {at}", p.name, managed_identity::Selector::of(p).describe(), endpoint.name()));
}

fn check_federated(r: &mut Report, p: &Profile) {
    let n = &p.name;
    let token = FederatedCredential::for_profile(p).and_then(|c| c.federated_token(&mut AuthContext::default()));
    let token = match token {
        Ok(t) => t,
        Err(e) => return r.fail(&format!("{n}: federated token"), &e.report("", "")),
    };
    let Some(c) = FederatedClaims::of(&token) else {
        return r.fail(&format!("{n}: federated token"), "it is not a JWT: check where it comes from (docs/ci.md)");
    };
    r.pass(&format!("{n}: federated token: iss {}, sub {}, aud {}", c.iss, c.sub, c.aud));
    match c.exp {
        Some(exp) if exp <= entratool::clock::now() => r.fail(
            &format!("{n}: federated token expired at {}", entratool::output::rfc3339_utc(exp)),
            "the file is no longer refreshed: check the pod's projected service account token",
        ),
        Some(exp) => r.pass(&format!("{n}: federated token valid until {}", entratool::output::rfc3339_utc(exp))),
        None => r.fail(&format!("{n}: federated token has no exp"), "Entra ID refuses tokens without an expiry"),
    }
}

fn check_certificate(r: &mut Report, p: &Profile) {
    let n = &p.name;
    let loaded = CertificateCredential::new(p).and_then(|c| c.load(&mut AuthContext::default()));
    match loaded {
        Err(e) => r.fail(&format!("{n}: certificate"), &e.report("", "")),
        Ok(cert) => {
            r.pass(&format!("{n}: certificate {} opens (thumbprint {})", cert.path.display(), cert.thumbprint_hex()));
            if !p.from_environment
                && secrets::from_env(SecretKind::CertificatePassword).is_none()
                && secrets::held_in(n, SecretKind::CertificatePassword).is_some_and(secrets::is_volatile)
            {
                r.warn(&format!("{n}: its certificate password is in the kernel keyring"), secrets::VOLATILE_NOTE);
            }
            check_key_files(r, p);
            let now = Utc::now();
            match cert.check_validity(now) {
                Err(e) => r.fail(&format!("{n}: validity"), &e.report("", "")),
                Ok(()) if cert.days_left(now) < EXPIRY_WARNING_DAYS => r.fail(
                    &format!("{n}: certificate expires in {} days", cert.days_left(now)),
                    &format!("rotate it: `entratool cert rotate -p {n}` (docs/rotation.md)"),
                ),
                Ok(()) => r.pass(&format!(
                    "{n}: valid until {} ({} days)",
                    cert.not_after().format("%Y-%m-%d"),
                    cert.days_left(now)
                )),
            }
            let (kind, bits) = cert.key_description();
            if bits >= 2048 {
                r.pass(&format!("{n}: {kind} key, {bits} bits"));
            } else {
                r.fail(
                    &format!("{n}: {kind} key of {bits} bits"),
                    "Entra ID needs RSA keys of 2048 bits or more: make a new certificate",
                );
            }
        }
    }
}

/// A private key is safe only where nobody else reads it, and only where it
/// is meant to be: the profile's files readable by other users, and an
/// unencrypted key left beside them (the key a PFX was made from), are flagged.
fn check_key_files(r: &mut Report, p: &Profile) {
    let n = &p.name;
    let own: Vec<std::path::PathBuf> =
        [&p.certificate_path, &p.certificate_key_path].into_iter().flatten().map(std::path::PathBuf::from).collect();
    for file in &own {
        if let Some(mode) = entratool::fsutil::readable_by_others(file) {
            r.fail(
                &format!("{n}: {} holds a private key and other users may read it ({mode})", file.display()),
                &format!("chmod 600 {}", file.display()),
            );
        }
    }
    let Some(folder) = own.first().and_then(|f| f.parent()) else { return };
    for loose in unencrypted_keys_in(folder).into_iter().filter(|k| !own.contains(k)) {
        r.fail(
            &format!("{n}: an unencrypted private key lies beside the certificate: {}", loose.display()),
            &format!(
                "the .pfx holds the key: remove this copy (shred -u {0}), or encrypt it (openssl pkcs8 -topk8 -in {0} \
                 -out {0}.enc)",
                loose.display()
            ),
        );
    }
}

/// Files in `folder` that hold an unencrypted PEM private key.
fn unencrypted_keys_in(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut found: Vec<std::path::PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|path| {
            let bytes = entratool::fsutil::read_regular(path, 1024 * 1024, entratool::fsutil::Links::Refuse)
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            ["-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----"]
                .iter()
                .any(|m| text.contains(m))
                && !text.contains("Proc-Type: 4,ENCRYPTED")
        })
        .collect();
    found.sort();
    found
}

/// The authority answers OIDC discovery for the tenant, and its clock agrees with ours.
fn check_authority(r: &mut Report, p: &Profile) {
    let n = &p.name;
    let authority = match p.authority() {
        Ok(a) => a,
        Err(e) => return r.fail(&format!("{n}: authority"), &e.report("", "")),
    };
    let url = format!("{authority}/{}/v2.0/.well-known/openid-configuration", p.tenant_id);
    match entratool::http::get(&url) {
        Err(e) => r.fail(&format!("{n}: authority {authority}"), &e.report("", "")),
        Ok(resp) => {
            if resp.status == 200 {
                r.pass(&format!("{n}: authority {authority} knows tenant {}", p.tenant_id));
            } else {
                r.fail(
                    &format!("{n}: authority {authority} answered HTTP {} for tenant {}", resp.status, p.tenant_id),
                    "check tenantId and the cloud (AADSTS90002: tenant not found)",
                );
            }
            match resp.date.map(|d| (d - Utc::now().timestamp()).abs()) {
                Some(skew) if skew > 120 => r.fail(
                    &format!("{n}: clock differs from the authority's by {skew} s"),
                    "sync this machine's clock (NTP); Entra ID refuses assertions outside its time range (AADSTS700024)",
                ),
                Some(skew) => r.pass(&format!("{n}: clock within {skew} s of the authority's")),
                None => r.pass(&format!("{n}: the authority sent no Date header; clock not compared")),
            }
        }
    }
}
