//! Vietnamese text normalisation and matching.
//!
//! Three tools, used together:
//!
//! - [`normalize`] is applied to every piece of stored text: NFC, trimmed,
//!   runs of whitespace collapsed to one space. Two devices that type the same
//!   name, one with a precomposed keyboard and one with combining marks, then
//!   store the same bytes.
//! - [`fold`] turns text into a lowercase, mark-free form for index columns,
//!   so that a database can prefilter with `LIKE` before the exact rule runs
//!   ([`SearchQuery::like_patterns`] builds the patterns).
//! - [`SearchQuery`] applies the matching rule.
//!
//! # The matching rule
//!
//! Text and query are split into words: runs of letters and digits, with the
//! combining marks that belong to them. A query matches a text when every query
//! word is a prefix of some text word, in any order. Letters compare case-
//! insensitively, and:
//!
//! - a query letter typed **without** marks matches the same base letter with
//!   any marks: `e` matches `e ê ế ề ễ ẹ …`, `d` matches `d đ`, `u` matches `ư`;
//! - a query letter typed **with** marks matches only exactly that letter:
//!   `ễ` matches `ễ`/`Ễ` and nothing else, `đ` does not match `d`.
//!
//! So `nguyen` finds `Nguyễn`, but `Nguyên` does not find `Nguyễn`: a clerk who
//! took the trouble to type the tones gets exactly the name they typed, and one
//! who typed without tones gets every spelling.
//!
//! # Numbers with separators
//!
//! Phone and ID numbers are written with spaces, dots or hyphens
//! (`0912 345 678`, `0912.345.678`). Words made only of ASCII digits that are
//! separated by whitespace alone, or by exactly one `.` or `-`, are chained:
//! a query word can run on from one group into the next. So `0912345678`,
//! `0912 345 678`, `345678` and `345 678` all find `0912 345 678`, and
//! `0912 345 678` finds `0912345678`. A number is matched from the start of
//! any of its groups, never from the middle of a group: `2345` does not find
//! `0912 345 678`. (Matching from the middle would make every short number
//! match almost every phone number.) The same chaining applies to the query,
//! so a query typed with spaces behaves like the same query without them.
//! Digits always match exactly.
//!
//! An empty query (nothing but spaces and punctuation) matches every text,
//! which is what a search box shows before anything is typed.

use unicode_normalization::UnicodeNormalization;

/// NFC, trimmed, with every run of whitespace replaced by one space.
pub fn normalize(s: &str) -> String {
    let nfc: String = s.nfc().collect();
    let mut out = String::with_capacity(nfc.len());
    for word in nfc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Lowercase, without diacritics, `đ` → `d`, whitespace collapsed and trimmed.
///
/// For index columns and `LIKE` prefilters. `fold("  Đỗ  Thị Ngọc ")` is
/// `"do thi ngoc"`. Works the same on NFC and NFD input.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in decompose_lower(s) {
        if is_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(if c == 'đ' { 'd' } else { c });
    }
    out
}

/// The combining diacritical marks block. Vietnamese tones, the circumflex,
/// breve and horn all live here once a letter is decomposed.
fn is_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// NFD, lowercase, NFD again: lowercasing can produce new decomposable
/// characters (`İ` becomes `i` + U+0307), and both [`fold`] and the matcher
/// must see the same character stream.
fn decompose_lower(s: &str) -> impl Iterator<Item = char> + '_ {
    s.nfd().flat_map(char::to_lowercase).nfd()
}

/// `đ` has no decomposition; it is treated as `d` carrying this mark, so that
/// `d` finds it and `đ` finds only it. U+0335 (combining short stroke overlay)
/// is the stroke, and a text that spells `d` + U+0335 is the same letter.
const STROKE_BIT: u32 = 0x335 - 0x300;

/// One letter or digit: its lowercase base and the set of marks on it, one bit
/// per code point of U+0300–U+036F. A set, because the order in which two
/// marks were typed (`e` + tilde + circumflex or the reverse) does not make a
/// different Vietnamese letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Letter {
    base: char,
    marks: u128,
}

impl Letter {
    /// Whether this query letter accepts the text letter `t`.
    fn accepts(self, t: Letter) -> bool {
        self.base == t.base && (self.marks == 0 || self.marks == t.marks)
    }
}

