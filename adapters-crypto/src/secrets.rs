//! Opaque secrets handed to clients: refresh tokens and temporary passwords.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use minifb_application::ports::SecretGenerator;
use minifb_domain::Password;
use rand::Rng;
use rand::distr::Alphanumeric;

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
        Password::parse(password)
            .unwrap_or_else(|_| unreachable!("16 alphanumerics satisfy the password rule"))
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
