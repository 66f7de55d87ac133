//! Korean and English text of realistic lengths: names, nicknames, bios,
//! posts and comments. Sentences are strung from word lists and cut to a
//! length drawn from a log-normal law (most posts are a line or two, a few
//! run to the limit); the caller passes every result through the domain's
//! own type, so nothing here has to be trusted.

use rand::Rng;
use rand::seq::IndexedRandom;

const KO_FAMILY: &[&str] = &[
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황",
    "안", "송", "류", "홍",
];
const KO_GIVEN: &[&str] = &[
    "민준", "서연", "지우", "하준", "서윤", "도윤", "지민", "예준", "하은", "시우", "수아", "주원",
    "지호", "다은", "현우", "채원", "은우", "유진", "건우", "지아", "우진", "소율", "선우", "윤서",
    "민서", "예린", "태윤", "가은", "승현", "나연",
];
const KO_ROMAN_GIVEN: &[&str] = &[
    "minjun", "seoyeon", "jiwoo", "hajun", "seoyun", "doyun", "jimin", "yejun", "haeun", "siwoo",
    "sua", "juwon", "jiho", "daeun", "hyunwoo", "chaewon", "eunwoo", "yujin", "gunwoo", "jia",
];
const KO_ROMAN_FAMILY: &[&str] = &[
    "kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim", "han", "oh", "seo",
];
const EN_GIVEN: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Sophia", "Mason", "Amelia",
    "Logan", "Harper", "James", "Ella", "Jack", "Grace", "Leo", "Chloe", "Owen", "Zoe", "Ryan",
    "Nora", "Adam",
];
const EN_FAMILY: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Davis", "Wilson", "Moore", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Hill",
];
const NICKNAMES: &[&str] = &[
    "커피러버",
    "야근요정",
    "주말등산러",
    "고양이집사",
    "강아지아빠",
    "빵순이",
    "새벽코더",
    "여행중",
    "책벌레",
    "runner",
    "night owl",
    "coffee addict",
    "the builder",
    "pixel pusher",
    "dog person",
    "밥 잘 사주는 사람",
    "tiny chef",
    "code monkey",
    "월요병 환자",
    "sunny side up",
];
const BIOS: &[&str] = &[
    "서울에 사는 개발자입니다. 커피와 고양이를 좋아해요.",
    "주말마다 산에 갑니다 ⛰️",
    "사진 찍고 글 쓰는 사람",
    "맛집 기록용 계정",
    "Backend engineer. Opinions are my own.",
    "Coffee, code, repeat.",
    "Trying to read 50 books this year 📚",
    "Dog mom. Runner. Terrible cook.",
    "부산 ↔ 서울, 기차 타는 게 일상",
    "Designer by day, baker by night.",
    "오늘도 무사히 퇴근하기를",
    "Learning Korean, one drama at a time.",
];
const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.kr",
];

