//! `token decode`: any bytes as a JWT; claims of any JSON shape are shown as
//! one row each, with no control character left in any row, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Also the payload alone, so the fuzzer reaches the claims without finding base64 first.
    let payload = base64_url(text.as_bytes());
    for jwt in [text.to_string(), format!("h.{payload}.s")] {
        let Some(claims) = entratool::codec::jwt_claims(jwt.trim()) else { continue };
        for now in [0, i64::MIN, i64::MAX] {
            let shown = entratool::claims::selected(&claims, now);
            let table = entratool::output::table(&entratool::claims::rows(&shown));
            // One row a line: no control character within any (tabs and breaks included).
            assert!(table.lines().all(|row| !row.contains(|c: char| c.is_control())), "{table:?}");
        }
    }
});

fn base64_url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
