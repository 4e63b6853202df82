//! The one HTTP client: blocking reqwest over OpenSSL (native-tls), the
//! system trust store (`SSL_CERT_FILE` honoured), `HTTPS_PROXY`/`NO_PROXY`,
//! https only except loopback, and bounded retries.

use std::thread::sleep;
use std::time::{Duration, Instant};

use url::{Host, Url};

use crate::error::{Error, Result};

/// Retries after the first attempt, on connection errors, 429 and 5xx.
const MAX_RETRIES: u32 = 3;
/// Never wait longer than this for one Retry-After.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// All attempts and waits together stay under this.
const TOTAL_BUDGET: Duration = Duration::from_secs(90);

/// `https`, or `http` to a loopback address (tests and the emulator).
pub fn check_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|e| Error::config(format!("invalid URL '{url}': {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(Error::config(format!(
            "refusing '{url}': entratool talks to identity providers over https only (http is allowed to \
             loopback addresses for testing)"
        ))),
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A response body with its status, after retries.
pub struct Response {
    pub status: u16,
    pub body: String,
}

fn timeout() -> Duration {
    std::env::var("ENTRATOOL_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(30))
}

fn client() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout()))
        .timeout(timeout())
        .user_agent(concat!("entratool/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::unavailable(format!("cannot set up HTTPS: {e}")))
}

/// POSTs a form, retrying connection errors, 429 and 5xx a bounded number of
/// times and honouring Retry-After. Other statuses are returned as they are.
pub fn post_form(url: &Url, form: &[(&str, &str)], what: &str) -> Result<Response> {
    let client = client()?;
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        let outcome = client.post(url.clone()).form(form).send();
        let (retry_after, failure) = match outcome {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if status != 429 && status < 500 {
                    match resp.text() {
                        Ok(body) => return Ok(Response { status, body }),
                        // A connection that breaks mid-answer is retried like one that never opened.
                        Err(e) => (None, format!("{what} at {url} broke off its answer: {}", error_chain(&e))),
                    }
                } else {
                    (retry_after(&resp), format!("{what} at {url} answered HTTP {status}"))
                }
            }
            Err(e) => (None, format!("cannot reach {what} at {url}: {}", error_chain(&e))),
        };
        let wait = retry_after.unwrap_or_else(|| backoff(attempt)).min(MAX_RETRY_AFTER);
        attempt += 1;
        if attempt > MAX_RETRIES || started.elapsed() + wait > TOTAL_BUDGET {
            return Err(Error::unavailable(format!(
                "{failure} (gave up after {attempt} attempts). Check the network, proxy (HTTPS_PROXY/NO_PROXY) and \
                 the authority URL, then try again"
            )));
        }
        sleep(wait);
    }
}

/// A GET's status and `Date` header (epoch seconds), one attempt: for `doctor`.
pub struct Probe {
    pub status: u16,
    pub date: Option<i64>,
}

pub fn get(url: &str) -> Result<Probe> {
    let parsed = check_url(url)?;
    let resp = client()?
        .get(parsed)
        .send()
        .map_err(|e| Error::unavailable(format!("cannot reach {url}: {}", error_chain(&e))))?;
    let date = resp
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.timestamp());
    Ok(Probe { status: resp.status().as_u16(), date })
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * (1 << attempt.min(4)))
}

/// Retry-After as seconds or an HTTP date.
fn retry_after(resp: &reqwest::blocking::Response) -> Option<Duration> {
    let value = resp.headers().get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(secs as u64))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_only_except_loopback() {
        assert!(check_url("https://login.microsoftonline.com").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("http://localhost:1").is_ok());
        assert!(check_url("http://login.microsoftonline.com").is_err());
        assert!(check_url("http://127.0.0.1.evil.io").is_err());
        assert!(check_url("ftp://127.0.0.1").is_err());
    }
}
