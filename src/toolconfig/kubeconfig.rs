//! Kubeconfigs: which file kubectl would change, what it says (contexts,
//! users), the exec entry `setup kubectl -p` writes, and the secrets any
//! view of the file must hide. The in-place editor is `yaml_edit`.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::Change;
use crate::error::{Error, Result};

/// A kubeconfig larger than this is not one.
pub const MAX_KUBECONFIG: u64 = 10 * 1024 * 1024;

pub use super::yaml_edit::replace_users;
pub use super::yaml_text::yaml11_is_string;

/// The kubeconfig's text and what it says; a missing one, or one that is
/// not UTF-8 YAML, is an error that names it.
pub fn parse(path: &Path) -> Result<(String, Value)> {
    let bytes = super::read(path, MAX_KUBECONFIG, "the kubeconfig")?.ok_or_else(|| {
        Error::config(format!("the kubeconfig {} does not exist", path.display()))
            .with_remedy("pass --kubeconfig FILE, or set KUBECONFIG (az aks get-credentials writes one)")
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::config(format!("{} is not UTF-8", path.display()))
            .with_remedy("fix the file by hand; it is never written")
    })?;
    let doc = parse_text(&text, path)?;
    Ok((text, doc))
}

fn parse_text(text: &str, path: &Path) -> Result<Value> {
    serde_yaml::from_str(text).map_err(|e| {
        Error::config(format!("{} is not a kubeconfig entratool can read", path.display()))
            .with_source(e)
            .with_remedy("fix the file by hand; entratool never writes a file it cannot read")
    })
}

/// The file a change goes to, and why that one (said in the output).
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub path: PathBuf,
    pub why: String,
    /// The context and its user, when they were found across `$KUBECONFIG`'s
    /// files (the file changed may hold the user but not the context).
    pub found: Option<(String, String)>,
}

impl Chosen {
    fn plain(path: PathBuf, why: &str) -> Chosen {
        Chosen { path, why: why.to_string(), found: None }
    }
}

/// `$KUBECONFIG`'s files as client-go lists them: split on the platform's
/// separator, empty entries dropped, each path once.
pub fn env_files() -> Vec<PathBuf> {
    let Some(value) = std::env::var_os("KUBECONFIG") else { return Vec::new() };
    let mut files: Vec<PathBuf> = Vec::new();
    for f in std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()) {
        if !files.contains(&f) {
            files.push(f);
        }
    }
    files
}

/// `~/.kube`, where kubectl keeps its config and kuberc.
pub fn kube_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().join(".kube"))
}

fn home_config() -> Result<PathBuf> {
    kube_dir()
        .map(|d| d.join("config"))
        .ok_or_else(|| Error::config("cannot find your home folder").with_remedy("pass --kubeconfig FILE"))
}

/// The file kubectl writes new entries to (client-go's `GetDefaultFilename`):
/// `--kubeconfig`; else with one `$KUBECONFIG` file that one, with several the
/// first that exists (the last when none does); else `~/.kube/config`.
pub fn default_file(explicit: Option<&Path>) -> Result<Chosen> {
    if let Some(p) = explicit {
        return Ok(Chosen::plain(p.to_path_buf(), "--kubeconfig"));
    }
    let files = env_files();
    match files.as_slice() {
        [] => Ok(Chosen::plain(home_config()?, "the default kubeconfig")),
        [only] => Ok(Chosen::plain(only.clone(), "$KUBECONFIG")),
        _ => match files.iter().find(|f| f.exists()) {
            Some(f) => Ok(Chosen::plain(f.clone(), "the first file of $KUBECONFIG that exists")),
            None => Ok(Chosen::plain(files[files.len() - 1].clone(), "the last file of $KUBECONFIG (none exists)")),
        },
    }
}

