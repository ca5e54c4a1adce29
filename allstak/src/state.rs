//! Abnormal-session recovery: each open session is written to a small state file, so that the
//! next start of a program with the same key and host can end the sessions of processes that
//! died without ending theirs (killed, out of memory, power loss) as `abnormal`. The file also
//! keeps what the server has not taken yet, in order: the session's start, then its end; an
//! end is never sent before its start went through. Error events the server has not taken wait
//! beside the sessions, in the [`spool`].
//!
//! Files are written atomically (write, then rename), mode 0600, and never hold the key: only a
//! hash of key and host under the dir's random salt, which is also how a program finds its own.
//! The dir is used only if it is private to the user ([`files`] has the rules against what
//! others may plant there). A state dir that cannot be used only turns recovery off.

mod files;
mod json;
mod slot;
mod spool;
mod written;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::diag;
use crate::lock_soon::lock_soon;
use crate::session::EndedSession;
use crate::time;
use crate::transport::{Deliver, Delivery};
use crate::wire::{self, Post};
use crate::{SessionId, SessionStatus};
use json::Json;
use slot::{FileOp, Slot, SlotEvent};
pub(crate) use spool::{Claimed as SpooledEvent, Spool};

/// How long the exiting thread waits for another thread to find the state dir before it keeps
/// anything there (as long as it may spend building the error events it keeps).
const FINDING_WAITED_FOR: Duration = Duration::from_millis(30);
/// A state written on another machine whose process has not refreshed it for this long is
/// taken for one whose process is gone. It does every 30 s while its session runs, between
/// deliveries: one delivery can hold it 25 minutes at most (five attempts, each after a
/// `Retry-After` of up to 300 s).
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);
/// State older than this is dropped unsent.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often a run looks for what other keys and hosts left ([`StateDir::sweep_others`]):
/// two listings, in one run of this many.
const SWEEP_ONE_RUN_IN: u128 = 64;
/// Sessions of earlier runs kept at most (a program run a thousand times while the server was
/// away); past it the oldest are dropped unsent.
const MAX_KEPT_SESSIONS: usize = 1000;
/// Offline, past [`MAX_KEPT_SESSIONS`], the oldest are dropped down to this many (see
/// [`StateDir::keep_within_the_bound`]).
const KEPT_OFFLINE_AFTER_THE_BOUND: usize = MAX_KEPT_SESSIONS - MAX_KEPT_SESSIONS / 8;
/// The extension of the mark saying the server took a session's start from a key and host:
/// only then does a run send a start and its end together (pipelined), so that where the server
/// refuses starts (a wrong key, a host that is not AllStak's), an end never follows one.
const TAKEN: &str = "took-a-start";

/// Sessions recovered in one go at most: a long outage must not hold this run's own start back
/// (the rest are sent after it).
const MAX_RECOVERED_PER_START: usize = 16;

/// Which sessions earlier runs left one recovery takes.
#[derive(Clone, Copy)]
pub(crate) struct Batch {
    limit: usize,
    /// The last written first, not the oldest.
    newest_first: bool,
    /// How many sessions withheld (see [`StateDir::recover_but`]) it reads before it stops.
    most_skipped: usize,
}

impl Batch {
    /// The oldest first, [`MAX_RECOVERED_PER_START`] of them.
    const OLDEST: Self = Self {
        limit: MAX_RECOVERED_PER_START,
        newest_first: false,
        most_skipped: usize::MAX,
    };
    /// In a run that does not wait at exit, what it reads and claims before it writes is time a
    /// short program may not give it (it ends when `main` does): a few, the newest first (the
    /// older ones are those earlier such runs wrote already, each read only to be left), and
    /// not past a few of those.
    const NOT_WAITING: Self = Self {
        limit: 4,
        newest_first: true,
        most_skipped: 8,
    };
}
const EXTENSION: &str = "session";
/// A temp file this old was left by a process killed while writing it.
const TEMPORARY_AGE: Duration = Duration::from_secs(3600);

/// The state of one session, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionState {
    pub(crate) session_id: String,
    pub(crate) release: String,
    pub(crate) environment: String,
    pub(crate) key_hash: String,
    pub(crate) pid: u32,
    /// When the process started, in the platform's own units; tells a reused pid apart.
    pub(crate) process_start: Option<u64>,
    /// The machine the process ran on ([`this_machine`]): its pid means nothing on another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) machine: Option<String>,
    pub(crate) started_at_ms: u64,
    pub(crate) updated_at_ms: u64,
    /// The body of the session's start while the server has not taken it: the next run sends
    /// it before the end, so that the server never gets an end without its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start: Option<String>,
    /// Set once the session ended here but its end may not have reached the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ended: Option<Ended>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Ended {
    pub(crate) status: SessionStatus,
    pub(crate) duration_ms: u64,
}

/// What to send for a session found in the state dir: its start if still owed, then its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Recovered {
    pub(crate) session_id: String,
    pub(crate) status: SessionStatus,
    pub(crate) duration_ms: u64,
    /// The state as read, to put back (without the start once sent) if the end cannot be.
    state: SessionState,
    /// The claimed file: removed once nothing is owed, put back if something still is.
    pub(crate) claim: PathBuf,
    pub(crate) original: PathBuf,
}

/// The state dir of this program's sessions: found (created, checked, its salt read) on first
/// use, by whichever SDK thread comes first.
#[derive(Clone)]
pub(crate) struct StateDir {
    base: PathBuf,
    /// `base` sits in the shared temp dir, where a link in its place would be someone else's.
    in_temp: bool,
    /// Key and host, hashed under the dir's salt once found; never printed.
    identity: Arc<[u8]>,
    usable: Arc<OnceLock<Option<Usable>>>,
    /// Set while a thread is finding the dir ([`Self::find`]): file system calls that may not
    /// come back (a hung network mount).
    finding: Arc<AtomicBool>,
}

/// A state dir found private, and this program's name in it.
#[derive(Clone, Debug)]
struct Usable {
    sessions: PathBuf,
    /// Where error events wait for a later run ([`Spool`]).
    spool: PathBuf,
    key_hash: String,
}

