//! The spool: error events the server had not taken when their process ended (not reachable, no
//! answer before the exit deadline, or still queued at exit), kept beside the session files and
//! delivered, oldest first, by the next start of a program with the same key and host. (A
//! session's start and end are kept in its own state file, [`super::SessionFile`].)
//!
//! Bounded: [`MAX_ITEMS`] events and [`MAX_BYTES`] bytes, the oldest dropped first to make
//! room, and [`super::MAX_AGE`]; what is dropped is counted. Each item is one request's body in
//! a file of its own under the state dir's rules ([`super::files`]), and is removed only once
//! the server took it or refused it for good. Delivery claims each file by a rename, as
//! recovery claims a session's: a run killed while delivering leaves a claim that the next run
//! takes over, so nothing is lost, and only the item whose answer was lost is sent twice (its
//! event id lets the server drop the copy).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use super::{Claim, Found, MAX_AGE, StateDir, TEMPORARY_AGE, files};
use crate::diag;
use crate::lock_soon::lock_soon;
use crate::transport::{Deliver, Delivery};
use crate::wire::{self, Post};

/// Events kept at most (AllStak-Rust 0.2.2's offline queue kept as many).
pub(crate) const MAX_ITEMS: usize = 100;
/// Bytes of events kept at most (0.2.2's bound too).
pub(crate) const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// An item's file, `<key hash>-<sequence>.event`.
pub(super) const EXTENSION: &str = "event";
/// Items read at most to go at once with the sessions of earlier runs ([`Spool::claim_ahead`]).
const MAX_AHEAD: usize = 16;
/// A file bigger than an event can be is not ours.
const MAX_ITEM: u64 = crate::MAX_EVENT_BYTES as u64 + 1024;

/// This program's spool in the state dir.
pub(crate) struct Spool {
    dir: StateDir,
    /// Items dropped unsent: the spool was full, they expired, or the server refused them.
    dropped: AtomicU64,
    /// Held while keeping: two keeps at once (the worker's and the exiting thread's) would make
    /// room from the same listing, and drop more than they must, or keep more than the bounds.
    keeping: Mutex<()>,
}

/// A file of this program's in the spool dir.
struct Entry {
    path: PathBuf,
    /// The name up to its extension: items sort by it, oldest first.
    stem: String,
    found: Found,
    size: u64,
    modified: Option<SystemTime>,
}

impl Spool {
    pub(crate) fn new(dir: StateDir) -> Self {
        Self {
            dir,
            dropped: AtomicU64::new(0),
            keeping: Mutex::new(()),
        }
    }

