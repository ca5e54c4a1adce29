//! What never leaves the process. By default, with [`Rules`] built from the configuration:
//! values under keys named like a secret in an event's metadata and its breadcrumbs' data, at
//! any depth ([`Rules::is_sensitive`]); secrets written inside strings ([`Rules::text`]); and
//! always the API key, wherever it appears in a payload ([`without_api_key`]). Runs on the
//! transport thread, after `before_send`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::config::Config;

/// What a scrubbed value becomes.
pub(crate) const SCRUBBED: &str = "[scrubbed]";

/// The names whose values are secrets, by default: sentry's server-side defaults (`password`,
/// `passwd`, `pwd`, `secret`, `api_key`, `apikey`, `access_token`, `auth`, `authorization`,
/// `credentials`, `mysql_pwd`, `private_key`, `privatekey`, `token`, `session`, `cookie`,
/// `set-cookie`, `csrf`), each as its words in lower case (see [`Rules::is_sensitive`]), so
/// that `api_key` also stands for `apiKey`, `API-KEY` and `x-api-key`.
const DEFAULT_WORDS: [&[&[u8]]; 18] = [
    &[b"password"],
    &[b"passwd"],
    &[b"pwd"],
    &[b"secret"],
    &[b"api", b"key"],
    &[b"apikey"],
    &[b"access", b"token"],
    &[b"auth"],
    &[b"authorization"],
    &[b"credentials"],
    &[b"mysql", b"pwd"],
    &[b"private", b"key"],
    &[b"privatekey"],
    &[b"token"],
    &[b"session"],
    &[b"cookie"],
    &[b"set", b"cookie"],
    &[b"csrf"],
];

/// [`signatures`] of [`DEFAULT_WORDS`].
const DEFAULT_SIGNATURES: u64 = {
    let mut bits = 0;
    let mut at = 0;
    while at < DEFAULT_WORDS.len() {
        let words = DEFAULT_WORDS[at];
        bits |= signature(words[0], words.len() == 1);
        at += 1;
    }
    bits
};

/// Bit `i` of entry `b` is set when the first word of `DEFAULT_WORDS[i]` ends with the byte
/// `b` (without its plural `s` when it is the entry's only word, as [`words_match`] compares
/// it): a name's word can start a match only with the entries its last byte picks.
const DEFAULT_BY_LAST_BYTE: [u32; 256] = {
    let mut table = [0; 256];
    let mut at = 0;
    while at < DEFAULT_WORDS.len() {
        let words = DEFAULT_WORDS[at];
        let first = words[0];
        let mut length = first.len();
        if words.len() == 1 && length > 1 && first[length - 1] == b's' {
            length -= 1;
        }
        table[first[length - 1] as usize] |= 1 << at;
        at += 1;
    }
    table
};

/// The bits of the entries of [`DEFAULT_WORDS`] that have one word.
const DEFAULT_SINGLE_WORDS: u32 = {
    let mut bits = 0;
    let mut at = 0;
    while at < DEFAULT_WORDS.len() {
        if DEFAULT_WORDS[at].len() == 1 {
            bits |= 1 << at;
        }
        at += 1;
    }
    bits
};

/// The entries of [`DEFAULT_WORDS`] whose first word `word` may match, by its last byte.
fn default_entries_ending_like(word: &[u8]) -> u32 {
    let last = |word: &[u8]| word.last().map_or(0, |&b| b.to_ascii_lowercase());
    let by_last = |byte: u8| DEFAULT_BY_LAST_BYTE[usize::from(byte)];
    (by_last(last(word)) & !DEFAULT_SINGLE_WORDS)
        | (by_last(last(singular(word))) & DEFAULT_SINGLE_WORDS)
}

/// A quick test before a name is matched: a name can match an entry only if it holds the first
/// two letters of the entry's first word, next to each other. The bit of a pair of bytes.
const fn bigram_bit(first: u8, second: u8) -> u64 {
    let hash = first.to_ascii_lowercase() as u32 * 31 + second.to_ascii_lowercase() as u32;
    1 << (hash % 64)
}

/// The bit of an entry's first word (`single`: the entry's only one, matched without its
/// plural `s`); every bit when it is shorter than two letters.
const fn signature(first: &[u8], single: bool) -> u64 {
    let length = match first {
        [.., b's' | b'S'] if single => first.len() - 1,
        _ => first.len(),
    };
    if length < 2 {
        u64::MAX
    } else {
        bigram_bit(first[0], first[1])
    }
}

/// The bits of entries' first words.
fn signatures(first_words: &[(&[u8], bool)]) -> u64 {
    first_words
        .iter()
        .fold(0, |bits, &(first, single)| bits | signature(first, single))
}

/// The bits of each pair of ASCII letters or digits next to each other in `name`.
fn name_bigrams(name: &[u8]) -> u64 {
    name.windows(2)
        .filter(|pair| pair.iter().all(u8::is_ascii_alphanumeric))
        .fold(0, |bits, pair| match pair {
            [first, second] => bits | bigram_bit(*first, *second),
            _ => bits,
        })
}

/// How many words of a name are kept on the stack while it is matched.
const MAX_INLINE_WORDS: usize = 16;

/// An entry's first word this long or longer also matches as the end of a longer word
/// (`dbpassword`, `xsrftoken`); shorter ones (`pwd`, `auth`, `csrf`, `api`) only whole.
const SUFFIX_MATCH_MIN: usize = 5;

/// What scrubbing does, from [`Config`]: on or off (`scrub_defaults`), and the names added to
/// [`DEFAULT_WORDS`] (`scrub_keys`, `ALLSTAK_SCRUB_KEYS`). Build it once; it is cheap to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rules {
    on: bool,
    /// The names added to the defaults, each as its words in lower case.
    extra_keys: Vec<Vec<Vec<u8>>>,
    /// [`signatures`] of `extra_keys`.
    extra_signatures: u64,
}

impl Rules {
    /// The default rules: on, with [`DEFAULT_WORDS`] only.
    pub(crate) const DEFAULT: Self = Self {
        on: true,
        extra_keys: Vec::new(),
        extra_signatures: 0,
    };

    /// The rules `config` asks for.
    pub(crate) fn from_config(config: &Config) -> Self {
        Self::new(config.scrub_defaults, &config.scrub_keys)
    }

    /// On or off, with `extra_keys` added to the defaults.
    fn new(on: bool, extra_keys: &[String]) -> Self {
        let extra_keys: Vec<Vec<Vec<u8>>> =
            extra_keys.iter().map(|name| lower_words(name)).collect();
        let first_words: Vec<(&[u8], bool)> = extra_keys
            .iter()
            .filter_map(|words| Some((words.first()?.as_slice(), words.len() == 1)))
            .collect();
        Self {
            on,
            extra_signatures: signatures(&first_words),
            extra_keys,
        }
    }

    /// Whether the value under `key` is a secret.
    ///
    /// A name is split into words: runs of ASCII letters and digits, cut at every other
    /// character (`_`, `-`, `.`, space…), where a lower-case letter or a digit meets an
    /// upper-case one (`apiKey`), before the last of several capitals followed by a lower-case
    /// letter (`APIKey` is `API`, `Key`), and between letters and digits (`password2`). An
    /// entry (`api_key`) is split the same way, and matches when its words appear in a row in
    /// the name's, in any case, where the last may carry a plural `s` (`tokens`,
    /// `credential`), and the first, when it has at least five letters, may end a longer word
    /// (`dbpassword`, `xsrftoken`). So `auth` hits `auth`, `x-auth-token`, `authToken`,
    /// `auth_method`, not `author`, `authority`, `oauth` or `authenticated`; `token` hits
    /// `refresh_token`, `csrfToken`, `xsrftoken`, not `tokenizer`.
    pub(crate) fn is_sensitive(&self, key: &str) -> bool {
        self.is_sensitive_name(key.as_bytes())
    }

