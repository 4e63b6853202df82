//! `entratool cert info|check`: what the Azure portal shows, and expiry watch.

use std::path::PathBuf;

use chrono::Utc;
use clap::Subcommand;
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

pub fn run(cmd: CertCommand) -> Result<u8> {
    match cmd {
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
