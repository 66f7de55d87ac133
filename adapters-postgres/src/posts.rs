//! Posts and timelines.

use async_trait::async_trait;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use minifb_application::StoreError;
use minifb_application::social::ports::{PageRequest, PostRepository, PostView};
use minifb_domain::{PostContent, PostId, UserId, UserKey};

use crate::accounts::{lower, user_exists};
use crate::page_limit::limited;
use crate::replicas::{Database, read, write};
use crate::schema::{posts, users};
use crate::views::{
    PostViewRow, WrittenPostRow, edit, post_views, stored_user_id, views, written_post_columns,
};

/// Inserts a post and answers with it as its owner sees it: one statement,
/// the row from `RETURNING` joined to its author (nobody has reacted to a
/// post that did not exist a moment ago). `$1` owner, `$2` content.
const INSERT_POST: &str = concat!(
    "WITH p AS (INSERT INTO posts (owner_id, content) VALUES ($1, $2) \
     RETURNING id, owner_id, content, created_at, updated_at, comment_count, reaction_counts) \
     SELECT ",
    written_post_columns!(),
    ", NULL::smallint AS my_reaction FROM p JOIN users u ON u.id = p.owner_id"
);

/// Replaces a post's content if `$3` owns it (ids compared in any letter
/// case, as `UserId`s are) and answers with it as `$3` sees it, in one
/// statement; no row if there is no such post or it is someone else's.
/// `$1` post, `$2` content.
const UPDATE_POST: &str = concat!(
    "WITH p AS (UPDATE posts SET content = $2, updated_at = now() \
     WHERE id = $1 AND lower(owner_id) = lower($3) \
     RETURNING id, owner_id, content, created_at, updated_at, comment_count, reaction_counts) \
     SELECT ",
    written_post_columns!(),
    ", (SELECT r.type FROM post_reactions r WHERE r.post_id = p.id AND r.user_id = $3) \
     AS my_reaction FROM p JOIN users u ON u.id = p.owner_id"
);

/// [`PostRepository`] over `posts`, `users` and `post_reactions`; the
/// counters are the columns the triggers of the schema keep.
#[derive(Clone)]
pub struct PgPostRepository {
    db: Database,
}

impl PgPostRepository {
    pub fn new(db: impl Into<Database>) -> Self {
        Self { db: db.into() }
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

/// Whether the post exists.
pub(crate) fn post_exists(conn: &mut PgConnection, id: PostId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(posts::table.find(id.get()))).get_result(conn)
}

/// Stores a post and reads it back, in one statement.
pub(crate) fn insert_post(
    conn: &mut PgConnection,
    owner_id: String,
    content: String,
) -> QueryResult<PostViewRow> {
    diesel::sql_query(INSERT_POST)
        .bind::<Text, _>(owner_id)
        .bind::<Text, _>(content)
        .get_result::<WrittenPostRow>(conn)
        .map(PostViewRow::from)
}

#[async_trait]
impl PostRepository for PgPostRepository {
    async fn create(
        &self,
        owner_id: &UserId,
        content: PostContent,
    ) -> Result<PostView, StoreError> {
        let (owner_id, content) = (owner_id.to_string(), content.into_inner());
        write(&self.db, move |conn| insert_post(conn, owner_id, content))
            .await?
            .try_into()
    }

    async fn find(
        &self,
        id: PostId,
        viewer: Option<UserId>,
    ) -> Result<Option<PostView>, StoreError> {
        let viewer = viewer.map(UserId::into_inner);
        read(&self.db, move |conn| {
            post_view(conn, id.get(), viewer.clone())
        })
        .await?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn owner_of(&self, id: PostId) -> Result<Option<UserId>, StoreError> {
        write(&self.db, move |conn| {
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
        let (id, content) = (id.get(), content.into_inner());
        edit::<WrittenPostRow, PostViewRow, _>(&self.db, UPDATE_POST, id, content, viewer).await
    }

    /// One statement, guarded by the owner: the foreign keys of
    /// `comments`, `post_reactions` and `notifications` cascade (and
    /// `comment_reactions` from `comments`); the counter triggers skip the
    /// cascaded rows.
    async fn delete(&self, id: PostId, owner: &UserId) -> Result<bool, StoreError> {
        let owner = owner.key();
        write(&self.db, move |conn| {
            diesel::delete(
                posts::table
                    .find(id.get())
                    .filter(lower(posts::owner_id).eq(owner.as_str().to_owned())),
            )
            .execute(conn)
            .map(|deleted| deleted == 1)
        })
        .await
    }

    /// `posts JOIN users`, `my_reaction` as a correlated subquery, `id <
    /// after ORDER BY id DESC LIMIT limit + 1`: one statement per page on
    /// `posts_pkey`, never a sort. The plans at depth are in
    /// `docs/explain.md`.
    async fn list(
        &self,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Vec<PostView>, StoreError> {
        let viewer = viewer.map(UserId::into_inner);
        let rows = read(&self.db, move |conn| {
            load_posts_page(conn, viewer.clone(), page, None)
        })
        .await?;
        views(rows)
    }

    /// As [`Self::list`], with `owner_id = (SELECT id FROM users WHERE
    /// lower(id) = $)` on `posts_owner_id_id_idx`: one statement when the
    /// page has posts; only an empty page asks whether the owner exists.
    async fn list_by_owner(
        &self,
        owner: &UserId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Option<Vec<PostView>>, StoreError> {
        let key = owner.key();
        let viewer = viewer.map(UserId::into_inner);
        let rows = read(&self.db, move |conn| {
            let rows = load_posts_page(conn, viewer.clone(), page, Some(&key))?;
            if rows.is_empty() && !user_exists(conn, &key)? {
                return Ok(None);
            }
            Ok(Some(rows))
        })
        .await?;
        rows.map(views).transpose()
    }
}

// `users` a second time, for the owner's subquery: the page joins `users`
// for the authors already.
diesel::alias!(users as owners: Owners);

/// A page of posts, newest first, of everyone or of the user whose id folds
/// to `owner_key`.
fn load_posts_page(
    conn: &mut PgConnection,
    viewer: Option<String>,
    page: PageRequest,
    owner_key: Option<&UserKey>,
) -> QueryResult<Vec<PostViewRow>> {
    let mut query = post_views(viewer).order(posts::id.desc()).into_boxed();
    if let Some(key) = owner_key {
        let owner = owners
            .filter(lower(owners.field(users::id)).eq(key.as_str()))
            .select(owners.field(users::id))
            .single_value();
        query = query.filter(posts::owner_id.nullable().eq(owner));
    }
    if let Some(after) = page.after {
        query = query.filter(posts::id.lt(after));
    }
    limited(query, page.rows_to_fetch()).load(conn)
}
