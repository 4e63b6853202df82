//! `entratool cert info|check`: what the Azure portal shows, and expiry watch.

use std::path::PathBuf;

use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::json;

use super::args::ListFormat;
use super::prompt::TerminalPrompt;
use entratool::credential::certificate::{Certificate, LoadError, file};
use entratool::credential::secrets::{self, SecretKind};
use entratool::credential::{AuthContext, CertificateCredential, SecretPrompt, open_asking};
use entratool::error::{Error, Result};
use entratool::output::{pretty, table};
use entratool::profile::{self, AuthMethod};

#[derive(Subcommand, Debug)]
pub enum CertCommand {
    /// Subject, issuer, thumbprints, validity and key of a certificate file or a profile's certificate
    Info {
        /// Certificate file: .pfx/.p12 with its key, or .cer/.crt/.pem (the public certificate the portal takes)
        #[arg(value_name = "PATH", required_unless_present = "profile")]
        path: Option<PathBuf>,
        /// The certificate of this profile
        #[arg(short = 'p', long = "profile", value_name = "NAME", conflicts_with = "path")]
        profile: Option<String>,
        /// Read the PATH file's password from stdin
        #[arg(long, requires = "path")]
        password_stdin: bool,
        /// table (default) or json
        #[arg(long, value_enum, default_value_t)]
        output: ListFormat,
    },
    /// Make an RSA key and a self-signed certificate: NAME.pfx (key and certificate) and NAME.pem (to upload)
    Create(CreateArgs),
    /// Replace a profile's certificate through Microsoft Graph, unattended (docs/rotation.md)
    Rotate(Box<RotateArgs>),
    /// Remove the previous certificate's key from the app (after a rotation's grace period)
    Prune(PruneArgs),
    /// Exit 1 when a profile's certificate expires within DAYS (for monitoring)
    Check {
        /// Only this profile (default: every certificate profile)
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: Option<String>,
        /// Days before expiry that count as expiring (exit 1)
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        within: i64,
    },
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The subject, e.g. CN=myapp or "CN=myapp, O=Contoso"
    #[arg(long, value_name = "DN", default_value = "CN=entratool")]
    pub subject: String,
    /// Days the certificate is valid (tenants often cap it at 365)
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u32,
    /// RSA key size: 2048, 3072 or 4096
    #[arg(long, value_name = "BITS", default_value_t = 2048)]
    pub key_size: u32,
    /// Folder to write into (default: <config folder>/certs, created 0700)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// File name stem: NAME.pfx and NAME.pem
    #[arg(long, value_name = "NAME", default_value = "certificate")]
    pub name: String,
    /// Protect the .pfx with a password read from stdin (else none, and the file is 0600)
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The profile whose certificate is replaced
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    /// Register this certificate instead of making one (a .pfx, or a .pem with its key)
    #[arg(long, value_name = "PATH")]
    pub new_certificate: Option<PathBuf>,
    /// The --new-certificate file's password, from stdin
    #[arg(long, requires = "new_certificate")]
    pub password_stdin: bool,
    /// Days the made certificate is valid
    #[arg(long, value_name = "N", default_value_t = 365, conflicts_with = "new_certificate")]
    pub days: u32,
    /// RSA key size of the made certificate: 2048, 3072 or 4096
    #[arg(long, value_name = "BITS", default_value_t = 2048, conflicts_with = "new_certificate")]
    pub key_size: u32,
    /// The app registration's Object ID (Overview page; not the client id), when Graph may not be read
    #[arg(long, value_name = "GUID")]
    pub application_object_id: Option<String>,
    /// Remove the old certificate's key from the app once the new one works
    #[arg(long)]
    pub remove_old: bool,
    /// The old certificate's key id, when the profile does not record it
    #[arg(long, value_name = "GUID", requires = "remove_old")]
    pub old_key_id: Option<String>,
    /// Rotate only when the certificate expires within DAYS (for schedules)
    #[arg(long, value_name = "DAYS")]
    pub if_expiring_within: Option<i64>,
    /// Longest wait for Entra ID to accept the new key, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub wait: u64,
    /// Where Graph's requests go (default: the cloud's Graph; also $ENTRATOOL_GRAPH_HOST)
    #[arg(long, value_name = "URL")]
    pub graph_host: Option<String>,
    /// Print the plan, send no write and change no file
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// The profile whose previous certificate's key is removed
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: String,
    /// The key to remove (default: the profile's previousCertificateKeyId)
    #[arg(long, value_name = "GUID")]
    pub key_id: Option<String>,
    /// The app registration's Object ID, when the profile does not record it
    #[arg(long, value_name = "GUID")]
    pub application_object_id: Option<String>,
    /// Where Graph's requests go (default: the cloud's Graph; also $ENTRATOOL_GRAPH_HOST)
    #[arg(long, value_name = "URL")]
    pub graph_host: Option<String>,
    /// Say what would be removed, send nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(cmd: CertCommand) -> Result<u8> {
    match cmd {
        CertCommand::Create(a) => create(a).map(|()| 0),
        CertCommand::Rotate(a) => rotate(*a).map(|()| 0),
        CertCommand::Prune(a) => prune(a).map(|()| 0),
        CertCommand::Info { path, profile, password_stdin, output } => {
            info(path, profile, password_stdin, output).map(|()| 0)
        }
        CertCommand::Check { profile, within } => check(profile, within),
    }
}

