//! git's credential request: parsing, the strict host and path rules, and
//! routing against profiles with every kind of match entry.
#![no_main]
use entratool::protocols::git;
use entratool::routing::{self, Entries, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = git::parse(data) else { return };
    let one = |k| req.single(k).flatten().unwrap_or("");
    if let Some(t) = Target::from_git(one("protocol"), one("host"), req.single("path").flatten()) {
        let profiles = common::profiles();
        let _ = routing::route(&profiles, &t, Entries::All);
        let _ = routing::is_azure_devops(&t);
    }
});

mod common {
    include!("common.rs");
}
