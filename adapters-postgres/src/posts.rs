//! Posts and timelines.

use async_trait::async_trait;
use diesel::dsl::now;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use minifb_application::StoreError;
use minifb_application::social::ports::{PageRequest, PostFilter, PostRepository, PostView};
use minifb_domain::{PostContent, PostId, UserId};

use crate::pool::{Pool, run};
use crate::schema::posts;
use crate::views::{PostViewRow, post_views, stored_user_id, views};

#[derive(Insertable)]
#[diesel(table_name = posts)]
struct NewPostRow {
    owner_id: String,
    content: String,
}

/// [`PostRepository`] over `posts`, `users` and `post_reactions`; the
/// counters are the columns the triggers of the schema keep.
#[derive(Clone)]
pub struct PgPostRepository {
    pool: Pool,
}

impl PgPostRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

/// One post as `viewer` sees it.
fn post_view(
    conn: &mut PgConnection,
    id: i64,
    viewer: Option<String>,
) -> QueryResult<Option<PostViewRow>> {
    post_views(viewer)
        .filter(posts::id.eq(id))
        .first(conn)
        .optional()
}

/// A row that the same transaction just wrote and cannot have lost.
fn written(row: Option<PostViewRow>) -> QueryResult<PostViewRow> {
    row.ok_or(diesel::result::Error::NotFound)
}

/// Stores a post and reads it back, in one transaction (a savepoint when
/// the caller has one open).
pub(crate) fn insert_post(
    conn: &mut PgConnection,
    owner_id: String,
    content: String,
) -> QueryResult<PostViewRow> {
    let row = NewPostRow { owner_id, content };
    conn.transaction(|conn| {
        let id: i64 = diesel::insert_into(posts::table)
            .values(&row)
            .returning(posts::id)
            .get_result(conn)?;
        written(post_view(conn, id, Some(row.owner_id))?)
    })
}

#[async_trait]
impl PostRepository for PgPostRepository {
    async fn create(
        &self,
        owner_id: &UserId,
        content: PostContent,
    ) -> Result<PostView, StoreError> {
        let (owner_id, content) = (owner_id.to_string(), content.into_inner());
        run(&self.pool, move |conn| insert_post(conn, owner_id, content))
            .await?
            .try_into()
    }

    async fn find(
        &self,
        id: PostId,
        viewer: Option<UserId>,
    ) -> Result<Option<PostView>, StoreError> {
        let viewer = viewer.map(UserId::into_inner);
        run(&self.pool, move |conn| post_view(conn, id.get(), viewer))
            .await?
            .map(TryInto::try_into)
            .transpose()
    }

    async fn owner_of(&self, id: PostId) -> Result<Option<UserId>, StoreError> {
        run(&self.pool, move |conn| {
            posts::table
                .find(id.get())
                .select(posts::owner_id)
                .first(conn)
                .optional()
        })
        .await?
        .map(stored_user_id)
        .transpose()
    }

    async fn update(
        &self,
        id: PostId,
        content: PostContent,
        viewer: &UserId,
    ) -> Result<Option<PostView>, StoreError> {
        let content = content.into_inner();
        let viewer = viewer.to_string();
        run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let updated = diesel::update(posts::table.find(id.get()))
                    .set((posts::content.eq(content), posts::updated_at.eq(now)))
                    .execute(conn)?;
                if updated == 0 {
                    return Ok(None);
                }
                written(post_view(conn, id.get(), Some(viewer))?).map(Some)
            })
        })
        .await?
        .map(TryInto::try_into)
        .transpose()
    }

    /// One statement: the foreign keys of `comments`, `post_reactions` and
    /// `notifications` cascade (and `comment_reactions` from `comments`);
    /// the counter triggers skip the cascaded rows.
    async fn delete(&self, id: PostId) -> Result<bool, StoreError> {
        run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                diesel::delete(posts::table.find(id.get()))
                    .execute(conn)
                    .map(|deleted| deleted == 1)
            })
        })
        .await
    }

    /// `posts JOIN users`, `my_reaction` as a correlated subquery, `id <
    /// after ORDER BY id DESC LIMIT limit + 1`: one statement per page, on
    /// `posts_pkey` (everyone) or `posts_owner_id_id_idx` (one owner), never
    /// a sort. The plans at depth are in `docs/explain.md`.
    async fn list(
        &self,
        filter: PostFilter,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Vec<PostView>, StoreError> {
        let viewer = viewer.map(UserId::into_inner);
        let rows = run(&self.pool, move |conn| {
            let mut query = post_views(viewer)
                .order(posts::id.desc())
                .limit(i64::from(page.limit) + 1)
                .into_boxed();
            if let PostFilter::Owner(owner_id) = filter {
                query = query.filter(posts::owner_id.eq(owner_id.into_inner()));
            }
            if let Some(after) = page.after {
                query = query.filter(posts::id.lt(after));
            }
            query.load::<PostViewRow>(conn)
        })
        .await?;
        views(rows)
    }
}
