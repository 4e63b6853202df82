//! kubeconfig users that run `kubelogin get-token`: what each one says
//! (login mode, client, tenant, certificate or secret, server id), the
//! profile that stands for it, and its exec entry rewritten to run entratool
//! (`setup kubectl --from-kubelogin`). Reading only: the conversion itself,
//! with its token checks, is the setup command's.

use std::path::Path;

use serde_yaml::Value;
use zeroize::Zeroizing;

use crate::credential::secrets::SecretKind;
use crate::error::{Error, Result};
use crate::profile::{self, AuthMethod, Profile};

/// kubelogin's variables (`exec.env`) that the conversion replaces.
const KUBELOGIN_VARS: [&str; 11] = [
    "AAD_SERVICE_PRINCIPAL_CLIENT_ID",
    "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET",
    "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE",
    "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
];

/// A secret found for a kubelogin user, and where (for the output).
pub struct FoundSecret {
    pub kind: SecretKind,
    pub value: Zeroizing<String>,
    pub source: String,
}

/// What one kubelogin user becomes.
pub struct KubeloginUser {
    pub user: String,
    pub server_id: String,
    /// The profile to use: None means the environment profile (`-p env`).
    pub profile: Option<Profile>,
    pub secret: Option<FoundSecret>,
    /// kubelogin's `--pop-enabled --pop-claims`: Azure Arc PoP tokens (spn only, as kubelogin).
    pub pop_claims: Option<String>,
}

/// A kubelogin user entratool converts, or why it is left as it is.
pub enum Verdict {
    Convert(Box<KubeloginUser>),
    Leave(String),
}

/// kubelogin's `get-token` flags and the exec `env`, looked up by name.
struct Flags<'a> {
    args: &'a [String],
    env: Vec<(String, String)>,
}

impl Flags<'_> {
    fn flag(&self, names: &[&str]) -> Option<String> {
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            for n in names {
                if a == n {
                    return it.next().cloned();
                }
                if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                    return Some(v.to_string());
                }
            }
        }
        None
    }

    fn var(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }
}

/// The users of `doc` (or only `only_user`) whose exec entry runs
/// kubelogin, each with what it becomes (an error: left as it is).
pub fn users(doc: &Value, only_user: Option<&str>) -> Vec<(String, Result<Verdict>)> {
    let mut out = Vec::new();
    for user in doc.get("users").and_then(Value::as_sequence).into_iter().flatten() {
        let name = user.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        if only_user.is_some_and(|w| w != name) {
            continue;
        }
        let Some(exec) = user.get("user").and_then(|u| u.get("exec")) else { continue };
        if runs_kubelogin(exec) {
            let verdict = read_user(&name, exec);
            out.push((name, verdict));
        }
    }
    out
}

/// Whether the user of that name still has an exec entry running kubelogin.
pub fn still_runs_kubelogin(doc: &Value, user: &str) -> bool {
    doc.get("users")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter(|u| u.get("name").and_then(Value::as_str) == Some(user))
        .filter_map(|u| u.get("user").and_then(|u| u.get("exec")))
        .any(runs_kubelogin)
}

/// Whether an exec entry runs `kubelogin get-token`.
pub fn runs_kubelogin(exec: &Value) -> bool {
    let command = exec.get("command").and_then(Value::as_str).unwrap_or("");
    let base = Path::new(command).file_name().and_then(|n| n.to_str()).unwrap_or("");
    let first = exec.get("args").and_then(Value::as_sequence).and_then(|a| a.first()).and_then(Value::as_str);
    (base == "kubelogin" || base == "kubelogin.exe") && first == Some("get-token")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence).into_iter().flatten().filter_map(|x| x.as_str().map(String::from)).collect()
}

