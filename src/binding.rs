//! Which profile answers, and for which scope: decided here once, for every
//! tool. Commands that need one profile take `-p`, else `$ENTRATOOL_PROFILE`,
//! else `defaultProfile`; helpers take `-p` or `$ENTRATOOL_PROFILE`, else the
//! `match` rules, and answer nothing for a request no profile is bound to.

use crate::error::{Error, Result};
use crate::profile::{self, Profile, ProfilesDoc};
use crate::routing::{self, Target};

/// A profile bound to a request, with the scope to ask for.
#[derive(Debug, Clone)]
pub struct Binding {
    pub profile: Profile,
    pub scope: String,
}

/// The profile name given with `-p`, else `$ENTRATOOL_PROFILE`.
pub fn explicit_name(flag: Option<&str>) -> Option<String> {
    explicit(flag).map(|(name, _)| name)
}

/// The explicit name and where it came from (for the trace).
fn explicit(flag: Option<&str>) -> Option<(String, &'static str)> {
    flag.map(|f| (f.to_string(), "-p")).or_else(|| {
        std::env::var("ENTRATOOL_PROFILE").ok().filter(|v| !v.is_empty()).map(|v| (v, "$ENTRATOOL_PROFILE"))
    })
}

/// The profile for a command that needs exactly one: `-p`, else
/// `$ENTRATOOL_PROFILE`, else `defaultProfile`.
/// When no profile is chosen at all, the environment profile (docs/reference.md#credentials-with-no-stored-secret).
pub fn profile_for_command(flag: Option<&str>) -> Result<Profile> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let chosen = explicit(flag).or_else(|| doc.default_profile.clone().map(|d| (d, "defaultProfile")));
    let Some((name, why)) = chosen else {
        let env = Profile::from_env();
        match &env {
            Some(_) => crate::trace!("profile 'env': no profile chosen, the environment profile"),
            None => crate::trace!("no profile: none chosen, and no environment profile"),
        }
        return env.ok_or_else(|| no_profile_chosen(&doc));
    };
    crate::trace!("profile '{name}' (from {why})");
    named(&doc, &name, &store.path, why)
}

/// The profile called `name` (given by `why`: `-p`, `$ENTRATOOL_PROFILE`,
/// `defaultProfile`); `env` is the environment profile unless the file has
/// one of that name.
fn named(doc: &ProfilesDoc, name: &str, path: &std::path::Path, why: &str) -> Result<Profile> {
    if name == profile::ENV_PROFILE
        && doc.find(name).is_none()
        && let Some(p) = Profile::from_env()
    {
        return Ok(p);
    }
    let p = doc.find(name).ok_or_else(|| profile::unknown_profile(name, &doc.names(), path, why))?;
    p.check_stored(path)?;
    Ok(p.clone())
}

fn no_profile_chosen(doc: &ProfilesDoc) -> Error {
    const ENV: &str = "or set AZURE_CLIENT_ID, AZURE_TENANT_ID and one of AZURE_CLIENT_SECRET, \
                       AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE for the environment profile";
    if doc.profiles.is_empty() {
        return Error::config("no profile chosen, and there are no profiles yet")
            .with_remedy(format!("create one with `entratool config create`, {ENV}"));
    }
    Error::config(format!("no profile chosen (profiles: {})", doc.names().join(", "))).with_remedy(format!(
        "pass -p NAME, set ENTRATOOL_PROFILE, or set defaultProfile with `entratool config edit -p NAME \
         --set-default`; {ENV}"
    ))
}

/// How a helper binds requests.
#[derive(Debug, Clone, Copy)]
pub struct HelperRule {
    /// The scope when the match entry names none.
    pub default_scope: &'static str,
    /// An explicitly chosen profile also answers Azure DevOps hosts it has no
    /// match entry for (the git helper).
    pub azure_devops_without_match: bool,
    /// The kinds of `match` entries this tool may use.
    pub entries: routing::Entries,
}

/// The profile bound to a helper's request, or None when the request is not ours.
/// Without `-p` or `$ENTRATOOL_PROFILE`, the file's profiles are matched
/// first, then the environment profile, whose only entries are `$ENTRATOOL_MATCH`.
pub fn for_target(flag: Option<&str>, target: &Target, rule: HelperRule) -> Result<Option<Binding>> {
    let store = profile::ProfilesFile::open()?;
    let doc = store.load()?;
    let bind = |p: &Profile, scope: Option<&str>| Binding {
        profile: p.clone(),
        scope: scope.unwrap_or(rule.default_scope).to_string(),
    };
    if let Some((name, why)) = explicit(flag) {
        let p = named(&doc, &name, &store.path, why)?;
        let bound = match routing::best_entry(&p, target, rule.entries) {
            Some((entry, _)) => Some(bind(&p, entry.scope())),
            // The environment profile answers only its $ENTRATOOL_MATCH entries.
            None if rule.azure_devops_without_match && !p.from_environment && routing::is_azure_devops(target) => {
                Some(bind(&p, None))
            }
            None => None,
        };
        match &bound {
            Some(_) => crate::trace!("profile '{name}' (from {why}) answers this request"),
            None => crate::trace!("profile '{name}' (from {why}) has no match entry for this request: no answer"),
        }
        return Ok(bound);
    }
    if let Some((p, entry)) = routing::route(&doc.profiles, target, rule.entries) {
        p.check_stored(&store.path)?;
        crate::trace!("profile '{}' (its match entry {})", p.name, entry.pattern());
        return Ok(Some(bind(p, entry.scope())));
    }
    let env = Profile::from_env();
    let bound =
        env.as_ref().and_then(|p| routing::best_entry(p, target, rule.entries).map(|(e, _)| bind(p, e.scope())));
    match &bound {
        Some(_) => crate::trace!("profile 'env' (the environment profile, an $ENTRATOOL_MATCH entry)"),
        None => crate::trace!("no profile's match entry covers this request: no answer"),
    }
    Ok(bound)
}
