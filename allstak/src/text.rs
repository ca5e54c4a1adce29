//! The bound on every string the SDK keeps or sends: cut on a character boundary, marked, and
//! never formatted past the bound.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde_json::Value;

use crate::sdk_thread::quietly;

/// The most bytes (UTF-8) any one string of an error event may have: its message, each cause,
/// each breadcrumb's message and data value, each `tracing` field and span value, each tag and
/// metadata value, the user's fields. A longer one is cut on a character boundary and ends with
/// [`TRUNCATED`](crate::TRUNCATED), within this size. Cut where the text enters the SDK, so the
/// trail and the queue never hold more.
///
/// ```
/// allstak::add_breadcrumb(allstak::Breadcrumb::new("x".repeat(2 << 20))); // kept: 8 KiB
/// assert_eq!(allstak::MAX_STRING_BYTES, 8 * 1024);
/// ```
pub const MAX_STRING_BYTES: usize = 8 * 1024;
/// What a string cut at [`MAX_STRING_BYTES`] ends with.
///
/// ```
/// assert_eq!(allstak::TRUNCATED, "…[truncated]");
/// ```
pub const TRUNCATED: &str = "…[truncated]";
/// `text`, cut to [`MAX_STRING_BYTES`] with the marker if it is longer (its spare capacity
/// freed: a 2 MB string cut to 8 KiB keeps 8 KiB).
pub(crate) fn truncate(mut text: String) -> String {
    if text.len() > MAX_STRING_BYTES {
        mark_cut(&mut text);
        text.shrink_to_fit();
    }
    text
}

/// [`truncate`] for text that may be borrowed: a borrowed text is copied only if it is cut.
pub(crate) fn truncate_cow(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(text) => truncated(text),
        Cow::Owned(text) => Cow::Owned(truncate(text)),
    }
}

/// [`truncate`] without copying more than is kept.
pub(crate) fn truncated(text: &str) -> Cow<'_, str> {
    if text.len() > MAX_STRING_BYTES {
        let mut kept = String::with_capacity(MAX_STRING_BYTES);
        kept.push_str(text.get(..cut_point(text)).unwrap_or_default());
        kept.push_str(TRUNCATED);
        Cow::Owned(kept)
    } else {
        Cow::Borrowed(text)
    }
}

/// Every string in `value`, at any depth, [`truncate`]d.
pub(crate) fn truncate_strings(value: &mut Value) {
    match value {
        Value::String(text) if text.len() > MAX_STRING_BYTES => {
            *text = truncate(std::mem::take(text));
        }
        Value::Array(items) => items.iter_mut().for_each(truncate_strings),
        Value::Object(fields) => fields.values_mut().for_each(truncate_strings),
        _ => {}
    }
}

/// Cuts `text` so that it and [`TRUNCATED`] fit in [`MAX_STRING_BYTES`], and marks it.
fn mark_cut(text: &mut String) {
    text.truncate(cut_point(text));
    text.push_str(TRUNCATED);
}

/// The last character boundary at which `text` leaves room for the marker.
fn cut_point(text: &str) -> usize {
    let mut cut = (MAX_STRING_BYTES - TRUNCATED.len()).min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// Renders a value with `Display` or `Debug` into a message, at most [`MAX_STRING_BYTES`]: the
/// formatting stops there (a 2 MB value is never copied whole), and the text is marked cut. A
/// failing or panicking impl gives a placeholder, never an error or a panic in the caller.
pub(crate) fn render(value: &dyn fmt::Display) -> String {
    quietly(|| {
        let mut out = Bounded {
            text: String::new(),
            full: false,
        };
        let written = write!(out, "{value}");
        if out.full {
            mark_cut(&mut out.text);
            Some(out.text)
        } else {
            written.ok().map(|()| out.text)
        }
    })
    .flatten()
    .unwrap_or_else(|| "<the value's formatting failed>".to_owned())
}

/// A `fmt::Write` that takes [`MAX_STRING_BYTES`], then fails every write (and says it is
/// `full`): the value's formatting ends there.
struct Bounded {
    text: String,
    full: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, part: &str) -> fmt::Result {
        let room = MAX_STRING_BYTES.saturating_sub(self.text.len());
        if self.full || part.len() > room {
            let mut end = room.min(part.len());
            while !part.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(part.get(..end).unwrap_or_default());
            self.full = true;
            return Err(fmt::Error);
        }
        self.text.push_str(part);
        Ok(())
    }
}