    /// Items dropped unsent by this process (see [`Spool`]).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn drop_counted(&self, path: &Path, why: &str) {
        if fs::remove_file(path).is_ok() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            diag::debug!(
                "a kept error event was dropped ({why}); counted by dropped_event_count()"
            );
        }
    }

    /// Whether anything may be kept here for a later run: one listing of the dir, nothing read.
    pub(crate) fn anything_kept(&self) -> bool {
        self.dir.usable().is_some_and(|usable| {
            super::holds_any(&usable.spool, &usable.key_hash, EXTENSION, None)
        })
    }

    /// This program's files in the spool dir, oldest first.
    fn entries(&self) -> Vec<Entry> {
        let Some(usable) = self.dir.usable() else {
            return Vec::new();
        };
        let Ok(listing) = fs::read_dir(&usable.spool) else {
            return Vec::new();
        };
        let prefix = format!("{}-", usable.key_hash);
        let mut entries: Vec<Entry> = listing
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let found = Found::named(&name, &prefix, EXTENSION)?;
                let (stem, _) = name.rsplit_once('.')?;
                // Not followed: a link here is not ours, and is dropped unread when its turn comes.
                let metadata = entry.metadata().ok();
                Some(Entry {
                    path: entry.path(),
                    stem: stem.to_owned(),
                    found,
                    size: metadata.as_ref().map_or(0, fs::Metadata::len),
                    modified: metadata.and_then(|m| m.modified().ok()),
                })
            })
            .collect();
        entries.sort_by(|a, b| a.stem.cmp(&b.stem));
        entries
    }

    /// [`Spool::keep_files`], for what it took only.
    #[cfg(test)]
    pub(crate) fn keep(&self, requests: &[Post]) -> usize {
        self.keep_files(requests, true).0
    }

    /// Takes back items kept by [`Spool::keep_files`] (their events were delivered after all):
    /// removed, unless a later run claimed them meanwhile (then it sends them: once more).
    pub(crate) fn take_back(&self, kept: &[PathBuf]) {
        for path in kept {
            let _ = fs::remove_file(path);
        }
    }

    /// Keeps `requests` (error events) for a later run, oldest first; makes room by dropping the
    /// oldest kept. Never waits on a FIFO or follows a link (see [`files`]): the exiting thread
    /// calls it. Returns how many it took: kept, or dropped and counted here; the rest (all,
    /// where the state dir is not used, or another keep holds the spool past `may_wait`) are the
    /// caller's to count; and the files it wrote, for [`Spool::take_back`]. One keep at a time:
    /// the worker waits for another (`may_wait`), the exiting thread tries briefly
    /// ([`lock_soon`]).
    pub(crate) fn keep_files(&self, requests: &[Post], may_wait: bool) -> (usize, Vec<PathBuf>) {
        let keeping = if may_wait {
            Some(self.keeping.lock().unwrap_or_else(PoisonError::into_inner))
        } else {
            lock_soon(&self.keeping)
        };
        let Some(_keeping) = keeping else {
            return (0, Vec::new());
        };
        if !may_wait && self.dir.being_found() {
            return (0, Vec::new()); // see `SessionFile::keep_end_unless_busy`
        }
        let mut requests: Vec<&Post> = requests
            .iter()
            .filter(|request| request.path == wire::ERRORS)
            .collect();
        let Some(usable) = self.dir.usable().filter(|_| !requests.is_empty()) else {
            return (0, Vec::new());
        };
        let size = |requests: &[&Post]| requests.iter().map(|r| r.body.len() as u64).sum::<u64>();
        // More than the spool holds at once (the exit keeping a full queue): the oldest go first.
        let mut over = 0;
        while requests.len() > MAX_ITEMS || size(&requests) > MAX_BYTES {
            requests.remove(0);
            over += 1;
        }
        if over > 0 {
            self.dropped.fetch_add(over as u64, Ordering::Relaxed);
            diag::debug!(
                "{over} error events were dropped (the spool was full); counted by \
                 dropped_event_count()"
            );
        }
        let adding = size(&requests);
        let kept: Vec<Entry> = self
            .entries()
            .into_iter()
            .filter(|entry| entry.found == Found::Kept)
            .collect();
        let (mut items, mut bytes) = (kept.len(), kept.iter().map(|e| e.size).sum::<u64>());
        for oldest in &kept {
            if items + requests.len() <= MAX_ITEMS && bytes + adding <= MAX_BYTES {
                break;
            }
            self.drop_counted(&oldest.path, "the spool was full");
            items -= 1;
            bytes -= oldest.size;
        }
        let mut written = Vec::with_capacity(requests.len());
        for request in requests {
            let path = usable
                .spool
                .join(format!("{}-{}.{EXTENSION}", usable.key_hash, sequence()));
            if files::write(&path, &request.body).is_err() {
                break;
            }
            written.push(path);
        }
        (over + written.len(), written)
    }

    /// Delivers the kept items, oldest first, claimed while they are sent: each removed once
    /// the server took it or refused it for good (counted), put back from the first that cannot
    /// be sent yet (the rest wait for a later run). `together`: all posted ahead at once
    /// (pipelined, one round trip), then settled in order; more than one claim holds (several
    /// runs kept at once), the next ones likewise. Returns whether none is left that this run
    /// may send (an event whose start another live process owes is that one's; one that cannot
    /// be read now is left).
    pub(crate) fn deliver(&self, deliver: &mut impl Deliver, together: bool) -> bool {
        let mut unreadable_now = false;
        loop {
            let (claimed, left) = self.claim_all(After::TheirStarts);
            unreadable_now |= left.unreadable_now;
            if together {
                deliver
                    .deliver_ahead(&claimed.iter().map(|item| &item.request).collect::<Vec<_>>());
            }
            let mut claimed = claimed.into_iter();
            while let Some(item) = claimed.next() {
                let delivery = deliver.deliver(&item.request);
                self.settle(&item, delivery);
                if delivery == Delivery::NotYet {
                    // The rest wait for a later run, but those the server took (or refused for
                    // good) when posted ahead.
                    for left in claimed {
                        let delivery = deliver.taken_ahead(&left.request);
                        self.settle(&left, delivery.unwrap_or(Delivery::NotYet));
                    }
                    return false;
                }
            }
            if !left.past_the_bounds {
                return !unreadable_now;
            }
        }
    }

    /// The kept items that go on one connection right after `sessions` (the sessions of
    /// earlier runs a run that does not wait writes at once, each start before its end),
    /// claimed: those of these sessions, those of a session nothing is left of in the state
    /// dir ([`StateDir::holds_session`]), and those of none; the newest [`MAX_AHEAD`] read at
    /// most (what earlier such runs wrote is older), in order. The others wait for
    /// [`Spool::deliver`].
    pub(crate) fn claim_ahead(&self, sessions: &[&str]) -> Vec<Claimed> {
        self.claim_all(After::These(sessions)).0
    }

    /// Settles `claimed` as far as their answers came when posted ahead: each removed once the
    /// server took it or refused it for good, else put back (no try of its own: a later
    /// [`Spool::deliver`], or a later run, sends it). One whose session is still left (its
    /// start was not taken when the event was, and goes again) is put back too: it goes
    /// again after that start.
    pub(crate) fn settle_taken_ahead(
        &self,
        claimed: impl IntoIterator<Item = Claimed>,
        deliver: &mut impl Deliver,
    ) {
        for item in claimed {
            let delivery = deliver
                .taken_ahead(&item.request)
                .filter(|_| {
                    session_of(&item.request.body).is_none_or(|id| !self.dir.holds_session(&id))
                })
                .unwrap_or(Delivery::NotYet);
            self.settle(&item, delivery);
        }
    }

    /// Removes a claimed item once the server took it or refused it for good (counted); puts
    /// it back for a later run if not.
    fn settle(&self, item: &Claimed, delivery: Delivery) {
        match delivery {
            Delivery::Sent => {
                let _ = fs::remove_file(&item.claim);
            }
            Delivery::Refused => self.drop_counted(&item.claim, "the server refused it"),
            Delivery::NotYet => {
                let _ = fs::rename(&item.claim, &item.original);
            }
        }
    }

    /// Claims the kept items this run may send (not one another live run is sending), oldest
    /// first, [`MAX_ITEMS`] and [`MAX_BYTES`] at most, and reads them; drops what is too old,
    /// and what is not a file of ours. Each goes after its session's start, as `after` says
    /// (with `These`, of the newest [`MAX_AHEAD`] read). With them, what it left to claim later.
    fn claim_all(&self, after: After<'_>) -> (Vec<Claimed>, LeftToClaim) {
        let now = SystemTime::now();
        let age = |entry: &Entry| {
            entry
                .modified
                .and_then(|at| now.duration_since(at).ok())
                .unwrap_or_default()
        };
        let (mut claimed, mut bytes, mut read) = (Vec::new(), 0, 0);
        let mut left = LeftToClaim::default();
        // Listed once, on the first event with a session: the sessions runs are recovering.
        let mut being_recovered = None;
        let mut entries = self.entries();
        let ahead = matches!(after, After::These(_));
        if ahead {
            // The newest first: the older ones are most often what earlier such runs wrote
            // (their answers not read), withheld, read only to be left.
            entries.reverse();
        }
        for entry in entries {
            if ahead && read >= MAX_AHEAD {
                break; // what goes at once is written before the program may end: a few
            }
            match entry.found {
                Found::Temporary => {
                    // Left by a process killed while writing it: no write takes that long.
                    if age(&entry) > TEMPORARY_AGE {
                        let _ = fs::remove_file(&entry.path);
                    }
                    continue;
                }
                Found::ClaimedBy(claim)
                    if claim.is_this_process() || claim.alive(now) != Some(false) =>
                {
                    continue; // being sent by that run
                }
                Found::Kept | Found::ClaimedBy(_) => {}
            }
            if age(&entry) > MAX_AGE {
                self.drop_counted(&entry.path, "older than 7 days");
                continue;
            }
            if claimed.len() >= MAX_ITEMS || bytes >= MAX_BYTES {
                left.past_the_bounds = true;
                break; // more than the spool holds (several runs kept at once): the next round
            }
            let original = entry.path.with_extension(EXTENSION);
            let claim = entry.path.with_extension(Claim::extension_now());
            if fs::rename(&entry.path, &claim).is_err() {
                continue; // another run claimed it first
            }
            let body = match files::read_at_most(&claim, MAX_ITEM) {
                Ok(body) => body,
                Err(error) if files::not_now(&error) => {
                    // Not now (no descriptor left, an I/O error): put back for a later look.
                    let _ = fs::rename(&claim, &original);
                    left.unreadable_now = true;
                    continue;
                }
                Err(_) => {
                    let _ = fs::remove_file(&claim); // a link, a FIFO, a huge file: not ours
                    continue;
                }
            };
            read += 1;
            if session_of(&body).is_some_and(|id| match after {
                After::TheirStarts => {
                    let being_recovered =
                        being_recovered.get_or_insert_with(|| self.dir.claimed_sessions());
                    self.dir.start_owed_by_a_live_process(&id, being_recovered)
                }
                After::These(sessions) => {
                    !sessions.contains(&id.as_str()) && self.dir.holds_session(&id)
                }
            }) {
                // Its session's start may not have reached the server, and goes before it
                // (with `TheirStarts`: the process that owes it is alive, offline since it
                // started).
                let _ = fs::rename(&claim, &original);
                continue;
            }
            bytes += body.len() as u64;
            claimed.push(Claimed {
                claim,
                original,
                request: Post {
                    path: wire::ERRORS,
                    body,
                },
            });
        }
        if ahead {
            claimed.reverse(); // oldest first, as they happened
        }
        (claimed, left)
    }
}

