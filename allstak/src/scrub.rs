//! What never leaves the process. By default, the values under keys named like a secret
//! (`password`, `secret`, `token`, `api_key`, `authorization`, `cookie`…, in any case, anywhere
//! in the name) in an event's metadata and its breadcrumbs' data, at any depth; and always the
//! API key, wherever it appears in a payload. Runs on the transport thread, after
//! `before_send`.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// What a scrubbed value becomes.
pub(crate) const SCRUBBED: &str = "[scrubbed]";

/// Parts of a key name that mark its value as a secret (compared in ASCII lower case).
const SENSITIVE: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "cookie",
];

/// Whether a value under `key` is a secret: its name holds one of [`SENSITIVE`], in any case.
pub(crate) fn is_sensitive(key: &str) -> bool {
    let key = key.as_bytes();
    SENSITIVE.iter().any(|part| {
        key.windows(part.len())
            .any(|window| window.eq_ignore_ascii_case(part.as_bytes()))
    })
}

/// `fields` with every secret's value replaced, at any depth; borrowed when it holds none.
pub(crate) fn fields(fields: &Map<String, Value>) -> Cow<'_, Map<String, Value>> {
    if fields
        .iter()
        .any(|(key, value)| is_sensitive(key) || holds_secret(value))
    {
        let mut owned = fields.clone();
        scrub_map(&mut owned);
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(fields)
    }
}

fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| is_sensitive(key) || holds_secret(value)),
        Value::Array(items) => items.iter().any(holds_secret),
        _ => false,
    }
}

fn scrub_map(map: &mut Map<String, Value>) {
    for (key, value) in map.iter_mut() {
        if is_sensitive(key) {
            *value = Value::from(SCRUBBED);
        } else {
            scrub_value(value);
        }
    }
}

fn scrub_value(value: &mut Value) {
    match value {
        Value::Object(map) => scrub_map(map),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        _ => {}
    }
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
fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') || !byte.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_sensitive_name_is_recognised_in_any_case_and_anywhere_in_the_key() {
        for key in [
            "password",
            "db_Password",
            "passwd",
            "client_secret",
            "SECRET",
            "token",
            "refresh_token",
            "X-Csrf-Token",
            "api_key",
            "stripe_api_key",
            "apikey",
            "ApiKey",
            "x-api-key",
            "authorization",
            "Proxy-Authorization",
            "cookie",
            "Set-Cookie",
        ] {
            assert!(is_sensitive(key), "{key}");
        }
        for key in ["user", "path", "status", "key", "auth_method", "pass"] {
            assert!(!is_sensitive(key), "{key}");
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
        let scrubbed = super::fields(&fields);
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
        assert!(matches!(super::fields(&fields), Cow::Borrowed(_)));
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