    /// `text` with every secret written in it replaced by `[scrubbed]`, in one pass; borrowed
    /// when there is none (no allocation).
    ///
    /// - `name: "value"`, `name: value`, `name=value` (also `"name": …`, and `Some(..)`,
    ///   `Type { .. }`, `(..)`, `[..]`, `{..}` values: Rust's Debug output) when `name` is
    ///   sensitive ([`Self::is_sensitive`]): the value goes, the name stays. An unquoted value
    ///   ends at a space, `,`, `;`, `&`, a closing bracket or a quote; after a `Cookie:`,
    ///   `Set-Cookie:` or `Authorization:` name, at the end of the line. `name::path` and
    ///   `name == x` are no pairs.
    /// - `Bearer <credential>` (16 characters or more) and `Basic <base64 of user:password>`
    ///   (`Bearer`, `BEARER`, `Basic`, `BASIC`; after a sensitive name, in any case and with
    ///   any credential): the credential goes, the scheme stays.
    /// - URL userinfo: `https://user:pass@host` becomes `https://[scrubbed]@host`; a query's
    ///   values go by the pair rule (`?token=…&page=2`).
    /// - JWTs: `eyJ…` `.` `eyJ…` `.` `…`, in base64url.
    /// - AWS access key ids: `AKIA` or `ASIA` and 16 upper-case letters or digits.
    /// - Card numbers: 13 to 19 digits, single spaces or dashes between them, starting with 2
    ///   to 6 (the card networks' ranges: no millisecond timestamp), passing Luhn's check.
    /// - Emails: `local@domain.tld`, a domain of two labels or more, its last all letters.
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.on {
            return Cow::Borrowed(text);
        }
        let bytes = text.as_bytes();
        match needed_scan(bytes) {
            Scan::None => Cow::Borrowed(text),
            Scan::Pairs => self.pairs(text),
            Scan::Full => self.full_scan(text),
        }
    }

    /// [`Self::text`] for a text that holds no secret but after a `:`, `=` or `@` (no JWT, key
    /// id, card or `Bearer`/`Basic` can start in it): only the tokens before those bytes are
    /// looked at, as the full scan would see them.
    fn pairs<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut out = Out::new(text);
        // What is scrubbed or looked at already ends at `at`; separators are sought from `from`.
        let mut at = 0;
        let mut from = 0;
        while let Some(offset) = bytes
            .get(from..)
            .and_then(|rest| memchr::memchr3(b':', b'=', b'@', rest))
        {
            let separator = from + offset;
            from = separator + 1;
            let Some((start, end)) = token_before(bytes, at, separator) else {
                continue;
            };
            at = self.token(bytes, start, end, false, &mut out).max(end);
            from = from.max(at);
        }
        out.finish()
    }

    /// [`Self::text`] token by token, for a text in which any rule may apply.
    fn full_scan<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut out = Out::new(text);
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            if !is_token(byte) {
                at += 1;
                continue;
            }
            // The token, and whether one of its alphanumeric runs starts like a secret (runs
            // after the first only follow punctuation, which is rare: looked at apart).
            let start = at;
            let mut classes = 0;
            while let Some(&byte) = bytes.get(at) {
                let class = TOKEN_CLASS[usize::from(byte)];
                if class == 0 {
                    break;
                }
                classes |= class;
                at += 1;
            }
            let may_hold_secret = starts_like_a_secret(bytes, start)
                || (classes & PUNCTUATION != 0
                    && (start..at).any(|run| {
                        bytes.get(run).is_some_and(|&b| !b.is_ascii_alphanumeric())
                            && starts_like_a_secret(bytes, run + 1)
                    }));
            at = self
                .token(bytes, start, at, may_hold_secret, &mut out)
                .max(start + 1);
        }
        out.finish()
    }

    /// `fields` with the values under sensitive keys replaced, and every string scrubbed as
    /// [`Self::text`] does, at any depth; borrowed when nothing changed.
    pub(crate) fn fields<'a>(&self, fields: &'a Map<String, Value>) -> Cow<'a, Map<String, Value>> {
        if !self.on {
            return Cow::Borrowed(fields);
        }
        match self.scrubbed_map(fields) {
            Some(scrubbed) => Cow::Owned(scrubbed),
            None => Cow::Borrowed(fields),
        }
    }

    /// `value` scrubbed as in [`Self::fields`], or `None` when nothing changes.
    pub(crate) fn value(&self, value: &Value) -> Option<Value> {
        if !self.on {
            return None;
        }
        match value {
            Value::String(text) => match self.text(text) {
                Cow::Owned(text) => Some(Value::String(text)),
                Cow::Borrowed(_) => None,
            },
            Value::Object(map) => self.scrubbed_map(map).map(Value::Object),
            Value::Array(items) => {
                let mut changed: Option<Vec<Value>> = None;
                for (index, item) in items.iter().enumerate() {
                    if let Some(new) = self.value(item) {
                        let owned = changed.get_or_insert_with(|| items.clone());
                        if let Some(slot) = owned.get_mut(index) {
                            *slot = new;
                        }
                    }
                }
                changed.map(Value::Array)
            }
            _ => None,
        }
    }

    fn scrubbed_map(&self, map: &Map<String, Value>) -> Option<Map<String, Value>> {
        let mut changed: Option<Map<String, Value>> = None;
        for (key, value) in map {
            let new = if self.is_sensitive(key) {
                (value.as_str() != Some(SCRUBBED)).then(|| Value::from(SCRUBBED))
            } else {
                self.value(value)
            };
            if let Some(new) = new {
                changed
                    .get_or_insert_with(|| map.clone())
                    .insert(key.clone(), new);
            }
        }
        changed
    }

    /// One token (`bytes[start..end]`, a run of [`is_token`] bytes): scrubs what it starts,
    /// and says where scanning goes on.
    fn token(
        &self,
        bytes: &[u8],
        start: usize,
        end: usize,
        may_hold_secret: bool,
        out: &mut Out<'_>,
    ) -> usize {
        // Only what follows a token can make it a scheme, an email's local part or a name; after
        // a space (most tokens), only a `:` or `=` past the blanks.
        let follows = match bytes.get(end) {
            Some(b' ' | b'\t') => bytes.get(skip_blanks(bytes, end)),
            next => next,
        };
        if !matches!(follows, Some(b':' | b'@' | b'=' | b'"' | b'\'')) {
            return if may_hold_secret {
                inner_secrets(bytes, start, end, out)
            } else {
                end
            };
        }
        let name = bytes.get(start..end).unwrap_or_default();
        let rest = bytes.get(end..).unwrap_or_default();
        if rest.starts_with(b"://") && is_scheme(name) {
            return url_userinfo(bytes, end + 3, out);
        }
        if rest.first() == Some(&b'@')
            && name.iter().any(u8::is_ascii_alphanumeric)
            && let Some(domain_end) = email_domain_end(bytes, end + 1)
        {
            out.replace(start, domain_end);
            return domain_end;
        }
        if let Some((separator, value_start)) = separator(bytes, end)
            && self.is_sensitive_name(name)
        {
            let to_line_end = separator == b':' && is_header_like(name);
            return value(bytes, value_start, to_line_end, out);
        }
        if may_hold_secret {
            inner_secrets(bytes, start, end, out)
        } else {
            end
        }
    }

    fn is_sensitive_name(&self, name: &[u8]) -> bool {
        let signatures = DEFAULT_SIGNATURES | self.extra_signatures;
        if !self.on || (signatures != u64::MAX && name_bigrams(name) & signatures == 0) {
            return false;
        }
        // The name's words, once; on the stack unless there are very many.
        let mut inline = [&[][..]; MAX_INLINE_WORDS];
        let mut count = 0;
        let mut spilled = Vec::new();
        for word in Words::new(name) {
            match inline.get_mut(count) {
                Some(slot) => *slot = word,
                None => {
                    if spilled.is_empty() {
                        spilled.extend_from_slice(&inline);
                    }
                    spilled.push(word);
                }
            }
            count += 1;
        }
        let words = if spilled.is_empty() {
            inline.get(..count).unwrap_or_default()
        } else {
            &spilled[..]
        };
        words.iter().enumerate().any(|(at, word)| {
            let mut candidates = default_entries_ending_like(word);
            while candidates != 0 {
                let index = candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                if DEFAULT_WORDS
                    .get(index)
                    .is_some_and(|entry| words_match_at(words, at, entry))
                {
                    return true;
                }
            }
            false
        }) || self
            .extra_keys
            .iter()
            .any(|entry| words_match(words, entry))
    }
}

