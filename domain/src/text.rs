//! Rules shared by every free-text field.

use crate::validation::{Rule, ValidationError};

/// Checks a text field: no NUL, `min..=max` Unicode scalar values, and, when
/// `must_not_be_blank`, at least one character without the `White_Space`
/// property (which is what `char::is_whitespace` tests).
pub(crate) fn check_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    must_not_be_blank: bool,
) -> Result<(), ValidationError> {
    if value.contains('\0') {
        return Err(ValidationError::new(field, Rule::Nul));
    }
    let length = value.chars().count();
    if length < min || length > max {
        return Err(ValidationError::new(field, Rule::Length { min, max }));
    }
    if must_not_be_blank && value.chars().all(char::is_whitespace) {
        return Err(ValidationError::new(field, Rule::Blank));
    }
    Ok(())
}

/// Declares a validated text newtype: private field, `parse`, `AsRef<str>`,
/// `Display`.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, min = $min:literal, max = $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MIN_CHARS: usize = $min;
            pub const MAX_CHARS: usize = $max;

            /// Accepts the value if it holds the rule, stored exactly as sent.
            pub fn parse(value: impl Into<String>) -> Result<Self, $crate::ValidationError> {
                let value = value.into();
                $crate::text::check_text($field, &value, $min, $max, true)?;
                Ok(Self(value))
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        $crate::text::shows_its_text!($name);
    };
}

pub(crate) use text_type;

/// `AsRef<str>` and `Display` for a newtype of one `String`: both give the
/// text as it is.
macro_rules! shows_its_text {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use shows_its_text;

/// Checks a text type at its four length boundaries, counted in `letter`s
/// (a multi-byte letter shows that characters are counted, not bytes), and
/// that white space alone of a valid length is blank.
#[cfg(test)]
pub(crate) fn assert_text_rules<T: std::fmt::Debug>(
    parse: impl Fn(String) -> Result<T, ValidationError>,
    (min, max): (usize, usize),
    letter: &str,
) {
    assert_length_boundaries(&parse, (min, max), letter);
    let blank: String = " \n\t".chars().cycle().take(min.max(2)).collect();
    let rule = parse(blank).err().map(|error| error.rule().clone());
    assert_eq!(rule, Some(Rule::Blank), "white space");
}

/// Checks that `min` and `max` `letter`s are accepted and that one fewer or
/// one more breaks the length rule.
#[cfg(test)]
pub(crate) fn assert_length_boundaries<T: std::fmt::Debug>(
    parse: impl Fn(String) -> Result<T, ValidationError>,
    (min, max): (usize, usize),
    letter: &str,
) {
    let rule_of = |value: String| parse(value).err().map(|error| error.rule().clone());
    let length = Some(Rule::Length { min, max });
    assert_eq!(
        rule_of(letter.repeat(min - 1)),
        length,
        "{min} - 1 {letter}"
    );
    assert_eq!(rule_of(letter.repeat(min)), None, "{min} {letter}");
    assert_eq!(rule_of(letter.repeat(max)), None, "{max} {letter}");
    assert_eq!(
        rule_of(letter.repeat(max + 1)),
        length,
        "{max} + 1 {letter}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(check_text("f", "홍길동", 3, 3, true).is_ok());
        assert_eq!(
            check_text("f", "홍길동", 4, 9, true),
            Err(ValidationError::new("f", Rule::Length { min: 4, max: 9 }))
        );
    }

    #[test]
    fn unicode_white_space_is_blank() {
        // U+3000 IDEOGRAPHIC SPACE and U+00A0 NO-BREAK SPACE have White_Space.
        assert_eq!(
            check_text("f", "\u{3000}\u{a0}\t", 1, 9, true),
            Err(ValidationError::new("f", Rule::Blank))
        );
        // U+200B ZERO WIDTH SPACE does not, so it is content.
        assert!(check_text("f", "\u{200b}", 1, 9, true).is_ok());
    }

    #[test]
    fn nul_is_refused_before_length() {
        assert_eq!(
            check_text("f", "a\0b", 1, 9, true),
            Err(ValidationError::new("f", Rule::Nul))
        );
    }
}
