//! `entratool cache list|clear`: what is cached, never the token itself.

use clap::Subcommand;
use serde_json::json;

use super::args::ListFormat;
use entratool::error::Result;
use entratool::output::{pretty, table};
use entratool::token::{self, cache::Cache};

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// List cached tokens (profile, resource, expiry; never the token)
    List {
        /// table (default) or json
        #[arg(long, value_enum, default_value_t)]
        output: ListFormat,
    },
    /// Remove cached tokens, of one profile or all
    Clear {
        /// Only this profile's tokens (default: all)
        #[arg(short = 'p', long = "profile", value_name = "NAME")]
        profile: Option<String>,
    },
}

pub fn run(cmd: CacheCommand) -> Result<()> {
    let cache = Cache::open()?;
    match cmd {
        CacheCommand::List { output } => list(&cache, output),
        CacheCommand::Clear { profile } => {
            let n = cache.clear(profile.as_deref());
            entratool::outln!("Removed {n} cache files from {}", cache.dir.display());
            Ok(())
        }
    }
}

fn status(expires_on: i64, now: i64) -> &'static str {
    if expires_on <= now {
        "expired"
    } else if expires_on - token::DEFAULT_MIN_VALIDITY <= now {
        "renew due"
    } else {
        "valid"
    }
}

fn list(cache: &Cache, output: ListFormat) -> Result<()> {
    let now = entratool::clock::now();
    let entries = cache.list();
    if output == ListFormat::Json {
        let items: Vec<_> = entries
            .iter()
            .map(|(_, e)| {
                json!({"profile": e.profile, "kind": e.kind, "resource": e.resource, "credential": e.credential,
                       "expiresOn": entratool::output::rfc3339_utc(e.expires_on), "expires_on": e.expires_on,
                       "status": status(e.expires_on, now)})
            })
            .collect();
        return entratool::output::stdout(&pretty(&json!(items)));
    }
    if entries.is_empty() {
        entratool::outln!("No cached tokens in {}", cache.dir.display());
        return Ok(());
    }
    let mut rows = vec![vec![
        "PROFILE".into(),
        "KIND".into(),
        "RESOURCE".into(),
        "CREDENTIAL".into(),
        "EXPIRES (UTC)".into(),
        "STATUS".into(),
    ]];
    for (_, e) in &entries {
        rows.push(vec![
            e.profile.clone(),
            e.kind.label().into(),
            e.resource.clone(),
            e.credential.clone(),
            entratool::output::rfc3339_utc(e.expires_on),
            status(e.expires_on, now).into(),
        ]);
    }
    entratool::output::stdout(&table(&rows))
}
