//! Safe retries: the key a client names one create by.

use crate::text::shows_its_text;
use crate::validation::{Rule, ValidationError};

/// An `Idempotency-Key`: 1 to [`IdempotencyKey::MAX_LEN`] visible ASCII
/// characters (`!` to `~`; no space, no control character), compared
/// exactly (letter case counts). Keys belong to the user who sent them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const FIELD: &'static str = "Idempotency-Key";
    pub const MAX_LEN: usize = 255;

    /// Reads a key from the raw bytes of its header.
    pub fn parse(raw: &[u8]) -> Result<Self, ValidationError> {
        let visible = |byte: &u8| (b'!'..=b'~').contains(byte);
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.iter().all(visible) {
            return Err(ValidationError::new(
                Self::FIELD,
                Rule::VisibleAscii { max: Self::MAX_LEN },
            ));
        }
        // Visible ASCII is UTF-8.
        Ok(Self(raw.iter().map(|&byte| char::from(byte)).collect()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

shows_its_text!(IdempotencyKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        let longest = "k".repeat(255);
        let too_long = "k".repeat(256);
        let cases: [(&[u8], bool); 12] = [
            (b"", false),
            (b"a", true),
            (longest.as_bytes(), true),
            (too_long.as_bytes(), false),
            (b"!~", true),
            (b"9f1c2e4a-8b7d-4c1e-a3f2-0d9e8c7b6a5f", true),
            (b"with space", false),
            (b"tab\there", false),
            (b"del\x7f", false),
            (b"nul\0", false),
            ("caf\u{e9}".as_bytes(), false),
            (b"\xff", false),
        ];
        for (raw, valid) in cases {
            assert_eq!(
                IdempotencyKey::parse(raw).is_ok(),
                valid,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn a_key_is_kept_exactly_and_its_error_names_the_header() {
        assert_eq!(IdempotencyKey::parse(b"Key-1").unwrap().as_ref(), "Key-1");
        assert_eq!(
            IdempotencyKey::parse(b"").unwrap_err().to_string(),
            "Idempotency-Key must be 1 to 255 visible ASCII characters"
        );
    }
}
