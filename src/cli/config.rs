//! `entratool config …`: profiles.json and the secrets that go with it.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use super::{ListFormat, table, write_output};
use crate::credential::secrets::{self, SecretKind};
use crate::credential::{AuthContext, CertificateCredential, EXPIRY_WARNING_DAYS};
use crate::error::{Error, Result};
use crate::profile::{self, AuthMethod, MatchEntry, Profile};
use crate::token::cache::Cache;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Create a profile (flags, or questions on a terminal)
    Create(ProfileFields),
    /// Change a profile: only the fields given change
    Edit(EditArgs),
    /// List profiles
    List {
        #[arg(long, value_enum, default_value_t)]
        output: ListFormat,
    },
    /// Show one profile (never a secret)
    Show {
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: String,
        #[arg(long, value_enum, default_value_t)]
        output: ListFormat,
    },
    /// Delete a profile, its stored secret and its cached tokens
    Delete {
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: String,
    },
    /// Print a profile as JSON (no secrets), or write it to FILE
    Export {
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: String,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Add a profile from an exported JSON file
    Import {
        #[arg(short = 'i', long = "input", value_name = "FILE")]
        input: PathBuf,
        /// Save it under another name
        #[arg(long, value_name = "NEW")]
        name: Option<String>,
    },
}

/// The fields `create` and `edit` share.
#[derive(Args, Debug, Default, Clone)]
pub struct ProfileFields {
    /// Profile name: letters, digits, '.', '_' or '-'
    #[arg(long)]
    pub name: Option<String>,
    /// Application (client) ID, a GUID
    #[arg(long)]
    pub client_id: Option<String>,
    /// Directory (tenant) ID: a GUID or a domain such as contoso.onmicrosoft.com
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Certificate file: .pfx/.p12 or .pem (switches the profile to certificate auth)
    #[arg(long, value_name = "PATH", conflicts_with = "secret_stdin")]
    pub certificate: Option<PathBuf>,
    /// Private key in its own PEM file
    #[arg(long, value_name = "PATH")]
    pub certificate_key: Option<PathBuf>,
    /// Find the certificate by SHA-1 thumbprint in <config>/certs/ instead of a path
    #[arg(long, value_name = "HEX", conflicts_with_all = ["certificate", "secret_stdin"])]
    pub certificate_thumbprint: Option<String>,
    /// Read the certificate password from stdin and store it in the OS keyring
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the client secret from stdin and store it in the OS keyring (switches to secret auth)
    #[arg(long, conflicts_with = "password_stdin")]
    pub secret_stdin: bool,
    /// Default scope for get-token, e.g. https://graph.microsoft.com/.default
    #[arg(long)]
    pub scope: Option<String>,
    /// AzurePublicCloud, AzureUSGovernment or AzureChinaCloud
    #[arg(long)]
    pub cloud: Option<String>,
    /// Explicit authority, e.g. https://login.microsoftonline.us (wins over --cloud)
    #[arg(long, value_name = "URL")]
    pub authority_host: Option<String>,
    /// A URL prefix, host or host glob this profile answers in helper mode (repeatable)
    #[arg(long = "match", value_name = "PATTERN")]
    pub matches: Vec<String>,
    /// Send the certificate chain (x5c) for subject name/issuer authentication
    #[arg(long)]
    pub send_certificate_chain: bool,
    /// PS256 (default) or RS256
    #[arg(long, value_name = "ALG")]
    pub assertion_algorithm: Option<String>,
    /// Subscription echoed by the az shim
    #[arg(long, value_name = "GUID")]
    pub subscription_id: Option<String>,
    /// Make this the default profile
    #[arg(long)]
    pub set_default: bool,
}

impl ProfileFields {
    /// No flag given at all.
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.client_id.is_none()
            && self.tenant_id.is_none()
            && self.certificate.is_none()
            && self.certificate_key.is_none()
            && self.certificate_thumbprint.is_none()
            && !self.password_stdin
            && !self.secret_stdin
            && self.scope.is_none()
            && self.cloud.is_none()
            && self.authority_host.is_none()
            && self.matches.is_empty()
            && !self.send_certificate_chain
            && self.assertion_algorithm.is_none()
            && self.subscription_id.is_none()
            && !self.set_default
    }
}

#[derive(Args, Debug)]
pub struct EditArgs {
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    #[command(flatten)]
    pub fields: ProfileFields,
}

