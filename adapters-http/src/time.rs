//! Timestamps as the contract writes them: RFC 3339, UTC, milliseconds, `Z`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// `2026-11-26T09:56:15.123Z`
pub fn format(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// For `#[serde(serialize_with = "time::rfc3339")]`.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    format(at).serialize(serializer)
}

/// For optional timestamps such as `updated_at`.
pub fn rfc3339_opt<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    at.as_ref().map(format).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_fractional_digits_and_z() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T09:56:15.123456+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(&at), "2026-11-26T09:56:15.123Z");
        let whole = DateTime::parse_from_rfc3339("2026-11-26T09:56:15Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(&whole), "2026-11-26T09:56:15.000Z");
    }
}
