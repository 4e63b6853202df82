//! `entratool setup kubectl --from-kubelogin`: every kubeconfig user whose
//! exec plugin runs `kubelogin get-token` becomes an entratool exec plugin,
//! and nothing else in the file changes. What each user says and how its
//! entry is rewritten is the library's (`toolconfig::kubelogin`); here, the
//! profiles and secrets: a secret found in the kubeconfig goes to the
//! keyring and leaves the file only once the converted user got a token, and
//! only what stands at the end is announced.

use std::path::Path;

use serde_yaml::Value;
use zeroize::Zeroizing;

use super::profile_form::{PendingSecret, announce_saved, forget_secrets, save};
use entratool::credential::secrets::{self, SecretKind};
use entratool::error::{Error, Result};
use entratool::profile;
use entratool::token::{self, TokenKind, TokenRequest};
use entratool::toolconfig::kubelogin::{self, KubeloginUser, Verdict};
use entratool::toolconfig::{self, TheirLock, kubeconfig};

/// A secret that stays in the kubeconfig (the only store is lost at reboot):
/// the variable entratool reads it from, and its value.
type Kept = Option<(&'static str, Zeroizing<String>)>;

/// A user ready to convert: its plan, the secret kept in the file, and
/// whether its profile was made by this run (announced only once it stands).
struct Ready {
    user: KubeloginUser,
    kept: Kept,
    made: bool,
}

pub fn convert(path: &Path, only_context: Option<&str>, dry_run: bool) -> Result<()> {
    if !dry_run {
        toolconfig::remove_our_leftovers(path);
    }
    let (original, doc) = kubeconfig::parse(path)?;
    let wanted_user = match only_context {
        Some(ctx) => Some(kubeconfig::context_and_user(&doc, Some(ctx))?.1),
        None => None,
    };
    let mut plans = Vec::new();
    for (name, verdict) in kubelogin::users(&doc, wanted_user.as_deref()) {
        match verdict {
            Ok(Verdict::Convert(p)) => plans.push(*p),
            Ok(Verdict::Leave(why)) => entratool::output::note(&format!("user '{name}' is left as it is ({why})")),
            Err(e) => entratool::output::note(&format!("user '{name}' is left as it is: {}", e.report("", ""))),
        }
    }
    if plans.is_empty() {
        entratool::outln!(
            "No kubeconfig user in {} runs `kubelogin get-token` in a mode entratool converts: nothing changed.",
            path.display()
        );
        return Ok(());
    }
    let exe = super::args::current_exe()?;
    let exe = exe.to_string_lossy();
    if dry_run {
        let converted: Vec<(&KubeloginUser, Kept)> = plans.iter().map(|p| (p, None)).collect();
        let change = rewrite(path, &original, &doc, &converted, &exe)?;
        entratool::output::stdout(&change.diff())?;
        entratool::outln!("(dry run: nothing was changed, no profile or secret was saved; secrets shown as ********)");
        return Ok(());
    }
    // The token checks (network, seconds) run before the file is locked.
    let mut ready_users = Vec::new();
    let mut first_failure = None;
    for p in plans {
        match ready(&p, path) {
            Ok((kept, made)) => ready_users.push(Ready { user: p, kept, made }),
            Err(e) => {
                entratool::output::note(&format!("user '{}' is left as it is: {}", p.user, e.report("", "")));
                first_failure.get_or_insert(e);
            }
        }
    }
    if ready_users.is_empty() {
        // The exit code is the cause's: 5 for a refusal, 6 for a network failure.
        return Err(first_failure.unwrap_or_else(|| Error::rejected("no user was converted")));
    }
    let written = write_converted(path, &ready_users, &exe);
    // Announced only now, for what stands: a profile made for a user the file did not take is undone.
    let converted = match written {
        Ok(c) => c,
        Err(e) => {
            ready_users.iter().filter(|r| r.made).for_each(|r| undo_profile(profile_name(&r.user)));
            return Err(e);
        }
    };
    for r in ready_users.iter().filter(|r| r.made) {
        if converted.iter().any(|u| u == &r.user.user) {
            announce_saved(profile_name(&r.user), false, &Vec::new());
        } else {
            undo_profile(profile_name(&r.user));
        }
    }
    Ok(())
}

/// Under kubectl's own lock, the file as it is now (a context added meanwhile
/// stays), each user converted that still runs kubelogin (another conversion
/// may have done it). Returns the users converted.
fn write_converted(path: &Path, ready_users: &[Ready], exe: &str) -> Result<Vec<String>> {
    let lock = TheirLock::lock(path)?;
    let (current, doc) = kubeconfig::parse(path)?;
    let mut converted = Vec::new();
    for r in ready_users {
        if kubelogin::still_runs_kubelogin(&doc, &r.user.user) {
            converted.push((&r.user, r.kept.clone()));
        } else {
            entratool::output::note(&format!(
                "user '{}' no longer runs kubelogin (changed meanwhile): left as it is",
                r.user.user
            ));
        }
    }
    if converted.is_empty() {
        return Ok(Vec::new());
    }
    let change = rewrite(path, &current, &doc, &converted, exe)?;
    let applied = change.apply()?;
    drop(lock);
    let names: Vec<String> = converted.iter().map(|(u, _)| u.user.clone()).collect();
    entratool::outln!("✓ Converted {}", names.join(", "));
    for line in toolconfig::describe(&applied) {
        entratool::outln!("  {line}");
    }
    Ok(names)
}

/// The kubeconfig's change: each user's entry rewritten in place.
fn rewrite(
    path: &Path,
    text: &str,
    doc: &Value,
    users: &[(&KubeloginUser, Kept)],
    exe: &str,
) -> Result<toolconfig::Change> {
    let mut after = doc.clone();
    for (u, kept) in users {
        kubelogin::rewrite_user(&mut after, u, exe, kept.as_ref().map(|(var, value)| (*var, value.as_str())));
    }
    let items: Vec<(String, Value)> =
        users.iter().filter_map(|(u, _)| kubeconfig::item_of(&after, &u.user).map(|i| (u.user.clone(), i))).collect();
    let mut change = kubeconfig::change(path, text, &items, &after)?;
    // A secret kept in the file is a value of an env entry the rewrite added: hidden too.
    change.secrets.extend(users.iter().filter_map(|(_, k)| k.as_ref().map(|(_, v)| v.to_string())));
    Ok(change)
}

fn profile_name(u: &KubeloginUser) -> &str {
    u.profile.as_ref().map_or(profile::ENV_PROFILE, |p| p.name.as_str())
}

/// Whether a secret must stay in the kubeconfig: the only store is the
/// kernel keyring (lost at reboot), or none (ENTRATOOL_KEYRING=none).
fn secret_stays() -> bool {
    match secrets::open_keyring() {
        Ok(Some(k)) => secrets::is_volatile(k.name()),
        _ => true,
    }
}

/// Makes the user's profile ready: an existing one of that name is used as it
/// is; a new one is saved with its secret and must get a token before the
/// user is converted. Returns the secret kept in the file, and whether the
/// profile was made here. Err: the user stays as it is, and nothing it made
/// stays behind (the error is the cause, with its exit code).
fn ready(p: &KubeloginUser, kubeconfig: &Path) -> Result<(Kept, bool)> {
    let Some(profile) = &p.profile else { return Ok((None, false)) };
    let store = profile::ProfilesFile::open()?;
    let existing = store.load()?.find(&profile.name).cloned();
    let made_here = existing.is_none();
    let stays = made_here && p.secret.is_some() && secret_stays();
    let pending: Option<PendingSecret> =
        p.secret.as_ref().map(|s| PendingSecret { kind: s.kind, value: s.value.clone() });
    let chosen = match existing {
        Some(existing)
            if existing.client_id == profile.client_id && existing.auth_method() == profile.auth_method() =>
        {
            entratool::output::note(&format!("profile '{}' exists already and is used as it is", profile.name));
            existing
        }
        Some(_) => {
            return Err(Error::config(format!(
                "user '{}' is left as it is: a different profile named '{}' exists",
                p.user, profile.name
            ))
            .with_remedy("rename that profile, or convert this user by hand with `entratool setup kubectl -p NAME`"));
        }
        None if stays => {
            let mut profile = profile.clone();
            if let Some(s) = &p.secret {
                profile.secret_in = Some(format!(
                    "the kubeconfig {}, user '{}' (its exec entry's env, as {})",
                    kubeconfig.display(),
                    p.user,
                    s.kind.env_var()
                ));
            }
            save(&store, profile.clone(), None, false, &[])?;
            profile
        }
        None => {
            save(&store, profile.clone(), None, false, pending.as_slice())?;
            profile.clone()
        }
    };
    // Only a secret that leaves the kubeconfig, or stays in it for a new profile, needs proof first.
    let Some(secret) = p.secret.as_ref().filter(|_| made_here) else { return Ok((None, made_here)) };
    let scope = format!("{}/.default", p.server_id);
    let kept: Kept = stays.then(|| (secret.kind.env_var(), secret.value.clone()));
    let checked = match &kept {
        Some((var, value)) => token_with(&chosen.name, &scope, var, value),
        None => {
            let request =
                TokenRequest { force_refresh: true, ..TokenRequest::for_helper(&chosen, &scope, TokenKind::Access) };
            token::acquire(&request, &mut Vec::new()).map(drop)
        }
    };
    if let Err(e) = checked {
        undo_profile(&chosen.name);
        return Err(e);
    }
    // Said only now: a user whose check failed leaves nothing behind, so nothing moved.
    let flag = match secret.kind {
        SecretKind::ClientSecret => "--secret-stdin",
        SecretKind::CertificatePassword => "--password-stdin",
    };
    if kept.is_some() {
        entratool::output::note(&format!(
            "user '{}': the {} from {} stays in the kubeconfig (as {} in the exec entry's env): the only secret \
             store here is {}, lost at reboot; store it in a durable one later with `entratool config edit -p {} \
             {flag}`",
            p.user,
            secret.kind.label(),
            secret.source,
            secret.kind.env_var(),
            secrets::store_name(),
            chosen.name
        ));
    } else {
        entratool::output::note(&format!(
            "user '{}': the {} from {} is now in the {}",
            p.user,
            secret.kind.label(),
            secret.source,
            secrets::store_name()
        ));
    }
    Ok((kept, made_here))
}

/// A token for the profile with the secret in `var` of a child entratool (the
/// environment of this process never changes), as kubectl will run it.
fn token_with(profile: &str, scope: &str, var: &str, value: &str) -> Result<()> {
    let exe = super::args::current_exe()?;
    let out = std::process::Command::new(exe)
        .args(["get-token", "-p", profile, "--scope", scope, "--force-refresh", "--silent"])
        .env(var, value)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::config("cannot run entratool").with_source(e))?;
    if out.status.success() {
        return Ok(());
    }
    let why =
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
    let kind = entratool::error::Kind::from_exit_code(out.status.code().unwrap_or(1));
    Err(Error::new(kind, format!("profile '{profile}' got no token with the kubeconfig's secret")).with_source(why))
}

/// Removes a profile this run made (and its stored secret): a user left as
/// it is leaves nothing behind.
fn undo_profile(name: &str) {
    let removed = profile::ProfilesFile::open().and_then(|store| {
        store.update(|doc| {
            doc.profiles.retain(|p| p.name != name);
            if doc.default_profile.as_deref() == Some(name) {
                doc.default_profile = None;
            }
            Ok(())
        })
    });
    if let Err(e) = removed {
        entratool::output::warn(&format!("profile '{name}' could not be removed again: {}", e.report("", "")));
    }
    forget_secrets(name);
}
