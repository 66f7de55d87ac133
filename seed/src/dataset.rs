//! The data set: who posts, comments and reacts on what, and when.
//!
//! [`Dataset::generate`] decides the structure (owners, targets, times,
//! reaction types, notifications, and every counter they imply) with one
//! seeded generator, so a seed always gives the same data. The text of each
//! row is drawn later, from a generator seeded by the row's own number
//! ([`Dataset::user`], [`Dataset::post`], ...), so rows can be written in any
//! batches without holding a million strings. Every row comes out as the
//! domain's own types, which is where the API's rules are checked.

use std::collections::HashSet;

use anyhow::{Context, bail};
use minifb_domain::{
    Bio, CommentContent, DisplayName, Email, Nickname, NotificationKind, PostContent, ReactionKind,
    UserId,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::text::{self, Language};
use crate::zipf::Zipf;

const MICROS_PER_SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Activity (posts, comments, reactions) spans the year before the end;
/// accounts were opened in the year before that.
const ACTIVITY_SPAN: i64 = 365 * DAY;
/// Mean delay between a post and a comment or reaction on it.
const MEAN_RESPONSE_DELAY: f64 = 6.0 * 3_600.0 * MICROS_PER_SECOND as f64;
/// Share of comments and reactions that go to "viral" posts, drawn by a
/// Zipf law over posts; the rest go to a post picked uniformly (so a
/// prolific author also gets a lot of attention).
const VIRAL_SHARE: f64 = 0.3;
/// How skewed posting is: with 1.0 over 100,000 users the most active one
/// writes about 8% of all posts (tens of thousands), the median user one
/// or two.
const AUTHOR_EXPONENT: f64 = 1.0;
/// Commenting and reacting are a little less concentrated than posting.
const ACTOR_EXPONENT: f64 = 0.8;
const VIRAL_EXPONENT: f64 = 1.0;
/// Reaction types 1..=5, "like" far ahead.
const REACTION_WEIGHTS: [u32; 5] = [60, 15, 10, 10, 5];

/// How many rows of each kind to generate (notifications follow from
/// comments and reactions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub users: usize,
    pub posts: usize,
    pub comments: usize,
    pub post_reactions: usize,
    pub comment_reactions: usize,
}

impl Counts {
    pub const DEFAULT: Self = Self {
        users: 100_000,
        posts: 1_000_000,
        comments: 1_000_000,
        post_reactions: 3_000_000,
        comment_reactions: 1_000_000,
    };

    /// Every default count times `scale`, with at least two users and one
    /// post, and no more reactions than half the (user, item) pairs, since
    /// a user reacts at most once to an item.
    pub fn at_scale(scale: f64) -> anyhow::Result<Self> {
        if !scale.is_finite() || scale <= 0.0 || scale > 1_000.0 {
            bail!("--scale must be a number above 0 and at most 1000, not {scale}");
        }
        let scaled = |n: usize| (n as f64 * scale).round() as usize;
        let users = scaled(Self::DEFAULT.users).max(2);
        let posts = scaled(Self::DEFAULT.posts).max(1);
        let comments = scaled(Self::DEFAULT.comments);
        Ok(Self {
            users,
            posts,
            comments,
            post_reactions: scaled(Self::DEFAULT.post_reactions).min(users * posts / 2),
            comment_reactions: scaled(Self::DEFAULT.comment_reactions).min(users * comments / 2),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct PostMeta {
    owner: u32,
    created: i64,
    comment_count: i64,
    reaction_counts: [i64; 5],
}

#[derive(Debug, Clone, Copy)]
struct CommentMeta {
    post: u32,
    author: u32,
    created: i64,
    reaction_counts: [i64; 5],
}

#[derive(Debug, Clone, Copy)]
struct ReactionMeta {
    user: u32,
    target: u32,
    kind: ReactionKind,
    modified: bool,
    created: i64,
}

#[derive(Debug, Clone, Copy)]
struct NotificationMeta {
    user: u32,
    actor: u32,
    post: u32,
    /// Index of the comment, for type 1.
    comment: Option<u32>,
    kind: NotificationKind,
    created: i64,
    read: bool,
}

/// The generated data set. Ids of posts, comments and notifications are
/// their index plus one, in order of creation time, as the API's ids are.
#[derive(Debug)]
pub struct Dataset {
    seed: u64,
    end: i64,
    password_hash: String,
    user_ids: Vec<UserId>,
    posts: Vec<PostMeta>,
    comments: Vec<CommentMeta>,
    post_reactions: Vec<ReactionMeta>,
    comment_reactions: Vec<ReactionMeta>,
    notifications: Vec<NotificationMeta>,
}

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow<'a> {
    pub id: &'a UserId,
    pub password_hash: &'a str,
    pub name: DisplayName,
    pub nickname: Option<Nickname>,
    pub bio: Option<Bio>,
    pub email: Option<Email>,
    pub created_at: i64,
}

/// A row of `posts`, with the counters the triggers would have kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRow<'a> {
    pub id: i64,
    pub owner_id: &'a UserId,
    pub content: PostContent,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    pub comment_count: i64,
    pub reaction_counts: [i64; 5],
}

/// A row of `comments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRow<'a> {
    pub id: i64,
    pub user_id: &'a UserId,
    pub post_id: i64,
    pub content: CommentContent,
    pub modified: bool,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    pub reaction_counts: [i64; 5],
}

/// A row of `post_reactions` (target is the post) or `comment_reactions`
/// (target is the comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRow<'a> {
    pub user_id: &'a UserId,
    pub target_id: i64,
    pub kind: ReactionKind,
    pub modified: bool,
    pub created_at: i64,
}

