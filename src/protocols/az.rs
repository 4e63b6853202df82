//! The `az account get-access-token -o json` shape, for the Azure SDKs'
//! AzureCliCredential.

use serde_json::{Map, Value};

use crate::token::Token;

/// `expiresOn` is local time `%Y-%m-%d %H:%M:%S.%f`, as the Azure CLI prints it.
pub fn access_token_json(t: &Token, tenant: &str, subscription: Option<&str>) -> String {
    let local = super::utc(t.expires_on).with_timezone(&chrono::Local);
    let mut m = Map::new();
    m.insert("accessToken".into(), t.access_token.clone().into());
    m.insert(
        "expiresOn".into(),
        local.format("%Y-%m-%d %H:%M:%S%.6f").to_string().into(),
    );
    m.insert("expires_on".into(), t.expires_on.into());
    if let Some(s) = subscription {
        m.insert("subscription".into(), s.into());
    }
    m.insert("tenant".into(), tenant.into());
    m.insert("tokenType".into(), "Bearer".into());
    super::plain::pretty(&Value::Object(m))
}
