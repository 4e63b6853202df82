//! profiles.json: the model, validation, and locked atomic updates.
//!
//! The file is read leniently (both layouts, unknown fields kept) and written
//! strictly (object layout, pretty JSON, never a secret). A file that does not
//! parse is never overwritten.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fsutil;

/// One entry of a profile's `match` list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum MatchEntry {
    Pattern(String),
    Detailed {
        pattern: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
}

impl MatchEntry {
    pub fn pattern(&self) -> &str {
        match self {
            MatchEntry::Pattern(p) => p,
            MatchEntry::Detailed { pattern, .. } => pattern,
        }
    }
    pub fn scope(&self) -> Option<&str> {
        match self {
            MatchEntry::Pattern(_) => None,
            MatchEntry::Detailed { scope, .. } => scope.as_deref(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    /// Required but for managed identities (checked by `validate`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_key_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_thumbprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_store_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_certificate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_certificate_chain: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<MatchEntry>,
    /// workloadIdentity: the token file (else `$AZURE_FEDERATED_TOKEN_FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_token_file: Option<String>,
    /// githubActions (and azurePipelines): the audience of the OIDC token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_audience: Option<String>,
    /// azurePipelines: the service connection (else `$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connection_id: Option<String>,
    /// managedIdentity, user-assigned: one of these three; none = system-assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity_resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_auth: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The environment profile (`env`): made from the Azure SDK variables,
    /// its secrets read from them too, never from the keyring.
    #[serde(skip)]
    pub from_environment: bool,
}

/// The name of the profile made from the environment.
pub const ENV_PROFILE: &str = "env";

impl Profile {
    /// The environment profile, in DefaultAzureCredential's order:
    /// `AZURE_CLIENT_ID` + `AZURE_TENANT_ID` with `AZURE_CLIENT_SECRET`, else
    /// `AZURE_CLIENT_CERTIFICATE_PATH`, else `AZURE_FEDERATED_TOKEN_FILE`. Its
    /// `match` entries are `$ENTRATOOL_MATCH` (comma-separated). None when
    /// the variables do not make one.
    pub fn from_env() -> Option<Profile> {
        let var = |n: &str| std::env::var(n).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (client_id, tenant_id) = (var("AZURE_CLIENT_ID")?, var("AZURE_TENANT_ID")?);
        let mut p =
            Profile { name: ENV_PROFILE.into(), client_id, tenant_id, from_environment: true, ..Default::default() };
        if var("AZURE_CLIENT_SECRET").is_some() {
            p.auth_method = Some(AuthMethod::Secret.label().into());
        } else if let Some(path) = var("AZURE_CLIENT_CERTIFICATE_PATH") {
            p.auth_method = Some(AuthMethod::Certificate.label().into());
            p.certificate_path = Some(path);
        } else if let Some(path) = var("AZURE_FEDERATED_TOKEN_FILE") {
            p.auth_method = Some(AuthMethod::WorkloadIdentity.label().into());
            p.federated_token_file = Some(path);
        } else {
            return None;
        }
        p.matches = var("ENTRATOOL_MATCH")
            .map(|m| {
                m.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| MatchEntry::Pattern(x.into())).collect()
            })
            .unwrap_or_default();
        Some(p)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Certificate,
    Secret,
    /// A federated token in a file (AKS workload identity, any OIDC issuer).
    WorkloadIdentity,
    /// The GitHub Actions job's OIDC token.
    GithubActions,
    /// The Azure Pipelines job's OIDC token for a service connection.
    AzurePipelines,
    /// The Azure host's managed identity.
    ManagedIdentity,
}

impl AuthMethod {
    /// The name `config list` and `config show` print.
    pub fn label(self) -> &'static str {
        match self {
            AuthMethod::Certificate => "certificate",
            AuthMethod::Secret => "secret",
            AuthMethod::WorkloadIdentity => "workloadIdentity",
            AuthMethod::GithubActions => "githubActions",
            AuthMethod::AzurePipelines => "azurePipelines",
            AuthMethod::ManagedIdentity => "managedIdentity",
        }
    }

    /// `authMethod` as written in profiles.json, case-insensitively, with
    /// `-`/`_` ignored (`workload-identity`), and the older synonyms.
    pub fn parse(text: &str) -> Option<AuthMethod> {
        let folded: String = text.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect();
        Some(match folded.to_ascii_lowercase().as_str() {
            "certificate" => AuthMethod::Certificate,
            "secret" | "clientsecret" => AuthMethod::Secret,
            "workloadidentity" => AuthMethod::WorkloadIdentity,
            "githubactions" => AuthMethod::GithubActions,
            "azurepipelines" => AuthMethod::AzurePipelines,
            "managedidentity" => AuthMethod::ManagedIdentity,
            _ => return None,
        })
    }

    /// Needs no stored certificate or secret.
    pub fn is_secretless(self) -> bool {
        !matches!(self, AuthMethod::Certificate | AuthMethod::Secret)
    }
}

impl Profile {
    /// `useCertificate` wins; `authMethod` is its synonym; otherwise a profile
    /// with a certificate path or thumbprint uses it.
    pub fn auth_method(&self) -> AuthMethod {
        if let Some(use_cert) = self.use_certificate {
            return if use_cert { AuthMethod::Certificate } else { AuthMethod::Secret };
        }
        match self.auth_method.as_deref().and_then(AuthMethod::parse) {
            Some(m) => m,
            None if self.certificate_path.is_some() || self.certificate_thumbprint.is_some() => AuthMethod::Certificate,
            None => AuthMethod::Secret,
        }
    }

    /// Sets the method in the field the profile already uses: `useCertificate`
    /// for the seed's two methods unless the profile writes `authMethod`; the
    /// others are only expressible as `authMethod`.
    pub fn set_auth_method(&mut self, m: AuthMethod) {
        let seed_method = !m.is_secretless();
        if seed_method && !(self.auth_method.is_some() && self.use_certificate.is_none()) {
            self.use_certificate = Some(m == AuthMethod::Certificate);
            self.auth_method = None;
        } else {
            self.use_certificate = None;
            self.auth_method = Some(m.label().to_string());
        }
    }

    /// Applies a change (what `config create` and `config edit` were given).
    pub fn apply(&mut self, e: &Edit) -> Result<()> {
        if let Some(v) = &e.client_id {
            self.client_id = v.clone();
        }
        if let Some(v) = &e.tenant_id {
            self.tenant_id = v.clone();
        }
        if let Some(path) = &e.certificate {
            self.certificate_path = Some(absolute(path)?);
            self.certificate_thumbprint = None;
            self.set_auth_method(AuthMethod::Certificate);
        }
        if let Some(key) = &e.certificate_key {
            self.certificate_key_path = Some(absolute(key)?);
        }
        if let Some(t) = &e.certificate_thumbprint {
            self.certificate_thumbprint = Some(t.replace([' ', ':'], "").to_ascii_uppercase());
            self.certificate_path = None;
            self.certificate_key_path = None;
            self.set_auth_method(AuthMethod::Certificate);
        }
        if let Some(m) = e.method {
            self.set_auth_method(m);
        }
        if let Some(path) = &e.federated_token_file {
            self.federated_token_file = Some(absolute(path)?);
        }
        if let Some(v) = &e.service_connection_id {
            self.service_connection_id = Some(v.clone());
        }
        if let Some(v) = &e.managed_identity_client_id {
            self.managed_identity_client_id = Some(v.clone());
        }
        if let Some(v) = &e.scope {
            self.scope = Some(v.clone());
        }
        if let Some(v) = &e.cloud {
            crate::entra::cloud_authority(v)?;
            self.cloud = Some(v.clone());
        }
        if let Some(v) = &e.authority_host {
            crate::http::check_url(v)?;
            self.authority_host = Some(v.trim_end_matches('/').to_string());
        }
        for m in &e.matches {
            if !self.matches.iter().any(|x| x.pattern() == m) {
                self.matches.push(MatchEntry::Pattern(m.clone()));
            }
        }
        if e.send_certificate_chain {
            self.send_certificate_chain = Some(true);
        }
        if let Some(v) = &e.assertion_algorithm {
            self.assertion_algorithm = Some(v.to_ascii_uppercase());
        }
        if let Some(v) = &e.subscription_id {
            self.subscription_id = Some(v.clone());
        }
        Ok(())
    }

    /// The profile's authority host (`authorityHost`, else `cloud`, else the
    /// environment's, else the public cloud).
    pub fn authority(&self) -> Result<String> {
        crate::entra::authority_host(self.authority_host.as_deref(), self.cloud.as_deref())
    }

    /// Its app registration at that authority, for the Entra client.
    pub fn client_app(&self) -> Result<crate::entra::ClientApp> {
        Ok(crate::entra::ClientApp {
            authority: self.authority()?,
            tenant: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
        })
    }

    /// The default scope: `scope`, else the first of `scopes`.
    pub fn default_scope(&self) -> Option<&str> {
        self.scope.as_deref().or_else(|| self.scopes.as_ref().and_then(|s| s.first()).map(String::as_str))
    }

    /// Checks what a profile must have before it is saved.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        let method = self.auth_method();
        // A managed identity needs neither: the host knows who it is.
        let optional = method == AuthMethod::ManagedIdentity;
        if !(optional && self.client_id.is_empty()) {
            validate_guid("client ID", &self.client_id)?;
        }
        if !(optional && self.tenant_id.is_empty()) {
            validate_tenant(&self.tenant_id)?;
        }
        if method == AuthMethod::ManagedIdentity {
            let selectors = [
                &self.managed_identity_client_id,
                &self.managed_identity_object_id,
                &self.managed_identity_resource_id,
            ];
            if selectors.iter().filter(|s| s.is_some()).count() > 1 {
                return Err(Error::config(format!(
                    "profile '{}' names more than one of managedIdentityClientId, managedIdentityObjectId and \
                     managedIdentityResourceId",
                    self.name
                ))
                .with_remedy("keep the one that names the user-assigned identity (none for the system-assigned one)"));
            }
            if let Some(id) = &self.managed_identity_client_id {
                validate_guid("managed identity client ID", id)?;
            }
        }
        if let Some(sub) = &self.subscription_id {
            validate_guid("subscription ID", sub)?;
        }
        if let Some(alg) = &self.assertion_algorithm
            && alg != "PS256"
            && alg != "RS256"
        {
            return Err(Error::config(format!("profile '{}': assertionAlgorithm '{alg}' is not supported", self.name))
                .with_remedy("use \"PS256\" (default) or \"RS256\""));
        }
        if self.auth_method() == AuthMethod::Certificate
            && self.certificate_path.is_none()
            && self.certificate_thumbprint.is_none()
        {
            return Err(Error::config(format!(
                "profile '{}' uses certificate authentication but names no certificate",
                self.name
            ))
            .with_remedy(format!("set it with `entratool config edit -p {} --certificate PATH`", self.name)));
        }
        Ok(())
    }

    /// `validate` for a profile read from profiles.json: a bad field there is
    /// a configuration error (exit 3) that names the file.
    pub fn check_stored(&self, path: &Path) -> Result<()> {
        self.validate().map_err(|e| Error {
            kind: crate::error::Kind::Config,
            message: format!("{} in {}", e.message, path.display()),
            ..e
        })
    }
}

/// A change to a profile: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub certificate: Option<PathBuf>,
    pub certificate_key: Option<PathBuf>,
    pub certificate_thumbprint: Option<String>,
    /// The method, when it is not implied by a certificate.
    pub method: Option<AuthMethod>,
    pub federated_token_file: Option<PathBuf>,
    pub service_connection_id: Option<String>,
    pub managed_identity_client_id: Option<String>,
    pub scope: Option<String>,
    pub cloud: Option<String>,
    pub authority_host: Option<String>,
    pub matches: Vec<String>,
    pub send_certificate_chain: bool,
    pub assertion_algorithm: Option<String>,
    pub subscription_id: Option<String>,
}

