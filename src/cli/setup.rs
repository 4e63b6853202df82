//! `entratool setup kubectl|git|docker` and `entratool install`: wiring the
//! tools to entratool without touching anything else in their configs.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, Subcommand};
use serde_json::Value;

use entratool::error::{Error, Result};
use entratool::profile::{self, MatchEntry};
use entratool::protocols::{kubeconfig, kubectl};

#[derive(Subcommand, Debug)]
pub enum SetupCommand {
    /// Point a kubeconfig context's user at `entratool get-token` (exec plugin)
    Kubectl(KubectlArgs),
    /// Make git use entratool for a URL (and bind the URL to the profile)
    Git(GitArgs),
    /// Make docker/podman/skopeo use entratool for a registry (and bind it to the profile)
    Docker(DockerArgs),
}

#[derive(Args, Debug)]
pub struct KubectlArgs {
    /// The profile whose tokens kubectl gets
    #[arg(short = 'p', long = "profile", value_name = "NAME", required_unless_present = "from_kubelogin")]
    pub profile: Option<String>,
    /// Convert every user that runs `kubelogin get-token` (or the --context's) to entratool
    #[arg(long, conflicts_with = "profile")]
    pub from_kubelogin: bool,
    /// Print what would change (secrets as ********), change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Resource application id of the cluster's API server (default: AKS)
    #[arg(long, value_name = "ID", default_value = kubectl::AKS_SERVER_ID)]
    pub server_id: String,
    /// The kubeconfig to change (default: the first of $KUBECONFIG, else ~/.kube/config)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Context to change (default: the current context)
    #[arg(long, value_name = "CTX")]
    pub context: Option<String>,
}

#[derive(Args, Debug)]
pub struct GitArgs {
    /// The profile that answers git for the URL
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    /// e.g. https://dev.azure.com/contoso
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Write to this git config file instead of the global one
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct DockerArgs {
    /// The profile that answers docker for the registry
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    /// e.g. contoso.azurecr.io
    #[arg(long, value_name = "HOST")]
    pub registry: String,
    /// Print what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Where to create the links (default: the folder of this binary)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Also create the `az` shim (shadows a real Azure CLI on PATH)
    #[arg(long)]
    pub az: bool,
    /// Also create the `azd` shim (shadows a real Azure Developer CLI on PATH)
    #[arg(long)]
    pub azd: bool,
}

pub fn run(cmd: SetupCommand) -> Result<()> {
    match cmd {
        SetupCommand::Kubectl(a) => setup_kubectl(a),
        SetupCommand::Git(a) => setup_git(a),
        SetupCommand::Docker(a) => setup_docker(a),
    }
}

fn current_exe() -> Result<PathBuf> {
    std::env::current_exe().map_err(|e| Error::config(format!("cannot find the entratool binary: {e}")))
}

/// Runs a tool, turning failure into a message that names it.
fn run_tool(cmd: &mut Command, what: &str) -> Result<String> {
    let out =
        cmd.output().map_err(|e| Error::config(format!("cannot run {what}: {e}. Is it installed and on PATH?")))?;
    if !out.status.success() {
        return Err(Error::config(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Adds a `match` entry to a profile (once).
fn bind_to_profile(name: &str, pattern: &str) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    store.update(|doc| {
        doc.get(name, &store.path)?;
        if let Some(p) = doc.find_mut(name)
            && !p.matches.iter().any(|e| e.pattern() == pattern)
        {
            p.matches.push(MatchEntry::Pattern(pattern.to_string()));
        }
        Ok(())
    })
}

fn ensure_profile(name: &str) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    store.load()?.get(name, &store.path).map(|_| ())
}

/// Like kubelogin's convert-kubeconfig: the context's user becomes an exec
/// plugin; kubectl itself edits the file, so everything else stays.
/// Removes the temporary files a killed write of ours left beside `file`
/// (a killed conversion's holds the kubeconfig, secrets included).
fn remove_our_leftovers(file: &Path) {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        entratool::fsutil::remove_stale_temporaries(dir);
    }
}

fn setup_kubectl(a: KubectlArgs) -> Result<()> {
    let file = kubeconfig_file(a.kubeconfig.as_deref())?;
    remove_our_leftovers(&file);
    if a.from_kubelogin {
        return super::kubelogin::convert(&file, a.context.as_deref(), a.dry_run);
    }
    let profile = a.profile.clone().unwrap_or_default();
    ensure_profile(&profile)?;
    let exe = current_exe()?;
    let exe = exe.to_string_lossy();
    let exec_args = ["get-token", "-p", &profile, "--server-id", &a.server_id, "--output", "exec-credential"];
    if a.dry_run {
        let (_, doc) = kubeconfig::parse(&file)?;
        let (context, user) = context_and_user(&doc, a.context.as_deref(), &file)?;
        entratool::outln!("would set user '{user}' of context '{context}' in {}:", file.display());
        entratool::outln!(
            "  exec: {{apiVersion: {}, command: {exe}, args: [{}], interactiveMode: Never, installHint: ...}}",
            kubectl::V1,
            exec_args.join(", ")
        );
        entratool::outln!(
            "would remove that user's other credentials, if it has them (token, tokenFile, auth-provider, username, \
             password, client certificate and key; their values are never shown)"
        );
        entratool::outln!("would keep a backup of the file first; nothing else changes");
        entratool::outln!("(dry run: nothing was changed)");
        return Ok(());
    }
    // Under kubectl's own lock: the file as it is now, only this user's entry changed in place.
    let _lock = entratool::fsutil::lock_their_file(&file)?;
    let (text, doc) = kubeconfig::parse(&file)?;
    let (context, user) = context_and_user(&doc, a.context.as_deref(), &file)?;
    let mut changed = doc;
    let item = exec_user(&mut changed, &user, &exe, &exec_args)?;
    let edited = kubeconfig::replace_users(&text, &[(user.clone(), item)], &changed)?;
    let backup = kubeconfig::write(&file, &text, &edited)?;
    entratool::outln!("✓ Context '{context}' (user '{user}') now gets tokens from entratool profile '{}'", profile);
    entratool::outln!("  backup of the file as it was: {} (copy it back to undo)", backup.display());
    Ok(())
}

/// The context asked for (else the current one) and its user's name.
fn context_and_user(doc: &serde_yaml::Value, asked: Option<&str>, file: &Path) -> Result<(String, String)> {
    let context = match asked.map(str::to_string).or_else(|| doc["current-context"].as_str().map(str::to_string)) {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Err(Error::config(format!("the kubeconfig {} has no current-context", file.display()))
                .with_remedy("pass --context NAME (`kubectl config get-contexts` lists them)"));
        }
    };
    let user = doc["contexts"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|c| c["name"].as_str() == Some(context.as_str()))
        .and_then(|c| c["context"]["user"].as_str())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            Error::config(format!("context '{context}' is not in {} or has no user", file.display()))
                .with_remedy("list the contexts with `kubectl config get-contexts`")
        })?;
    Ok((context, user.to_string()))
}

