use crate::validation::{Rule, ValidationError};

/// A reaction `type`: an integer from 1 to 5. What each number means is the
/// client's business; the server only counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReactionKind(u8);

impl ReactionKind {
    pub const MIN: i64 = 1;
    pub const MAX: i64 = 5;

    pub fn parse(value: i64) -> Result<Self, ValidationError> {
        match u8::try_from(value) {
            Ok(kind) if (Self::MIN..=Self::MAX).contains(&value) => Ok(Self(kind)),
            _ => Err(ValidationError::new(
                "type",
                Rule::Range {
                    min: Self::MIN,
                    max: Self::MAX,
                },
            )),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaction_kind_boundaries() {
        for (input, ok) in [
            (0, false),
            (1, true),
            (3, true),
            (5, true),
            (6, false),
            (-1, false),
            (256 + 1, false),
        ] {
            assert_eq!(ReactionKind::parse(input).is_ok(), ok, "{input}");
        }
        assert_eq!(
            ReactionKind::parse(9).unwrap_err().to_string(),
            "type must be an integer from 1 to 5"
        );
        assert_eq!(ReactionKind::parse(5).unwrap().get(), 5);
    }
}
