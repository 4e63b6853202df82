//! git's config: `credential.<URL>.helper` and `useHttpPath` for one URL, in
//! the global config (or a given file). What changes is worked out by git
//! itself on a copy of the file, so the plan is exactly what git would
//! write; the file is then replaced under git's own lock (`<file>.lock`, as
//! git takes it), after a backup.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Change;
use crate::error::{Error, Result};

/// A git config file larger than this is not one.
const MAX_CONFIG: u64 = 10 * 1024 * 1024;

/// The helper command line git runs for a profile: `!"EXE" git-credential -p NAME`.
pub fn helper_command(exe: &Path, profile: &str) -> Result<String> {
    let exe = exe.to_str().ok_or_else(|| {
        Error::config("the path of entratool is not UTF-8").with_remedy("move entratool to a plain path")
    })?;
    if exe.contains(['"', '\'', '\\', '$', '`']) {
        return Err(Error::config(format!("cannot quote the path {exe} for git's config"))
            .with_remedy("move entratool to a path without quotes, backslashes, $ or `"));
    }
    Ok(format!("!\"{exe}\" git-credential -p {profile}"))
}

/// `--url` as it goes into git's config and the profile's `match`: an
/// https URL (http to loopback) without a user name or password (which would
/// put a credential in both), without a trailing `/`.
pub fn url_prefix(given: &str) -> Result<String> {
    let url = url::Url::parse(given).map_err(|e| {
        Error::usage(format!("invalid --url '{}'", crate::trace::url_text_for_trace(given))).with_source(e)
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::usage("--url has a user name or password in it (not shown here)").with_remedy(
            "give the URL without them, e.g. https://dev.azure.com/contoso: entratool supplies the credential",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::usage("--url has a query or fragment")
            .with_remedy("give the URL prefix alone, e.g. https://dev.azure.com/contoso"));
    }
    crate::http::check_url(url.as_str())?;
    Ok(given.trim_end_matches('/').to_string())
}

/// Which config file is written.
#[derive(Debug, Clone)]
pub enum Scope {
    /// git's global config (`git config --global`).
    Global,
    /// A file given with `--file`.
    File(PathBuf),
}

impl Scope {
    /// The `git config` arguments that name it.
    pub fn args(&self) -> Vec<String> {
        match self {
            Scope::Global => vec!["--global".into()],
            Scope::File(f) => vec!["--file".into(), f.display().to_string()],
        }
    }

    /// The file itself: `--file`, or the one `git config --global` writes
    /// (`$GIT_CONFIG_GLOBAL`, else `~/.gitconfig`, else an existing
    /// `$XDG_CONFIG_HOME/git/config`).
    pub fn path(&self) -> Result<PathBuf> {
        match self {
            Scope::File(f) => Ok(f.clone()),
            Scope::Global => {
                if let Some(p) = std::env::var_os("GIT_CONFIG_GLOBAL").filter(|v| !v.is_empty()) {
                    return Ok(PathBuf::from(p));
                }
                let home = directories::BaseDirs::new()
                    .map(|b| b.home_dir().to_path_buf())
                    .ok_or_else(|| Error::config("cannot find your home folder").with_remedy("pass --file FILE"))?;
                let dotfile = home.join(".gitconfig");
                let xdg = std::env::var_os("XDG_CONFIG_HOME")
                    .filter(|v| !v.is_empty())
                    .map_or_else(|| home.join(".config"), PathBuf::from)
                    .join("git")
                    .join("config");
                Ok(if !dotfile.exists() && xdg.is_file() { xdg } else { dotfile })
            }
        }
    }
}

/// What `setup git` changes: the `git config` commands (to show), and the file's change.
pub struct Plan {
    pub commands: Vec<Vec<String>>,
    pub change: Change,
    /// Helpers of the scope written that also answer the URL: kept, after entratool's.
    pub fallbacks: Vec<String>,
}

/// The helper entries for `url`: git asks helpers in config order and stops
/// at the first complete answer, so an empty value resets the list for this
/// URL, then entratool's helper, then the scope's other helpers for it as
/// fallbacks (for every other host they stay as they are).
pub fn plan(scope: &Scope, url: &str, ours: &str) -> Result<Plan> {
    let path = scope.path()?;
    let before = super::read(&path, MAX_CONFIG, "the git config")?;
    let fallbacks: Vec<String> =
        helpers_for(url, scope)?.into_iter().filter(|h| !h.contains(" git-credential -p ")).collect();
    let key = format!("credential.{url}.helper");
    let http_path = format!("credential.{url}.useHttpPath");
    // Both keys unset, then set in one order: a rerun writes the same bytes, so it changes nothing.
    let mut commands =
        vec![vec!["--unset-all".to_string(), key.clone()], vec!["--unset-all".to_string(), http_path.clone()]];
    for v in std::iter::once(String::new()).chain(std::iter::once(ours.to_string())).chain(fallbacks.iter().cloned()) {
        commands.push(vec!["--add".into(), key.clone(), v]);
    }
    commands.push(vec!["--add".into(), http_path, "true".into()]);
    let after = run_on_copy(before.as_deref(), &commands)?;
    let change = Change { path, what: "the git config", before, after, secrets: Vec::new() };
    Ok(Plan { commands: commands.into_iter().map(|c| with_scope(scope, c)).collect(), change, fallbacks })
}

fn with_scope(scope: &Scope, command: Vec<String>) -> Vec<String> {
    let mut full = vec!["git".to_string(), "config".to_string()];
    full.extend(scope.args());
    full.extend(command);
    full
}

/// A command as a shell takes it: each word single-quoted when it needs to be.
pub fn shell_line(words: &[String]) -> String {
    let quote = |w: &String| {
        if !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b)) {
            w.clone()
        } else {
            format!("'{}'", w.replace('\'', "'\\''"))
        }
    };
    words.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// The file as git leaves it after `commands`, worked out on a copy.
