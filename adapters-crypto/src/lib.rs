//! The adapters that burn CPU or draw randomness: PBKDF2 hashing on a
//! bounded pool of blocking threads ([`Pbkdf2Hasher`]) and the random
//! secrets handed to clients ([`RandomSecrets`]). They sit outside the
//! application so that its use cases stay deterministic under test and free
//! of any async runtime. Errors: a saturated pool is `HashError::Busy` (the
//! HTTP layer answers 503), a failed hashing task `HashError::Failed`.

mod hashing;
mod secrets;

pub use hashing::Pbkdf2Hasher;
pub use secrets::RandomSecrets;