/// The session an event was reported in, if any: its top-level `sessionId`, found as serde_json
/// wrote it (the members before it have fixed names, and a string's quotes are escaped). The
/// state files' reader reads no arrays, and linking a whole JSON parser for this one field is
/// not worth its size.
fn session_of(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""sessionId":""#;
    let value = body.get(body.windows(KEY.len()).position(|at| at == KEY)? + KEY.len()..)?;
    let id = value.get(..value.iter().position(|&b| b == b'"')?)?;
    String::from_utf8(id.to_vec()).ok()
}

/// What [`Spool::claim_all`] left to claim later.
#[derive(Default)]
struct LeftToClaim {
    /// Past its item or byte bound.
    past_the_bounds: bool,
    /// Put back: it could not be read now (no descriptor left, an I/O error).
    unreadable_now: bool,
}

/// Which kept items [`Spool::claim_all`] claims, as their sessions' starts allow.
#[derive(Clone, Copy)]
enum After<'a> {
    /// Sent after every session left: all but those whose start a live process owes.
    TheirStarts,
    /// Sent right after these sessions: theirs, and those of sessions nothing is left of.
    These(&'a [&'a str]),
}

/// A kept item this run claimed: its file under the claim's name, the name to put it back
/// under, and its request.
pub(crate) struct Claimed {
    claim: PathBuf,
    original: PathBuf,
    request: Post,
}

