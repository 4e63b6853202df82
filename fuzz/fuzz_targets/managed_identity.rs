//! A managed identity endpoint's answer (IMDS, App Service): any status and
//! body, at any time; a grant or an error, never a panic.
#![no_main]
use entratool::credential::managed_identity::{Selector, interpret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(body) = std::str::from_utf8(rest) else { return };
    let status = [200u16, 400, 404, 429, 500][first as usize % 5];
    let now = [0, 1_800_000_000, i64::MIN, i64::MAX][(first >> 4) as usize % 4];
    let selector = Selector::ClientId("c".into());
    if let Ok(grant) = interpret(status, body, now, "IMDS", &selector) {
        assert!(!grant.access_token.is_empty());
    }
});
