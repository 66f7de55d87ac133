//! The schemas of request and answer fields and of parameters, built from
//! the domain's own limits so that the document cannot promise another rule.

use minifb_domain::{
    Bio, CommentContent, DisplayName, Email, Nickname, Password, PostContent, ReactionKind, UserId,
};
use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, Required};

/// The user ids the contract accepts, as a regular expression.
pub const USER_ID_PATTERN: &str = "^[A-Za-z0-9_.-]+$";

// The patterns below are written for the dialects that read them alike:
// ECMA-262 (JSON Schema's), Python's `re` (schemathesis) and Rust's `regex`
// (this crate's tests): no `\s`, whose meaning differs between the three,
// and characters as `\uXXXX`.

/// The characters with the Unicode `White_Space` property, the ones
/// `char::is_whitespace` (and so the domain's "not blank") tests, as the
/// inside of a character class.
macro_rules! white_space {
    () => {
        r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// Any text without a NUL character: what every text field, credentials
/// included, refuses.
pub const NO_NUL_PATTERN: &str = r"^[^\u0000]*$";

/// A text without NUL that is not blank: white space, then a character that
/// is neither white space nor NUL, then anything but NUL.
pub const NOT_BLANK_PATTERN: &str = concat!(
    "^[",
    white_space!(),
    r"]*[^\u0000",
    white_space!(),
    r"][^\u0000]*$"
);

/// The WHATWG HTML "valid e-mail address", which the domain's `Email`
/// spells out in code.
pub const EMAIL_PATTERN: &str = concat!(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@",
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
);

pub(super) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
}

/// `min..=max` Unicode characters, as the domain counts them.
fn chars(schema: ObjectBuilder, min: usize, max: usize) -> ObjectBuilder {
    schema.min_length(Some(min)).max_length(Some(max))
}

/// A text of `min..=max` characters, not blank, without NUL.
fn not_blank(schema: ObjectBuilder, min: usize, max: usize) -> ObjectBuilder {
    chars(schema, min, max)
        .pattern(Some(NOT_BLANK_PATTERN))
        .description(Some(
            "Lengths count Unicode characters; not blank (at least one character that is not \
             white space); no NUL character.",
        ))
}

/// Any text without a NUL character, such as a credential checked as typed.
pub fn no_nul() -> Object {
    no_nul_schema(string()).build()
}

fn no_nul_schema(schema: ObjectBuilder) -> ObjectBuilder {
    schema.pattern(Some(NO_NUL_PATTERN))
}

/// A user id: [`UserId`]'s rule.
pub fn user_id() -> Object {
    chars(string(), UserId::MIN_CHARS, UserId::MAX_CHARS)
        .pattern(Some(USER_ID_PATTERN))
        .description(Some(
            "A user id: ASCII letters, digits, `_`, `-` and `.`; shown as chosen, matched \
             ignoring letter case.",
        ))
        .examples([json!("alice")])
        .build()
}

/// A new password: [`Password`]'s rule.
pub fn password() -> Object {
    chars(
        no_nul_schema(string()),
        Password::MIN_CHARS,
        Password::MAX_CHARS,
    )
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
    .description(Some(
        "Lengths count Unicode characters; white space is fine; no NUL character.",
    ))
    .build()
}

/// A password as typed to prove who one is: checked as typed, but no NUL.
pub fn current_password(description: &str) -> Object {
    no_nul_schema(string())
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .description(Some(description))
        .build()
}

/// An optional [`current_password`]: null is the same as absent.
pub fn nullable_current_password(description: &str) -> Object {
    no_nul_schema(nullable_string())
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .description(Some(description))
        .build()
}

/// A display name: [`DisplayName`]'s rule.
pub fn name() -> Object {
    not_blank(string(), DisplayName::MIN_CHARS, DisplayName::MAX_CHARS)
        .examples([json!("Alice")])
        .build()
}

/// A nickname, or null to clear it: [`Nickname`]'s rule.
pub fn nickname() -> Object {
    not_blank(nullable_string(), Nickname::MIN_CHARS, Nickname::MAX_CHARS).build()
}

/// A bio, or null to clear it: [`Bio`]'s rule.
pub fn bio() -> Object {
    not_blank(nullable_string(), Bio::MIN_CHARS, Bio::MAX_CHARS).build()
}

/// An e-mail address: [`Email`]'s rule.
pub fn email() -> Object {
    email_schema(string())
}

/// An e-mail address, or null to clear it.
pub fn nullable_email() -> Object {
    email_schema(nullable_string())
}

fn email_schema(schema: ObjectBuilder) -> Object {
    schema
        .max_length(Some(Email::MAX_CHARS))
        .pattern(Some(EMAIL_PATTERN))
        .description(Some(
            "A valid e-mail address by the WHATWG HTML rule, the pattern (`\"\"` is a 400); \
             not `format: email`, whose RFC 5321 rule differs (`.a@b` is valid here); compared \
             ignoring ASCII case; shown to its owner only.",
        ))
        .build()
}

/// A post's content: [`PostContent`]'s rule.
pub fn post_content() -> Object {
    not_blank(string(), PostContent::MIN_CHARS, PostContent::MAX_CHARS).build()
}

/// A comment's content: [`CommentContent`]'s rule.
pub fn comment_content() -> Object {
    not_blank(
        string(),
        CommentContent::MIN_CHARS,
        CommentContent::MAX_CHARS,
    )
    .build()
}

/// A reaction type: [`ReactionKind`]'s range.
pub fn reaction_type() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(ReactionKind::MIN))
        .maximum(Some(ReactionKind::MAX))
        .description(Some("What each number means is the client's business."))
        .build()
}

/// `my_reaction`: the caller's reaction type, or null.
pub fn my_reaction() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Integer,
            Type::Null,
        ]))
        .minimum(Some(ReactionKind::MIN))
        .maximum(Some(ReactionKind::MAX))
        .description(Some(
            "The caller's reaction type; null without a token or reaction.",
        ))
        .build()
}

/// A required parameter.
pub fn required_parameter(
    name: &str,
    place: ParameterIn,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A numeric id in a path: ASCII digits of a 64-bit integer.
pub fn numeric_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .build()
}

/// `schema`, an object of which at least one of the properties `names`
/// must be sent.
pub fn at_least_one_of(schema: impl Into<RefOr<Schema>>, names: &[&str]) -> Schema {
    let one_of_them = names.iter().fold(AnyOfBuilder::new(), |any_of, name| {
        any_of.item(ObjectBuilder::new().required(*name))
    });
    AllOfBuilder::new()
        .item(schema)
        .item(one_of_them)
        .build()
        .into()
}

/// `token_type`, always `"Bearer"`.
pub fn bearer() -> Object {
    string().enum_values(Some(["Bearer"])).build()
}
