//! Password hashes in Werkzeug's format, so that hashes move freely between
//! minifb and a Python service sharing the same `users` table:
//! `pbkdf2:sha256:<iterations>$<salt>$<64 lowercase hex digits>`, where the
//! salt is used as its UTF-8 bytes and the digest is PBKDF2-HMAC-SHA256 with
//! a 32-byte output. Other methods (Werkzeug's default `scrypt:`) never verify.

use std::fmt;

use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::user::Password;

/// Salt length of new hashes, in characters of `[A-Za-z0-9]`.
pub const SALT_LEN: usize = 16;
const DIGEST_LEN: usize = 32;
const METHOD_PREFIX: &str = "pbkdf2:sha256:";

/// A stored PBKDF2-HMAC-SHA256 hash in Werkzeug's format.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    iterations: u32,
    salt: String,
    digest: [u8; DIGEST_LEN],
}

impl PasswordHash {
    /// Reads a stored hash. `None` for any other method, a missing or zero
    /// iteration count, or a digest that is not 64 hex digits.
    pub fn parse(encoded: &str) -> Option<Self> {
        let rest = encoded.strip_prefix(METHOD_PREFIX)?;
        let (iterations, rest) = rest.split_once('$')?;
        let (salt, hex_digest) = rest.split_once('$')?;
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let iterations: u32 = iterations.parse().ok().filter(|n| *n > 0)?;
        let mut digest = [0u8; DIGEST_LEN];
        hex::decode_to_slice(hex_digest, &mut digest).ok()?;
        Some(Self {
            iterations,
            salt: salt.to_owned(),
            digest,
        })
    }

    /// A hash that no password derives (its digest is all zeros) and that
    /// costs `iterations` rounds to check, like a real one: what is checked
    /// when there is no real hash, so that timing tells nothing.
    pub fn unmatchable(iterations: u32) -> Self {
        Self {
            iterations: iterations.max(1),
            salt: "0".repeat(SALT_LEN),
            digest: [0; DIGEST_LEN],
        }
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Whether `password` produces this hash; the digests are compared in
    /// constant time. Costs `iterations` rounds whatever the answer.
    pub fn verify(&self, password: &str) -> bool {
        let computed = derive(password.as_bytes(), self.salt.as_bytes(), self.iterations);
        computed.ct_eq(&self.digest).into()
    }

    /// The stored form, `pbkdf2:sha256:N$salt$hex`.
    pub fn encode(&self) -> String {
        format!(
            "{METHOD_PREFIX}{}${}${}",
            self.iterations,
            self.salt,
            hex::encode(self.digest)
        )
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash(pbkdf2:sha256:{}$..)", self.iterations)
    }
}

/// Hashes a password with the given salt (the caller draws 16 characters of
/// `[A-Za-z0-9]`) and iteration count.
pub fn hash_password(password: &Password, salt: &str, iterations: u32) -> PasswordHash {
    PasswordHash {
        iterations,
        salt: salt.to_owned(),
        digest: derive(password.expose().as_bytes(), salt.as_bytes(), iterations),
    }
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> [u8; DIGEST_LEN] {
    let mut out = [0u8; DIGEST_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Werkzeug 3.1.8:
    /// `generate_password_hash(password, method="pbkdf2:sha256:N")`.
    const WERKZEUG_VECTORS: &[(&str, &str)] = &[
        (
            "correct horse battery",
            "pbkdf2:sha256:600000$xglvZaKQPAFMjJ4N$c1e127713a5717c51234da5d16308f94319083461401894e72503c785096a6fe",
        ),
        (
            "비밀번호는열글자이상",
            "pbkdf2:sha256:50000$MQCSpWnGJx54OlTd$0e87d8ce544fd8942c16edd4179c109e0b3030ad29bcc19c3be926e7b99e258c",
        ),
        (
            "another password",
            "pbkdf2:sha256:1000000$iOamgQv8BuZWaOvk$586c95218369fadb864dacf529a416ece99e1dc9eb70e5b97896b2babeda1108",
        ),
        (
            "short iter pw",
            "pbkdf2:sha256:1$WgUqNT3E7AMmHzxY$9f15e39b932af5d4ed1671c443d0b53b33bc622bf9c469f5b49458650b7231ab",
        ),
    ];

    #[test]
    fn werkzeug_hashes_verify_here() {
        for (password, encoded) in WERKZEUG_VECTORS {
            let hash = PasswordHash::parse(encoded).expect("werkzeug hash parses");
            assert!(hash.verify(password), "{encoded}");
            assert!(!hash.verify(&format!("{password}x")), "{encoded}");
            assert_eq!(&hash.encode(), encoded);
        }
    }

    /// This exact string was checked with Werkzeug 3.1.8:
    /// `check_password_hash(HASH, "correct horse battery")` printed `True`
    /// (and `False` for `"correct horse batterY"`), so hashes made here
    /// verify in Werkzeug.
    #[test]
    fn hashes_made_here_are_what_werkzeug_accepts() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hash_password(&password, "AbCdEfGh12345678", 600_000);
        assert_eq!(
            hash.encode(),
            "pbkdf2:sha256:600000$AbCdEfGh12345678$24c6342accc9d80a3cd45833ed37d804db8fa7e23a93caa9c558fbb1d7c05c45"
        );
        assert!(hash.verify("correct horse battery"));
    }

    #[test]
    fn other_methods_and_malformed_hashes_never_verify() {
        let rejected = [
            "scrypt:32768:8:1$mQntYllcITB6XFvQ$c51daafb7178cf7d6c55b1242dcdc6171fffde7266c7ca04e4391e8b08022de8eabb2148d85dab6cca645b92a2fa30667dc01b006667b30f4979945980a70324",
            "pbkdf2:sha512:600000$xglvZaKQPAFMjJ4N$c1e127713a5717c51234da5d16308f94319083461401894e72503c785096a6fe",
            "pbkdf2:sha256:0$xglvZaKQPAFMjJ4N$c1e127713a5717c51234da5d16308f94319083461401894e72503c785096a6fe",
            "pbkdf2:sha256:$xglvZaKQPAFMjJ4N$c1e127713a5717c51234da5d16308f94319083461401894e72503c785096a6fe",
            "pbkdf2:sha256:600000$xglvZaKQPAFMjJ4N$c1e1",
            "pbkdf2:sha256:+600000$xglvZaKQPAFMjJ4N$c1e127713a5717c51234da5d16308f94319083461401894e72503c785096a6fe",
            "",
        ];
        for encoded in rejected {
            assert!(PasswordHash::parse(encoded).is_none(), "{encoded}");
        }
    }
}
