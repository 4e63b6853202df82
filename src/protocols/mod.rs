//! One adapter per tool: each parses its tool's request, names a profile and
//! a scope, and formats the reply. None of them knows how tokens are made.

pub mod az;
pub mod docker;
pub mod git;
pub mod kubectl;
pub mod plain;

use chrono::{DateTime, Utc};

pub fn utc(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap_or_default()
}

/// `2026-11-26T17:40:00Z`
pub fn rfc3339_utc(epoch: i64) -> String {
    utc(epoch).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
