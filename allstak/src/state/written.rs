//! What runs that do not wait for the network (exit deadline 0) wrote without reading the
//! answer: a short run writes what earlier runs left, and its own start, then exits before the
//! server answers. Those requests are still owed (each is removed only once the server
//! answered), but the next such run does not write them again: only what is new since. A run
//! that reads an answer sends everything, and settles it.
//!
//! One file per key and host beside the sessions, a line per request: its hash and when it was
//! written. Appended to at exit, read once by a run that does not wait; lines older than
//! [`WRITTEN_FOR`] are ignored (then written again: a write that never arrived is not lost for
//! longer), the file is emptied once past [`MAX_BYTES`].

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{StateDir, files};
use crate::time;
use crate::wire::Post;

/// How long a request written without its answer read is not written again by a run that does
/// not wait.
const WRITTEN_FOR: Duration = Duration::from_secs(600);
/// The file's bound: a few thousand requests.
const MAX_BYTES: u64 = 64 * 1024;

/// What tells a request from another across runs (FNV-1a over its path and body: stable across
/// builds and Rust versions, unlike `std`'s hasher).
pub(crate) fn request_hash(request: &Post) -> u64 {
    request
        .path
        .bytes()
        .chain([b'\n'])
        .chain(request.body.iter().copied())
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

impl crate::transport::Written for StateDir {
    /// The requests written by runs that did not wait, less than [`WRITTEN_FOR`] ago, without
    /// an answer read.
    fn load(&self) -> HashSet<u64> {
        self.written_path()
            .map(|path| fresh(&path, now()).map(|(hash, _)| hash).collect())
            .unwrap_or_default()
    }

    /// `hashes` were written now, their answers not read (the process is exiting). From the
    /// exiting thread: nothing if another thread is still finding the dir.
    fn note(&self, hashes: &[u64]) {
        if hashes.is_empty() || self.being_found() {
            return;
        }
        let Some(path) = self.written_path() else {
            return;
        };
        let now = now();
        let new = lines(hashes.iter().map(|hash| (*hash, now)));
        if files::append(&path, new.as_bytes(), MAX_BYTES).is_ok() {
            return;
        }
        // Full (or not a file of ours): what is still fresh, the newest half, and these, in a
        // new file in its place.
        let kept: Vec<(u64, u64)> = fresh(&path, now).collect();
        let room = (MAX_BYTES as usize / 2 / LINE).min(kept.len());
        let all = lines(kept[kept.len() - room..].iter().copied()) + &new;
        if all.len() as u64 <= MAX_BYTES {
            let _ = files::write(&path, all.as_bytes());
        }
    }
}

/// One line's bytes: 16 hex digits, a space, 10 digits of seconds, a newline.
const LINE: usize = 28;

fn now() -> u64 {
    time::unix_millis(SystemTime::now()) / 1000
}

fn lines(written: impl Iterator<Item = (u64, u64)>) -> String {
    written
        .map(|(hash, at)| format!("{hash:016x} {at}\n"))
        .collect()
}

/// The lines of the file at `path` written less than [`WRITTEN_FOR`] before `now` (and not
/// after it: a clock set back does not make them fresh for longer), in the file's order.
fn fresh(path: &std::path::Path, now: u64) -> impl Iterator<Item = (u64, u64)> {
    let bytes = files::read_at_most(path, MAX_BYTES).unwrap_or_default();
    let lines: Vec<(u64, u64)> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| {
            let (hash, at) = line.split_once(' ')?;
            let at: u64 = at.parse().ok()?;
            let hash = u64::from_str_radix(hash, 16).ok()?;
            (at <= now && now - at < WRITTEN_FOR.as_secs()).then_some((hash, at))
        })
        .collect();
    lines.into_iter()
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

    #[test]
    fn a_request_is_known_by_its_path_and_body() {
        let end = post("{}");
        assert_eq!(request_hash(&end), request_hash(&post("{}")));
        assert_ne!(request_hash(&end), request_hash(&post("{ }")));
        let start = Post {
            path: crate::wire::SESSIONS_START,
            body: b"{}".to_vec(),
        };
        assert_ne!(request_hash(&end), request_hash(&start));
    }

    #[test]
    fn what_was_noted_is_read_back_until_it_is_old() {
        let scratch = Scratch::new("written");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        assert!(dir.load().is_empty());
        dir.note(&[1, 0xffff_ffff_ffff_ffff]);
        dir.note(&[3]);
        assert_eq!(dir.load(), HashSet::from([1, 0xffff_ffff_ffff_ffff, 3]));
        // A line written long ago, and lines that are not ours, are not read.
        let path = dir.written_path().expect("usable");
        let old = time::unix_millis(SystemTime::now()) / 1000 - WRITTEN_FOR.as_secs() - 1;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        // Nor one dated after now (a clock set back).
        let future = time::unix_millis(SystemTime::now()) / 1000 + 3600;
        writeln!(
            file,
            "{:016x} {old}\nnot a line\n{:016x}\n{:016x} {future}",
            7, 8, 9
        )
        .expect("write");
        assert_eq!(dir.load(), HashSet::from([1, 0xffff_ffff_ffff_ffff, 3]));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_files_place_is_neither_followed_nor_read() {
        let scratch = Scratch::new("written-link");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        let path = dir.written_path().expect("usable");
        let target = scratch.0.join("elsewhere");
        std::fs::write(&target, format!("{:016x} {}\n", 9, u64::MAX / 2)).expect("target");
        std::os::unix::fs::symlink(&target, &path).expect("link");
        assert!(dir.load().is_empty());
        dir.note(&[1]);
        assert_eq!(
            std::fs::read_to_string(&target).expect("target"),
            format!("{:016x} {}\n", 9, u64::MAX / 2)
        );
    }

    #[test]
    fn past_its_bound_the_file_keeps_the_newest_half_and_what_is_new() {
        let scratch = Scratch::new("written-bound");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        dir.note(&(0..2000).collect::<Vec<u64>>());
        assert_eq!(dir.load().len(), 2000);
        dir.note(&(2000..2400).collect::<Vec<u64>>());
        let path = dir.written_path().expect("usable");
        assert!(std::fs::metadata(&path).expect("file").len() <= MAX_BYTES);
        let kept = MAX_BYTES / 2 / LINE as u64;
        assert_eq!(dir.load(), (2000 - kept..2400).collect::<HashSet<u64>>());
    }
}
