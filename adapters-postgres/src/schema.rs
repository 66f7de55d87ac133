// @generated automatically by Diesel CLI.

diesel::table! {
    attempt_windows (scope, key) {
        scope -> Text,
        key -> Text,
        window_start -> Timestamptz,
        attempts -> Int4,
    }
}

diesel::table! {
    comment_reactions (user_id, comment_id) {
        user_id -> Text,
        comment_id -> Int8,
        #[sql_name = "type"]
        type_ -> Int2,
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
        reaction_counts -> Array<Nullable<Int8>>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        fingerprint -> Text,
        status -> Nullable<Int2>,
        body -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notification_streams (user_key, slot) {
        user_key -> Text,
        slot -> Int2,
        process_id -> Text,
        opened_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        user_id -> Text,
        #[sql_name = "type"]
        type_ -> Int2,
        actor_id -> Text,
        post_id -> Int8,
        comment_id -> Nullable<Int8>,
        read -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    post_counts_by_quarter (quarter, shard) {
        quarter -> Timestamptz,
        shard -> Int2,
        posts -> Int8,
    }
}

diesel::table! {
    post_reactions (user_id, post_id) {
        user_id -> Text,
        post_id -> Int8,
        #[sql_name = "type"]
        type_ -> Int2,
        modified -> Bool,
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
        reaction_counts -> Array<Nullable<Int8>>,
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
    request_counts (minute, endpoint, status) {
        minute -> Timestamptz,
        endpoint -> Text,
        status -> Int2,
        requests -> Int8,
    }
}

diesel::table! {
    request_latency_counts (minute, endpoint, le) {
        minute -> Timestamptz,
        endpoint -> Text,
        le -> Float8,
        requests -> Int8,
    }
}

diesel::table! {
    service_counters (name, shard) {
        name -> Text,
        shard -> Int2,
        value -> Int8,
    }
}

diesel::table! {
    temporary_passwords (user_id) {
        user_id -> Text,
        expires_at -> Timestamptz,
        logged_in_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        password_digest -> Bytea,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        password_hash -> Text,
        name -> Text,
        nickname -> Nullable<Text>,
        bio -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> Timestamptz,
        unread_notifications -> Int8,
    }
}

diesel::joinable!(comment_reactions -> comments (comment_id));
diesel::joinable!(comment_reactions -> users (user_id));
diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(comments -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(notifications -> posts (post_id));
diesel::joinable!(post_reactions -> posts (post_id));
diesel::joinable!(post_reactions -> users (user_id));
diesel::joinable!(posts -> users (owner_id));
diesel::joinable!(refresh_token_families -> users (user_id));
diesel::joinable!(refresh_tokens -> refresh_token_families (family_id));
diesel::joinable!(temporary_passwords -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    attempt_windows,
    comment_reactions,
    comments,
    idempotency_keys,
    notification_streams,
    notifications,
    post_counts_by_quarter,
    post_reactions,
    posts,
    refresh_token_families,
    refresh_tokens,
    request_counts,
    request_latency_counts,
    service_counters,
    temporary_passwords,
    users,
);
