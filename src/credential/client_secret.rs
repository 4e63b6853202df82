//! A client secret: from `$ENTRATOOL_CLIENT_SECRET`, the keyring, or (plain
//! CLI on a terminal) a prompt, stored once Entra ID has accepted it.

use super::secrets::{self, SecretKind};
use super::{AuthContext, Credential, Grant, prompt_hidden};
use crate::codec::hex;
use crate::error::{Error, Result};
use crate::token::entra::{ClientApp, HintFacts};
use sha2::{Digest, Sha256};

pub struct SecretCredential {
    pub profile: String,
    pub app: ClientApp,
}

impl Credential for SecretCredential {
    fn identity(&self) -> Result<String> {
        // A secret from the environment is part of the key (hashed, never
        // stored); a stored one is identified by the profile, whose cache is
        // cleared whenever its secret changes.
        let which = match secrets::from_env(SecretKind::ClientSecret) {
            Some(s) => format!("secret-env:{}", hex(&Sha256::digest(s.as_bytes()))),
            None => "secret:keyring".to_string(),
        };
        Ok(format!("{}|{which}", self.app.identity()))
    }

    fn get_token(&self, scope: &str, ctx: &mut AuthContext) -> Result<Grant> {
        let mut typed = false;
        let secret = match secrets::from_env(SecretKind::ClientSecret) {
            Some(s) => s,
            None => match secrets::load(&self.profile, SecretKind::ClientSecret)? {
                Some(s) => s,
                None if ctx.allow_prompt => {
                    typed = true;
                    prompt_hidden("Client secret: ")?
                }
                None => {
                    return Err(Error::credential(format!("no client secret for profile '{}'", self.profile))
                        .with_remedy(format!(
                            "set ENTRATOOL_CLIENT_SECRET for this run, or store it with `entratool config edit -p {} \
                             --secret-stdin`",
                            self.profile
                        )));
                }
            },
        };
        let fields = [("client_secret", secret)];
        let granted = self.app.request_token(scope, &fields, &HintFacts::default())?;
        // Only Entra ID can check a typed secret: it is stored once accepted.
        if typed && let Err(e) = secrets::save(&self.profile, SecretKind::ClientSecret, &fields[0].1) {
            ctx.warnings.push(format!("the client secret was not stored: {e}"));
        }
        Ok(granted.labelled("secret".to_string()))
    }
}
