//! The on-disk token cache: one small JSON file per key, replaced atomically,
//! with a per-key lock file for single flight across processes.
//!
//! A file name is `<profile>-<hash>.json`, the hash covering everything the
//! key is made of, so nothing about the credential is readable from it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::fsutil;

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Hash of the key; a file whose hash does not match is a miss.
    pub key: String,
    pub profile: String,
    /// `entra` for an Entra access token, `acr` for an ACR refresh token.
    pub kind: String,
    pub resource: String,
    /// What authenticated: e.g. `certificate 3FA1…` or `secret`. Never a secret.
    pub credential: String,
    pub access_token: String,
    pub expires_on: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_on: Option<i64>,
    pub obtained_on: i64,
}

impl Entry {
    /// Usable without a refresh: more than `min_validity` seconds left and
    /// Entra's `refresh_in` not yet passed.
    pub fn is_fresh(&self, now: i64, min_validity: i64) -> bool {
        self.expires_on - min_validity > now && self.refresh_on.is_none_or(|r| now < r)
    }

    /// Still accepted by resource servers (a fallback when Entra is down).
    pub fn is_unexpired(&self, now: i64) -> bool {
        self.expires_on > now + 30
    }
}

/// The key: every part that must match for a token to be reused.
pub struct Key {
    pub profile: String,
    pub hash: String,
}

impl Key {
    pub fn new(profile: &str, parts: &[&str]) -> Key {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
        }
        let hash = hex(&h.finalize()[..16]);
        Key { profile: profile.to_string(), hash }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    pub fn open() -> Result<Cache> {
        Ok(Cache { dir: fsutil::cache_dir()? })
    }

    fn file(&self, key: &Key, ext: &str) -> PathBuf {
        self.dir.join(format!("{}-{}.{ext}", key.profile, key.hash))
    }

    /// The entry for `key`, or None: missing, unreadable or corrupt files are misses.
    pub fn read(&self, key: &Key) -> Option<Entry> {
        let bytes = std::fs::read(self.file(key, "json")).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == key.hash).then_some(entry)
    }

    pub fn write(&self, key: &Key, entry: &Entry) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(entry).unwrap_or_default();
        fsutil::atomic_write(&self.file(key, "json"), &bytes)
    }

    /// The per-key lock: holders fetch, others wait and then find the result.
    pub fn lock(&self, key: &Key) -> Result<fsutil::Lock> {
        fsutil::lock(&self.file(key, "lock"))
    }

    pub fn remove(&self, key: &Key) {
        let _ = std::fs::remove_file(self.file(key, "json"));
    }

    /// Every readable entry, with its file.
    pub fn list(&self) -> Vec<(PathBuf, Entry)> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<(PathBuf, Entry)> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| {
                let entry = serde_json::from_slice::<Entry>(&std::fs::read(&p).ok()?).ok()?;
                Some((p, entry))
            })
            .collect();
        out.sort_by(|a, b| (&a.1.profile, &a.1.resource).cmp(&(&b.1.profile, &b.1.resource)));
        out
    }

    /// Removes the entries of one profile (or all); returns how many files went.
    pub fn clear(&self, profile: Option<&str>) -> usize {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for path in dir.filter_map(|e| e.ok().map(|e| e.path())) {
            if belongs_to(&path, profile) && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// `<profile>-<32 hex>.json` (or `.lock`): the profile is everything before the last dash.
fn belongs_to(path: &Path, profile: Option<&str>) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(stem) = name.strip_suffix(".json").or_else(|| name.strip_suffix(".lock")) else {
        return false;
    };
    let Some((owner, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    hash.len() == 32 && profile.is_none_or(|p| p == owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_window() {
        let e = Entry {
            key: "k".into(),
            profile: "p".into(),
            kind: "entra".into(),
            resource: "r".into(),
            credential: "c".into(),
            access_token: "t".into(),
            expires_on: 1000,
            refresh_on: Some(900),
            obtained_on: 0,
        };
        assert!(e.is_fresh(100, 300));
        assert!(!e.is_fresh(701, 300));
        assert!(!e.is_fresh(900, 0));
        assert!(e.is_unexpired(900));
    }

    #[test]
    fn file_ownership() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert!(belongs_to(Path::new(&format!("/c/my-prof-{hash}.json")), Some("my-prof")));
        assert!(!belongs_to(Path::new(&format!("/c/my-prof-{hash}.json")), Some("my")));
        assert!(belongs_to(Path::new(&format!("/c/x-{hash}.lock")), None));
        assert!(!belongs_to(Path::new("/c/notes.txt"), None));
    }
}
