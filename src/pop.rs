//! Proof-of-possession (PoP) tokens, as Azure Arc-enabled clusters take them
//! (docs/kubectl.md, "Azure Arc"): one RSA-2048 key per config folder, kept
//! in the cache folder; its RFC 7638 thumbprint (`kid`) goes into the token
//! request as `req_cnf`, and every use of the access token is a freshly
//! signed HTTP request (SHR) carrying it, the time, the cluster's ARM ID and
//! the public key.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fsutil;

/// Azure Arc's cluster connect server application (kubelogin's `--server-id` for Arc).
pub const ARC_SERVER_ID: &str = "6256c85f-0aad-4d50-b960-e6e9b21efe35";
/// The PoP key's file in the cache folder.
pub const KEY_FILE: &str = "pop-key.pem";
/// An SHR is handed out for at most this long, so kubectl asks for a new one
/// (a new `ts`) before the cluster would find it stale.
pub const SHR_LIFETIME: i64 = 300;
const KEY_BITS: u32 = 2048;
/// A PEM RSA-2048 private key is about 1.7 KB; anything much larger is not one.
const KEY_FILE_LIMIT: u64 = 16 * 1024;

/// The PoP claims kubelogin's `--pop-claims "u=<ARM ID>[,k=v…]"` takes: `u`
/// is required and the only one used (the others are accepted and ignored,
/// as kubelogin does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopClaims {
    /// The ARM ID of the cluster, which the cluster checks.
    pub u: String,
}

impl PopClaims {
    /// `u=<ARM ID>[,k=v…]`; `where_` names where the text came from, for the error.
    pub fn parse(text: &str, where_: &str) -> Result<PopClaims> {
        let bad = |why: &str| {
            Error::usage(format!("the PoP claims of {where_} {why}")).with_remedy(
                "give them as kubelogin does: \"u=<ARM ID of the cluster>\", e.g. \
                 u=/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Kubernetes/connectedClusters/NAME",
            )
        };
        let mut u = None;
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(bad(&format!("have '{}', which is not key=value", printable(pair))));
            };
            if k.trim() == "u" {
                u = Some(v.trim().to_string());
            }
        }
        match u {
            None => Err(bad("have no u= (the ARM ID of the cluster)")),
            Some(u) if u.is_empty() => Err(bad("have an empty u=")),
            Some(u) if u.chars().any(|c| c.is_control() || c.is_whitespace()) => {
                Err(bad("have a u= with spaces or control characters"))
            }
            Some(u) => Ok(PopClaims { u }),
        }
    }
}

/// Text shown back in an error: no control characters, at most 80 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// The PoP key: an RSA-2048 key pair and its public JWK's members.
pub struct PopKey {
    key: Rsa<Private>,
    n: String,
    e: String,
    kid: String,
    pub path: PathBuf,
}

impl PopKey {
    /// The key of this config folder's cache folder, made (0600) on first use.
    /// Two processes making it at once agree on one: each writes its own file,
    /// and only the first is linked into place.
    pub fn load_or_create() -> Result<PopKey> {
        let dir = fsutil::cache_dir()?;
        fsutil::check_trusted_folder(&dir)?;
        let path = dir.join(KEY_FILE);
        match read(&path)? {
            Some(pem) => PopKey::from_pem(&pem, path),
            None => {
                fsutil::ensure_private_dir(&dir)?;
                create(&path)
            }
        }
    }

    /// The key in a PEM file's text; `path` names it in errors.
    pub fn from_pem(pem: &[u8], path: PathBuf) -> Result<PopKey> {
        let malformed = || {
            Error::config(format!("the PoP key file {} is not an RSA-2048 private key in PEM", path.display()))
                .with_remedy(format!(
                    "move it aside (it is left as it is); entratool makes a new key on the next run and \
                     fetches new PoP tokens for it: mv {0} {0}.bad",
                    path.display()
                ))
        };
        // The hot path: PKCS#1 read by its ASN.1 template directly, 0.015 ms. OpenSSL 3's generic
        // PEM decoders take 0.76 ms and 50 more page faults, and a PoP hit pays it every call.
        let rsa = match pkcs1_der(pem) {
            Some(der) => Rsa::private_key_from_der(&der).map_err(|_| malformed())?,
            None => PKey::private_key_from_pem(pem).and_then(|k| k.rsa()).map_err(|_| malformed())?,
        };
        if rsa.size() * 8 != KEY_BITS {
            return Err(malformed());
        }
        let n = URL_SAFE_NO_PAD.encode(rsa.n().to_vec());
        let e = URL_SAFE_NO_PAD.encode(rsa.e().to_vec());
        let kid = thumbprint(&n, &e);
        Ok(PopKey { key: rsa, n, e, kid, path })
    }