fn absolute(path: &Path) -> Result<String> {
    let abs = std::path::absolute(path)
        .map_err(|e| Error::usage(format!("cannot resolve the path {}", path.display())).with_source(e))?;
    Ok(abs.to_string_lossy().into_owned())
}

pub fn validate_name(name: &str) -> Result<()> {
    // `.` and `..` are folder names: a cache file or backup named after them would be confusing at best.
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid profile name '{name}'"))
            .with_remedy("use 1 to 64 letters, digits, '.', '_' or '-' (not . or ..)"))
    }
}

pub fn is_guid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

pub fn validate_guid(what: &str, value: &str) -> Result<()> {
    if is_guid(value) {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid {what} '{value}': not a GUID")).with_remedy(
            "give a GUID like 12345678-1234-1234-1234-123456789abc (copy it from the app registration's Overview \
             page in the Azure portal)",
        ))
    }
}

/// A tenant is a GUID or a domain name such as `contoso.onmicrosoft.com`.
pub fn validate_tenant(value: &str) -> Result<()> {
    let is_domain = value.contains('.') && crate::net::is_dns_name(value);
    if is_guid(value) || is_domain {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid tenant ID '{value}': neither a GUID nor a domain name"))
            .with_remedy("give the directory (tenant) ID, a GUID, or a domain such as contoso.onmicrosoft.com"))
    }
}

