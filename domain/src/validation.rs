use std::fmt;

/// Which rule a value broke; the message names the limit so a client can fix
/// its input without reading the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Length in Unicode scalar values outside `min..=max`.
    Length { min: usize, max: usize },
    /// Only `White_Space` characters.
    Blank,
    /// Holds U+0000, which PostgreSQL cannot store in text.
    Nul,
    /// A user id with a character outside `[A-Za-z0-9_.-]`.
    IdCharset,
    /// An e-mail address that is not valid by the WHATWG HTML rule.
    Email,
    /// An integer outside `min..=max`.
    Range { min: i64, max: i64 },
    /// Not 1 to `max` visible ASCII characters (`!` to `~`).
    VisibleAscii { max: usize },
}

/// A field broke a rule of the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ValidationError {
    field: &'static str,
    rule: Rule,
}

impl ValidationError {
    pub fn new(field: &'static str, rule: Rule) -> Self {
        Self { field, rule }
    }

    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// The same error, reported under another field name (for example
    /// `new_password` for a rule that `Password` checks).
    #[must_use]
    pub fn for_field(self, field: &'static str) -> Self {
        Self { field, ..self }
    }

    fn message(&self) -> String {
        let field = self.field;
        match &self.rule {
            Rule::Length { min, max } => format!("{field} must be {min} to {max} characters"),
            Rule::Blank => format!("{field} must not be blank"),
            Rule::Nul => format!("{field} must not contain NUL characters"),
            Rule::IdCharset => {
                format!("{field} may only contain ASCII letters, digits, '_', '-' and '.'")
            }
            Rule::Email => {
                format!("{field} must be a valid e-mail address of at most 254 characters")
            }
            Rule::Range { min, max } => format!("{field} must be an integer from {min} to {max}"),
            Rule::VisibleAscii { max } => {
                format!("{field} must be 1 to {max} visible ASCII characters")
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", ValidationError::new("value", self.clone()))
    }
}
