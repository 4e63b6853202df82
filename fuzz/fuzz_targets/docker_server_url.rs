//! docker's server URL (`host`, `host:port`, `https://host/...`) and routing
//! with the docker helper's rule (hosts and host globs only).
#![no_main]
use entratool::routing::{self, Entries, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(t) = Target::from_registry(text) {
        let _ = t.host_port();
        let profiles = common::profiles();
        if let Some((p, e)) = routing::route(&profiles, &t, Entries::HostsOnly) {
            assert!(!e.pattern().contains("://"), "a URL-prefix entry served docker: {}", p.name);
        }
    }
});

mod common {
    include!("common.rs");
}
