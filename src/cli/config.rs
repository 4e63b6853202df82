//! `entratool config …`: profiles.json and the secrets that go with it.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::args::ListFormat;
use super::profile_form::{
    PendingSecret, PendingSecrets, ProfileFields, announce_saved, exists, forget_secrets, read_stdin_secret, save,
};
use entratool::credential::certificate::x509;
use entratool::credential::federated::{DEFAULT_AUDIENCE, exchange_audience};
use entratool::credential::secrets::{self, SecretKind};
use entratool::credential::{AuthContext, CertificateCredential, EXPIRY_WARNING_DAYS};
use entratool::error::{Error, Result};
use entratool::output::{pretty, table};
use entratool::profile::{self, AuthMethod, MatchEntry, Profile};
use entratool::token::cache::Cache;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Create a profile (flags, or questions on a terminal)
    Create(ProfileFields),
    /// Change a profile: only the fields given change
    Edit(EditArgs),
    /// List profiles
    List {
        /// table (default) or json
        #[arg(long, value_enum, default_value_t)]
        output: ListFormat,
        /// Print only the names, one per line (what shell completion offers after -p)
        #[arg(long, conflicts_with = "output")]
        names: bool,
    },
    /// Show one profile (never a secret)
    Show {
        /// The profile to show
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: String,
        /// table (default) or json
        #[arg(long, value_enum, default_value_t)]
        output: ListFormat,
    },
    /// Delete a profile, its stored secret and its cached tokens
    Delete {
        /// The profile to delete, with its stored secret and cached tokens
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: String,
    },
    /// Print a profile as JSON (no secrets), or write it to FILE
    Export {
        /// The profile to export
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: String,
        /// Write the JSON to this file (0600, atomically) instead of stdout
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Add a profile from an exported JSON file
    Import {
        /// The JSON file `config export` wrote
        #[arg(short = 'i', long = "input", value_name = "FILE")]
        input: PathBuf,
        /// Save it under another name
        #[arg(long, value_name = "NEW")]
        name: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The profile to change
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    #[command(flatten)]
    pub fields: ProfileFields,
    /// Remove this entry from the profile's match list (repeatable)
    #[arg(long = "remove-match", value_name = "PATTERN")]
    pub remove_matches: Vec<String>,
    /// Drop authorityHost, so the cloud's (or $AZURE_AUTHORITY_HOST) is used
    #[arg(long, conflicts_with = "authority_host")]
    pub clear_authority_host: bool,
}

pub fn run(cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Create(fields) => create(fields),
        ConfigCommand::Edit(args) => edit(args),
        ConfigCommand::List { names: true, .. } => list_names(),
        ConfigCommand::List { output, .. } => list(output),
        ConfigCommand::Show { profile, output } => show(&profile, output),
        ConfigCommand::Delete { profile } => delete(&profile),
        ConfigCommand::Export { profile, output } => export(&profile, output.as_ref()),
        ConfigCommand::Import { input, name } => import(&input, name),
    }
}

fn read_pending_secret(fields: &ProfileFields) -> Result<Option<PendingSecret>> {
    if fields.password_stdin {
        let value = read_stdin_secret("certificate password")?;
        return Ok(Some(PendingSecret { kind: SecretKind::CertificatePassword, value }));
    }
    if fields.secret_stdin {
        let value = read_stdin_secret("client secret")?;
        return Ok(Some(PendingSecret { kind: SecretKind::ClientSecret, value }));
    }
    Ok(None)
}

/// Checks that the certificate opens with the password at hand, before anything is saved.
fn check_certificate(p: &Profile, pending: Option<&PendingSecret>) -> Result<Vec<String>> {
    if p.auth_method() != AuthMethod::Certificate {
        return Ok(Vec::new());
    }
    if let Some(path) = &p.certificate_path
        && !Path::new(path).exists()
    {
        return Err(x509::not_found(path, None));
    }
    let cred = CertificateCredential::new(p)?;
    let loaded = match pending.filter(|s| s.kind == SecretKind::CertificatePassword) {
        // Check exactly the password that will be stored.
        Some(s) => cred.check_password(&s.value),
        None if cred.needs_password() && secrets::from_env(SecretKind::CertificatePassword).is_none() => {
            Err(Error::credential(format!("the certificate {} is protected by a password", cred.shown()))
                .with_remedy("pass it with --password-stdin, e.g. `printf %s \"$PASS\" | entratool config create ... --password-stdin`"))
        }
        None => cred.load(&mut AuthContext::default()),
    }?;
    let now = chrono::Utc::now();
    let mut warnings = Vec::new();
    if now > loaded.not_after() {
        warnings.push(format!(
            "the certificate expired on {}: tokens will be refused until it is replaced",
            loaded.not_after().format("%Y-%m-%d")
        ));
    } else if loaded.days_left(now) < EXPIRY_WARNING_DAYS {
        warnings.push(format!("the certificate expires in {} days", loaded.days_left(now)));
    }
    Ok(warnings)
}