/// The text being scrubbed, and the copy made at the first replacement.
struct Out<'a> {
    text: &'a str,
    scrubbed: Option<String>,
    /// How much of `text` is in `scrubbed` (or stands for it).
    copied: usize,
}

impl<'a> Out<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            scrubbed: None,
            copied: 0,
        }
    }

    /// Replaces `text[start..end]` by [`SCRUBBED`]; nothing when it is empty or already that.
    /// Both ends are at an ASCII byte or the text's end, hence characters' boundaries.
    fn replace(&mut self, start: usize, end: usize) {
        let (Some(before), Some(secret)) =
            (self.text.get(self.copied..start), self.text.get(start..end))
        else {
            return;
        };
        if secret.is_empty() || secret == SCRUBBED {
            return;
        }
        let capacity = self.text.len() + SCRUBBED.len();
        let scrubbed = self
            .scrubbed
            .get_or_insert_with(|| String::with_capacity(capacity));
        scrubbed.push_str(before);
        scrubbed.push_str(SCRUBBED);
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.scrubbed {
            Some(mut scrubbed) => {
                scrubbed.push_str(self.text.get(self.copied..).unwrap_or_default());
                Cow::Owned(scrubbed)
            }
            None => Cow::Borrowed(self.text),
        }
    }
}

/// A byte of a token the scanner looks at as a whole: a name, an email's local part, a URL's
/// scheme, a JWT.
fn is_token(byte: u8) -> bool {
    TOKEN_CLASS[usize::from(byte)] != 0
}

/// How much of a text [`Rules::text`] must look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// No rule can apply: the text has no `:`, `=` or `@`, and nothing a secret starts with.
    None,
    /// Only the names before `:`, `=` and `@` (pairs, URLs, emails).
    Pairs,
    /// Every token: something a JWT, key id, card or credential starts with is there too.
    Full,
}

/// Which bytes of `text` some rule needs: `:`, `=` or `@` (pairs, URLs, emails), `eyJ` (a
/// JWT), `AKIA` and `ASIA` (key ids), `Bearer` and `Basic`, 13 digits with nothing but spaces
/// and dashes between (a card). Most text has none of them and
/// is not scanned; the rest mostly holds only pairs, whose names alone are looked at.
fn needed_scan(text: &[u8]) -> Scan {
    let mut seen = 0u8;
    // The digits in the last three chunks of 16 bytes: a card's 13 digits or more, with at most
    // one space or dash between them, lie within 25 bytes, hence within three chunks.
    let mut recent_digits = [0u8; 3];
    let mut may_hold_card = false;
    let chunks = text.chunks_exact(16);
    let mut last = [0u8; 16];
    let rest = chunks.remainder();
    if let Some(head) = last.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    let mut add = |(chunk_seen, chunk_digits): (u8, u8)| {
        seen |= chunk_seen;
        recent_digits = [recent_digits[1], recent_digits[2], chunk_digits];
        may_hold_card |= recent_digits.iter().sum::<u8>() >= 13;
    };
    for chunk in chunks {
        add(chunk.try_into().map_or((0, 0), triggers_in));
    }
    add(triggers_in(&last));
    if (seen & (TRIGGER_J | TRIGGER_B | TRIGGER_A) != 0 && has_secret_start(text, seen))
        || (may_hold_card && has_card_digits(text))
    {
        Scan::Full
    } else if seen & TRIGGER_SEPARATOR != 0 {
        Scan::Pairs
    } else {
        Scan::None
    }
}

/// The triggers among 16 bytes, and how many of them are digits: compares rather than a table,
/// on a fixed length, which the compiler turns into a few vector instructions.
fn triggers_in(chunk: &[u8; 16]) -> (u8, u8) {
    let bit = |on: bool, trigger: u8| u8::from(on) * trigger;
    let mut seen = 0u8;
    let mut digits = 0u8;
    for &byte in chunk {
        // `|` on each compare, not `matches!`, which becomes a scalar bit test.
        let separator = (byte == b':') | (byte == b'=') | (byte == b'@');
        seen |= bit(separator, TRIGGER_SEPARATOR)
            | bit(byte == b'J', TRIGGER_J)
            | bit(byte == b'B', TRIGGER_B)
            | bit(byte == b'A', TRIGGER_A);
        digits += u8::from(byte.is_ascii_digit());
    }
    (seen, digits)
}

/// Whether one of the letters [`triggers_in`] saw (`seen`) starts what a secret starts with:
/// `eyJ` (a JWT), `AKIA` or `ASIA` (a key id), `Bearer` or `Basic` (any case after the `B`).
/// A second look, at those letters only.
fn has_secret_start(text: &[u8], seen: u8) -> bool {
    // Whether `letter`, `offset` bytes into what it starts, starts something `is_start` takes.
    let found = |trigger: u8, letter: u8, offset: usize, is_start: &dyn Fn(&[u8]) -> bool| {
        seen & trigger != 0
            && memchr::memchr_iter(letter, text).any(|at| {
                at.checked_sub(offset)
                    .and_then(|start| text.get(start..))
                    .is_some_and(is_start)
            })
    };
    let starts_with_ignore_case = |text: &[u8], word: &[u8]| {
        text.get(..word.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(word))
    };
    found(TRIGGER_J, b'J', 2, &|start| start.starts_with(b"eyJ"))
        || found(TRIGGER_A, b'A', 0, &|start| {
            start.starts_with(b"AKIA") || start.starts_with(b"ASIA")
        })
        || found(TRIGGER_B, b'B', 0, &|start| {
            starts_with_ignore_case(start, b"bearer") || starts_with_ignore_case(start, b"basic")
        })
}

/// Whether 13 digits stand in `text` with nothing but spaces and dashes between them, as in
/// every card number: a second look, for the rare text with 13 digits at all.
fn has_card_digits(text: &[u8]) -> bool {
    let mut run = 0;
    for &byte in text {
        if byte.is_ascii_digit() {
            run += 1;
            if run >= 13 {
                return true;
            }
        } else if !matches!(byte, b' ' | b'-') {
            run = 0;
        }
    }
    false
}

/// The token that a separator at `separator` follows, as the full scan cuts it: right before
/// it, or before blanks, or before a closing quote and blanks; never before `floor`.
fn token_before(bytes: &[u8], floor: usize, separator: usize) -> Option<(usize, usize)> {
    let mut end = separator;
    while end > floor && matches!(bytes.get(end - 1), Some(b' ' | b'\t')) {
        end -= 1;
    }
    if end > floor && matches!(bytes.get(end - 1), Some(b'"' | b'\'')) {
        end -= 1;
    }
    let mut start = end;
    while start > floor && bytes.get(start - 1).is_some_and(|&b| is_token(b)) {
        start -= 1;
    }
    (start < end).then_some((start, end))
}

const TRIGGER_SEPARATOR: u8 = 1;
const TRIGGER_J: u8 = 2;
const TRIGGER_B: u8 = 4;
const TRIGGER_A: u8 = 8;

/// A token's byte that is a letter or digit, in [`TOKEN_CLASS`].
const ALPHANUMERIC: u8 = 1;
/// A token's byte that is punctuation (`_`, `.`, `-`, `+`, `%`), in [`TOKEN_CLASS`].
const PUNCTUATION: u8 = 2;

/// [`is_token`] as a table, with the kind of byte: the scanner asks it of every byte.
const TOKEN_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = if b.is_ascii_alphanumeric() {
            ALPHANUMERIC
        } else if matches!(b, b'_' | b'.' | b'-' | b'+' | b'%') {
            PUNCTUATION
        } else {
            0
        };
        byte += 1;
    }
    table
};

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-')
}

/// A byte of an HTTP credential (RFC 9110's token68).
fn is_token68(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
}

/// Where the run of `class` bytes starting at `start` ends.
fn run_end(bytes: &[u8], start: usize, class: impl Fn(u8) -> bool) -> usize {
    let tail = bytes.get(start..).unwrap_or_default();
    start + tail.iter().position(|&b| !class(b)).unwrap_or(tail.len())
}

