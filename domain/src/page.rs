use crate::validation::{Rule, ValidationError};

/// How many items a page of a list holds: 1 to [`PageLimit::MAX`], and
/// [`PageLimit::DEFAULT`] when the client names no `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 100;
    pub const DEFAULT: Self = Self(20);

    pub fn new(limit: u32) -> Result<Self, ValidationError> {
        if (Self::MIN..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(Self::refused())
        }
    }

    /// A `limit` as a query string sends it: ASCII digits only (no sign,
    /// no spaces, no other digits).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Self::refused());
        }
        raw.parse::<u32>()
            .map_err(|_| Self::refused())
            .and_then(Self::new)
    }

    pub const fn get(self) -> u32 {
        self.0
    }

    fn refused() -> ValidationError {
        ValidationError::new(
            "limit",
            Rule::Range {
                min: i64::from(Self::MIN),
                max: i64::from(Self::MAX),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limit_boundaries() {
        for (input, limit) in [
            ("0", None),
            ("1", Some(1)),
            ("20", Some(20)),
            ("100", Some(100)),
            ("0100", Some(100)),
            ("101", None),
            ("4294967296", None),
            ("", None),
            ("-1", None),
            ("+5", None),
            (" 5", None),
            ("1.0", None),
            ("abc", None),
            ("٣", None),
        ] {
            assert_eq!(
                PageLimit::parse(input).ok().map(PageLimit::get),
                limit,
                "{input:?}"
            );
        }
        assert_eq!(PageLimit::new(0), PageLimit::parse("0"));
        assert_eq!(PageLimit::new(101), PageLimit::parse("101"));
        assert_eq!(PageLimit::DEFAULT.get(), 20);
    }

    #[test]
    fn a_refused_limit_says_the_range() {
        let error = PageLimit::parse("101").unwrap_err();
        assert_eq!(error.to_string(), "limit must be an integer from 1 to 100");
    }
}