/// Text split into words, ready to be matched many times.
///
/// Build one per stored text when the same text is matched against many
/// queries (a list on screen); [`SearchQuery::matches`] builds one on the fly.
#[derive(Debug, Clone, Default)]
pub struct SearchText {
    /// Every letter of every word, words laid end to end.
    letters: Vec<Letter>,
    /// Per word: where it starts in `letters`, and where the chain of digit
    /// groups that begins with it ends (its own end if it does not chain).
    words: Vec<(usize, usize)>,
}

impl SearchText {
    pub fn new(text: &str) -> Self {
        let scan = scan(text);
        let mut words = vec![(0, 0); scan.words.len()];
        // Walk backwards so each chained word can take the end of the next.
        let mut chain_end = 0;
        for (i, w) in scan.words.iter().enumerate().rev() {
            if !w.chains_next {
                chain_end = w.end;
            }
            words[i] = (w.start, chain_end);
        }
        Self {
            letters: scan.letters,
            words,
        }
    }

    /// Whether `query` (a run of letters) is a prefix of some word, or of a
    /// chain of digit groups starting at some word.
    fn has_prefix(&self, query: &[Letter]) -> bool {
        self.words.iter().any(|&(start, end)| {
            end - start >= query.len()
                && query
                    .iter()
                    .zip(&self.letters[start..])
                    .all(|(q, t)| q.accepts(*t))
        })
    }
}

/// A search query, parsed once and matched against many texts.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    words: Vec<Vec<Letter>>,
}

impl SearchQuery {
    /// Parse what the user typed. Never fails: anything that is not a letter
    /// or digit only separates words.
    pub fn parse(query: &str) -> Self {
        let scan = scan(query);
        let mut words: Vec<Vec<Letter>> = Vec::new();
        let mut chaining = false;
        for w in &scan.words {
            let letters = &scan.letters[w.start..w.end];
            match words.last_mut() {
                // Digit groups typed with separators form one number.
                Some(last) if chaining => last.extend_from_slice(letters),
                _ => words.push(letters.to_vec()),
            }
            chaining = w.chains_next;
        }
        Self { words }
    }

    /// Whether the query has no words (it then matches everything).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `text` matches under the rule in the module documentation.
    pub fn matches(&self, text: &str) -> bool {
        self.is_empty() || self.matches_text(&SearchText::new(text))
    }

    /// [`Self::matches`] against a text that was split beforehand.
    pub fn matches_text(&self, text: &SearchText) -> bool {
        self.words.iter().all(|w| text.has_prefix(w))
    }

    /// `LIKE` patterns for a column holding [`fold`] of the text, to be
    /// combined with `AND`. Every text that matches the query satisfies all
    /// of them, so they are a safe prefilter; run [`Self::matches`] on what
    /// they return. No pattern contains `_` or an escape character.
    ///
    /// A number may be stored with separators between any of its digits, so
    /// its pattern allows anything between digits: `0912` gives `%0%9%1%2%`.
    pub fn like_patterns(&self) -> Vec<String> {
        self.words
            .iter()
            .map(|w| {
                let mut p = String::from("%");
                let number = w.iter().all(|l| l.base.is_ascii_digit());
                for l in w {
                    p.push(l.base);
                    if number {
                        p.push('%');
                    }
                }
                if !number {
                    p.push('%');
                }
                p
            })
            .collect()
    }
}

/// A word found by [`scan`]: its letters are `letters[start..end]`.
struct ScannedWord {
    start: usize,
    end: usize,
    /// This word and the next are digit groups of one number.
    chains_next: bool,
}

struct Scan {
    letters: Vec<Letter>,
    words: Vec<ScannedWord>,
}

/// What lies between two words, enough to tell whether two digit groups
/// belong to one number.
#[derive(Default)]
struct Gap {
    spaces: usize,
    others: usize,
    last_other: char,
}

impl Gap {
    fn joins_numbers(&self) -> bool {
        (self.others == 0 && self.spaces > 0)
            || (self.others == 1 && self.spaces == 0 && matches!(self.last_other, '.' | '-'))
    }
}