/// The file that holds the user of `context` (else the current context), as
/// kubectl would change it: `--kubeconfig` itself; else, of `$KUBECONFIG`'s
/// files (or `~/.kube/config`) merged as kubectl merges them (the first file
/// to set a value wins), the first that defines the context's user.
pub fn file_for_context(explicit: Option<&Path>, context: Option<&str>) -> Result<Chosen> {
    let files = match explicit {
        Some(p) => return Ok(Chosen::plain(p.to_path_buf(), "--kubeconfig")),
        None if env_files().is_empty() => return default_file(None),
        None => env_files(),
    };
    let mut docs = Vec::new();
    for f in files.iter().filter(|f| f.exists()) {
        docs.push((f.clone(), parse(f)?.1));
    }
    if docs.is_empty() {
        return Err(Error::config("none of the files in $KUBECONFIG exists")
            .with_remedy("set KUBECONFIG to your kubeconfig, or pass --kubeconfig FILE"));
    }
    let current = docs.iter().find_map(|(_, d)| d["current-context"].as_str().filter(|c| !c.is_empty()));
    let context = context.or(current).ok_or_else(no_current_context)?;
    let user = docs.iter().find_map(|(_, d)| user_of(d, context)).ok_or_else(|| no_context(context))?;
    let (path, _) = docs.iter().find(|(_, d)| item_of(d, &user).is_some()).ok_or_else(|| no_user(&user))?;
    let why = format!("the first file of $KUBECONFIG that defines user '{user}'");
    Ok(Chosen { path: path.clone(), why, found: Some((context.to_string(), user)) })
}

fn no_current_context() -> Error {
    Error::config("the kubeconfig has no current-context")
        .with_remedy("pass --context NAME (`kubectl config get-contexts` lists them)")
}

fn no_context(context: &str) -> Error {
    Error::config(format!("context '{context}' is not in the kubeconfig or has no user"))
        .with_remedy("list the contexts with `kubectl config get-contexts`")
}

fn no_user(user: &str) -> Error {
    Error::config(format!("no user '{user}' in the kubeconfig"))
        .with_remedy("add it with `kubectl config set-credentials NAME`, then run this again")
}

/// The user of context `name`.
fn user_of(doc: &Value, name: &str) -> Option<String> {
    doc["contexts"]
        .as_sequence()?
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .and_then(|c| c["context"]["user"].as_str())
        .filter(|u| !u.is_empty())
        .map(String::from)
}

/// The list item of user `name`.
pub fn item_of(doc: &Value, name: &str) -> Option<Value> {
    doc["users"].as_sequence()?.iter().find(|u| u["name"].as_str() == Some(name)).cloned()
}

/// The context asked for (else the current one) and its user's name.
pub fn context_and_user(doc: &Value, asked: Option<&str>) -> Result<(String, String)> {
    let current = doc["current-context"].as_str().filter(|c| !c.is_empty());
    let context = asked.or(current).ok_or_else(no_current_context)?;
    let user = user_of(doc, context).ok_or_else(|| no_context(context))?;
    Ok((context.to_string(), user))
}

/// What the exec entry of a user says: the command, its arguments, and
/// kubectl's settings for it.
pub struct ExecEntry<'a> {
    pub command: &'a str,
    pub args: Vec<String>,
    pub install_hint: &'a str,
    pub api_version: &'a str,
    /// kubectl passes the cluster's info (`provideClusterInfo`), for Arc PoP claims.
    pub provide_cluster_info: bool,
}

/// Points `user`'s entry at the exec plugin and drops its other credentials
/// (a static token or client certificate would win over the plugin, as
/// kubelogin's convert-kubeconfig also removes them). Returns the new item.
pub fn set_exec_user(doc: &mut Value, user: &str, exec: &ExecEntry) -> Result<Value> {
    let item = doc["users"]
        .as_sequence_mut()
        .and_then(|users| users.iter_mut().find(|u| u["name"].as_str() == Some(user)))
        .ok_or_else(|| no_user(user))?;
    let mut entry = match item.get("user") {
        Some(Value::Mapping(m)) => m.clone(),
        _ => serde_yaml::Mapping::new(),
    };
    for field in [
        "token",
        "tokenFile",
        "auth-provider",
        "username",
        "password",
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "exec",
    ] {
        entry.remove(field);
    }
    let mut fields = vec![
        ("apiVersion", Value::from(exec.api_version)),
        ("command", Value::from(exec.command)),
        ("args", Value::Sequence(exec.args.iter().map(|a| Value::from(a.as_str())).collect())),
        ("interactiveMode", Value::from("Never")),
        ("installHint", Value::from(exec.install_hint)),
    ];
    if exec.provide_cluster_info {
        fields.push(("provideClusterInfo", Value::from(true)));
    }
    let exec: serde_yaml::Mapping = fields.into_iter().map(|(k, v)| (Value::from(k), v)).collect();
    entry.insert("exec".into(), Value::Mapping(exec));
    item["user"] = Value::Mapping(entry);
    Ok(item.clone())
}

