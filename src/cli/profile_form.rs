//! What `config create`, `config edit`, the wizard and `setup kubectl
//! --from-kubelogin` fill in, and the one way a created or edited profile is
//! saved (its secrets to the keyring, then profiles.json). Its own module so
//! that those commands share it without importing one another.

use std::path::PathBuf;

use clap::Args;
use zeroize::Zeroizing;

use entratool::credential::secrets::{self, SecretKind};
use entratool::error::{Error, Result};
use entratool::profile::{self, AuthMethod, Profile};
use entratool::token::cache::Cache;

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
    /// workload-identity, github-actions, azure-pipelines, managed-identity or managed-identity-federation: a
    /// credential with no stored secret (certificate and secret follow from --certificate and --secret-stdin)
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    pub auth_method: Option<AuthMethod>,
    /// workload-identity: the federated token file (default: $AZURE_FEDERATED_TOKEN_FILE at run time)
    #[arg(long, value_name = "PATH")]
    pub federated_token_file: Option<PathBuf>,
    /// azure-pipelines: the service connection (default: $AZURESUBSCRIPTION_SERVICE_CONNECTION_ID at run time)
    #[arg(long, value_name = "ID")]
    pub service_connection_id: Option<String>,
    /// managed-identity(-federation): the client ID of a user-assigned identity (default: the system-assigned one)
    #[arg(long, value_name = "GUID", conflicts_with_all = ["managed_identity_object_id", "managed_identity_resource_id"])]
    pub managed_identity_client_id: Option<String>,
    /// managed-identity(-federation): the object (principal) ID of a user-assigned identity
    #[arg(long, value_name = "GUID", conflicts_with = "managed_identity_resource_id")]
    pub managed_identity_object_id: Option<String>,
    /// managed-identity(-federation): the ARM resource ID of a user-assigned identity
    #[arg(long, value_name = "ID")]
    pub managed_identity_resource_id: Option<String>,
    /// github-actions, managed-identity-federation: the audience of the federated token (default:
    /// api://AzureADTokenExchange, or the cloud's own for managed-identity-federation)
    #[arg(long, value_name = "AUDIENCE")]
    pub federated_audience: Option<String>,
    /// Azure Arc: PoP tokens by default for this profile, "u=<ARM ID of the cluster>" (get-token's --pop-claims)
    #[arg(long, value_name = "CLAIMS")]
    pub pop_claims: Option<String>,
    /// Make this the default profile
    #[arg(long)]
    pub set_default: bool,
}

fn parse_method(text: &str) -> std::result::Result<AuthMethod, String> {
    AuthMethod::parse(text).ok_or_else(|| format!("use one of {}", AuthMethod::flags()))
}

impl ProfileFields {
    /// No flag given at all: nothing to change, nor a name, secret or default.
    pub fn is_empty(&self) -> bool {
        self.edit() == profile::Edit::default()
            && self.name.is_none()
            && !self.password_stdin
            && !self.secret_stdin
            && !self.set_default
    }

    /// The change to a profile these flags ask for.
    pub fn edit(&self) -> profile::Edit {
        profile::Edit {
            client_id: self.client_id.clone(),
            tenant_id: self.tenant_id.clone(),
            certificate: self.certificate.clone(),
            certificate_key: self.certificate_key.clone(),
            certificate_thumbprint: self.certificate_thumbprint.clone(),
            method: self.method(),
            federated_token_file: self.federated_token_file.clone(),
            service_connection_id: self.service_connection_id.clone(),
            managed_identity_client_id: self.managed_identity_client_id.clone(),
            managed_identity_object_id: self.managed_identity_object_id.clone(),
            managed_identity_resource_id: self.managed_identity_resource_id.clone(),
            federated_audience: self.federated_audience.clone(),
            pop_claims: self.pop_claims.clone(),
            scope: self.scope.clone(),
            cloud: self.cloud.clone(),
            authority_host: self.authority_host.clone(),
            matches: self.matches.clone(),
            send_certificate_chain: self.send_certificate_chain,
            assertion_algorithm: self.assertion_algorithm.clone(),
            subscription_id: self.subscription_id.clone(),
        }
    }

    /// The method the flags name, when they name one.
    pub fn method(&self) -> Option<AuthMethod> {
        if self.certificate.is_some() || self.certificate_thumbprint.is_some() {
            return Some(AuthMethod::Certificate);
        }
        self.auth_method.or(self.secret_stdin.then_some(AuthMethod::Secret))
    }
}

/// A secret read from stdin or typed in the wizard, stored once the
/// profile is valid.
pub struct PendingSecret {
    pub kind: SecretKind,
    pub value: Zeroizing<String>,
}