/// kubelogin's login mode to an entratool profile; `Leave` (with why) for
/// modes that need a person or the Azure CLI.
fn read_user(user: &str, exec: &Value) -> Result<Verdict> {
    let args = strings(exec.get("args"));
    let env = exec
        .get("env")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.get("name")?.as_str()?.to_string(), e.get("value")?.as_str()?.to_string())))
        .collect();
    let f = Flags { args: &args, env };
    let mode = f.flag(&["--login", "-l"]).unwrap_or_else(|| "devicecode".into()).to_ascii_lowercase();
    let server_id = f.flag(&["--server-id"]).unwrap_or_else(|| crate::protocols::kubectl::AKS_SERVER_ID.into());
    let pop_claims = match pop_flags(&f) {
        Ok(claims) => claims,
        Err(why) => return Ok(Verdict::Leave(why)),
    };
    let name: String =
        user.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).take(64).collect();
    let mut p = Profile { name, ..Default::default() };
    let client = || f.flag(&["--client-id"]).or_else(|| f.var(&["AAD_SERVICE_PRINCIPAL_CLIENT_ID", "AZURE_CLIENT_ID"]));
    let tenant = f.flag(&["--tenant-id", "-t"]).or_else(|| f.var(&["AZURE_TENANT_ID"]));
    let secret = match mode.as_str() {
        "spn" => {
            p.client_id = client().ok_or_else(|| Error::config("spn mode without --client-id"))?;
            p.tenant_id = tenant.ok_or_else(|| Error::config("spn mode without --tenant-id"))?;
            let cert = f
                .flag(&["--client-certificate"])
                .or_else(|| f.var(&["AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE", "AZURE_CLIENT_CERTIFICATE_PATH"]));
            match cert {
                Some(path) => {
                    p.certificate_path = Some(path);
                    p.set_auth_method(AuthMethod::Certificate);
                    let pw = f.flag(&["--client-certificate-password"]).or_else(|| {
                        f.var(&[
                            "AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD",
                            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                        ])
                    });
                    pw.map(|v| FoundSecret {
                        kind: SecretKind::CertificatePassword,
                        value: Zeroizing::new(v),
                        source: "the kubeconfig's exec entry".to_string(),
                    })
                }
                None => {
                    p.set_auth_method(AuthMethod::Secret);
                    let (s, source) = match f
                        .flag(&["--client-secret"])
                        .or_else(|| f.var(&["AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]))
                    {
                        Some(s) => (s, "the kubeconfig's exec entry".to_string()),
                        // kubelogin also reads its variables from the shell that runs kubectl.
                        None => shell_secret().ok_or_else(|| {
                            Error::config("spn mode with neither a client secret nor a certificate").with_remedy(
                                "export AAD_SERVICE_PRINCIPAL_CLIENT_SECRET (as kubelogin reads it) and run this again",
                            )
                        })?,
                    };
                    Some(FoundSecret { kind: SecretKind::ClientSecret, value: Zeroizing::new(s), source })
                }
            }
        }
        // The pod's variables at run time: the environment profile.
        "workloadidentity" => {
            // kubelogin ignores --pop-enabled here: so does the converted entry.
            return Ok(Verdict::Convert(Box::new(KubeloginUser {
                user: user.into(),
                server_id,
                profile: None,
                secret: None,
                pop_claims: None,
            })));
        }
        "msi" => {
            p.set_auth_method(AuthMethod::ManagedIdentity);
            p.managed_identity_client_id = f.flag(&["--client-id"]);
            p.managed_identity_resource_id = f.flag(&["--identity-resource-id"]);
            if let Some(t) = tenant {
                p.tenant_id = t;
            }
            None
        }
        other => {
            let why = match other {
                "azurecli" => "it uses the Azure CLI's signed-in user, which entratool does not replace",
                "devicecode" | "interactive" => {
                    "it signs in a person in a browser; entratool serves service principals"
                }
                "ropc" => "it signs in a user with a password, which entratool does not do",
                _ => "entratool does not know this login mode",
            };
            return Ok(Verdict::Leave(format!("kubelogin --login {other}: {why}")));
        }
    };
    if let Some(e) = f.flag(&["--environment", "-e"]) {
        p.cloud = Some(e);
    }
    if let Some(host) = f.var(&["AZURE_AUTHORITY_HOST"]) {
        p.authority_host = Some(host.trim_end_matches('/').to_string());
    }
    p.scope = Some(format!("{server_id}/.default"));
    p.validate()?;
    // kubelogin makes PoP tokens for spn only and ignores the flags for other modes.
    let pop_claims = pop_claims.filter(|_| mode == "spn");
    Ok(Verdict::Convert(Box::new(KubeloginUser { user: user.into(), server_id, profile: Some(p), secret, pop_claims })))
}

/// kubelogin's `--pop-enabled` with `--pop-claims`: the claims. kubelogin
/// itself refuses one without the other, so such a user is left as it is.
fn pop_flags(f: &Flags) -> std::result::Result<Option<String>, String> {
    let enabled = f.args.iter().any(|a| a == "--pop-enabled" || a == "--pop-enabled=true");
    match (enabled, f.flag(&["--pop-claims"])) {
        (false, None) => Ok(None),
        (true, Some(claims)) => match crate::pop::PopClaims::parse(&claims, "kubelogin's --pop-claims") {
            Ok(_) => Ok(Some(claims)),
            Err(e) => Err(format!("kubelogin --pop-claims: {}", e.message)),
        },
        _ => {
            Err("kubelogin's --pop-enabled and --pop-claims must be given together (kubelogin refuses one alone)"
                .into())
        }
    }
}

/// The client secret kubelogin would take from the shell (`AAD_SERVICE_PRINCIPAL_CLIENT_SECRET`,
/// `AZURE_CLIENT_SECRET`), with where it was found.
fn shell_secret() -> Option<(String, String)> {
    ["AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()).map(|s| (s, format!("${v} in this shell"))))
}

/// The user's exec block, now running entratool (`exe`, an absolute path);
/// kubelogin's variables go, anything else in it stays. `kept`: a secret that
/// stays in the kubeconfig, as the variable entratool reads and its value.
pub fn rewrite_user(doc: &mut Value, p: &KubeloginUser, exe: &str, kept: Option<(&str, &str)>) {
    let Some(users) = doc.get_mut("users").and_then(Value::as_sequence_mut) else { return };
    let Some(exec) = users
        .iter_mut()
        .find(|u| u.get("name").and_then(Value::as_str) == Some(p.user.as_str()))
        .and_then(|u| u.get_mut("user"))
        .and_then(|u| u.get_mut("exec"))
        .and_then(Value::as_mapping_mut)
    else {
        return;
    };
    let profile = p.profile.as_ref().map_or(profile::ENV_PROFILE, |pr| pr.name.as_str());
    let mut args = vec!["get-token", "-p", profile, "--server-id", &p.server_id, "--output", "exec-credential"];
    if let Some(claims) = &p.pop_claims {
        args.extend(["--pop-claims", claims]);
    }
    exec.insert("command".into(), exe.into());
    exec.insert("args".into(), Value::Sequence(args.iter().map(|a| Value::from(*a)).collect()));
    if let Some(env) = exec.get_mut("env").and_then(Value::as_sequence_mut) {
        env.retain(|e| !e.get("name").and_then(Value::as_str).is_some_and(|n| KUBELOGIN_VARS.contains(&n)));
        if env.is_empty() {
            exec.remove("env");
        }
    }
    if let Some((var, value)) = kept {
        let entry: Value = [("name", Value::from(var)), ("value", Value::from(value))]
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<serde_yaml::Mapping>()
            .into();
        match exec.get_mut("env").and_then(Value::as_sequence_mut) {
            Some(env) => env.push(entry),
            None => drop(exec.insert("env".into(), Value::Sequence(vec![entry]))),
        }
    }
    if !exec.contains_key("interactiveMode") {
        exec.insert("interactiveMode".into(), "Never".into());
    }
    exec.insert("installHint".into(), crate::protocols::kubectl::INSTALL_HINT.into());
}
