//! The id of an error event: drawn when the event is captured, sent as its `eventId`, and
//! handed back by every capture call, so that a program can show it to its user or put it in a
//! support ticket.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of an error event: a random UUID v4, shown lower-case with dashes, sent as the
/// event's `eventId`. The capture calls return it ([`capture_error`](crate::capture_error) and
/// the others), [`last_event_id`](crate::last_event_id) gives the latest, and
/// [`Event::id`](crate::Event::id) shows it to `before_send`.
///
/// ```
/// let id: allstak::EventId = "6f1c2a43-9d5e-4b8a-a1c7-0e2f3b4c5d6e".parse().unwrap();
/// assert_eq!(id.to_string(), "6f1c2a43-9d5e-4b8a-a1c7-0e2f3b4c5d6e");
/// ```
///
/// With the `uuid` feature it converts to and from `uuid::Uuid`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(u128);

impl EventId {
    /// A new random id (the SDK draws one for every event it captures).
    ///
    /// ```
    /// assert_ne!(allstak::EventId::random(), allstak::EventId::random());
    /// ```
    #[must_use]
    pub fn random() -> Self {
        Self(crate::uuid_text::fast_random_v4())
    }

    /// The id's 128 bits, in the order its text shows them.
    ///
    /// ```
    /// let id = allstak::EventId::random();
    /// assert_eq!(allstak::EventId::from_u128(id.as_u128()), id);
    /// ```
    #[must_use]
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// An id from its 128 bits, as [`as_u128`](Self::as_u128) gives them.
    ///
    /// ```
    /// assert_eq!(
    ///     allstak::EventId::from_u128(1).to_string(),
    ///     "00000000-0000-0000-0000-000000000001"
    /// );
    /// ```
    #[must_use]
    pub fn from_u128(bits: u128) -> Self {
        Self(bits)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::uuid_text::write(self.0, f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

/// Reads an id as [`Display`](fmt::Display) writes it (any case, with or without dashes).
///
/// ```
/// let id = allstak::EventId::random();
/// assert_eq!(id.to_string().parse::<allstak::EventId>(), Ok(id));
/// assert_eq!(id.to_string().to_uppercase().replace('-', "").parse::<allstak::EventId>(), Ok(id));
/// assert!("not-an-id".parse::<allstak::EventId>().is_err());
/// ```
impl std::str::FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::uuid_text::parse(text)
            .map(Self)
            .ok_or(ParseEventIdError(()))
    }
}

/// The text given to [`EventId`]'s `FromStr` is not a UUID.
///
/// ```
/// let error = "x".parse::<allstak::EventId>().unwrap_err();
/// assert!(error.to_string().starts_with("not an event id"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEventIdError(());

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an event id (a UUID such as 3b241101-e2bb-4255-8caf-4136c566a962)")
    }
}

impl std::error::Error for ParseEventIdError {}

/// As text, lower-case with dashes.
///
/// ```
/// let id = allstak::EventId::from_u128(0xab);
/// assert_eq!(
///     serde_json::to_string(&id).unwrap(),
///     "\"00000000-0000-0000-0000-0000000000ab\""
/// );
/// ```
impl Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads what [`Serialize`] writes.
///
/// ```
/// let id = allstak::EventId::random();
/// let json = serde_json::to_string(&id).unwrap();
/// assert_eq!(serde_json::from_str::<allstak::EventId>(&json).unwrap(), id);
/// ```
impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "uuid")]
impl From<uuid::Uuid> for EventId {
    fn from(uuid: uuid::Uuid) -> Self {
        Self(uuid.as_u128())
    }
}

#[cfg(feature = "uuid")]
impl From<EventId> for uuid::Uuid {
    fn from(id: EventId) -> Self {
        uuid::Uuid::from_u128(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_lower_case_uuid_v4_with_dashes_and_read_back() {
        let id = EventId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.as_bytes()[14], b'4');
        assert!(matches!(text.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(text.parse(), Ok(id));
        assert_eq!(text.replace('-', "").to_uppercase().parse(), Ok(id));
        assert!("0000".parse::<EventId>().is_err());
        assert!("g".repeat(32).parse::<EventId>().is_err());
    }
}