impl std::fmt::Debug for StateDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDir")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl StateDir {
    /// `ALLSTAK_STATE_DIR`, else the platform's state (or cache) dir, else a dir of the user's
    /// own in the temp dir. Nothing is touched until the dir is first used.
    pub(crate) fn locate(explicit: Option<PathBuf>, key: &str, host: &str) -> Self {
        let (base, in_temp) = match explicit {
            Some(dir) => (dir, false),
            None => platform_state_dir(),
        };
        let identity: Vec<u8> = key.bytes().chain([0]).chain(host.bytes()).collect();
        Self {
            base,
            in_temp,
            identity: identity.into(),
            usable: Arc::new(OnceLock::new()),
            finding: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether another thread is still finding the dir after [`FINDING_WAITED_FOR`] (it takes
    /// tens of microseconds on a local disk, milliseconds on a network one): the exiting thread
    /// does not join it there (on a hung mount it would never come back, and the process would
    /// never exit).
    fn being_found(&self) -> bool {
        let until = std::time::Instant::now() + FINDING_WAITED_FOR;
        loop {
            if self.usable.get().is_some() || !self.finding.load(Ordering::Relaxed) {
                return false;
            }
            if std::time::Instant::now() >= until {
                return true;
            }
            std::thread::yield_now();
        }
    }

    /// The dir, if it is private to the user; said once if it is not. Never waits for another
    /// thread finding it (the exiting thread must not wait on a worker the scheduler left
    /// aside): two threads may both look, and agree (see [`files::salt`]).
    fn usable(&self) -> Option<&Usable> {
        if let Some(found) = self.usable.get() {
            return found.as_ref();
        }
        self.finding.store(true, Ordering::Relaxed);
        let found = self.find();
        self.finding.store(false, Ordering::Relaxed);
        let found = match found {
            Ok(usable) => Some(usable),
            Err(unusable) => {
                diag::say_once(
                    diag::Notice::StateDir,
                    "warn",
                    format_args!("{unusable}: no abnormal-session recovery"),
                );
                None
            }
        };
        let _ = self.usable.set(found);
        self.usable.get().and_then(Option::as_ref)
    }

    fn find(&self) -> Result<Usable, files::Unusable> {
        files::private_dir(&self.base, !self.in_temp)?;
        let sessions = self.base.join("sessions");
        files::private_dir(&sessions, false)?;
        let spool = self.base.join("spool");
        files::private_dir(&spool, false)?;
        let salt = files::salt(&self.base)?;
        Ok(Usable {
            sessions,
            spool,
            key_hash: files::keyed_name(salt, &self.identity),
        })
    }

    /// This program's name in the dir (empty if the dir is not used: nothing is written then).
    fn key_hash(&self) -> &str {
        self.usable().map_or("", |usable| &usable.key_hash)
    }

    fn file_for(&self, session_id: &str) -> PathBuf {
        self.base
            .join("sessions")
            .join(format!("{}-{session_id}.{EXTENSION}", self.key_hash()))
    }

    /// Writes (or rewrites) a session's state, atomically.
    pub(crate) fn write(&self, state: &SessionState) -> std::io::Result<()> {
        if self.usable().is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the state dir is not used",
            ));
        }
        write_state(&self.file_for(&state.session_id), state)
    }

    pub(crate) fn remove(&self, session_id: &str) {
        if self.usable().is_some() {
            let _ = fs::remove_file(self.file_for(session_id));
        }
    }

    /// Whether the server took a session's start from this key and host before (a mark in
    /// the dir, see [`Self::remember_a_start_was_taken`]).
    fn took_a_start_before(&self) -> bool {
        self.taken_mark()
            .is_some_and(|mark| fs::symlink_metadata(mark).is_ok_and(|found| found.is_file()))
    }

    /// Marks that the server took a session's start from this key and host.
    fn remember_a_start_was_taken(&self) {
        if let Some(mark) = self.taken_mark() {
            let _ = files::mark(&mark);
        }
    }

    /// The mark's path (see [`TAKEN`]), if the dir is used.
    fn taken_mark(&self) -> Option<PathBuf> {
        let usable = self.usable()?;
        Some(self.base.join(format!("{}.{TAKEN}", usable.key_hash)))
    }

    /// A fresh state for `id`, started now by this process.
    pub(crate) fn new_state(
        &self,
        id: SessionId,
        release: &str,
        environment: &str,
    ) -> SessionState {
        let now = time::unix_millis(SystemTime::now());
        SessionState {
            session_id: id.to_string(),
            release: release.to_owned(),
            environment: environment.to_owned(),
            key_hash: self.key_hash().to_owned(),
            pid: std::process::id(),
            process_start: Process::this().start,
            machine: this_machine().map(str::to_owned),
            started_at_ms: now,
            updated_at_ms: now,
            start: None,
            ended: None,
        }
    }

    /// Past [`MAX_KEPT_SESSIONS`] of this program's session files (a long outage of a program
    /// run often), drops the oldest of processes that are gone, unsent, down to `keep`, and
    /// says how many. `entries`: the dir's, oldest first.
    fn drop_the_oldest_past_the_bound(
        &self,
        entries: &[(Option<SystemTime>, fs::DirEntry)],
        prefix: &str,
        keep: usize,
    ) {
        let kept: Vec<PathBuf> = entries
            .iter()
            .map(|(_, entry)| entry.path())
            .filter(|path| {
                path.file_name()
                    .is_some_and(|name| Found::is_kept_session(name, prefix))
            })
            .collect();
        if kept.len() <= MAX_KEPT_SESSIONS {
            return;
        }
        let mut over = kept.len().saturating_sub(keep);
        let mut dropped = 0;
        for path in kept {
            if over == 0 {
                break;
            }
            let gone = read_state(&path)
                .is_some_and(|state| state.owner_alive(SystemTime::now()) == Some(false));
            if gone && fs::remove_file(&path).is_ok() {
                over -= 1;
                dropped += 1;
            }
        }
        if dropped > 0 {
            diag::debug!(
                "{dropped} sessions of earlier runs were dropped unsent: more than \
                 {MAX_KEPT_SESSIONS} were kept"
            );
        }
    }

    /// What another key or host left here (a key rotated, `ALLSTAK_HOST` changed, a salt
    /// lost): no run of this one looks at it, and none of that one may come again, so what is
    /// older than [`MAX_AGE`] goes, as this key's own does. Plain files and links only, in the
    /// two dirs of ours, never followed; a live run's state file is refreshed at each of its
    /// heartbeats, so it is never that old. Done by a run now and then ([`SWEEP_ONE_RUN_IN`]).
    pub(crate) fn sweep_others(&self) {
        let Some(usable) = self.usable() else {
            return;
        };
        let prefix = format!("{}-", usable.key_hash);
        let now = SystemTime::now();
        for dir in [&usable.sessions, &usable.spool] {
            let Ok(listing) = fs::read_dir(dir) else {
                continue;
            };
            for entry in listing.flatten() {
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| name.starts_with(&prefix))
                {
                    continue;
                }
                // Not followed: a link is judged as the link.
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                let old = metadata
                    .modified()
                    .ok()
                    .and_then(|at| now.duration_since(at).ok())
                    .is_some_and(|age| age > MAX_AGE);
                if old && !metadata.is_dir() {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Where nothing is claimed (the server cannot be reached), the bound on sessions kept
    /// ([`MAX_KEPT_SESSIONS`]) holds all the same: one listing of names, and only past the
    /// bound the oldest of processes that are gone dropped, as [`Self::recover_but`] does, but
    /// down to [`KEPT_OFFLINE_AFTER_THE_BOUND`]: finding the oldest looks at every file kept (3
    /// ms with a thousand here), once in 125 runs offline rather than in each.
    pub(crate) fn keep_within_the_bound(&self) {
        let Some(usable) = self.usable() else {
            return;
        };
        let prefix = format!("{}-", usable.key_hash);
        let Ok(listing) = fs::read_dir(&usable.sessions) else {
            return;
        };
        let kept = listing
            .flatten()
            .filter(|entry| Found::is_kept_session(&entry.file_name(), &prefix))
            .count();
        if kept > MAX_KEPT_SESSIONS
            && let Ok(listing) = fs::read_dir(&usable.sessions)
        {
            self.drop_the_oldest_past_the_bound(
                &oldest_first(listing),
                &prefix,
                KEPT_OFFLINE_AFTER_THE_BOUND,
            );
        }
    }

    /// Whether session `id`'s start is owed by a process that may be alive (its state file
    /// still holds the start), or by a run that claimed its file to send it (`claimed`, as
    /// [`Self::claimed_sessions`] listed them): that process sends it, and the session's events
    /// must not reach the server before it. One file read; `false` if there is no such file.
    fn start_owed_by_a_live_process(&self, id: &str, claimed: &ClaimedSessions) -> bool {
        if !names_a_session(id) {
            return false; // not a session id of ours: no file name is made of it
        }
        match read_state_now(&self.file_for(id)) {
            Ok(Some(state)) => {
                return state.start.is_some()
                    && state.owner_alive(SystemTime::now()) != Some(false);
            }
            // It cannot be told now (no descriptor left, an I/O error): the events wait.
            Err(NotNow) => return true,
            Ok(None) => {}
        }
        claimed.get(id).is_some_and(|(path, claim)| {
            claim.alive(SystemTime::now()) != Some(false)
                && read_state(path).is_some_and(|state| state.start.is_some())
        })
    }

    /// Whether anything of session `id` is left here: its file, kept or claimed by a run.
    /// Nothing is once the server took its start and end, or refused it for good, or the file
    /// was dropped (stale, past the bound) or never written. Looked at as a file, then in a
    /// listing made after that, then as a file again: a run claiming it (a rename) or putting
    /// it back meanwhile is seen either way.
    fn holds_session(&self, id: &str) -> bool {
        if !names_a_session(id) {
            return false; // not a session id of ours: no file name is made of it
        }
        let kept = || fs::symlink_metadata(self.file_for(id)).is_ok();
        kept() || self.claimed_sessions().contains_key(id) || kept()
    }

    /// The sessions of this program's that runs have claimed to send, by session id (one
    /// listing): while one holds a start, the run that claimed it is sending it.
    fn claimed_sessions(&self) -> ClaimedSessions {
        let Some(usable) = self.usable() else {
            return ClaimedSessions::new();
        };
        let Ok(entries) = fs::read_dir(&usable.sessions) else {
            return ClaimedSessions::new();
        };
        let prefix = format!("{}-", usable.key_hash);
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let name = name.to_str()?;
                let Found::ClaimedBy(claim) = Found::named(name, &prefix, EXTENSION)? else {
                    return None;
                };
                let (id, _) = name.strip_prefix(&prefix)?.rsplit_once('.')?;
                Some((id.to_owned(), (entry.path(), claim)))
            })
            .collect()
    }

    /// Whether earlier runs may have left sessions here: any file of this program's but `own`
    /// (one listing, nothing read).
    fn sessions_left(&self, own: Option<&Path>) -> bool {
        self.usable()
            .is_some_and(|usable| holds_any(&usable.sessions, &usable.key_hash, EXTENSION, own))
    }

    /// Claims the sessions of this program whose process is gone, and drops stale ones.
    /// A claim is a rename: when two programs start at once, only one gets each file. A claim
    /// whose run died before it settled it is claimed again.
    #[cfg(test)]
    pub(crate) fn recover(&self, now: SystemTime, own: Option<&Path>) -> Vec<Recovered> {
        self.recover_but(now, own, &mut |_| false, Batch::OLDEST)
    }

    /// [`Self::recover`], the sessions `batch` says, but for those whose end `withheld` says is
    /// not to be written now (left where they are, whole: their start goes with their end).
    pub(crate) fn recover_but(
        &self,
        now: SystemTime,
        own: Option<&Path>,
        withheld: &mut dyn FnMut(&Post) -> bool,
        batch: Batch,
    ) -> Vec<Recovered> {
        let Some(usable) = self.usable() else {
            return Vec::new();
        };
        let Ok(entries) = fs::read_dir(&usable.sessions) else {
            return Vec::new();
        };
        let prefix = format!("{}-", usable.key_hash);
        let mut entries = oldest_first(entries);
        self.drop_the_oldest_past_the_bound(&entries, &prefix, MAX_KEPT_SESSIONS);
        if batch.newest_first {
            entries.reverse();
            // The files no run claimed first: a claimed file's run most often wrote it (and
            // died before its answer), so it is withheld, and read only to be left; one never
            // claimed is a session no run wrote yet. Behind eight of those, it would wait.
            entries.sort_by_cached_key(|(_, entry)| {
                entry.file_name().to_str().is_some_and(|name| {
                    matches!(
                        Found::named(name, &prefix, EXTENSION),
                        Some(Found::ClaimedBy(_))
                    )
                })
            });
        }
        let (mut recovered, mut skipped) = (Vec::new(), 0);
        for (_, entry) in entries {
            if recovered.len() >= batch.limit {
                break;
            }
            let path = entry.path();
            let Some(found) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|name| Found::named(name, &prefix, EXTENSION))
            else {
                continue;
            };
            if own == Some(path.as_path())
                || matches!(found, Found::ClaimedBy(claim) if claim.is_this_process())
            {
                // Claimed by this very loop, and seen again under its new name; or this run's
                // own session, its to send.
                continue;
            }
            if found == Found::Temporary {
                // Left by a process killed while writing: no write takes that long.
                let written = entry.metadata().and_then(|metadata| metadata.modified());
                if written
                    .is_ok_and(|at| now.duration_since(at).unwrap_or_default() > TEMPORARY_AGE)
                {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            // Anything else under our name (a link, a FIFO, a huge file) is not ours: dropped
            // unread.
            // Not now (no descriptor left, an I/O error): left as it is, for a later look.
            let Ok(state) = read_state_now(&path) else {
                continue;
            };
            let Some(state) = state else {
                let _ = fs::remove_file(&path);
                continue;
            };
            let stale = age(&state, now) > MAX_AGE;
            match found {
                Found::Temporary => continue,
                Found::Kept => {
                    // Our own session is sent by us, and a live process's is its own to send:
                    // open, or ended and kept here while that process still tries to send the
                    // end. However old its file (a heartbeat may have failed for days), it is
                    // never ours to remove.
                    let alive = state.owner_alive(now);
                    if alive == Some(true) {
                        continue;
                    }
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if alive.is_none() {
                        continue; // cannot tell: never report a session abnormal that may be running
                    }
                }
                Found::ClaimedBy(claim) => {
                    // Its session's process is gone (that is why it was claimed), and no run
                    // recovers for days: a claim that old goes like the state it holds.
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if claim.alive(now) != Some(false) {
                        continue; // that run is still sending its end
                    }
                }
            }
            let (status, duration_ms) = match state.ended {
                Some(ended) => (ended.status, ended.duration_ms),
                None => (
                    SessionStatus::Abnormal,
                    state.updated_at_ms.saturating_sub(state.started_at_ms),
                ),
            };
            let mut found = Recovered {
                session_id: state.session_id.clone(),
                status,
                duration_ms,
                state,
                claim: PathBuf::new(),
                original: path.with_extension(EXTENSION),
            };
            if withheld(&found.end()) {
                // Its end written by an earlier run, its answer not read: not again yet, nor
                // its start (once the end is due, the two go together).
                skipped += 1;
                if skipped >= batch.most_skipped {
                    break;
                }
                continue;
            }
            found.claim = path.with_extension(Claim::extension_now());
            if fs::rename(&path, &found.claim).is_err() {
                continue; // another program claimed it first
            }
            recovered.push(found);
        }
        // Oldest first, as they happened.
        recovered.sort_by_key(|recovered| recovered.state.started_at_ms);
        recovered
    }
}

/// A listing's entries, oldest first (as last written), not the dir's own order: a look at
/// each one's file.
fn oldest_first(listing: fs::ReadDir) -> Vec<(Option<SystemTime>, fs::DirEntry)> {
    let mut entries: Vec<(Option<SystemTime>, fs::DirEntry)> = listing
        .flatten()
        .map(|entry| (entry.metadata().and_then(|m| m.modified()).ok(), entry))
        .collect();
    entries.sort_by_key(|(modified, _)| *modified);
    entries
}

/// Whether `dir` holds any file of the program named `key_hash` (kept with the extension
/// `kept`, claimed, or being written) but `except`. A dir that cannot be listed may.
fn holds_any(dir: &Path, key_hash: &str, kept: &str, except: Option<&Path>) -> bool {
    let Ok(listing) = fs::read_dir(dir) else {
        return true;
    };
    let prefix = format!("{key_hash}-");
    listing.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|name| Found::named(name, &prefix, kept).is_some())
            && except != Some(entry.path().as_path())
    })
}

/// A file of this program's in the state dir.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// A file as kept: a session's state, `<key hash>-<session id>.session`, or an event in the
    /// spool, `<key hash>-<sequence>.event`.
    Kept,
    /// A kept file claimed by a run, to send what it holds ([`Claim`]).
    ClaimedBy(Claim),
    /// A state being written: `….tmp-<random>`.
    Temporary,
}

const CLAIMED: &str = "claimed-";

impl Found {
    /// Whether the file `name` is a session this program kept (`prefix`: its key hash and a
    /// dash), not claimed by a run nor being written.
    fn is_kept_session(name: &std::ffi::OsStr, prefix: &str) -> bool {
        name.to_str()
            .and_then(|name| Self::named(name, prefix, EXTENSION))
            == Some(Self::Kept)
    }

    /// What the file `name` is, if it is this program's (`prefix`: its key hash and a dash) and
    /// of its kind (`kept`: the extension of a kept file).
    fn named(name: &str, prefix: &str, kept: &str) -> Option<Self> {
        let (_, extension) = name.strip_prefix(prefix)?.rsplit_once('.')?;
        if extension == kept {
            return Some(Self::Kept);
        }
        if extension.starts_with(files::TEMPORARY) {
            return Some(Self::Temporary);
        }
        let mut parts = extension.strip_prefix(CLAIMED)?.split('-');
        let pid = parts.next()?.parse().ok()?;
        let (mut start, mut machine, mut at) = (None, None, None);
        for part in parts {
            if let Some(hex) = part.strip_prefix('m') {
                machine = Some(u32::from_str_radix(hex, 16).ok()?);
            } else if let Some(seconds) = part.strip_prefix('t') {
                at = Some(seconds.parse().ok()?);
            } else if start.is_none() && machine.is_none() {
                start = Some(part.parse().ok()?);
            } else {
                return None;
            }
        }
        Some(Self::ClaimedBy(Claim {
            by: Process { pid, start },
            machine,
            at,
        }))
    }
}

/// Claimed session files by session id, and the claim on each.
type ClaimedSessions = std::collections::HashMap<String, (PathBuf, Claim)>;

/// A claim, as its file's name says: the process that claimed it, and, since claims name them,
/// the machine it ran on ([`machine_hash`]) and when it claimed it (Unix seconds):
/// `….claimed-<pid>[-<start>][-m<machine>-t<seconds>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Claim {
    by: Process,
    machine: Option<u32>,
    at: Option<u64>,
}

