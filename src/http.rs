//! The one HTTP client: reqwest over OpenSSL (native-tls), the system trust
//! store (`SSL_CERT_FILE` honoured), `HTTPS_PROXY`/`NO_PROXY` (never for
//! loopback), https only except loopback, bounded answers and bounded retries.
//!
//! Requests run one at a time on a single-threaded tokio runtime in the
//! calling thread, with names resolved in that thread too: reqwest's blocking
//! client would start a runtime thread and a resolver thread for every cold
//! fetch (docs/performance.md).

use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use url::Url;

use crate::error::{Error, Result};

/// Retries after the first attempt, on connection errors, 429 and 5xx.
const MAX_RETRIES: u32 = 3;
/// All attempts and waits together stay under this (docs/reference.md#network).
const TOTAL_BUDGET: Duration = Duration::from_secs(30);

/// `https`, or `http` to a loopback address (tests and the emulator).
pub fn check_url(url: &str) -> Result<Url> {
    let shown = || crate::trace::url_text_for_trace(url);
    let parsed = Url::parse(url).map_err(|e| Error::config(format!("invalid URL '{}'", shown())).with_source(e))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if crate::net::is_loopback_url(&parsed) => Ok(parsed),
        _ => {
            Err(Error::config(format!("refusing '{}': entratool talks to identity providers over https only", shown()))
                .with_remedy("use an https:// URL (http is allowed to loopback addresses, for testing)"))
        }
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

/// The trust store is native-tls's: `SSL_CERT_FILE` and `SSL_CERT_DIR` when
/// set, else the system's bundle file (Debian's
/// `/etc/ssl/certs/ca-certificates.crt`, CAs appended to it by hand
/// included) and its hashed folders, found by openssl-probe without touching
/// the process environment. Loading the whole bundle costs a cold fetch a few
/// milliseconds of CPU (docs/performance.md); a hit makes no TLS connection.
fn client(url: &Url) -> Result<reqwest::Client> {
    client_for(Route::Internet, url)
}

/// Where a request goes, which decides how it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Entra ID, registries, CI OIDC services: https (http to loopback),
    /// through `HTTPS_PROXY` unless `NO_PROXY` says otherwise.
    Internet,
    /// A managed identity endpoint on this host or its link-local address:
    /// plain http, never through a proxy, and an unreachable endpoint fails
    /// at once (it will not appear on a host that has none).
    ManagedIdentity,
}

/// Connecting to a managed identity endpoint gives up after this long.
pub const MANAGED_IDENTITY_CONNECT: Duration = Duration::from_secs(2);

/// The client for one request. Loopback and managed identity endpoints are
/// never reached through a proxy, whatever `NO_PROXY` says (Go's HTTP client
/// does the same for loopback): a proxy would see a plain-http token request,
/// client secret or CI bearer token included.
fn client_for(route: Route, url: &Url) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .dns_resolver(Arc::new(InThreadResolver))
        .timeout(timeout())
        .user_agent(concat!("entratool/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    builder = match route {
        Route::Internet => builder.connect_timeout(Duration::from_secs(10).min(timeout())),
        Route::ManagedIdentity => builder.connect_timeout(MANAGED_IDENTITY_CONNECT),
    };
    if route == Route::ManagedIdentity || crate::net::is_loopback_url(url) {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| Error::unavailable("cannot set up HTTPS").with_source(e))
}

/// A token service's answer is a few KiB; anything past this is not one, and
/// is never read into memory whole.
pub const MAX_BODY: usize = 1024 * 1024;

/// A `Retry-After` is honoured up to a day: a larger (or overflowing) value
/// holds the key for a day, never wraps into the past.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Reads at most `MAX_BODY` bytes of the answer. `Ok(None)` when it is larger.
async fn bounded_text(mut resp: reqwest::Response) -> reqwest::Result<Option<String>> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(String::from_utf8_lossy(&body).into_owned()))
}

/// POSTs a form, retrying connection errors, 429 and 5xx a bounded number of
/// times and honouring Retry-After. Other statuses are returned as they are.
pub fn post_form(url: &Url, form: &[(&str, &str)], what: &str) -> Result<Response> {
    send(Route::Internet, url, what, |c| c.post(url.clone()).form(form))
}

/// Statuses worth another try: throttling, server errors, and (for managed
/// identity) 404 and 410 while the endpoint starts or upgrades.
fn retryable(route: Route, status: u16) -> bool {
    status == 429 || status >= 500 || (route == Route::ManagedIdentity && (status == 404 || status == 410))
}

