//! The interactive `config create` and `config edit` of the original tool:
//! the same questions, each answer checked as it is typed.

use std::path::{Path, PathBuf};

use super::profile_form::{PendingSecret as Pending, ProfileFields, announce_saved, exists, save};
use super::prompt::{Prompter, TerminalPrompt};
use entratool::credential::certificate::{LoadError, file, x509};
use entratool::credential::open_asking;
use entratool::credential::secrets::{self, SecretKind};
use entratool::error::{Error, Result};
use entratool::profile::{self, AuthMethod, Profile};

pub const DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

fn existing_file(answer: &str) -> Result<PathBuf> {
    let path = PathBuf::from(shellexpand_home(answer));
    if answer.is_empty() || !path.is_file() {
        return Err(x509::not_found(answer, None));
    }
    std::path::absolute(&path).map_err(|e| Error::usage(e.to_string()))
}

/// `~/x` as the shell would read it.
fn shellexpand_home(answer: &str) -> String {
    match (answer.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(b)) => b.home_dir().join(rest).display().to_string(),
        _ => answer.to_string(),
    }
}

/// Asks for the certificate's password until it opens the file (none asked
/// when it opens without). Returns the password to store, if any.
fn certificate_password(path: &Path, key: Option<&Path>) -> Result<std::result::Result<Option<Pending>, String>> {
    let shown = path.display().to_string();
    match open_asking(|pw| file::load(path, key, pw), &shown, &TerminalPrompt, None) {
        Ok((_, pw)) => Ok(Ok(pw.map(|value| Pending { kind: SecretKind::CertificatePassword, value }))),
        // Cancelled at the prompt: nothing is saved.
        Err(LoadError::Failed(e)) => Err(e),
        Err(e) => Ok(Err(e.into_error(&shown, None).to_string())),
    }
}

/// Asks for a certificate path (and its password) until both are right.
fn certificate(p: &mut Prompter, given: Option<&Path>) -> Result<(PathBuf, Option<Pending>)> {
    let mut given = given.map(Path::to_path_buf);
    loop {
        let path = match given.take() {
            Some(g) => g,
            None => p.ask_until("Certificate path: ", existing_file)?,
        };
        match certificate_password(&path, None)? {
            Ok(pending) => return Ok((path, pending)),
            Err(why) => entratool::outln!("✗ {why}"),
        }
    }
}

fn client_secret(p: &mut Prompter) -> Result<Pending> {
    loop {
        let s = p.ask_hidden("Client secret: ")?;
        if !s.is_empty() {
            return Ok(Pending { kind: SecretKind::ClientSecret, value: s });
        }
        entratool::outln!("✗ the client secret cannot be empty");
    }
}

/// `config create` on a terminal: asks for what the flags did not give.
pub fn create(fields: ProfileFields) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let mut p = Prompter::new();
    let name = match &fields.name {
        Some(n) => n.clone(),
        None => p.ask_until("Profile name: ", |a| {
            profile::validate_name(a)?;
            if doc.find(a).is_some() {
                return Err(exists(a));
            }
            Ok(a.to_string())
        })?,
    };
    let client_id = match &fields.client_id {
        Some(c) => c.clone(),
        None => p.ask_until("Client ID: ", |a| profile::validate_guid("client ID", a).map(|_| a.to_string()))?,
    };
    let tenant_id = match &fields.tenant_id {
        Some(t) => t.clone(),
        None => p.ask_until("Tenant ID: ", |a| profile::validate_tenant(a).map(|_| a.to_string()))?,
    };
    let method = match fields.method() {
        Some(m) => m,
        None => {
            // The seed's two first, in its order; then the ones with no stored secret.
            entratool::outln!("Authentication method:");
            for (i, m) in AuthMethod::ALL.iter().enumerate() {
                entratool::outln!("{}. {}", i + 1, m.names().menu);
            }
            let last = AuthMethod::ALL.len();
            p.ask_until("Select: ", |a| match a.parse::<usize>() {
                Ok(n @ 1..) if n <= last => Ok(AuthMethod::ALL[n - 1]),
                _ => Err(Error::usage(format!("type a number from 1 to {last}"))),
            })?
        }
    };
    let mut profile = Profile { name: name.clone(), client_id, tenant_id, ..Default::default() };
    profile.apply(&ProfileFields { certificate: None, ..fields.clone() }.edit())?;
    let pending = match method {
        AuthMethod::Certificate if fields.certificate_thumbprint.is_some() => None,
        AuthMethod::Certificate => {
            let (path, pending) = certificate(&mut p, fields.certificate.as_deref())?;
            profile.certificate_path = Some(path.display().to_string());
            profile.set_auth_method(AuthMethod::Certificate);
            pending
        }
        AuthMethod::Secret => {
            profile.set_auth_method(AuthMethod::Secret);
            Some(client_secret(&mut p)?)
        }
        other => {
            profile.set_auth_method(other);
            secretless_details(&mut p, &mut profile, &fields)?;
            None
        }
    };
    if fields.scope.is_none() {
        let scope = p.ask(&format!("Scope [{DEFAULT_SCOPE}]: "))?;
        profile.scope = Some(if scope.is_empty() { DEFAULT_SCOPE.to_string() } else { scope });
    }
    profile.validate()?;
    let stored = save(&store, profile, None, fields.set_default, pending.as_slice())?;
    announce_saved(&name, false, &stored);
    Ok(())
}