impl Claim {
    /// The extension of a file this process claims now.
    fn extension_now() -> String {
        let mut extension = Process::this().claim_extension();
        if let Some(machine) = machine_hash() {
            let at = time::unix_millis(SystemTime::now()) / 1000;
            extension.push_str(&format!("-m{machine:08x}-t{at}"));
        }
        extension
    }

    /// Whether this process made the claim.
    fn is_this_process(&self) -> bool {
        self.by == Process::this()
            && self
                .machine
                .is_none_or(|machine| machine_hash() == Some(machine))
    }

    /// Whether the run that made the claim may still be sending what it holds: by its pid on
    /// this machine; on another, for [`ABANDONED_AFTER`] from the claim (`None`: it does not
    /// say when).
    fn alive(&self, now: SystemTime) -> Option<bool> {
        if let (Some(theirs), Some(ours)) = (self.machine, machine_hash())
            && theirs != ours
        {
            let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(self.at?))?;
            return Some(now.duration_since(at).unwrap_or_default() < ABANDONED_AFTER);
        }
        if self.is_this_process() {
            Some(true)
        } else {
            self.by.alive()
        }
    }
}

/// [`this_machine`], hashed for a claim's name (FNV-1a: a collision only makes another
/// machine's claim judged by its pid, as before claims named machines).
fn machine_hash() -> Option<u32> {
    this_machine().map(|machine| {
        machine.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    })
}

/// A process, as a state or a claim names it: its pid, and when it started where the platform
/// says (which tells a reused pid apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Process {
    pid: u32,
    start: Option<u64>,
}

impl Process {
    /// This process: its start time read once (a forked child, whose pid differs, reads its own).
    /// Never waits for another thread: two that ask at once both read it (the exiting thread
    /// must not wait on the SDK's, see [`SessionFile::keep_end_unless_busy`]).
    fn this() -> Self {
        static THIS: Mutex<Option<Process>> = Mutex::new(None);
        let pid = std::process::id();
        if let Ok(known) = THIS.try_lock()
            && let Some(this) = *known
            && this.pid == pid
        {
            return this;
        }
        let this = Self {
            pid,
            start: process_start(pid),
        };
        if let Ok(mut known) = THIS.try_lock() {
            *known = Some(this);
        }
        this
    }

    fn alive(self) -> Option<bool> {
        process_alive(self.pid, self.start)
    }

    /// The extension of a file claimed by this process, naming it alone ([`Claim`] adds where
    /// and when).
    fn claim_extension(self) -> String {
        match self.start {
            Some(start) => format!("{CLAIMED}{}-{start}", self.pid),
            None => format!("{CLAIMED}{}", self.pid),
        }
    }
}

impl Recovered {
    /// The session's start, if the server has not taken it: to send before the end.
    pub(crate) fn start(&self) -> Option<Post> {
        self.state.start.as_ref().map(|body| Post {
            path: wire::SESSIONS_START,
            body: body.clone().into_bytes(),
        })
    }

    /// Its end, with its status and duration.
    pub(crate) fn end(&self) -> Post {
        wire::session_end(&self.session_id, self.duration_ms, self.status.as_str())
    }

    /// The start reached the server: the claim no longer holds it, so a run that recovers it
    /// later (this one killed before the end went out) sends only the end.
    pub(crate) fn start_sent(&mut self) {
        if self.state.start.take().is_some() {
            let _ = write_state(&self.claim, &self.state);
        }
    }

    /// Removes the claimed file once nothing is owed (the end sent, or the session refused for
    /// good); puts it back for a later run if not.
    pub(crate) fn settle(&self, settled: bool) {
        if settled {
            let _ = fs::remove_file(&self.claim);
        } else {
            let _ = fs::rename(&self.claim, &self.original);
        }
    }
}

/// This process's session file: the slot's transitions ([`slot::transition`]) performed on disk.
pub(crate) struct SessionFile {
    dir: StateDir,
    release: String,
    environment: String,
    /// One lock for both, so that a state is written with the start exactly while it is owed.
    inner: Mutex<Inner>,
    /// Whether the server took a start from this key and host, by this run or an earlier one
    /// ([`Self::pipelines`]); looked up once.
    taken_before: OnceLock<AtomicBool>,
    /// What earlier runs left is to be delivered after this run's end, and how far their
    /// recovery got ([`Self::recover_sessions`]'s answer).
    rest_left: Mutex<Option<Option<bool>>>,
    /// Whether the process waits for the network at exit (an exit deadline above 0).
    waits: bool,
}

struct Inner {
    slot: Slot,
    start: Start,
}

/// What the server has of this session's start.
#[derive(Clone)]
enum Start {
    /// Not handed to the worker yet: only if the session ended before its start was queued
    /// (a signal in between), and its end then goes as it is.
    NotQueued,
    /// Not taken yet: kept with the session's state, and sent again before the end.
    Owed(Post),
    Sent,
    /// Refused for good: the server will never have this session, so its end is never sent.
    Refused,
}

impl Start {
    /// What a state written now holds of the start.
    fn kept(&self) -> Option<String> {
        match self {
            Self::Owed(request) => Some(String::from_utf8_lossy(&request.body).into_owned()),
            Self::NotQueued | Self::Sent | Self::Refused => None,
        }
    }
}

impl SessionFile {
    pub(crate) fn new(dir: StateDir, release: &str, environment: &str) -> Self {
        Self {
            dir,
            release: release.to_owned(),
            environment: environment.to_owned(),
            inner: Mutex::new(Inner {
                slot: Slot::NotWritten,
                start: Start::NotQueued,
            }),
            taken_before: OnceLock::new(),
            rest_left: Mutex::new(None),
            waits: true,
        }
    }

    /// Whether the process waits for the network at exit (see [`Self::not_waiting`]).
    pub(crate) fn waits(&self) -> bool {
        self.waits
    }

    /// For a process that does not wait for the network at exit (exit deadline 0): it writes
    /// what it has at once, pipelined (it would not read the answers one by one), and holds
    /// nothing back for its end (which it does not send).
    pub(crate) fn not_waiting(mut self) -> Self {
        self.waits = false;
        self
    }

    /// What earlier runs left waits for this run's end (its start held back until then, or
    /// the server not reached so far), their recovery as far as `recovered` says
    /// ([`Self::recover_sessions`]'s answer).
    pub(crate) fn leave_the_rest_left(&self, recovered: Option<bool>) {
        *self
            .rest_left
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(recovered);
    }