/// The change that replaces `users` (name and new item) in the file whose
/// text is `text`; `expected` is the whole document afterwards.
pub fn change(path: &Path, text: &str, users: &[(String, Value)], expected: &Value) -> Result<Change> {
    let before: Value = parse_text(text, path)?;
    // Nothing to change: the text stays as it is, to the byte.
    let after =
        if users.is_empty() || &before == expected { text.to_string() } else { replace_users(text, users, expected)? };
    let mut secrets = secret_values(&before);
    secrets.extend(secret_values(expected));
    Ok(Change {
        path: path.to_path_buf(),
        what: "the kubeconfig",
        before: Some(text.as_bytes().to_vec()),
        after: after.into_bytes(),
        secrets,
    })
}

/// Field names whose values are secrets in a kubeconfig (and in kubelogin's flags and variables).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase().replace(['_', '-'], "");
    ["token", "password", "secret", "keydata", "clientkey", "idtoken", "refreshtoken", "accesstoken", "certificatedata"]
        .iter()
        .any(|s| n.contains(s))
        && n != "tokenfile"
}

/// Every secret value in a kubeconfig: values of secret fields, of `env`
/// entries with a secret name, and after secret flags in `args`.
pub fn secret_values(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_secrets(doc, &mut found);
    found
}

fn collect_secrets(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            // An env entry: {name: AAD_SERVICE_PRINCIPAL_CLIENT_SECRET, value: …}.
            let env_secret = m.get("name").and_then(Value::as_str).is_some_and(is_secret_name);
            for (k, val) in m {
                let key = k.as_str().unwrap_or("");
                match val.as_str() {
                    Some(s) if is_secret_name(key) || (env_secret && key == "value") => found.push(s.to_string()),
                    _ => collect_secrets(val, found),
                }
            }
        }
        Value::Sequence(items) => {
            // Flags: `--client-secret X` or `--client-secret=X`.
            let mut next_is_secret = false;
            for item in items {
                match item.as_str() {
                    Some(s) if next_is_secret => {
                        found.push(s.to_string());
                        next_is_secret = false;
                    }
                    Some(s) if s.starts_with('-') && is_secret_name(s.split('=').next().unwrap_or("")) => {
                        match s.split_once('=') {
                            Some((_, value)) => found.push(value.to_string()),
                            None => next_is_secret = true,
                        }
                    }
                    _ => collect_secrets(item, found),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_wherever_a_kubeconfig_holds_them() {
        let doc: Value = serde_yaml::from_str(
            "users:\n- name: u\n  user:\n    token: T0KEN\n    client-key-data: KEYDATA\n    exec:\n      args: [get-token, \
             --client-secret, S3CRET, --password=PASSW0RD, --client-id, c]\n      env:\n      - {name: \
             AAD_SERVICE_PRINCIPAL_CLIENT_SECRET, value: ENVSECRET}\n      - {name: AZURE_TENANT_ID, value: t}\n",
        )
        .unwrap();
        let found = secret_values(&doc);
        for secret in ["T0KEN", "KEYDATA", "S3CRET", "PASSW0RD", "ENVSECRET"] {
            assert!(found.iter().any(|f| f == secret), "{secret} not found: {found:?}");
        }
        assert!(!found.iter().any(|f| f == "c" || f == "t"), "{found:?}");
    }
}