/// Points `user`'s entry at entratool's exec plugin and drops its other
/// credentials (a static token or client certificate would win over the
/// plugin, as kubelogin's convert-kubeconfig also removes them). Returns the
/// new list item.
fn exec_user(doc: &mut serde_yaml::Value, user: &str, exe: &str, args: &[&str]) -> Result<serde_yaml::Value> {
    use serde_yaml::Value;
    let item = doc["users"]
        .as_sequence_mut()
        .and_then(|users| users.iter_mut().find(|u| u["name"].as_str() == Some(user)))
        .ok_or_else(|| {
            Error::config(format!("no user '{user}' in the kubeconfig"))
                .with_remedy("add it with `kubectl config set-credentials NAME`, then run this again")
        })?;
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
    let exec: serde_yaml::Mapping = [
        ("apiVersion", Value::from(kubectl::V1)),
        ("command", Value::from(exe)),
        ("args", Value::Sequence(args.iter().map(|a| Value::from(*a)).collect())),
        ("interactiveMode", Value::from("Never")),
        ("installHint", Value::from(kubectl::INSTALL_HINT)),
    ]
    .into_iter()
    .map(|(k, v)| (Value::from(k), v))
    .collect();
    entry.insert("exec".into(), Value::Mapping(exec));
    item["user"] = Value::Mapping(entry);
    Ok(item.clone())
}

/// The file kubectl edits: --kubeconfig, else the first of $KUBECONFIG, else ~/.kube/config.
fn kubeconfig_file(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(first) = std::env::var_os("KUBECONFIG").and_then(|v| std::env::split_paths(&v).next()) {
        return Ok(first);
    }
    directories::BaseDirs::new()
        .map(|b| b.home_dir().join(".kube").join("config"))
        .ok_or_else(|| Error::config("cannot find your home folder").with_remedy("pass --kubeconfig FILE"))
}