    /// What [`Self::leave_the_rest_left`] left, once.
    pub(crate) fn take_the_rest_left(&self) -> Option<Option<bool>> {
        self.rest_left
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Whether a start and its end go out together (pipelined): only once the server took a
    /// start from this key and host, by this run or an earlier one (see [`TAKEN`]); or in a
    /// process that does not wait for answers at exit.
    pub(crate) fn pipelines(&self) -> bool {
        !self.waits || self.taken_before().load(Ordering::Relaxed)
    }

    /// Whether the session's start is held back a moment, to go with its end
    /// ([`Self::pipelines`]), as in a process that waits for their answer at exit.
    pub(crate) fn holds_the_start(&self) -> bool {
        self.waits && self.pipelines()
    }

    /// Finds the state dir and looks for the mark now, not on first use: the first look takes
    /// a few dozen microseconds of system calls.
    pub(crate) fn look_up(&self) {
        self.taken_before();
    }

    fn taken_before(&self) -> &AtomicBool {
        self.taken_before
            .get_or_init(|| AtomicBool::new(self.dir.took_a_start_before()))
    }

    /// The server took a start: remembered for later runs, once.
    fn start_was_taken(&self) {
        if !self.taken_before().swap(true, Ordering::Relaxed) {
            self.dir.remember_a_start_was_taken();
        }
    }

    /// `first` then `then` once `first` was sent: together if [`Self::pipelines`].
    fn deliver_after(
        &self,
        deliver: &mut impl Deliver,
        first: &Post,
        then: &Post,
    ) -> (Delivery, Option<Delivery>) {
        let delivered = if self.pipelines() {
            deliver.deliver_after(first, then)
        } else {
            crate::transport::one_then_the_other(deliver, first, then)
        };
        if delivered.0 == Delivery::Sent {
            self.start_was_taken();
        }
        delivered
    }

    /// Sends what earlier runs of this program left (a few sessions at most, see
    /// [`MAX_RECOVERED_PER_START`]): the ends of processes that died without ending their
    /// session (`abnormal`), and the starts and ends the server had not taken, each end after its
    /// start. `deliver` sends a request. `None` if nothing was left; else whether all of it went
    /// (stopped at the first the server does not take yet: the rest wait for a later call).
    /// `ours` goes after them where they are posted ahead (pipelined).
    pub(crate) fn recover_sessions(
        &self,
        deliver: &mut impl Deliver,
        ours: &[&Post],
    ) -> Option<bool> {
        let batch = self.claim_sessions(deliver);
        self.deliver_sessions(deliver, batch, ours)
    }

    /// The first half of [`Self::recover_sessions`]: the sessions earlier runs left that this
    /// run sends now, claimed.
    pub(crate) fn claim_sessions(&self, deliver: &mut impl Deliver) -> Vec<Recovered> {
        let batch = self.dir.recover_but(
            SystemTime::now(),
            self.own_file().as_deref(),
            &mut |request| deliver.withholds(request),
            if self.waits {
                Batch::OLDEST
            } else {
                Batch::NOT_WAITING
            },
        );
        for recovered in &batch {
            // An end never goes without its start before it (see `Worker::release`).
            if let Some(start) = recovered.start()
                && deliver.withholds(&start)
                && !deliver.withholds(&recovered.end())
            {
                deliver.release(&start);
            }
        }
        batch
    }

    /// The second half of [`Self::recover_sessions`]: sends `batch` ([`Self::claim_sessions`]'s),
    /// `ours` after it where they are posted ahead. Writes nothing if `batch` is empty.
    pub(crate) fn deliver_sessions(
        &self,
        deliver: &mut impl Deliver,
        batch: Vec<Recovered>,
        ours: &[&Post],
    ) -> Option<bool> {
        if batch.is_empty() {
            return None;
        }
        let mut batch = std::collections::VecDeque::from(batch);
        let mut posted_ahead = false;
        while let Some(mut recovered) = batch.pop_front() {
            if !posted_ahead && self.pipelines() {
                // This one and the rest at once, in order: one round trip for all of them (as
                // soon as the server took a start of this key, maybe that of the one before).
                posted_ahead = true;
                let requests: Vec<Post> = std::iter::once(&recovered)
                    .chain(&batch)
                    .flat_map(|recovered| recovered.start().into_iter().chain([recovered.end()]))
                    .collect();
                let all: Vec<&Post> = requests.iter().chain(ours.iter().copied()).collect();
                deliver.deliver_ahead(&all);
            }
            diag::debug!(
                "ending session {} of a process that is gone: {}",
                recovered.session_id,
                recovered.status
            );
            let end = recovered.end();
            // Its start and end together, where the backend can pipeline: one round trip.
            let delivery = match recovered.start() {
                Some(start) => match self.deliver_after(deliver, &start, &end) {
                    (Delivery::Sent, Some(delivery)) => {
                        recovered.start_sent();
                        delivery
                    }
                    // Refused for good: the server will never have this session, nor its end.
                    (Delivery::Refused, _) => Delivery::Refused,
                    (_, _) => {
                        recovered.settle(false);
                        self.settle_the_rest(deliver, batch);
                        return Some(false);
                    }
                },
                None => deliver.deliver(&end),
            };
            recovered.settle(delivery != Delivery::NotYet);
            if delivery == Delivery::NotYet {
                self.settle_the_rest(deliver, batch);
                return Some(false);
            }
        }
        Some(true)
    }

    /// Whether earlier runs may have left sessions for [`Self::recover_sessions`] to deliver:
    /// one listing of the dir, nothing read.
    pub(crate) fn sessions_left(&self) -> bool {
        self.dir.sessions_left(self.own_file().as_deref())
    }

    /// See [`StateDir::keep_within_the_bound`].
    pub(crate) fn keep_within_the_bound(&self) {
        self.dir.keep_within_the_bound();
    }

    /// See [`StateDir::sweep_others`]: in one run of [`SWEEP_ONE_RUN_IN`], at random.
    pub(crate) fn sweep_others_now_and_then(&self) {
        if crate::random::random_u128().is_multiple_of(SWEEP_ONE_RUN_IN) {
            self.dir.sweep_others();
        }
    }

    /// This session's file, if one is on disk (or being written).
    fn own_file(&self) -> Option<PathBuf> {
        match &self.lock().slot {
            Slot::Open(state) | Slot::Kept(state) => Some(self.dir.file_for(&state.session_id)),
            Slot::NotWritten | Slot::Done => None,
        }
    }

    /// The rest of a batch once one of it could not be sent: each put back for a later run,
    /// but for what the server took (or refused for good) when it was posted ahead: a start
    /// taken is no longer owed, an end taken after it settles the session.
    fn settle_the_rest(
        &self,
        deliver: &mut impl Deliver,
        batch: impl IntoIterator<Item = Recovered>,
    ) {
        for mut left in batch {
            let started = match left.start().map(|start| deliver.taken_ahead(&start)) {
                None => true, // not owed
                Some(Some(Delivery::Sent)) => {
                    self.start_was_taken();
                    left.start_sent();
                    true
                }
                Some(Some(Delivery::Refused)) => {
                    left.settle(true); // the server will never have this session
                    continue;
                }
                Some(_) => false,
            };
            let ended = deliver.taken_ahead(&left.end());
            left.settle(started && ended.is_some());
        }
    }

    /// The session's start is about to be sent: owed until [`Self::settle_start`] says the
    /// server took it.
    pub(crate) fn owe_start(&self, start: &Post) {
        self.lock().start = Start::Owed(start.clone());
    }

    /// Whether the session's start is still to be taken by the server.
    pub(crate) fn owes_start(&self) -> bool {
        matches!(self.lock().start, Start::Owed(_))
    }

    /// The session started: on disk, with its start while owed, so that if the process dies
    /// the next run sends the start and ends the session.
    pub(crate) fn open(&self, id: SessionId) {
        let mut state = self.dir.new_state(id, &self.release, &self.environment);
        if let Ok(inner) = self.inner.lock() {
            state.start = inner.start.kept();
            self.apply(inner, SlotEvent::Opened(state));
        }
    }

    /// What became of the start: sent (no longer kept), refused for good (nothing of this
    /// session is kept, or sent), or not yet (still owed).
    pub(crate) fn settle_start(&self, delivery: Delivery) {
        if delivery == Delivery::Sent {
            self.start_was_taken();
        }
        if let Ok(mut inner) = self.inner.lock() {
            let event = match delivery {
                Delivery::Sent => {
                    inner.start = Start::Sent;
                    SlotEvent::StartSent
                }
                Delivery::Refused => {
                    inner.start = Start::Refused;
                    SlotEvent::Settled
                }
                Delivery::NotYet => return,
            };
            self.apply(inner, event);
        }
    }

    /// Refreshes the open session's file, so an abnormal end gets a fair duration.
    pub(crate) fn heartbeat(&self) {
        if let Ok(inner) = self.inner.lock() {
            self.apply(
                inner,
                SlotEvent::Heartbeat(time::unix_millis(SystemTime::now())),
            );
        }
    }

    /// Sends the session's end, after its start if the server has not taken that yet (one more
    /// try, the two written together where the backend can pipeline); settles the file: removed once nothing is owed, else keeping what is, in order.
    /// An end whose start did not go out is not sent: kept after its start for the next run,
    /// or, the start refused for good, never.
    pub(crate) fn send_end(&self, ended: &EndedSession, deliver: &mut impl Deliver) {
        let end = wire::session_end(
            &ended.id.to_string(),
            time::millis(ended.duration),
            ended.status.as_str(),
        );
        let start = self.lock().start.clone();
        let settled = match start {
            // Both on one connection where the backend can: one round trip, in order.
            Start::Owed(start) => {
                let (started, end_delivery) = self.deliver_after(deliver, &start, &end);
                if started == Delivery::Sent
                    && end_delivery.is_some_and(|delivery| delivery != Delivery::NotYet)
                {
                    // Both taken: the file goes at once, not rewritten without its start first.
                    self.lock().start = Start::Sent;
                } else {
                    self.settle_start(started);
                }
                match (started, end_delivery) {
                    (Delivery::Refused, _) => return,
                    (_, Some(end_delivery)) => end_delivery != Delivery::NotYet,
                    (_, None) => false,
                }
            }
            Start::Refused => return,
            Start::NotQueued | Start::Sent => deliver.deliver(&end) != Delivery::NotYet,
        };
        self.settle_end(ended, settled);
    }

    /// Once the end was delivered (`settled`) or given up on: the file goes, or keeps the end.
    fn settle_end(&self, ended: &EndedSession, settled: bool) {
        if let Ok(inner) = self.inner.lock() {
            let event = self.end_event(&inner, ended, settled);
            self.apply(inner, event);
        }
    }

    /// From the thread ending the session, which must not wait on the worker's file I/O (a
    /// hung disk would hold the process past its deadline): if the worker holds the file longer
    /// than [`crate::lock_soon::TRIES_FOR`], it is settling it. If the worker has not got to the start
    /// yet (the program ended at once), `start` makes it, kept before the end.
    pub(crate) fn keep_end_unless_busy(&self, ended: &EndedSession, start: impl FnOnce() -> Post) {
        if self.dir.being_found() {
            return; // the worker is still finding the dir: maybe never, on a hung mount
        }
        let Some(mut inner) = lock_soon(&self.inner) else {
            return;
        };
        if matches!(inner.start, Start::NotQueued) {
            inner.start = Start::Owed(start());
        }
        let event = self.end_event(&inner, ended, false);
        self.apply(inner, event);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn end_event(&self, inner: &Inner, ended: &EndedSession, settled: bool) -> SlotEvent {
        if settled {
            return SlotEvent::Settled;
        }
        // What to write if nothing is on disk yet (the session ended before it was opened).
        let mut state = self
            .dir
            .new_state(ended.id, &self.release, &self.environment);
        state.start = inner.start.kept();
        state.ended = Some(Ended {
            status: ended.status,
            duration_ms: time::millis(ended.duration),
        });
        SlotEvent::EndPending(state)
    }

    /// Moves the slot and performs the file operation; a write that fails leaves the slot
    /// where it was.
    fn apply(&self, mut inner: MutexGuard<'_, Inner>, event: SlotEvent) {
        let before = inner.slot.clone();
        let opening = matches!(event, SlotEvent::Opened(_));
        let (after, op) = slot::transition(before.clone(), event);
        inner.slot = after;
        let written = match op {
            FileOp::Nothing => Ok(()),
            FileOp::Write(state) => self.dir.write(&state),
            FileOp::Remove(id) => {
                self.dir.remove(&id);
                Ok(())
            }
        };
        if let Err(error) = written {
            inner.slot = before;
            // A dir not used was said once already.
            if opening && self.dir.usable().is_some() {
                diag::debug!("no state file, so no abnormal-session recovery: {error}");
            }
        }
    }
}

/// How long ago the state was last written, by its own clock.
fn age(state: &SessionState, now: SystemTime) -> Duration {
    // The file may be corrupt or written by anything: no arithmetic on it may panic.
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(state.updated_at_ms))
        .and_then(|updated| now.duration_since(updated).ok())
        .unwrap_or_default()
}

/// The state in `path`, if it holds one of ours that can be read now.
fn read_state(path: &Path) -> Option<SessionState> {
    read_state_now(path).ok().flatten()
}

/// A file that cannot be read now ([`files::not_now`]): no verdict on it.
struct NotNow;

/// [`read_state`], telling apart a file that cannot be read now (`Err`): `None` only where
/// there is no state file of ours (none, not one of ours, or not a state).
fn read_state_now(path: &Path) -> Result<Option<SessionState>, NotNow> {
    match files::read(path) {
        Ok(bytes) => Ok(Json::parse(&bytes).and_then(|json| SessionState::read(&json))),
        Err(error) if files::not_now(&error) => Err(NotNow),
        Err(_) => Ok(None),
    }
}

impl SessionState {
    /// Whether the process that wrote this state may still be running: this one; one on this
    /// machine, by its pid (`None` where the platform cannot tell); one on another machine, by
    /// its heartbeat: alive while its state was written in the last [`ABANDONED_AFTER`].
    fn owner_alive(&self, now: SystemTime) -> Option<bool> {
        if let Some(theirs) = &self.machine
            && this_machine().is_some_and(|ours| ours != theirs)
        {
            return Some(age(self, now) < ABANDONED_AFTER);
        }
        let owner = Process {
            pid: self.pid,
            start: self.process_start,
        };
        if owner == Process::this() {
            Some(true)
        } else {
            owner.alive()
        }
    }

    /// The state as [`StateDir::write`] wrote it; `None` if a required field is missing or
    /// of another type.
    fn read(json: &Json) -> Option<Self> {
        let text = |name| json.get(name).and_then(Json::text).map(str::to_owned);
        let number = |name| json.get(name).and_then(Json::number);
        let ended = match json.get("ended") {
            None | Some(Json::Null) => None,
            Some(ended) => Some(Ended {
                status: ended
                    .get("status")
                    .and_then(Json::text)
                    .and_then(SessionStatus::from_wire)?,
                duration_ms: ended.get("durationMs").and_then(Json::number)?,
            }),
        };
        Some(Self {
            session_id: text("sessionId")?,
            release: text("release")?,
            environment: text("environment")?,
            key_hash: text("keyHash")?,
            pid: u32::try_from(number("pid")?).ok()?,
            process_start: match json.get("processStart") {
                None | Some(Json::Null) => None,
                Some(start) => Some(start.number()?),
            },
            machine: match json.get("machine") {
                None | Some(Json::Null) => None,
                Some(machine) => Some(machine.text()?.to_owned()),
            },
            started_at_ms: number("startedAtMs")?,
            updated_at_ms: number("updatedAtMs")?,
            start: match json.get("start") {
                None | Some(Json::Null) => None,
                Some(start) => Some(start.text()?.to_owned()),
            },
            ended,
        })
    }
}

/// Where this process's pid means something, written in each state: the machine's name
/// (`uname -n`) and, on Linux, its pid namespace (containers sharing the host's name have one
/// of their own; the host's is the same across reboots). A state written elsewhere (a home
/// shared over NFS, a volume shared by containers) names a process this one cannot see.
fn this_machine() -> Option<&'static str> {
    static MACHINE: OnceLock<Option<String>> = OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let name = crate::runtime_context::process().server_name.as_deref()?;
            Some(match fs::read_link("/proc/self/ns/pid") {
                Ok(namespace) if cfg!(target_os = "linux") => {
                    format!("{name} {}", namespace.display())
                }
                _ => name.to_owned(),
            })
        })
        .as_deref()
}

/// The platform's state (or cache) dir's `allstak`, else a dir of the user's own in the temp
/// dir (never one shared by users); and whether it is the latter.
fn platform_state_dir() -> (PathBuf, bool) {
    platform_state_dir_in(&|name| std::env::var_os(name))
}