/// The whole file, in the object layout.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProfilesDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: Vec<Profile>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProfilesDoc {
    pub fn find(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    pub fn find_mut(&mut self, name: &str) -> Option<&mut Profile> {
        self.profiles.iter_mut().find(|p| p.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }

    /// The profile named `name`, or a configuration error listing what exists.
    pub fn get(&self, name: &str, path: &Path) -> Result<&Profile> {
        self.find(name).ok_or_else(|| unknown_profile(name, &self.names(), path, "-p"))
    }
}

/// No profile `name`, which `given_by` named (`-p`, `$ENTRATOOL_PROFILE`, `defaultProfile`).
pub fn unknown_profile(name: &str, names: &[&str], path: &Path, given_by: &str) -> Error {
    let known = if names.is_empty() {
        "there are no profiles yet".to_string()
    } else {
        format!("profiles: {}", names.join(", "))
    };
    let remedy = match near_miss(name, names) {
        Some(close) => format!("did you mean '{close}'?"),
        None => format!(
            "create it with `entratool config create --name {name} ...`, or list them with `entratool config list`"
        ),
    };
    let by = match given_by {
        "-p" => String::new(),
        other => format!(" (named by {other})"),
    };
    Error::config(format!("no profile named '{name}'{by} in {} ({known})", path.display())).with_remedy(remedy)
}

/// The known name closest to `name`: the same but for case, or at most two
/// edits away (one for short names).
pub fn near_miss<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    let limit = if name.len() <= 4 { 1 } else { 2 };
    names
        .iter()
        .map(|n| (edit_distance(&name.to_ascii_lowercase(), &n.to_ascii_lowercase()), *n))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// profiles.json larger than this is not a profiles file.
pub const MAX_PROFILES: u64 = 10 * 1024 * 1024;

/// A profiles file (or an import) that cannot be read as one.
pub fn unreadable(path: &Path, e: fsutil::ReadError) -> Error {
    match e {
        fsutil::ReadError::Io(io) => Error::io("read", path, io),
        fsutil::ReadError::NotRegular => Error::config(format!("{} is not a regular file", path.display()))
            .with_remedy("a FIFO, device or folder is never read: replace it with the JSON file"),
        fsutil::ReadError::Untrusted(e) => e,
        fsutil::ReadError::TooLarge(n) => {
            Error::config(format!("{} is {n} bytes, larger than a profiles file", path.display()))
                .with_remedy(format!("profiles files are at most {MAX_PROFILES} bytes: check what the path names"))
        }
    }
}

/// profiles.json in the config folder.
pub struct ProfilesFile {
    pub path: PathBuf,
}

impl ProfilesFile {
    pub fn open() -> Result<ProfilesFile> {
        Ok(ProfilesFile { path: fsutil::config_dir()?.join("profiles.json") })
    }

    /// Reads the file; a missing file is an empty document.
    pub fn load(&self) -> Result<ProfilesDoc> {
        if let Some(dir) = self.path.parent() {
            fsutil::check_trusted_folder(dir)?;
        }
        let bytes = match fsutil::read_trusted(&self.path, MAX_PROFILES, fsutil::Links::Follow) {
            Ok(b) => b,
            Err(fsutil::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ProfilesDoc::default());
            }
            Err(e) => return Err(unreadable(&self.path, e)),
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::config(format!("{} is not UTF-8 text", self.path.display()))
                .with_remedy("fix the file by hand, or move it away to start afresh")
        })?;
        parse(&text, &self.path)
    }

    /// Read, change and write back under the lock, so concurrent updates
    /// never lose one another. Nothing is written when `change` fails.
    pub fn update<T>(&self, change: impl FnOnce(&mut ProfilesDoc) -> Result<T>) -> Result<T> {
        let _lock = fsutil::lock(&self.path.with_extension("json.lock"))?;
        let mut doc = self.load()?;
        let out = change(&mut doc)?;
        let mut text =
            serde_json::to_string_pretty(&doc).map_err(|e| Error::config(format!("cannot serialise profiles: {e}")))?;
        text.push('\n');
        fsutil::replace_keeping_link(&self.path, text.as_bytes())?;
        Ok(out)
    }
}

