/// Why a user was notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// Someone commented on my post (`type` 1, with `comment_id`).
    Commented,
    /// Someone reacted to my post (`type` 2, `comment_id` null).
    Reacted,
}

impl NotificationKind {
    pub fn code(self) -> i16 {
        match self {
            Self::Commented => 1,
            Self::Reacted => 2,
        }
    }

    pub fn from_code(code: i16) -> Option<Self> {
        match code {
            1 => Some(Self::Commented),
            2 => Some(Self::Reacted),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in [NotificationKind::Commented, NotificationKind::Reacted] {
            assert_eq!(NotificationKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(NotificationKind::from_code(3), None);
    }
}