/// Sends the request `build` makes, with retries as `post_form` describes.
pub fn send(
    route: Route,
    url: &Url,
    what: &str,
    build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<Response> {
    let rt = runtime()?;
    let _context = rt.enter(); // the client's connector is made for this runtime
    let client = client_for(route, url)?;
    let started = Instant::now();
    let mut attempt = 0;
    // Messages and the trace name the URL without userinfo or query values.
    let shown = crate::trace::url_for_trace(url);
    loop {
        let request = build(&client)
            .build()
            .map_err(|e| Error::config(format!("cannot make the request to {shown}")).with_source(e))?;
        let method = request.method().clone();
        let sent = Instant::now();
        let outcome = rt.block_on(client.execute(request));
        match &outcome {
            Ok(resp) => {
                crate::trace!("HTTP {method} {shown}: {} in {} ms", resp.status().as_u16(), sent.elapsed().as_millis())
            }
            Err(e) => {
                crate::trace!("HTTP {method} {shown}: {} after {} ms", failure_kind(e), sent.elapsed().as_millis())
            }
        }
        let (retry_after, failure) = match outcome {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if !retryable(route, status) {
                    match rt.block_on(bounded_text(resp)) {
                        Ok(Some(body)) => return Ok(Response { status, body }),
                        Ok(None) => {
                            return Err(Error::rejected(format!(
                                "{what} at {shown} answered HTTP {status} with more than {} KiB, which is no token \
                                 answer",
                                MAX_BODY / 1024
                            ))
                            .with_remedy("check the URL the profile uses and any proxy in between"));
                        }
                        // A connection that breaks mid-answer is retried like one that never opened.
                        Err(e) => {
                            (None, format!("{what} at {shown} broke off its answer: {}", error_chain(&e.without_url())))
                        }
                    }
                } else {
                    (retry_after(&resp), format!("{what} at {shown} answered HTTP {status}"))
                }
            }
            // The URL is in the message already: reqwest's own text would repeat it.
            Err(e) if route == Route::ManagedIdentity && (e.is_connect() || e.is_timeout()) => {
                let e = e.without_url();
                return Err(Error::unavailable(format!(
                    "this host has no managed identity endpoint: {what} at {shown} cannot be reached"
                ))
                .with_source(error_chain(&e))
                .with_remedy(
                    "run on an Azure host with a managed identity assigned (VM, scale set, App Service, Functions, \
                     Container Apps, AKS), or use another authMethod",
                ));
            }
            Err(e) => (None, format!("cannot reach {what} at {shown}: {}", error_chain(&e.without_url()))),
        };
        let left = TOTAL_BUDGET.saturating_sub(started.elapsed());
        if let Some(asked) = retry_after.filter(|w| *w > left) {
            // Waiting longer than the budget would only hold kubectl or git: stop now, and say when.
            let at = crate::clock::now().saturating_add(asked.as_secs() as i64);
            return Err(Error::unavailable(format!("{failure} and asked to wait {} s", asked.as_secs()))
                .with_retry_at(at)
                .with_remedy(format!("try again after {}", crate::output::rfc3339_utc(at))));
        }
        let wait = retry_after.unwrap_or_else(|| backoff(attempt));
        attempt += 1;
        if attempt > MAX_RETRIES || started.elapsed() + wait > TOTAL_BUDGET {
            crate::trace!("giving up after {attempt} attempts");
            return Err(Error::unavailable(format!("{failure} (gave up after {attempt} attempts)"))
                .with_remedy("check the network, proxy (HTTPS_PROXY/NO_PROXY) and the authority URL, then try again"));
        }
        crate::trace!("retry {attempt} of {MAX_RETRIES} in {} ms: {failure}", wait.as_millis());
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
    let rt = runtime()?;
    let _context = rt.enter();
    let resp = rt.block_on(client(&parsed)?.get(parsed.clone()).send()).map_err(|e| {
        Error::unavailable(format!("cannot reach {}", crate::trace::url_for_trace(&parsed)))
            .with_source(error_chain(&e.without_url()))
            .with_remedy(
                "check the network and any proxy (HTTPS_PROXY/NO_PROXY), and the profile's authorityHost or cloud",
            )
    })?;
    let date = resp
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.timestamp());
    Ok(Probe { status: resp.status().as_u16(), date })
}

/// The runtime requests run on: this thread's, with timers and sockets.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::unavailable("cannot set up HTTP").with_source(e))
}

/// getaddrinfo in the runtime's own thread. entratool makes one request at a
/// time, so nothing waits behind a lookup; glibc bounds it by resolv.conf's
/// timeouts. IP addresses (managed identity endpoints) never get here.
struct InThreadResolver;

impl reqwest::dns::Resolve for InThreadResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        use std::net::ToSocketAddrs;
        let found = (name.as_str(), 0)
            .to_socket_addrs()
            .map(|addrs| Box::new(addrs.collect::<Vec<_>>().into_iter()) as reqwest::dns::Addrs)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
        Box::pin(std::future::ready(found))
    }
}

/// What went wrong with a request, in words that carry no URL (its query may
/// hold values a trace never shows).
fn failure_kind(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "failed"
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * (1 << attempt.min(4)))
}

/// Retry-After as seconds or an HTTP date, at most `MAX_RETRY_AFTER`.
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    parse_retry_after(resp.headers().get("retry-after")?.to_str().ok()?, chrono::Utc::now().timestamp())
}

fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    let secs = if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // Digits beyond u64 are still a very long wait, never a parse failure.
        value.parse::<u64>().unwrap_or(u64::MAX)
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        when.timestamp().saturating_sub(now).max(0) as u64
    };
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
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

    #[test]
    fn retry_after_saturates_at_a_day() {
        let day = Some(MAX_RETRY_AFTER);
        assert_eq!(parse_retry_after("9223372036854775807", 0), day);
        assert_eq!(parse_retry_after("18446744073709551615", 0), day);
        assert_eq!(parse_retry_after("99999999999999999999999", 0), day);
        assert_eq!(parse_retry_after(" 120 ", 0), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480), Some(Duration::from_secs(0)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0), day);
        assert_eq!(parse_retry_after("-5", 0), None);
    }
}