/// Reads either layout, in one pass (this runs on every cache hit): the
/// first character says which; a syntax or shape error carries its position.
pub fn parse(text: &str, path: &Path) -> Result<ProfilesDoc> {
    let body = text.trim_start();
    if body.is_empty() {
        return Ok(ProfilesDoc::default());
    }
    let doc = if body.starts_with('[') {
        serde_json::from_str::<Vec<Profile>>(text).map(|profiles| ProfilesDoc { profiles, ..Default::default() })
    } else {
        serde_json::from_str::<ProfilesDoc>(text)
    };
    let doc = doc.map_err(|e| invalid_file(path, &e))?;
    let mut names: Vec<&str> = doc.names();
    names.sort_unstable();
    let twice: Vec<&str> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    if !twice.is_empty() {
        return Err(Error::config(format!("{} has more than one profile named {}", path.display(), twice.join(", ")))
            .with_remedy("rename or remove the extra ones by hand: a name must say which profile it means"));
    }
    refuse_secrets(&doc, path)?;
    Ok(doc)
}

/// Field names that hold secrets in other tools' files (`clientSecret`,
/// `password`, `access_token`, ...), compared lower-case without `_`/`-`.
const SECRET_FIELDS: [&str; 6] = ["secret", "password", "passwd", "privatekey", "accesstoken", "refreshtoken"];

