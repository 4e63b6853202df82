//! profiles.json itself: read leniently (both layouts, unknown fields kept),
//! written strictly (object layout, pretty JSON, never a secret), changed
//! under a lock; a file that does not parse is never overwritten.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Profile;
use crate::error::{Error, Result};
use crate::fsutil;

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
    use crate::profile::{AuthMethod, validate_guid, validate_name, validate_tenant};

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
