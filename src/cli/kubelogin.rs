//! `entratool setup kubectl --from-kubelogin`: every kubeconfig user whose
//! exec plugin runs `kubelogin get-token` becomes an entratool exec plugin,
//! and nothing else in the file changes (other users, clusters, contexts,
//! order, unknown fields). A backup is written first; `--dry-run` prints the
//! change as a unified diff. A secret found in the kubeconfig goes to the
//! keyring and leaves the file only once the converted user got a token.

use std::path::Path;

use serde_yaml::Value;
use zeroize::Zeroizing;

use super::profile_form::{PendingSecret, save};
use entratool::credential::secrets::{self, SecretKind};
use entratool::error::{Error, Result};
use entratool::profile::{self, AuthMethod, Profile};
use entratool::protocols::kubeconfig;
use entratool::token::{self, TokenKind, TokenRequest};

/// kubelogin's variables (`exec.env`) that the conversion replaces.
const KUBELOGIN_VARS: [&str; 11] = [
    "AAD_SERVICE_PRINCIPAL_CLIENT_ID",
    "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET",
    "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE",
    "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
];

/// What one kubelogin user becomes.
struct Plan {
    user: String,
    server_id: String,
    /// The profile to use: None means the environment profile (`-p env`).
    profile: Option<Profile>,
    secret: Option<PendingSecret>,
    /// Where the secret was found, for the output.
    secret_source: String,
}

/// A secret that stays in the kubeconfig (the only store is lost at reboot):
/// the variable entratool reads it from, and its value.
type Kept = Option<(&'static str, Zeroizing<String>)>;

/// kubelogin's `get-token` flags and the exec `env`, looked up by name.
struct Flags<'a> {
    args: &'a [String],
    env: Vec<(String, String)>,
}

impl Flags<'_> {
    fn flag(&self, names: &[&str]) -> Option<String> {
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            for n in names {
                if a == n {
                    return it.next().cloned();
                }
                if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                    return Some(v.to_string());
                }
            }
        }
        None
    }

    fn var(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }
}

pub fn convert(path: &Path, only_context: Option<&str>, dry_run: bool) -> Result<()> {
    let (original, mut doc) = kubeconfig::parse(path)?;
    let wanted_user = match only_context {
        Some(ctx) => Some(context_user(&doc, ctx)?),
        None => None,
    };
    let mut plans = Vec::new();
    for user in doc.get("users").and_then(Value::as_sequence).into_iter().flatten() {
        let name = user.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        if wanted_user.as_ref().is_some_and(|w| w != &name) {
            continue;
        }
        let Some(exec) = user.get("user").and_then(|u| u.get("exec")) else { continue };
        if !runs_kubelogin(exec) {
            continue;
        }
        match plan(&name, exec) {
            Ok(Some(p)) => plans.push(p),
            Ok(None) => {}
            Err(e) => entratool::ewriteln!("note: user '{name}' is left as it is: {}", e.report("", "")),
        }
    }
    if plans.is_empty() {
        entratool::outln!(
            "No kubeconfig user in {} runs `kubelogin get-token` in a mode entratool converts.",
            path.display()
        );
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| Error::config("cannot find the entratool binary").with_source(e))?;
    let exe = exe.to_string_lossy();
    if dry_run {
        for p in &plans {
            rewrite_user(&mut doc, p, &exe, &None);
        }
        let before: Value = serde_yaml::from_str(&original).unwrap_or(Value::Null);
        return print_diff(path, &masked_yaml(before)?, &masked_yaml(doc)?);
    }
    // The token checks (network, seconds) run before the file is locked.
    let mut ready_plans = Vec::new();
    let mut first_failure = None;
    for p in plans {
        match ready(&p) {
            Ok(kept) => ready_plans.push((p, kept)),
            Err(e) => {
                entratool::ewriteln!("note: user '{}' is left as it is: {}", p.user, e.report("", ""));
                first_failure.get_or_insert(e);
            }
        }
    }
    if ready_plans.is_empty() {
        // The exit code is the cause's: 5 for a refusal, 6 for a network failure.
        return Err(first_failure.unwrap_or_else(|| Error::rejected("no user was converted")));
    }
    // Under kubectl's own lock, the file as it is now (a context added meanwhile stays), each
    // user converted that still runs kubelogin (another conversion may have done it).
    let _lock = entratool::fsutil::lock_their_file(path)?;
    let (current, mut doc) = kubeconfig::parse(path)?;
    let mut converted = Vec::new();
    for (p, kept) in &ready_plans {
        if still_runs_kubelogin(&doc, &p.user) {
            rewrite_user(&mut doc, p, &exe, kept);
            converted.push(p.user.clone());
        } else {
            entratool::outln!("note: user '{}' no longer runs kubelogin (changed meanwhile): left as it is", p.user);
        }
    }
    if converted.is_empty() {
        return Ok(());
    }
    // Only the converted users' entries change, in place: every other byte stays.
    let items: Vec<(String, Value)> =
        converted.iter().filter_map(|u| user_item(&doc, u).map(|i| (u.clone(), i))).collect();
    let text = kubeconfig::replace_users(&current, &items, &doc)?;
    let backup = kubeconfig::write(path, &current, &text)?;
    entratool::outln!("✓ Converted {} (backup: {})", converted.join(", "), backup.display());
    Ok(())
}

