//! kubectl's kuberc (Kubernetes 1.35's credential plugin policy): read,
//! never written. `credentialPluginPolicy` is `AllowAll` (the default),
//! `DenyAll` or `Allowlist`; `credentialPluginAllowlist` entries name a plugin
//! by absolute path or by a base name kubectl looks up on `PATH`
//! (docs/kubectl.md, "kubectl's plugin allowlist").

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::error::{Error, Result};

/// A kuberc is a few lines; anything much larger is not one.
const MAX_KUBERC: u64 = 1024 * 1024;

/// Where kubectl reads its kuberc: `$KUBERC` (`off` turns it off), else
/// `~/.kube/kuberc`. None: no kuberc is read.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("KUBERC") {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => super::kubeconfig::kube_dir().map(|d| d.join("kuberc")),
    }
}

/// A kuberc's credential plugin policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    AllowAll,
    DenyAll,
    /// The entries' names, as written.
    Allowlist(Vec<String>),
}

/// The policy of the kuberc at `path`; AllowAll when there is none.
pub fn policy(path: &Path) -> Result<Policy> {
    let Some(bytes) = super::read(path, MAX_KUBERC, "the kuberc")? else { return Ok(Policy::AllowAll) };
    let doc: Value = serde_yaml::from_slice(&bytes).map_err(|e| {
        Error::config(format!("{} is not YAML kubectl can read", path.display()))
            .with_source(e)
            .with_remedy("fix it by hand (kubectl refuses it too); entratool never writes it")
    })?;
    parse(&doc).map_err(|why| {
        Error::config(format!("{}: {why}", path.display()))
            .with_remedy("see kubectl's kuberc reference: credentialPluginPolicy is AllowAll, DenyAll or Allowlist")
    })
}

fn parse(doc: &Value) -> std::result::Result<Policy, String> {
    let names = match doc.get("credentialPluginAllowlist") {
        None | Some(Value::Null) => None,
        Some(Value::Sequence(entries)) => Some(
            entries
                .iter()
                .map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                .collect::<Option<Vec<String>>>()
                .ok_or("an entry of credentialPluginAllowlist has no name")?,
        ),
        Some(_) => return Err("credentialPluginAllowlist is not a list".into()),
    };
    match (doc.get("credentialPluginPolicy").and_then(Value::as_str), names) {
        (None | Some("AllowAll"), None) => Ok(Policy::AllowAll),
        (Some("DenyAll"), _) => Ok(Policy::DenyAll),
        (None | Some("Allowlist"), names) => Ok(Policy::Allowlist(names.unwrap_or_default())),
        (Some("AllowAll"), Some(_)) => Err("credentialPluginAllowlist is given with policy AllowAll".into()),
        (Some(other), _) => Err(format!("credentialPluginPolicy '{other}' is not one kubectl knows")),
    }
}

impl Policy {
    /// The policy as kuberc spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::AllowAll => "AllowAll",
            Policy::DenyAll => "DenyAll",
            Policy::Allowlist(_) => "Allowlist",
        }
    }

    /// Whether kubectl would run the plugin at `command` (an absolute path):
    /// an entry naming it by path, or by a base name that `PATH` resolves to it.
    pub fn allows(&self, command: &Path) -> bool {
        match self {
            Policy::AllowAll => true,
            Policy::DenyAll => false,
            Policy::Allowlist(names) => names.iter().any(|n| resolve(n).is_some_and(|p| same_file(&p, command))),
        }
    }
}

/// An entry's file: its path when it has a folder, else the first on `PATH`.
fn resolve(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.components().count() > 1 {
        return Some(p.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|c| c.is_file())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

impl Policy {
    /// What to change in the kuberc at `path` so that kubectl runs `command`:
    /// the exact entry (and, under DenyAll, the policy), as YAML lines.
    pub fn fix_for(&self, path: &Path, command: &Path) -> String {
        let entry = format!("- name: {}", command.display());
        match self {
            Policy::DenyAll => format!(
                "in {}, replace `credentialPluginPolicy: DenyAll` with:\n    credentialPluginPolicy: Allowlist\n    \
                 credentialPluginAllowlist:\n    {entry}",
                path.display()
            ),
            _ => format!("add this entry to credentialPluginAllowlist in {}:\n    {entry}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_of(text: &str) -> std::result::Result<Policy, String> {
        parse(&serde_yaml::from_str(text).unwrap())
    }

    #[test]
    fn policies_as_kubectl_reads_them() {
        let head = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n";
        assert_eq!(policy_of(head), Ok(Policy::AllowAll));
        assert_eq!(policy_of(&format!("{head}credentialPluginPolicy: DenyAll\n")), Ok(Policy::DenyAll));
        let list = format!("{head}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/bin/x\n");
        assert_eq!(policy_of(&list), Ok(Policy::Allowlist(vec!["/usr/bin/x".into()])));
        assert!(policy_of(&format!("{head}credentialPluginPolicy: Sometimes\n")).is_err());
        assert!(policy_of(&format!("{head}credentialPluginAllowlist:\n- path: /x\n")).is_err());
        let exe = std::env::current_exe().unwrap();
        assert!(Policy::Allowlist(vec![exe.display().to_string()]).allows(&exe));
        assert!(!Policy::Allowlist(vec!["/usr/bin/x".into()]).allows(&exe));
        assert!(!Policy::DenyAll.allows(&exe));
    }
}