pub fn run(cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Create(fields) => create(fields),
        ConfigCommand::Edit(args) => edit(args),
        ConfigCommand::List { output } => list(output),
        ConfigCommand::Show { profile, output } => show(&profile, output),
        ConfigCommand::Delete { profile } => delete(&profile),
        ConfigCommand::Export { profile, output } => export(&profile, output.as_ref()),
        ConfigCommand::Import { input, name } => import(&input, name),
    }
}

/// A secret read from stdin or typed in the wizard, stored once the
/// profile is valid.
pub(super) struct PendingSecret {
    pub kind: SecretKind,
    pub value: Zeroizing<String>,
}

fn read_pending_secret(fields: &ProfileFields) -> Result<Option<PendingSecret>> {
    if fields.password_stdin {
        let value = secrets::read_stdin_secret("certificate password")?;
        return Ok(Some(PendingSecret { kind: SecretKind::CertificatePassword, value }));
    }
    if fields.secret_stdin {
        let value = secrets::read_stdin_secret("client secret")?;
        return Ok(Some(PendingSecret { kind: SecretKind::ClientSecret, value }));
    }
    Ok(None)
}

fn absolute(path: &Path) -> Result<String> {
    let abs = std::path::absolute(path)
        .map_err(|e| Error::usage(format!("cannot resolve the path {}: {e}", path.display())))?;
    Ok(abs.to_string_lossy().into_owned())
}

/// Applies the given flags to `p`.
pub(super) fn apply(p: &mut Profile, f: &ProfileFields) -> Result<()> {
    if let Some(v) = &f.client_id {
        p.client_id = v.clone();
    }
    if let Some(v) = &f.tenant_id {
        p.tenant_id = v.clone();
    }
    if let Some(path) = &f.certificate {
        p.certificate_path = Some(absolute(path)?);
        p.certificate_thumbprint = None;
        set_method(p, AuthMethod::Certificate);
    }
    if let Some(key) = &f.certificate_key {
        p.certificate_key_path = Some(absolute(key)?);
    }
    if let Some(t) = &f.certificate_thumbprint {
        p.certificate_thumbprint = Some(t.replace([' ', ':'], "").to_ascii_uppercase());
        p.certificate_path = None;
        p.certificate_key_path = None;
        set_method(p, AuthMethod::Certificate);
    }
    if f.secret_stdin {
        set_method(p, AuthMethod::Secret);
    }
    if let Some(v) = &f.scope {
        p.scope = Some(v.clone());
    }
    if let Some(v) = &f.cloud {
        crate::token::entra::cloud_authority(v)?;
        p.cloud = Some(v.clone());
    }
    if let Some(v) = &f.authority_host {
        crate::http::check_url(v)?;
        p.authority_host = Some(v.trim_end_matches('/').to_string());
    }
    for m in &f.matches {
        if !p.matches.iter().any(|e| e.pattern() == m) {
            p.matches.push(MatchEntry::Pattern(m.clone()));
        }
    }
    if f.send_certificate_chain {
        p.send_certificate_chain = Some(true);
    }
    if let Some(v) = &f.assertion_algorithm {
        p.assertion_algorithm = Some(v.to_ascii_uppercase());
    }
    if let Some(v) = &f.subscription_id {
        p.subscription_id = Some(v.clone());
    }
    Ok(())
}

/// Sets the method in whichever field the profile already uses.
fn set_method(p: &mut Profile, m: AuthMethod) {
    if p.auth_method.is_some() && p.use_certificate.is_none() {
        p.auth_method = Some(if m == AuthMethod::Certificate { "certificate" } else { "secret" }.into());
    } else {
        p.use_certificate = Some(m == AuthMethod::Certificate);
    }
}

