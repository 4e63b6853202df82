//! kubectl's exec credential plugin protocol (client.authentication.k8s.io).

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::output::{pretty, rfc3339_utc};
use crate::token::Token;

pub const V1: &str = "client.authentication.k8s.io/v1";
pub const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// The AKS server application id (kubelogin's default `--server-id`).
pub const AKS_SERVER_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// The exec entry's `installHint`: what kubectl shows when entratool is
/// missing, the same from both `setup kubectl` modes.
pub const INSTALL_HINT: &str = "entratool gets the tokens for this cluster: install it and create the profile named \
                                in args (entratool config create; docs/kubectl.md)";

/// What kubectl said in `KUBERNETES_EXEC_INFO`.
#[derive(Debug, PartialEq)]
pub struct ExecInfo {
    pub api_version: &'static str,
    pub interactive: bool,
    /// The cluster's PoP claims, when the exec entry has `provideClusterInfo:
    /// true` and the cluster's `client.authentication.k8s.io/exec` extension
    /// carries `popClaims` (`spec.cluster.config.popClaims`).
    pub cluster_pop_claims: Option<String>,
}

/// What an unset `KUBERNETES_EXEC_INFO` means: v1beta1, not interactive.
impl Default for ExecInfo {
    fn default() -> Self {
        ExecInfo { api_version: V1BETA1, interactive: false, cluster_pop_claims: None }
    }
}

impl ExecInfo {
    /// kubectl's `spec.interactive`: a prompt is never shown when it is false.
    pub fn allows_prompt(&self) -> bool {
        self.interactive
    }
}

/// `--server-id ID` (kubelogin's flag): the scope `ID/.default`.
pub fn server_id_scope(id: &str) -> String {
    format!("{}/.default", id.trim_end_matches('/'))
}

/// kubectl's request, from this process's `KUBERNETES_EXEC_INFO`.
pub fn exec_info_from_env() -> Result<ExecInfo> {
    match std::env::var("KUBERNETES_EXEC_INFO") {
        Ok(v) => exec_info(Some(&v)),
        Err(std::env::VarError::NotPresent) => exec_info(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::usage("KUBERNETES_EXEC_INFO is not UTF-8")
            .with_remedy("kubectl sets it: run entratool through kubectl, or unset it")),
    }
}

/// Reads `KUBERNETES_EXEC_INFO`: v1beta1 when unset or empty (as kubelogin);
/// v1 or v1beta1 when given; anything else is an error.
pub fn exec_info(raw: Option<&str>) -> Result<ExecInfo> {
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok(ExecInfo::default());
    }
    let v: Value = serde_json::from_str(raw).map_err(|e| {
        Error::usage("KUBERNETES_EXEC_INFO is not valid JSON")
            .with_source(e)
            .with_remedy("kubectl sets it: run entratool through kubectl, or unset it")
    })?;
    let api_version = match v.get("apiVersion").and_then(Value::as_str) {
        Some(V1) => V1,
        Some(V1BETA1) => V1BETA1,
        other => {
            return Err(Error::usage(format!(
                "KUBERNETES_EXEC_INFO asks for apiVersion {}: entratool speaks {V1} and {V1BETA1}",
                other.unwrap_or("(none)")
            ))
            .with_remedy("set apiVersion in the kubeconfig's exec section to one of them"));
        }
    };
    let interactive = v.pointer("/spec/interactive").and_then(Value::as_bool).unwrap_or(false);
    let cluster_pop_claims = match v.pointer("/spec/cluster/config/popClaims") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Error::usage(
                "the cluster's popClaims (its client.authentication.k8s.io/exec extension) is not a string",
            )
            .with_remedy("write it as kubelogin's flag: popClaims: \"u=<ARM ID of the cluster>\" (docs/kubectl.md)"));
        }
    };
    Ok(ExecInfo { api_version, interactive, cluster_pop_claims })
}

pub fn exec_credential(t: &Token, info: &ExecInfo) -> String {
    let v = json!({
        "apiVersion": info.api_version,
        "kind": "ExecCredential",
        "status": {"token": t.access_token, "expirationTimestamp": rfc3339_utc(t.expires_on)},
    });
    pretty(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_info_rules() {
        assert_eq!(exec_info(None).unwrap().api_version, V1BETA1);
        assert_eq!(exec_info(Some("")).unwrap().api_version, V1BETA1);
        let v1 = exec_info(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#,
        ))
        .unwrap();
        assert_eq!(v1, ExecInfo { api_version: V1, interactive: true, cluster_pop_claims: None });
        let arc = exec_info(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://x","config":{"popClaims":"u=/s/1"}}}}"#,
        ))
        .unwrap();
        assert_eq!(arc.cluster_pop_claims.as_deref(), Some("u=/s/1"));
        assert!(
            exec_info(Some(
                r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"config":{"popClaims":1}}}}"#
            ))
            .is_err()
        );
        assert!(exec_info(Some(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#)).is_err());
        assert!(exec_info(Some("\u{0}garbage")).is_err());
    }
}