const KO_WORDS: &[&str] = &[
    "오늘",
    "정말",
    "너무",
    "진짜",
    "날씨가",
    "좋네요",
    "커피",
    "한잔",
    "하면서",
    "생각했는데",
    "회사",
    "집에",
    "가는",
    "길에",
    "친구랑",
    "맛있는",
    "저녁을",
    "먹었어요",
    "주말에는",
    "산책",
    "하려고",
    "합니다",
    "요즘",
    "바빠서",
    "글을",
    "못",
    "썼네요",
    "드디어",
    "프로젝트가",
    "끝났다",
    "다들",
    "어떻게",
    "지내세요",
    "비가",
    "와서",
    "그런지",
    "기분이",
    "조금",
    "우울해요",
    "새로",
    "산",
    "책이",
    "재밌어요",
    "고양이가",
    "키보드",
    "위에서",
    "자고",
    "있어요",
    "운동",
    "시작한",
    "지",
    "일주일",
    "째",
    "아침에",
    "일찍",
    "일어나는",
    "게",
    "제일",
    "어려워요",
    "여행",
    "가고",
    "싶다",
    "제주도",
    "바다",
    "보면서",
    "멍때리기",
    "라면",
    "끓여",
    "먹는",
    "중",
    "내일은",
    "월요일",
    "이라니",
    "믿을",
    "수",
    "없어",
    "코드",
    "리뷰",
    "받는",
    "중인데",
    "긴장되네요",
    "점심",
    "메뉴",
    "추천",
    "받아요",
    "이번",
    "달",
    "목표는",
    "꾸준히",
    "기록하기",
    "사진",
    "올려봅니다",
    "감사해요",
];
const EN_WORDS: &[&str] = &[
    "today",
    "I",
    "finally",
    "tried",
    "the",
    "new",
    "coffee",
    "place",
    "near",
    "work",
    "and",
    "it",
    "was",
    "honestly",
    "great",
    "weekend",
    "plans",
    "hiking",
    "with",
    "friends",
    "if",
    "weather",
    "holds",
    "up",
    "just",
    "shipped",
    "a",
    "feature",
    "that",
    "took",
    "three",
    "weeks",
    "my",
    "cat",
    "knocked",
    "over",
    "plant",
    "again",
    "reading",
    "book",
    "about",
    "history",
    "of",
    "maps",
    "anyone",
    "else",
    "watching",
    "this",
    "show",
    "can't",
    "believe",
    "Monday",
    "already",
    "made",
    "pasta",
    "from",
    "scratch",
    "for",
    "first",
    "time",
    "long",
    "day",
    "but",
    "good",
    "one",
    "train",
    "delayed",
    "so",
    "here",
    "is",
    "photo",
    "sunset",
    "thinking",
    "learning",
    "Korean",
    "slowly",
    "surely",
    "rain",
    "all",
    "week",
    "need",
    "vacation",
    "best",
    "burger",
    "in",
    "town",
    "thanks",
    "everyone",
    "who",
    "came",
    "yesterday",
    "code",
    "review",
    "went",
    "better",
    "than",
    "expected",
];
const KO_ENDINGS: &[&str] = &[".", "!", "~", "ㅎㅎ", "ㅋㅋㅋ", "...", "?"];
const EN_ENDINGS: &[&str] = &[".", "!", "?", "...", " :)", " lol."];
const EMOJI: &[&str] = &[
    "😀", "👍", "🎉", "❤️", "😂", "🙏", "☕", "🔥", "😅", "🌧️", "📸",
];

/// The language of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Korean,
    English,
}

impl Language {
    /// Korean for about 60% of texts: the service's users are mostly in Korea.
    pub fn draw(rng: &mut impl Rng) -> Self {
        if rng.random_bool(0.6) {
            Self::Korean
        } else {
            Self::English
        }
    }
}

fn pick<'a>(rng: &mut impl Rng, words: &[&'a str]) -> &'a str {
    words.choose(rng).copied().unwrap_or("글")
}

/// A display name of 2 to 16 characters: "김민준" or "Emma Johnson".
pub fn display_name(rng: &mut impl Rng, language: Language) -> String {
    match language {
        Language::Korean => format!("{}{}", pick(rng, KO_FAMILY), pick(rng, KO_GIVEN)),
        Language::English => {
            let full = format!("{} {}", pick(rng, EN_GIVEN), pick(rng, EN_FAMILY));
            if full.chars().count() <= 16 {
                full
            } else {
                pick(rng, EN_GIVEN).to_owned()
            }
        }
    }
}