/// Where each pending secret was stored, for the announcement.
pub type Stored = Vec<(SecretKind, &'static str)>;

/// Says what stands once a profile is saved: `✓ Profile … created/updated
/// successfully`, where each secret went, and that a volatile store is lost at reboot.
pub fn announce_saved(name: &str, updated: bool, stored: &Stored) {
    entratool::outln!("✓ Profile '{name}' {} successfully", if updated { "updated" } else { "created" });
    for (kind, store) in stored {
        entratool::outln!("  its {} is stored in the {store}", kind.label());
        if secrets::is_volatile(store) {
            entratool::output::warn(secrets::VOLATILE_NOTE);
        }
    }
}

/// The one way a created or edited profile is saved: its secrets to the
/// keyring, the profile into profiles.json under the lock (a new one must not
/// exist yet; the first one becomes the default), and for an edit the tokens
/// obtained with the old settings dropped. Says nothing: the caller
/// announces what stands (`announce_saved`). Returns where secrets went.
pub(super) fn save(
    store: &profile::ProfilesFile,
    p: Profile,
    was: Option<&str>,
    set_default: bool,
    pending: &[PendingSecret],
) -> Result<Stored> {
    let name = p.name.clone();
    let journal = PendingSecrets::of(store);
    if was.is_none() && store.load()?.find(&name).is_some() {
        return Err(exists(&name));
    }
    if was.is_none() {
        // A new profile has no secret yet: anything stored under its name is
        // an orphan of a killed create, and must not be picked up later.
        forget_secrets(&name);
    }
    if !pending.is_empty() {
        journal.add(&name)?;
    }
    let mut stored = Stored::new();
    for s in pending {
        stored.push((s.kind, secrets::save(&p.name, s.kind, &s.value)?));
    }
    store.update(|doc| {
        match was {
            None if doc.find(&name).is_some() => return Err(exists(&name)),
            None => doc.profiles.push(p.clone()),
            Some(old) => {
                if old != name && doc.find(&name).is_some() {
                    return Err(exists(&name));
                }
                let slot = doc.find_mut(old).ok_or_else(|| {
                    Error::config(format!("profile '{old}' disappeared meanwhile")).with_remedy("run the command again")
                })?;
                *slot = p.clone();
            }
        }
        let renamed_default = was.is_some_and(|old| doc.default_profile.as_deref() == Some(old));
        if set_default || doc.default_profile.is_none() || renamed_default {
            doc.default_profile = Some(name.clone());
        }
        Ok(())
    })?;
    if !pending.is_empty() {
        journal.remove(&name)?;
    }
    if let Some(old) = was
        && let Ok(cache) = Cache::open()
    {
        cache.clear(Some(old));
    }
    Ok(stored)
}

pub(super) fn forget_secrets(name: &str) {
    let mut warnings = Vec::new();
    for kind in [SecretKind::CertificatePassword, SecretKind::ClientSecret] {
        if let Err(e) = secrets::delete(name, kind, &mut warnings) {
            warnings.push(e.report("", ""));
        }
    }
    entratool::output::warn_all(&warnings, false);
}

pub(super) fn exists(name: &str) -> Error {
    Error::config(format!("a profile named '{name}' already exists"))
        .with_remedy(format!("change it with `entratool config edit -p {name}`, or pick another name"))
}

/// Names whose secret is being stored before their profile is saved
/// (`secrets.pending.json` beside profiles.json, names only). A `config
/// create` killed in between leaves its name here: `doctor` reports the
/// orphaned secret, and a later create or delete of that name removes it.
pub struct PendingSecrets {
    path: PathBuf,
}

impl PendingSecrets {
    pub fn of(store: &profile::ProfilesFile) -> PendingSecrets {
        PendingSecrets { path: store.path.with_file_name("secrets.pending.json") }
    }

    pub fn names(&self) -> Vec<String> {
        entratool::fsutil::read_trusted(&self.path, 1024 * 1024, entratool::fsutil::Links::Refuse)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn change(&self, f: impl FnOnce(&mut Vec<String>)) -> Result<()> {
        let _lock = entratool::fsutil::lock(&self.path.with_extension("json.lock"))?;
        let mut names = self.names();
        f(&mut names);
        if names.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", &self.path, e)),
                _ => Ok(()),
            };
        }
        let bytes = serde_json::to_vec(&names).map_err(|e| Error::config("cannot write a name list").with_source(e))?;
        entratool::fsutil::replace_file(&self.path, &bytes)
    }

    pub fn add(&self, name: &str) -> Result<()> {
        self.change(|n| {
            if !n.iter().any(|x| x == name) {
                n.push(name.to_string());
            }
        })
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        self.change(|n| n.retain(|x| x != name))
    }
}

/// Reads one secret from stdin (first line, without its line ending).
pub fn read_stdin_secret(what: &str) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let mut buf = Zeroizing::new(String::new());
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut buf)
        .map_err(|e| Error::usage(format!("cannot read the {what} from stdin")).with_source(e))?;
    let line = buf.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Error::usage(format!("no {what} on stdin"))
            .with_remedy("pipe it in, e.g. `printf %s \"$PASS\" | entratool config create ...`"));
    }
    Ok(Zeroizing::new(line.to_string()))
}