/// A certificate file as `cert info` shows it, with or without its key: the
/// password from stdin, the environment, or (on a terminal) a prompt.
fn open_file(path: &std::path::Path, password_stdin: bool) -> Result<Certificate> {
    let shown = path.display().to_string();
    let given = match password_stdin {
        true => Some(super::profile_form::read_stdin_secret("certificate password")?),
        false => secrets::from_env(SecretKind::CertificatePassword),
    };
    let opened = match given {
        Some(pw) => file::load_public(path, Some(&pw)),
        None if super::args::stdin_is_terminal() => {
            open_asking(|pw| file::load_public(path, pw), &shown, &TerminalPrompt, Some(3)).map(|(c, _)| c)
        }
        None => file::load_public(path, None),
    };
    opened.map_err(|e| match e {
        LoadError::NeedsPassword => Error::credential(format!("the certificate {shown} is protected by a password"))
            .with_remedy("pass it with --password-stdin or ENTRATOOL_CERTIFICATE_PASSWORD, or run it on a terminal"),
        other => other.into_error(&shown, None),
    })
}

fn info(path: Option<PathBuf>, profile: Option<String>, password_stdin: bool, output: ListFormat) -> Result<()> {
    let (cert, name) = match (path, profile) {
        (Some(p), _) => (open_file(&p, password_stdin)?, None),
        (None, Some(name)) => {
            let p = entratool::binding::profile_for_command(Some(&name))?;
            if p.auth_method() != AuthMethod::Certificate {
                return Err(Error::config(format!("profile '{name}' uses a client secret, not a certificate")));
            }
            let prompt = super::args::stdin_is_terminal().then_some(&TerminalPrompt as &dyn SecretPrompt);
            let mut ctx = AuthContext { prompt, ..Default::default() };
            (CertificateCredential::new(&p)?.load(&mut ctx)?.cert, Some(name))
        }
        (None, None) => return Err(Error::usage("give a certificate PATH or -p NAME")),
    };
    let now = Utc::now();
    let (key_type, key_bits) = cert.key_description();
    let v = json!({
        "profile": name,
        "path": cert.path.display().to_string(),
        "subject": cert.subject(),
        "issuer": cert.issuer(),
        "thumbprint": cert.thumbprint_hex(),
        "x5t": cert.x5t(),
        "x5t#S256": cert.x5t_s256(),
        "notBefore": cert.not_before().to_rfc3339(),
        "notAfter": cert.not_after().to_rfc3339(),
        "daysLeft": cert.days_left(now),
        "keyType": key_type,
        "keySize": key_bits,
        "chainLength": cert.chain.len(),
    });
    if output == ListFormat::Json {
        return entratool::output::stdout(&pretty(&v));
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    if let Some(n) = &name {
        rows.push(vec!["Profile:".into(), n.clone()]);
    }
    rows.extend([
        vec!["Path:".into(), cert.path.display().to_string()],
        vec!["Subject:".into(), cert.subject()],
        vec!["Issuer:".into(), cert.issuer()],
        vec!["Thumbprint (SHA-1):".into(), cert.thumbprint_hex()],
        vec!["x5t:".into(), cert.x5t()],
        vec!["x5t#S256:".into(), cert.x5t_s256()],
        vec!["Not before:".into(), cert.not_before().format("%Y-%m-%d %H:%M:%S UTC").to_string()],
        vec!["Not after:".into(), cert.not_after().format("%Y-%m-%d %H:%M:%S UTC").to_string()],
        vec!["Days left:".into(), cert.days_left(now).to_string()],
        vec!["Key:".into(), format!("{key_type} {key_bits} bits")],
    ]);
    entratool::output::stdout(&table(&rows))
}

/// One line per certificate profile; exit 1 when any is a problem (expires
/// within the window, expired, or cannot be opened), each line saying which:
/// monitoring expects 0 or 1.
fn check(only: Option<String>, within: i64) -> Result<u8> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let profiles: Vec<_> = match &only {
        Some(name) => vec![doc.get(name, &store.path)?.clone()],
        None => doc.profiles.iter().filter(|p| p.auth_method() == AuthMethod::Certificate).cloned().collect(),
    };
    if profiles.is_empty() {
        entratool::outln!("No profile in {} uses a certificate: nothing to check.", store.path.display());
    }
    let now = Utc::now();
    let mut problems = 0;
    for p in &profiles {
        let loaded = CertificateCredential::new(p).and_then(|c| c.load(&mut AuthContext::default()));
        match loaded {
            Ok(cert) => {
                let days = cert.days_left(now);
                let when = cert.not_after().format("%Y-%m-%d");
                if now > cert.not_after() {
                    problems += 1;
                    entratool::outln!("✗ {}: certificate {} expired on {when}", p.name, cert.thumbprint_hex());
                } else if days < within {
                    problems += 1;
                    entratool::outln!(
                        "✗ {}: certificate {} expires in {days} days ({when})",
                        p.name,
                        cert.thumbprint_hex()
                    );
                } else {
                    entratool::outln!(
                        "✓ {}: certificate {} valid for {days} more days ({when})",
                        p.name,
                        cert.thumbprint_hex()
                    );
                }
            }
            Err(e) => {
                problems += 1;
                entratool::outln!("✗ {}: cannot be checked: {e}", p.name);
            }
        }
    }
    Ok(if problems > 0 { 1 } else { 0 })
}

