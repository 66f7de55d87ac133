//! Password hashes in Werkzeug's format, so that hashes move freely between
//! minifb and a Python service sharing the same `users` table:
//! `pbkdf2:sha256:<iterations>$<salt>$<64 lowercase hex digits>`, where the
//! salt is used as its UTF-8 bytes and the digest is PBKDF2-HMAC-SHA256 with
//! a 32-byte output. Other methods (Werkzeug's default `scrypt:`) never verify.
//!
//! Only the format lives here; deriving and checking digests is the hashing
//! adapter's work (`minifb-adapters-crypto`).

use std::fmt;

/// Salt length of new hashes, in characters of `[A-Za-z0-9]`.
pub const SALT_LEN: usize = 16;
/// Length of the PBKDF2 output, in bytes.
pub const DIGEST_LEN: usize = 32;
const METHOD_PREFIX: &str = "pbkdf2:sha256:";

/// A stored PBKDF2-HMAC-SHA256 hash in Werkzeug's format.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    iterations: u32,
    salt: String,
    digest: [u8; DIGEST_LEN],
}

impl PasswordHash {
    /// A hash from its parts, as the hashing adapter derived them.
    pub fn new(iterations: u32, salt: impl Into<String>, digest: [u8; DIGEST_LEN]) -> Self {
        Self {
            iterations,
            salt: salt.into(),
            digest,
        }
    }

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

    /// The salt, used as its UTF-8 bytes.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The derived key the password must reproduce.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Werkzeug 3.1.8 (`generate_password_hash(password,
    /// method="pbkdf2:sha256:50000")`); that it verifies is the crypto
    /// adapter's test.
    const WERKZEUG_HASH: &str = "pbkdf2:sha256:50000$MQCSpWnGJx54OlTd$0e87d8ce544fd8942c16edd4179c109e0b3030ad29bcc19c3be926e7b99e258c";

    #[test]
    fn werkzeug_hashes_read_and_write_back_unchanged() {
        let hash = PasswordHash::parse(WERKZEUG_HASH).expect("werkzeug hash parses");
        assert_eq!(hash.iterations(), 50_000);
        assert_eq!(hash.salt(), "MQCSpWnGJx54OlTd");
        assert_eq!(hash.digest()[..2], [0x0e, 0x87]);
        assert_eq!(hash.encode(), WERKZEUG_HASH);
        assert_eq!(
            PasswordHash::new(hash.iterations(), hash.salt(), *hash.digest()),
            hash
        );
    }

    #[test]
    fn the_unmatchable_hash_has_the_asked_cost_and_a_zero_digest() {
        let hash = PasswordHash::unmatchable(600_000);
        assert_eq!(hash.iterations(), 600_000);
        assert_eq!(hash.digest(), &[0; DIGEST_LEN]);
        assert_eq!(PasswordHash::unmatchable(0).iterations(), 1);
    }

    #[test]
    fn debug_output_hides_salt_and_digest() {
        let hash = PasswordHash::parse(WERKZEUG_HASH).expect("parses");
        assert_eq!(format!("{hash:?}"), "PasswordHash(pbkdf2:sha256:50000$..)");
    }

    #[test]
    fn other_methods_and_malformed_hashes_are_not_read() {
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
