//! What runs that do not wait for the network (exit deadline 0) wrote without reading the
//! answer: a short run writes what earlier runs left, and its own start, then exits before the
//! server answers. Those requests are still owed (each is removed only once the server
//! answered), but the next such run does not write them again: only what is new since. A run
//! that reads an answer sends everything, and settles it.
//!
//! One file per key and host beside the sessions, a line per write: the request's hash, when,
//! and how many times it was written. Appended to by the SDK's thread as it writes (until it
//! reads an answer), read once by a run that does not wait. A request is withheld for
//! [`WRITTEN_FOR`] after its first write, twice as long after each next one (then written
//! again: a write that never arrived, or that the server dropped, is not lost for longer);
//! past [`MAX_BYTES`] the file keeps the newest half of its requests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{MAX_AGE, StateDir, files};
use crate::time;
use crate::transport::Earlier;
use crate::wire::{self, Post};

/// How long a request written once without its answer read is not written again by a run that
/// does not wait; twice as long after each time it was (a series that never reads an answer
/// writes each request a dozen times in the week it is kept, not every ten minutes).
const WRITTEN_FOR: Duration = Duration::from_secs(600);
/// The file's bound: a couple of thousand requests.
const MAX_BYTES: u64 = 64 * 1024;

impl crate::transport::Written for StateDir {
    /// The requests written by runs that did not wait, without an answer read: each one's
    /// times, and whether it is withheld now.
    fn load(&self) -> HashMap<u64, Earlier> {
        let now = now();
        let mut earlier = HashMap::new();
        if let Some(path) = self.written_path() {
            for line in kept(&path, now) {
                earlier.insert(
                    line.hash,
                    Earlier {
                        withheld: now - line.at < withheld_for(line.times),
                        times: line.times,
                    },
                );
            }
        }
        earlier
    }

    /// A session's start only with the end written right after it: the two are withheld
    /// together, so that an end is never written without its start before it on the same
    /// connection (a start written alone goes again with its end).
    fn notes(&self, request: &Post, next: Option<&Post>) -> bool {
        request.path != wire::SESSIONS_START
            || next.is_some_and(|next| next.path == wire::SESSIONS_END)
    }

    /// These were written now (each hash with the times it was, this one included), by a run
    /// that may end before it reads their answers (from the SDK's thread; nothing if another
    /// thread is still finding the dir).
    fn note(&self, written: &[(u64, u32)]) {
        if written.is_empty() || self.being_found() {
            return;
        }
        let Some(path) = self.written_path() else {
            return;
        };
        let now = now();
        let new: Vec<Line> = written
            .iter()
            .map(|&(hash, times)| Line {
                hash,
                at: now,
                times,
            })
            .collect();
        if files::append(&path, text(&new).as_bytes(), MAX_BYTES).is_ok() {
            return;
        }
        // Full (or not a file of ours): the newest half of what is kept, and these, in a new
        // file in its place.
        let mut all: Vec<Line> = kept(&path, now);
        let room = (MAX_BYTES as usize / 2 / LINE).min(all.len());
        all.drain(..all.len() - room);
        all.extend(new);
        let all = text(&all);
        if all.len() as u64 <= MAX_BYTES {
            let _ = files::write(&path, all.as_bytes());
        }
    }
}

/// A line of the file: a request's hash, when it was written (seconds), the times it was.
#[derive(Clone, Copy)]
struct Line {
    hash: u64,
    at: u64,
    times: u32,
}

/// A line's bytes at most: 16 hex digits, 10 digits of seconds, up to 10 of times, two spaces,
/// a newline.
const LINE: usize = 39;

/// How long a request written `times` times is withheld, in seconds.
fn withheld_for(times: u32) -> u64 {
    WRITTEN_FOR.as_secs() << times.clamp(1, 11).saturating_sub(1)
}

fn now() -> u64 {
    time::unix_millis(SystemTime::now()) / 1000
}

fn text(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|line| format!("{:016x} {} {}\n", line.hash, line.at, line.times))
        .collect()
}

/// The requests the file at `path` names, each once (its last write, and the most times any
/// line gives it), oldest first, written within the state's age before `now` (not after it: a
/// clock set back does not make them last longer). Read up to twice its bound: two processes
/// that write at once may both append to a file near it.
fn kept(path: &Path, now: u64) -> Vec<Line> {
    let bytes = files::read_at_most(path, 2 * MAX_BYTES).unwrap_or_default();
    // Each request's line, and where its last one is in the file.
    let mut requests: HashMap<u64, (Line, usize)> = HashMap::new();
    for (place, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
        let mut fields = line.split(' ');
        let Some(hash) = fields
            .next()
            .and_then(|hash| u64::from_str_radix(hash, 16).ok())
        else {
            continue;
        };
        let Some(at) = fields.next().and_then(|at| at.parse::<u64>().ok()) else {
            continue;
        };
        let Some(times) = fields
            .next()
            .map_or(Some(1), |times| times.parse::<u32>().ok())
        else {
            continue;
        };
        if at > now || now - at >= MAX_AGE.as_secs() {
            continue;
        }
        let (known, last) = requests
            .entry(hash)
            .or_insert((Line { hash, at, times }, place));
        known.at = known.at.max(at);
        known.times = known.times.max(times);
        *last = place;
    }
    // Oldest first: by when each was last written, then by place in the file.
    let mut kept: Vec<(Line, usize)> = requests.into_values().collect();
    kept.sort_by_key(|(line, place)| (line.at, *place));
    kept.into_iter().map(|(line, _)| line).collect()
}

