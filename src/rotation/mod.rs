//! Certificates that rotate themselves (docs/rotation.md): an application
//! adds and removes its own certificates through Microsoft Graph (`addKey`,
//! `removeKey`), authorised by a proof signed with a certificate it already
//! has, so `cert rotate` does the seed's five manual steps unattended, with
//! the profile's current certificate as the only credential:
//! 1. preflight: a valid certificate file (`--if-expiring-within` may end here);
//! 2. the application object id (flag, profile, or Graph when it may be read);
//! 3. the new certificate (made beside the current one, or given);
//! 4. a Graph token with the current certificate;
//! 5. `addKey` with the proof;
//! 6. waiting until Entra ID accepts the new key (three in a row);
//! 7. the profile switched in one atomic write (only now);
//! 8. `--remove-old`: `removeKey`, signed by the new certificate.
//!
//! A rotation that fails or is killed before step 7 leaves profiles that work
//! with the old certificate. `prune` removes the previous key later.

mod current;
mod prune;
mod switch;
mod wait;

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::credential::SecretPrompt;
use crate::credential::certificate::assertion::graph_proof;
use crate::error::{Error, Result};
use crate::graph::{Graph, NewKey};
use crate::output;
use crate::profile::{Profile, ProfilesFile};
use crate::token::{self, TokenKind, TokenRequest};
pub use prune::prune;

/// What `cert rotate` was asked.
pub struct Options {
    pub profile: String,
    /// `--new-certificate`: a file made elsewhere, and its password.
    pub new_certificate: Option<PathBuf>,
    pub new_password: Option<Zeroizing<String>>,
    /// For a certificate made here.
    pub days: u32,
    pub key_size: u32,
    pub object_id: Option<String>,
    pub remove_old: bool,
    pub old_key_id: Option<String>,
    pub if_expiring_within: Option<i64>,
    pub wait: Duration,
    pub graph_host: Option<String>,
    pub dry_run: bool,
}

/// Rotates the profile's certificate (module docs); says what it does and what stands.
pub fn rotate(o: &Options, prompt: Option<&dyn SecretPrompt>) -> Result<()> {
    let store = ProfilesFile::open()?;
    // One rotation or prune of a profile at a time: a second waits, as cache locks do, then exits 6.
    let _one = crate::fsutil::lock(&serial_lock(&o.profile)?)?;
    let profile = load_profile(&store, &o.profile)?;
    // 1. The current certificate, valid now.
    let current = current::Current::open(&profile, prompt)?;
    let days_left = current.cert.days_left(chrono::Utc::now());
    if let Some(within) = o.if_expiring_within
        && days_left > within
    {
        crate::outln!(
            "✓ The certificate of '{}' ({}) is valid for {days_left} more days, more than {within}: nothing to do",
            o.profile,
            current.cert.thumbprint_hex()
        );
        return Ok(());
    }
    // 3. The new certificate, planned (written only once the writes begin).
    let new = current::New::plan(o, &current)?;
    let graph_resource = crate::graph::resource(profile.cloud.as_deref());
    if o.dry_run {
        return print_plan(o, &profile, &current, &new, graph_resource);
    }
    // 4. Graph, with a token the current certificate gets.
    let graph = graph_client(&profile, o, graph_resource)?;
    // 2. The application object id.
    let object_id = object_id(&store, &profile, o, &graph)?;
    // 3. Written now, its password (if any) stored under the file's own name first.
    let new = new.write(&profile)?;
    // 5. addKey, proven with the current certificate.
    let key_id = add_key(&graph, &object_id, &profile, &current, &new)?;
    // 6. Only a key Entra ID accepts, three times in a row, goes into the profile.
    wait::until_accepted(&profile, &new, &key_id, graph_resource, o.wait)?;
    // 7. The switch, in one write.
    let old_key_id = o.old_key_id.clone().or_else(|| profile.certificate_key_id.clone());
    let switched = switch::switch(&store, &profile, &current, &new, &key_id, old_key_id.as_deref())?;
    crate::outln!(
        "✓ Profile '{}' now uses {} (thumbprint {}, key {key_id}, valid until {})",
        o.profile,
        new.path.display(),
        new.cert.thumbprint_hex(),
        new.cert.not_after().format("%Y-%m-%d")
    );
    for other in &switched.also {
        crate::outln!("✓ Profile '{other}' (the same app and certificate file) switched with it");
    }
    // 8. The old key, removed when asked: the rotation stands whatever happens here.
    if o.remove_old {
        crate::outln!("  the old certificate {} stays on disk", current.path.display());
        return remove_old(&graph, &object_id, &profile, &current, &new, old_key_id, &switched.still_using_old);
    }
    crate::outln!("  the old certificate {} stays, still registered on the app", current.path.display());
    crate::outln!("  remove its key later with `entratool cert prune -p {}`", o.profile);
    Ok(())
}

fn load_profile(store: &ProfilesFile, name: &str) -> Result<Profile> {
    let doc = store.load()?;
    let p = doc.get(name, &store.path)?;
    p.check_stored(&store.path)?;
    Ok(p.clone())
}

/// The lock that keeps rotations and prunes of one profile apart.
fn serial_lock(profile: &str) -> Result<PathBuf> {
    Ok(crate::fsutil::cache_dir()?.join(format!("{profile}.rotate.lock")))
}