fn create(fields: ProfileFields) -> Result<()> {
    let method = fields.method();
    let needs_ids = method != Some(AuthMethod::ManagedIdentity);
    let missing: Vec<&str> = [
        ("--name", fields.name.is_none()),
        ("--client-id", needs_ids && fields.client_id.is_none()),
        ("--tenant-id", needs_ids && fields.tenant_id.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(f, _)| *f)
    .collect();
    let complete = missing.is_empty() && method.is_some();
    if !complete && !fields.password_stdin && !fields.secret_stdin && super::args::stdin_is_terminal() {
        return super::wizard::create(fields);
    }
    if !complete {
        let mut needed = missing.join(", ");
        if method.is_none() {
            if !needed.is_empty() {
                needed.push_str(", and ");
            }
            needed.push_str(
                "one of --certificate PATH, --certificate-thumbprint HEX, --secret-stdin or --auth-method METHOD",
            );
        }
        return Err(Error::usage(format!("config create needs {needed}")).with_remedy(
            "stdin is not a terminal, so no questions were asked: pass every flag, or run it on a terminal to be \
             asked (see `entratool config create --help`)",
        ));
    }
    let name = fields.name.clone().unwrap_or_default();
    profile::validate_name(&name)?;
    let mut p = Profile { name: name.clone(), ..Default::default() };
    p.apply(&fields.edit())?;
    if p.scope.is_none() {
        p.scope = Some("https://graph.microsoft.com/.default".into());
    }
    p.validate()?;
    let store = profile::ProfilesFile::open()?;
    if store.load()?.find(&name).is_some() {
        return Err(exists(&name));
    }
    let pending = read_pending_secret(&fields)?;
    let warnings = check_certificate(&p, pending.as_ref())?;
    entratool::output::warn_all(&warnings, false);
    let stored = save(&store, p, None, fields.set_default, pending.as_slice())?;
    announce_saved(&name, false, &stored);
    Ok(())
}

fn edit(args: EditArgs) -> Result<()> {
    let EditArgs { profile: name, fields, remove_matches, clear_authority_host } = args;
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let was = doc.get(&name, &store.path)?.clone();
    if fields.is_empty() && remove_matches.is_empty() && !clear_authority_host {
        if super::args::stdin_is_terminal() {
            return super::wizard::edit(&name);
        }
        return Err(Error::usage(format!("config edit -p {name} got nothing to change")).with_remedy(
            "stdin is not a terminal, so no menu was shown: pass the fields to change, e.g. --certificate PATH              [--password-stdin], --secret-stdin, --scope S, --client-id ID, --tenant-id ID, --name NEW (see              `entratool config edit --help`); nothing was changed",
        ));
    }
    let mut p = was.clone();
    p.apply(&fields.edit())?;
    for pattern in &remove_matches {
        if !p.matches.iter().any(|m| m.pattern() == pattern) {
            return Err(Error::usage(format!("profile '{name}' has no match entry '{pattern}'"))
                .with_remedy(format!("`entratool config show -p {name}` lists them; nothing was changed")));
        }
        p.matches.retain(|m| m.pattern() != pattern);
    }
    if clear_authority_host {
        p.authority_host = None;
    }
    if let Some(n) = &fields.name {
        profile::validate_name(n)?;
        p.name = n.clone();
    }
    p.validate()?;
    let pending = read_pending_secret(&fields)?;
    if pending.is_some() {
        // The secret is now in a store of entratool's: no longer only in a kubeconfig.
        p.secret_in = None;
    }
    if fields.certificate.is_some() || pending.as_ref().is_some_and(|s| s.kind == SecretKind::CertificatePassword) {
        let warnings = check_certificate(&p, pending.as_ref())?;
        entratool::output::warn_all(&warnings, false);
    }
    let becomes_default = fields.set_default && doc.default_profile.as_deref() != Some(p.name.as_str());
    if p == was && pending.is_none() && !becomes_default {
        // Nothing to save, and the cached tokens are still the profile's.
        entratool::outln!("✓ Profile '{name}' already has these settings: nothing changed");
        return Ok(());
    }
    let new_name = p.name.clone();
    let stored = save(&store, p, Some(&name), fields.set_default, pending.as_slice())?;
    announce_saved(&new_name, true, &stored);
    Ok(())
}

/// A profile (or list) as JSON; failing loudly rather than printing `null`.
fn to_json(v: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::config("cannot serialise the profile").with_source(e))
}