/// `cert create`: the key and certificate made, both files written (never over
/// one), and what the portal will show of it.
fn create(a: CreateArgs) -> Result<()> {
    use entratool::credential::certificate::create::{self, Spec};
    let dir = match a.dir {
        Some(d) => d,
        None => entratool::fsutil::config_dir()?.join("certs"),
    };
    entratool::fsutil::ensure_private_dir(&dir)?;
    entratool::profile::validate_name(&a.name)?;
    let (pfx, pem) = (dir.join(format!("{}.pfx", a.name)), dir.join(format!("{}.pem", a.name)));
    for path in [&pfx, &pem] {
        if path.exists() {
            return Err(Error::config(format!("{} exists already", path.display()))
                .with_remedy("entratool never overwrites a certificate file: choose another --name or --dir"));
        }
    }
    let password = match a.password_stdin {
        true => Some(super::profile_form::read_stdin_secret("certificate password")?),
        false => None,
    };
    let made = create::make(&Spec { subject: a.subject, days: a.days, key_size: a.key_size })?;
    let pem_bytes =
        made.cert.to_pem().map_err(|e| Error::credential("cannot encode the certificate").with_source(e))?;
    create::write_new(&pfx, &create::pkcs12(&made, password.as_deref().map(String::as_str))?, true)?;
    create::write_new(&pem, &pem_bytes, false)?;
    let shown = file::load_public(&pem, None).map_err(|e| e.into_error(&pem.display().to_string(), None))?;
    let now = Utc::now();
    entratool::outln!(
        "✓ Made {} (key and certificate, 0600{})",
        pfx.display(),
        if password.is_some() { ", password-protected" } else { "" }
    );
    entratool::outln!(
        "✓ Made {} (the certificate alone: upload it in the portal, Certificates & secrets → Certificates)",
        pem.display()
    );
    entratool::outln!("  thumbprint (SHA-1): {}", shown.thumbprint_hex());
    entratool::outln!(
        "  valid until: {} ({} days)",
        shown.not_after().format("%Y-%m-%d %H:%M:%S UTC"),
        shown.days_left(now)
    );
    Ok(())
}

fn rotate(a: RotateArgs) -> Result<()> {
    let new_password = match a.password_stdin {
        true => Some(super::profile_form::read_stdin_secret("certificate password")?),
        false => None,
    };
    let prompt = super::args::stdin_is_terminal().then_some(&TerminalPrompt as &dyn SecretPrompt);
    let o = entratool::rotation::Options {
        profile: a.profile,
        new_certificate: a.new_certificate,
        new_password,
        days: a.days,
        key_size: a.key_size,
        object_id: a.application_object_id,
        remove_old: a.remove_old,
        old_key_id: a.old_key_id,
        if_expiring_within: a.if_expiring_within,
        wait: std::time::Duration::from_secs(a.wait),
        graph_host: a.graph_host,
        dry_run: a.dry_run,
    };
    entratool::rotation::rotate(&o, if a.password_stdin { None } else { prompt })
}

fn prune(a: PruneArgs) -> Result<()> {
    let o = entratool::rotation::Options {
        profile: a.profile,
        new_certificate: None,
        new_password: None,
        days: 0,
        key_size: 0,
        object_id: a.application_object_id,
        remove_old: true,
        old_key_id: a.key_id,
        if_expiring_within: None,
        wait: std::time::Duration::ZERO,
        graph_host: a.graph_host,
        dry_run: a.dry_run,
    };
    entratool::rotation::prune(&o)
}