fn run_on_copy(before: Option<&[u8]>, commands: &[Vec<String>]) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir().map_err(|e| Error::config("cannot make a temporary folder").with_source(e))?;
    let copy = dir.path().join("config");
    std::fs::write(&copy, before.unwrap_or_default()).map_err(|e| Error::io("write", &copy, e))?;
    for command in commands {
        let mut c = git();
        c.arg("--file").arg(&copy).args(command);
        let out = c.output().map_err(cannot_run_git)?;
        // `--unset-all` of a key that is not there exits 5: nothing to remove.
        let nothing_to_unset = command[0] == "--unset-all" && out.status.code() == Some(5);
        if !out.status.success() && !nothing_to_unset {
            return Err(Error::config(format!("git config failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
    }
    std::fs::read(&copy).map_err(|e| Error::io("read", &copy, e))
}

fn git() -> Command {
    let mut c = Command::new("git");
    c.arg("config");
    c
}

fn cannot_run_git(e: std::io::Error) -> Error {
    Error::config("cannot run git").with_source(e).with_remedy("install git and put it on PATH")
}

/// The helpers git would ask for `url` in the scope written, in order (git's
/// reset, an empty value, clears the list).
fn helpers_for(url: &str, scope: &Scope) -> Result<Vec<String>> {
    let mut kept = Vec::new();
    for (_, key, value) in read_helpers(Some(scope))? {
        if !applies(&key, url) {
            continue;
        }
        if value.is_empty() {
            kept.clear();
        } else {
            kept.push(value);
        }
    }
    Ok(kept)
}

/// Helpers of other scopes (system, a repository's own, `includeIf`) that
/// answer `url`, as (scope, helper): listed, never copied (a repository's
/// `!shell` helper must not run for every repository).
pub fn helpers_elsewhere(url: &str, scope: &Scope) -> Result<Vec<(String, String)>> {
    if matches!(scope, Scope::File(_)) {
        return Ok(Vec::new());
    }
    Ok(read_helpers(None)?
        .into_iter()
        .filter(|(s, k, v)| s != "global" && applies(k, url) && !v.is_empty())
        .map(|(s, _, v)| (s, v))
        .collect())
}

/// Whether a `credential.<prefix>.helper` (or `credential.helper`) key applies to `url`.
fn applies(key: &str, url: &str) -> bool {
    match key.strip_prefix("credential.").and_then(|r| r.strip_suffix(".helper")) {
        None => key == "credential.helper",
        Some(prefix) => {
            let prefix = prefix.trim_end_matches('/');
            url == prefix || url.starts_with(&format!("{prefix}/"))
        }
    }
}

/// (scope, key, value) of every credential helper in `scope` (None: all scopes).
fn read_helpers(scope: Option<&Scope>) -> Result<Vec<(String, String, String)>> {
    let mut c = git();
    if let Some(s) = scope {
        c.args(s.args());
    }
    c.args(["--show-scope", "--get-regexp", r"^credential\..*helper$|^credential\.helper$"]);
    let out = c.output().map_err(cannot_run_git)?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (scope, rest) = line.split_once('\t')?;
            let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
            Some((scope.to_string(), k.to_string(), v.to_string()))
        })
        .collect())
}

/// A plan's file as it is now, re-read under git's lock: when another git
/// changed it since the plan was made, the caller plans again.
pub fn still_current(plan: &Plan) -> Result<bool> {
    Ok(super::read(&plan.change.path, MAX_CONFIG, "the git config")? == plan.change.before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_are_refused_unshown() {
        let e = url_prefix("https://user:PAT1234@dev.azure.com/contoso").unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Usage);
        assert!(!e.report("", "").contains("PAT1234"), "{}", e.report("", ""));
        assert_eq!(url_prefix("https://dev.azure.com/contoso/").unwrap(), "https://dev.azure.com/contoso");
        assert!(url_prefix("http://dev.azure.com/x").is_err());
    }

    #[test]
    fn shell_lines_paste() {
        let words: Vec<String> =
            ["git", "config", "--global", "--add", "credential.https://x.helper", "", "!\"/usr/bin/e\" it's"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(
            shell_line(&words),
            "git config --global --add credential.https://x.helper '' '!\"/usr/bin/e\" it'\\''s'"
        );
    }
}
