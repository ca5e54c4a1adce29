//! The release-health session of this process: a lock-free state machine with no I/O.
//!
//! One word holds the phase (not started, active, ended) and the status reached so far, so every
//! transition is a single compare-and-swap: a status only ever becomes more severe, an ended
//! session never re-arms, and exactly one caller of [`SessionTracker::end`] gets the final status.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::counter::ShardedCounter;

/// The health of a session, as the AllStak dashboard counts it.
///
/// Statuses are ordered by severity, `Ok < Errored < Abnormal < Crashed`: while it runs, a
/// session only moves from [`Ok`](Self::Ok) towards [`Crashed`](Self::Crashed), never back. (A
/// final status given explicitly, as to [`Guard::end_with`](crate::Guard::end_with), wins
/// whatever its severity.)
///
/// ```
/// use allstak::SessionStatus;
/// assert!(SessionStatus::Errored > SessionStatus::Ok);
/// assert!(SessionStatus::Crashed > SessionStatus::Abnormal);
/// assert_eq!(SessionStatus::Crashed.as_str(), "crashed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SessionStatus {
    /// Nothing went wrong.
    Ok,
    /// The program handled an error: an `Err` out of a tracked function, or a caught panic.
    Errored,
    /// The program died of a panic, or `main` returned an `Err`.
    Crashed,
    /// The process ended without ending its session (killed, out of memory, power loss).
    Abnormal,
}

impl SessionStatus {
    /// The status as the wire contract spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Errored => "errored",
            Self::Crashed => "crashed",
            Self::Abnormal => "abnormal",
        }
    }

    /// The status [`as_str`](Self::as_str) spells so.
    pub(crate) fn from_wire(text: &str) -> Option<Self> {
        [Self::Ok, Self::Errored, Self::Crashed, Self::Abnormal]
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// How bad it is: the order of [`Ord`], and the direction a running session moves in.
    const fn severity(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Errored => 1,
            Self::Abnormal => 2,
            Self::Crashed => 3,
        }
    }

    const fn bits(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Errored => 1,
            Self::Crashed => 2,
            Self::Abnormal => 3,
        }
    }

    const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => Self::Ok,
            1 => Self::Errored,
            2 => Self::Crashed,
            _ => Self::Abnormal,
        }
    }
}

impl Ord for SessionStatus {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for SessionStatus {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id of a session: a random UUID v4, shown lower-case with dashes.
///
/// ```
/// let id = allstak::SessionId::random();
/// assert_eq!(id.to_string().len(), 36);
/// ```
///
/// With the `uuid` feature it converts to and from `uuid::Uuid`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(u128);

impl SessionId {
    /// A new random id.
    #[must_use]
    pub fn random() -> Self {
        Self(crate::uuid_text::random_v4())
    }

    /// The id's 128 bits, in the order its text shows them.
    #[must_use]
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// An id from its 128 bits, as [`as_u128`](Self::as_u128) gives them.
    ///
    /// ```
    /// let id = allstak::SessionId::random();
    /// assert_eq!(allstak::SessionId::from_u128(id.as_u128()), id);
    /// ```
    #[must_use]
    pub fn from_u128(bits: u128) -> Self {
        Self(bits)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::uuid_text::write(self.0, f)
    }
}

#[cfg(feature = "uuid")]
impl From<uuid::Uuid> for SessionId {
    fn from(uuid: uuid::Uuid) -> Self {
        Self(uuid.as_u128())
    }
}

#[cfg(feature = "uuid")]
impl From<SessionId> for uuid::Uuid {
    fn from(id: SessionId) -> Self {
        uuid::Uuid::from_u128(id.0)
    }
}

/// Reads an id as [`Display`](fmt::Display) writes it (any case, with or without dashes).
///
/// ```
/// let id = allstak::SessionId::random();
/// assert_eq!(id.to_string().parse::<allstak::SessionId>(), Ok(id));
/// assert_eq!(id.to_string().to_uppercase().replace('-', "").parse::<allstak::SessionId>(), Ok(id));
/// assert!("not-an-id".parse::<allstak::SessionId>().is_err());
/// ```
impl std::str::FromStr for SessionId {
    type Err = ParseSessionIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::uuid_text::parse(text)
            .map(Self)
            .ok_or(ParseSessionIdError(()))
    }
}

/// The text given to [`SessionId`]'s `FromStr` is not a UUID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSessionIdError(());

impl fmt::Display for ParseSessionIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a session id (a UUID such as 3b241101-e2bb-4255-8caf-4136c566a962)")
    }
}

impl std::error::Error for ParseSessionIdError {}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads what [`Serialize`] writes (the id as text, in any case, with or without dashes).
///
/// ```
/// let id = allstak::SessionId::random();
/// let json = serde_json::to_string(&id).unwrap();
/// assert_eq!(serde_json::from_str::<allstak::SessionId>(&json).unwrap(), id);
/// ```
impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

