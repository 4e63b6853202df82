//! profiles.json: which app registrations entratool acts for, and how each
//! authenticates. One concern a file: `model` (a profile and its fields),
//! `method` (its authentication method, listed once), `edit` (a change from
//! the command line), `validate` (what it must have) and `file` (the locked
//! file, both layouts, never a secret).

mod edit;
mod file;
mod method;
mod model;
mod validate;

pub use edit::Edit;
pub use file::{MAX_PROFILES, ProfilesDoc, ProfilesFile, near_miss, parse, unknown_profile, unreadable};
pub use method::AuthMethod;
pub use model::{ENV_PROFILE, MatchEntry, Profile};
pub use validate::{is_guid, validate_guid, validate_name, validate_tenant};
