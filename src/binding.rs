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
    flag.map(str::to_string).or_else(|| std::env::var("ENTRATOOL_PROFILE").ok().filter(|v| !v.is_empty()))
}

/// The profile for a command that needs exactly one: `-p`, else
/// `$ENTRATOOL_PROFILE`, else `defaultProfile`.
pub fn profile_for_command(flag: Option<&str>) -> Result<Profile> {
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let name = explicit_name(flag).or_else(|| doc.default_profile.clone()).ok_or_else(|| no_profile_chosen(&doc))?;
    let p = doc.get(&name, &store.path)?;
    p.check_stored(&store.path)?;
    Ok(p.clone())
}

fn no_profile_chosen(doc: &ProfilesDoc) -> Error {
    if doc.profiles.is_empty() {
        return Error::config("no profile chosen, and there are no profiles yet")
            .with_remedy("create one with `entratool config create`");
    }
    Error::config(format!("no profile chosen (profiles: {})", doc.names().join(", "))).with_remedy(
        "pass -p NAME, set ENTRATOOL_PROFILE, or set defaultProfile with `entratool config edit -p NAME --set-default`",
    )
}

/// How a helper binds requests.
#[derive(Debug, Clone, Copy)]
pub struct HelperRule {
    /// The scope when the match entry names none.
    pub default_scope: &'static str,
    /// An explicitly chosen profile also answers Azure DevOps hosts it has no
    /// match entry for (the git helper).
    pub azure_devops_without_match: bool,
}

/// The profile bound to a helper's request, or None when the request is not ours.
pub fn for_target(flag: Option<&str>, target: &Target, rule: HelperRule) -> Result<Option<Binding>> {
    let store = profile::Store::open()?;
    let doc = store.load()?;
    let chosen = match explicit_name(flag) {
        Some(name) => {
            let p = doc.get(&name, &store.path)?;
            match routing::best_entry(p, target) {
                Some((entry, _)) => Some((p, entry.scope())),
                None if rule.azure_devops_without_match && routing::is_azure_devops(target) => Some((p, None)),
                None => None,
            }
        }
        None => routing::route(&doc.profiles, target).map(|(p, e)| (p, e.scope())),
    };
    let Some((p, scope)) = chosen else { return Ok(None) };
    p.check_stored(&store.path)?;
    Ok(Some(Binding { profile: p.clone(), scope: scope.unwrap_or(rule.default_scope).to_string() }))
}