/// [`platform_state_dir`] in the environment `env` gives. A relative path is ignored, as the
/// XDG spec asks (it would move with the program's working dir).
fn platform_state_dir_in(env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> (PathBuf, bool) {
    let from_env = |name: &str| {
        env(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let platform = if cfg!(windows) {
        from_env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos")
        && let Some(home) = from_env("HOME")
    {
        Some(home.join("Library").join("Caches"))
    } else {
        from_env("XDG_STATE_HOME")
            .or_else(|| from_env("HOME").map(|home| home.join(".local").join("state")))
    };
    match platform {
        Some(dir) => (dir.join("allstak"), false),
        None => (std::env::temp_dir().join(per_user_temp_name()), true),
    }
}

/// `allstak-<uid>` where users have ids; elsewhere the temp dir is the user's own already.
fn per_user_temp_name() -> String {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        format!("allstak-{}", unsafe { libc::geteuid() })
    }
    #[cfg(not(unix))]
    {
        "allstak".to_owned()
    }
}

/// Writes `state` to `target`, atomically (write, then rename).
fn write_state(target: &Path, state: &SessionState) -> std::io::Result<()> {
    let body = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    files::write(target, &body)
}

/// When process `pid` started (Linux: clock ticks since boot, from `/proc/<pid>/stat`).
fn process_start(pid: u32) -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    // One read: the file says it is empty, so reading it to its end would probe in small reads.
    let mut stat = [0; 1024];
    let read = fs::File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut file| std::io::Read::read(&mut file, &mut stat))
        .ok()?;
    start_in_stat(stat.get(..read)?)
}

/// The start time in the text of `/proc/<pid>/stat`, read as bytes: the command name is cut at
/// 15 bytes, maybe inside a UTF-8 character, and may hold spaces and parentheses, so the
/// fields are found after the last `)`.
fn start_in_stat(stat: &[u8]) -> Option<u64> {
    let after_name = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let field = after_name
        .split(u8::is_ascii_whitespace)
        .filter(|field| !field.is_empty())
        .nth(19)?;
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Whether `id` may be a session id of ours (ASCII letters, digits and dashes, as a UUID is
/// written): only such a name is made into a file name.
fn names_a_session(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether the process that wrote a state is still running (the same process, not a reused
/// pid); `None` where the platform has no cheap way to tell.
pub(crate) fn process_alive(pid: u32, started: Option<u64>) -> Option<bool> {
    if cfg!(target_os = "linux") {
        return Some(match process_start(pid) {
            None => false,
            Some(now) => started.is_none_or(|then| then == now),
        });
    }
    #[cfg(unix)]
    {
        unsafe extern "C" {
            fn kill(pid: i32, signal: i32) -> i32;
        }
        let Ok(pid) = i32::try_from(pid) else {
            return Some(false);
        };
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let result = unsafe { kill(pid, 0) };
        Some(result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(1)) // EPERM
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, started);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_other_keys_left_is_removed_once_older_than_seven_days() {
        let scratch = Scratch::new("sweep");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let usable = dir.usable().expect("usable");
        let week_and_a_day_ago = SystemTime::now() - MAX_AGE - Duration::from_secs(86_400);
        let file = |path: &Path, old: bool| {
            fs::write(path, b"{}").expect("written");
            if old {
                fs::File::options()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_modified(week_and_a_day_ago))
                    .expect("aged");
            }
        };
        let own = format!("{}-own.{EXTENSION}", usable.key_hash);
        let (sessions, spool) = (usable.sessions.clone(), usable.spool.clone());
        file(&sessions.join("0123abcd-old.session"), true);
        file(&sessions.join("0123abcd-new.session"), false);
        file(&spool.join("0123abcd-old.event"), true);
        file(&sessions.join(&own), true);
        fs::create_dir(sessions.join("a-dir")).expect("dir");
        dir.sweep_others();
        let left = |dir: &Path| {
            let mut names: Vec<String> = fs::read_dir(dir)
                .expect("listed")
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            names.sort();
            names
        };
        let mut expected = vec!["0123abcd-new.session".to_owned(), "a-dir".to_owned(), own];
        expected.sort();
        assert_eq!(
            left(&sessions),
            expected,
            "its own is its own runs' to judge"
        );
        assert!(left(&spool).is_empty());
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn a_relative_platform_dir_is_ignored() {
        let dir_in = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            platform_state_dir_in(&|name| {
                vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
            })
        };
        assert_eq!(
            dir_in(&[("XDG_STATE_HOME", "/x/state"), ("HOME", "/home/a")]),
            (PathBuf::from("/x/state/allstak"), false)
        );
        assert_eq!(
            dir_in(&[("XDG_STATE_HOME", "state"), ("HOME", "/home/a")]),
            (PathBuf::from("/home/a/.local/state/allstak"), false)
        );
        let (dir, in_temp) = dir_in(&[("HOME", "a"), ("XDG_STATE_HOME", "")]);
        assert!(in_temp && dir.starts_with(std::env::temp_dir()), "{dir:?}");
    }

    /// A state dir of the test's own under the system's temp dir, removed when the test ends.
    pub(super) struct Scratch(pub(super) PathBuf);

    impl Scratch {
        pub(super) fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("allstak-state-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }

        /// The explicit state dir for [`StateDir::locate`].
        pub(super) fn state_dir(&self) -> Option<PathBuf> {
            Some(self.0.clone())
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dead_state(dir: &StateDir, id: SessionId) -> SessionState {
        let mut state = dir.new_state(id, "app@1", "production");
        state.pid = u32::MAX - 1; // no such process
        state.started_at_ms -= 5_000;
        state
    }

    #[test]
    fn a_state_reads_back_as_written() {
        let scratch = Scratch::new("read");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mut state = dir.new_state(SessionId::random(), "app@1 \"quoted\"\n😀", "prod\\");
        for (process_start, start, ended) in [
            (None, None, None),
            (
                Some(u64::MAX),
                Some(r#"{"sessionId":"s","release":"app@1 \"q\"\n😀"}"#.to_owned()),
                Some(Ended {
                    status: SessionStatus::Crashed,
                    duration_ms: 1500,
                }),
            ),
        ] {
            state.process_start = process_start;
            state.start = start;
            state.ended = ended;
            dir.write(&state).expect("written");
            assert_eq!(
                read_state(&dir.file_for(&state.session_id)).as_ref(),
                Some(&state)
            );
        }
        for status in [
            SessionStatus::Ok,
            SessionStatus::Errored,
            SessionStatus::Crashed,
            SessionStatus::Abnormal,
        ] {
            assert_eq!(SessionStatus::from_wire(status.as_str()), Some(status));
        }
        assert_eq!(SessionStatus::from_wire("Crashed"), None);
        // Written by hand: an explicit `null` is no end, and unknown fields are ignored.
        let by_hand = br#"{"sessionId":"s","release":"r","environment":"e","keyHash":"k",
            "pid":7,"startedAtMs":1,"updatedAtMs":2,"ended":null,"later":{"x":true}}"#;
        let read = SessionState::read(&Json::parse(by_hand).expect("json")).expect("a state");
        assert_eq!((read.pid, read.process_start, read.ended), (7, None, None));
    }

    #[test]
    fn the_state_never_holds_the_key() {
        let scratch = Scratch::new("key");
        let dir = StateDir::locate(scratch.state_dir(), "ask_secret_key", "https://h");
        let state = dir.new_state(SessionId::random(), "app@1", "production");
        dir.write(&state).expect("written");
        let body = fs::read_to_string(dir.file_for(&state.session_id)).expect("read");
        assert!(!body.contains("ask_secret_key"));
        assert!(body.contains(&state.session_id));
    }

    #[cfg(unix)]
    #[test]
    fn state_files_are_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = Scratch::new("mode");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = dir.new_state(SessionId::random(), "app@1", "production");
        dir.write(&state).expect("written");
        let mode = fs::metadata(dir.file_for(&state.session_id))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_live_session_is_left_alone_and_a_dead_one_is_recovered_abnormal() {
        let scratch = Scratch::new("recover");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let live = dir.new_state(SessionId::random(), "app@1", "production");
        let dead = dead_state(&dir, SessionId::random());
        dir.write(&live).expect("written");
        dir.write(&dead).expect("written");

        let recovered = dir.recover(SystemTime::now(), None);
        assert_eq!(recovered.len(), 1);
        assert_eq!(recovered[0].session_id, dead.session_id);
        assert_eq!(recovered[0].status, SessionStatus::Abnormal);
        assert_eq!(
            recovered[0].duration_ms,
            dead.updated_at_ms - dead.started_at_ms
        );
        // Claimed: a second look finds nothing more to send.
        assert!(dir.recover(SystemTime::now(), None).is_empty());
        recovered[0].settle(true);
        assert!(!recovered[0].claim.exists() && !recovered[0].original.exists());
    }

    #[test]
    fn another_machines_session_is_left_while_its_process_refreshes_it_and_recovered_after() {
        let scratch = Scratch::new("recover-elsewhere");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        // Written on another machine sharing the dir: its pid means nothing here.
        let mut elsewhere = dead_state(&dir, SessionId::random());
        elsewhere.machine = Some("another machine".to_owned());
        dir.write(&elsewhere).expect("written");
        let now = SystemTime::now();
        assert!(
            dir.recover(now, None).is_empty(),
            "refreshed a moment ago: running there"
        );
        let later = now + ABANDONED_AFTER + Duration::from_secs(1);
        let recovered = dir.recover(later, None);
        assert_eq!(recovered.len(), 1, "no refresh for an hour: gone");
        assert_eq!(recovered[0].status, SessionStatus::Abnormal);
        // A state of this machine's (or of no machine, as older ones are) goes by its pid.
        let mut here = dead_state(&dir, SessionId::random());
        here.machine = None;
        dir.write(&here).expect("written");
        assert_eq!(dir.recover(now, None).len(), 1);
    }

    #[test]
    fn sessions_are_left_while_a_file_of_this_programs_other_than_its_own_is_there() {
        let scratch = Scratch::new("left");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let other_program = StateDir::locate(scratch.state_dir(), "k", "another host");
        assert!(!dir.sessions_left(None));
        let own = dead_state(&dir, SessionId::random());
        dir.write(&own).expect("written");
        let own = dir.file_for(&own.session_id);
        assert!(dir.sessions_left(None));
        assert!(!dir.sessions_left(Some(&own)));
        other_program
            .write(&dead_state(&other_program, SessionId::random()))
            .expect("written");
        assert!(!dir.sessions_left(Some(&own)));
        // Claimed by another run: still left, until that run settles it.
        let earlier = dead_state(&dir, SessionId::random());
        claimed_by(&dir, &earlier, "1");
        assert!(dir.sessions_left(Some(&own)));
    }

    #[test]
    fn past_the_bound_the_oldest_sessions_of_gone_processes_are_dropped_and_the_rest_recovered_oldest_first()
     {
        let scratch = Scratch::new("bound");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        let ids: Vec<String> = (0..MAX_KEPT_SESSIONS + 3)
            .map(|n| {
                let state = dead_state(&dir, SessionId::random());
                dir.write(&state).expect("written");
                let at = long_ago + Duration::from_secs(n as u64);
                fs::File::options()
                    .write(true)
                    .open(dir.file_for(&state.session_id))
                    .and_then(|file| file.set_modified(at))
                    .expect("dated");
                state.session_id
            })
            .collect();
        let recovered = dir.recover(SystemTime::now(), None);
        for oldest in &ids[..3] {
            assert!(!dir.file_for(oldest).exists(), "{oldest} dropped");
        }
        let found: Vec<&str> = recovered.iter().map(|r| r.session_id.as_str()).collect();
        let expected: Vec<&str> = ids[3..3 + MAX_RECOVERED_PER_START]
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(found, expected, "the oldest first");
    }

    #[test]
    fn where_nothing_is_claimed_the_bound_still_drops_the_oldest_and_touches_nothing_else() {
        let scratch = Scratch::new("bound-unclaimed");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        // Within the bound: nothing is read, renamed or dropped.
        let state = dead_state(&dir, SessionId::random());
        dir.write(&state).expect("written");
        dir.keep_within_the_bound();
        assert!(dir.file_for(&state.session_id).exists());
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        let mut ids = vec![state.session_id];
        for _ in 1..MAX_KEPT_SESSIONS + 3 {
            let state = dead_state(&dir, SessionId::random());
            dir.write(&state).expect("written");
            ids.push(state.session_id);
        }
        for (n, id) in ids.iter().enumerate() {
            let at = long_ago + Duration::from_secs(n as u64);
            fs::File::options()
                .write(true)
                .open(dir.file_for(id))
                .and_then(|file| file.set_modified(at))
                .expect("dated");
        }
        dir.keep_within_the_bound();
        let dropped = ids.len() - KEPT_OFFLINE_AFTER_THE_BOUND;
        for oldest in &ids[..dropped] {
            assert!(!dir.file_for(oldest).exists(), "{oldest} dropped");
        }
        for kept in &ids[dropped..] {
            assert!(dir.file_for(kept).exists(), "{kept} kept as it was");
        }
    }

    #[test]
    fn a_run_that_does_not_wait_recovers_a_few_newest_first_leaving_what_it_withholds() {
        let scratch = Scratch::new("not-waiting");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        let states: Vec<SessionState> = (0..12)
            .map(|n| {
                let mut state = dead_state(&dir, SessionId::random());
                state.started_at_ms += n;
                if n == 10 {
                    state.start = Some(START_BODY.to_owned());
                }
                dir.write(&state).expect("written");
                fs::File::options()
                    .write(true)
                    .open(dir.file_for(&state.session_id))
                    .and_then(|file| file.set_modified(long_ago + Duration::from_secs(n)))
                    .expect("dated");
                state
            })
            .collect();
        let end_of = |state: &SessionState| {
            wire::session_end(
                &state.session_id,
                state.updated_at_ms.saturating_sub(state.started_at_ms),
                SessionStatus::Abnormal.as_str(),
            )
        };
        let ids = |recovered: &[Recovered]| -> Vec<String> {
            recovered.iter().map(|r| r.session_id.clone()).collect()
        };
        // The two newest ends were written by earlier runs; the start the second newest owes
        // was not, but goes only with its end.
        let written = [end_of(&states[11]), end_of(&states[10])];
        let recovered = dir.recover_but(
            SystemTime::now(),
            None,
            &mut |request| written.contains(request),
            Batch::NOT_WAITING,
        );
        let expected: Vec<String> = states[6..10].iter().map(|s| s.session_id.clone()).collect();
        assert_eq!(
            ids(&recovered),
            expected,
            "the four newest not withheld, in the order they started"
        );
        for state in &states[10..] {
            assert!(dir.file_for(&state.session_id).exists(), "left unclaimed");
        }
        for recovered in &recovered {
            recovered.settle(false);
        }
        // Every end but the oldest's written: it stops after reading eight of them.
        let written: Vec<Post> = states[1..].iter().map(end_of).collect();
        let recovered = dir.recover_but(
            SystemTime::now(),
            None,
            &mut |request| written.contains(request),
            Batch::NOT_WAITING,
        );
        assert!(recovered.is_empty(), "{:?}", ids(&recovered));
        let recovered = dir.recover_but(
            SystemTime::now(),
            None,
            &mut |request| written.contains(request),
            Batch::OLDEST,
        );
        assert_eq!(ids(&recovered), [states[0].session_id.clone()]);
    }

    #[test]
    fn a_run_that_does_not_wait_reads_the_sessions_no_run_claimed_before_those_runs_wrote() {
        let scratch = Scratch::new("not-waiting-unclaimed");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        let dated = |path: &Path, n: u64| {
            fs::File::options()
                .write(true)
                .open(path)
                .and_then(|file| file.set_modified(long_ago + Duration::from_secs(n)))
                .expect("dated");
        };
        // Two sessions no run wrote (their runs ended before their SDK's threads wrote), then
        // ten that runs claimed, wrote and died before the answers: withheld, and newer.
        let unwritten: Vec<SessionState> = (0..2)
            .map(|n| {
                let mut state = dead_state(&dir, SessionId::random());
                state.started_at_ms += n;
                dir.write(&state).expect("written");
                dated(&dir.file_for(&state.session_id), n);
                state
            })
            .collect();
        let written: Vec<Post> = (0..10)
            .map(|n| {
                let state = dead_state(&dir, SessionId::random());
                dated(
                    &claimed_by(&dir, &state, &(u32::MAX - 1).to_string()),
                    10 + n,
                );
                wire::session_end(
                    &state.session_id,
                    state.updated_at_ms.saturating_sub(state.started_at_ms),
                    SessionStatus::Abnormal.as_str(),
                )
            })
            .collect();
        let recovered = dir.recover_but(
            SystemTime::now(),
            None,
            &mut |request| written.contains(request),
            Batch::NOT_WAITING,
        );
        let found: Vec<&str> = recovered.iter().map(|r| r.session_id.as_str()).collect();
        let expected: Vec<&str> = unwritten.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(found, expected, "not behind the ten withheld");
    }

    #[test]
    fn a_start_an_earlier_run_wrote_goes_again_with_an_end_that_goes_now() {
        /// Withholds the requests it was told were written, until released.
        struct Withholding {
            withheld: std::collections::HashSet<u64>,
            received: Vec<&'static str>,
        }
        impl Deliver for Withholding {
            fn deliver(&mut self, request: &Post) -> Delivery {
                if self.withholds(request) {
                    return Delivery::NotYet;
                }
                self.received.push(request.path);
                Delivery::Sent
            }
            fn withholds(&mut self, request: &Post) -> bool {
                self.withheld.contains(&request.digest())
            }
            fn release(&mut self, request: &Post) {
                self.withheld.remove(&request.digest());
            }
        }
        let scratch = Scratch::new("release");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mut state = dead_state(&dir, SessionId::random());
        state.start = Some(START_BODY.to_owned());
        dir.write(&state).expect("written");
        let start = Post {
            path: wire::SESSIONS_START,
            body: START_BODY.as_bytes().to_vec(),
        };
        let mut server = Withholding {
            withheld: [start.digest()].into(),
            received: Vec::new(),
        };
        let file = SessionFile::new(dir.clone(), "app@1", "production");
        assert_eq!(file.recover_sessions(&mut server, &[]), Some(true));
        assert_eq!(server.received, [wire::SESSIONS_START, wire::SESSIONS_END]);
    }

    #[test]
    fn this_processs_own_ended_session_is_not_recovered() {
        let scratch = Scratch::new("own");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mut state = dir.new_state(SessionId::random(), "app@1", "production");
        state.ended = Some(Ended {
            status: SessionStatus::Ok,
            duration_ms: 1,
        });
        dir.write(&state).expect("written");
        assert!(dir.recover(SystemTime::now(), None).is_empty());
    }

    #[test]
    #[cfg(unix)]
    fn an_end_another_live_process_is_still_sending_is_left_to_it() {
        let scratch = Scratch::new("sending");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mut state = dir.new_state(SessionId::random(), "app@1", "production");
        // Our parent: alive, and not us.
        state.pid = std::os::unix::process::parent_id();
        state.process_start = process_start(state.pid);
        state.ended = Some(Ended {
            status: SessionStatus::Errored,
            duration_ms: 3,
        });
        dir.write(&state).expect("written");
        assert!(dir.recover(SystemTime::now(), None).is_empty());
    }

    #[test]
    #[cfg(unix)]
    fn a_live_processs_state_is_kept_however_old() {
        let scratch = Scratch::new("live-old");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let eight_days_ms = 8 * 24 * 3600 * 1000;
        // Our parent's (alive, not us) and our own: their heartbeats may have failed for days.
        let mut parents = dir.new_state(SessionId::random(), "app@1", "production");
        parents.pid = std::os::unix::process::parent_id();
        parents.process_start = process_start(parents.pid);
        let mut own = dir.new_state(SessionId::random(), "app@1", "production");
        for state in [&mut parents, &mut own] {
            state.started_at_ms -= eight_days_ms;
            state.updated_at_ms -= eight_days_ms;
            dir.write(state).expect("written");
        }
        assert!(dir.recover(SystemTime::now(), None).is_empty());
        assert!(dir.file_for(&parents.session_id).exists());
        assert!(dir.file_for(&own.session_id).exists());
    }

    #[test]
    fn an_end_that_was_recorded_but_maybe_not_sent_is_sent_as_recorded() {
        let scratch = Scratch::new("ended");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mut state = dead_state(&dir, SessionId::random());
        state.ended = Some(Ended {
            status: SessionStatus::Crashed,
            duration_ms: 42,
        });
        dir.write(&state).expect("written");
        let recovered = dir.recover(SystemTime::now(), None);
        assert_eq!(recovered.len(), 1);
        assert_eq!(
            (recovered[0].status, recovered[0].duration_ms),
            (SessionStatus::Crashed, 42)
        );
    }

    #[test]
    fn an_unsent_recovery_is_put_back_for_the_next_run() {
        let scratch = Scratch::new("unsent");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        dir.write(&dead_state(&dir, SessionId::random()))
            .expect("written");
        let recovered = dir.recover(SystemTime::now(), None);
        recovered[0].settle(false);
        assert_eq!(dir.recover(SystemTime::now(), None).len(), 1);
    }

    /// `state`'s file, as a run with process `claimer` (`pid[-start]`) that claimed it and was
    /// killed before it settled it left it.
    fn claimed_by(dir: &StateDir, state: &SessionState, claimer: &str) -> PathBuf {
        dir.write(state).expect("written");
        let original = dir.file_for(&state.session_id);
        let claim = original.with_extension(format!("claimed-{claimer}"));
        fs::rename(&original, &claim).expect("claimed");
        claim
    }

    #[test]
    fn a_claim_left_by_a_run_that_died_is_recovered_by_a_later_run() {
        let scratch = Scratch::new("claimed-dead");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let dead = dead_state(&dir, SessionId::random());
        let mut ended = dead_state(&dir, SessionId::random());
        ended.ended = Some(Ended {
            status: SessionStatus::Crashed,
            duration_ms: 7,
        });
        let claims = [
            claimed_by(&dir, &dead, &(u32::MAX - 1).to_string()),
            claimed_by(&dir, &ended, &format!("{}-1", u32::MAX - 1)),
        ];

        let mut recovered = dir.recover(SystemTime::now(), None);
        recovered.sort_by_key(|r| r.duration_ms);
        let found: Vec<_> = recovered
            .iter()
            .map(|r| (r.session_id.as_str(), r.status))
            .collect();
        assert_eq!(
            found,
            [
                (ended.session_id.as_str(), SessionStatus::Crashed),
                (dead.session_id.as_str(), SessionStatus::Abnormal),
            ]
        );
        assert!(claims.iter().all(|claim| !claim.exists()), "claimed anew");
        // Not sent this time either: put back under its own name, for the run after.
        recovered.iter().for_each(|r| r.settle(false));
        assert!(dir.file_for(&dead.session_id).exists());
        assert_eq!(dir.recover(SystemTime::now(), None).len(), 2);
    }

    #[test]
    #[cfg(unix)]
    fn a_claim_held_by_a_live_run_is_left_to_it_until_it_is_a_week_old() {
        let scratch = Scratch::new("claimed-live");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let parent = std::os::unix::process::parent_id();
        let claimer = match process_start(parent) {
            Some(start) => format!("{parent}-{start}"),
            None => parent.to_string(),
        };
        let recent = dead_state(&dir, SessionId::random());
        let recent_claim = claimed_by(&dir, &recent, &claimer);
        assert!(dir.recover(SystemTime::now(), None).is_empty());
        assert!(recent_claim.exists());

        // Past the age limit, claimed by a live run or a dead one, it is dropped.
        for claimer in [claimer.as_str(), &(u32::MAX - 1).to_string()] {
            let mut stale = dead_state(&dir, SessionId::random());
            stale.updated_at_ms -= 8 * 24 * 3600 * 1000;
            let stale_claim = claimed_by(&dir, &stale, claimer);
            assert!(dir.recover(SystemTime::now(), None).is_empty());
            assert!(!stale_claim.exists(), "{claimer}");
        }
        assert!(recent_claim.exists());
    }

    #[test]
    fn another_machines_claim_is_left_for_an_hour_whatever_its_pid_says() {
        let scratch = Scratch::new("claim-elsewhere");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = dead_state(&dir, SessionId::random());
        dir.write(&state).expect("written");
        let now = SystemTime::now();
        let elsewhere = machine_hash().map_or(1, |ours| ours ^ 1);
        let seconds = time::unix_millis(now) / 1000;
        // Claimed a moment ago by a run on another machine (its pid is none here).
        claimed_by(
            &dir,
            &state,
            &format!("{}-m{elsewhere:08x}-t{seconds}", u32::MAX - 1),
        );
        if machine_hash().is_none() {
            return; // no machine name here: claims are judged by pid, as before
        }
        assert!(dir.recover(now, None).is_empty(), "that run is sending it");
        let later = now + ABANDONED_AFTER + Duration::from_secs(1);
        assert_eq!(
            dir.recover(later, None).len(),
            1,
            "an hour on: claimed again"
        );
    }

    #[test]
    fn only_this_programs_sessions_and_claims_are_found() {
        let named = |name| Found::named(name, "abc-", EXTENSION);
        let claimed = |pid, start| {
            Some(Found::ClaimedBy(Claim {
                by: Process { pid, start },
                machine: None,
                at: None,
            }))
        };
        assert_eq!(named("abc-id.session"), Some(Found::Kept));
        assert_eq!(
            Found::named("abc-1.event", "abc-", spool::EXTENSION),
            Some(Found::Kept)
        );
        assert_eq!(named("abc-1.event"), None, "a spool item is not a session");
        assert_eq!(named("abc-id.claimed-12"), claimed(12, None));
        assert_eq!(named("abc-id.claimed-12-345"), claimed(12, Some(345)));
        assert_eq!(named("abc-id.tmp-0123abc"), Some(Found::Temporary));
        for other in [
            "xyz-id.session",
            "xyz-id.tmp-12",
            "abc-id.claimed-",
            "abc-id.claimed-x",
            "abc-id.claimed-12-",
            "abc-id.claimed-12-3-4",
            "abc-id",
        ] {
            assert_eq!(named(other), None, "{other}");
        }
        assert_eq!(
            named("abc-id.claimed-12-345-m00ab01cd-t1700000000"),
            Some(Found::ClaimedBy(Claim {
                by: Process {
                    pid: 12,
                    start: Some(345)
                },
                machine: Some(0x00ab_01cd),
                at: Some(1_700_000_000)
            }))
        );
        for other in ["abc-id.claimed-12-m1-t2-3", "abc-id.claimed-12-mzz-t2"] {
            assert_eq!(named(other), None, "{other}");
        }
        let Some(Found::ClaimedBy(mine)) = named(&format!("abc-id.{}", Claim::extension_now()))
        else {
            panic!("this process's claim is found")
        };
        assert_eq!(mine.by, Process::this());
        assert!(mine.is_this_process());
        assert_eq!(mine.machine, machine_hash());
    }

    #[test]
    fn other_programs_sessions_and_stale_state_are_not_sent() {
        let scratch = Scratch::new("others");
        let mine = StateDir::locate(scratch.state_dir(), "k", "h");
        let theirs = StateDir::locate(scratch.state_dir(), "other-key", "h");
        theirs
            .write(&dead_state(&theirs, SessionId::random()))
            .expect("written");
        let mut stale = dead_state(&mine, SessionId::random());
        stale.updated_at_ms -= 8 * 24 * 3600 * 1000;
        mine.write(&stale).expect("written");
        assert!(mine.recover(SystemTime::now(), None).is_empty());
        assert!(
            !mine.file_for(&stale.session_id).exists(),
            "stale state is dropped"
        );
        assert_eq!(theirs.recover(SystemTime::now(), None).len(), 1);
    }

    const START_BODY: &str = r#"{"sessionId":"3b241101-e2bb-4255-8caf-4136c566a962"}"#;

    fn start_request() -> Post {
        Post {
            path: wire::SESSIONS_START,
            body: START_BODY.as_bytes().to_vec(),
        }
    }

    fn event_request() -> Post {
        Post {
            path: wire::ERRORS,
            body: br#"{"message":"kept"}"#.to_vec(),
        }
    }

    /// What a delivery closure was given: each request's path and body.
    #[derive(Default)]
    pub(super) struct Server {
        answers: Vec<Delivery>,
        pub(super) received: Vec<(&'static str, String)>,
        /// How many pairs were asked for together (pipelined).
        together: usize,
    }

    impl Server {
        /// A server that answers each request in turn with `answers`, then `Sent`.
        pub(super) fn answering(answers: &[Delivery]) -> Self {
            Self {
                answers: answers.iter().rev().copied().collect(),
                received: Vec::new(),
                together: 0,
            }
        }

        pub(super) fn deliver(&mut self, request: &Post) -> Delivery {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            self.received.push((request.path, body));
            self.answers.pop().unwrap_or(Delivery::Sent)
        }

        fn paths(&self) -> Vec<&'static str> {
            self.received.iter().map(|(path, _)| *path).collect()
        }
    }

    impl Deliver for Server {
        fn deliver(&mut self, request: &Post) -> Delivery {
            Server::deliver(self, request)
        }

        fn deliver_after(&mut self, first: &Post, then: &Post) -> (Delivery, Option<Delivery>) {
            self.together += 1;
            crate::transport::one_then_the_other(self, first, then)
        }
    }

    /// A dead process's state that still owes its start.
    fn owing_dead_state(dir: &StateDir) -> SessionState {
        let mut state = dead_state(dir, SessionId::random());
        state.start = Some(START_BODY.to_owned());
        state
    }

    fn recover_with(dir: &StateDir, server: &mut Server) {
        SessionFile::new(dir.clone(), "app@1", "production").recover_sessions(server, &[]);
    }

    #[test]
    fn a_recovered_session_whose_start_was_never_taken_is_sent_start_then_end() {
        let scratch = Scratch::new("owed-start");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = owing_dead_state(&dir);
        dir.write(&state).expect("written");
        let mut server = Server::default();
        recover_with(&dir, &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_START, wire::SESSIONS_END]);
        assert_eq!(server.received[0].1, START_BODY);
        assert!(server.received[1].1.contains(&state.session_id));
        assert!(server.received[1].1.contains("abnormal"));
        assert!(!dir.file_for(&state.session_id).exists());
    }

    #[test]
    fn a_recovered_start_not_taken_again_keeps_start_and_end_for_the_run_after() {
        let scratch = Scratch::new("owed-start-again");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = owing_dead_state(&dir);
        dir.write(&state).expect("written");
        let mut server = Server::answering(&[Delivery::NotYet]);
        recover_with(&dir, &mut server);
        assert_eq!(
            server.paths(),
            [wire::SESSIONS_START],
            "no end without its start"
        );
        let kept = read_state(&dir.file_for(&state.session_id)).expect("put back");
        assert_eq!(kept, state);
    }

    #[test]
    fn a_recovered_start_taken_but_not_its_end_is_not_sent_twice() {
        let scratch = Scratch::new("owed-start-sent");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = owing_dead_state(&dir);
        dir.write(&state).expect("written");
        let mut server = Server::answering(&[Delivery::Sent, Delivery::NotYet]);
        recover_with(&dir, &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_START, wire::SESSIONS_END]);
        let kept = read_state(&dir.file_for(&state.session_id)).expect("put back");
        assert_eq!(kept.start, None);

        let mut server = Server::default();
        recover_with(&dir, &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_END]);
    }

    #[test]
    fn a_recovered_start_refused_for_good_is_not_followed_by_its_end() {
        let scratch = Scratch::new("owed-start-refused");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = owing_dead_state(&dir);
        dir.write(&state).expect("written");
        let mut server = Server::answering(&[Delivery::Refused]);
        recover_with(&dir, &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_START]);
        assert!(dir.recover(SystemTime::now(), None).is_empty(), "dropped");
    }

    fn ended(id: SessionId) -> EndedSession {
        EndedSession {
            id,
            duration: Duration::from_millis(1500),
            status: SessionStatus::Errored,
        }
    }

    /// This process's session, opened with its start owed, and the start's first delivery.
    fn opened(dir: &StateDir, id: SessionId, first_try: Delivery) -> SessionFile {
        let file = SessionFile::new(dir.clone(), "app@1", "production");
        file.owe_start(&start_request());
        file.open(id);
        file.settle_start(first_try);
        file
    }

    #[test]
    fn an_open_session_keeps_its_start_on_disk_until_the_server_takes_it() {
        let scratch = Scratch::new("open-owing");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let file = opened(&dir, id, Delivery::NotYet);
        let on_disk = || read_state(&dir.file_for(&id.to_string())).expect("on disk");
        assert_eq!(on_disk().start.as_deref(), Some(START_BODY));
        file.settle_start(Delivery::Sent);
        assert_eq!(on_disk().start, None);
    }

    #[test]
    fn an_end_whose_start_did_not_go_out_is_kept_after_it_and_not_sent() {
        let scratch = Scratch::new("end-owing");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let file = opened(&dir, id, Delivery::NotYet);
        // The end's one more try at the start fails too.
        let mut server = Server::answering(&[Delivery::NotYet]);
        file.send_end(&ended(id), &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_START]);
        let kept = read_state(&dir.file_for(&id.to_string())).expect("kept");
        assert_eq!(kept.start.as_deref(), Some(START_BODY));
        assert_eq!(
            kept.ended,
            Some(Ended {
                status: SessionStatus::Errored,
                duration_ms: 1500
            })
        );
    }

    #[test]
    fn an_end_whose_start_goes_out_at_last_follows_it() {
        let scratch = Scratch::new("end-start-late");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let file = opened(&dir, id, Delivery::NotYet);
        let mut server = Server::default();
        file.send_end(&ended(id), &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_START, wire::SESSIONS_END]);
        assert!(!dir.file_for(&id.to_string()).exists());
    }

    #[test]
    fn a_start_and_its_end_go_together_only_once_the_server_took_a_start_from_this_key_and_host() {
        let scratch = Scratch::new("together");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mut server = Server::default();
        let (first, second) = (SessionId::random(), SessionId::random());
        // Never taken before: one by one, so that a refused start is never followed by its end.
        let file = opened(&dir, first, Delivery::NotYet);
        assert!(!file.pipelines());
        file.send_end(&ended(first), &mut server);
        assert_eq!(server.together, 0);
        assert!(file.pipelines(), "taken now");
        // A later run of the same key and host: together.
        let later = opened(&dir, second, Delivery::NotYet);
        assert!(later.pipelines());
        later.send_end(&ended(second), &mut server);
        assert_eq!(server.together, 1);
        assert_eq!(
            server.paths(),
            [
                wire::SESSIONS_START,
                wire::SESSIONS_END,
                wire::SESSIONS_START,
                wire::SESSIONS_END
            ]
        );
        // Another key (or host) has not had a start taken.
        let other = StateDir::locate(scratch.state_dir(), "other", "h");
        assert!(!opened(&other, SessionId::random(), Delivery::NotYet).pipelines());
    }

    #[test]
    fn the_mark_is_an_empty_file_of_its_own_written_in_place_of_a_link_never_through_it() {
        let scratch = Scratch::new("mark");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let mark = dir.taken_mark().expect("used");
        let target = scratch.state_dir().expect("dir").join("elsewhere");
        fs::write(&target, "theirs").expect("written");
        std::os::unix::fs::symlink(&target, &mark).expect("planted");
        assert!(!dir.took_a_start_before(), "a link is no mark");
        dir.remember_a_start_was_taken();
        assert!(dir.took_a_start_before());
        assert_eq!(fs::read_to_string(&target).expect("read"), "theirs");
        assert_eq!(fs::metadata(&mark).expect("marked").len(), 0);
        // Marked again: left as it is; and no temp file beside it.
        dir.remember_a_start_was_taken();
        let beside: Vec<String> = entries(scratch.state_dir().expect("dir").as_path());
        assert!(
            beside.iter().all(|name| !name.contains(files::TEMPORARY)),
            "{beside:?}"
        );
    }

    #[test]
    fn the_end_of_a_session_whose_start_was_refused_for_good_is_never_sent_nor_kept() {
        let scratch = Scratch::new("end-refused");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let file = opened(&dir, id, Delivery::Refused);
        assert!(!dir.file_for(&id.to_string()).exists());
        file.keep_end_unless_busy(&ended(id), start_request);
        let mut server = Server::default();
        file.send_end(&ended(id), &mut server);
        assert_eq!(server.paths(), Vec::<&str>::new());
        assert!(!dir.file_for(&id.to_string()).exists());
    }

    #[test]
    fn a_session_ending_before_it_was_opened_keeps_its_owed_start_with_its_end() {
        let scratch = Scratch::new("end-unopened");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let file = SessionFile::new(dir.clone(), "app@1", "production");
        file.owe_start(&start_request());
        file.keep_end_unless_busy(&ended(id), start_request);
        let kept = read_state(&dir.file_for(&id.to_string())).expect("kept");
        assert_eq!(kept.start.as_deref(), Some(START_BODY));
        assert!(kept.ended.is_some());
    }

    #[test]
    fn the_exiting_thread_keeps_nothing_while_the_worker_is_still_finding_the_dir() {
        let scratch = Scratch::new("end-while-finding");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        // The worker is inside `find` (on a hung mount, for good).
        dir.finding.store(true, Ordering::Relaxed);
        let id = SessionId::random();
        let file = SessionFile::new(dir.clone(), "app@1", "production");
        file.keep_end_unless_busy(&ended(id), start_request);
        let spool = Spool::new(dir.clone());
        assert_eq!(spool.keep_files(&[event_request()], false).0, 0);
        assert!(
            !scratch.0.exists(),
            "the exiting thread never looked for the dir"
        );
        // Once no thread is finding it, the exiting thread finds it and keeps.
        dir.finding.store(false, Ordering::Relaxed);
        file.keep_end_unless_busy(&ended(id), start_request);
        assert!(read_state(&dir.file_for(&id.to_string())).is_some());
        assert_eq!(spool.keep_files(&[event_request()], false).0, 1);
    }

    #[test]
    fn a_session_ending_before_the_worker_got_to_its_start_keeps_the_start_with_its_end() {
        let scratch = Scratch::new("end-before-start");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let file = SessionFile::new(dir.clone(), "app@1", "production");
        file.keep_end_unless_busy(&ended(id), start_request);
        let kept = read_state(&dir.file_for(&id.to_string())).expect("kept");
        assert_eq!(kept.start.as_deref(), Some(START_BODY));
        assert_eq!(
            kept.ended,
            Some(Ended {
                status: SessionStatus::Errored,
                duration_ms: 1500
            })
        );
        // The worker gets to the start late: it goes, then the end, and nothing is left.
        file.owe_start(&start_request());
        file.open(id);
        file.settle_start(Delivery::Sent);
        let mut server = Server::default();
        file.send_end(&ended(id), &mut server);
        assert_eq!(server.paths(), [wire::SESSIONS_END]);
        assert!(!dir.file_for(&id.to_string()).exists());
    }

    #[test]
    fn an_unwritable_state_dir_is_not_an_error_for_recovery() {
        let dir = StateDir::locate(Some(PathBuf::from("/proc/allstak-cannot-exist")), "k", "h");
        assert!(dir.recover(SystemTime::now(), None).is_empty());
        assert!(
            dir.write(&dir.new_state(SessionId::random(), "a", "b"))
                .is_err()
        );
    }

    /// Runs `attack` on a thread of its own: a hang fails the test instead of holding it.
    pub(super) fn within_a_second<T: Send + 'static>(
        attack: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sent.send(attack());
        });
        received
            .recv_timeout(Duration::from_secs(1))
            .expect("done within a second, not hung")
    }

    /// The names under `dir`, recursively, sorted.
    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let inner = entries(&entry.path());
                std::iter::once(name.clone())
                    .chain(inner.into_iter().map(move |n| format!("{name}/{n}")))
            })
            .collect();
        names.sort();
        names
    }

    /// A dir `dir` can never use: nothing written into it, nothing recovered, no error.
    fn assert_unused(dir: &StateDir) {
        let before = entries(&dir.base);
        let id = SessionId::random();
        let state = dir.new_state(id, "app@1", "production");
        assert!(dir.write(&state).is_err());
        assert!(dir.recover(SystemTime::now(), None).is_empty());
        let file = SessionFile::new(dir.clone(), "app@1", "production");
        file.owe_start(&start_request());
        file.open(id);
        file.keep_end_unless_busy(&ended(id), start_request);
        assert_eq!(
            entries(&dir.base),
            before,
            "written into {}",
            dir.base.display()
        );
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[cfg(unix)]
    #[test]
    fn a_state_dir_others_can_write_to_is_not_used() {
        for (mode, which) in [
            (0o777, ""),
            (0o770, ""),
            (0o777, "sessions"),
            (0o1777, "sessions"),
        ] {
            let scratch = Scratch::new("world-writable");
            let target = scratch.0.join(which);
            fs::create_dir_all(&target).expect("dir");
            set_mode(&target, mode);
            let dir = StateDir::locate(scratch.state_dir(), "k", "h");
            assert_unused(&dir);
            assert!(dir.usable().is_none(), "{mode:o} {which}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_state_dir_owned_by_someone_else_is_not_used() {
        // SAFETY: plain libc calls on a path we own.
        let scratch = Scratch::new("others");
        let theirs = if unsafe { libc::geteuid() } == 0 {
            fs::create_dir_all(scratch.0.join("sessions")).expect("dir");
            for dir in [scratch.0.join("sessions"), scratch.0.clone()] {
                let path = std::ffi::CString::new(dir.to_string_lossy().as_bytes()).expect("path");
                // SAFETY: a valid C string; 65534 is `nobody`.
                assert_eq!(unsafe { libc::chown(path.as_ptr(), 65534, 65534) }, 0);
            }
            scratch.0.clone()
        } else {
            PathBuf::from("/") // root's
        };
        let dir = StateDir::locate(Some(theirs), "k", "h");
        assert_unused(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_place_of_the_per_user_temp_dir_is_not_followed() {
        let scratch = Scratch::new("temp-link");
        let elsewhere = scratch.0.join("elsewhere");
        fs::create_dir_all(&elsewhere).expect("dir");
        let planted = scratch.0.join("allstak-planted");
        std::os::unix::fs::symlink(&elsewhere, &planted).expect("link");
        let mut dir = StateDir::locate(Some(planted), "k", "h");
        dir.in_temp = true;
        assert_unused(&dir);
        assert!(entries(&elsewhere).is_empty());
        // A link to a private dir is the user's own doing where it is not the shared temp dir.
        let dir = StateDir::locate(Some(scratch.0.join("allstak-planted")), "k", "h");
        assert!(dir.usable().is_some());
    }

    /// Plants `plant` under this program's name in its sessions dir, as a dead process's
    /// session would be named.
    fn planted(dir: &StateDir, plant: impl FnOnce(&Path)) -> PathBuf {
        let path = dir.file_for(&SessionId::random().to_string());
        plant(&path);
        path
    }

    #[cfg(unix)]
    pub(super) fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("path");
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_huge_files_among_the_session_files_are_dropped_unread() {
        let scratch = Scratch::new("planted");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let outside = scratch.0.with_extension("outside");
        fs::write(&outside, "precious").expect("outside");
        let dead = dead_state(&dir, SessionId::random());
        dir.write(&dead).expect("written");
        let plants = [
            planted(&dir, |path| {
                std::os::unix::fs::symlink("/dev/zero", path).expect("link")
            }),
            planted(&dir, |path| {
                std::os::unix::fs::symlink(&outside, path).expect("link")
            }),
            planted(&dir, mkfifo),
            planted(&dir, |path| {
                let file = fs::File::create(path).expect("file");
                file.set_len(1 << 30).expect("sparse"); // 1 GB, never read
            }),
        ];
        let recover = dir.clone();
        let recovered = within_a_second(move || recover.recover(SystemTime::now(), None));
        let found: Vec<&str> = recovered.iter().map(|r| r.session_id.as_str()).collect();
        assert_eq!(found, [dead.session_id.as_str()], "the real one only");
        for plant in &plants {
            assert!(
                fs::symlink_metadata(plant).is_err(),
                "{} left",
                plant.display()
            );
        }
        assert_eq!(fs::read_to_string(&outside).expect("outside"), "precious");
        let _ = fs::remove_file(&outside);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_or_fifo_at_a_session_file_or_its_old_temp_name_is_never_written_through() {
        let scratch = Scratch::new("write-planted");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let outside = scratch.0.with_extension("outside-write");
        fs::write(&outside, "precious").expect("outside");
        for plant in [
            &(|path: &Path| std::os::unix::fs::symlink("/dev/zero", path).expect("link"))
                as &dyn Fn(&Path),
            &|path: &Path| std::os::unix::fs::symlink(&outside, path).expect("link"),
            &|path: &Path| mkfifo(path),
        ] {
            let state = dir.new_state(SessionId::random(), "app@1", "production");
            let target = dir.file_for(&state.session_id);
            // The temp names earlier versions used, and the session file itself.
            let old_temp = target.with_extension(format!("tmp-{}", std::process::id()));
            plant(&old_temp);
            plant(&target);
            let (writer, written) = (dir.clone(), state.clone());
            within_a_second(move || writer.write(&written)).expect("written");
            assert_eq!(read_state(&target), Some(state), "a file of its own now");
            assert!(fs::symlink_metadata(&target).expect("meta").is_file());
            let _ = fs::remove_file(&old_temp);
        }
        assert_eq!(fs::read_to_string(&outside).expect("outside"), "precious");
        let _ = fs::remove_file(&outside);
    }

    #[cfg(unix)]
    #[test]
    fn the_exiting_threads_write_cannot_be_held_by_a_fifo() {
        let scratch = Scratch::new("exit-fifo");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let id = SessionId::random();
        let target = dir.file_for(&id.to_string());
        mkfifo(&target.with_extension(format!("tmp-{}", std::process::id())));
        mkfifo(&target);
        let file = Arc::new(SessionFile::new(dir.clone(), "app@1", "production"));
        file.owe_start(&start_request());
        let ending = Arc::clone(&file);
        within_a_second(move || ending.keep_end_unless_busy(&ended(id), start_request));
        let kept = read_state(&target).expect("kept");
        assert_eq!(kept.start.as_deref(), Some(START_BODY));
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_created_exclusively_under_unpredictable_names() {
        let scratch = Scratch::new("temp-names");
        let dir = StateDir::locate(scratch.state_dir(), "k", "h");
        let state = dir.new_state(SessionId::random(), "app@1", "production");
        dir.write(&state).expect("written");
        // Leftovers of a write killed midway: kept an hour, then swept.
        let sessions = scratch.0.join("sessions");
        let fresh = dir
            .file_for("a")
            .with_extension(format!("{}{:032x}", files::TEMPORARY, 1));
        let old = dir
            .file_for("b")
            .with_extension(format!("{}{:032x}", files::TEMPORARY, 2));
        for temp in [&fresh, &old] {
            fs::write(temp, "{").expect("temp");
        }
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        fs::File::options()
            .write(true)
            .open(&old)
            .and_then(|file| file.set_modified(two_hours_ago))
            .expect("aged");
        assert!(dir.recover(SystemTime::now(), None).is_empty());
        assert!(fresh.exists() && !old.exists());
        let mut names = entries(&sessions);
        names.retain(|name| name.contains(".tmp-") && !name.ends_with(&format!("{:032x}", 1)));
        assert!(names.is_empty(), "no temp file left by a write: {names:?}");
    }

    #[test]
    fn names_are_keyed_by_the_dirs_own_salt() {
        let (one, two) = (Scratch::new("salt-one"), Scratch::new("salt-two"));
        let in_one = StateDir::locate(one.state_dir(), "k", "h");
        let in_two = StateDir::locate(two.state_dir(), "k", "h");
        assert_eq!(in_one.key_hash().len(), 32);
        assert_ne!(in_one.key_hash(), in_two.key_hash());
        // Read back by the next run: the same name.
        let again = StateDir::locate(one.state_dir(), "k", "h");
        assert_eq!(again.key_hash(), in_one.key_hash());
        assert_ne!(
            StateDir::locate(one.state_dir(), "k2", "h").key_hash(),
            in_one.key_hash()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let salt = fs::symlink_metadata(one.0.join("salt")).expect("salt");
            assert!(salt.is_file());
            assert_eq!(salt.permissions().mode() & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_fifo_or_huge_file_at_the_salt_is_replaced_not_read() {
        let scratch = Scratch::new("salt-planted");
        fs::create_dir_all(&scratch.0).expect("dir");
        let salt = scratch.0.join("salt");
        let outside = scratch.0.with_extension("outside-salt");
        fs::write(&outside, "a".repeat(32)).expect("outside");
        for plant in [
            &(|path: &Path| std::os::unix::fs::symlink("/dev/zero", path).expect("link"))
                as &dyn Fn(&Path),
            &|path: &Path| std::os::unix::fs::symlink(&outside, path).expect("link"),
            &|path: &Path| mkfifo(path),
            &|path: &Path| {
                fs::File::create(path)
                    .and_then(|f| f.set_len(1 << 30))
                    .expect("sparse")
            },
        ] {
            let _ = fs::remove_file(&salt);
            plant(&salt);
            let dir = StateDir::locate(scratch.state_dir(), "k", "h");
            let found = dir.clone();
            assert!(within_a_second(move || found.usable().is_some()));
            assert!(fs::symlink_metadata(&salt).expect("salt").is_file());
            assert_ne!(
                dir.key_hash(),
                files::keyed_name(u128::MAX / 15 * 10, b"k\0h")
            );
        }
        assert_eq!(
            fs::read_to_string(&outside).expect("outside"),
            "a".repeat(32)
        );
        let _ = fs::remove_file(&outside);
    }

    /// A child process whose name, cut at the kernel's 15 bytes, ends inside a UTF-8
    /// character: `/proc/<pid>/stat` is then not UTF-8.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_process_whose_name_splits_a_utf8_character_is_alive() {
        struct Killed(std::process::Child);
        impl Drop for Killed {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let scratch = Scratch::new("comm");
        fs::create_dir_all(&scratch.0).expect("scratch dir");
        let program = scratch.0.join("ünïcödé-prögrâm");
        std::os::unix::fs::symlink("/bin/sleep", &program).expect("symlink");
        let child = Killed(
            std::process::Command::new(&program)
                .arg("60")
                .spawn()
                .expect("spawned"),
        );
        let pid = child.0.id();
        let stat = fs::read(format!("/proc/{pid}/stat")).expect("stat");
        assert!(
            std::str::from_utf8(&stat).is_err(),
            "the name was not cut inside a character: {}",
            String::from_utf8_lossy(&stat)
        );
        let started = process_start(pid);
        assert!(started.is_some());
        assert_eq!(process_alive(pid, started), Some(true));
    }

    #[test]
    fn the_start_time_is_read_after_a_name_cut_inside_a_utf8_character() {
        let name = "ünïcödé-prögrâm".as_bytes();
        let mut stat = b"4242 (".to_vec();
        stat.extend_from_slice(&name[..15]); // ends with the first byte of "ö"
        stat.extend_from_slice(b") S 1 4242 4242 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 1 0 ");
        stat.extend_from_slice(b"8675309 2240512 131 18446744073709551615\n");
        assert!(std::str::from_utf8(&stat).is_err());
        assert_eq!(start_in_stat(&stat), Some(8_675_309));
        // Spaces and parentheses in the name, and what is not a stat line.
        let odd = b"7 (a) b (c) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert_eq!(start_in_stat(odd), Some(55));
        assert_eq!(start_in_stat(b"7 (name) S 1 2"), None);
        assert_eq!(start_in_stat(b"no name"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let pid = std::process::id();
        let started = process_start(pid);
        let expected = |alive| if cfg!(unix) { Some(alive) } else { None };
        assert_eq!(process_alive(pid, started), expected(true));
        if let Some(started) = started {
            assert_eq!(process_alive(pid, Some(started + 1)), expected(false));
        }
        assert_eq!(process_alive(u32::MAX - 1, None), expected(false));
    }
}