impl Claimed {
    /// The event's request, as kept.
    pub(crate) fn request(&self) -> &Post {
        &self.request
    }
}

/// The next item's name in the spool: later than every earlier one of this process (the
/// clock's nanoseconds, bumped past the last), then random digits against another process's
/// name of the same instant.
fn sequence() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    )
    .unwrap_or(u64::MAX);
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    let at = now.max(previous.saturating_add(1));
    #[allow(clippy::cast_possible_truncation)] // 32 of the random bits
    let random = crate::random::random_u128() as u32;
    format!("{at:020}{random:08x}")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::Process;
    use super::super::tests::{Scratch, Server, within_a_second};
    use super::*;

    fn event(n: usize) -> Post {
        Post {
            path: wire::ERRORS,
            body: format!(r#"{{"message":"event {n}"}}"#).into_bytes(),
        }
    }

    fn spool(scratch: &Scratch) -> Spool {
        Spool::new(StateDir::locate(scratch.state_dir(), "k", "h"))
    }

    fn messages(server: &Server) -> Vec<String> {
        server
            .received
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }

    fn bodies(range: std::ops::Range<usize>) -> Vec<String> {
        range
            .map(|n| String::from_utf8(event(n).body).expect("utf-8"))
            .collect()
    }

    #[test]
    fn kept_events_are_delivered_oldest_first_once_each() {
        let scratch = Scratch::new("spool-order");
        let spool = spool(&scratch);
        assert_eq!(spool.keep(&[event(0), event(1)]), 2);
        spool.keep(&[event(2)]);
        assert!(spool.anything_kept());
        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        assert_eq!(messages(&server), bodies(0..3));
        assert!(!spool.anything_kept());
        assert!(
            server
                .received
                .iter()
                .all(|(path, _)| *path == wire::ERRORS)
        );
        // Removed once taken: a later run finds nothing.
        let mut later = Server::default();
        assert!(spool.deliver(&mut later, false));
        assert!(later.received.is_empty());
        assert_eq!(spool.dropped(), 0);
    }

    /// An error event of session `id`'s (its message `owed`).
    fn event_of_session(id: crate::SessionId) -> Post {
        Post {
            path: wire::ERRORS,
            body: format!(r#"{{"eventId":"e-1","message":"owed","sessionId":"{id}"}}"#)
                .into_bytes(),
        }
    }

    #[test]
    fn an_event_whose_session_start_a_live_process_still_owes_waits_for_that_start() {
        let scratch = Scratch::new("spool-owed");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let spool = Spool::new(dir.clone());
        let id = crate::SessionId::random();
        // This process's session, its start not taken yet (offline since it started).
        let mut state = dir.new_state(id, "app@1", "production");
        state.start = Some(r#"{"sessionId":"owed"}"#.to_owned());
        dir.write(&state).expect("written");
        let owed = event_of_session(id);
        assert_eq!(spool.keep(&[owed, event(1)]), 2);

        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        assert_eq!(
            messages(&server),
            bodies(1..2),
            "not before its session's start"
        );
        assert!(spool.anything_kept());
        // Its start taken: the event goes.
        state.start = None;
        dir.write(&state).expect("written");
        let mut later = Server::default();
        assert!(spool.deliver(&mut later, false));
        assert_eq!(messages(&later).len(), 1);
        assert!(messages(&later)[0].contains(r#""message":"owed""#));
        assert!(!spool.anything_kept());
    }

    #[cfg(unix)]
    #[test]
    fn an_event_whose_session_another_live_run_claimed_with_its_start_waits_for_that_start() {
        let scratch = Scratch::new("spool-claimed");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let spool = Spool::new(dir.clone());
        let id = crate::SessionId::random();
        // A dead process's session, its start owed, claimed by a live run (this process's
        // parent, alive as long as the test runs) that is sending it.
        let mut state = dir.new_state(id, "app@1", "production");
        state.pid = u32::MAX;
        state.start = Some(r#"{"sessionId":"owed"}"#.to_owned());
        dir.write(&state).expect("written");
        let parent = std::os::unix::process::parent_id();
        let claimer = Process {
            pid: parent,
            start: super::super::process_start(parent),
        };
        let file = dir.file_for(&id.to_string());
        let claim = file.with_extension(claimer.claim_extension());
        fs::rename(&file, &claim).expect("claimed");
        let owed = event_of_session(id);
        assert_eq!(spool.keep(&[owed, event(1)]), 2);

        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        assert_eq!(messages(&server), bodies(1..2), "not before its start");
        // That run sent the start (its claim no longer holds it): the event goes.
        state.start = None;
        super::super::write_state(&claim, &state).expect("written");
        let mut later = Server::default();
        assert!(spool.deliver(&mut later, false));
        assert_eq!(messages(&later).len(), 1);
        assert!(!spool.anything_kept());
    }

    #[test]
    fn what_goes_at_once_with_earlier_sessions_is_their_events_and_those_of_sessions_gone() {
        let scratch = Scratch::new("spool-ahead");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let spool = Spool::new(dir.clone());
        let [going, left, gone] = [(); 3].map(|()| crate::SessionId::random());
        // `going` is being written now; `left`'s file is still here (another run's to send, or
        // a later one's): its start may not have reached the server; nothing is left of `gone`.
        for id in [going, left] {
            dir.write(&dir.new_state(id, "app@1", "production"))
                .expect("written");
        }
        let events = [left, going, gone].map(event_of_session);
        assert_eq!(spool.keep(&events), 3);
        assert_eq!(spool.keep(&[event(1)]), 1);
        let going_id = going.to_string();
        let claimed = spool.claim_ahead(&[going_id.as_str()]);
        let sessions: Vec<Option<String>> = claimed
            .iter()
            .map(|item| session_of(&item.request().body))
            .collect();
        assert_eq!(
            sessions,
            [Some(going_id), Some(gone.to_string()), None],
            "theirs, those of sessions gone and of none, oldest first; not `left`'s"
        );
        // Not answered: all put back, for the run's later delivery (or a later run's).
        spool.settle_taken_ahead(claimed, &mut Server::default());
        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        assert_eq!(messages(&server).len(), 4);
    }

    #[test]
    fn an_event_taken_at_once_before_its_sessions_start_was_goes_again_after_it() {
        /// Took everything posted ahead.
        struct TookAll;
        impl Deliver for TookAll {
            fn deliver(&mut self, _: &Post) -> Delivery {
                Delivery::Sent
            }
            fn taken_ahead(&mut self, _: &Post) -> Option<Delivery> {
                Some(Delivery::Sent)
            }
        }
        let scratch = Scratch::new("spool-ahead-settled");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let spool = Spool::new(dir.clone());
        let [going, gone] = [(); 2].map(|()| crate::SessionId::random());
        assert_eq!(spool.keep(&[going, gone].map(event_of_session)), 2);
        let (going_id, gone_id) = (going.to_string(), gone.to_string());
        let claimed = spool.claim_ahead(&[going_id.as_str(), gone_id.as_str()]);
        assert_eq!(claimed.len(), 2);
        // `going`'s start was not taken (a 503, say): its file is still here, as the batch
        // put it back; `gone`'s was, with its end.
        dir.write(&dir.new_state(going, "app@1", "production"))
            .expect("written");
        spool.settle_taken_ahead(claimed, &mut TookAll);
        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        let sessions: Vec<Option<String>> = server
            .received
            .iter()
            .map(|(_, body)| session_of(body.as_bytes()))
            .collect();
        assert_eq!(sessions, [Some(going_id)], "kept, to go after its start");
    }

    /// Events `range`, kept, then claimed by a run that died.
    fn kept_claimed_by_a_dead_run(spool: &Spool, range: std::ops::Range<usize>) {
        let dead = Process {
            pid: u32::MAX - 1,
            start: None,
        };
        let (_, kept) = spool.keep_files(&range.map(event).collect::<Vec<_>>(), true);
        for path in &kept {
            fs::rename(path, path.with_extension(dead.claim_extension())).expect("claimed");
        }
    }

    #[test]
    fn what_goes_at_once_is_the_newest_few_in_order() {
        let scratch = Scratch::new("spool-ahead-few");
        let spool = spool(&scratch);
        // Twenty events claimed by runs that died (most often: written, their answers not
        // read), then one no run claimed: the newest sixteen, oldest first.
        kept_claimed_by_a_dead_run(&spool, 0..20);
        assert_eq!(spool.keep(&[event(20)]), 1);
        let claimed = spool.claim_ahead(&[]);
        let messages: Vec<String> = claimed
            .iter()
            .map(|item| String::from_utf8_lossy(&item.request().body).into_owned())
            .collect();
        assert_eq!(messages, bodies(21 - MAX_AHEAD..21));
    }

    #[test]
    fn the_session_of_an_event_is_its_top_level_session_id() {
        let id = crate::SessionId::random().to_string();
        let body = format!(
            r#"{{"eventId":"e","message":"say \"sessionId\":\"x\"","sessionId":"{id}","metadata":{{"sessionId":"y"}}}}"#
        );
        assert_eq!(session_of(body.as_bytes()), Some(id));
        assert_eq!(session_of(br#"{"message":"no session"}"#), None);
        assert_eq!(session_of(br#"{"sessionId":"cut"#), None);
    }

    #[test]
    fn an_event_the_server_does_not_take_yet_waits_in_its_place_with_those_after_it() {
        let scratch = Scratch::new("spool-not-yet");
        let spool = spool(&scratch);
        spool.keep(&[event(0), event(1), event(2)]);
        let mut down = Server::answering(&[Delivery::Sent, Delivery::NotYet]);
        assert!(!spool.deliver(&mut down, false));
        assert_eq!(
            messages(&down),
            bodies(0..2),
            "stops at the first not taken"
        );
        let mut up = Server::default();
        assert!(spool.deliver(&mut up, false));
        assert_eq!(messages(&up), bodies(1..3));
    }

    #[test]
    fn an_event_refused_for_good_is_removed_and_counted() {
        let scratch = Scratch::new("spool-refused");
        let spool = spool(&scratch);
        spool.keep(&[event(0), event(1)]);
        let mut server = Server::answering(&[Delivery::Refused]);
        assert!(spool.deliver(&mut server, false));
        assert_eq!(messages(&server), bodies(0..2));
        assert_eq!(spool.dropped(), 1);
        let mut later = Server::default();
        spool.deliver(&mut later, false);
        assert!(later.received.is_empty());
    }

    #[test]
    fn a_full_spool_drops_the_oldest_first_and_counts_them() {
        let scratch = Scratch::new("spool-full");
        let spool = spool(&scratch);
        for n in 0..MAX_ITEMS + 3 {
            spool.keep(&[event(n)]);
        }
        assert_eq!(spool.dropped(), 3);
        let mut server = Server::default();
        spool.deliver(&mut server, false);
        assert_eq!(messages(&server), bodies(3..MAX_ITEMS + 3));
    }

    #[test]
    fn more_kept_than_one_claim_holds_goes_in_one_delivery() {
        let scratch = Scratch::new("spool-more");
        let spool = spool(&scratch);
        // Three claimed by a run that died, not counted by keeps since: the spool holds more
        // than one delivery claims.
        kept_claimed_by_a_dead_run(&spool, 0..3);
        for n in 3..MAX_ITEMS + 3 {
            spool.keep(&[event(n)]);
        }
        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false), "all went");
        assert_eq!(messages(&server), bodies(0..MAX_ITEMS + 3), "oldest first");
        assert!(!spool.anything_kept());
        assert_eq!(spool.dropped(), 0);
    }

    #[test]
    fn more_events_at_once_than_the_spool_holds_keep_the_newest() {
        let scratch = Scratch::new("spool-batch");
        let spool = spool(&scratch);
        spool.keep(&[event(1000)]);
        let batch: Vec<Post> = (0..MAX_ITEMS + 5).map(event).collect();
        assert_eq!(
            spool.keep(&batch),
            MAX_ITEMS + 5,
            "all taken: kept, or dropped and counted"
        );
        assert_eq!(
            spool.dropped(),
            6,
            "the one kept before, and the batch's five oldest"
        );
        let mut server = Server::default();
        spool.deliver(&mut server, false);
        assert_eq!(messages(&server), bodies(5..MAX_ITEMS + 5));
    }

    #[test]
    fn the_spool_holds_at_most_its_bytes() {
        let scratch = Scratch::new("spool-bytes");
        let spool = spool(&scratch);
        let big = |n: usize| Post {
            path: wire::ERRORS,
            body: format!("{n:03}{}", "x".repeat(crate::MAX_EVENT_BYTES - 3)).into_bytes(),
        };
        let fit = usize::try_from(MAX_BYTES).expect("fits") / crate::MAX_EVENT_BYTES;
        for n in 0..fit + 2 {
            spool.keep(&[big(n)]);
        }
        assert_eq!(spool.dropped(), 2);
        let mut server = Server::default();
        spool.deliver(&mut server, false);
        let firsts: Vec<String> = messages(&server)
            .iter()
            .map(|m| m[..3].to_owned())
            .collect();
        let expected: Vec<String> = (2..fit + 2).map(|n| format!("{n:03}")).collect();
        assert_eq!(firsts, expected);
    }

    #[test]
    fn an_event_claimed_by_a_run_that_died_is_delivered_and_one_claimed_by_a_live_run_is_not() {
        let scratch = Scratch::new("spool-claims");
        let spool = spool(&scratch);
        spool.keep(&[event(0), event(1)]);
        let mut items = spool.entries().into_iter();
        let (first, second) = (items.next().expect("one"), items.next().expect("two"));
        let dead = Process {
            pid: u32::MAX - 1,
            start: None,
        };
        fs::rename(
            &first.path,
            first.path.with_extension(dead.claim_extension()),
        )
        .expect("claim");
        let live = Process {
            pid: 1,
            start: None,
        }; // init: always running
        fs::rename(
            &second.path,
            second.path.with_extension(live.claim_extension()),
        )
        .expect("claim");
        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        let expected = if cfg!(unix) { bodies(0..1) } else { Vec::new() };
        assert_eq!(messages(&server), expected);
    }

    #[test]
    fn an_expired_event_is_dropped_unsent_and_counted() {
        let scratch = Scratch::new("spool-expired");
        let spool = spool(&scratch);
        spool.keep(&[event(0), event(1)]);
        let oldest = spool.entries().remove(0);
        let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
        fs::File::options()
            .write(true)
            .open(&oldest.path)
            .and_then(|file| file.set_modified(eight_days_ago))
            .expect("aged");
        let mut server = Server::default();
        assert!(spool.deliver(&mut server, false));
        assert_eq!(messages(&server), bodies(1..2));
        assert_eq!(spool.dropped(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn links_and_fifos_in_the_spool_are_dropped_unread() {
        let scratch = Scratch::new("spool-planted");
        let spool = spool(&scratch);
        spool.keep(&[event(0)]);
        let usable = spool.dir.usable().expect("usable").clone();
        let planted = |n: u32| {
            usable
                .spool
                .join(format!("{}-{n:028}.{EXTENSION}", usable.key_hash))
        };
        std::os::unix::fs::symlink("/dev/zero", planted(1)).expect("link");
        super::super::tests::mkfifo(&planted(2));
        let mut server = Server::default();
        let delivered = within_a_second(move || {
            spool.deliver(&mut server, false);
            server
        });
        assert_eq!(messages(&delivered), bodies(0..1));
        assert!(fs::symlink_metadata(planted(1)).is_err());
        assert!(fs::symlink_metadata(planted(2)).is_err());
    }

    #[test]
    fn one_keep_at_a_time_and_the_exiting_thread_gives_up_on_a_busy_spool_at_once() {
        let scratch = Scratch::new("spool-one-keep");
        let spool = spool(&scratch);
        let busy = spool.keeping.lock().unwrap();
        let trying = Instant::now();
        assert_eq!(spool.keep_files(&[event(0)], false), (0, Vec::new()));
        assert!(
            trying.elapsed() < Duration::from_secs(1),
            "{:?}",
            trying.elapsed()
        );
        // The worker waits for the keep in progress, then keeps.
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| spool.keep_files(&[event(1)], true).0);
            std::thread::sleep(Duration::from_millis(20));
            drop(busy);
            assert_eq!(waiting.join().unwrap(), 1);
        });
        let (taken, written) = spool.keep_files(&[event(2)], false);
        assert_eq!((taken, written.len()), (1, 1));
        spool.take_back(&written);
        let mut server = Server::default();
        spool.deliver(&mut server, false);
        assert_eq!(messages(&server), [r#"{"message":"event 1"}"#]);
    }
}
