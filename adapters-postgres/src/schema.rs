//! The tables of `migrations/`, as Diesel sees them (written by hand to
//! match the SQL; `type` columns are called `kind` here because `type` is a
//! Rust keyword).

diesel::table! {
    users (id) {
        id -> Text,
        password_hash -> Text,
        name -> Text,
        nickname -> Nullable<Text>,
        bio -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_token_families (id) {
        id -> Int8,
        user_id -> Text,
        password_change_required -> Bool,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        family_id -> Int8,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    temporary_passwords (user_id) {
        user_id -> Text,
        password_hash -> Text,
        expires_at -> Timestamptz,
        logged_in_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    posts (id) {
        id -> Int8,
        owner_id -> Text,
        content -> Text,
        created_at -> Timestamptz,
        updated_at -> Nullable<Timestamptz>,
        comment_count -> Int8,
        reaction_counts -> Array<Int8>,
    }
}

diesel::table! {
    post_reactions (user_id, post_id) {
        user_id -> Text,
        post_id -> Int8,
        #[sql_name = "type"]
        kind -> Int2,
        modified -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    comments (id) {
        id -> Int8,
        user_id -> Text,
        post_id -> Int8,
        content -> Text,
        modified -> Bool,
        created_at -> Timestamptz,
        updated_at -> Nullable<Timestamptz>,
        reaction_counts -> Array<Int8>,
    }
}

diesel::table! {
    comment_reactions (user_id, comment_id) {
        user_id -> Text,
        comment_id -> Int8,
        #[sql_name = "type"]
        kind -> Int2,
        modified -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        user_id -> Text,
        #[sql_name = "type"]
        kind -> Int2,
        actor_id -> Text,
        post_id -> Int8,
        comment_id -> Nullable<Int8>,
        read -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(refresh_tokens -> refresh_token_families (family_id));
diesel::joinable!(temporary_passwords -> users (user_id));
diesel::joinable!(posts -> users (owner_id));
diesel::joinable!(comments -> users (user_id));
diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(notifications -> users (actor_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_token_families,
    refresh_tokens,
    temporary_passwords,
    posts,
    post_reactions,
    comments,
    comment_reactions,
    notifications,
);
