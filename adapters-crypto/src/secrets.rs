//! Opaque secrets handed to clients: refresh tokens and temporary passwords.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use minifb_application::ports::SecretGenerator;
use minifb_domain::Password;
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Secrets drawn from the operating system's CSPRNG (through `rand`'s
/// thread-local generator, reseeded from it).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomSecrets;

/// Characters of a temporary password: 16 of `[A-Za-z0-9]` is about 95
/// bits, long enough for the password rule and easy to type.
const TEMPORARY_PASSWORD_CHARS: usize = 16;

impl SecretGenerator for RandomSecrets {
    /// 256 random bits, base64url without padding (43 characters).
    fn refresh_token(&self) -> String {
        let bytes: [u8; 32] = rand::rng().random();
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn temporary_password(&self) -> Password {
        let password: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(TEMPORARY_PASSWORD_CHARS)
            .map(char::from)
            .collect();
        let Ok(password) = Password::parse(password) else {
            unreachable!("16 alphanumerics satisfy the password rule")
        };
        password
    }

    /// SHA-256: refresh tokens carry 256 random bits and temporary
    /// passwords about 95, far beyond guessing, so a slow hash would add
    /// cost and nothing else.
    fn digest(&self, secret: &str) -> Vec<u8> {
        Sha256::digest(secret.as_bytes()).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_long_random_and_url_safe() {
        let (a, b) = (RandomSecrets.refresh_token(), RandomSecrets.refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn digests_are_sha256_of_the_secret() {
        assert_eq!(
            RandomSecrets.digest("abc"),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
                0xf2, 0x00, 0x15, 0xad
            ]
        );
        assert_ne!(RandomSecrets.digest("abc"), RandomSecrets.digest("abd"));
    }

    #[test]
    fn temporary_passwords_are_sixteen_alphanumerics() {
        let (a, b) = (
            RandomSecrets.temporary_password(),
            RandomSecrets.temporary_password(),
        );
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 16);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
