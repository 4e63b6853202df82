//! The certificate loaders: PEM (with an optional separate key) and PKCS#12
//! bytes, with and without a password.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0xff).unwrap_or(data.len());
    let (cert, key) = data.split_at(split);
    let key = key.get(1..).filter(|k| !k.is_empty());
    let _ = entratool::credential::certificate::file::from_bytes(cert, key, None);
    let _ = entratool::credential::certificate::file::from_bytes(cert, key, Some("password"));
});