/// Checks that the certificate opens with the password at hand, before anything is saved.
fn check_certificate(p: &Profile, pending: Option<&PendingSecret>) -> Result<Vec<String>> {
    if p.auth_method() != AuthMethod::Certificate {
        return Ok(Vec::new());
    }
    let cred = CertificateCredential::new(p)?;
    let loaded = match pending.filter(|s| s.kind == SecretKind::CertificatePassword) {
        // Check exactly the password that will be stored.
        Some(s) => cred.open_with(Some(&s.value)),
        None => cred.load(&mut AuthContext::default()),
    }
    .map_err(|mut e| {
        if e.message.contains("none was found") {
            e.message = format!(
                "the certificate is protected by a password: pass it with --password-stdin (e.g. `printf %s \"$PASS\" \
                 | entratool config create ... --password-stdin`). ({})",
                e.message
            );
        }
        e
    })?;
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

pub(super) fn store_secret(profile: &str, pending: Option<&PendingSecret>) -> Result<()> {
    if let Some(s) = pending {
        let store = secrets::save(profile, s.kind, &s.value)?;
        eprintln!("The {} is stored in the {store}.", s.kind.label());
    }
    Ok(())
}

/// Adds a new profile under the lock (the first one becomes the default).
pub(super) fn add_profile(store: &profile::Store, p: Profile, set_default: bool) -> Result<()> {
    store.update(|doc| {
        if doc.find(&p.name).is_some() {
            return Err(exists(&p.name));
        }
        if set_default || doc.default_profile.is_none() {
            doc.default_profile = Some(p.name.clone());
        }
        doc.profiles.push(p.clone());
        Ok(())
    })
}

fn create(fields: ProfileFields) -> Result<()> {
    let incomplete = fields.name.is_none()
        || fields.client_id.is_none()
        || fields.tenant_id.is_none()
        || (fields.certificate.is_none() && fields.certificate_thumbprint.is_none() && !fields.secret_stdin);
    if incomplete && !fields.password_stdin && !fields.secret_stdin && super::stdin_is_terminal() {
        return super::wizard::create(fields);
    }
    let missing: Vec<&str> = [
        ("--name", fields.name.is_none()),
        ("--client-id", fields.client_id.is_none()),
        ("--tenant-id", fields.tenant_id.is_none()),
        (
            "--certificate, --certificate-thumbprint or --secret-stdin",
            fields.certificate.is_none() && fields.certificate_thumbprint.is_none() && !fields.secret_stdin,
        ),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(f, _)| *f)
    .collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!("config create needs {}", missing.join(", "))));
    }
    let name = fields.name.clone().unwrap_or_default();
    profile::validate_name(&name)?;
    let mut p = Profile { name: name.clone(), ..Default::default() };
    apply(&mut p, &fields)?;
    if p.scope.is_none() {
        p.scope = Some("https://graph.microsoft.com/.default".into());
    }
    p.validate()?;
    if let Some(path) = &p.certificate_path
        && !Path::new(path).exists()
    {
        return Err(Error::credential(format!(
            "Certificate not found: {path}. Check the path and run the command again"
        )));
    }
    let store = profile::Store::open()?;
    if store.load()?.find(&name).is_some() {
        return Err(exists(&name));
    }
    let pending = read_pending_secret(&fields)?;
    let warnings = check_certificate(&p, pending.as_ref())?;
    store_secret(&name, pending.as_ref())?;
    add_profile(&store, p, fields.set_default)?;
    super::print_warnings(&warnings, false);
    println!("✓ Profile '{name}' created successfully");
    Ok(())
}

pub(super) fn exists(name: &str) -> Error {
    Error::config(format!(
        "a profile named '{name}' already exists: change it with `entratool config edit -p {name}`, or pick another name"
    ))
}

fn edit(args: EditArgs) -> Result<()> {
    let EditArgs { profile: name, fields } = args;
    if fields.is_empty() && super::stdin_is_terminal() {
        return super::wizard::edit(&name);
    }
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let mut p = doc.get(&name, &store.path)?.clone();
    let new_name = fields.name.clone();
    apply(&mut p, &fields)?;
    if let Some(n) = &new_name {
        profile::validate_name(n)?;
        if n != &name && doc.find(n).is_some() {
            return Err(exists(n));
        }
        p.name = n.clone();
    }
    p.validate()?;
    let pending = read_pending_secret(&fields)?;
    if fields.certificate.is_some() || pending.as_ref().is_some_and(|s| s.kind == SecretKind::CertificatePassword) {
        if let Some(path) = &p.certificate_path
            && !Path::new(path).exists()
        {
            return Err(Error::credential(format!("Certificate not found: {path}. Check the path")));
        }
        let warnings = check_certificate(&p, pending.as_ref())?;
        super::print_warnings(&warnings, false);
    }
    store_secret(&p.name, pending.as_ref())?;
    let updated = p.clone();
    store.update(|doc| {
        let slot =
            doc.find_mut(&name).ok_or_else(|| Error::config(format!("profile '{name}' disappeared meanwhile")))?;
        *slot = updated.clone();
        if fields.set_default || (doc.default_profile.as_deref() == Some(name.as_str()) && updated.name != name) {
            doc.default_profile = Some(updated.name.clone());
        }
        Ok(())
    })?;
    // Tokens obtained with the old settings must not be served for the new ones.
    if let Ok(cache) = Cache::open() {
        cache.clear(Some(&name));
    }
    println!("✓ Profile '{}' updated successfully", p.name);
    Ok(())
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
        AuthMethod::Secret => "(client secret in the keyring)".into(),
    }
}