/// A user id made unique by the user's number: "minjun.kim4821",
/// "Emma_Hill77". Unique ignoring letter case because the number is.
pub fn user_id(rng: &mut impl Rng, language: Language, number: usize) -> String {
    let (given, family) = match language {
        Language::Korean => (
            pick(rng, KO_ROMAN_GIVEN).to_owned(),
            pick(rng, KO_ROMAN_FAMILY).to_owned(),
        ),
        Language::English => (
            pick(rng, EN_GIVEN).to_owned(),
            pick(rng, EN_FAMILY).to_owned(),
        ),
    };
    let separator = pick(rng, &[".", "_", "-", ""]);
    let id = format!("{given}{separator}{family}{number}");
    // Most people type their id in lower case; some keep capitals.
    if rng.random_bool(0.8) {
        id.to_ascii_lowercase()
    } else {
        id
    }
}

pub fn nickname(rng: &mut impl Rng) -> String {
    pick(rng, NICKNAMES).to_owned()
}

pub fn bio(rng: &mut impl Rng) -> String {
    pick(rng, BIOS).to_owned()
}

pub fn email(rng: &mut impl Rng, user_id: &str) -> String {
    format!(
        "{}@{}",
        user_id.to_ascii_lowercase(),
        pick(rng, EMAIL_DOMAINS)
    )
}

/// A length in characters drawn from a log-normal law with the given
/// median and spread, within `1..=max`.
pub fn length(rng: &mut impl Rng, median: f64, sigma: f64, max: usize) -> usize {
    // Box–Muller: one standard normal draw from two uniform ones.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let drawn = (median * (sigma * normal).exp()).round();
    (drawn as usize).clamp(1, max)
}

/// A text of exactly `chars` characters (or fewer, if cut white space would
/// end it): sentences of the language, with the odd emoji and, in long
/// texts, paragraph breaks. It never starts with white space, so it is
/// never blank.
pub fn prose(rng: &mut impl Rng, language: Language, chars: usize) -> String {
    let (words, endings, space) = match language {
        Language::Korean => (KO_WORDS, KO_ENDINGS, " "),
        Language::English => (EN_WORDS, EN_ENDINGS, " "),
    };
    let mut text = String::with_capacity(chars * 3);
    let mut count = 0;
    while count < chars {
        let sentence_words = rng.random_range(3..12);
        for w in 0..sentence_words {
            if count > 0 && w == 0 {
                let separator = if chars > 400 && rng.random_bool(0.15) {
                    "\n\n"
                } else {
                    space
                };
                text.push_str(separator);
                count += separator.chars().count();
            } else if w > 0 {
                text.push_str(space);
                count += 1;
            }
            let word = pick(rng, words);
            text.push_str(word);
            count += word.chars().count();
        }
        let ending = if rng.random_bool(0.1) {
            pick(rng, EMOJI)
        } else {
            pick(rng, endings)
        };
        text.push_str(ending);
        count += ending.chars().count();
    }
    let cut: String = text.chars().take(chars).collect();
    cut.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn prose_has_the_asked_length_and_never_starts_blank() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for chars in [1, 2, 5, 80, 999, 1000, 3000] {
            for language in [Language::Korean, Language::English] {
                let text = prose(&mut rng, language, chars);
                let length = text.chars().count();
                assert!(
                    length <= chars && length >= chars.min(1),
                    "{chars}: {text:?}"
                );
                assert!(!text.starts_with(char::is_whitespace), "{text:?}");
            }
        }
    }

    #[test]
    fn korean_prose_is_korean() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let text = prose(&mut rng, Language::Korean, 200);
        let hangul = text
            .chars()
            .filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c))
            .count();
        assert!(hangul > 100, "{text}");
    }

    #[test]
    fn lengths_follow_the_median_and_stay_in_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut lengths: Vec<usize> = (0..10_001)
            .map(|_| length(&mut rng, 60.0, 1.0, 3000))
            .collect();
        lengths.sort_unstable();
        let median = lengths[5_000];
        assert!((50..=70).contains(&median), "{median}");
        assert!(lengths[0] >= 1 && lengths[10_000] <= 3000);
        assert!(lengths[9_990] > 500, "a long tail: {}", lengths[9_990]);
    }
}
