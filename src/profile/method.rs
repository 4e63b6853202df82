//! How a profile authenticates.

use super::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Certificate,
    Secret,
    /// A federated token in a file (AKS workload identity, any OIDC issuer).
    WorkloadIdentity,
    /// The GitHub Actions job's OIDC token.
    GithubActions,
    /// The Azure Pipelines job's OIDC token for a service connection.
    AzurePipelines,
    /// The Azure host's managed identity.
    ManagedIdentity,
    /// A user-assigned managed identity's token as the federated credential of an app registration.
    ManagedIdentityFederation,
}

/// How one method is named: in profiles.json and tables, on the command
/// line, and in the wizard's menu.
pub struct Names {
    /// `authMethod` in profiles.json, what `config list` and `config show` print.
    pub label: &'static str,
    /// `config create --auth-method …`.
    pub flag: &'static str,
    /// The wizard's menu line.
    pub menu: &'static str,
}

impl AuthMethod {
    /// Every method, in the wizard's order: the seed's two first, then those with no stored secret.
    pub const ALL: [AuthMethod; 7] = [
        AuthMethod::Secret,
        AuthMethod::Certificate,
        AuthMethod::WorkloadIdentity,
        AuthMethod::GithubActions,
        AuthMethod::AzurePipelines,
        AuthMethod::ManagedIdentity,
        AuthMethod::ManagedIdentityFederation,
    ];

    /// The one list of the methods' names: every parse, table and menu reads it.
    pub fn names(self) -> Names {
        let (label, flag, menu) = match self {
            AuthMethod::Certificate => ("certificate", "certificate", "Certificate"),
            AuthMethod::Secret => ("secret", "secret", "Client Secret"),
            AuthMethod::WorkloadIdentity => {
                ("workloadIdentity", "workload-identity", "Workload identity (federated token file)")
            }
            AuthMethod::GithubActions => ("githubActions", "github-actions", "GitHub Actions OIDC"),
            AuthMethod::AzurePipelines => ("azurePipelines", "azure-pipelines", "Azure Pipelines OIDC"),
            AuthMethod::ManagedIdentity => ("managedIdentity", "managed-identity", "Managed identity"),
            AuthMethod::ManagedIdentityFederation => (
                "managedIdentityFederation",
                "managed-identity-federation",
                "Managed identity as the app's federated credential",
            ),
        };
        Names { label, flag, menu }
    }

    /// The name `config list` and `config show` print, and profiles.json holds.
    pub fn label(self) -> &'static str {
        self.names().label
    }

    /// `authMethod` as written in profiles.json (or `--auth-method`),
    /// case-insensitively, with `-`/`_` ignored (`workload-identity`), and the
    /// older synonyms `Certificate`/`ClientSecret`.
    pub fn parse(text: &str) -> Option<AuthMethod> {
        let fold =
            |t: &str| t.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect::<String>().to_ascii_lowercase();
        let folded = fold(text);
        if folded == "clientsecret" {
            return Some(AuthMethod::Secret);
        }
        AuthMethod::ALL.into_iter().find(|m| fold(m.label()) == folded)
    }

    /// The `--auth-method` values, for messages.
    pub fn flags() -> String {
        let names: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.names().flag).collect();
        names.join(", ")
    }

    /// Needs no stored certificate or secret.
    pub fn is_secretless(self) -> bool {
        !matches!(self, AuthMethod::Certificate | AuthMethod::Secret)
    }

    /// Uses a managed identity endpoint of the host (directly, or for a federated assertion).
    pub fn uses_managed_identity(self) -> bool {
        matches!(self, AuthMethod::ManagedIdentity | AuthMethod::ManagedIdentityFederation)
    }
}

impl Profile {
    /// `useCertificate` wins; `authMethod` is its synonym; otherwise a profile
    /// with a certificate path or thumbprint uses it.
    pub fn auth_method(&self) -> AuthMethod {
        if let Some(use_cert) = self.use_certificate {
            return if use_cert { AuthMethod::Certificate } else { AuthMethod::Secret };
        }
        match self.auth_method.as_deref().and_then(AuthMethod::parse) {
            Some(m) => m,
            None if self.certificate_path.is_some() || self.certificate_thumbprint.is_some() => AuthMethod::Certificate,
            None => AuthMethod::Secret,
        }
    }

    /// Sets the method in the field the profile already uses: `useCertificate`
    /// for the seed's two methods unless the profile writes `authMethod`; the
    /// others are only expressible as `authMethod`.
    pub fn set_auth_method(&mut self, m: AuthMethod) {
        let seed_method = !m.is_secretless();
        if seed_method && !(self.auth_method.is_some() && self.use_certificate.is_none()) {
            self.use_certificate = Some(m == AuthMethod::Certificate);
            self.auth_method = None;
        } else {
            self.use_certificate = None;
            self.auth_method = Some(m.label().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_parses_from_its_label_and_flag() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.label()), Some(m));
            assert_eq!(AuthMethod::parse(m.names().flag), Some(m));
            assert_eq!(AuthMethod::parse(&m.label().to_ascii_uppercase()), Some(m));
        }
        assert_eq!(AuthMethod::parse("ClientSecret"), Some(AuthMethod::Secret));
        assert_eq!(AuthMethod::parse("Certificate"), Some(AuthMethod::Certificate));
        assert_eq!(AuthMethod::parse("kerberos"), None);
    }
}