fn setup_git(a: GitArgs) -> Result<()> {
    ensure_profile(&a.profile)?;
    let url = url::Url::parse(&a.url).map_err(|e| Error::usage(format!("invalid --url '{}'", a.url)).with_source(e))?;
    entratool::http::check_url(url.as_str())?;
    let url_text = a.url.trim_end_matches('/').to_string();
    let ours = helper_command(&current_exe()?, &a.profile)?;
    let scope = |c: &mut Command| {
        match &a.file {
            Some(f) => c.arg("--file").arg(f),
            None => c.arg("--global"),
        };
    };
    // One setup git at a time (git's own config lock makes concurrent writers fail midway).
    let _serial = entratool::fsutil::lock(&entratool::fsutil::config_dir()?.join("setup-git.lock"))?;
    // Helpers already configured for this URL in the scope written (Git Credential Manager, a
    // store…), in git's order; those of other scopes are listed, never copied.
    let Helpers { kept, elsewhere } = other_helpers(&url_text, a.file.as_deref())?;
    let others: Vec<String> = kept.into_iter().filter(|h| !h.contains(" git-credential -p ")).collect();
    for (scope, helper) in &elsewhere {
        entratool::outln!(
            "note: {helper} (git's {scope} config) also answers {url_text} there; it is not copied into the {} config",
            if a.file.is_some() { "given" } else { "global" }
        );
    }
    // git asks helpers in config order and stops at the first complete answer: an empty value
    // resets the list for this URL, then entratool's helper, then the others as fallbacks. For
    // every other host the others stay as they are.
    let key = format!("credential.{url_text}.helper");
    let mut values = vec![String::new(), ours];
    values.extend(others.iter().cloned());
    for o in &others {
        entratool::outln!(
            "note: {o} also answers {url_text}: entratool's helper is placed first for it, {o} stays as the fallback there and for other hosts"
        );
    }
    if a.dry_run {
        for v in &values {
            entratool::outln!(
                "would run: git config {} --add {key} '{v}'",
                a.file.as_ref().map_or("--global".to_string(), |f| format!("--file {}", f.display()))
            );
        }
        entratool::outln!("would run: git config … credential.{url_text}.useHttpPath true");
        entratool::outln!("would add {url_text} to profile '{}'s match", a.profile);
        return Ok(());
    }
    let mut unset = Command::new("git");
    unset.arg("config");
    scope(&mut unset);
    // Exit 5 when the key is not there yet: nothing to remove.
    drop(unset.args(["--unset-all", &key]).output());
    for v in &values {
        git_config_retrying(&|c: &mut Command| {
            scope(c);
            c.args(["--add", &key, v]);
        })?;
    }
    git_config_retrying(&|c: &mut Command| {
        scope(c);
        c.args(["--replace-all", &format!("credential.{url_text}.useHttpPath"), "true"]);
    })?;
    bind_to_profile(&a.profile, &url_text)?;
    entratool::outln!("✓ git uses entratool profile '{}' for {url_text}", a.profile);
    Ok(())
}

/// The helpers git would ask for `url` now, in order (`git config --get-urlmatch`
/// gives only the last value, so the list is read and matched here).
/// The helpers that answer `url`, by the scope that configures them: those
/// of the scope being written (global, or `--file`) are kept in order as
/// fallbacks; those of other scopes (system, a repository's own, `includeIf`)
/// are only listed, never copied (a repository's `!shell` helper must not
/// run for every repository).
/// The helpers of the scope written, and (scope, helper) of the others.
struct Helpers {
    kept: Vec<String>,
    elsewhere: Vec<(String, String)>,
}

/// `git config …`, tried again for up to 5 s while another git holds the config's lock.
fn git_config_retrying(args: &dyn Fn(&mut Command)) -> Result<String> {
    let started = std::time::Instant::now();
    loop {
        let mut c = Command::new("git");
        c.arg("config");
        args(&mut c);
        match run_tool(&mut c, "git config") {
            // git says so on stderr ("could not lock config file"): the only sign of a held lock.
            Err(e) if started.elapsed() < std::time::Duration::from_secs(5) && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn other_helpers(url: &str, file: Option<&Path>) -> Result<Helpers> {
    let read = |scope: Option<&str>| -> Result<Vec<(String, String, String)>> {
        let mut c = Command::new("git");
        c.arg("config");
        match (file, scope) {
            (Some(f), _) => drop(c.arg("--file").arg(f)),
            (None, Some(s)) => drop(c.arg(s)),
            (None, None) => {}
        }
        c.args(["--show-scope", "--get-regexp", r"^credential\..*helper$|^credential\.helper$"]);
        let out = c.output().map_err(|e| Error::config("cannot run git config").with_source(e))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let (scope, rest) = line.split_once('\t')?;
                let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                Some((scope.to_string(), k.to_string(), v.to_string()))
            })
            .collect())
    };
    let applies = |k: &str| match k.strip_prefix("credential.").and_then(|r| r.strip_suffix(".helper")) {
        None => k == "credential.helper",
        Some(prefix) => {
            let prefix = prefix.trim_end_matches('/');
            url == prefix || url.starts_with(&format!("{prefix}/"))
        }
    };
    let mut kept = Vec::new();
    for (_, _, v) in read(Some("--global"))?.into_iter().filter(|(_, k, _)| applies(k)) {
        if v.is_empty() {
            kept.clear(); // git's reset
        } else {
            kept.push(v);
        }
    }
    let elsewhere = if file.is_some() {
        Vec::new()
    } else {
        read(None)?
            .into_iter()
            .filter(|(scope, k, v)| scope != "global" && applies(k) && !v.is_empty())
            .map(|(scope, _, v)| (scope, v))
            .collect()
    };
    Ok(Helpers { kept, elsewhere })
}

