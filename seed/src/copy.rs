//! Rows in the text format of PostgreSQL's `COPY ... FROM STDIN`: one line
//! per row, columns separated by tabs, `\N` for NULL, and backslash, tab,
//! newline and carriage return escaped. Pure functions over any `Write`, so
//! the tests can read exactly what the database would be sent.

use std::io::{self, Write};

use chrono::DateTime;

use crate::dataset::{CommentRow, Dataset, NotificationRow, PostRow, ReactionRow, UserRow};

/// One table the seed loads: its name, the columns it writes, and how many
/// rows the data set has for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Posts,
    Comments,
    PostReactions,
    CommentReactions,
    Notifications,
}

impl Table {
    /// In an order that respects the foreign keys.
    pub const ALL: [Self; 6] = [
        Self::Users,
        Self::Posts,
        Self::Comments,
        Self::PostReactions,
        Self::CommentReactions,
        Self::Notifications,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Posts => "posts",
            Self::Comments => "comments",
            Self::PostReactions => "post_reactions",
            Self::CommentReactions => "comment_reactions",
            Self::Notifications => "notifications",
        }
    }

    pub fn columns(self) -> &'static str {
        match self {
            Self::Users => "id, password_hash, name, nickname, bio, email, created_at",
            Self::Posts => {
                "id, owner_id, content, created_at, updated_at, comment_count, reaction_counts"
            }
            Self::Comments => {
                "id, user_id, post_id, content, modified, created_at, updated_at, reaction_counts"
            }
            Self::PostReactions => "user_id, post_id, type, modified, created_at",
            Self::CommentReactions => "user_id, comment_id, type, modified, created_at",
            Self::Notifications => {
                "id, user_id, type, actor_id, post_id, comment_id, read, created_at"
            }
        }
    }

    pub fn rows(self, dataset: &Dataset) -> usize {
        let sizes = dataset.sizes();
        match self {
            Self::Users => sizes.users,
            Self::Posts => sizes.posts,
            Self::Comments => sizes.comments,
            Self::PostReactions => sizes.post_reactions,
            Self::CommentReactions => sizes.comment_reactions,
            Self::Notifications => sizes.notifications,
        }
    }

    /// Writes row `index` of this table as one COPY line.
    pub fn write_row(
        self,
        dataset: &Dataset,
        index: usize,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        match self {
            Self::Users => write_user(&dataset.user(index)?, out)?,
            Self::Posts => write_post(&dataset.post(index)?, out)?,
            Self::Comments => write_comment(&dataset.comment(index)?, out)?,
            Self::PostReactions => write_reaction(&dataset.post_reaction(index), out)?,
            Self::CommentReactions => write_reaction(&dataset.comment_reaction(index), out)?,
            Self::Notifications => write_notification(&dataset.notification(index), out)?,
        }
        Ok(())
    }
}

fn write_user(row: &UserRow<'_>, out: &mut impl Write) -> io::Result<()> {
    text(out, row.id.as_ref())?;
    tab(out)?;
    text(out, row.password_hash)?;
    tab(out)?;
    text(out, row.name.as_ref())?;
    tab(out)?;
    optional_text(out, row.nickname.as_ref().map(AsRef::as_ref))?;
    tab(out)?;
    optional_text(out, row.bio.as_ref().map(AsRef::as_ref))?;
    tab(out)?;
    optional_text(out, row.email.as_ref().map(AsRef::as_ref))?;
    tab(out)?;
    timestamp(out, row.created_at)?;
    out.write_all(b"\n")
}

fn write_post(row: &PostRow<'_>, out: &mut impl Write) -> io::Result<()> {
    write!(out, "{}\t", row.id)?;
    text(out, row.owner_id.as_ref())?;
    tab(out)?;
    text(out, row.content.as_ref())?;
    tab(out)?;
    timestamp(out, row.created_at)?;
    tab(out)?;
    optional_timestamp(out, row.updated_at)?;
    write!(out, "\t{}\t", row.comment_count)?;
    counts(out, &row.reaction_counts)?;
    out.write_all(b"\n")
}

