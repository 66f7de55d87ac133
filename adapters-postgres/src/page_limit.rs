//! A page's `LIMIT` written into the statement's text instead of bound.
//!
//! Every pooled connection plans a statement once, for any values
//! (`plan_cache_mode = force_generic_plan`, see `pool.rs`), and a generic
//! plan cannot know a bound `LIMIT`: PostgreSQL then assumes a tenth of the
//! rows. For the first page of the feed, which no condition narrows, that
//! is a tenth of all posts, and the plan reads the table instead of the
//! first rows of its index (docs/performance.md). With the limit in the
//! text, the generic plan is the indexed one the custom plans chose. A page
//! holds 1 to 101 rows, so this costs at most that many prepared statements
//! per list and connection.
//!
//! Used for the pages of posts (the feed and the timelines). Comment and
//! notification pages are narrowed to one post or one user, so a tenth of
//! their estimate is still a short scan of the same index; their generic
//! plans with a bound limit are the indexed ones (`docs/explain.md` shows
//! them).

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

/// `query LIMIT limit`, with the limit as a literal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limited<Q> {
    query: Q,
    limit: u32,
}

/// `LIMIT limit` with `limit` in the statement's text; for page sizes,
/// which take few values, never for values that users choose freely.
pub(crate) fn limited<Q>(query: Q, limit: u32) -> Limited<Q> {
    Limited { query, limit }
}

/// Each limit gives another statement, so the statement cache must key on
/// the SQL text, never on the Rust type alone.
impl<Q> QueryId for Limited<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Limited<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Limited<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_sql(&self.limit.to_string());
        Ok(())
    }
}

impl<Q> RunQueryDsl<PgConnection> for Limited<Q> {}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::schema::posts;

    #[test]
    fn the_limit_is_in_the_text_and_the_other_values_stay_bound() {
        let query = posts::table
            .filter(posts::id.lt(900_000_i64))
            .order(posts::id.desc())
            .select(posts::id)
            .into_boxed();

        let sql = diesel::debug_query::<Pg, _>(&limited(query, 21)).to_string();

        assert!(
            sql.starts_with(
                r#"SELECT "posts"."id" FROM "posts" WHERE ("posts"."id" < $1) ORDER BY "posts"."id" DESC LIMIT 21 -- binds: [900000]"#
            ),
            "{sql}"
        );
    }
}