fn docker_config_path() -> Result<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir).join("config.json")),
        None => directories::BaseDirs::new()
            .map(|b| b.home_dir().join(".docker").join("config.json"))
            .ok_or_else(|| Error::config("cannot find your home folder").with_remedy("set DOCKER_CONFIG")),
    }
}

fn setup_docker(a: DockerArgs) -> Result<()> {
    remove_our_leftovers(&docker_config_path()?);
    ensure_profile(&a.profile)?;
    let registry = a.registry.trim().trim_start_matches("https://").trim_end_matches('/').to_string();
    if entratool::routing::Target::from_registry(&registry).is_none() || registry.contains('/') {
        return Err(Error::usage(format!("invalid --registry '{}'", a.registry))
            .with_remedy("give a registry host such as contoso.azurecr.io"));
    }
    let path = docker_config_path()?;
    let _lock = entratool::fsutil::lock(&path.with_extension("json.entratool-lock"))?;
    // docker's own limit is far below this; a FIFO or /dev/zero is an error, not a hang.
    let original = entratool::fsutil::read_their_file(&path, 10 * 1024 * 1024, "docker's config")?;
    let text = original.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let mut config: Value = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(&text).map_err(|e| {
            Error::config(format!("{}:{}:{} is not JSON", path.display(), e.line(), e.column()))
                .with_source(e)
                .with_remedy("fix the file by hand: entratool never overwrites a file it cannot read")
        })?
    };
    let root = config.as_object_mut().ok_or_else(|| {
        Error::config(format!("{} is not a JSON object", path.display())).with_remedy("fix the file by hand")
    })?;
    let helpers = root.entry("credHelpers").or_insert_with(|| Value::Object(Default::default()));
    let helpers = helpers.as_object_mut().ok_or_else(|| {
        Error::config(format!("credHelpers in {} is not an object", path.display())).with_remedy("fix the file by hand")
    })?;
    let was = helpers.insert(registry.clone(), Value::String("entratool".into()));
    if a.dry_run {
        let now = match was {
            Some(old) => format!("replacing {old}"),
            None => "a new entry".to_string(),
        };
        entratool::outln!("would set credHelpers.{registry} = \"entratool\" in {} ({now})", path.display());
        entratool::outln!("would add {registry} to profile '{}'s match; nothing else changes", a.profile);
        entratool::outln!("(dry run: nothing was changed)");
        return Ok(());
    }
    let backup = original.as_deref().map(|bytes| entratool::fsutil::backup(&path, bytes)).transpose()?;
    let text = json_indented_like(&text, &config)?;
    entratool::fsutil::replace_keeping_link(&path, text.as_bytes())?;
    bind_to_profile(&a.profile, &registry)?;
    entratool::outln!("✓ docker uses entratool profile '{}' for {registry} ({})", a.profile, path.display());
    if let Some(b) = backup {
        entratool::outln!("  backup of the file as it was: {} (copy it back to undo)", b.display());
    }
    if std::process::Command::new("docker-credential-entratool").arg("version").output().is_err() {
        entratool::ewriteln!(
            "note: docker-credential-entratool is not on PATH yet: run `entratool install --dir DIR` with DIR on PATH"
        );
    }
    Ok(())
}

/// The names the tools look for, as links to this binary.
pub fn install(a: InstallArgs) -> Result<()> {
    let exe = current_exe()?;
    let dir = match a.dir {
        Some(d) => d,
        None => exe.parent().map(Path::to_path_buf).ok_or_else(|| Error::config("cannot find the binary's folder"))?,
    };
    let mut names = vec!["git-credential-entratool", "docker-credential-entratool"];
    if a.az {
        names.push("az");
    }
    if a.azd {
        names.push("azd");
    }
    // Docs suggest ~/.local/bin, which a fresh account often lacks.
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create the folder", &dir, e))?;
    for name in names {
        install_one(&exe, &dir, name)?;
    }
    Ok(())
}

