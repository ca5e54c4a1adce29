//! Reads a state file back: the JSON subset the SDK writes there (objects, strings, whole
//! non-negative numbers, booleans, `null`), and nothing else. A parser of our own rather than
//! serde_json's: the program then links no JSON parser at all (~40 kB of machine code), and a
//! file that is not what we write is simply unreadable, as a torn one is.

/// A value of that subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Number(u64),
    Text(String),
    Object(Vec<(String, Json)>),
}

/// Objects nest this deep at most: a crafted file cannot exhaust the stack.
const MAX_DEPTH: usize = 8;

impl Json {
    /// The whole of `text` as one value; `None` if it is anything else.
    pub(super) fn parse(text: &[u8]) -> Option<Self> {
        let mut reader = Reader { text, at: 0 };
        let value = reader.value(0)?;
        reader.skip_space();
        (reader.at == text.len()).then_some(value)
    }

    /// The member `name` of an object.
    pub(super) fn get(&self, name: &str) -> Option<&Self> {
        match self {
            Self::Object(members) => members
                .iter()
                .find_map(|(key, value)| (key == name).then_some(value)),
            _ => None,
        }
    }

    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    pub(super) fn number(&self) -> Option<u64> {
        match self {
            Self::Number(number) => Some(*number),
            _ => None,
        }
    }
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Steps over `word` if the text goes on with it; `None` (nothing read) if not.
    fn consume(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.text.get(self.at..end)? == word).then(|| self.at = end)
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        self.skip_space();
        match self.peek()? {
            b'{' if depth < MAX_DEPTH => self.object(depth + 1),
            b'"' => self.string().map(Json::Text),
            b'0'..=b'9' => self.number(),
            b't' => self.consume(b"true").map(|()| Json::Bool(true)),
            b'f' => self.consume(b"false").map(|()| Json::Bool(false)),
            b'n' => self.consume(b"null").map(|()| Json::Null),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<Json> {
        self.consume(b"{")?;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Some(Json::Object(members));
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.skip_space();
            self.consume(b":")?;
            members.push((key, self.value(depth)?));
            self.skip_space();
            match self.next()? {
                b',' => {}
                b'}' => return Some(Json::Object(members)),
                _ => return None,
            }
        }
    }

    fn number(&mut self) -> Option<Json> {
        // JSON has no leading zeros: `0` stands alone.
        if self.peek() == Some(b'0') && matches!(self.text.get(self.at + 1), Some(b'0'..=b'9')) {
            return None;
        }
        let mut number = 0u64;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            number = number
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        // A fraction or an exponent is not something the SDK writes.
        (!matches!(self.peek(), Some(b'.' | b'e' | b'E'))).then_some(Json::Number(number))
    }

    fn string(&mut self) -> Option<String> {
        self.consume(b"\"")?;
        let mut bytes = Vec::new();
        loop {
            match self.next()? {
                b'"' => return String::from_utf8(bytes).ok(),
                b'\\' => {
                    let unescaped = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    bytes.extend_from_slice(unescaped.encode_utf8(&mut [0; 4]).as_bytes());
                }
                byte if byte < 0x20 => return None,
                byte => bytes.push(byte),
            }
        }
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` for a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xd800..0xdc00).contains(&first) {
            return char::from_u32(first);
        }
        self.consume(b"\\u")?;
        let second = self.hex4()?;
        if !(0xdc00..0xe000).contains(&second) {
            return None;
        }
        char::from_u32(0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut value = 0;
        for _ in 0..4 {
            value = value << 4 | char::from(self.next()?).to_digit(16)?;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_serde_json_writes_reads_back_the_same() {
        let written = serde_json::json!({
            "text": "quote \" backslash \\ slash / controls \u{1}\n\t\r\u{8}\u{c} non-ASCII é 😀",
            "empty": "",
            "zero": 0,
            "big": u64::MAX,
            "yes": true,
            "no": false,
            "nothing": null,
            "nested": {"inner": {"deeper": "x"}, "n": 7},
            "none": {},
        });
        let parsed = Json::parse(&serde_json::to_vec_pretty(&written).expect("json"));
        let parsed = parsed.expect("parsed");
        assert_eq!(
            parsed.get("text").and_then(Json::text),
            written["text"].as_str()
        );
        assert_eq!(parsed.get("empty").and_then(Json::text), Some(""));
        assert_eq!(parsed.get("zero").and_then(Json::number), Some(0));
        assert_eq!(parsed.get("big").and_then(Json::number), Some(u64::MAX));
        assert_eq!(parsed.get("yes"), Some(&Json::Bool(true)));
        assert_eq!(parsed.get("no"), Some(&Json::Bool(false)));
        assert_eq!(parsed.get("nothing"), Some(&Json::Null));
        let nested = parsed.get("nested").expect("nested");
        assert_eq!(nested.get("n").and_then(Json::number), Some(7));
        assert_eq!(
            nested
                .get("inner")
                .and_then(|inner| inner.get("deeper"))
                .and_then(Json::text),
            Some("x")
        );
        assert_eq!(parsed.get("none"), Some(&Json::Object(Vec::new())));
        assert_eq!(parsed.get("missing"), None);
    }

    #[test]
    fn escaped_non_ascii_and_surrogate_pairs_are_decoded() {
        let parsed = Json::parse(br#"{"a":"\u00e9\ud83d\ude00\u0041"}"#).expect("parsed");
        assert_eq!(parsed.get("a").and_then(Json::text), Some("é😀A"));
    }

    #[test]
    fn anything_the_sdk_does_not_write_is_unreadable() {
        for text in [
            &b""[..],
            b"{",
            b"{\"a\":1",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{a:1}",
            b"{\"a\":-1}",
            b"{\"a\":1.5}",
            b"{\"a\":01}",
            b"{\"a\":1e3}",
            b"{\"a\":18446744073709551616}",
            b"{\"a\":[1]}",
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\\ud83d\"}",
            b"{\"a\":\"\\udc00\"}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":tru}",
            b"{} {}",
            b"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
        ] {
            assert_eq!(Json::parse(text), None, "{}", String::from_utf8_lossy(text));
        }
    }
}