fn skip_blanks(bytes: &[u8], at: usize) -> usize {
    run_end(bytes, at, |b| matches!(b, b' ' | b'\t'))
}

/// After a name ending at `end`: an optional closing quote, blanks, then `:` (not `::`) or `=`
/// (not `==`, `=>`), then blanks. The separator and where the value starts.
fn separator(bytes: &[u8], end: usize) -> Option<(u8, usize)> {
    let mut at = end;
    if matches!(bytes.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    at = skip_blanks(bytes, at);
    let separator = *bytes.get(at)?;
    let next = bytes.get(at + 1).copied();
    let is_pair = match separator {
        b':' => next != Some(b':'),
        b'=' => !matches!(next, Some(b'=' | b'>')),
        _ => false,
    };
    is_pair.then(|| (separator, skip_blanks(bytes, at + 1)))
}

/// A header whose value runs to the end of its line (`Cookie: a=1; b=2`).
fn is_header_like(name: &[u8]) -> bool {
    Words::new(name).last().is_some_and(|word| {
        ends_with_ignore_case(singular(word), b"cookie")
            || word.eq_ignore_ascii_case(b"authorization")
    })
}

/// A value starting at `at`, after a sensitive name: scrubs it and says where it ends.
fn value(bytes: &[u8], at: usize, to_line_end: bool, out: &mut Out<'_>) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    if rest.starts_with(SCRUBBED.as_bytes()) {
        return at + SCRUBBED.len();
    }
    match rest.first() {
        None => at,
        Some(&quote @ (b'"' | b'\'')) => {
            let close = closing_quote(bytes, at + 1, quote);
            out.replace(at + 1, close);
            (close + 1).min(bytes.len())
        }
        Some(b'(' | b'[' | b'{') => group(bytes, at, out),
        Some(_) => {
            // `Some("…")`, `Secret("…")`, `Secret { .. }`: the wrapper's name stays.
            let word_end = run_end(bytes, at, |b| b.is_ascii_alphanumeric() || b == b'_');
            if word_end > at {
                match bytes.get(word_end..).unwrap_or_default() {
                    [b'(' | b'[' | b'{', ..] => return group(bytes, word_end, out),
                    [b' ', b'{', ..] => return group(bytes, word_end + 1, out),
                    [b' ', ..] if is_auth_scheme(&rest[..word_end - at]) => {
                        let credential = skip_blanks(bytes, word_end);
                        if bytes[credential..].starts_with(SCRUBBED.as_bytes()) {
                            return credential + SCRUBBED.len();
                        }
                        let end = run_end(bytes, credential, is_token68);
                        if end > credential {
                            out.replace(credential, end);
                            return end;
                        }
                    }
                    _ => {}
                }
            }
            let end = if to_line_end {
                run_end(bytes, at, |b| !matches!(b, b'\n' | b'\r' | b'"'))
            } else {
                run_end(bytes, at, |b| {
                    !(b.is_ascii_whitespace()
                        || matches!(b, b',' | b';' | b'&' | b')' | b']' | b'}' | b'"' | b'\''))
                })
            };
            out.replace(at, end);
            end
        }
    }
}

/// Where the string opened before `from` by `quote` closes (`\` escapes), or the text's end.
fn closing_quote(bytes: &[u8], from: usize, quote: u8) -> usize {
    let mut at = from;
    while let Some(&byte) = bytes.get(at) {
        if byte == quote {
            return at;
        }
        at += if byte == b'\\' { 2 } else { 1 };
    }
    bytes.len()
}

/// A bracketed value opening at `open` (`(`, `[` or `{`): its inside is scrubbed, up to the
/// bracket that balances it, or to the text's end when none does (a value cut short).
fn group(bytes: &[u8], open: usize, out: &mut Out<'_>) -> usize {
    let mut depth = 0usize;
    let mut at = open;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    out.replace(open + 1, at);
                    return at + 1;
                }
            }
            b'"' => at = closing_quote(bytes, at + 1, b'"'),
            _ => {}
        }
        at += 1;
    }
    out.replace(open + 1, bytes.len());
    bytes.len()
}

fn is_auth_scheme(word: &[u8]) -> bool {
    word.eq_ignore_ascii_case(b"bearer") || word.eq_ignore_ascii_case(b"basic")
}

/// A URL's scheme: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(name: &[u8]) -> bool {
    name.first().is_some_and(u8::is_ascii_alphabetic)
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// After `scheme://`: the userinfo before the authority's last `@`, if any, is scrubbed; the
/// host and the rest are scanned as any text.
fn url_userinfo(bytes: &[u8], authority: usize, out: &mut Out<'_>) -> usize {
    let end = run_end(bytes, authority, |b| {
        !(b.is_ascii_whitespace()
            || matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\'))
    });
    let inside = bytes.get(authority..end).unwrap_or_default();
    // Userinfo has no `[` or `]` (RFC 3986): one with them is no userinfo, unless it is what
    // scrubbing left there, so that scrubbing twice changes nothing.
    let is_userinfo = |userinfo: &[u8]| {
        userinfo == SCRUBBED.as_bytes() || !userinfo.iter().any(|&b| matches!(b, b'[' | b']'))
    };
    // The last `@` ends the userinfo (the host has none), or the last one before which a
    // userinfo stands.
    match (0..inside.len())
        .rev()
        .find(|&at| inside.get(at) == Some(&b'@') && inside.get(..at).is_some_and(is_userinfo))
    {
        Some(at) => {
            out.replace(authority, authority + at);
            authority + at + 1
        }
        None => authority,
    }
}

/// An email's domain starting at `start`: labels of letters, digits and `-`, two or more, the
/// last all letters (two or more); where the longest such domain there ends (`b.com` of
/// `b.com.x1`, so that what follows is scanned alike once the email is gone).
fn email_domain_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut labels = 0;
    let mut found = None;
    let mut at = start;
    loop {
        let end = run_end(bytes, at, |b| b.is_ascii_alphanumeric() || b == b'-');
        let label = bytes.get(at..end)?;
        if label.is_empty() {
            return found;
        }
        labels += 1;
        if labels >= 2 && label.len() >= 2 && label.iter().all(u8::is_ascii_alphabetic) {
            found = Some(end);
        }
        if bytes.get(end) != Some(&b'.') {
            return found;
        }
        at = end + 1;
    }
}

/// Whether the alphanumeric run at `at` may start a secret [`inner_secrets`] looks for: a
/// cheap test of its first bytes.
fn starts_like_a_secret(bytes: &[u8], at: usize) -> bool {
    matches!(
        bytes.get(at..).unwrap_or_default(),
        [b'A', b'K' | b'S', ..]
            | [b'e', b'y', b'J', ..]
            | [b'2'..=b'6', ..]
            | [b'B', b'e' | b'E' | b'a' | b'A', ..]
    )
}

/// The secrets that start an alphanumeric run inside a token (`bytes[start..end]`): AWS key
/// ids, JWTs, card numbers, `Bearer` and `Basic` credentials. Where scanning goes on.
fn inner_secrets(bytes: &[u8], start: usize, end: usize, out: &mut Out<'_>) -> usize {
    let mut at = start;
    while at < end {
        let Some(&first) = bytes.get(at) else { break };
        if !first.is_ascii_alphanumeric() {
            at += 1;
            continue;
        }
        let word_end = run_end(bytes, at, |b| b.is_ascii_alphanumeric());
        let word = bytes.get(at..word_end).unwrap_or_default();
        let found = match first {
            b'A' if is_aws_key_id(word) => Some((at, word_end)),
            b'e' => jwt_end(bytes, at).map(|end| (at, end)),
            b'2'..=b'6' => card_end(bytes, at).map(|end| (at, end)),
            b'B' if at == start && word_end == end && is_auth_scheme(word) => {
                auth_credential(bytes, word, end)
            }
            _ => None,
        };
        match found {
            Some((secret_start, secret_end)) => {
                out.replace(secret_start, secret_end);
                if secret_end >= end {
                    return secret_end;
                }
                at = secret_end;
            }
            None => at = word_end,
        }
    }
    end
}

