//! The clock, at the bottom of the library: epoch seconds, for the token
//! source, HTTP (`Retry-After`) and the credentials alike.

/// Now, in epoch seconds (0 before 1970, which no clock here reports).
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
