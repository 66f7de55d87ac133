//! The rules of minifb that hold whatever stores or serves the data.
//!
//! Every value that passed a rule of the contract gets a type here (`UserId`,
//! `Password`, `PostContent`, ...): a private field and a constructor that
//! returns [`ValidationError`], whose message names the field, the rule and
//! the limit in words a client developer can act on. Code that holds one of
//! these types never checks it again. This crate does no I/O, has no async
//! runtime, and knows no framework or database, so any binary can reuse it.

mod ids;
mod notification;
mod page;
mod password;
mod post;
mod reaction;
mod retry;
mod text;
mod user;
mod validation;

pub use ids::{CommentId, NotificationId, PostId};
pub use notification::NotificationKind;
pub use page::PageLimit;
pub use password::{DIGEST_LEN, PasswordHash, SALT_LEN};
pub use post::{CommentContent, PostContent};
pub use reaction::ReactionKind;
pub use retry::IdempotencyKey;
pub use user::{Bio, DisplayName, Email, Nickname, Password, UserId, UserKey};
pub use validation::{Rule, ValidationError};
