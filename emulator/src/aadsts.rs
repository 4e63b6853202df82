//! Entra ID's error answers: the JSON shape and the codes the emulator uses.

use serde_json::{Value, json};

/// An error answer: HTTP status, OAuth `error`, AADSTS code and description.
#[derive(Debug)]
pub struct Aadsts {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl Aadsts {
    pub fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        Aadsts { status, error, code, description: description.into() }
    }

    /// The body as Entra sends it: the description carries trace and
    /// correlation ids after the first line.
    pub fn body(&self) -> Value {
        self.body_for(None)
    }

    /// The body, with the caller's `client-request-id` as the correlation ID
    /// (Entra ID echoes it so), else a fresh one.
    pub fn body_for(&self, client_request_id: Option<&str>) -> Value {
        let trace = uuid::Uuid::new_v4();
        let correlation = client_request_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
        let now = chrono::Utc::now();
        json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {}",
                self.code,
                self.description,
                now.format("%Y-%m-%d %H:%M:%SZ")
            ).replacen(" Trace ID:", "\r\nTrace ID:", 1).replacen(" Correlation ID:", "\r\nCorrelation ID:", 1).replacen(" Timestamp:", "\r\nTimestamp:", 1),
            "error_codes": [self.code],
            "timestamp": now.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": trace.to_string(),
            "correlation_id": correlation.to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
    }
}

pub fn tenant_not_found(tenant: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_request",
        90002,
        format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the \
             correct cloud. Check with your subscription administrator, this may happen if there are no active \
             subscriptions for the tenant."
        ),
    )
}

pub fn missing_parameter(name: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

pub fn app_not_found(client_id: &str, tenant: &str) -> Aadsts {
    Aadsts::new(
        400,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if \
             the application has not been installed by the administrator of the tenant or consented to by any user \
             in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

pub fn invalid_scope(scope: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_scope",
        1002012,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value \
             with /.default suffixed to the resource identifier (application ID URI)."
        ),
    )
}

pub fn resource_not_found(resource: &str, tenant: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_resource",
        500011,
        format!(
            "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if \
             the application has not been installed by the administrator of the tenant or consented to by any user \
             in the tenant. You might have sent your authentication request to the wrong tenant."
        ),
    )
}

pub fn invalid_secret(client_id: &str) -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, \
             not the client secret ID, for a secret added to app '{client_id}'."
        ),
    )
}

pub fn no_credential() -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )
}

pub fn malformed(why: &str) -> Aadsts {
    Aadsts::new(400, "invalid_request", 50027, format!("JWT token is invalid or malformed. {why}"))
}

pub fn key_not_found(thumbprint: &str, client_id: &str) -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        700027,
        format!(
            "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used \
             by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see \
             configured keys for app Id '{client_id}'.]"
        ),
    )
}

pub fn bad_signature() -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        700027,
        "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the \
         expected signature value.]",
    )
}

pub fn time_range(now: i64, nbf: i64, exp: i64) -> Aadsts {
    let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap_or_default().format("%m/%d/%Y %H:%M:%S").to_string();
    Aadsts::new(
        400,
        "invalid_client",
        700024,
        format!(
            "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry \
             time of assertion {}. Review the documentation at \
             https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
            t(now),
            t(nbf),
            t(exp)
        ),
    )
}

pub fn wrong_issuer() -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at \
         https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
    )
}

pub fn wrong_audience(aud: &str) -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        700023,
        format!("Client assertion audience claim does not match Realm issuer. Audience: '{aud}'."),
    )
}

pub fn invalid_chain() -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        7000213,
        "Invalid certificate chain: the x5c chain does not lead to a certificate authority trusted for this \
         application.",
    )
}

pub fn subject_not_authorized(subject: &str) -> Aadsts {
    Aadsts::new(
        401,
        "invalid_client",
        700030,
        format!(
            "Invalid certificate - subject name in certificate is not authorized. SubjectNames/SubjectAlternativeNames \
             (up to 10) in token certificate are: {subject}."
        ),
    )
}

const CHECK_FIC: &str = "Please check your federated identity credential Subject, Audience and Issuer against the \
                         presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

pub fn no_federated_match(iss: &str, sub: &str, aud: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_request",
        70021,
        format!(
            "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. \
             Assertion Subject: '{sub}'. Assertion Audience: '{aud}'. \
             https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
        ),
    )
}

pub fn federated_issuer(iss: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_request",
        700211,
        format!("No matching federated identity record found for presented assertion issuer '{iss}'. {CHECK_FIC}"),
    )
}

pub fn federated_audience(aud: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_request",
        700212,
        format!("No matching federated identity record found for presented assertion audience '{aud}'. {CHECK_FIC}"),
    )
}

pub fn federated_subject(sub: &str) -> Aadsts {
    Aadsts::new(
        400,
        "invalid_request",
        700213,
        format!("No matching federated identity record found for presented assertion subject '{sub}'. {CHECK_FIC}"),
    )
}