/// The list item of user `name`.
fn user_item(doc: &Value, name: &str) -> Option<Value> {
    doc.get("users")?.as_sequence()?.iter().find(|u| u.get("name").and_then(Value::as_str) == Some(name)).cloned()
}

/// Whether the user of that name still has an exec entry running kubelogin.
fn still_runs_kubelogin(doc: &Value, user: &str) -> bool {
    doc.get("users")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter(|u| u.get("name").and_then(Value::as_str) == Some(user))
        .filter_map(|u| u.get("user").and_then(|u| u.get("exec")))
        .any(runs_kubelogin)
}

fn context_user(doc: &Value, ctx: &str) -> Result<String> {
    doc.get("contexts")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(ctx))
        .and_then(|c| c.get("context")?.get("user")?.as_str().map(String::from))
        .ok_or_else(|| Error::config(format!("no context '{ctx}' with a user in the kubeconfig")))
}

fn runs_kubelogin(exec: &Value) -> bool {
    let command = exec.get("command").and_then(Value::as_str).unwrap_or("");
    let base = Path::new(command).file_name().and_then(|n| n.to_str()).unwrap_or("");
    let first = exec.get("args").and_then(Value::as_sequence).and_then(|a| a.first()).and_then(Value::as_str);
    (base == "kubelogin" || base == "kubelogin.exe") && first == Some("get-token")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence).into_iter().flatten().filter_map(|x| x.as_str().map(String::from)).collect()
}