/// `AKIA` (long-term) or `ASIA` (temporary) and 16 upper-case letters or digits, alone.
fn is_aws_key_id(word: &[u8]) -> bool {
    word.len() == 20
        && (word.starts_with(b"AKIA") || word.starts_with(b"ASIA"))
        && word
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A JWT from `start`: `eyJ…` `.` `eyJ…` `.` and a signature (empty when unsigned), in
/// base64url; the header and payload (JSON objects) at least 8 characters each.
fn jwt_end(bytes: &[u8], start: usize) -> Option<usize> {
    let segment = |from: usize| -> Option<usize> {
        let end = run_end(bytes, from, is_base64url);
        (bytes.get(from..)?.starts_with(b"eyJ") && end - from >= 8 && bytes.get(end) == Some(&b'.'))
            .then_some(end)
    };
    let header_end = segment(start)?;
    let payload_end = segment(header_end + 1)?;
    Some(run_end(bytes, payload_end + 1, is_base64url))
}

/// A card number from `start`: 13 to 19 digits, single spaces or dashes between them, not
/// followed by a letter or digit, passing Luhn's check.
fn card_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut count = 0;
    let mut at = start;
    let mut end = start;
    loop {
        match bytes.get(at) {
            Some(&digit) if digit.is_ascii_digit() => {
                *digits.get_mut(count)? = digit - b'0';
                count += 1;
                at += 1;
                end = at;
            }
            Some(b' ' | b'-')
                if at == end && at > start && bytes.get(at + 1).is_some_and(u8::is_ascii_digit) =>
            {
                at += 1;
            }
            _ => break,
        }
    }
    let alone = !bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
    (count >= 13 && alone && luhn(digits.get(..count)?)).then_some(end)
}

/// Luhn's check digit test: from the right, every second digit doubled (less 9 over 9).
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, &digit)| {
            let digit = u32::from(digit);
            match index % 2 {
                0 => digit,
                _ if digit * 2 > 9 => digit * 2 - 9,
                _ => digit * 2,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// After `Bearer` or `Basic` ending at `scheme_end`: the credential's span when it is one
/// (a bearer token of 16 characters or more; base64 of `user:password`).
fn auth_credential(bytes: &[u8], scheme: &[u8], scheme_end: usize) -> Option<(usize, usize)> {
    if bytes.get(scheme_end) != Some(&b' ') {
        return None;
    }
    let start = skip_blanks(bytes, scheme_end);
    let end = run_end(bytes, start, is_token68);
    let credential = bytes.get(start..end)?;
    let is_credential = if scheme.eq_ignore_ascii_case(b"bearer") {
        credential.len() >= 16
    } else {
        // One cut short by a replacement (`…pwd=` before `[scrubbed]`) was none before it.
        bytes.get(end) != Some(&b'[') && base64_holds_colon(credential)
    };
    is_credential.then_some((start, end))
}

/// Whether `text` is standard base64 (padded or not) whose decoded bytes hold a `:`.
fn base64_holds_colon(text: &[u8]) -> bool {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let is_base64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/');
    if text.len() < 4 || text.len() % 4 == 1 || !text.iter().all(is_base64) {
        return false;
    }
    let mut bits = 0u32;
    let mut held = 0u32;
    for &byte in text {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return false,
        };
        bits = (bits << 6) | u32::from(sextet);
        held += 6;
        if held >= 8 {
            held -= 8;
            if (bits >> held) & 0xff == u32::from(b':') {
                return true;
            }
            bits &= (1 << held) - 1;
        }
    }
    false
}

/// The words of a name: see [`Rules::is_sensitive`].
#[derive(Clone)]
struct Words<'a> {
    name: &'a [u8],
    at: usize,
}

impl<'a> Words<'a> {
    fn new(name: &'a [u8]) -> Self {
        Self { name, at: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let name = self.name;
        let start = self.at
            + name
                .get(self.at..)?
                .iter()
                .position(u8::is_ascii_alphanumeric)?;
        let mut end = start + 1;
        while let Some(&byte) = name.get(end) {
            let previous = name.get(end - 1).copied().unwrap_or_default();
            let next_is_lower = name.get(end + 1).is_some_and(u8::is_ascii_lowercase);
            let cut = !byte.is_ascii_alphanumeric()
                || previous.is_ascii_digit() != byte.is_ascii_digit()
                || (byte.is_ascii_uppercase() && previous.is_ascii_lowercase())
                || (byte.is_ascii_uppercase() && previous.is_ascii_uppercase() && next_is_lower);
            if cut {
                break;
            }
            end += 1;
        }
        self.at = end;
        name.get(start..end)
    }
}

/// Whether the words of `entry` (lower case) appear in a row among the words of `name`: see
/// [`Rules::is_sensitive`].
fn words_match<W: AsRef<[u8]>>(name: &[&[u8]], entry: &[W]) -> bool {
    (0..name.len()).any(|at| words_match_at(name, at, entry))
}

/// Whether the words of `entry` (lower case) appear in a row among the words of `name` from
/// its word `at` on.
fn words_match_at<W: AsRef<[u8]>>(name: &[&[u8]], at: usize, entry: &[W]) -> bool {
    let Some((first, rest)) = entry.split_first() else {
        return false;
    };
    let Some(&word) = name.get(at) else {
        return false;
    };
    // The first word decides almost always: compared alone, lengths first.
    let single = rest.is_empty();
    let first_matches = if single {
        let (word, first) = (singular(word), singular(first.as_ref()));
        if first.len() >= SUFFIX_MATCH_MIN {
            ends_with_ignore_case(word, first)
        } else {
            word.eq_ignore_ascii_case(first)
        }
    } else if first.as_ref().len() >= SUFFIX_MATCH_MIN {
        ends_with_ignore_case(word, first.as_ref())
    } else {
        word.eq_ignore_ascii_case(first.as_ref())
    };
    first_matches
        && rest.iter().enumerate().all(|(index, wanted)| {
            let Some(&word) = name.get(at + 1 + index) else {
                return false;
            };
            if index + 1 == rest.len() {
                singular(word).eq_ignore_ascii_case(singular(wanted.as_ref()))
            } else {
                word.eq_ignore_ascii_case(wanted.as_ref())
            }
        })
}

/// `name`'s words in lower case.
fn lower_words(name: &str) -> Vec<Vec<u8>> {
    Words::new(name.as_bytes())
        .map(<[u8]>::to_ascii_lowercase)
        .collect()
}

/// A word without one plural `s`.
fn singular(word: &[u8]) -> &[u8] {
    match word {
        [rest @ .., b's' | b'S'] if !rest.is_empty() => rest,
        _ => word,
    }
}

fn ends_with_ignore_case(word: &[u8], end: &[u8]) -> bool {
    word.len() >= end.len()
        && word
            .get(word.len() - end.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(end))
}

/// Key names for [`Rules`] from configuration: trimmed, those without a letter or digit
/// dropped (returned apart), repeats removed.
pub(crate) fn key_names(names: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut kept: Vec<String> = Vec::new();
    let mut refused = Vec::new();
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if !name.bytes().any(|b| b.is_ascii_alphanumeric()) {
            refused.push(name.to_owned());
        } else if !kept.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            kept.push(name.to_owned());
        }
    }
    (kept, refused)
}

