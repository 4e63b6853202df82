//! The token endpoint's answer: success, AADSTS errors with hints, garbage.
#![no_main]
use entratool::entra::{FederatedClaims, HintFacts, interpret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(body) = std::str::from_utf8(rest) else { return };
    let status = [200u16, 400, 401, 429, 500][first as usize % 5];
    let hints = HintFacts {
        profile: Some("p".into()),
        thumbprint: Some("AB".into()),
        thumbprint_sha256: Some("CD".into()),
        federated: FederatedClaims::of(body),
    };
    let _ = interpret(status, body, "https://login.example/t/oauth2/v2.0/token", "c", &hints);
});