/// The one question each method with no stored secret has; an empty answer
/// keeps the environment's value at run time.
fn secretless_details(p: &mut Prompter, profile: &mut Profile, fields: &ProfileFields) -> Result<()> {
    match profile.auth_method() {
        AuthMethod::WorkloadIdentity if fields.federated_token_file.is_none() => {
            let a = p.ask("Federated token file [$AZURE_FEDERATED_TOKEN_FILE]: ")?;
            if !a.is_empty() {
                profile.federated_token_file =
                    Some(std::path::absolute(shellexpand_home(&a)).map_or(a, |x| x.display().to_string()));
            }
        }
        AuthMethod::AzurePipelines if fields.service_connection_id.is_none() => {
            let a = p.ask("Service connection ID [$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID]: ")?;
            if !a.is_empty() {
                profile.service_connection_id = Some(a);
            }
        }
        AuthMethod::ManagedIdentity if fields.managed_identity_client_id.is_none() => {
            let id = p.ask_until("Managed identity client ID [system-assigned]: ", |a| {
                if a.is_empty() {
                    Ok(None)
                } else {
                    profile::validate_guid("client ID", a).map(|_| Some(a.to_string()))
                }
            })?;
            profile.managed_identity_client_id = id;
        }
        // The app trusts a user-assigned identity: which one is needed.
        AuthMethod::ManagedIdentityFederation if fields.managed_identity_client_id.is_none() => {
            let id = p.ask_until("Client ID of the user-assigned managed identity the app trusts: ", |a| {
                profile::validate_guid("client ID", a).map(|_| a.to_string())
            })?;
            profile.managed_identity_client_id = Some(id);
        }
        _ => {}
    }
    Ok(())
}

/// A field `config edit`'s menu can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    CertificatePath,
    CertificatePassword,
    ClientSecret,
    TokenFile,
    ServiceConnection,
    IdentityClientId,
    Scope,
    ClientId,
    TenantId,
    Authority,
    AddMatch,
    RemoveMatch,
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::CertificatePath => "Certificate path",
            Field::CertificatePassword => "Certificate password",
            Field::ClientSecret => "Client secret",
            Field::TokenFile => "Federated token file",
            Field::ServiceConnection => "Service connection ID",
            Field::IdentityClientId => "Managed identity client ID",
            Field::Scope => "Scope",
            Field::ClientId => "Client ID",
            Field::TenantId => "Tenant ID",
            Field::Authority => "Authority host",
            Field::AddMatch => "Add a match entry",
            Field::RemoveMatch => "Remove a match entry",
        }
    }
}

/// The fields that apply to a profile of `method`, in the seed's order
/// (its credential first); switching the method is done with flags.
fn fields_for(method: AuthMethod) -> Vec<Field> {
    let own: &[Field] = match method {
        AuthMethod::Certificate => &[Field::CertificatePath, Field::CertificatePassword],
        AuthMethod::Secret => &[Field::ClientSecret],
        AuthMethod::WorkloadIdentity => &[Field::TokenFile],
        AuthMethod::AzurePipelines => &[Field::ServiceConnection],
        AuthMethod::ManagedIdentity | AuthMethod::ManagedIdentityFederation => &[Field::IdentityClientId],
        AuthMethod::GithubActions => &[],
    };
    let mut fields = own.to_vec();
    fields.extend([Field::Scope, Field::ClientId, Field::TenantId, Field::Authority, Field::AddMatch]);
    fields.push(Field::RemoveMatch);
    fields
}

/// What the field holds now, as the menu shows it (never a secret: only where it is).
fn current(profile: &Profile, field: Field) -> String {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_string());
    match field {
        Field::CertificatePath => profile
            .certificate_path
            .clone()
            .or_else(|| profile.certificate_thumbprint.as_ref().map(|t| format!("thumbprint {t}")))
            .unwrap_or_else(|| "none".into()),
        Field::CertificatePassword => stored(&profile.name, SecretKind::CertificatePassword),
        Field::ClientSecret => stored(&profile.name, SecretKind::ClientSecret),
        Field::TokenFile => {
            profile.federated_token_file.clone().unwrap_or_else(|| "$AZURE_FEDERATED_TOKEN_FILE".into())
        }
        Field::ServiceConnection => {
            profile.service_connection_id.clone().unwrap_or_else(|| "$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID".into())
        }
        Field::IdentityClientId => {
            profile.managed_identity_client_id.clone().unwrap_or_else(|| "system-assigned".into())
        }
        Field::Scope => profile.default_scope().unwrap_or("none").to_string(),
        Field::ClientId => profile.client_id.clone(),
        Field::TenantId => profile.tenant_id.clone(),
        Field::Authority => or_none(&profile.authority_host),
        Field::AddMatch | Field::RemoveMatch => {
            let all: Vec<&str> = profile.matches.iter().map(|m| m.pattern()).collect();
            if all.is_empty() { "none".into() } else { all.join(", ") }
        }
    }
}