/// `dir/name` as a symlink to this binary; an older link is replaced, anything else kept.
#[cfg(unix)]
fn install_one(exe: &Path, dir: &Path, name: &str) -> Result<()> {
    let link = dir.join(name);
    match std::fs::read_link(&link) {
        Ok(target) if target == exe => {
            entratool::outln!("✓ {} already points at {}", link.display(), exe.display());
            return Ok(());
        }
        Ok(_) => std::fs::remove_file(&link).map_err(|e| Error::io("replace", &link, e))?,
        Err(_) if link.exists() => {
            return Err(Error::config(format!("{} exists and is not a link", link.display()))
                .with_remedy("move it away first: entratool does not overwrite it"));
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(exe, &link).map_err(|e| Error::io("create the link", &link, e))?;
    entratool::outln!("✓ {} -> {}", link.display(), exe.display());
    Ok(())
}

/// Bytes found in every entratool binary: an `.exe` holding them is an
/// earlier install (a hard link or copy of an older version), replaced; any
/// other file of that name is kept.
#[cfg(windows)]
const INSTALL_MARKER: &[u8] = b"entratool install marker: 5b0c1e7a";

/// `dir/name.exe` as a hard link to this binary (symlinks need a privilege
/// on Windows), or a copy when the folder is on another volume.
#[cfg(windows)]
fn install_one(exe: &Path, dir: &Path, name: &str) -> Result<()> {
    let link = dir.join(format!("{name}.exe"));
    if link.exists() {
        let ours = std::fs::read(exe).map_err(|e| Error::io("read", exe, e))?;
        let theirs = std::fs::read(&link).map_err(|e| Error::io("read", &link, e))?;
        if ours == theirs {
            entratool::outln!("✓ {} is already this entratool", link.display());
            return Ok(());
        }
        if !theirs.windows(INSTALL_MARKER.len()).any(|w| w == INSTALL_MARKER) {
            return Err(Error::config(format!("{} exists and is not entratool", link.display()))
                .with_remedy("move it away first: entratool does not overwrite it"));
        }
        std::fs::remove_file(&link).map_err(|e| Error::io("replace", &link, e))?;
    }
    match std::fs::hard_link(exe, &link) {
        Ok(()) => entratool::outln!("✓ {} (hard link to {})", link.display(), exe.display()),
        Err(_) => {
            std::fs::copy(exe, &link).map_err(|e| Error::io("copy to", &link, e))?;
            entratool::outln!("✓ {} (copy of {}: run install again after an upgrade)", link.display(), exe.display());
        }
    }
    Ok(())
}

/// For `entratool setup git`: the helper command line git should run.
pub fn helper_command(exe: &std::path::Path, profile: &str) -> Result<String> {
    let exe = exe.to_str().ok_or_else(|| {
        Error::config("the path of entratool is not UTF-8").with_remedy("move entratool to a plain path")
    })?;
    if exe.contains(['"', '\'', '\\', '$', '`']) {
        return Err(Error::config(format!("cannot quote the path {exe} for git's config"))
            .with_remedy("move entratool to a path without quotes, backslashes, $ or `"));
    }
    Ok(format!("!\"{exe}\" git-credential -p {profile}"))
}

/// `value` as JSON indented the way `original` is (docker writes tabs; a
/// hand-made file may use spaces), keys in their order, a final newline.
fn json_indented_like(original: &str, value: &Value) -> Result<String> {
    use serde::Serialize;
    let indent: String = original
        .lines()
        .skip(1)
        .find(|l| !l.trim().is_empty())
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').collect())
        .filter(|i: &String| !i.is_empty())
        .unwrap_or_else(|| "\t".to_string());
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes()),
    );
    value.serialize(&mut ser).map_err(|e| Error::config("cannot write docker's config").with_source(e))?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_keeps_its_indentation_and_key_order() {
        let original = "{\n\t\"auths\": {},\n\t\"credsStore\": \"desktop\"\n}\n";
        let mut v: Value = serde_json::from_str(original).unwrap();
        v["credHelpers"] = serde_json::json!({"contoso.azurecr.io": "entratool"});
        let text = json_indented_like(original, &v).unwrap();
        assert!(text.starts_with("{\n\t\"auths\": {},\n\t\"credsStore\": \"desktop\",\n\t\"credHelpers\""), "{text}");
        let spaced = "{\n    \"auths\": {}\n}\n";
        let v: Value = serde_json::from_str(spaced).unwrap();
        assert_eq!(json_indented_like(spaced, &v).unwrap(), spaced);
    }
}