impl StateDir {
    fn written_path(&self) -> Option<PathBuf> {
        let usable = self.usable()?;
        Some(self.base.join(format!("{}.written", usable.key_hash)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Scratch;
    use super::*;
    use crate::transport::Written as _;
    use std::io::Write as _;

    fn post(body: &str) -> Post {
        Post {
            path: crate::wire::SESSIONS_END,
            body: body.as_bytes().to_vec(),
        }
    }

    fn withheld(dir: &StateDir) -> Vec<u64> {
        let mut withheld: Vec<u64> = dir
            .load()
            .into_iter()
            .filter_map(|(hash, earlier)| earlier.withheld.then_some(hash))
            .collect();
        withheld.sort_unstable();
        withheld
    }

    #[test]
    fn a_request_is_known_by_its_path_and_body() {
        let end = post("{}");
        assert_eq!(end.digest(), post("{}").digest());
        assert_ne!(end.digest(), post("{ }").digest());
        let start = Post {
            path: crate::wire::SESSIONS_START,
            body: b"{}".to_vec(),
        };
        assert_ne!(end.digest(), start.digest());
    }

    #[test]
    fn a_start_is_noted_only_with_an_end_written_right_after_it() {
        let scratch = Scratch::new("written-notes");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        let start = Post {
            path: crate::wire::SESSIONS_START,
            body: b"{}".to_vec(),
        };
        let event = Post {
            path: crate::wire::ERRORS,
            body: b"{}".to_vec(),
        };
        let end = post("{}");
        assert!(dir.notes(&start, Some(&end)));
        assert!(!dir.notes(&start, None));
        assert!(!dir.notes(&start, Some(&event)));
        assert!(dir.notes(&end, None));
        assert!(dir.notes(&event, Some(&start)));
    }

    #[test]
    fn what_was_noted_is_withheld_for_longer_each_time_it_was_written() {
        let scratch = Scratch::new("written");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        assert!(dir.load().is_empty());
        dir.note(&[(1, 1), (u64::MAX, 1)]);
        dir.note(&[(3, 2)]);
        assert_eq!(withheld(&dir), [1, 3, u64::MAX]);
        assert_eq!(dir.load()[&3].times, 2);
        // Written 20 and 30 minutes ago: withheld for 10 minutes after one time, 20 after two,
        // 40 after three. A line dated after now (a clock set back), and lines not ours, are
        // not read.
        let path = dir.written_path().expect("usable");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        let now = now();
        let (twenty, thirty) = (now - 20 * 60, now - 30 * 60);
        writeln!(
            file,
            "{:016x} {twenty} 1\n{:016x} {thirty} 2\n{:016x} {twenty} 3\nnot a line\n{:016x}\n{:016x} {}",
            7,
            8,
            9,
            10,
            11,
            now + 3600
        )
        .expect("write");
        assert_eq!(withheld(&dir), [1, 3, 9, u64::MAX]);
        assert_eq!(dir.load()[&8].times, 2, "kept, not withheld");
    }

    #[test]
    fn a_request_noted_twice_is_read_once_with_its_last_write_and_most_times() {
        let scratch = Scratch::new("written-twice");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        let path = dir.written_path().expect("usable");
        let now = now();
        let hour = now - 3600;
        // The second line, written later by a run that had read the file first, says fewer
        // times; the third is the last write.
        std::fs::write(
            &path,
            format!(
                "{:016x} {hour} 4\n{:016x} {hour} 2\n{:016x} {now} 1\n",
                5, 5, 5
            ),
        )
        .expect("file");
        let earlier = dir.load();
        assert_eq!(earlier.len(), 1);
        assert_eq!(earlier[&5].times, 4);
        assert!(earlier[&5].withheld, "written now");
        // Past its bound (two exits appending at once), it is still read.
        let many: String = (0..3000)
            .map(|hash| format!("{hash:016x} {now} 1\n"))
            .collect();
        std::fs::write(&path, many).expect("file");
        assert!(std::fs::metadata(&path).expect("file").len() > MAX_BYTES);
        assert_eq!(dir.load().len(), 3000);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_files_place_is_neither_followed_nor_read() {
        let scratch = Scratch::new("written-link");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        let path = dir.written_path().expect("usable");
        let target = scratch.0.join("elsewhere");
        let planted = format!("{:016x} {} 1\n", 9, now());
        std::fs::write(&target, &planted).expect("target");
        std::os::unix::fs::symlink(&target, &path).expect("link");
        assert!(dir.load().is_empty());
        dir.note(&[(1, 1)]);
        assert_eq!(std::fs::read_to_string(&target).expect("target"), planted);
    }

    #[test]
    fn past_its_bound_the_file_keeps_the_newest_half_and_what_is_new() {
        let scratch = Scratch::new("written-bound");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        let first: Vec<(u64, u32)> = (0..2000).map(|hash| (hash, 1)).collect();
        dir.note(&first);
        assert_eq!(dir.load().len(), 2000);
        dir.note(&(2000..2400).map(|hash| (hash, 1)).collect::<Vec<_>>());
        let path = dir.written_path().expect("usable");
        assert!(std::fs::metadata(&path).expect("file").len() <= MAX_BYTES);
        let kept = (MAX_BYTES as usize / 2 / LINE) as u64;
        let expected: Vec<u64> = (2000 - kept..2400).collect();
        assert_eq!(withheld(&dir), expected);
    }
}