fn stored(profile: &str, kind: SecretKind) -> String {
    match secrets::held_in(profile, kind) {
        Some(store) => format!("stored in the {store}"),
        None => "not stored".into(),
    }
}

/// `config edit -p NAME` on a terminal with no flags: a menu of the fields
/// that apply to the profile's method, each with its current value.
pub fn edit(name: &str) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let mut profile = doc.get(name, &store.path)?.clone();
    let mut pending: Vec<Pending> = Vec::new();
    let mut p = Prompter::new();
    let fields = fields_for(profile.auth_method());
    let save_at = fields.len() + 1;
    loop {
        entratool::outln!("Profile '{name}' ({}):", profile.auth_method().label());
        for (i, f) in fields.iter().enumerate() {
            entratool::outln!("{}. {} [{}]", i + 1, f.label(), current(&profile, *f));
        }
        entratool::outln!("{save_at}. Save and exit");
        let choice = p.ask_until("Select: ", |a| match a.parse::<usize>() {
            Ok(n @ 1..) if n <= save_at => Ok(n),
            _ => Err(Error::usage(format!("type a number from 1 to {save_at}"))),
        })?;
        if choice == save_at {
            break;
        }
        change(&mut p, &mut profile, &mut pending, fields[choice - 1])?;
    }
    profile.validate()?;
    let stored = save(&store, profile, Some(name), false, &pending)?;
    announce_saved(name, true, &stored);
    Ok(())
}

/// Asks for one field's new value.
fn change(p: &mut Prompter, profile: &mut Profile, pending: &mut Vec<Pending>, field: Field) -> Result<()> {
    match field {
        Field::CertificatePath => {
            let (path, pw) = certificate(p, None)?;
            profile.certificate_path = Some(path.display().to_string());
            profile.certificate_thumbprint = None;
            pending.extend(pw);
        }
        Field::CertificatePassword => match profile.certificate_path.clone() {
            Some(path) => {
                let key = profile.certificate_key_path.as_deref().map(Path::new);
                match certificate_password(Path::new(&path), key)? {
                    Ok(Some(pw)) => pending.push(pw),
                    Ok(None) => entratool::outln!("✓ {path} needs no password"),
                    Err(why) => entratool::outln!("✗ {why}"),
                }
            }
            None => entratool::outln!("✗ this profile has no certificate path: choose the certificate path first"),
        },
        Field::ClientSecret => pending.push(client_secret(p)?),
        Field::TokenFile => profile.federated_token_file = Some(p.ask_until("Federated token file: ", non_empty)?),
        Field::ServiceConnection => {
            profile.service_connection_id = Some(p.ask_until("Service connection ID: ", non_empty)?)
        }
        Field::IdentityClientId => {
            let id = p.ask_until("Managed identity client ID: ", |a| {
                profile::validate_guid("client ID", a).map(|_| a.to_string())
            })?;
            profile.managed_identity_client_id = Some(id);
        }
        Field::Scope => profile.scope = Some(p.ask_until("Scope: ", non_empty)?),
        Field::ClientId => {
            profile.client_id =
                p.ask_until("Client ID: ", |a| profile::validate_guid("client ID", a).map(|_| a.to_string()))?
        }
        Field::TenantId => {
            profile.tenant_id = p.ask_until("Tenant ID: ", |a| profile::validate_tenant(a).map(|_| a.to_string()))?
        }
        Field::Authority => {
            let host = p.ask("Authority host (empty: the cloud's): ")?;
            profile.authority_host = match host.as_str() {
                "" => None,
                url => Some(entratool::http::check_url(url)?.as_str().trim_end_matches('/').to_string()),
            };
        }
        Field::AddMatch => {
            let pattern = p.ask_until("Match entry (URL prefix, host or *.host): ", non_empty)?;
            if !profile.matches.iter().any(|m| m.pattern() == pattern) {
                profile.matches.push(profile::MatchEntry::Pattern(pattern));
            }
        }
        Field::RemoveMatch => {
            let pattern = p.ask_until("Match entry to remove: ", non_empty)?;
            let before = profile.matches.len();
            profile.matches.retain(|m| m.pattern() != pattern);
            if profile.matches.len() == before {
                entratool::outln!("✗ no match entry '{pattern}'");
            }
        }
    }
    Ok(())
}

fn non_empty(a: &str) -> Result<String> {
    if a.is_empty() { Err(Error::usage("an answer is needed")) } else { Ok(a.to_string()) }
}
