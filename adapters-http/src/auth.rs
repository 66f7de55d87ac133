//! Access tokens (HS256 JWTs) and the extractors that require them.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use minifb_application::ports::{AccessToken, AccessTokenIssuer};
use minifb_domain::UserId;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;

/// Clock skew tolerated when checking `exp` and `iat`.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// Optional: `sub`, `iat` and `exp` make a complete token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

/// Signs and checks access tokens with one HS256 key.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        // Only HS256 verifies: `alg: none` and every other algorithm fail.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// The user a valid token was issued to. A `sub` that breaks the id
    /// rule names nobody: the token is invalid.
    pub fn verify(&self, token: &str) -> Option<UserId> {
        self.verify_until(token).map(|(user, _)| user)
    }

    /// [`Self::verify`], and when the token expires (its `exp`, seconds
    /// since the epoch).
    pub fn verify_until(&self, token: &str) -> Option<(UserId, i64)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        // A token issued in the future (beyond the leeway) is forged.
        let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(i64::MAX);
        if data.claims.iat > Utc::now().timestamp() + leeway {
            return None;
        }
        let exp = data.claims.exp;
        UserId::parse(data.claims.sub).ok().map(|user| (user, exp))
    }
}

impl AccessTokenIssuer for JwtKeys {
    fn issue(&self, user_id: &UserId) -> anyhow::Result<AccessToken> {
        let iat = Utc::now().timestamp();
        let ttl = i64::try_from(self.ttl.as_secs())?;
        let claims = Claims {
            sub: user_id.to_string(),
            iat,
            exp: iat + ttl,
            jti: Some(uuid::Uuid::new_v4().simple().to_string()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(AccessToken {
            token,
            expires_in_seconds: ttl,
        })
    }
}

/// The bearer token of the request: `Ok(None)` when there is no
/// `Authorization: Bearer` header at all.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header.to_str().map_err(|_| ApiError::invalid_token())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Ok(None),
    }
}

/// A request made with a valid access token; its `sub` is the user id.
#[derive(Debug, Clone)]
pub struct AuthUser(pub UserId);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?.ok_or_else(ApiError::missing_token)?;
        state
            .jwt
            .verify(token)
            .map(AuthUser)
            .ok_or_else(ApiError::invalid_token)
    }
}

/// Routes where a token is optional: none is fine, a bad one is not.
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<UserId>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(&parts.headers)? {
            None => Ok(Self(None)),
            Some(token) => state
                .jwt
                .verify(token)
                .map(|id| Self(Some(id)))
                .ok_or_else(ApiError::invalid_token),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&[7u8; 32], Duration::from_secs(900))
    }

    fn user(id: &str) -> UserId {
        UserId::parse(id).unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_their_subject() {
        let keys = keys();
        let token = keys.issue(&user("Alice")).unwrap();
        assert_eq!(token.expires_in_seconds, 900);
        let subject = keys.verify(&token.token).unwrap();
        assert_eq!(subject.as_ref(), "Alice", "shown as chosen");
    }

    #[test]
    fn tokens_signed_with_another_key_or_none_fail() {
        let other = JwtKeys::new(&[8u8; 32], Duration::from_secs(900));
        let forged = other.issue(&user("alice")).unwrap().token;
        assert_eq!(keys().verify(&forged), None);

        // {"alg":"none"} . {"sub":"alice","iat":1,"exp":9999999999} . (no signature)
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImlhdCI6MSwiZXhwIjo5OTk5OTk5OTk5fQ.";
        assert_eq!(keys().verify(unsigned), None);
        assert_eq!(keys().verify("not-a-jwt"), None);
    }

    #[test]
    fn expired_tokens_fail_past_the_leeway() {
        let keys = keys();
        let now = Utc::now().timestamp();
        let sign = |sub: &str, iat: i64, exp: i64| {
            let claims = Claims {
                sub: sub.into(),
                iat,
                exp,
                jti: None,
            };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap()
        };
        assert_eq!(keys.verify(&sign("alice", now - 1000, now - 60)), None);
        assert_eq!(
            keys.verify(&sign("alice", now - 1000, now - 10)),
            Some(user("alice")),
            "within the leeway, and complete without jti"
        );
        assert_eq!(keys.verify(&sign("alice", now + 3600, now + 7200)), None);
        assert_eq!(
            keys.verify(&sign("no such id!", now, now + 60)),
            None,
            "a subject that breaks the id rule names nobody"
        );
    }
}