/// Graph with an app-only token of the profile's current certificate.
fn graph_client(profile: &Profile, o: &Options, resource: &str) -> Result<Graph> {
    let host = crate::graph::host(profile.cloud.as_deref(), o.graph_host.as_deref())?;
    let scope = format!("{resource}/.default");
    let t = token::acquire(&TokenRequest::for_helper(profile, &scope, TokenKind::Access), &mut Vec::new())
        .map_err(|e| Error { message: format!("no Graph token with the current certificate: {}", e.message), ..e })?;
    Ok(Graph { host, token: Zeroizing::new(t.access_token) })
}

/// `--application-object-id`, else the profile's, else Graph's answer
/// (saved in the profile for next time). A refused read stops here, before any change.
fn object_id(store: &ProfilesFile, profile: &Profile, o: &Options, graph: &Graph) -> Result<String> {
    if let Some(id) = o.object_id.clone().or_else(|| profile.application_object_id.clone()) {
        crate::profile::validate_guid("application object id", &id)?;
        return Ok(id);
    }
    let id = graph.application_id(&profile.client_id)?;
    output::note(&format!("the application object id is {id}: saved in profile '{}'", profile.name));
    store.update(|doc| {
        if let Some(p) = doc.find_mut(&profile.name) {
            p.application_object_id = Some(id.clone());
        }
        Ok(())
    })?;
    Ok(id)
}

/// `addKey`: the new certificate's public part, proven with the current one.
fn add_key(
    graph: &Graph,
    object_id: &str,
    profile: &Profile,
    current: &current::Current,
    new: &current::New,
) -> Result<String> {
    use base64::Engine;
    let der =
        new.cert.leaf().to_der().map_err(|e| Error::credential("cannot encode the certificate").with_source(e))?;
    let key = base64::engine::general_purpose::STANDARD.encode(der);
    let display = format!("entratool {} {}", profile.name, chrono::Utc::now().format("%Y-%m-%d"));
    let rfc3339 = |t: chrono::DateTime<chrono::Utc>| output::rfc3339_utc(t.timestamp());
    let (start, end) = (rfc3339(new.cert.not_before()), rfc3339(new.cert.not_after()));
    let proof = graph_proof(&current.cert, object_id, crate::clock::now())?;
    let new_key = NewKey { key: &key, display_name: &display, start: &start, end: &end };
    let key_id = graph.add_key(object_id, &new_key, &proof).map_err(|e| {
        let kept = format!("{} (not registered; the profile is unchanged)", new.path.display());
        Error { message: format!("{}; the new certificate is {kept}", e.message), ..e }
    })?;
    output::note(&format!("added the new certificate to the app: key {key_id}"));
    Ok(key_id)
}

/// Step 8: the old key's id found, then `removeKey` signed by the new certificate.
fn remove_old(
    graph: &Graph,
    object_id: &str,
    profile: &Profile,
    current: &current::Current,
    new: &current::New,
    known: Option<String>,
    still_using: &[String],
) -> Result<()> {
    let stands = "the rotation stands";
    if !still_using.is_empty() {
        return Err(Error::config(format!(
            "{stands}, but the old key stays: profile(s) {} of this app still use the old certificate",
            still_using.join(", ")
        ))
        .with_remedy("rotate those too, then `entratool cert prune`"));
    }
    let key_id = match known {
        Some(id) => id,
        None => prune::find_key_id(graph, object_id, &current.cert)
            .map_err(|e| Error { message: format!("{stands}, but the old key was not removed: {}", e.message), ..e })?,
    };
    let proof = graph_proof(&new.cert, object_id, crate::clock::now())?;
    graph.remove_key(object_id, &key_id, &proof).map_err(|e| Error {
        message: format!("{stands}, but the old key {key_id} was not removed: {}", e.message),
        ..e
    })?;
    switch::forget_previous_key(&profile.name, &key_id)?;
    crate::outln!("✓ Removed the old key {key_id} from the app");
    Ok(())
}

/// `--dry-run`: what would be made, sent and changed; nothing is.
fn print_plan(
    o: &Options,
    profile: &Profile,
    current: &current::Current,
    new: &current::New,
    graph: &str,
) -> Result<()> {
    let host = crate::graph::host(profile.cloud.as_deref(), o.graph_host.as_deref())?;
    let object = o.object_id.clone().or_else(|| profile.application_object_id.clone());
    let shown_object = object.clone().unwrap_or_else(|| "{objectId}".into());
    crate::outln!(
        "would rotate the certificate of profile '{}' ({}, valid until {}):",
        profile.name,
        current.cert.thumbprint_hex(),
        current.cert.not_after().format("%Y-%m-%d")
    );
    crate::outln!("  new certificate: {}", new.describe());
    crate::outln!("  a Graph token for {graph}/.default with the current certificate");
    if object.is_none() {
        crate::outln!(
            "  GET {host}v1.0/applications(appId='{}')?$select=id (the application object id, then saved)",
            profile.client_id
        );
    }
    crate::outln!("  POST {host}v1.0/applications/{shown_object}/addKey (proof signed by the current certificate)");
    crate::outln!(
        "  token requests with the new certificate until three in a row succeed (at most {} s)",
        o.wait.as_secs()
    );
    crate::outln!(
        "  profile fields: certificatePath → {}, certificateKeyId → the new key's id, previousCertificatePath → {}",
        new.path.display(),
        current.path.display()
    );
    if o.remove_old {
        crate::outln!(
            "  POST {host}v1.0/applications/{shown_object}/removeKey (the old key, proof signed by the new certificate)"
        );
    }
    crate::outln!("(dry run: nothing was sent or changed)");
    Ok(())
}
