//! `entratool status`: every profile at a glance, as `kubectl get` shows
//! things: method, tenant, certificate days left, cached tokens and the
//! minutes left on the one that expires first.

use clap::Args;
use serde_json::{Value, json};

use super::args::ListFormat;
use entratool::credential::secrets::{self, SecretKind};
use entratool::credential::{AuthContext, CertificateCredential, EXPIRY_WARNING_DAYS};
use entratool::error::Result;
use entratool::output::{pretty, table};
use entratool::profile::{self, AuthMethod, Profile};
use entratool::token::cache::Cache;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// table (default) or json
    #[arg(long, value_enum, default_value_t)]
    pub output: ListFormat,
}

pub fn run(a: StatusArgs) -> Result<()> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let entries = Cache::open().map(|c| c.list()).unwrap_or_default();
    let now = entratool::clock::now();
    // The environment profile (a pod, a CI job) is shown too, unless the file has an `env`.
    let env = Profile::from_env().filter(|_| doc.find(profile::ENV_PROFILE).is_none());
    let rows: Vec<Value> = doc
        .profiles
        .iter()
        .chain(env.as_ref())
        .map(|p| {
            let mine: Vec<i64> =
                entries.iter().filter(|(_, e)| e.profile == p.name).map(|(_, e)| e.expires_on).collect();
            let first = mine.iter().filter(|&&e| e > now).min().map(|e| (e - now) / 60);
            json!({
                "name": p.name,
                "default": doc.default_profile.as_deref() == Some(p.name.as_str()),
                "method": p.auth_method().label(),
                "tenant": p.tenant_id,
                "certificateDaysLeft": certificate_days(p),
                "cachedTokens": mine.iter().filter(|&&e| e > now).count(),
                "minutesLeft": first,
                "source": if p.from_environment { "environment" } else { "profiles.json" },
                "volatileSecret": volatile_secret(p),
            })
        })
        .collect();
    if a.output == ListFormat::Json {
        return entratool::output::stdout(&pretty(&json!(rows)));
    }
    if rows.is_empty() {
        entratool::outln!("No profiles in {}. Create one with `entratool config create`.", store.path.display());
        return Ok(());
    }
    let cell = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut table_rows =
        vec![["NAME", "METHOD", "TENANT", "CERT DAYS", "TOKENS", "MINUTES LEFT"].map(String::from).to_vec()];
    for r in &rows {
        let name = format!("{}{}", cell(&r["name"]), if r["default"] == true { " *" } else { "" });
        table_rows.push(vec![
            name,
            cell(&r["method"]),
            cell(&r["tenant"]),
            cell(&r["certificateDaysLeft"]),
            cell(&r["cachedTokens"]),
            cell(&r["minutesLeft"]),
        ]);
    }
    entratool::output::stdout(&table(&table_rows))?;
    if rows.iter().any(|r| r["source"] == "environment") {
        entratool::outln!("env: the environment profile, made from AZURE_CLIENT_ID, AZURE_TENANT_ID and their kin");
    }
    for r in rows.iter().filter(|r| r["certificateDaysLeft"].as_i64().is_some_and(|d| d < EXPIRY_WARNING_DAYS)) {
        let (name, days) = (cell(&r["name"]), cell(&r["certificateDaysLeft"]));
        entratool::outln!(
            "! {name}: its certificate expires in {days} days — rotate it: entratool cert rotate -p {name}"
        );
    }
    for r in rows.iter().filter(|r| r["volatileSecret"] == true) {
        entratool::outln!("! {}: its secret is in the kernel keyring — {}", cell(&r["name"]), secrets::VOLATILE_NOTE);
    }
    Ok(())
}

/// Whether the profile's stored secret lives in a store lost at reboot.
fn volatile_secret(p: &Profile) -> bool {
    if p.from_environment {
        return false;
    }
    let kind = match p.auth_method() {
        AuthMethod::Secret if secrets::from_env(SecretKind::ClientSecret).is_none() => SecretKind::ClientSecret,
        AuthMethod::Certificate if secrets::from_env(SecretKind::CertificatePassword).is_none() => {
            SecretKind::CertificatePassword
        }
        _ => return false,
    };
    secrets::held_in(&p.name, kind).is_some_and(secrets::is_volatile)
}

/// Days the profile's certificate has left, when it opens without asking.
fn certificate_days(p: &Profile) -> Option<i64> {
    if p.auth_method() != AuthMethod::Certificate {
        return None;
    }
    let cert = CertificateCredential::new(p).and_then(|c| c.load(&mut AuthContext::default())).ok()?;
    Some(cert.days_left(chrono::Utc::now()))
}