    /// The RFC 7638 JWK thumbprint: what the token's `cnf` names.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The token request's `req_cnf`: base64url of `{"kid":…,"xms_ksl":"sw"}` (a software key).
    pub fn req_cnf(&self) -> String {
        URL_SAFE_NO_PAD.encode(json!({"kid": self.kid, "xms_ksl": "sw"}).to_string())
    }

    /// The public key as the SHR's `cnf.jwk`.
    pub fn jwk(&self) -> Value {
        json!({"e": self.e, "kty": "RSA", "n": self.n, "alg": "RS256", "kid": self.kid})
    }

    /// A signed HTTP request for `access_token`, made at `ts`: what the cluster takes.
    pub fn signed_request(&self, access_token: &str, claims: &PopClaims, ts: i64) -> Result<String> {
        let header = json!({"typ": "pop", "alg": "RS256", "kid": self.kid});
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let payload = json!({"at": access_token, "ts": ts, "u": claims.u, "cnf": {"jwk": self.jwk()}, "nonce": nonce});
        let signed = format!("{}.{}", encode(&header), encode(&payload));
        let signature = rs256(&self.key, signed.as_bytes())
            .map_err(|e| Error::credential("could not sign the PoP request").with_source(e))?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The DER prefix of a PKCS#1 v1.5 `DigestInfo` for SHA-256 (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256), as `EVP_DigestSign` makes it, through
/// the RSA private operation itself (blinded, constant-time): OpenSSL's
/// provider machinery (algorithm fetches, its own random generator) costs a
/// PoP hit about 0.8 ms more, every call. OpenSSL's random numbers come from
/// the kernel for the rest of this process ([`kernel_random`]).
fn rs256(key: &Rsa<Private>, message: &[u8]) -> std::result::Result<Vec<u8>, openssl::error::ErrorStack> {
    kernel_random::install();
    let mut digest_info = SHA256_DIGEST_INFO.to_vec();
    digest_info.extend_from_slice(&Sha256::digest(message));
    let mut signature = vec![0; key.size() as usize];
    let n = key.private_encrypt(&digest_info, &mut signature, Padding::PKCS1)?;
    signature.truncate(n);
    Ok(signature)
}

/// OpenSSL's random numbers (the RSA blinding's) straight from the kernel's
/// generator, `getrandom(2)`, which also seeds OpenSSL's own: what BoringSSL
/// and Go do. It spares a PoP hit the start of OpenSSL's DRBG (its provider's
/// cipher fetched and instantiated, about 0.5 ms) without weakening anything:
/// the numbers are the kernel's, and fork-safe.
mod kernel_random {
    use std::os::raw::{c_int, c_void};
    use std::sync::Once;

    /// OpenSSL's `RAND_METHOD` (`include/openssl/rand.h`), the same in 1.1 and 3.x.
    #[repr(C)]
    struct RandMethod {
        seed: Option<unsafe extern "C" fn(*const c_void, c_int) -> c_int>,
        bytes: Option<unsafe extern "C" fn(*mut u8, c_int) -> c_int>,
        cleanup: Option<unsafe extern "C" fn()>,
        add: Option<unsafe extern "C" fn(*const c_void, c_int, f64) -> c_int>,
        pseudorand: Option<unsafe extern "C" fn(*mut u8, c_int) -> c_int>,
        status: Option<unsafe extern "C" fn() -> c_int>,
    }

    unsafe extern "C" {
        fn RAND_set_rand_method(method: *const RandMethod) -> c_int;
    }

    /// Fills OpenSSL's buffer from the kernel: 1 on success, 0 on failure (as OpenSSL expects).
    unsafe extern "C" fn bytes(buffer: *mut u8, len: c_int) -> c_int {
        let Ok(len) = usize::try_from(len) else { return 0 };
        if len == 0 {
            return 1;
        }
        if buffer.is_null() {
            return 0;
        }
        // SAFETY: OpenSSL passes a writable buffer of `len` bytes, not null (checked).
        let buffer = unsafe { std::slice::from_raw_parts_mut(buffer, len) };
        c_int::from(getrandom::fill(buffer).is_ok())
    }

    unsafe extern "C" fn status() -> c_int {
        1
    }

    static METHOD: RandMethod = RandMethod {
        seed: None,
        bytes: Some(bytes),
        cleanup: None,
        add: None,
        pseudorand: Some(bytes),
        status: Some(status),
    };

    /// Once per process; if OpenSSL refuses, its own generator stays (slower, as good).
    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            openssl::init();
            // SAFETY: METHOD is a static that lives as long as the process, with the layout
            // OpenSSL declares; its functions never unwind.
            let installed = unsafe { RAND_set_rand_method(&METHOD) };
            if installed != 1 {
                crate::trace!("OpenSSL kept its own random generator");
            }
        });
    }
}

fn encode(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// RFC 7638: SHA-256 of the required members in lexical order, no spaces.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The key file's text, or None when there is none yet. A link, a FIFO or a
/// file of another user is an error, never read.
fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    fsutil::read_named(path, KEY_FILE_LIMIT, fsutil::Links::Refuse, true, "the PoP key file")
}

