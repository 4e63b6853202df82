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
    pub client_id: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_auth: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Certificate,
    Secret,
}

impl AuthMethod {
    pub fn label(self) -> &'static str {
        match self {
            AuthMethod::Certificate => "certificate",
            AuthMethod::Secret => "secret",
        }
    }
}

impl Profile {
    /// `useCertificate` wins; `authMethod` is its synonym; otherwise a profile
    /// with a certificate path or thumbprint uses it.
    pub fn auth_method(&self) -> AuthMethod {
        if let Some(use_cert) = self.use_certificate {
            return if use_cert { AuthMethod::Certificate } else { AuthMethod::Secret };
        }
        match self.auth_method.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("certificate") => AuthMethod::Certificate,
            Some("secret") | Some("clientsecret") => AuthMethod::Secret,
            _ if self.certificate_path.is_some() || self.certificate_thumbprint.is_some() => AuthMethod::Certificate,
            _ => AuthMethod::Secret,
        }
    }

    /// The default scope: `scope`, else the first of `scopes`.
    pub fn default_scope(&self) -> Option<&str> {
        self.scope.as_deref().or_else(|| self.scopes.as_ref().and_then(|s| s.first()).map(String::as_str))
    }

    /// Checks what a profile must have before it is saved.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        validate_guid("client ID", &self.client_id)?;
        validate_tenant(&self.tenant_id)?;
        if let Some(sub) = &self.subscription_id {
            validate_guid("subscription ID", sub)?;
        }
        if let Some(alg) = &self.assertion_algorithm
            && alg != "PS256"
            && alg != "RS256"
        {
            return Err(Error::config(format!(
                "profile '{}': assertionAlgorithm '{alg}' is not supported: use \"PS256\" (default) or \"RS256\"",
                self.name
            )));
        }
        if self.auth_method() == AuthMethod::Certificate
            && self.certificate_path.is_none()
            && self.certificate_thumbprint.is_none()
        {
            return Err(Error::config(format!(
                "profile '{}' uses certificate authentication but names no certificate: \
                 set it with `entratool config edit -p {} --certificate PATH`",
                self.name, self.name
            )));
        }
        Ok(())
    }
}

pub fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid profile name '{name}': use 1 to 64 letters, digits, '.', '_' or '-'")))
    }
}

pub fn is_guid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

pub fn validate_guid(what: &str, value: &str) -> Result<()> {
    if is_guid(value) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid {what} '{value}': expected a GUID like 12345678-1234-1234-1234-123456789abc \
             (copy it from the app registration's Overview page in the Azure portal)"
        )))
    }
}

/// A tenant is a GUID or a domain name such as `contoso.onmicrosoft.com`.
pub fn validate_tenant(value: &str) -> Result<()> {
    let is_domain = value.contains('.')
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if is_guid(value) || is_domain {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid tenant ID '{value}': expected a GUID or a domain name such as contoso.onmicrosoft.com"
        )))
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

/// The older layout: a bare array of profiles.
#[derive(Deserialize)]
#[serde(untagged)]
enum Layout {
    Object(ProfilesDoc),
    Array(Vec<Profile>),
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
        self.find(name).ok_or_else(|| unknown_profile(name, &self.names(), path))
    }
}

pub fn unknown_profile(name: &str, names: &[&str], path: &Path) -> Error {
    let known = if names.is_empty() {
        "there are no profiles yet".to_string()
    } else {
        format!("profiles: {}", names.join(", "))
    };
    Error::config(format!(
        "no profile named '{name}' in {} ({known}). Create it with `entratool config create --name {name} ...` \
         or list them with `entratool config list`",
        path.display()
    ))
}

/// profiles.json in the config folder.
pub struct Store {
    pub path: PathBuf,
}

impl Store {
    pub fn open() -> Result<Store> {
        Ok(Store { path: fsutil::config_dir()?.join("profiles.json") })
    }

    /// Reads the file; a missing file is an empty document.
    pub fn load(&self) -> Result<ProfilesDoc> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ProfilesDoc::default()),
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
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
        fsutil::atomic_write(&self.path, text.as_bytes())?;
        Ok(out)
    }
}

pub fn parse(text: &str, path: &Path) -> Result<ProfilesDoc> {
    if text.trim().is_empty() {
        return Ok(ProfilesDoc::default());
    }
    // Parse to a Value first so that syntax errors carry their own position,
    // then to the model for the shape errors.
    let value: Value = serde_json::from_str(text).map_err(|e| invalid_file(path, &e))?;
    let layout: Layout = match serde_json::from_str(text) {
        Ok(l) => l,
        Err(_) => return Err(shape_error(path, text, value)),
    };
    Ok(match layout {
        Layout::Object(doc) => doc,
        Layout::Array(profiles) => ProfilesDoc { profiles, ..Default::default() },
    })
}

fn invalid_file(path: &Path, e: &serde_json::Error) -> Error {
    Error::config(format!(
        "invalid profiles file {}:{}:{}: {e}. Fix the file by hand (entratool never overwrites a file it cannot read), \
         or move it away to start afresh",
        path.display(),
        e.line(),
        e.column()
    ))
}

/// Untagged enums lose the position of a shape error; parse again as the
/// specific layout to get it back.
fn shape_error(path: &Path, text: &str, value: Value) -> Error {
    let err = if value.is_array() {
        serde_json::from_str::<Vec<Profile>>(text).err()
    } else {
        serde_json::from_str::<ProfilesDoc>(text).err()
    };
    match err {
        Some(e) => invalid_file(path, &e),
        None => Error::config(format!(
            "invalid profiles file {}: expected an object with \"profiles\" or an array of profiles",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
