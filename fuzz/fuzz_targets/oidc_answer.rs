//! A CI OIDC service's answer (GitHub Actions' `value`, Azure Pipelines'
//! `oidcToken`): any status and body; a JWT-shaped token or an error, never
//! a panic.
#![no_main]
use entratool::credential::federated::oidc_answer;
use entratool::http::Response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(body) = std::str::from_utf8(rest) else { return };
    let status = [200u16, 203, 401, 404, 500][first as usize % 5];
    let field = if first & 0x80 == 0 { "value" } else { "oidcToken" };
    if let Ok(token) = oidc_answer(Response { status, body: body.to_string() }, field, "the OIDC service", "fix") {
        assert_eq!(token.split('.').count(), 3);
    }
});
