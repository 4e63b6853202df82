//! kubectl's KUBERNETES_EXEC_INFO, and the PoP claims a cluster's extension
//! carries in it: an error or a value, never a panic; claims that parse have
//! a `u` with no space or control character.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(info) = entratool::protocols::kubectl::exec_info(Some(text)) {
        if let Some(claims) = info.cluster_pop_claims {
            check_claims(&claims);
        }
    }
    check_claims(text);
    // Any text as a signed HTTP request (token decode): parts or None.
    let _ = entratool::pop::open_signed_request(text);
});

fn check_claims(text: &str) {
    if let Ok(c) = entratool::pop::PopClaims::parse(text, "fuzz") {
        assert!(!c.u.is_empty() && !c.u.contains(|ch: char| ch.is_whitespace() || ch.is_control()), "{c:?}");
    }
}
