//! The on-disk token cache: one small JSON file per key, replaced atomically,
//! with a per-key lock file for single flight across processes.
//!
//! A file name is `<profile>-<hash>.json`, the hash covering everything the
//! key is made of, so nothing about the credential is readable from it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::hex;
use crate::error::{Error, Kind, Result};
use crate::fsutil;

/// What an entry holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// An Entra ID (or managed identity) access token.
    Entra,
    /// An ACR refresh token, from the registry's token exchange.
    Acr,
}

impl EntryKind {
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Entra => "entra",
            EntryKind::Acr => "acr",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Hash of the key; a file whose hash does not match is a miss.
    pub key: String,
    pub profile: String,
    pub kind: EntryKind,
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

/// A failed fetch, kept beside the entry (`.fail`): processes that waited on
/// the key's lock while it failed get the same failure, and a throttle
/// (`Retry-After` beyond the retry budget) holds every caller until `until`.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Failure {
    at_ms: i64,
    #[serde(default)]
    until: Option<i64>,
    kind: String,
    message: String,
    #[serde(default)]
    remedy: Option<String>,
}

impl Failure {
    fn error(&self) -> Error {
        let mut e = Error::new(Kind::from_name(&self.kind), self.message.clone());
        e.remedy = self.remedy.clone();
        e.retry_at = self.until;
        e
    }
}

fn minutes_left(e: &Entry, now: i64) -> i64 {
    e.expires_on.saturating_sub(now) / 60
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A cache entry larger than this is not one of ours.
const MAX_ENTRY: u64 = 1024 * 1024;

/// What a caller accepts from the cache, at which time.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    /// Now, in epoch seconds: the clock is the caller's, so tests can set it.
    pub now: i64,
    pub min_validity: i64,
    /// Ignore what is cached, and never fall back to it.
    pub force: bool,
}

impl Want {
    fn accepts(&self, e: &Entry) -> bool {
        !self.force && e.is_fresh(self.now, self.min_validity)
    }
}

pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    /// The cache folder; one that others could write is refused (exit 3).
    pub fn open() -> Result<Cache> {
        let dir = fsutil::cache_dir()?;
        fsutil::check_trusted_folder(&dir)?;
        Ok(Cache { dir })
    }

    /// The cached entry when `want` accepts it; otherwise `fetch` runs under
    /// the key's lock, while other processes wanting the same key wait and
    /// then find its result (single flight). When `fetch` cannot reach the
    /// service, a cached entry that has not expired is served with a warning,
    /// except when a refresh was forced.
    pub fn get_or_fetch(
        &self,
        key: &Key,
        want: Want,
        warnings: &mut Vec<String>,
        fetch: impl FnOnce(&mut Vec<String>) -> Result<Entry>,
    ) -> Result<Entry> {
        if let Some(hit) = self.read(key).filter(|e| want.accepts(e)) {
            crate::trace!("cache hit ({} minutes left)", minutes_left(&hit, want.now));
            return Ok(hit);
        }
        crate::trace!("cache miss{}", if want.force { " (refresh forced)" } else { "" });
        let queued_at = now_ms();
        let _lock = self.lock(key)?;
        crate::trace!("lock taken after {} ms", now_ms() - queued_at);
        let cached = self.read(key);
        if let Some(hit) = cached.as_ref().filter(|e| want.accepts(e)) {
            crate::trace!("cache hit after the wait ({} minutes left)", minutes_left(hit, want.now));
            return Ok(hit.clone());
        }
        let outcome = match self.read_failure(key) {
            // Throttled: nobody calls the service before the time it gave, not even --force-refresh.
            Some(f) if f.until.is_some_and(|u| u > want.now) => {
                crate::trace!("held by a throttle recorded beside the entry, until {}", f.until.unwrap_or(0));
                Err(f.error())
            }
            // The fetch failed while this caller waited for the lock: the same answer, at once,
            // instead of a retry cycle of its own (docs/reference.md#network). A failure in the very
            // millisecond this caller queued may be older than its call: it fetches itself.
            Some(f) if f.at_ms > queued_at => {
                crate::trace!("the fetch another process made while this one waited failed: its failure is shared");
                Err(f.error())
            }
            _ => match fetch(warnings) {
                Ok(entry) => Ok(entry),
                Err(e) => {
                    if let Err(w) = self.write_failure(key, &e) {
                        warnings.push(format!("the failure was not recorded for other processes: {w}"));
                    }
                    Err(e)
                }
            },
        };
        match outcome {
            Ok(entry) => {
                if let Err(e) = self.write(key, &entry) {
                    warnings.push(format!("the token was not cached: {e}"));
                }
                self.remove_file(&self.file(key, "fail"), warnings);
                Ok(entry)
            }
            Err(e) if e.kind == Kind::Unavailable && !want.force => match cached.filter(|c| c.is_unexpired(want.now)) {
                Some(c) => {
                    crate::trace!(
                        "unavailable: serving the cached token ({} minutes left)",
                        minutes_left(&c, want.now)
                    );
                    warnings.push(format!(
                        "{e}; serving the cached token, valid until {}",
                        crate::output::rfc3339_utc(c.expires_on)
                    ));
                    Ok(c)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn read_failure(&self, key: &Key) -> Option<Failure> {
        let bytes = fsutil::read_trusted(&self.file(key, "fail"), MAX_ENTRY, fsutil::Links::Refuse).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn write_failure(&self, key: &Key, e: &Error) -> Result<()> {
        let record = Failure {
            at_ms: now_ms(),
            until: e.retry_at,
            kind: e.kind.name().to_string(),
            message: e.to_string(),
            remedy: e.remedy.clone(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::config("cannot record a failure").with_source(e))?;
        fsutil::replace_unsynced(&self.file(key, "fail"), &bytes)
    }

    /// A file that may be missing; any other failure to remove it leaves a
    /// stale record that the next success or `cache clear` replaces, and a warning.
    fn remove_file(&self, path: &Path, warnings: &mut Vec<String>) {
        if let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warnings.push(Error::io("remove", path, e).report("", ""));
        }
    }

    fn file(&self, key: &Key, ext: &str) -> PathBuf {
        self.dir.join(format!("{}-{}.{ext}", key.profile, key.hash))
    }

    /// The entry for `key`, or None: missing, unreadable or corrupt files are misses.
    pub fn read(&self, key: &Key) -> Option<Entry> {
        let bytes = fsutil::read_trusted(&self.file(key, "json"), MAX_ENTRY, fsutil::Links::Refuse).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        // Only what passed the token source's checks is ever written; anything else was not.
        (entry.key == key.hash && crate::codec::is_token_text(&entry.access_token)).then_some(entry)
    }

    fn write(&self, key: &Key, entry: &Entry) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(entry)
            .map_err(|e| Error::config("cannot serialise a cache entry").with_source(e))?;
        fsutil::replace_unsynced(&self.file(key, "json"), &bytes)
    }

    /// The per-key lock: holders fetch, others wait and then find the result.
    fn lock(&self, key: &Key) -> Result<fsutil::Lock> {
        fsutil::lock(&self.file(key, "lock"))
    }

    /// Drops the entry of `key`; a missing one is already gone.
    pub fn remove(&self, key: &Key) -> Result<()> {
        let path = self.file(key, "json");
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", &path, e)),
            _ => Ok(()),
        }
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
                let bytes = fsutil::read_regular(&p, MAX_ENTRY, fsutil::Links::Refuse).ok()?;
                let entry = serde_json::from_slice::<Entry>(&bytes).ok()?;
                Some((p, entry))
            })
            .collect();
        out.sort_by(|a, b| (&a.1.profile, &a.1.resource).cmp(&(&b.1.profile, &b.1.resource)));
        out
    }

    /// Removes the entries of one profile (or all), and temporary files left
    /// by killed writes (they may hold tokens); returns how many files went.
    pub fn clear(&self, profile: Option<&str>) -> usize {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = fsutil::remove_stale_temporaries(&self.dir);
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
    let Some(stem) = [".json", ".lock", ".fail"].iter().find_map(|ext| name.strip_suffix(ext)) else {
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

    fn entry(key: &Key, token: &str, expires_on: i64) -> Entry {
        Entry {
            key: key.hash.clone(),
            profile: key.profile.clone(),
            kind: EntryKind::Entra,
            resource: "r".into(),
            credential: "c".into(),
            access_token: token.into(),
            expires_on,
            refresh_on: None,
            obtained_on: 0,
        }
    }

    fn unavailable() -> crate::error::Error {
        crate::error::Error::unavailable("down")
    }

    #[test]
    fn get_or_fetch_fetches_once_then_serves_until_the_margin() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache { dir: dir.path().join("c") };
        let key = Key::new("p", &["a"]);
        let mut w = Vec::new();
        let want = |now| Want { now, min_validity: 300, force: false };
        let got = cache.get_or_fetch(&key, want(1000), &mut w, |_| Ok(entry(&key, "t1", 5000))).unwrap();
        assert_eq!(got.access_token, "t1");
        // A hit: fetch must not run.
        let got = cache.get_or_fetch(&key, want(4000), &mut w, |_| panic!("fetched on a hit")).unwrap();
        assert_eq!(got.access_token, "t1");
        // Inside the 5-minute margin: fetched again, and the new one is stored.
        let got = cache.get_or_fetch(&key, want(4701), &mut w, |_| Ok(entry(&key, "t2", 9000))).unwrap();
        assert_eq!(got.access_token, "t2");
        assert_eq!(cache.read(&key).unwrap().access_token, "t2");
        // Forced: fetched even though fresh.
        let forced = Want { force: true, ..want(4702) };
        let got = cache.get_or_fetch(&key, forced, &mut w, |_| Ok(entry(&key, "t3", 9000))).unwrap();
        assert_eq!(got.access_token, "t3");
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn get_or_fetch_falls_back_to_an_unexpired_entry_only_when_unavailable_and_not_forced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache { dir: dir.path().to_path_buf() };
        let key = Key::new("p", &["b"]);
        let mut w = Vec::new();
        let want = |now| Want { now, min_validity: 300, force: false };
        cache.get_or_fetch(&key, want(0), &mut w, |_| Ok(entry(&key, "old", 1000))).unwrap();
        let got = cache.get_or_fetch(&key, want(800), &mut w, |_| Err(unavailable())).unwrap();
        assert_eq!(got.access_token, "old");
        assert!(w[0].contains("serving the cached token"), "{w:?}");
        let forced = Want { force: true, ..want(800) };
        assert!(cache.get_or_fetch(&key, forced, &mut w, |_| Err(unavailable())).is_err());
        // Expired: no fallback.
        assert!(cache.get_or_fetch(&key, want(990), &mut w, |_| Err(unavailable())).is_err());
        // A refusal is never covered by the cache.
        let refused = crate::error::Error::rejected("no");
        assert!(cache.get_or_fetch(&key, want(800), &mut w, |_| Err(refused)).is_err());
    }

    #[test]
    fn concurrent_cold_callers_fetch_once() {
        let dir = tempfile::tempdir().unwrap();
        let fetches = std::sync::atomic::AtomicU32::new(0);
        let tokens: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        // Each caller opens the cache and its lock file itself, as processes do.
                        let cache = Cache { dir: dir.path().to_path_buf() };
                        let key = Key::new("p", &["cold"]);
                        let want = Want { now: 1000, min_validity: 300, force: false };
                        let got = cache.get_or_fetch(&key, want, &mut Vec::new(), |_| {
                            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok(entry(&key, "only", 9000))
                        });
                        got.unwrap().access_token
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(tokens.iter().all(|t| t == "only"));
    }

    #[test]
    fn a_corrupt_or_foreign_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache { dir: dir.path().to_path_buf() };
        let key = Key::new("p", &["c"]);
        std::fs::write(cache.file(&key, "json"), b"{not json").unwrap();
        assert!(cache.read(&key).is_none());
        let other = Key::new("p", &["d"]);
        std::fs::write(cache.file(&key, "json"), serde_json::to_vec(&entry(&other, "x", 10)).unwrap()).unwrap();
        assert!(cache.read(&key).is_none(), "an entry whose key hash differs is a miss");
    }

    #[test]
    fn freshness_window() {
        let e = Entry {
            key: "k".into(),
            profile: "p".into(),
            kind: EntryKind::Entra,
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