fn scan(s: &str) -> Scan {
    let mut letters: Vec<Letter> = Vec::new();
    let mut words: Vec<ScannedWord> = Vec::new();
    // Per word: whether it is made only of ASCII digits, and the gap before it.
    let mut digits_only: Vec<bool> = Vec::new();
    let mut gaps_before: Vec<Gap> = Vec::new();
    let mut gap = Gap::default();
    let mut in_word = false;

    for c in decompose_lower(s) {
        if is_mark(c) {
            // A mark on a space or punctuation means nothing.
            if in_word && let Some(l) = letters.last_mut() {
                l.marks |= 1u128 << (c as u32 - 0x300);
            }
            continue;
        }
        let (base, marks) = if c == 'đ' {
            ('d', 1u128 << STROKE_BIT)
        } else {
            (c, 0)
        };
        if base.is_alphanumeric() {
            if !in_word {
                words.push(ScannedWord {
                    start: letters.len(),
                    end: letters.len(),
                    chains_next: false,
                });
                digits_only.push(true);
                gaps_before.push(std::mem::take(&mut gap));
                in_word = true;
            }
            letters.push(Letter { base, marks });
            if let Some(w) = words.last_mut() {
                w.end = letters.len();
            }
            if !base.is_ascii_digit()
                && let Some(d) = digits_only.last_mut()
            {
                *d = false;
            }
        } else {
            in_word = false;
            if c.is_whitespace() {
                gap.spaces += 1;
            } else {
                gap.others += 1;
                gap.last_other = c;
            }
        }
    }
    for i in 1..words.len() {
        words[i - 1].chains_next =
            digits_only[i - 1] && digits_only[i] && gaps_before[i].joins_numbers();
    }
    Scan { letters, words }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    fn m(query: &str, text: &str) -> bool {
        SearchQuery::parse(query).matches(text)
    }

    #[test]
    fn normalize_composes_trims_and_collapses() {
        assert_eq!(
            normalize("  Nguye\u{302}\u{303}n \t Văn\nAn  "),
            "Nguyễn Văn An"
        );
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \u{00A0} "), "");
    }

    #[test]
    fn fold_strips_tones_hats_horns_and_the_stroke() {
        assert_eq!(fold("  Đỗ  Thị Ngọc "), "do thi ngoc");
        assert_eq!(fold("NGUYỄN VĂN ƯỚC"), "nguyen van uoc");
        assert_eq!(fold("Trương Ơn"), "truong on");
        assert_eq!(fold("đĐ"), "dd");
        // NFD input folds the same.
        assert_eq!(fold("Nguye\u{302}\u{303}n"), "nguyen");
        assert_eq!(fold("0912.345.678"), "0912.345.678");
    }

    #[test]
    fn unmarked_query_finds_every_spelling() {
        assert!(m("nguyen", "Nguyễn"));
        assert!(m("nguyen", "Nguyên"));
        assert!(m("Nguyen Van", "Nguyễn Văn An"));
        assert!(m("van an", "NGUYỄN VĂN AN"));
        assert!(m("d", "Đỗ"));
        assert!(m("do", "Đỗ Thị Hà"));
        assert!(m("thi ha do", "Đỗ Thị Hà"), "word order does not matter");
        assert!(m("ng", "Nguyễn"), "prefixes match");
        assert!(m("uoc", "Ước"));
    }

    #[test]
    fn marked_query_finds_only_that_letter() {
        assert!(m("Nguyễn", "Nguyễn"));
        assert!(m("nguyễn", "NGUYỄN"));
        assert!(!m("Nguyễn", "Nguyên"));
        assert!(!m("Nguyên", "Nguyễn"));
        assert!(!m("đỗ", "Do"));
        assert!(!m("đ", "Dung"));
        assert!(m("đ", "Đinh"));
        assert!(m("Đinh", "đinh"));
        // Marks on some letters only: the unmarked ones stay lenient.
        assert!(m("Nguyễn van", "Nguyễn Văn"));
        assert!(!m("Nguyễn văn", "Nguyễn Vân"));
        assert!(!m("ư", "u"));
        assert!(m("u", "ư"));
    }

    #[test]
    fn words_must_all_be_found() {
        assert!(!m("nguyen binh", "Nguyễn Văn An"));
        assert!(!m("an nguyen", "Nguyễn Văn"));
        assert!(
            !m("nguyenvan", "Nguyễn Văn"),
            "a word is not split across words"
        );
        assert!(!m("guyen", "Nguyễn"), "words match from their start");
    }

    #[test]
    fn nfc_and_nfd_behave_the_same() {
        let nfc = "Nguyễn Văn Đức";
        let nfd: String = nfc.nfd().collect();
        for (q, t) in [
            (nfc, nfd.as_str()),
            (nfd.as_str(), nfc),
            (nfd.as_str(), nfd.as_str()),
        ] {
            assert!(m(q, t));
        }
        assert!(!m(&"Nguyên".nfd().collect::<String>(), nfc));
        // Marks typed in the other order are the same letter.
        assert!(m("e\u{303}\u{302}", "ễ"));
    }

    #[test]
    fn empty_query_matches_everything() {
        assert!(SearchQuery::parse("").is_empty());
        assert!(SearchQuery::parse(" - ,").is_empty());
        assert!(m("", "Nguyễn"));
        assert!(m("  ", ""));
        assert!(!m("a", ""));
    }

    #[test]
    fn digits_match_exactly() {
        assert!(m("001", "CCCD 001203004567"));
        assert!(m("001203004567", "CCCD 001203004567"));
        assert!(!m("002", "CCCD 001203004567"));
        assert!(
            !m("1", "CCCD 001203004567"),
            "numbers match from their start"
        );
        assert!(m("12a", "Số 12A"));
    }

    #[test]
    fn phone_numbers_match_across_separators() {
        for text in ["0912 345 678", "0912.345.678", "0912-345-678", "0912345678"] {
            assert!(m("0912345678", text), "{text}");
            assert!(m("0912 345 678", text), "{text}");
            assert!(m("0912.345.678", text), "{text}");
            assert!(m("0912", text), "{text}");
            assert!(m("091234", text), "{text}");
        }
        assert!(m("345678", "0912 345 678"), "from the start of any group");
        assert!(m("345 678", "0912.345.678"));
        assert!(m("678", "0912 345 678"));
        assert!(!m("2345", "0912 345 678"), "not from the middle of a group");
        assert!(!m("0912345679", "0912 345 678"));
        assert!(m("nguyen 0912345", "Nguyễn An, 0912 345 678"));
        // Other punctuation or two separators break the number.
        assert!(!m("0912345", "0912, 345"));
        assert!(!m("0912345", "0912 - 345"));
        assert!(!m("0912345", "0912/345"));
        // Groups joined only when both sides are pure digits.
        assert!(!m("a12345", "A12 345"));
    }

    #[test]
    fn like_patterns_prefilter_the_fold_column() {
        let q = SearchQuery::parse("Nguyễn 0912 345");
        assert_eq!(q.like_patterns(), ["%nguyen%", "%0%9%1%2%3%4%5%"]);
        assert!(SearchQuery::parse("").like_patterns().is_empty());
    }

    #[test]
    fn search_text_can_be_reused() {
        let text = SearchText::new("Trần Thị Bích Ngọc");
        assert!(SearchQuery::parse("tran ngoc").matches_text(&text));
        assert!(SearchQuery::parse("Bích").matches_text(&text));
        assert!(!SearchQuery::parse("Bịch").matches_text(&text));
    }

    // ---- properties ----

    /// Vietnamese-looking text: letters in NFC and NFD, capitals, digits,
    /// spaces and number separators.
    fn viet_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "a",
            "ă",
            "â",
            "á",
            "ầ",
            "ẵ",
            "e",
            "ê",
            "ễ",
            "ế",
            "E",
            "Ê",
            "Ễ",
            "i",
            "ị",
            "o",
            "ô",
            "ơ",
            "ờ",
            "ộ",
            "u",
            "ư",
            "ữ",
            "ự",
            "y",
            "ỷ",
            "d",
            "đ",
            "Đ",
            "D",
            "n",
            "g",
            "h",
            "N",
            "T",
            "e\u{302}\u{303}",
            "o\u{31b}\u{300}",
            "u\u{31b}",
            "d\u{335}",
            "\u{301}",
            "0",
            "1",
            "9",
            " ",
            "  ",
            ".",
            "-",
            ",",
            "\t",
        ]);
        prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
    }

    fn arbitrary_text() -> impl Strategy<Value = String> {
        prop_oneof![viet_text(), any::<String>()]
    }

    /// The rule for queries without diacritics, written against folded strings
    /// as an independent model of the matcher.
    fn folded_model(query: &str, text: &str) -> bool {
        fn split(s: &str) -> (Vec<String>, Vec<String>) {
            let (mut words, mut gaps) = (Vec::new(), vec![String::new()]);
            let mut in_word = false;
            for c in s.chars() {
                if c.is_alphanumeric() {
                    if !in_word {
                        words.push(String::new());
                        in_word = true;
                    }
                    words.last_mut().unwrap().push(c);
                } else {
                    if in_word {
                        gaps.push(String::new());
                        in_word = false;
                    }
                    gaps.last_mut().unwrap().push(c);
                }
            }
            (words, gaps)
        }
        fn chains(words: &[String], gaps: &[String], i: usize) -> bool {
            let digits = |w: &String| w.chars().all(|c| c.is_ascii_digit());
            if i + 1 >= words.len() {
                return false;
            }
            let gap = &gaps[i + 1];
            digits(&words[i])
                && digits(&words[i + 1])
                && (gap == "." || gap == "-" || (!gap.is_empty() && gap.trim().is_empty()))
        }
        let (qw, qg) = split(&fold(query));
        let mut query_words: Vec<String> = Vec::new();
        let mut joining = false;
        for i in 0..qw.len() {
            if joining {
                query_words.last_mut().unwrap().push_str(&qw[i]);
            } else {
                query_words.push(qw[i].clone());
            }
            joining = chains(&qw, &qg, i);
        }
        let (tw, tg) = split(&fold(text));
        let streams: Vec<String> = (0..tw.len())
            .map(|i| {
                let mut s = tw[i].clone();
                let mut j = i;
                while chains(&tw, &tg, j) {
                    j += 1;
                    s.push_str(&tw[j]);
                }
                s
            })
            .collect();
        query_words
            .iter()
            .all(|q| streams.iter().any(|s| s.starts_with(q.as_str())))
    }

    fn like(pattern: &str, value: &str) -> bool {
        // `%` only, as produced by like_patterns.
        let parts: Vec<&str> = pattern.split('%').collect();
        let mut rest = value;
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                match rest.strip_prefix(part) {
                    Some(r) => rest = r,
                    None => return false,
                }
            } else if let Some(at) = rest.find(part) {
                rest = &rest[at + part.len()..];
            } else {
                return false;
            }
        }
        parts.last().is_none_or(|p| p.is_empty() || rest.is_empty())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fold_is_idempotent(s in arbitrary_text()) {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn fold_ignores_normalize(s in arbitrary_text()) {
            prop_assert_eq!(fold(&normalize(&s)), fold(&s));
        }

        #[test]
        fn normalize_is_idempotent(s in arbitrary_text()) {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn text_matches_itself(s in arbitrary_text()) {
            prop_assert!(m(&s, &s));
            let nfd: String = s.nfd().collect();
            prop_assert!(m(&nfd, &s));
        }

        #[test]
        fn unmarked_query_is_the_folded_rule(q in arbitrary_text(), t in arbitrary_text()) {
            let q = fold(&q);
            prop_assert_eq!(m(&q, &t), folded_model(&q, &t), "query {:?} text {:?}", q, t);
        }

        #[test]
        fn unmarked_query_on_related_text(t in viet_text(), start in 0usize..24, len in 0usize..12) {
            // Queries cut from the text itself, so that matches are common.
            let folded = fold(&t);
            let chars: Vec<char> = folded.chars().collect();
            let start = start.min(chars.len());
            let end = (start + len).min(chars.len());
            let q: String = chars[start..end].iter().collect();
            prop_assert_eq!(m(&q, &t), folded_model(&q, &t), "query {:?} text {:?}", q, t);
        }

        #[test]
        fn nfc_and_nfd_inputs_agree(q in viet_text(), t in viet_text()) {
            let expected = m(&q, &t);
            let (qc, qd): (String, String) = (q.nfc().collect(), q.nfd().collect());
            let (tc, td): (String, String) = (t.nfc().collect(), t.nfd().collect());
            prop_assert_eq!(m(&qc, &td), expected);
            prop_assert_eq!(m(&qd, &tc), expected);
            prop_assert_eq!(m(&qd, &td), expected);
        }

        #[test]
        fn like_patterns_never_drop_a_match(q in viet_text(), t in viet_text()) {
            let query = SearchQuery::parse(&q);
            if query.matches(&t) {
                let folded = fold(&t);
                for p in query.like_patterns() {
                    prop_assert!(like(&p, &folded), "pattern {:?} column {:?}", p, folded);
                }
            }
        }
    }
}
