//! `entratool setup kubectl|git|docker`: wiring the tools to entratool. The
//! rules for their files (dry run, backup, only our entries, their locks)
//! are the library's `toolconfig`; here only what ties them to a profile.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use entratool::error::Result;
use entratool::pop::{ARC_SERVER_ID, PopClaims};
use entratool::profile::{self, MatchEntry};
use entratool::protocols::kubectl;
use entratool::toolconfig::{self, Change, TheirLock, docker, gitconfig, kubeconfig};

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
    /// Print the exact change as a diff (secrets as ********), change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Resource application id of the cluster's API server (default: AKS's; Arc's with --pop-claims)
    #[arg(long, value_name = "ID")]
    pub server_id: Option<String>,
    /// Azure Arc: PoP tokens for the cluster "u=<ARM ID of the cluster>" (kubelogin's --pop-enabled --pop-claims)
    #[arg(long, value_name = "CLAIMS", conflicts_with = "from_kubelogin")]
    pub pop_claims: Option<String>,
    /// The kubeconfig to change (default: the file of $KUBECONFIG that holds the context's user, as kubectl picks it, else ~/.kube/config)
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
    /// Print the git commands and the exact change, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct DockerArgs {
    /// The profile that answers docker for the registry
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    /// e.g. contoso.azurecr.io (a host, with a port if it has one)
    #[arg(long, value_name = "HOST")]
    pub registry: String,
    /// Print the exact change as a diff, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(cmd: SetupCommand) -> Result<()> {
    match cmd {
        SetupCommand::Kubectl(a) => setup_kubectl(a),
        SetupCommand::Git(a) => setup_git(a),
        SetupCommand::Docker(a) => setup_docker(a),
    }
}

/// Adds a `match` entry to a profile (once); whether it was added.
fn bind_to_profile(name: &str, pattern: &str) -> Result<bool> {
    let store = profile::ProfilesFile::open()?;
    store.update(|doc| {
        doc.get(name, &store.path)?;
        let p = doc.find_mut(name).ok_or_else(|| profile::unknown_profile(name, &[], &store.path, "-p"))?;
        let new = !p.matches.iter().any(|e| e.pattern() == pattern);
        if new {
            p.matches.push(MatchEntry::Pattern(pattern.to_string()));
        }
        Ok(new)
    })
}

/// The profile exists; whether it already has `pattern` in its `match`.
fn profile_matches(name: &str, pattern: Option<&str>) -> Result<bool> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let p = doc.get(name, &store.path)?;
    Ok(pattern.is_some_and(|pat| p.matches.iter().any(|e| e.pattern() == pat)))
}

/// Prints a dry run's plan: the diff, or that nothing would change.
fn show_plan(change: &Change) -> Result<()> {
    if change.is_empty() {
        entratool::outln!("{} {} would not change: it is set up already", change.what, change.path.display());
        return Ok(());
    }
    entratool::output::stdout(&change.diff())
}

/// Writes a change and says how (backup, hard links).
fn apply_and_tell(change: &Change) -> Result<()> {
    let applied = change.apply()?;
    for line in toolconfig::describe(&applied) {
        entratool::outln!("  {line}");
    }
    Ok(())
}

