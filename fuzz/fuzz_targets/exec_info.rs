//! kubectl's KUBERNETES_EXEC_INFO.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = entratool::protocols::kubectl::exec_info(Some(text));
    }
});
