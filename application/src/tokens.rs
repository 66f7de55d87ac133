//! Opaque secrets handed to clients: refresh tokens and temporary passwords.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// A new refresh token: 256 random bits, base64url without padding.
pub fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a refresh token: its SHA-256 digest. A fast hash is
/// enough because the token carries 256 random bits.
pub fn refresh_token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new temporary password: 16 characters of `[A-Za-z0-9]` (about 95
/// bits), long enough for the password rule and easy to type.
pub fn new_temporary_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_long_random_and_url_safe() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(refresh_token_digest(&a).len(), 32);
        assert_eq!(refresh_token_digest(&a), refresh_token_digest(&a));
    }

    #[test]
    fn temporary_passwords_satisfy_the_password_rule() {
        let password = new_temporary_password();
        assert!(minifb_domain::Password::parse(password).is_ok());
    }
}
