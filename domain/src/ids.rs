use std::fmt;
use std::str::FromStr;

/// Why a path segment is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be ASCII digits of a 64-bit integer")]
pub struct InvalidId;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(value: i64) -> Self {
                Self(value)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        /// Only ASCII digits of a non-negative 64-bit integer: no sign, no
        /// spaces, no other digits (`"+5"`, `"-1"` and `"٣"` are refused).
        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, InvalidId> {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InvalidId);
                }
                value.parse::<i64>().map(Self).map_err(|_| InvalidId)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// A post's id; grows with creation order.
    PostId
);
numeric_id!(
    /// A comment's id; grows with creation order.
    CommentId
);
numeric_id!(
    /// A notification's id; grows with creation order.
    NotificationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_are_ascii_digits_of_an_i64() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("14", Some(14)),
            ("007", Some(7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("", None),
            ("abc", None),
            ("+5", None),
            ("-1", None),
            (" 5", None),
            ("1e3", None),
            ("٣", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                input.parse::<PostId>().ok().map(PostId::get),
                *expected,
                "{input:?}"
            );
        }
    }
}