/// A JSON `body` in which `api_key` appears nowhere as a word: every occurrence in a string (or
/// an object's key) that stands alone, between characters that cannot be part of a key (a
/// space, `=`, `:`, `/`, `"`, an escape), is replaced, in place in the text. Other text is left
/// as it is: with a one-letter key, `tokio` stays `tokio`. Nothing is parsed: the program links
/// no JSON parser for this.
pub(crate) fn without_api_key(body: Vec<u8>, api_key: &str) -> Vec<u8> {
    // As the key appears inside a JSON string: our keys are visible ASCII, so only `"` and `\`
    // are escaped.
    let escaped = api_key.replace('\\', "\\\\").replace('"', "\\\"");
    let key = escaped.as_bytes();
    let body = without_a_cut_api_key(body, key);
    if api_key.is_empty() || !body.windows(key.len()).any(|window| window == key) {
        return body;
    }
    let mut scrubbed = Vec::with_capacity(body.len());
    let mut in_string = false;
    // Whether the character before `at` could continue a word the key would be part of.
    let mut after_word = false;
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        // Only whole characters of a string are compared: never a number, and never from the
        // middle of an escape (the key escaped is itself whole characters, so it cannot run
        // past the string's closing quote).
        if in_string
            && !after_word
            && body[at..].starts_with(key)
            && !body.get(at + key.len()).is_some_and(|&next| is_word(next))
        {
            scrubbed.extend_from_slice(SCRUBBED.as_bytes());
            at += key.len();
            after_word = false;
            continue;
        }
        let width = match byte {
            b'\\' if in_string && body.get(at + 1) == Some(&b'u') => 6,
            b'\\' if in_string => 2,
            b'"' => {
                in_string = !in_string;
                1
            }
            _ => 1,
        };
        // An escape (`\n`, `\"`) is never part of a word.
        after_word = width == 1 && is_word(byte);
        let end = (at + width).min(body.len());
        scrubbed.extend_from_slice(&body[at..end]);
        at = end;
    }
    scrubbed
}

