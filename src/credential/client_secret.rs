//! A client secret: from `$ENTRATOOL_CLIENT_SECRET`, the keyring, or (plain
//! CLI on a terminal) a prompt, stored once Entra ID has accepted it.

use zeroize::Zeroizing;

use super::secrets::{self, SecretKind};
use super::{AuthContext, Credential, Grant};
use crate::codec::hex;
use crate::entra::{ClientApp, HintFacts};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};

pub struct SecretCredential {
    pub profile: String,
    pub app: ClientApp,
    /// The environment profile: the secret is `$AZURE_CLIENT_SECRET`, nothing else.
    pub from_environment: bool,
    /// Where the secret is when no store holds it (the profile's `secretIn`).
    pub secret_in: Option<String>,
}

/// The environment profile's secret, as the Azure SDKs name it.
const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";

impl SecretCredential {
    /// A secret given for this run: `$AZURE_CLIENT_SECRET` for the environment
    /// profile, else `$ENTRATOOL_CLIENT_SECRET`.
    fn given_for_this_run(&self) -> Option<Zeroizing<String>> {
        if self.from_environment {
            return std::env::var(AZURE_CLIENT_SECRET).ok().filter(|s| !s.is_empty()).map(Zeroizing::new);
        }
        secrets::from_env(SecretKind::ClientSecret)
    }
}

impl SecretCredential {
    /// No secret where this run looked: where it was looked for, and where it is when a kubeconfig keeps it.
    fn missing(&self) -> Error {
        let looked = format!("looked in ENTRATOOL_CLIENT_SECRET and the {}", secrets::store_name());
        let store = format!("`entratool config edit -p {} --secret-stdin`", self.profile);
        match &self.secret_in {
            Some(place) => Error::credential(format!(
                "no client secret for profile '{}' in this run ({looked}): it is kept in {place}, which only \
                 kubectl passes",
                self.profile
            ))
            .with_remedy(format!(
                "run it through kubectl, set ENTRATOOL_CLIENT_SECRET for this run, or store it in a durable store \
                 with {store}"
            )),
            None => Error::credential(format!("no client secret for profile '{}' ({looked})", self.profile))
                .with_remedy(format!("set ENTRATOOL_CLIENT_SECRET for this run, or store it with {store}")),
        }
    }
}

impl Credential for SecretCredential {
    fn identity(&self) -> Result<String> {
        // A secret from the environment is part of the key (hashed, never
        // stored); a stored one is identified by the profile, whose cache is
        // cleared whenever its secret changes.
        let which = match self.given_for_this_run() {
            Some(s) => format!("secret-env:{}", hex(&Sha256::digest(s.as_bytes()))),
            None => "secret:keyring".to_string(),
        };
        Ok(format!("{}|{which}", self.app.identity()))
    }

    fn get_token(&self, scope: &str, ctx: &mut AuthContext) -> Result<Grant> {
        let mut typed = false;
        let secret = match self.given_for_this_run() {
            Some(s) => s,
            None if self.from_environment => {
                return Err(Error::credential(format!("{AZURE_CLIENT_SECRET} is empty"))
                    .with_remedy("set AZURE_CLIENT_SECRET, or unset it to use a certificate or a token file"));
            }
            None => match secrets::load(&self.profile, SecretKind::ClientSecret, &mut ctx.warnings)? {
                Some(s) => s,
                None if let Some(prompt) = ctx.prompt => {
                    typed = true;
                    prompt.ask("Client secret: ")?
                }
                None => return Err(self.missing()),
            },
        };
        let fields = [("client_secret", secret)];
        let granted = self.app.request_token(scope, &fields, &HintFacts::default(), ctx.pop.as_deref())?;
        // Only Entra ID can check a typed secret: it is stored once accepted.
        if typed && let Err(e) = secrets::save(&self.profile, SecretKind::ClientSecret, &fields[0].1) {
            ctx.warnings.push(format!("the client secret was not stored: {e}"));
        }
        Ok(Grant::labelled(granted, "secret".to_string()))
    }

    fn supports_pop(&self) -> bool {
        true
    }
}