/// kubelogin's login mode to an entratool profile; None (with a note) for
/// modes that need a person or the Azure CLI.
fn plan(user: &str, exec: &Value) -> Result<Option<Plan>> {
    let args = strings(exec.get("args"));
    let env = exec
        .get("env")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.get("name")?.as_str()?.to_string(), e.get("value")?.as_str()?.to_string())))
        .collect();
    let f = Flags { args: &args, env };
    let mode = f.flag(&["--login", "-l"]).unwrap_or_else(|| "devicecode".into()).to_ascii_lowercase();
    let server_id = f.flag(&["--server-id"]).unwrap_or_else(|| entratool::protocols::kubectl::AKS_SERVER_ID.into());
    let name: String =
        user.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).take(64).collect();
    let mut p = Profile { name, ..Default::default() };
    let client = || f.flag(&["--client-id"]).or_else(|| f.var(&["AAD_SERVICE_PRINCIPAL_CLIENT_ID", "AZURE_CLIENT_ID"]));
    let tenant = f.flag(&["--tenant-id", "-t"]).or_else(|| f.var(&["AZURE_TENANT_ID"]));
    let secret = match mode.as_str() {
        "spn" => {
            p.client_id = client().ok_or_else(|| Error::config("spn mode without --client-id"))?;
            p.tenant_id = tenant.ok_or_else(|| Error::config("spn mode without --tenant-id"))?;
            let cert = f
                .flag(&["--client-certificate"])
                .or_else(|| f.var(&["AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE", "AZURE_CLIENT_CERTIFICATE_PATH"]));
            match cert {
                Some(path) => {
                    p.certificate_path = Some(path);
                    p.set_auth_method(AuthMethod::Certificate);
                    let pw = f.flag(&["--client-certificate-password"]).or_else(|| {
                        f.var(&[
                            "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
                            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                        ])
                    });
                    pw.map(|v| PendingSecret { kind: SecretKind::CertificatePassword, value: Zeroizing::new(v) })
                        .map(|s| (s, "the kubeconfig's exec entry".to_string()))
                }
                None => {
                    p.set_auth_method(AuthMethod::Secret);
                    let (s, source) = match f
                        .flag(&["--client-secret"])
                        .or_else(|| f.var(&["AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]))
                    {
                        Some(s) => (s, "the kubeconfig's exec entry".to_string()),
                        // kubelogin also reads its variables from the shell that runs kubectl.
                        None => shell_secret().ok_or_else(|| {
                            Error::config("spn mode with neither a client secret nor a certificate").with_remedy(
                                "export AAD_SERVICE_PRINCIPAL_CLIENT_SECRET (as kubelogin reads it) and run this again",
                            )
                        })?,
                    };
                    Some((PendingSecret { kind: SecretKind::ClientSecret, value: Zeroizing::new(s) }, source))
                }
            }
        }
        // The pod's variables at run time: the environment profile.
        "workloadidentity" => {
            return Ok(Some(Plan {
                user: user.into(),
                server_id,
                profile: None,
                secret: None,
                secret_source: String::new(),
            }));
        }
        "msi" => {
            p.set_auth_method(AuthMethod::ManagedIdentity);
            p.managed_identity_client_id = f.flag(&["--client-id"]);
            p.managed_identity_resource_id = f.flag(&["--identity-resource-id"]);
            if let Some(t) = tenant {
                p.tenant_id = t;
            }
            None
        }
        other => {
            let why = match other {
                "azurecli" => "it uses the Azure CLI's signed-in user, which entratool does not replace",
                "devicecode" | "interactive" => {
                    "it signs in a person in a browser; entratool serves service principals"
                }
                "ropc" => "it signs in a user with a password, which entratool does not do",
                _ => "entratool does not know this login mode",
            };
            entratool::outln!("note: user '{user}' (kubelogin --login {other}) is left as it is: {why}");
            return Ok(None);
        }
    };
    if let Some(e) = f.flag(&["--environment", "-e"]) {
        p.cloud = Some(e);
    }
    if let Some(host) = f.var(&["AZURE_AUTHORITY_HOST"]) {
        p.authority_host = Some(host.trim_end_matches('/').to_string());
    }
    p.scope = Some(format!("{server_id}/.default"));
    p.validate()?;
    let (secret, secret_source) = match secret {
        Some((s, source)) => (Some(s), source),
        None => (None, String::new()),
    };
    Ok(Some(Plan { user: user.into(), server_id, profile: Some(p), secret, secret_source }))
}

/// The client secret kubelogin would take from the shell (`AAD_SERVICE_PRINCIPAL_CLIENT_SECRET`,
/// `AZURE_CLIENT_SECRET`), with where it was found.
fn shell_secret() -> Option<(String, String)> {
    ["AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()).map(|s| (s, format!("${v} in this shell"))))
}

/// Whether a secret must stay in the kubeconfig: the only store is the
/// kernel keyring (lost at reboot), or none (ENTRATOOL_KEYRING=none).
fn secret_stays() -> bool {
    match secrets::open_keyring() {
        Ok(Some(k)) => secrets::is_volatile(k.name()),
        _ => true,
    }
}

/// Saves the plan's profile (and secret); with a secret, the converted user
/// must get a token before the kubeconfig loses it. False: leave it as it is.
/// Makes the user's profile ready: an existing one of that name is used as it
/// is; a new one is saved with its secret and must get a token before the
/// user is converted. Err: the user stays as it is, and nothing it made stays
/// behind (the error is the cause, with its exit code).
fn ready(p: &Plan) -> Result<Kept> {
    let Some(profile) = &p.profile else { return Ok(None) };
    let store = profile::ProfilesFile::open()?;
    let existing = store.load()?.find(&profile.name).cloned();
    let made_here = existing.is_none();
    let stays = made_here && p.secret.is_some() && secret_stays();
    let chosen = match existing {
        Some(existing)
            if existing.client_id == profile.client_id && existing.auth_method() == profile.auth_method() =>
        {
            entratool::outln!("note: profile '{}' exists already and is used as it is", profile.name);
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
            save(&store, profile.clone(), None, false, &[])?;
            profile.clone()
        }
        None => {
            save(&store, profile.clone(), None, false, p.secret.as_slice())?;
            profile.clone()
        }
    };
    // Only a secret that leaves the kubeconfig, or stays in it for a new profile, needs proof first.
    let Some(secret) = p.secret.as_ref().filter(|_| made_here) else { return Ok(None) };
    let scope = format!("{}/.default", p.server_id);
    let kept = stays.then(|| (secret.kind.env_var(), secret.value.clone()));
    let checked = match &kept {
        Some((var, value)) => token_with(&chosen.name, &scope, var, value),
        None => {
            let request =
                TokenRequest { force_refresh: true, ..TokenRequest::for_helper(&chosen, &scope, TokenKind::Access) };
            token::acquire(&request, &mut Vec::new()).map(drop)
        }
    };
    match checked {
        // Said only now: a user whose check failed leaves nothing behind, so nothing moved.
        Ok(()) if kept.is_some() => {
            let flag = match secret.kind {
                SecretKind::ClientSecret => "--secret-stdin",
                SecretKind::CertificatePassword => "--password-stdin",
            };
            entratool::outln!(
                "note: user '{}': the {} from {} stays in the kubeconfig (as {} in the exec entry's env): the only \
                 secret store here is {}, lost at reboot; store it in a durable one later with `entratool config \
                 edit -p {} {flag}`",
                p.user,
                secret.kind.label(),
                p.secret_source,
                secret.kind.env_var(),
                secrets::store_name(),
                chosen.name
            );
            Ok(kept)
        }
        Ok(()) => {
            entratool::outln!(
                "note: user '{}': the {} from {} is now in the {}",
                p.user,
                secret.kind.label(),
                p.secret_source,
                secrets::store_name()
            );
            Ok(kept)
        }
        Err(e) => {
            undo_profile(&store, &chosen.name);
            Err(e)
        }
    }
}

/// A token for the profile with the secret in `var` of a child entratool (the
/// environment of this process never changes), as kubectl will run it.
fn token_with(profile: &str, scope: &str, var: &str, value: &str) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| Error::config("cannot find the entratool binary").with_source(e))?;
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
fn undo_profile(store: &profile::ProfilesFile, name: &str) {
    let removed = store.update(|doc| {
        doc.profiles.retain(|p| p.name != name);
        if doc.default_profile.as_deref() == Some(name) {
            doc.default_profile = None;
        }
        Ok(())
    });
    if let Err(e) = removed {
        entratool::output::warn_all(
            &[format!("profile '{name}' could not be removed again: {}", e.report("", ""))],
            false,
        );
    }
    super::profile_form::forget_secrets(name);
}

/// The user's exec block, now running entratool; kubelogin's variables go,
/// anything else in it stays.
fn rewrite_user(doc: &mut Value, p: &Plan, exe: &str, kept: &Kept) {
    let Some(users) = doc.get_mut("users").and_then(Value::as_sequence_mut) else { return };
    let Some(exec) = users
        .iter_mut()
        .find(|u| u.get("name").and_then(Value::as_str) == Some(p.user.as_str()))
        .and_then(|u| u.get_mut("user"))
        .and_then(|u| u.get_mut("exec"))
        .and_then(Value::as_mapping_mut)
    else {
        return;
    };
    let profile = p.profile.as_ref().map_or(profile::ENV_PROFILE, |pr| pr.name.as_str());
    let args = ["get-token", "-p", profile, "--server-id", &p.server_id, "--output", "exec-credential"];
    exec.insert("command".into(), exe.into());
    exec.insert("args".into(), Value::Sequence(args.iter().map(|a| Value::from(*a)).collect()));
    if let Some(env) = exec.get_mut("env").and_then(Value::as_sequence_mut) {
        env.retain(|e| !e.get("name").and_then(Value::as_str).is_some_and(|n| KUBELOGIN_VARS.contains(&n)));
        if env.is_empty() {
            exec.remove("env");
        }
    }
    if let Some((var, value)) = kept {
        let entry: Value = [("name", Value::from(*var)), ("value", Value::from(value.as_str()))]
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<serde_yaml::Mapping>()
            .into();
        match exec.get_mut("env").and_then(Value::as_sequence_mut) {
            Some(env) => env.push(entry),
            None => drop(exec.insert("env".into(), Value::Sequence(vec![entry]))),
        }
    }
    if !exec.contains_key("interactiveMode") {
        exec.insert("interactiveMode".into(), "Never".into());
    }
    exec.insert("installHint".into(), entratool::protocols::kubectl::INSTALL_HINT.into());
}

/// `diff -u` of the kubeconfig before and after, both as entratool reads
/// them (so layout aside, only the change shows), every secret `********`.
fn print_diff(path: &Path, before: &str, after: &str) -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::config("cannot make a temporary folder").with_source(e))?;
    let (old, new) = (dir.path().join("before"), dir.path().join("after"));
    std::fs::write(&old, before).map_err(|e| Error::io("write", &old, e))?;
    std::fs::write(&new, after).map_err(|e| Error::io("write", &new, e))?;
    let out = std::process::Command::new("diff")
        .args(["-u", "--label", &path.display().to_string(), "--label", "(converted)"])
        .arg(&old)
        .arg(&new)
        .output()
        .map_err(|e| Error::config("cannot run diff").with_source(e).with_remedy("install diffutils"))?;
    entratool::output::stdout(&String::from_utf8_lossy(&out.stdout))?;
    entratool::outln!("(dry run: nothing was changed, no profile or secret was saved; secrets shown as ********)");
    Ok(())
}