/// A byte that can sit inside a key-like word: ASCII letters and digits, `_`, `-`, and any byte
/// of a non-ASCII character.
/// The key's beginning (4 characters or more, up to all of it) right before the mark of a
/// string cut short (`…ask_live_01…[truncated]`): the cut came before the scrubbing, and what
/// is left of the key is replaced too.
fn without_a_cut_api_key(body: Vec<u8>, key: &[u8]) -> Vec<u8> {
    let marker = crate::text::TRUNCATED.as_bytes();
    let cut_before = |at: usize| -> Option<usize> {
        let start = body[..at]
            .iter()
            .rposition(|&byte| !is_word(byte))
            .map_or(0, |before| before + 1);
        let word = &body[start..at];
        (word.len() >= 4 && key.starts_with(word)).then_some(start)
    };
    let mut scrubbed: Option<Vec<u8>> = None;
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = body.get(from..).and_then(|rest| {
        rest.windows(marker.len())
            .position(|window| window == marker)
    }) {
        let at = from + found;
        if let Some(start) = cut_before(at) {
            let out = scrubbed.get_or_insert_with(|| Vec::with_capacity(body.len()));
            out.extend_from_slice(&body[copied..start]);
            out.extend_from_slice(SCRUBBED.as_bytes());
            copied = at;
        }
        from = at + marker.len();
    }
    match scrubbed {
        Some(mut out) => {
            out.extend_from_slice(&body[copied..]);
            out
        }
        None => body,
    }
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') || !byte.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The default names as the docs list them.
    const DEFAULT_KEYS: [&str; 18] = [
        "password",
        "passwd",
        "pwd",
        "secret",
        "api_key",
        "apikey",
        "access_token",
        "auth",
        "authorization",
        "credentials",
        "mysql_pwd",
        "private_key",
        "privatekey",
        "token",
        "session",
        "cookie",
        "set-cookie",
        "csrf",
    ];

    fn sensitive(key: &str) -> bool {
        Rules::DEFAULT.is_sensitive(key)
    }

    fn text(text: &str) -> Cow<'_, str> {
        Rules::DEFAULT.text(text)
    }

    /// `input` scrubbed is `expected`, and borrowed exactly when nothing changed; the full scan
    /// of every token, which the shorter paths stand in for, agrees.
    #[track_caller]
    fn scrubs(input: &str, expected: &str) {
        let scrubbed = text(input);
        assert_eq!(scrubbed, expected, "{input:?}");
        assert_eq!(
            Rules::DEFAULT.full_scan(input),
            expected,
            "{input:?}, fully scanned"
        );
        assert_eq!(
            matches!(scrubbed, Cow::Borrowed(_)),
            input == expected,
            "{input:?}"
        );
    }

    #[test]
    fn only_text_where_a_rule_may_apply_is_scanned_and_the_short_scan_agrees_with_the_full() {
        assert_eq!(
            needed_scan(b"released pool connection #7 after 12 ms."),
            Scan::None
        );
        assert_eq!(
            needed_scan(b"order 8812 for user 42 at 17:42:10"),
            Scan::Pairs
        );
        assert_eq!(needed_scan(b"charged 4111 1111 1111 1111"), Scan::Full);
        assert_eq!(needed_scan(b"charged 4111-1111-1111-1111"), Scan::Full);
        assert_eq!(needed_scan(b"1111 1111 1111 x 1"), Scan::None);
        assert_eq!(needed_scan(b"payment answered 502 Bad Gateway"), Scan::None);
        assert_eq!(
            needed_scan(b"sent Bearer abcdefghijklmnopqrstu"),
            Scan::Full
        );
        assert_eq!(needed_scan(b"ASIA and AKIA in text"), Scan::Full);
        assert_eq!(needed_scan(b"an eyJhbGciOi token"), Scan::Full);
        assert_eq!(needed_scan(b"Ask the API for JSON"), Scan::None);
        let pairs_only = [
            "password: hunter2, user: ada",
            "\"password\"  :  \"x\", \"user\":\"ada\"",
            "password  \"  : kept",
            "a=b=c password=x=y token = z",
            "mail ada@example.com or bob @example.com",
            "https://user:pass@host/path?token=t&page=2 then pwd=1",
            "key:value:password:secret x:y",
            "Cookie: a=1; b=2\nnext: line",
            "session ended: pwd='quoted value' token==x",
            "::password:: x => y",
        ];
        for input in pairs_only {
            assert_eq!(needed_scan(input.as_bytes()), Scan::Pairs, "{input:?}");
            assert_eq!(
                Rules::DEFAULT.pairs(input),
                Rules::DEFAULT.full_scan(input),
                "{input:?}"
            );
        }
    }

    #[test]
    fn each_default_name_is_recognised_in_any_case_and_with_any_separator() {
        for key in [
            "password",
            "db_Password",
            "dbpassword",
            "passwd",
            "pwd",
            "MYSQL_PWD",
            "client_secret",
            "SECRET",
            "secrets",
            "api_key",
            "stripe_api_key",
            "apiKey",
            "ApiKey",
            "APIKey",
            "API_KEY",
            "X-Api-Key",
            "api-key",
            "apikey",
            "access_token",
            "accessToken",
            "auth",
            "x-auth-token",
            "authToken",
            "auth_method",
            "authorization",
            "Proxy-Authorization",
            "credentials",
            "credential",
            "aws.credentials",
            "private_key",
            "privateKey",
            "privatekey",
            "token",
            "refresh_token",
            "xsrftoken",
            "tokens",
            "session",
            "sessionId",
            "session_id",
            "cookie",
            "Set-Cookie",
            "csrf",
            "X-CSRF-Token",
            "csrf_value",
        ] {
            assert!(sensitive(key), "{key}");
        }
    }

    #[test]
    fn the_default_words_are_the_default_keys_split() {
        let split: Vec<Vec<Vec<u8>>> = DEFAULT_KEYS.iter().map(|key| lower_words(key)).collect();
        let table: Vec<Vec<Vec<u8>>> = DEFAULT_WORDS
            .iter()
            .map(|entry| entry.iter().map(|word| word.to_vec()).collect())
            .collect();
        assert_eq!(split, table);
        // A name of more words than are kept on the stack is still matched.
        let long = format!("{}api_key", "a_".repeat(40));
        assert!(sensitive(&long) && !sensitive(&"a_".repeat(40)));
    }

    #[test]
    fn near_miss_names_are_kept() {
        for key in [
            "author",
            "authority",
            "authenticated",
            "oauth",
            "tokenizer",
            "key",
            "api",
            "pass",
            "private",
            "user",
            "path",
            "status",
            "sessionless",
            "cookies_enabled_count",
            "pwdx",
            "",
            "_-.",
        ] {
            // `cookies_enabled_count`: `cookies` is a word, so it is sensitive.
            let expected = key == "cookies_enabled_count";
            assert_eq!(sensitive(key), expected, "{key}");
        }
    }

    #[test]
    fn names_are_split_into_words_at_separators_humps_and_digits() {
        let words = |name: &str| {
            Words::new(name.as_bytes())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(words("X-Api-Key"), ["X", "Api", "Key"]);
        assert_eq!(words("apiKey"), ["api", "Key"]);
        assert_eq!(words("APIKey"), ["API", "Key"]);
        assert_eq!(words("password2"), ["password", "2"]);
        assert_eq!(words("oauth2Token"), ["oauth", "2", "Token"]);
        assert_eq!(words("db.pwd é x"), ["db", "pwd", "x"]);
        assert!(words("--").is_empty());
    }

    #[test]
    fn extra_keys_extend_the_defaults_and_off_turns_everything_off() {
        let rules = Rules::new(
            true,
            &["SSN".to_owned(), "email".to_owned(), "x".to_owned()],
        );
        assert!(rules.is_sensitive("x") && rules.is_sensitive("x_y") && !rules.is_sensitive("xy"));
        let rules = Rules::new(true, &["SSN".to_owned(), "email".to_owned()]);
        assert!(rules.is_sensitive("user_SSN") && rules.is_sensitive("workEmail"));
        assert!(!rules.is_sensitive("lessn") && !rules.is_sensitive("ssnx"));
        assert_eq!(
            rules.text("ssn=123-45-6789 page=2"),
            "ssn=[scrubbed] page=2"
        );
        let off = Rules::new(false, &["ssn".to_owned()]);
        assert!(!off.is_sensitive("ssn") && !off.is_sensitive("password"));
        assert!(matches!(off.text("pwd=x a@b.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn debug_output_of_a_struct_keeps_its_names_and_loses_its_secrets() {
        scrubs(
            r#"DbConfig { host: "db", pwd: "hunter2", auth: Some("t0k"), private_key: "-----BEGIN\n…", port: 5432 }"#,
            r#"DbConfig { host: "db", pwd: "[scrubbed]", auth: Some([scrubbed]), private_key: "[scrubbed]", port: 5432 }"#,
        );
        scrubs(
            r#"Login { credentials: Credentials { user: "ada", pass: "x" }, retry: 1 }"#,
            r#"Login { credentials: Credentials {[scrubbed]}, retry: 1 }"#,
        );
        scrubs(
            r#"secret: "a \"quoted\" one", n: 1"#,
            r#"secret: "[scrubbed]", n: 1"#,
        );
        scrubs("token: [1, 2], n: 1", "token: [[scrubbed]], n: 1");
        // Cut short (at the string bound): all that follows goes.
        scrubs(r#"pwd: Some("hunt"#, "pwd: Some([scrubbed]");
        scrubs(r#"pwd: "hunt"#, r#"pwd: "[scrubbed]"#);
        // Empty values stay empty.
        scrubs(r#"pwd: "", token="#, r#"pwd: "", token="#);
    }

    #[test]
    fn pairs_in_logs_json_and_query_strings_lose_their_values() {
        scrubs(
            "user=ada password=hunter2 status=500",
            "user=ada password=[scrubbed] status=500",
        );
        scrubs(
            r#"{"apiKey":"abc123","page":2}"#,
            r#"{"apiKey":"[scrubbed]","page":2}"#,
        );
        scrubs(
            "credentials = s3cr3t; next",
            "credentials = [scrubbed]; next",
        );
        scrubs("invalid token: abc123", "invalid token: [scrubbed]");
        scrubs(
            "GET /reset?token=abc&page=2&access_token=x#top",
            "GET /reset?token=[scrubbed]&page=2&access_token=[scrubbed]",
        );
        scrubs(
            "Cookie: sid=abc; theme=dark\nnext line",
            "Cookie: [scrubbed]\nnext line",
        );
        // Near misses: no separator, a path, a comparison, an unlisted name.
        for kept in [
            "the session expired for user 42",
            "auth::login failed",
            "token == expected",
            "author: Ada",
            "tokenizer=bpe",
            "match auth => ok",
        ] {
            scrubs(kept, kept);
        }
    }

    #[test]
    fn bearer_and_basic_credentials_lose_the_credential_not_the_scheme() {
        scrubs(
            "Authorization: Bearer abcdef0123456789xyz",
            "Authorization: Bearer [scrubbed]",
        );
        scrubs(
            "sent Bearer abcdef0123456789xyz.sig-_~+/= upstream",
            "sent Bearer [scrubbed] upstream",
        );
        // "ada:hunter2"
        scrubs(
            "with Basic YWRhOmh1bnRlcjI= then",
            "with Basic [scrubbed] then",
        );
        scrubs(
            "authorization=Basic YWRhOmh1bnRlcjI=",
            "authorization=Basic [scrubbed]",
        );
        scrubs(
            "Authorization: Digest username=\"ada\", response=\"x\"",
            "Authorization: [scrubbed]\"ada\", response=\"x\"",
        );
        for kept in [
            "the bearer of bad news",
            "Bearer short",
            "Basic settings were kept",
            // In free text, the schemes as HTTP writes them (after a listed name, any case).
            "basic YWRhOmh1bnRlcjI=",
        ] {
            scrubs(kept, kept);
        }
    }

    #[test]
    fn url_passwords_go_and_urls_without_userinfo_stay() {
        scrubs(
            "connect postgres://app:hunter2@db.internal:5432/shop failed",
            "connect postgres://[scrubbed]@db.internal:5432/shop failed",
        );
        scrubs("redis://:pw@cache/0", "redis://[scrubbed]@cache/0");
        scrubs("https://a@b@host/x", "https://[scrubbed]@host/x");
        for kept in [
            "https://api.example.com/v1/users?page=2",
            "https://example.com/@ada",
            "see http://host:8080/",
            "http://[::1]:8080/",
        ] {
            scrubs(kept, kept);
        }
        // What a pair's value scrubbed leaves is no userinfo: a second pass keeps it.
        scrubs("pwd://Cookie=://)@", "pwd://Cookie=[scrubbed])@");
        scrubs("pwd://Cookie=[scrubbed])@", "pwd://Cookie=[scrubbed])@");
        scrubs(
            "x://YWRhOmh1bnRlcjI=@[[scrubbed]pwda@b.com",
            "x://[scrubbed]@[[scrubbed][scrubbed]",
        );
    }

    #[test]
    fn jwts_go_whole_and_a_plain_base64_word_stays() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        scrubs(
            &format!("token {jwt}, expired"),
            "token [scrubbed], expired",
        );
        scrubs(
            "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end",
            "unsigned [scrubbed] end",
        );
        for kept in [
            "eyJhbGciOiJIUzI1NiJ9 alone",
            "eyJ.eyJ.x",
            "SGVsbG8gd29ybGQ=",
            "eyes.eyJustkidding.x",
        ] {
            scrubs(kept, kept);
        }
    }

    #[test]
    fn aws_access_key_ids_go() {
        scrubs("key AKIAIOSFODNN7EXAMPLE used", "key [scrubbed] used");
        scrubs("x_ASIAY34FZKBOKMUTVV7A.", "x_[scrubbed].");
        for kept in [
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLEX",
            "akiaiosfodnn7example",
            "AKIAiosfodnn7EXAMPLE",
        ] {
            scrubs(kept, kept);
        }
    }

    #[test]
    fn card_numbers_that_pass_luhn_go_and_other_numbers_stay() {
        scrubs("card 4111111111111111 declined", "card [scrubbed] declined");
        scrubs("card 4111 1111 1111 1111.", "card [scrubbed].");
        scrubs("card 5500-0000-0000-0004!", "card [scrubbed]!");
        scrubs("amex 378282246310005", "amex [scrubbed]");
        for kept in [
            // An order number of 16 digits failing Luhn.
            "order 4111111111111112 shipped",
            // A millisecond timestamp that passes Luhn: no card starts with 1.
            "at 1733145600009",
            "2026-12-02 10:00:00",
            "call +44 20 7946 0958",
            "4111111111111111x",
            "41111111111111110000",
            "4111  1111 1111 1111",
        ] {
            scrubs(kept, kept);
        }
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
    }

    #[test]
    fn emails_go_and_other_at_signs_stay() {
        scrubs(
            "mail to ada.lovelace+work@example.co.uk.",
            "mail to [scrubbed].",
        );
        scrubs("(bob@mail.example)", "([scrubbed])");
        // The longest domain there: what follows is scanned the same once the email is gone.
        scrubs("a@b.com.AKIAIOSFODNN7EXAMPLE", "[scrubbed].[scrubbed]");
        for kept in [
            "ping @ada",
            "user@localhost",
            "v1.2@3.4",
            "a@b.c",
            "price: 3 @ 4.50",
            "foo@.com",
        ] {
            scrubs(kept, kept);
        }
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        for kept in [
            "",
            "GET /users/42 answered 500 Internal Server Error",
            "connection refused (os error 111) at src/db.rs:42:7",
            "[scrubbed]",
            "pwd=[scrubbed] and Bearer [scrubbed]",
            "ünïcödé: ✓ 🦀",
        ] {
            scrubs(kept, kept);
        }
    }

    #[test]
    fn fields_lose_sensitive_keys_values_and_secrets_in_strings_at_any_depth() {
        let Value::Object(fields) = json!({
            "user": "u-1",
            "pwd": "hunter2",
            "span": {"fields": "DbConfig { host: \"db\", auth: \"x\" }", "n": 7},
            "list": ["ok", "mail ada@example.com"],
        }) else {
            unreachable!()
        };
        let scrubbed = Rules::DEFAULT.fields(&fields);
        assert_eq!(
            Value::Object(scrubbed.into_owned()),
            json!({
                "user": "u-1",
                "pwd": "[scrubbed]",
                "span": {"fields": "DbConfig { host: \"db\", auth: \"[scrubbed]\" }", "n": 7},
                "list": ["ok", "mail [scrubbed]"],
            })
        );
        let Value::Object(clean) = json!({"user": "u-1", "n": [1, "two"], "pwd": "[scrubbed]"})
        else {
            unreachable!()
        };
        assert!(matches!(Rules::DEFAULT.fields(&clean), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        /// Any text: no panic, and scrubbing what was scrubbed changes nothing.
        #[test]
        fn scrubbing_never_panics_and_is_idempotent(input in "\\PC{0,200}") {
            let once = text(&input).into_owned();
            let twice = text(&once);
            proptest::prop_assert_eq!(&twice, &once);
            proptest::prop_assert!(matches!(twice, Cow::Borrowed(_)));
        }

        /// Text made of the pieces the rules look for, in any order.
        #[test]
        fn scrubbing_pieces_of_secrets_is_idempotent(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "pwd", "token", "auth", ":", "=", " ", "\"", "(", ")", "{", "}", "[", "]", "@",
                "a@b.com", "://", "https", "Bearer ", "Basic ", "YWRhOmh1bnRlcjI=", "eyJhbGciOi",
                ".", "4111", "1111", "-", "AKIAIOSFODNN7EXAMPLE", "\\", "\n", "[scrubbed]", "é",
                "Some", "x", "&", "?", "Cookie", ";",
            ]), 0..40),
        ) {
            let input: String = pieces.concat();
            let once = text(&input).into_owned();
            let twice = text(&once);
            proptest::prop_assert_eq!(&twice, &once, "input {:?}", input);
        }
    }

    #[test]
    fn secrets_are_replaced_at_any_depth_and_nothing_else_is_touched() {
        let fields = json!({
            "user": "u-1",
            "password": "hunter2",
            "headers": {"Authorization": "Bearer abc", "accept": "*/*"},
            "spans": [{"name": "login", "fields": {"session_token": 42, "id": 7}}],
            "cookie": {"sid": "x"},
        });
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        let scrubbed = Rules::DEFAULT.fields(&fields);
        assert_eq!(
            Value::Object(scrubbed.into_owned()),
            json!({
                "user": "u-1",
                "password": "[scrubbed]",
                "headers": {"Authorization": "[scrubbed]", "accept": "*/*"},
                "spans": [{"name": "login", "fields": {"session_token": "[scrubbed]", "id": 7}}],
                "cookie": "[scrubbed]",
            })
        );
    }

    #[test]
    fn fields_without_secrets_are_not_copied() {
        let Value::Object(fields) = json!({"user": "u-1", "nested": {"id": 7}}) else {
            unreachable!()
        };
        assert!(matches!(Rules::DEFAULT.fields(&fields), Cow::Borrowed(_)));
    }

    #[test]
    fn a_short_key_is_removed_only_where_it_stands_alone() {
        let body = serde_json::to_vec(&json!({
            "message": "k",
            "function": "tokio::runtime::block_on",
            "stack": ["at k:1", "key=k&x", "k\nk", "kk", "k_1", "k-2", "\u{e9}k"],
        }))
        .expect("json");
        let json: Value = serde_json::from_slice(&without_api_key(body, "k")).expect("still JSON");
        assert_eq!(json["message"], "[scrubbed]");
        assert_eq!(json["function"], "tokio::runtime::block_on");
        assert_eq!(
            json["stack"],
            json!([
                "at [scrubbed]:1",
                "key=[scrubbed]&x",
                "[scrubbed]\n[scrubbed]",
                "kk",
                "k_1",
                "k-2",
                "\u{e9}k"
            ])
        );
    }

    #[test]
    fn the_api_key_is_removed_from_every_string_and_key() {
        let key = "ask_live_0123456789";
        let body = serde_json::to_vec(&json!({
            "message": format!("connecting with {key} failed"),
            "metadata": {"note": [key], key: 1},
            "count": 3,
        }))
        .expect("json");
        let body = without_api_key(body, key);
        assert!(!String::from_utf8_lossy(&body).contains(key));
        let json: Value = serde_json::from_slice(&body).expect("still JSON");
        assert_eq!(json["message"], "connecting with [scrubbed] failed");
        assert_eq!(
            json["metadata"],
            json!({"note": ["[scrubbed]"], "[scrubbed]": 1})
        );
        assert_eq!(json["count"], 3);
    }

    #[test]
    fn what_is_left_of_the_api_key_where_a_string_was_cut_is_removed_too() {
        let key = "ask_live_0123456789";
        let cut = |text: &str| format!("{text}{}", crate::text::TRUNCATED);
        let body = serde_json::to_vec(&json!({
            "message": cut("x ask_live_012"),
            "whole": cut(&format!("y {key}")),
            "short": cut("z ask"),
            "other": cut("w asking"),
        }))
        .expect("json");
        let json: Value = serde_json::from_slice(&without_api_key(body, key)).expect("JSON");
        assert_eq!(json["message"], cut("x [scrubbed]"));
        assert_eq!(json["whole"], cut("y [scrubbed]"));
        assert_eq!(json["short"], cut("z ask"), "too little to tell");
        assert_eq!(json["other"], cut("w asking"));
    }

    #[test]
    fn only_whole_characters_of_strings_are_scrubbed() {
        // A key of digits: the numbers stay, the strings lose it.
        let key = "1500";
        let body = serde_json::to_vec(&json!({
            "durationMs": 1500,
            "n": [15000, 1500],
            "m": "took 1500 ms",
            "1500": true,
        }))
        .expect("json");
        let json: Value = serde_json::from_slice(&without_api_key(body, key)).expect("JSON");
        assert_eq!(
            json,
            json!({"durationMs": 1500, "n": [15000, 1500], "m": "took [scrubbed] ms", "[scrubbed]": true})
        );
        // Not from the middle of an escape: "\u001f" holds the digits "001f", the text
        // does not; a key after an escaped backslash or quote is found.
        let key = "001f";
        let body = serde_json::to_vec(&json!({"m": "\u{1f}001f\\001f\"001f"})).expect("json");
        let json: Value = serde_json::from_slice(&without_api_key(body, key)).expect("JSON");
        assert_eq!(json["m"], "\u{1f}[scrubbed]\\[scrubbed]\"[scrubbed]");
    }

    #[test]
    fn a_body_without_the_key_is_returned_as_it_was() {
        let body = br#"{"message":"fine"}"#.to_vec();
        assert_eq!(without_api_key(body.clone(), "ask_x"), body);
        // A key made of characters JSON escapes is still found.
        let key = r#"k"e\y"#;
        let body = serde_json::to_vec(&json!({"m": key})).expect("json");
        assert_eq!(
            without_api_key(body, key),
            br#"{"m":"[scrubbed]"}"#.to_vec()
        );
    }
}