fn setup_kubectl(a: KubectlArgs) -> Result<()> {
    if a.from_kubelogin {
        let chosen = kubeconfig::default_file(a.kubeconfig.as_deref())?;
        entratool::outln!("kubeconfig: {} ({})", chosen.path.display(), chosen.why);
        return super::kubelogin::convert(&chosen.path, a.context.as_deref(), a.dry_run);
    }
    let profile = a.profile.clone().unwrap_or_default();
    profile_matches(&profile, None)?;
    let chosen = kubeconfig::file_for_context(a.kubeconfig.as_deref(), a.context.as_deref())?;
    let file = chosen.path.as_path();
    entratool::outln!("kubeconfig: {} ({})", file.display(), chosen.why);
    if let Some(claims) = &a.pop_claims {
        PopClaims::parse(claims, "--pop-claims")?;
    }
    let default_server = if a.pop_claims.is_some() { ARC_SERVER_ID } else { kubectl::AKS_SERVER_ID };
    let server_id = a.server_id.as_deref().unwrap_or(default_server);
    let exe = super::args::current_exe()?;
    let exe = exe.to_string_lossy();
    let mut args: Vec<String> = ["get-token", "-p", &profile, "--server-id", server_id, "--output", "exec-credential"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(claims) = &a.pop_claims {
        args.extend(["--pop-claims".to_string(), claims.clone()]);
    }
    // With PoP, kubectl passes each cluster's info, so a cluster's own popClaims (its exec extension) win.
    let entry = kubeconfig::ExecEntry {
        command: &exe,
        args,
        install_hint: kubectl::INSTALL_HINT,
        api_version: kubectl::V1,
        provide_cluster_info: a.pop_claims.is_some(),
    };
    let plan = |text: &str, doc: &serde_yaml::Value| -> Result<(String, String, Change)> {
        let (context, user) = match &chosen.found {
            Some(found) => found.clone(),
            None => kubeconfig::context_and_user(doc, a.context.as_deref())?,
        };
        let mut after = doc.clone();
        let item = kubeconfig::set_exec_user(&mut after, &user, &entry)?;
        Ok((context, user.clone(), kubeconfig::change(file, text, &[(user, item)], &after)?))
    };
    if a.dry_run {
        let (text, doc) = kubeconfig::parse(file)?;
        let (_, _, change) = plan(&text, &doc)?;
        show_plan(&change)?;
        entratool::outln!("(dry run: nothing was changed)");
        return Ok(());
    }
    toolconfig::remove_our_leftovers(file);
    // Under kubectl's own lock, held only for the re-read and the write.
    let lock = TheirLock::lock(file)?;
    let (text, doc) = kubeconfig::parse(file)?;
    let (context, user, change) = plan(&text, &doc)?;
    if change.is_empty() {
        drop(lock);
        entratool::outln!(
            "✓ Context '{context}' (user '{user}') gets tokens from entratool profile '{profile}' already: nothing changed"
        );
        return Ok(());
    }
    let applied = change.apply()?;
    drop(lock);
    entratool::outln!("✓ Context '{context}' (user '{user}') now gets tokens from entratool profile '{profile}'");
    for line in toolconfig::describe(&applied) {
        entratool::outln!("  {line}");
    }
    Ok(())
}

fn setup_git(a: GitArgs) -> Result<()> {
    let url = gitconfig::url_prefix(&a.url)?;
    let bound = profile_matches(&a.profile, Some(&url))?;
    let scope = match &a.file {
        Some(f) => gitconfig::Scope::File(f.clone()),
        None => gitconfig::Scope::Global,
    };
    let ours = gitconfig::helper_command(&super::args::current_exe()?, &a.profile)?;
    for (other, helper) in gitconfig::helpers_elsewhere(&url, &scope)? {
        entratool::output::note(&format!(
            "{helper} (git's {other} config) also answers {url} there; it is not copied into the {} config",
            if a.file.is_some() { "given" } else { "global" }
        ));
    }
    if a.dry_run {
        let plan = gitconfig::plan(&scope, &url, &ours)?;
        note_fallbacks(&plan, &url);
        entratool::outln!("would run:");
        for command in &plan.commands {
            entratool::outln!("  {}", gitconfig::shell_line(command));
        }
        show_plan(&plan.change)?;
        if !bound {
            entratool::outln!("would add {url} to profile '{}'s match", a.profile);
        }
        entratool::outln!("(dry run: nothing was changed)");
        return Ok(());
    }
    // One setup git at a time, then git's own lock on the file for the re-read and the write.
    let _serial = entratool::fsutil::lock(&entratool::fsutil::cache_dir()?.join("setup-git.lock"))?;
    let path = scope.path()?;
    let lock = TheirLock::lock(&path)?;
    let plan = gitconfig::plan(&scope, &url, &ours)?;
    note_fallbacks(&plan, &url);
    let unchanged = plan.change.is_empty();
    if !unchanged {
        apply_and_tell(&plan.change)?;
    }
    drop(lock);
    let added = bind_to_profile(&a.profile, &url)?;
    if unchanged && !added {
        entratool::outln!("✓ git uses entratool profile '{}' for {url} already: nothing changed", a.profile);
    } else {
        entratool::outln!("✓ git uses entratool profile '{}' for {url} ({})", a.profile, path.display());
    }
    Ok(())
}

/// The scope's other helpers for the URL stay, after entratool's: said.
fn note_fallbacks(plan: &gitconfig::Plan, url: &str) {
    for helper in &plan.fallbacks {
        entratool::output::note(&format!(
            "{helper} also answers {url}: entratool's helper is placed first for it, {helper} stays as the fallback \
             there and for other hosts"
        ));
    }
}

fn setup_docker(a: DockerArgs) -> Result<()> {
    let registry = docker::registry_host(&a.registry)?;
    let bound = profile_matches(&a.profile, Some(&registry))?;
    let path = docker::config_path()?;
    if a.dry_run {
        let before = toolconfig::read(&path, docker::MAX_CONFIG, "docker's config")?;
        show_plan(&docker::change(&path, before, &registry)?)?;
        if !bound {
            entratool::outln!("would add {registry} to profile '{}'s match", a.profile);
        }
        entratool::outln!("(dry run: nothing was changed)");
        return Ok(());
    }
    toolconfig::remove_our_leftovers(&path);
    // docker takes no lock on its config: entratool's own, in its cache folder, keeps two setups apart.
    let _lock = entratool::fsutil::lock(&docker_lock(&path)?)?;
    let before = toolconfig::read(&path, docker::MAX_CONFIG, "docker's config")?;
    let change = docker::change(&path, before, &registry)?;
    let unchanged = change.is_empty();
    if !unchanged {
        apply_and_tell(&change)?;
    }
    let added = bind_to_profile(&a.profile, &registry)?;
    if unchanged && !added {
        entratool::outln!("✓ docker uses entratool profile '{}' for {registry} already: nothing changed", a.profile);
    } else {
        entratool::outln!("✓ docker uses entratool profile '{}' for {registry} ({})", a.profile, path.display());
    }
    if std::process::Command::new("docker-credential-entratool").arg("version").output().is_err() {
        entratool::output::note(
            "docker-credential-entratool is not on PATH yet: run `entratool install --dir DIR` with DIR on PATH",
        );
    }
    Ok(())
}

/// The lock of one docker config, in entratool's cache folder (never in docker's).
fn docker_lock(config: &Path) -> Result<PathBuf> {
    use sha2::Digest;
    let absolute = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
    let hash = entratool::codec::hex(&sha2::Sha256::digest(absolute.as_os_str().as_encoded_bytes())[..8]);
    Ok(entratool::fsutil::cache_dir()?.join(format!("docker-config-{hash}.lock")))
}
