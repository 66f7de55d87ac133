use std::fmt;

use crate::text::{check_text, shows_its_text, text_type};
use crate::validation::{Rule, ValidationError};

/// The id a user chose at sign-up: 4 to 50 ASCII letters, digits, `_`, `-`
/// or `.`. Shown as chosen, but one user whatever the letter case: equality
/// and hashing ignore ASCII case, so `UserId` values can be compared and
/// used as map keys directly; [`UserId::key`] is the case-folded form where
/// storage needs a plain string.
#[derive(Debug, Clone)]
pub struct UserId(String);

impl UserId {
    pub const MIN_CHARS: usize = 4;
    pub const MAX_CHARS: usize = 50;

    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        check_text("id", &value, Self::MIN_CHARS, Self::MAX_CHARS, false)?;
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(ValidationError::new("id", Rule::IdCharset));
        }
        Ok(Self(value))
    }

    /// The case-insensitive identity of this id.
    pub fn key(&self) -> UserKey {
        UserKey(self.0.to_ascii_lowercase())
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl PartialEq for UserId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for UserId {}

impl std::hash::Hash for UserId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for byte in self.0.bytes() {
            state.write_u8(byte.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

shows_its_text!(UserId);

/// The case-folded (ASCII lowercase) form of an account id: what storage
/// compares and what attempt limits are counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserKey(String);

impl UserKey {
    /// Longest key kept for an id that breaks the id rule.
    pub const MAX_CLAIMED_CHARS: usize = 64;

    /// The key of whatever a client typed as an id, valid or not, so that
    /// attempts on made-up ids are limited too. Cut to
    /// [`Self::MAX_CLAIMED_CHARS`] characters: no valid id is longer, and a
    /// megabyte-long id must not make a megabyte-long key.
    pub fn claimed(typed: &str) -> Self {
        match UserId::parse(typed) {
            Ok(id) => id.key(),
            Err(_) => Self(
                typed
                    .chars()
                    .take(Self::MAX_CLAIMED_CHARS)
                    .collect::<String>()
                    .to_ascii_lowercase(),
            ),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UserKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A password as typed: 10 to 100 characters, no NUL. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 100;

    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        check_text("password", &value, Self::MIN_CHARS, Self::MAX_CHARS, false)?;
        Ok(Self(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

text_type!(
    /// A user's display `name`: 2 to 16 characters, not blank.
    DisplayName, field = "name", min = 2, max = 16
);
text_type!(
    /// A user's `nickname`: 1 to 30 characters, not blank.
    Nickname, field = "nickname", min = 1, max = 30
);
text_type!(
    /// A user's `bio`: 1 to 85 characters, not blank.
    Bio, field = "bio", min = 1, max = 85
);

/// An e-mail address valid by the WHATWG HTML rule ("valid e-mail
/// address"), at most 254 characters. Compared ignoring ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        if value.contains('\0') {
            return Err(ValidationError::new("email", Rule::Nul));
        }
        if value.len() > Self::MAX_CHARS || !is_whatwg_email(&value) {
            return Err(ValidationError::new("email", Rule::Email));
        }
        Ok(Self(value))
    }

    /// Whether both name the same mailbox, ignoring ASCII letter case.
    pub fn matches(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The WHATWG rule, written out rather than as its regular expression:
/// `local@label(.label)*`, where the local part takes ASCII letters, digits
/// and ``.!#$%&'*+/=?^_`{|}~-``, and each label is 1 to 63 letters, digits
/// or hyphens that neither starts nor ends with a hyphen.
fn is_whatwg_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        (1..=63).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-')
    };
    local_ok && domain.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{assert_length_boundaries, assert_text_rules};

    fn rule_of<T: fmt::Debug>(result: Result<T, ValidationError>) -> Option<Rule> {
        result.err().map(|e| e.rule().clone())
    }

    /// Each input breaks the rule given with it, or none.
    fn assert_rules<T: fmt::Debug>(
        parse: impl Fn(&str) -> Result<T, ValidationError>,
        cases: &[(&str, Option<Rule>)],
    ) {
        for (input, expected) in cases {
            assert_eq!(&rule_of(parse(input)), expected, "input {input:?}");
        }
    }

    #[test]
    fn user_id_boundaries() {
        assert_length_boundaries(UserId::parse, (4, 50), "a");
        let cases: &[(&str, Option<Rule>)] = &[
            ("", Some(Rule::Length { min: 4, max: 50 })),
            ("Al_i-c.e9", None),
            ("alice!", Some(Rule::IdCharset)),
            ("ali ce", Some(Rule::IdCharset)),
            ("홍길동이다", Some(Rule::IdCharset)),
            ("ab\0cd", Some(Rule::Nul)),
        ];
        assert_rules(|input| UserId::parse(input), cases);
    }

    #[test]
    fn user_id_key_ignores_case_but_display_keeps_it() {
        let id = UserId::parse("AliCe").unwrap();
        assert_eq!(id.key().as_str(), "alice");
        assert_eq!(id.as_ref(), "AliCe");
    }

    #[test]
    fn password_boundaries() {
        assert_length_boundaries(Password::parse, (10, 100), "p");
        let cases: &[(&str, Option<Rule>)] = &[
            ("123456789", Some(Rule::Length { min: 10, max: 100 })),
            ("1234567890", None),
            ("비밀번호비밀번호비밀", None),
            (
                "비밀번호비밀번호비",
                Some(Rule::Length { min: 10, max: 100 }),
            ),
            ("          ", None),
            ("12345\u{0}6789", Some(Rule::Nul)),
        ];
        assert_rules(|input| Password::parse(input), cases);
    }

    #[test]
    fn password_is_never_printed() {
        let password = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{password:?}"), "Password(..)");
    }

    #[test]
    fn name_nickname_bio_boundaries() {
        assert_text_rules(DisplayName::parse, (2, 16), "가");
        assert_eq!(rule_of(DisplayName::parse("ab")), None);
        assert_text_rules(Nickname::parse, (1, 30), "닉");
        assert_text_rules(Bio::parse, (1, 85), "소");
    }

    #[test]
    fn email_follows_the_whatwg_rule() {
        let valid = [
            ("a@b", "the shortest"),
            ("alice@example.com", "the usual"),
            (
                "first.last+tag@sub.example.co",
                "dots, a plus and a subdomain",
            ),
            (
                "x!#$%&'*+/=?^_`{|}~-@a-b.c",
                "every sign a local part takes",
            ),
        ];
        for (input, what) in valid {
            assert!(
                Email::parse(input).is_ok(),
                "{input} ({what}) should be valid"
            );
        }
        let invalid = [
            ("", "empty"),
            ("alice", "no @"),
            ("@example.com", "no local part"),
            ("alice@", "no domain"),
            ("alice@-example.com", "a label starts with a hyphen"),
            ("alice@example-.com", "a label ends with a hyphen"),
            ("alice@exa mple.com", "a space in the domain"),
            ("alice@example..com", "an empty label"),
            ("al ice@example.com", "a space in the local part"),
            ("홍@example.com", "a letter outside ASCII"),
            ("a@b@c", "two @"),
        ];
        for (input, why) in invalid {
            let rule = rule_of(Email::parse(input));
            assert_eq!(rule, Some(Rule::Email), "{input}: {why}");
        }
        let longest = format!(
            "{}@{}.{}.{}.{}",
            "a".repeat(60),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
            "e"
        );
        assert_eq!(longest.len(), 254);
        assert!(Email::parse(longest.clone()).is_ok());
        assert_eq!(
            rule_of(Email::parse(format!("a{longest}"))),
            Some(Rule::Email)
        );
        assert_eq!(
            rule_of(Email::parse(format!("a@{}", "b".repeat(64)))),
            Some(Rule::Email)
        );
    }

    #[test]
    fn email_matches_ignoring_ascii_case() {
        let email = Email::parse("Alice@Example.com").unwrap();
        assert!(email.matches("alice@example.COM"));
        assert!(!email.matches("alice@example.org"));
    }

    #[test]
    fn user_ids_are_one_user_whatever_the_letter_case() {
        use std::collections::HashSet;
        let chosen = UserId::parse("Alice.Kim").unwrap();
        let typed = UserId::parse("aLICE.kIM").unwrap();
        assert_eq!(chosen, typed);
        assert_eq!(chosen.to_string(), "Alice.Kim", "shown as chosen");
        assert_eq!(chosen.key(), typed.key());
        assert_eq!(chosen.key().as_str(), "alice.kim");
        assert_ne!(chosen, UserId::parse("Alice.Kim2").unwrap());
        let set: HashSet<UserId> = [chosen, typed].into_iter().collect();
        assert_eq!(set.len(), 1, "hashing ignores letter case too");
    }

    #[test]
    fn claimed_keys_fold_case_and_are_cut_to_64_characters() {
        let cases: &[(&str, &str)] = &[
            ("Alice", "alice"),
            ("no spaces allowed", "no spaces allowed"),
            ("Ab", "ab"),
        ];
        for (typed, key) in cases {
            assert_eq!(UserKey::claimed(typed).as_str(), *key, "{typed:?}");
        }
        let long = "X".repeat(1_000);
        assert_eq!(UserKey::claimed(&long).as_str(), "x".repeat(64));
    }

    #[test]
    fn messages_name_field_and_limit() {
        assert_eq!(
            DisplayName::parse("a").unwrap_err().to_string(),
            "name must be 2 to 16 characters"
        );
        assert_eq!(
            Password::parse("short")
                .unwrap_err()
                .for_field("new_password")
                .to_string(),
            "new_password must be 10 to 100 characters"
        );
    }
}