const PHASE_MASK: u8 = 0b11;
const NOT_STARTED: u8 = 0;
const ACTIVE: u8 = 1;
const ENDED: u8 = 2;
const STATUS_SHIFT: u32 = 2;

const fn pack(phase: u8, status: SessionStatus) -> u8 {
    phase | (status.bits() << STATUS_SHIFT)
}

const fn unpack_status(word: u8) -> SessionStatus {
    SessionStatus::from_bits(word >> STATUS_SHIFT)
}

/// What [`SessionTracker::end`] hands to the one caller that ended the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EndedSession {
    pub(crate) id: SessionId,
    pub(crate) duration: Duration,
    pub(crate) status: SessionStatus,
}

#[derive(Debug)]
struct Started {
    id: SessionId,
    at: Instant,
}

/// One session's state machine. The process-wide one lives in [`crate::client`].
#[derive(Debug)]
pub(crate) struct SessionTracker {
    word: AtomicU8,
    errors: ShardedCounter,
    started: OnceLock<Started>,
}

impl SessionTracker {
    pub(crate) const fn new() -> Self {
        Self {
            word: AtomicU8::new(pack(NOT_STARTED, SessionStatus::Ok)),
            errors: ShardedCounter::new(),
            started: OnceLock::new(),
        }
    }