/// A row of `notifications`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow<'a> {
    pub id: i64,
    pub user_id: &'a UserId,
    pub kind: NotificationKind,
    pub actor_id: &'a UserId,
    pub post_id: i64,
    pub comment_id: Option<i64>,
    pub read: bool,
    pub created_at: i64,
}

/// Derives the generator of one row from the seed, the table and the row,
/// so rows can be produced in any order with the same result.
fn row_rng(seed: u64, table: u64, row: usize) -> ChaCha8Rng {
    let mut x = seed ^ table.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (row as u64).rotate_left(32);
    // splitmix64's finaliser, so that neighbouring rows get unrelated seeds.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(x ^ (x >> 31))
}

const USERS: u64 = 1;
const POSTS: u64 = 2;
const COMMENTS: u64 = 3;

/// Picks a value of `0..n` with the Zipf law over a fixed random order of
/// the values, so that the favoured ones are not simply the first ids.
struct Skewed {
    zipf: Zipf,
    order: Vec<u32>,
}

impl Skewed {
    fn new(rng: &mut ChaCha8Rng, n: usize, exponent: f64) -> Self {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(rng);
        Self {
            zipf: Zipf::new(n, exponent),
            order,
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> u32 {
        self.order[self.zipf.sample(rng)]
    }
}

/// Mostly uniform, sometimes skewed: how comments and reactions pick what
/// they are about.
struct Targets {
    n: usize,
    viral: Skewed,
}

impl Targets {
    fn new(rng: &mut ChaCha8Rng, n: usize) -> Self {
        Self {
            n,
            viral: Skewed::new(rng, n, VIRAL_EXPONENT),
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> u32 {
        if rng.random_bool(VIRAL_SHARE) {
            self.viral.sample(rng)
        } else {
            rng.random_range(0..self.n as u32)
        }
    }
}

/// A moment after `after`, usually within hours, never after `end`.
fn response_time(rng: &mut ChaCha8Rng, after: i64, end: i64) -> i64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let delay = (-u.ln() * MEAN_RESPONSE_DELAY) as i64;
    if after + delay <= end {
        after + delay
    } else {
        rng.random_range(after..=end)
    }
}

/// When a row created at `created` was last edited, if it was: with
/// `probability`, a moment after it.
fn edited_at(rng: &mut ChaCha8Rng, probability: f64, created: i64, end: i64) -> Option<i64> {
    rng.random_bool(probability)
        .then(|| response_time(rng, created, end))
}

fn reaction_kind(rng: &mut ChaCha8Rng) -> anyhow::Result<ReactionKind> {
    let total: u32 = REACTION_WEIGHTS.iter().sum();
    let mut draw = rng.random_range(0..total);
    let mut kind = 1;
    for weight in REACTION_WEIGHTS {
        if draw < weight {
            break;
        }
        draw -= weight;
        kind += 1;
    }
    Ok(ReactionKind::parse(kind)?)
}

/// Draws `count` distinct (user, target) pairs; `pick` proposes one.
fn distinct_pairs(
    count: usize,
    rng: &mut ChaCha8Rng,
    mut pick: impl FnMut(&mut ChaCha8Rng) -> (u32, u32),
) -> anyhow::Result<Vec<(u32, u32)>> {
    let mut seen = HashSet::with_capacity(count);
    let mut pairs = Vec::with_capacity(count);
    let mut misses = 0;
    while pairs.len() < count {
        let (user, target) = pick(rng);
        if seen.insert((u64::from(user) << 32) | u64::from(target)) {
            pairs.push((user, target));
            misses = 0;
        } else {
            misses += 1;
            if misses > 100_000 {
                bail!("cannot find {count} distinct reactions: too few users or items");
            }
        }
    }
    Ok(pairs)
}

/// The reactions of the (user, target) `pairs`, oldest first: each some
/// time after its target was `created`.
fn reactions(
    pairs: Vec<(u32, u32)>,
    rng: &mut ChaCha8Rng,
    end: i64,
    created: impl Fn(u32) -> i64,
) -> anyhow::Result<Vec<ReactionMeta>> {
    let mut reactions = pairs
        .into_iter()
        .map(|(user, target)| {
            Ok(ReactionMeta {
                user,
                target,
                kind: reaction_kind(rng)?,
                modified: rng.random_bool(0.05),
                created: response_time(rng, created(target), end),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    reactions.sort_by_key(|r| r.created);
    Ok(reactions)
}

impl Dataset {
    /// Generates the structure of the data set for `counts`. `end` (in
    /// microseconds since the epoch) is the newest moment of the data,
    /// normally now, so that "posts today" has posts; `password_hash` is
    /// stored for every user.
    pub fn generate(
        counts: Counts,
        seed: u64,
        end: i64,
        password_hash: String,
        mut progress: impl FnMut(&str),
    ) -> anyhow::Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let start = end - ACTIVITY_SPAN;

        progress("user ids");
        let user_ids = (0..counts.users)
            .map(|n| {
                let mut rng = row_rng(seed, USERS, n);
                let language = Language::draw(&mut rng);
                UserId::parse(text::user_id(&mut rng, language, n))
                    .with_context(|| format!("generated id of user {n}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;

        progress("posts");
        let authors = Skewed::new(&mut rng, counts.users, AUTHOR_EXPONENT);
        let mut times: Vec<i64> = (0..counts.posts)
            .map(|_| rng.random_range(start..=end))
            .collect();
        times.sort_unstable();
        let mut posts: Vec<PostMeta> = times
            .into_iter()
            .map(|created| PostMeta {
                owner: authors.sample(&mut rng),
                created,
                comment_count: 0,
                reaction_counts: [0; 5],
            })
            .collect();

        let actors = Skewed::new(&mut rng, counts.users, ACTOR_EXPONENT);
        let post_targets = Targets::new(&mut rng, counts.posts);
        let mut events = Vec::with_capacity(counts.comments + counts.post_reactions);

        progress("comments");
        let mut comments: Vec<CommentMeta> = (0..counts.comments)
            .map(|_| {
                let post = post_targets.sample(&mut rng);
                let author = actors.sample(&mut rng);
                let created = response_time(&mut rng, posts[post as usize].created, end);
                CommentMeta {
                    post,
                    author,
                    created,
                    reaction_counts: [0; 5],
                }
            })
            .collect();
        comments.sort_by_key(|c| c.created);
        for (index, comment) in comments.iter().enumerate() {
            let post = &mut posts[comment.post as usize];
            post.comment_count += 1;
            if post.owner != comment.author {
                events.push(NotificationMeta {
                    user: post.owner,
                    actor: comment.author,
                    post: comment.post,
                    comment: Some(index as u32),
                    kind: NotificationKind::Commented,
                    created: comment.created,
                    read: false,
                });
            }
        }

        progress("post reactions");
        let pairs = distinct_pairs(counts.post_reactions, &mut rng, |rng| {
            (actors.sample(rng), post_targets.sample(rng))
        })?;
        let post_reactions = reactions(pairs, &mut rng, end, |post| posts[post as usize].created)?;
        for reaction in &post_reactions {
            let post = &mut posts[reaction.target as usize];
            post.reaction_counts[usize::from(reaction.kind.get()) - 1] += 1;
            if post.owner != reaction.user {
                events.push(NotificationMeta {
                    user: post.owner,
                    actor: reaction.user,
                    post: reaction.target,
                    comment: None,
                    kind: NotificationKind::Reacted,
                    created: reaction.created,
                    read: false,
                });
            }
        }

        progress("comment reactions");
        let mut comment_reactions = Vec::new();
        if !comments.is_empty() {
            let comment_targets = Targets::new(&mut rng, comments.len());
            let pairs = distinct_pairs(counts.comment_reactions, &mut rng, |rng| {
                (actors.sample(rng), comment_targets.sample(rng))
            })?;
            comment_reactions = reactions(pairs, &mut rng, end, |comment| {
                comments[comment as usize].created
            })?;
            for reaction in &comment_reactions {
                comments[reaction.target as usize].reaction_counts
                    [usize::from(reaction.kind.get()) - 1] += 1;
            }
        }

        progress("notifications");
        // Ids grow with creation order; what is older than a week has mostly
        // been read, what is recent mostly not.
        events.sort_by_key(|n| n.created);
        for event in &mut events {
            let recent = end - event.created < 7 * DAY;
            event.read = rng.random_bool(if recent { 0.3 } else { 0.9 });
        }

        Ok(Self {
            seed,
            end,
            password_hash,
            user_ids,
            posts,
            comments,
            post_reactions,
            comment_reactions,
            notifications: events,
        })
    }

    /// Numbers of rows per table, notifications included.
    pub fn sizes(&self) -> Sizes {
        Sizes {
            users: self.user_ids.len(),
            posts: self.posts.len(),
            comments: self.comments.len(),
            post_reactions: self.post_reactions.len(),
            comment_reactions: self.comment_reactions.len(),
            notifications: self.notifications.len(),
        }
    }

    pub fn user(&self, index: usize) -> anyhow::Result<UserRow<'_>> {
        let mut rng = row_rng(self.seed, USERS, index);
        // The same first draw as when the id was made: one language per user.
        let language = Language::draw(&mut rng);
        let _id_draws = text::user_id(&mut rng, language, index);
        let name = DisplayName::parse(text::display_name(&mut rng, language))?;
        let nickname = rng
            .random_bool(0.35)
            .then(|| Nickname::parse(text::nickname(&mut rng)))
            .transpose()?;
        let bio = rng
            .random_bool(0.3)
            .then(|| Bio::parse(text::bio(&mut rng)))
            .transpose()?;
        let id = &self.user_ids[index];
        let email = rng
            .random_bool(0.45)
            .then(|| Email::parse(text::email(&mut rng, id.as_ref())))
            .transpose()?;
        let start = self.end - ACTIVITY_SPAN;
        Ok(UserRow {
            id,
            password_hash: &self.password_hash,
            name,
            nickname,
            bio,
            email,
            created_at: rng.random_range(start - ACTIVITY_SPAN..start),
        })
    }

    pub fn post(&self, index: usize) -> anyhow::Result<PostRow<'_>> {
        let meta = &self.posts[index];
        let mut rng = row_rng(self.seed, POSTS, index);
        let language = Language::draw(&mut rng);
        let chars = if rng.random_bool(0.005) {
            rng.random_range(1_000..=PostContent::MAX_CHARS)
        } else {
            text::length(&mut rng, 60.0, 1.0, PostContent::MAX_CHARS)
        };
        let content = PostContent::parse(text::prose(&mut rng, language, chars))
            .with_context(|| format!("generated content of post {}", index + 1))?;
        let updated_at = edited_at(&mut rng, 0.05, meta.created, self.end);
        Ok(PostRow {
            id: index as i64 + 1,
            owner_id: &self.user_ids[meta.owner as usize],
            content,
            created_at: meta.created,
            updated_at,
            comment_count: meta.comment_count,
            reaction_counts: meta.reaction_counts,
        })
    }

    pub fn comment(&self, index: usize) -> anyhow::Result<CommentRow<'_>> {
        let meta = &self.comments[index];
        let mut rng = row_rng(self.seed, COMMENTS, index);
        let language = Language::draw(&mut rng);
        let chars = text::length(&mut rng, 25.0, 0.8, CommentContent::MAX_CHARS);
        let content = CommentContent::parse(text::prose(&mut rng, language, chars))
            .with_context(|| format!("generated content of comment {}", index + 1))?;
        let updated_at = edited_at(&mut rng, 0.03, meta.created, self.end);
        let modified = updated_at.is_some();
        Ok(CommentRow {
            id: index as i64 + 1,
            user_id: &self.user_ids[meta.author as usize],
            post_id: i64::from(meta.post) + 1,
            content,
            modified,
            created_at: meta.created,
            updated_at,
            reaction_counts: meta.reaction_counts,
        })
    }

    pub fn post_reaction(&self, index: usize) -> ReactionRow<'_> {
        self.reaction_row(&self.post_reactions[index])
    }

    pub fn comment_reaction(&self, index: usize) -> ReactionRow<'_> {
        self.reaction_row(&self.comment_reactions[index])
    }

    fn reaction_row<'a>(&'a self, meta: &ReactionMeta) -> ReactionRow<'a> {
        ReactionRow {
            user_id: &self.user_ids[meta.user as usize],
            target_id: i64::from(meta.target) + 1,
            kind: meta.kind,
            modified: meta.modified,
            created_at: meta.created,
        }
    }

    pub fn notification(&self, index: usize) -> NotificationRow<'_> {
        let meta = &self.notifications[index];
        NotificationRow {
            id: index as i64 + 1,
            user_id: &self.user_ids[meta.user as usize],
            kind: meta.kind,
            actor_id: &self.user_ids[meta.actor as usize],
            post_id: i64::from(meta.post) + 1,
            comment_id: meta.comment.map(|c| i64::from(c) + 1),
            read: meta.read,
            created_at: meta.created,
        }
    }

    /// Posts per user index, for tests and reports.
    pub fn posts_per_user(&self) -> Vec<usize> {
        let mut counts = vec![0; self.user_ids.len()];
        for post in &self.posts {
            counts[post.owner as usize] += 1;
        }
        counts
    }

    /// Notifications per user index, for tests and reports.
    pub fn notifications_per_user(&self) -> Vec<usize> {
        let mut counts = vec![0; self.user_ids.len()];
        for notification in &self.notifications {
            counts[notification.user as usize] += 1;
        }
        counts
    }
}

/// Rows per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub users: usize,
    pub posts: usize,
    pub comments: usize,
    pub post_reactions: usize,
    pub comment_reactions: usize,
    pub notifications: usize,
}

impl Sizes {
    pub fn total(&self) -> usize {
        self.users
            + self.posts
            + self.comments
            + self.post_reactions
            + self.comment_reactions
            + self.notifications
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::Table;
    use crate::load::write_table;

    const END: i64 = 1_796_000_000 * MICROS_PER_SECOND;

    fn generate(scale: f64, seed: u64) -> Dataset {
        let counts = Counts::at_scale(scale).unwrap();
        Dataset::generate(counts, seed, END, "pbkdf2:sha256:1$s$00".into(), |_| {}).unwrap()
    }

    fn copy_text(dataset: &Dataset) -> Vec<u8> {
        let mut out = Vec::new();
        for table in Table::ALL {
            write_table(dataset, table, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn counts_scale_and_stay_possible() {
        assert_eq!(Counts::at_scale(1.0).unwrap(), Counts::DEFAULT);
        let tenth = Counts::at_scale(0.1).unwrap();
        assert_eq!(
            (tenth.users, tenth.posts, tenth.post_reactions),
            (10_000, 100_000, 300_000)
        );
        let tiny = Counts::at_scale(0.000_01).unwrap();
        assert_eq!((tiny.users, tiny.posts), (2, 10));
        assert!(tiny.post_reactions <= tiny.users * tiny.posts / 2);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Counts::at_scale(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_and_another_seed_other_rows() {
        let first = copy_text(&generate(0.002, 42));
        assert_eq!(first, copy_text(&generate(0.002, 42)));
        assert_ne!(first, copy_text(&generate(0.002, 43)));
    }

    #[test]
    fn every_row_passes_the_domain_rules_and_the_counts_add_up() {
        let dataset = generate(0.003, 1);
        let sizes = dataset.sizes();
        let mut comment_count = 0;
        let mut post_reactions = 0;
        for i in 0..sizes.users {
            dataset.user(i).unwrap();
        }
        let mut previous = i64::MIN;
        for i in 0..sizes.posts {
            let post = dataset.post(i).unwrap();
            assert!(post.created_at >= previous, "ids grow with creation time");
            previous = post.created_at;
            assert!(post.updated_at.is_none_or(|u| u >= post.created_at));
            comment_count += post.comment_count;
            post_reactions += post.reaction_counts.iter().sum::<i64>();
        }
        assert_eq!(comment_count as usize, sizes.comments);
        assert_eq!(post_reactions as usize, sizes.post_reactions);
        for i in 0..sizes.comments {
            let comment = dataset.comment(i).unwrap();
            let post = dataset.post(comment.post_id as usize - 1).unwrap();
            assert!(comment.created_at >= post.created_at);
            assert_eq!(comment.modified, comment.updated_at.is_some());
        }
        let mut pairs = HashSet::new();
        for i in 0..sizes.post_reactions {
            let reaction = dataset.post_reaction(i);
            assert!(pairs.insert((reaction.user_id.key(), reaction.target_id)));
        }
    }

    #[test]
    fn notifications_are_what_the_api_would_have_sent() {
        let dataset = generate(0.003, 2);
        let sizes = dataset.sizes();
        let others_comments = (0..sizes.comments)
            .map(|i| dataset.comment(i).unwrap())
            .filter(|c| *dataset.post(c.post_id as usize - 1).unwrap().owner_id != *c.user_id)
            .count();
        let others_reactions = (0..sizes.post_reactions)
            .map(|i| dataset.post_reaction(i))
            .filter(|r| *dataset.post(r.target_id as usize - 1).unwrap().owner_id != *r.user_id)
            .count();
        assert_eq!(sizes.notifications, others_comments + others_reactions);
        let mut previous = i64::MIN;
        for i in 0..sizes.notifications {
            let n = dataset.notification(i);
            assert_ne!(
                n.user_id, n.actor_id,
                "nobody is notified of their own doing"
            );
            let post = dataset.post(n.post_id as usize - 1).unwrap();
            assert_eq!(n.user_id, post.owner_id, "the post's owner is notified");
            assert!(n.created_at >= previous, "ids grow with creation time");
            previous = n.created_at;
            match n.kind {
                NotificationKind::Commented => {
                    let comment = dataset.comment(n.comment_id.unwrap() as usize - 1).unwrap();
                    assert_eq!((comment.post_id, comment.user_id), (n.post_id, n.actor_id));
                }
                NotificationKind::Reacted => assert_eq!(n.comment_id, None),
            }
        }
    }

    #[test]
    fn a_few_users_do_a_lot_and_most_users_little() {
        let dataset = generate(0.1, 2026);
        let mut posts = dataset.posts_per_user();
        posts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(
            posts[0] >= 8_000,
            "the most active user writes ~10%: {}",
            posts[0]
        );
        assert!(posts[3] >= 2_000, "{:?}", &posts[..4]);
        assert!(
            posts[posts.len() / 2] <= 3,
            "median {}",
            posts[posts.len() / 2]
        );
        let mut notified = dataset.notifications_per_user();
        notified.sort_unstable_by(|a, b| b.cmp(a));
        assert!(notified[0] >= 10_000, "{}", notified[0]);
        assert!(
            notified[notified.len() / 2] <= 20,
            "{}",
            notified[notified.len() / 2]
        );
    }

    #[test]
    fn texts_are_korean_and_english_of_varied_lengths() {
        let dataset = generate(0.002, 3);
        let contents: Vec<String> = (0..dataset.sizes().posts)
            .map(|i| dataset.post(i).unwrap().content.into_inner())
            .collect();
        let korean = contents
            .iter()
            .filter(|c| c.chars().any(|ch| ('\u{AC00}'..='\u{D7A3}').contains(&ch)))
            .count();
        let share = korean as f64 / contents.len() as f64;
        assert!((0.5..0.7).contains(&share), "{share}");
        let longest = contents.iter().map(|c| c.chars().count()).max().unwrap();
        assert!(longest > 500, "{longest}");
    }
}