fn list(output: ListFormat) -> Result<()> {
    let store = profile::Store::open()?;
    let doc = store.load()?;
    if output == ListFormat::Json {
        let v = serde_json::to_value(&doc.profiles).unwrap_or_default();
        return write_output(None, &crate::protocols::plain::pretty(&v));
    }
    if doc.profiles.is_empty() {
        println!("No profiles in {}. Create one with `entratool config create`.", store.path.display());
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
    write_output(None, &table(&rows))
}

fn show(name: &str, output: ListFormat) -> Result<()> {
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let p = doc.get(name, &store.path)?;
    if output == ListFormat::Json {
        let v = serde_json::to_value(p).unwrap_or_default();
        return write_output(None, &crate::protocols::plain::pretty(&v));
    }
    let matches: Vec<&str> = p.matches.iter().map(MatchEntry::pattern).collect();
    let mut rows = vec![
        vec!["Name:".into(), p.name.clone()],
        vec!["Client ID:".into(), p.client_id.clone()],
        vec!["Tenant ID:".into(), p.tenant_id.clone()],
        vec!["Authentication:".into(), method_label(p).into()],
        vec!["Credential:".into(), credential_summary(p)],
        vec!["Scope:".into(), p.default_scope().unwrap_or("(none)").into()],
        vec!["Authority:".into(), crate::token::entra::authority_host(p).unwrap_or_else(|e| format!("(invalid: {e})"))],
    ];
    if !matches.is_empty() {
        rows.push(vec!["Match:".into(), matches.join(", ")]);
    }
    if doc.default_profile.as_deref() == Some(name) {
        rows.push(vec!["Default:".into(), "yes".into()]);
    }
    write_output(None, &table(&rows))
}

fn delete(name: &str) -> Result<()> {
    let store = profile::Store::open()?;
    store.update(|doc| {
        if doc.find(name).is_none() {
            return Err(profile::unknown_profile(name, &doc.names(), &store.path));
        }
        doc.profiles.retain(|p| p.name != name);
        if doc.default_profile.as_deref() == Some(name) {
            doc.default_profile = None;
        }
        Ok(())
    })?;
    for kind in [SecretKind::CertificatePassword, SecretKind::ClientSecret] {
        if let Err(e) = secrets::delete(name, kind) {
            eprintln!("warning: {e}");
        }
    }
    let removed = Cache::open().map(|c| c.clear(Some(name))).unwrap_or(0);
    println!("✓ Profile '{name}' deleted (and {removed} cached token files)");
    Ok(())
}

fn export(name: &str, output: Option<&PathBuf>) -> Result<()> {
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let p = doc.get(name, &store.path)?;
    let v = serde_json::to_value(p).unwrap_or_default();
    write_output(output, &crate::protocols::plain::pretty(&v))?;
    if let Some(path) = output {
        eprintln!("Profile '{name}' exported to {} (no secrets included).", path.display());
    }
    Ok(())
}

fn import(input: &Path, new_name: Option<String>) -> Result<()> {
    let text = std::fs::read_to_string(input).map_err(|e| {
        Error::config(format!(
            "cannot read {}: {e}. Give the file written by `entratool config export`",
            input.display()
        ))
    })?;
    let mut p: Profile = serde_json::from_str(&text).map_err(|e| {
        Error::config(format!(
            "invalid profile file {}:{}:{}: {e}. Give the file written by `entratool config export`",
            input.display(),
            e.line(),
            e.column()
        ))
    })?;
    if let Some(n) = new_name {
        p.name = n;
    }
    p.validate()?;
    let store = profile::Store::open()?;
    let name = p.name.clone();
    let needs_secret = p.auth_method() == AuthMethod::Secret;
    add_profile(&store, p, false).map_err(|mut e| {
        e.message.push_str(" (import it under another name with --name NEW)");
        e
    })?;
    println!("✓ Profile '{name}' imported successfully");
    if needs_secret {
        eprintln!("Store its client secret with `entratool config edit -p {name} --secret-stdin`.");
    }
    Ok(())
}