    /// Starts the session; `false` if it was already started (or ended): a tracker never re-arms.
    pub(crate) fn start(&self, id: SessionId, at: Instant) -> bool {
        if self.started.set(Started { id, at }).is_err() {
            return false;
        }
        self.word
            .compare_exchange(
                pack(NOT_STARTED, SessionStatus::Ok),
                pack(ACTIVE, SessionStatus::Ok),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Whether the session is running: one relaxed load, the cost of the Err path without one.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.word.load(Ordering::Relaxed) & PHASE_MASK == ACTIVE
    }

    /// Records a handled error: `ok` becomes `errored`. Ignored unless the session is active.
    pub(crate) fn record_handled_error(&self) -> bool {
        let recorded = self.raise_to(SessionStatus::Errored);
        if recorded {
            self.errors.add(1);
        }
        recorded
    }

    /// Records a crash. Ignored unless the session is active.
    pub(crate) fn record_crash(&self) -> bool {
        self.raise_to(SessionStatus::Crashed)
    }

    fn raise_to(&self, status: SessionStatus) -> bool {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            if current & PHASE_MASK != ACTIVE {
                return false;
            }
            if unpack_status(current) >= status {
                return true;
            }
            match self.word.compare_exchange_weak(
                current,
                pack(ACTIVE, status),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Ends the session, once. `final_status`, when given, wins over the status reached so far.
    /// Returns `None` to every caller but the one that ended it, and before the start.
    pub(crate) fn end(
        &self,
        final_status: Option<SessionStatus>,
        at: Instant,
    ) -> Option<EndedSession> {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            if current & PHASE_MASK != ACTIVE {
                return None;
            }
            let status = final_status.unwrap_or_else(|| unpack_status(current));
            match self.word.compare_exchange_weak(
                current,
                pack(ENDED, status),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    let started = self.started.get()?;
                    return Some(EndedSession {
                        id: started.id,
                        duration: at.saturating_duration_since(started.at),
                        status,
                    });
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether the session was started and has ended.
    pub(crate) fn has_ended(&self) -> bool {
        self.word.load(Ordering::Acquire) & PHASE_MASK == ENDED
    }

    /// The id of the running session: `Some` only between start and end.
    pub(crate) fn current_id(&self) -> Option<SessionId> {
        if self.is_active() {
            self.started.get().map(|started| started.id)
        } else {
            None
        }
    }

    /// The status reached so far (the final one once ended).
    pub(crate) fn status(&self) -> SessionStatus {
        unpack_status(self.word.load(Ordering::Acquire))
    }

    /// How many handled errors were recorded while the session was active.
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn started() -> SessionTracker {
        let tracker = SessionTracker::new();
        assert!(tracker.start(SessionId::random(), Instant::now()));
        tracker
    }

    #[test]
    fn session_ids_are_version_4_rfc_variant_and_differ() {
        let ids: Vec<SessionId> = (0..1000).map(|_| SessionId::random()).collect();
        for id in &ids {
            let text = id.to_string();
            assert_eq!(text.as_bytes()[14], b'4', "{text}");
            assert!(
                matches!(text.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
                "{text}"
            );
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // Ids drawn on another thread (other hasher keys) differ from these too.
        let other = std::thread::spawn(SessionId::random).join().ok();
        assert!(other.is_some_and(|other| !ids.contains(&other)));
    }

    #[cfg(feature = "uuid")]
    #[test]
    fn a_session_id_is_the_same_uuid_bit_for_bit() {
        let id = SessionId::random();
        let uuid = uuid::Uuid::from(id);
        assert_eq!(uuid.to_string(), id.to_string());
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(SessionId::from(uuid), id);
    }

    #[test]
    fn a_session_id_reads_back_from_its_text_in_any_case_with_or_without_dashes() {
        let id = SessionId::from_u128(0x3b24_1101_e2bb_4255_8caf_4136_c566_a962);
        assert_eq!(id.to_string(), "3b241101-e2bb-4255-8caf-4136c566a962");
        for text in [
            "3b241101-e2bb-4255-8caf-4136c566a962",
            "3B241101-E2BB-4255-8CAF-4136C566A962",
            "3b241101e2bb42558caf4136c566a962",
        ] {
            assert_eq!(text.parse::<SessionId>(), Ok(id), "{text}");
        }
        for text in [
            "",
            "3b241101-e2bb-4255-8caf-4136c566a96",
            "3b241101-e2bb-4255-8caf-4136c566a9622",
            "3b2411010e2bb-4255-8caf-4136c566a962",
            "3b241101-e2bb-4255-8caf-4136c566a96g",
            "3b241101e2bb42558caf4136c566a96",
            "3b241101-e2bb42558caf4136c566a962",
            "+b241101e2bb42558caf4136c566a962",
            "3b241101-e2bb-4255-8caf-4136c566a9é",
        ] {
            assert!(text.parse::<SessionId>().is_err(), "{text}");
        }
    }

    #[test]
    fn a_new_session_is_ok_and_active() {
        let tracker = started();
        assert!(tracker.is_active());
        assert_eq!(tracker.status(), SessionStatus::Ok);
        assert!(tracker.current_id().is_some());
    }

    #[test]
    fn a_handled_error_turns_ok_into_errored_and_is_counted() {
        let tracker = started();
        assert!(tracker.record_handled_error());
        assert!(tracker.record_handled_error());
        assert_eq!(tracker.status(), SessionStatus::Errored);
        assert_eq!(tracker.error_count(), 2);
    }

    #[test]
    fn errored_becomes_crashed() {
        let tracker = started();
        tracker.record_handled_error();
        assert!(tracker.record_crash());
        assert_eq!(tracker.status(), SessionStatus::Crashed);
    }

    #[test]
    fn a_handled_error_never_downgrades_a_crash() {
        let tracker = started();
        tracker.record_crash();
        tracker.record_handled_error();
        let ended = tracker.end(None, Instant::now()).map(|e| e.status);
        assert_eq!(ended, Some(SessionStatus::Crashed));
    }

    #[test]
    fn an_explicit_final_status_wins() {
        let tracker = started();
        tracker.record_handled_error();
        let ended = tracker.end(Some(SessionStatus::Abnormal), Instant::now());
        assert_eq!(ended.map(|e| e.status), Some(SessionStatus::Abnormal));
        assert_eq!(tracker.status(), SessionStatus::Abnormal);
    }

    #[test]
    fn an_explicit_final_status_below_the_reached_one_wins() {
        let tracker = started();
        tracker.record_handled_error();
        let ended = tracker.end(Some(SessionStatus::Ok), Instant::now());
        assert_eq!(ended.map(|e| e.status), Some(SessionStatus::Ok));
        let tracker = started();
        tracker.record_crash();
        let ended = tracker.end(Some(SessionStatus::Errored), Instant::now());
        assert_eq!(ended.map(|e| e.status), Some(SessionStatus::Errored));
    }

    #[test]
    fn severity_orders_crashed_above_abnormal() {
        use SessionStatus::{Abnormal, Crashed, Errored, Ok};
        let mut statuses = [Crashed, Ok, Abnormal, Errored];
        statuses.sort();
        assert_eq!(statuses, [Ok, Errored, Abnormal, Crashed]);
    }

    #[test]
    fn records_after_the_end_are_ignored() {
        let tracker = started();
        assert!(tracker.end(None, Instant::now()).is_some());
        assert!(!tracker.record_handled_error());
        assert!(!tracker.record_crash());
        assert_eq!(tracker.status(), SessionStatus::Ok);
        assert_eq!(tracker.error_count(), 0);
        assert_eq!(tracker.current_id(), None);
    }

    #[test]
    fn records_before_the_start_are_ignored() {
        let tracker = SessionTracker::new();
        assert!(!tracker.record_handled_error());
        assert!(!tracker.is_active());
        assert!(tracker.start(SessionId::random(), Instant::now()));
        assert_eq!(tracker.status(), SessionStatus::Ok);
    }

    #[test]
    fn a_second_start_is_a_no_op() {
        let tracker = SessionTracker::new();
        let first = SessionId::random();
        assert!(tracker.start(first, Instant::now()));
        assert!(!tracker.start(SessionId::random(), Instant::now()));
        assert_eq!(tracker.current_id(), Some(first));
    }

    #[test]
    fn an_ended_session_never_re_arms() {
        let tracker = started();
        assert!(tracker.end(None, Instant::now()).is_some());
        assert!(!tracker.start(SessionId::random(), Instant::now()));
        assert!(!tracker.is_active());
        assert!(tracker.has_ended());
        assert!(tracker.end(None, Instant::now()).is_none());
    }

    #[test]
    fn an_end_before_the_start_is_a_no_op() {
        let tracker = SessionTracker::new();
        assert!(
            tracker
                .end(Some(SessionStatus::Crashed), Instant::now())
                .is_none()
        );
        assert!(tracker.start(SessionId::random(), Instant::now()));
        assert!(tracker.is_active());
        assert_eq!(tracker.status(), SessionStatus::Ok);
    }

    #[test]
    fn the_duration_runs_from_start_to_end() {
        let tracker = SessionTracker::new();
        let start = Instant::now();
        tracker.start(SessionId::random(), start);
        let ended = tracker.end(None, start + Duration::from_millis(1500));
        assert_eq!(ended.map(|e| e.duration), Some(Duration::from_millis(1500)));
    }

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Record,
        Crash,
        End(Option<SessionStatus>),
    }

    /// Every transition is one compare-and-swap on one word, so any concurrent run is
    /// equivalent to some order of whole operations: checking every order of these operations
    /// checks every interleaving.
    #[test]
    fn every_order_of_records_crashes_and_ends_keeps_the_rules() {
        let ops = [
            Op::Record,
            Op::Crash,
            Op::Record,
            Op::End(None),
            Op::End(Some(SessionStatus::Abnormal)),
        ];
        let mut orders = Vec::new();
        permutations(&mut ops.to_vec(), 0, &mut orders);
        assert_eq!(orders.len(), 120);
        for order in orders {
            let tracker = started();
            let mut expected = SessionStatus::Ok;
            let mut ends = Vec::new();
            for op in &order {
                match op {
                    Op::Record => {
                        if tracker.record_handled_error() {
                            expected = expected.max(SessionStatus::Errored);
                        }
                    }
                    Op::Crash => {
                        if tracker.record_crash() {
                            expected = SessionStatus::Crashed;
                        }
                    }
                    Op::End(explicit) => {
                        if let Some(ended) = tracker.end(*explicit, Instant::now()) {
                            ends.push(ended.status);
                            expected = explicit.unwrap_or(expected);
                        }
                    }
                }
            }
            assert_eq!(ends.len(), 1, "exactly one end in {order:?}");
            assert_eq!(ends[0], expected, "{order:?}");
            assert_eq!(tracker.status(), expected, "{order:?}");
        }
    }

    fn permutations(ops: &mut Vec<Op>, from: usize, out: &mut Vec<Vec<Op>>) {
        if from == ops.len() {
            out.push(ops.clone());
            return;
        }
        for i in from..ops.len() {
            ops.swap(from, i);
            permutations(ops, from + 1, out);
            ops.swap(from, i);
        }
    }

    #[test]
    fn many_threads_recording_while_another_ends_see_one_final_status() {
        for _ in 0..50 {
            let tracker = Arc::new(started());
            let barrier = Arc::new(Barrier::new(17));
            let recorders: Vec<_> = (0..16)
                .map(|i| {
                    let (tracker, barrier) = (Arc::clone(&tracker), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        let mut recorded = Vec::new();
                        for n in 0..200 {
                            let crash = i == 0 && n == 100;
                            let ok = if crash {
                                tracker.record_crash()
                            } else {
                                tracker.record_handled_error()
                            };
                            recorded.push((crash, ok));
                        }
                        recorded
                    })
                })
                .collect();
            let ender = {
                let (tracker, barrier) = (Arc::clone(&tracker), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    tracker.end(None, Instant::now())
                })
            };
            let results: Vec<_> = recorders
                .into_iter()
                .flat_map(|r| r.join().expect("recorder"))
                .collect();
            let ended = ender
                .join()
                .expect("ender")
                .expect("the ender ends the session");
            let crash_recorded = results.iter().any(|&(crash, ok)| crash && ok);
            let errors_recorded = results.iter().filter(|&&(crash, ok)| !crash && ok).count();
            // The final status is exactly what the records accepted before the end imply.
            let expected = if crash_recorded {
                SessionStatus::Crashed
            } else if errors_recorded > 0 {
                SessionStatus::Errored
            } else {
                SessionStatus::Ok
            };
            assert_eq!(ended.status, expected);
            assert_eq!(tracker.status(), expected);
            assert_eq!(tracker.error_count(), errors_recorded as u64);
            assert!(tracker.end(None, Instant::now()).is_none());
        }
    }
}
