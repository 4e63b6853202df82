//! Step 6: Entra ID takes a while to accept a key Graph added (replication:
//! seconds to minutes). Token requests with the new certificate, every 5 s,
//! backing off to 30 s while refused, until three in a row succeed, for at
//! most `--wait`; AADSTS700027 meanwhile is expected, any other refusal ends it.

use std::time::{Duration, Instant};

use super::current::New;
use crate::credential::TriedCertificate;
use crate::error::{Error, Kind, Result};
use crate::profile::Profile;
use crate::token::{self, TokenKind, TokenRequest};

/// Successes in a row that prove the key has replicated.
const IN_A_ROW: u32 = 3;
const LONGEST: Duration = Duration::from_secs(30);

/// The first interval: 5 s, or `$ENTRATOOL_ROTATION_POLL_MS` (docs/reference.md).
fn first_interval() -> Duration {
    let ms = std::env::var("ENTRATOOL_ROTATION_POLL_MS").ok().and_then(|v| v.parse::<u64>().ok());
    Duration::from_millis(ms.unwrap_or(5000).clamp(1, 30_000))
}

pub fn until_accepted(profile: &Profile, new: &New, key_id: &str, resource: &str, limit: Duration) -> Result<()> {
    let scope = format!("{resource}/.default");
    let tried = TriedCertificate { path: &new.path, password: new.password.as_ref() };
    let started = Instant::now();
    let (mut in_a_row, mut interval, mut attempts) = (0, first_interval(), 0);
    loop {
        attempts += 1;
        let request = TokenRequest {
            certificate_override: Some(tried),
            force_refresh: true,
            ..TokenRequest::for_helper(profile, &scope, TokenKind::Access)
        };
        match token::acquire(&request, &mut Vec::new()) {
            Ok(_) => {
                in_a_row += 1;
                interval = first_interval();
                if in_a_row == IN_A_ROW {
                    crate::output::note(&format!(
                        "Entra ID accepts the new certificate ({IN_A_ROW} token requests in a row, {attempts} in all, \
                         {} s)",
                        started.elapsed().as_secs()
                    ));
                    return Ok(());
                }
            }
            Err(e) if e.kind == Kind::Rejected && !e.message.contains("AADSTS700027") => {
                return Err(Error {
                    message: format!(
                        "Entra ID refused the new certificate (key {key_id}, {}): {}; the profile is unchanged",
                        new.path.display(),
                        e.message
                    ),
                    ..e
                });
            }
            Err(_) => {
                in_a_row = 0;
                interval = (interval * 2).min(LONGEST);
            }
        }
        if started.elapsed() + interval > limit {
            return Err(ran_out(profile, new, key_id, limit));
        }
        crate::output::note(&format!(
            "waiting for Entra ID to accept the new key {key_id}: {in_a_row} of {IN_A_ROW} token requests in a row \
             so far, the next in {} s",
            interval.as_secs_f32()
        ));
        std::thread::sleep(interval);
    }
}

fn ran_out(profile: &Profile, new: &New, key_id: &str, limit: Duration) -> Error {
    Error::unavailable(format!(
        "Entra ID did not accept the new certificate within {} s: the profile is unchanged; the new key {key_id} is \
         registered on the app and {} holds it",
        limit.as_secs(),
        new.path.display()
    ))
    .with_remedy(format!(
        "try it later with `entratool get-token -p {p} --certificate {f}`, then switch with `entratool config edit \
         -p {p} --certificate {f}`; or remove the key with `entratool cert prune -p {p} --key-id {key_id}`",
        p = profile.name,
        f = new.path.display()
    ))
}