/// The YAML with every secret value replaced by `********`.
fn masked_yaml(mut doc: Value) -> Result<String> {
    mask(&mut doc);
    serde_yaml::to_string(&doc).map_err(|e| Error::config("cannot show the kubeconfig").with_source(e))
}

/// Field names whose values are secrets in a kubeconfig (and in kubelogin's flags and variables).
fn is_secret_name(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase().replace(['_', '-'], "");
    ["token", "password", "secret", "keydata", "clientkey", "idtoken", "refreshtoken", "accesstoken"]
        .iter()
        .any(|s| n.contains(s))
        && n != "tokenfile"
}

fn mask(v: &mut Value) {
    const HIDDEN: &str = "********";
    match v {
        Value::Mapping(m) => {
            // An env entry: {name: AAD_SERVICE_PRINCIPAL_CLIENT_SECRET, value: …}.
            let env_secret = m.get("name").and_then(Value::as_str).is_some_and(is_secret_name);
            for (k, val) in m.iter_mut() {
                let key = k.as_str().unwrap_or("");
                if (is_secret_name(key) || (env_secret && key == "value")) && !val.is_mapping() && !val.is_sequence() {
                    *val = Value::String(HIDDEN.into());
                } else {
                    mask(val);
                }
            }
        }
        Value::Sequence(items) => {
            // Flags: `--client-secret X` or `--client-secret=X`.
            let mut hide_next = false;
            for item in items.iter_mut() {
                match item.as_str() {
                    Some(_) if hide_next => {
                        *item = Value::String(HIDDEN.into());
                        hide_next = false;
                    }
                    Some(s) if s.starts_with('-') && is_secret_name(s.split('=').next().unwrap_or("")) => {
                        match s.split_once('=') {
                            Some((flag, _)) => *item = Value::String(format!("{flag}={HIDDEN}")),
                            None => hide_next = true,
                        }
                    }
                    _ => mask(item),
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
    fn secrets_are_masked_wherever_a_kubeconfig_holds_them() {
        let doc: Value = serde_yaml::from_str(
            "users:\n- name: u\n  user:\n    token: T0KEN\n    client-key-data: KEYDATA\n    exec:\n      args: [get-token, \
             --client-secret, S3CRET, --password=PASSW0RD, --client-id, c]\n      env:\n      - {name: \
             AAD_SERVICE_PRINCIPAL_CLIENT_SECRET, value: ENVSECRET}\n      - {name: AZURE_TENANT_ID, value: t}\n",
        )
        .unwrap();
        let text = masked_yaml(doc).unwrap();
        for secret in ["T0KEN", "KEYDATA", "S3CRET", "PASSW0RD", "ENVSECRET"] {
            assert!(!text.contains(secret), "{secret} shown:\n{text}");
        }
        assert!(text.contains("--client-id") && text.contains("value: t"), "{text}");
    }
}