/// Makes the key file: written whole to a private temporary file, then
/// linked into place only if no other process got there first (then its key is used).
fn create(path: &Path) -> Result<PopKey> {
    let rsa = Rsa::generate(KEY_BITS).map_err(|e| Error::credential("could not make the PoP key").with_source(e))?;
    let pem = zeroize::Zeroizing::new(
        rsa.private_key_to_pem().map_err(|e| Error::credential("could not encode the PoP key").with_source(e))?,
    );
    let temporary = path.with_file_name(format!(".{KEY_FILE}.{}.tmp", std::process::id()));
    let written = write_new(&temporary, &pem);
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    // The temporary name goes whether or not it was linked: the key is at `path` or nowhere.
    let removed = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            removed.map_err(|e| Error::io("remove", &temporary, e))?;
            crate::trace!("made the PoP key {}", path.display());
            PopKey::from_pem(&pem, path.to_path_buf())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let pem = read(path)?.ok_or_else(|| Error::io("read", path, e))?;
            PopKey::from_pem(&pem, path.to_path_buf())
        }
        Err(e) => Err(Error::io("write", path, e)),
    }
}

/// The DER inside a PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`, what entratool
/// writes); None for anything else (read by OpenSSL's generic decoder).
fn pkcs1_der(pem: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let text = std::str::from_utf8(pem).ok()?.trim();
    let body = text.strip_prefix("-----BEGIN RSA PRIVATE KEY-----")?.strip_suffix("-----END RSA PRIVATE KEY-----")?;
    let b64: zeroize::Zeroizing<String> = zeroize::Zeroizing::new(body.split_whitespace().collect());
    base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()).ok().map(zeroize::Zeroizing::new)
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fsutil::create_private_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// An SHR taken apart (`token decode`): its header, its payload without the
/// access token, and the access token. None when `text` is not an SHR.
pub fn open_signed_request(text: &str) -> Option<(Value, Value, String)> {
    let mut parts = text.split('.');
    let (h, p) = (parts.next()?, parts.next()?);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    if header["typ"].as_str().is_none_or(|t| !t.eq_ignore_ascii_case("pop")) {
        return None;
    }
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    let at = payload.as_object_mut()?.remove("at")?.as_str()?.to_string();
    Some((header, payload, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_need_u_and_ignore_the_rest() {
        let c = PopClaims::parse("u=/subscriptions/s/resourceGroups/r/providers/x/y/z, k=v", "--pop-claims").unwrap();
        assert_eq!(c.u, "/subscriptions/s/resourceGroups/r/providers/x/y/z");
        for bad in ["", "k=v", "u=", "u", "u=a b", "u=a\u{1b}[31m"] {
            let e = PopClaims::parse(bad, "--pop-claims").unwrap_err();
            assert!(e.remedy.as_deref().is_some_and(|r| r.contains("u=<ARM ID")), "{bad}: {e}");
            assert!(!e.message.contains('\u{1b}'), "{e}");
        }
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 section 3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn an_shr_opens_into_its_parts() {
        let rsa = Rsa::generate(2048).unwrap();
        let pem = rsa.private_key_to_pem().unwrap();
        let key = PopKey::from_pem(&pem, PathBuf::from("k.pem")).unwrap();
        // A PKCS#8 file (another tool's) reads too, to the same key.
        let pkcs8 = PKey::from_rsa(rsa).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert_eq!(PopKey::from_pem(&pkcs8, PathBuf::from("k.pem")).unwrap().kid(), key.kid());
        let claims = PopClaims { u: "/subscriptions/s".into() };
        let shr = key.signed_request("a.b.c", &claims, 1000).unwrap();
        let (header, payload, at) = open_signed_request(&shr).unwrap();
        assert_eq!(header["kid"], key.kid());
        assert_eq!(
            (payload["ts"].as_i64(), payload["u"].as_str(), at.as_str()),
            (Some(1000), Some("/subscriptions/s"), "a.b.c")
        );
        assert_eq!(payload["cnf"]["jwk"]["kid"], key.kid());
        assert!(open_signed_request("a.b.c").is_none());
        // The signature is RS256: OpenSSL's own verifier takes it.
        let (h, p, sig) =
            (shr.split('.').next().unwrap(), shr.split('.').nth(1).unwrap(), shr.rsplit('.').next().unwrap());
        let public = PKey::public_key_from_pem(&key.key.public_key_to_pem().unwrap()).unwrap();
        let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public).unwrap();
        v.update(format!("{h}.{p}").as_bytes()).unwrap();
        assert!(v.verify(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap());
        let small = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap().private_key_to_pem_pkcs8().unwrap();
        assert!(PopKey::from_pem(&small, PathBuf::from("k.pem")).is_err());
        assert!(PopKey::from_pem(b"not a key", PathBuf::from("k.pem")).is_err());
    }
}
