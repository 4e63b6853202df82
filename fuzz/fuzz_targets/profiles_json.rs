//! profiles.json: both layouts, unknown fields, validation of each profile,
//! and a round trip of what parsed (unknown fields kept).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = entratool::profile::parse(text, std::path::Path::new("profiles.json")) else { return };
    for p in &doc.profiles {
        let _ = p.validate();
        let _ = p.auth_method();
    }
    let written = serde_json::to_string(&doc).expect("a parsed document serialises");
    let again = entratool::profile::parse(&written, std::path::Path::new("profiles.json")).expect("and parses again");
    assert_eq!(again.profiles.len(), doc.profiles.len());
});
