//! Access tokens made by hand, as an attacker (or a buggy client) would:
//! signed with any key and algorithm, with any claims.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// `claims` signed with HS256 and `key`.
pub fn signed(key: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

/// The minimal complete claims for `sub`, valid for `seconds` from now.
pub fn claims(sub: &str, seconds: i64) -> Value {
    let iat = now();
    json!({ "sub": sub, "iat": iat, "exp": iat + seconds })
}

/// `claims` with `alg: none` and no signature.
pub fn unsigned(claims: &Value) -> String {
    use base64::Engine;
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.",
        encode(&json!({ "alg": "none", "typ": "JWT" })),
        encode(claims)
    )
}
