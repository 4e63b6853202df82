//! `cert prune`: the previous certificate's key removed from the app after a
//! grace period (rotate today, prune next week), with a proof signed by the
//! current certificate; the profile's `previous…` fields cleared.

use base64::Engine;

use super::current::Current;
use super::{Options, graph_client, load_profile, serial_lock};
use crate::credential::certificate::Certificate;
use crate::credential::certificate::assertion::graph_proof;
use crate::credential::secrets;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::profile::ProfilesFile;

/// Removes `key_id` (else the profile's `previousCertificateKeyId`).
pub fn prune(o: &Options) -> Result<()> {
    let store = ProfilesFile::open()?;
    let _one = crate::fsutil::lock(&serial_lock(&o.profile)?)?;
    let profile = load_profile(&store, &o.profile)?;
    let previous = profile.previous_certificate_key_id.clone();
    let key_id = o.old_key_id.clone().or(previous.clone()).ok_or_else(|| {
        Error::config(format!("profile '{}' records no previous key to remove", o.profile))
            .with_remedy("give it with --key-id GUID (the portal lists it as the certificate's ID; Graph as keyId)")
    })?;
    crate::profile::validate_guid("key id", &key_id)?;
    let current = Current::open(&profile, None)?;
    let resource = crate::graph::resource(profile.cloud.as_deref());
    if o.dry_run {
        crate::outln!(
            "would remove key {key_id} from the app with a proof signed by {}",
            current.cert.thumbprint_hex()
        );
        crate::outln!("(dry run: nothing was sent or changed)");
        return Ok(());
    }
    let graph = graph_client(&profile, o, resource)?;
    let object_id = super::object_id(&store, &profile, o, &graph)?;
    let proof = graph_proof(&current.cert, &object_id, crate::clock::now())?;
    graph.remove_key(&object_id, &key_id, &proof)?;
    let old_file = profile.previous_certificate_path.clone();
    if previous.as_deref() == Some(key_id.as_str()) {
        store.update(|doc| {
            if let Some(p) = doc.find_mut(&o.profile) {
                p.previous_certificate_key_id = None;
                p.previous_certificate_path = None;
                p.previous_certificate_key_path = None;
            }
            Ok(())
        })?;
        if let Some(file) = &old_file {
            secrets::delete_for_file(&o.profile, std::path::Path::new(file))?;
        }
    }
    crate::outln!("✓ Removed key {key_id} from the app of profile '{}'", o.profile);
    if let Some(file) = old_file {
        crate::outln!("  {file} is no longer registered: delete it when you like");
    }
    Ok(())
}

/// The key id of `old` among the app's keys, where the app may read them
/// (Graph's `customKeyIdentifier` is the base64 of the SHA-1 thumbprint).
pub fn find_key_id(graph: &Graph, object_id: &str, old: &Certificate) -> Result<String> {
    let sha1 = old
        .leaf()
        .digest(openssl::hash::MessageDigest::sha1())
        .map_err(|e| Error::credential("cannot hash the old certificate").with_source(e))?;
    let wanted = base64::engine::general_purpose::STANDARD.encode(sha1);
    let unknown = || {
        Error::config(format!("the old certificate's key id is unknown ({})", old.thumbprint_hex())).with_remedy(
            "pass --old-key-id GUID (the portal lists it as the certificate's ID), or leave the key to expire, or \
             remove it later with `entratool cert prune --key-id GUID`",
        )
    };
    let keys = graph
        .key_credentials(object_id)
        .map_err(|e| if e.message.contains("HTTP 403") { unknown().with_source(e.message) } else { e })?;
    keys.into_iter()
        .find(|k| k.custom_key_identifier.as_deref() == Some(wanted.as_str()))
        .map(|k| k.key_id)
        .ok_or_else(unknown)
}