fn is_secret_field(name: &str) -> bool {
    let folded: String = name.chars().filter(|c| !matches!(c, '_' | '-')).collect::<String>().to_ascii_lowercase();
    SECRET_FIELDS.iter().any(|s| folded.contains(s))
}

/// A profiles.json holding a secret (a hand-added `clientSecret`) is refused:
/// entratool keeps unknown fields and would echo it in `config show`,
/// `export` and rewrites. The field's value is never shown.
fn refuse_secrets(doc: &ProfilesDoc, path: &Path) -> Result<()> {
    let top = doc.extra.keys().find(|k| is_secret_field(k)).map(|k| (None, k));
    let found = top.or_else(|| {
        doc.profiles.iter().find_map(|p| p.extra.keys().find(|k| is_secret_field(k)).map(|k| (Some(&p.name), k)))
    });
    let Some((profile, field)) = found else { return Ok(()) };
    let whose = profile.map_or_else(String::new, |p| format!(" of profile '{p}'"));
    let store = match profile {
        Some(p) => format!("store it with `entratool config edit -p {p} --secret-stdin` (or"),
        None => "pass it in".to_string(),
    };
    Err(Error::config(format!("{} holds a secret in the field '{field}'{whose}", path.display())).with_remedy(format!(
        "remove that field by hand (entratool keeps no secret in profiles.json); {store} \
         ENTRATOOL_CLIENT_SECRET / ENTRATOOL_CERTIFICATE_PASSWORD{}",
        if profile.is_some() { ")" } else { "" }
    )))
}

