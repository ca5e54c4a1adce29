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
        let now = time::unix_millis(SystemTime::now()) / 1000;
        let Some(bytes) = self
            .written_path()
            .and_then(|path| files::read_at_most(&path, MAX_BYTES).ok())
        else {
            return HashSet::new();
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| {
                let (hash, at) = line.split_once(' ')?;
                let at: u64 = at.parse().ok()?;
                (now.saturating_sub(at) < WRITTEN_FOR.as_secs())
                    .then(|| u64::from_str_radix(hash, 16).ok())?
            })
            .collect()
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
        let now = time::unix_millis(SystemTime::now()) / 1000;
        let lines: String = hashes
            .iter()
            .map(|hash| format!("{hash:016x} {now}\n"))
            .collect();
        let _ = files::append(&path, lines.as_bytes(), MAX_BYTES);
    }
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
        writeln!(file, "{:016x} {old}\nnot a line\n{:016x}", 7, 8).expect("write");
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
    fn the_file_starts_over_once_past_its_bound() {
        let scratch = Scratch::new("written-bound");
        let dir = StateDir::locate(scratch.state_dir(), "key", "http://host");
        dir.note(&(0..2000).collect::<Vec<u64>>());
        assert_eq!(dir.load().len(), 2000);
        dir.note(&(2000..3000).collect::<Vec<u64>>());
        let path = dir.written_path().expect("usable");
        assert!(std::fs::metadata(&path).expect("file").len() <= MAX_BYTES);
        assert_eq!(dir.load(), (2000..3000).collect::<HashSet<u64>>());
    }
}