fn method_label(p: &Profile) -> &'static str {
    p.auth_method().label()
}

fn credential_summary(p: &Profile) -> String {
    match p.auth_method() {
        AuthMethod::Certificate => p
            .certificate_path
            .clone()
            .or_else(|| p.certificate_thumbprint.as_ref().map(|t| format!("thumbprint {t}")))
            .unwrap_or_default(),
        AuthMethod::Secret => secret_summary(p),
        AuthMethod::WorkloadIdentity => {
            p.federated_token_file.clone().unwrap_or_else(|| "(token file from $AZURE_FEDERATED_TOKEN_FILE)".into())
        }
        AuthMethod::GithubActions => {
            format!("(the job's OIDC token, audience {})", p.federated_audience.as_deref().unwrap_or(DEFAULT_AUDIENCE))
        }
        AuthMethod::AzurePipelines => match &p.service_connection_id {
            Some(id) => format!("(the job's OIDC token for service connection {id})"),
            None => "(the job's OIDC token for $AZURESUBSCRIPTION_SERVICE_CONNECTION_ID)".into(),
        },
        AuthMethod::ManagedIdentity => format!("({})", identity_summary(p)),
        AuthMethod::ManagedIdentityFederation => format!(
            "({}'s token for {}, as the app's federated credential)",
            identity_summary(p),
            p.federated_audience.as_deref().unwrap_or(exchange_audience(p.cloud.as_deref()))
        ),
    }
}

/// Where the client secret is: the environment for this run, a store, or
/// (a kubelogin conversion on a machine whose only store is lost at reboot)
/// a kubeconfig's exec env; or nowhere yet.
fn secret_summary(p: &Profile) -> String {
    if secrets::from_env(SecretKind::ClientSecret).is_some() {
        return "(client secret from ENTRATOOL_CLIENT_SECRET for this run)".into();
    }
    match (secrets::held_in(&p.name, SecretKind::ClientSecret), &p.secret_in) {
        (Some(store), _) => format!("(client secret in the {store})"),
        (None, Some(place)) => format!("(client secret in {place}, which only kubectl passes to it)"),
        (None, None) => format!("(no client secret stored: `entratool config edit -p {} --secret-stdin`)", p.name),
    }
}

/// Which managed identity a profile names.
fn identity_summary(p: &Profile) -> String {
    match (&p.managed_identity_client_id, &p.managed_identity_object_id, &p.managed_identity_resource_id) {
        (Some(id), _, _) => format!("user-assigned managed identity, client ID {id}"),
        (_, Some(id), _) => format!("user-assigned managed identity, object ID {id}"),
        (_, _, Some(id)) => format!("user-assigned managed identity {id}"),
        _ => "system-assigned managed identity".into(),
    }
}

/// The names of profiles.json's profiles, one per line.
fn list_names() -> Result<()> {
    let doc = profile::ProfilesFile::open()?.load()?;
    entratool::output::stdout(&doc.names().iter().map(|n| format!("{n}\n")).collect::<String>())
}

fn list(output: ListFormat) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    if output == ListFormat::Json {
        let v = to_json(&doc.profiles)?;
        return entratool::output::stdout(&pretty(&v));
    }
    if doc.profiles.is_empty() {
        entratool::outln!("No profiles in {}. Create one with `entratool config create`.", store.path.display());
        return Ok(());
    }
    let mut rows =
        vec![vec!["".into(), "NAME".into(), "AUTH".into(), "CLIENT ID".into(), "TENANT".into(), "SCOPE".into()]];
    for p in &doc.profiles {
        let mark = if doc.default_profile.as_deref() == Some(&p.name) { "*" } else { "" };
        rows.push(vec![
            mark.into(),
            p.name.clone(),
            method_label(p).into(),
            p.client_id.clone(),
            p.tenant_id.clone(),
            p.default_scope().unwrap_or("").into(),
        ]);
    }
    entratool::output::stdout(&table(&rows))
}