fn invalid_file(path: &Path, e: &serde_json::Error) -> Error {
    Error::config(format!("invalid profiles file {}:{}:{}", path.display(), e.line(), e.column()))
        .with_source(e)
        .with_remedy(
            "fix the file by hand (entratool never overwrites a file it cannot read), or move it away to start afresh",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses() {
        let names = ["production-service", "staging", "dev"];
        assert_eq!(near_miss("Production-Service", &names), Some("production-service"));
        assert_eq!(near_miss("stagign", &names), Some("staging"));
        assert_eq!(near_miss("dve", &names), None, "two edits is too far for a short name");
        assert_eq!(near_miss("qa", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_secret_in_profiles_json_is_refused_without_showing_it() {
        let path = Path::new("/p.json");
        let text = r#"{"profiles": [{"name": "a", "clientId": "x", "tenantId": "t", "client_Secret": "hunter2"}]}"#;
        let e = parse(text, path).unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Config);
        assert!(e.to_string().contains("'client_Secret' of profile 'a'"), "{e}");
        assert!(!e.report("", "").contains("hunter2"));
        assert!(e.remedy.unwrap().contains("config edit -p a --secret-stdin"));
        assert!(parse(r#"{"accessToken": "x", "profiles": []}"#, path).is_err());
        assert!(
            parse(r#"[{"name": "a", "clientId": "x", "tenantId": "t", "certificatePassword": "p"}]"#, path).is_err()
        );
        assert!(
            parse(r#"{"profiles": [{"name": "a", "clientId": "x", "tenantId": "t", "color": "red"}]}"#, path).is_ok()
        );
    }

    #[test]
    fn reads_both_layouts_and_keeps_unknown_fields() {
        let p = Path::new("p.json");
        let arr = r#"[{"name":"a","clientId":"12345678-1234-1234-1234-123456789abc","tenantId":"t.example.com","color":"red"}]"#;
        let doc = parse(arr, p).unwrap();
        assert_eq!(doc.profiles[0].extra["color"], "red");
        let out = serde_json::to_value(&doc).unwrap();
        assert_eq!(out["profiles"][0]["color"], "red");
        let obj = r#"{"future":1,"profiles":[],"defaultProfile":"a"}"#;
        let doc = parse(obj, p).unwrap();
        assert_eq!(doc.extra["future"], 1);
        assert_eq!(doc.default_profile.as_deref(), Some("a"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let text = r#"{"profiles": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}"#;
        let err = parse(text, Path::new("/x/profiles.json")).unwrap_err();
        assert_eq!(err.kind, crate::error::Kind::Config);
        assert!(err.message.contains("more than one profile named a"), "{}", err.message);
    }

    #[test]
    fn shape_errors_carry_line_and_column() {
        let text = "{\n  \"profiles\": [\n    {\"name\": 5}\n  ]\n}";
        let err = parse(text, Path::new("/x/profiles.json")).unwrap_err();
        assert!(err.message.contains("/x/profiles.json:3:"), "{}", err.message);
    }

    #[test]
    fn auth_method_synonyms() {
        let mut p = Profile { auth_method: Some("ClientSecret".into()), ..Default::default() };
        assert_eq!(p.auth_method(), AuthMethod::Secret);
        p.auth_method = Some("Certificate".into());
        assert_eq!(p.auth_method(), AuthMethod::Certificate);
        p.use_certificate = Some(false);
        assert_eq!(p.auth_method(), AuthMethod::Secret);
    }

    #[test]
    fn default_scope_falls_back_to_the_first_of_scopes() {
        let mut p = Profile { scopes: Some(vec!["a/.default".into(), "b/.default".into()]), ..Default::default() };
        assert_eq!(p.default_scope(), Some("a/.default"));
        p.scope = Some("s/.default".into());
        assert_eq!(p.default_scope(), Some("s/.default"));
    }

    #[test]
    fn tenant_and_guid_rules() {
        assert!(validate_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(validate_tenant("87654321-4321-4321-4321-cba987654321").is_ok());
        assert!(validate_tenant("common").is_err());
        assert!(validate_guid("client ID", "1234").is_err());
        assert!(validate_guid("client ID", "{12345678-1234-1234-1234-123456789abc}").is_err());
        assert!(validate_name("ok.name_1-2").is_ok());
        assert!(validate_name("bad name").is_err());
        assert!(validate_name(".").is_err() && validate_name("..").is_err());
        assert!(validate_name("...").is_ok() && validate_name(".hidden").is_ok());
    }
}
