//! What is stored of the secrets handed to clients.

use sha2::{Digest, Sha256};

/// What is stored of a refresh token: its SHA-256 digest. A fast hash is
/// enough because refresh tokens carry 256 random bits; the token itself is
/// never stored, so a copy of the database logs nobody in.
pub fn refresh_token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_of_the_token() {
        assert_eq!(
            hex::encode(refresh_token_digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(refresh_token_digest("abc"), refresh_token_digest("abd"));
    }
}