fn show(name: &str, output: ListFormat) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let p = doc.get(name, &store.path)?;
    if output == ListFormat::Json {
        let v = to_json(p)?;
        return entratool::output::stdout(&pretty(&v));
    }
    let matches: Vec<&str> = p.matches.iter().map(MatchEntry::pattern).collect();
    let mut rows = vec![
        vec!["Name:".into(), p.name.clone()],
        vec!["Client ID:".into(), p.client_id.clone()],
        vec!["Tenant ID:".into(), p.tenant_id.clone()],
        vec!["Authentication:".into(), method_label(p).into()],
        vec!["Credential:".into(), credential_summary(p)],
        vec!["Scope:".into(), p.default_scope().unwrap_or("(none)").into()],
        vec!["Authority:".into(), p.authority().unwrap_or_else(|e| format!("(invalid: {e})"))],
    ];
    if !matches.is_empty() {
        rows.push(vec!["Match:".into(), matches.join(", ")]);
    }
    if let Some(claims) = &p.pop_claims {
        rows.push(vec!["PoP claims:".into(), format!("{claims} (Azure Arc: PoP tokens by default)")]);
    }
    if doc.default_profile.as_deref() == Some(name) {
        rows.push(vec!["Default:".into(), "yes".into()]);
    }
    entratool::output::stdout(&table(&rows))
}

fn delete(name: &str) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let journal = PendingSecrets::of(&store);
    // A create killed after storing its secret: no profile, but a secret to remove.
    if store.load()?.find(name).is_none() && journal.names().iter().any(|n| n == name) {
        forget_secrets(name);
        journal.remove(name)?;
        entratool::outln!("✓ Removed the orphaned secret of '{name}' (a config create that did not finish)");
        return Ok(());
    }
    let files = store.update(|doc| {
        let Some(gone) = doc.find(name) else {
            return Err(profile::unknown_profile(name, &doc.names(), &store.path, "-p"));
        };
        // The passwords a rotation stored for its files go too.
        let files: Vec<String> =
            [&gone.certificate_path, &gone.previous_certificate_path].into_iter().flatten().cloned().collect();
        doc.profiles.retain(|p| p.name != name);
        if doc.default_profile.as_deref() == Some(name) {
            doc.default_profile = None;
        }
        Ok(files)
    })?;
    forget_secrets(name);
    for file in files {
        if let Err(e) = secrets::delete_for_file(name, Path::new(&file)) {
            entratool::output::warn(&e.report("", ""));
        }
    }
    let removed = Cache::open().map(|c| c.clear(Some(name))).unwrap_or(0);
    entratool::outln!("✓ Profile '{name}' deleted (and {removed} cached token files)");
    Ok(())
}

fn export(name: &str, output: Option<&PathBuf>) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let p = doc.get(name, &store.path)?;
    let v = to_json(p)?;
    match output {
        Some(path) => entratool::fsutil::replace_keeping_link(path, pretty(&v).as_bytes())?,
        None => entratool::output::stdout(&pretty(&v))?,
    }
    if let Some(path) = output {
        entratool::outln!("✓ Profile '{name}' exported to {} (no secrets included)", path.display());
    }
    Ok(())
}

fn import(input: &Path, new_name: Option<String>) -> Result<()> {
    let bytes = entratool::fsutil::read_regular(input, profile::MAX_PROFILES, entratool::fsutil::Links::Follow)
        .map_err(|e| profile::unreadable(input, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut p: Profile = serde_json::from_str(&text).map_err(|e| {
        Error::config(format!("invalid profile file {}:{}:{}", input.display(), e.line(), e.column()))
            .with_source(e)
            .with_remedy("give the file written by `entratool config export`")
    })?;
    if let Some(n) = new_name {
        p.name = n;
    }
    p.validate()?;
    let store = profile::ProfilesFile::open()?;
    let name = p.name.clone();
    let needs_secret = p.auth_method() == AuthMethod::Secret;
    store.update(|doc| {
        if doc.find(&name).is_some() {
            // Only this error gets the import's own remedy: an unreadable profiles.json keeps its own.
            return Err(exists(&name).with_remedy("import it under another name with --name NEW"));
        }
        doc.default_profile.get_or_insert_with(|| name.clone());
        doc.profiles.push(p.clone());
        Ok(())
    })?;
    entratool::outln!("✓ Profile '{name}' imported successfully");
    if needs_secret {
        entratool::output::note(&format!(
            "profile '{name}' uses a client secret: store it with `entratool config edit -p {name} --secret-stdin`"
        ));
    }
    Ok(())
}