fn write_comment(row: &CommentRow<'_>, out: &mut impl Write) -> io::Result<()> {
    write!(out, "{}\t", row.id)?;
    text(out, row.user_id.as_ref())?;
    write!(out, "\t{}\t", row.post_id)?;
    text(out, row.content.as_ref())?;
    write!(out, "\t{}\t", boolean(row.modified))?;
    timestamp(out, row.created_at)?;
    tab(out)?;
    optional_timestamp(out, row.updated_at)?;
    tab(out)?;
    counts(out, &row.reaction_counts)?;
    out.write_all(b"\n")
}

fn write_reaction(row: &ReactionRow<'_>, out: &mut impl Write) -> io::Result<()> {
    text(out, row.user_id.as_ref())?;
    write!(
        out,
        "\t{}\t{}\t{}\t",
        row.target_id,
        row.kind.get(),
        boolean(row.modified)
    )?;
    timestamp(out, row.created_at)?;
    out.write_all(b"\n")
}

fn write_notification(row: &NotificationRow<'_>, out: &mut impl Write) -> io::Result<()> {
    write!(out, "{}\t", row.id)?;
    text(out, row.user_id.as_ref())?;
    write!(out, "\t{}\t", row.kind.code())?;
    text(out, row.actor_id.as_ref())?;
    write!(out, "\t{}\t", row.post_id)?;
    match row.comment_id {
        Some(id) => write!(out, "{id}")?,
        None => out.write_all(b"\\N")?,
    }
    write!(out, "\t{}\t", boolean(row.read))?;
    timestamp(out, row.created_at)?;
    out.write_all(b"\n")
}

fn tab(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"\t")
}

fn boolean(value: bool) -> &'static str {
    if value { "t" } else { "f" }
}

/// Text with COPY's escapes for the characters that would end a column or
/// a row.
pub fn text(out: &mut impl Write, value: &str) -> io::Result<()> {
    let mut rest = value.as_bytes();
    while let Some(at) = rest
        .iter()
        .position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.write_all(&rest[..at])?;
        out.write_all(match rest[at] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_all(rest)
}

fn optional_text(out: &mut impl Write, value: Option<&str>) -> io::Result<()> {
    match value {
        Some(value) => text(out, value),
        None => out.write_all(b"\\N"),
    }
}

/// A `timestamptz` from microseconds since the epoch, in UTC.
pub fn timestamp(out: &mut impl Write, micros: i64) -> io::Result<()> {
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| io::Error::other(format!("timestamp out of range: {micros} µs")))?;
    write!(out, "{}+00", at.format("%Y-%m-%d %H:%M:%S%.6f"))
}

fn optional_timestamp(out: &mut impl Write, micros: Option<i64>) -> io::Result<()> {
    match micros {
        Some(micros) => timestamp(out, micros),
        None => out.write_all(b"\\N"),
    }
}

fn counts(out: &mut impl Write, counts: &[i64; 5]) -> io::Result<()> {
    let [a, b, c, d, e] = counts;
    write!(out, "{{{a},{b},{c},{d},{e}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_escapes_what_would_end_a_column_or_a_row() {
        assert_eq!(
            written(|out| text(out, "a\tb\nc\\d\re 한글")),
            "a\\tb\\nc\\\\d\\re 한글"
        );
        assert_eq!(written(|out| optional_text(out, None)), "\\N");
    }

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        assert_eq!(
            written(|out| timestamp(out, 1_796_000_000_123_456)),
            "2026-11-30 00:53:20.123456+00"
        );
    }

    #[test]
    fn counts_are_an_array_literal() {
        assert_eq!(written(|out| counts(out, &[1, 0, 2, 0, 5])), "{1,0,2,0,5}");
    }
}
