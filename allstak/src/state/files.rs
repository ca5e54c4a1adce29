//! The file-system rules of the state dir, for a machine where someone else may plant things:
//! a dir is used only if it is the user's and nobody else can write to it; files are opened
//! without following links and without blocking (a FIFO cannot hold an open), only regular
//! files of at most [`MAX_FILE`] bytes are read, and new files are created exclusively, mode
//! 0600, under names nobody can predict. File names are keyed by a random salt kept in the dir.

use std::fmt;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

/// A state file (or the salt) is read only up to this size: anything bigger is not ours.
pub(super) const MAX_FILE: u64 = 64 * 1024;
/// The salt's file, in the state dir (beside `sessions/`, which holds only session files).
const SALT: &str = "salt";

/// Why a state dir is not used: said once, and recovery is off for the run.
#[derive(Debug)]
pub(super) enum Unusable {
    /// It could not be created, inspected or set up (read-only, no such parent, …).
    Io(PathBuf, io::Error),
    /// It is not a directory of its own (a link, a file).
    NotADir(PathBuf),
    /// Someone else owns it, or others may write into it.
    NotPrivate { dir: PathBuf, owner: u32, mode: u32 },
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(dir, error) => {
                write!(f, "the state dir {} cannot be used: {error}", dir.display())
            }
            Self::NotADir(dir) => {
                write!(
                    f,
                    "the state dir {} is not a directory of its own (a link?)",
                    dir.display()
                )
            }
            Self::NotPrivate { dir, owner, mode } => write!(
                f,
                "the state dir {} is not private (owner uid {owner}, mode {mode:04o}); it must be \
                 the user's and not writable by group or others",
                dir.display()
            ),
        }
    }
}

/// Creates `dir` (and its parents) mode 0700 if missing, and checks that it is private: owned
/// by this user, not writable by group or others. `follow`: whether `dir` may be a link (the
/// user's own configuration may link it; a dir in the shared temp dir may not be one).
pub(super) fn private_dir(dir: &Path, follow: bool) -> Result<(), Unusable> {
    let look = || {
        if follow {
            fs::metadata(dir)
        } else {
            fs::symlink_metadata(dir)
        }
    };
    // Looked at first: it is there on every run but the first (one system call, not three).
    let metadata = match look() {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(dir)
                .map_err(|error| Unusable::Io(dir.to_owned(), error))?;
            look()
        }
        found => found,
    }
    .map_err(|error| Unusable::Io(dir.to_owned(), error))?;
    if !metadata.is_dir() {
        return Err(Unusable::NotADir(dir.to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if metadata.uid() != me || metadata.mode() & 0o022 != 0 {
            return Err(Unusable::NotPrivate {
                dir: dir.to_owned(),
                owner: metadata.uid(),
                mode: metadata.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

/// The options every open here uses: no link followed, no wait on a FIFO.
fn options() -> fs::OpenOptions {
    #[allow(unused_mut)] // only Unix has flags to add
    let mut options = fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        options.mode(0o600);
    }
    options
}

/// The bytes of the regular file `path`, at most [`MAX_FILE`] of them; a link, a FIFO, a
/// device, a dir or a bigger file is an error (`InvalidData`), found without reading it.
pub(super) fn read(path: &Path) -> io::Result<Vec<u8>> {
    read_at_most(path, MAX_FILE)
}

/// Whether `error`, from [`read`], is no verdict on the file: it cannot be read now (no
/// descriptor or memory left, an I/O error, interrupted), and is left as it is for a later
/// look. Any other (a link, a FIFO, a device, a dir, a bigger file, no such file) means there
/// is no file of ours to read.
pub(super) fn not_now(error: &io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = error.raw_os_error()
        && [libc::EMFILE, libc::ENFILE, libc::EIO, libc::ENOMEM].contains(&code)
    {
        return true;
    }
    matches!(
        error.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::OutOfMemory
    )
}

/// [`read`] with another bound: `max` bytes.
pub(super) fn read_at_most(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    #[cfg(not(unix))]
    if fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a link"));
    }
    let file = options().read(true).open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() || metadata.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a state file",
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow while it is read: never past the bound.
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "too big"));
    }
    Ok(bytes)
}

/// Writes `body` to `target`, atomically: into a new temp file beside it (created exclusively,
/// mode 0600, under a random name), then renamed over it. A rename replaces a link or FIFO
/// planted at `target` without following or opening it.
pub(super) fn write(target: &Path, body: &[u8]) -> io::Result<()> {
    let temporary = temporary_beside(target);
    let mut file = options().write(true).create_new(true).open(&temporary)?;
    // No fsync: the rename is atomic for crashes of the process, which is what we recover
    // from; a torn file after a power loss is unreadable and simply dropped.
    let written = file.write_all(body);
    drop(file);
    match written.and_then(|()| fs::rename(&temporary, target)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = fs::remove_file(&temporary);
            Err(error)
        }
    }
}

/// Appends `bytes` to the regular file `target` (created if missing), unless that would take it
/// past `max` bytes (an error: nothing written). A link or FIFO in its place is not followed,
/// nor written to.
pub(super) fn append(target: &Path, bytes: &[u8], max: u64) -> io::Result<()> {
    #[cfg(not(unix))]
    if fs::symlink_metadata(target).is_ok_and(|found| found.file_type().is_symlink()) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a link"));
    }
    let mut file = options().append(true).create(true).open(target)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a file"));
    }
    if metadata.len() + bytes.len() as u64 > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "full"));
    }
    file.write_all(bytes)
}

/// Creates the empty file `target` unless it is there (a mark: what it says is that it
/// exists), in one step: a process killed meanwhile leaves the mark or nothing, no temp file.
/// Anything else in its place (a link, a FIFO) is removed first, never followed.
pub(super) fn mark(target: &Path) -> io::Result<()> {
    let create = || {
        options()
            .write(true)
            .create_new(true)
            .open(target)
            .map(drop)
    };
    match create() {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            if fs::symlink_metadata(target)?.is_file() {
                return Ok(());
            }
            fs::remove_file(target)?;
            create()
        }
        created => created,
    }
}

/// Marks a temp file's extension; what follows it is random.
pub(super) const TEMPORARY: &str = "tmp-";

fn temporary_beside(target: &Path) -> PathBuf {
    let random = crate::random::random_u128();
    target.with_extension(format!("{TEMPORARY}{random:032x}"))
}

/// The dir's salt, created on first use: 128 random bits, as 32 hex digits in `<dir>/salt`.
/// Two programs starting at once agree on it: it is linked into place only if absent.
pub(super) fn salt(dir: &Path) -> Result<u128, Unusable> {
    salt_read_by(dir, read)
}

/// [`salt`], the file read by `read`.
fn salt_read_by(dir: &Path, read: impl Fn(&Path) -> io::Result<Vec<u8>>) -> Result<u128, Unusable> {
    let path = dir.join(SALT);
    let unusable = |error| Unusable::Io(path.clone(), error);
    for _ in 0..3 {
        match read(&path) {
            Ok(bytes) => {
                if let Some(salt) = parse_salt(&bytes) {
                    return Ok(salt);
                }
                // Torn by a power loss: a new one (the files named under the old are lost).
                let _ = fs::remove_file(&path);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            // Not now (no descriptor left, an I/O error): the salt is left as it is, and the
            // dir unused this time; a new one would lose every file named under it.
            Err(error) if not_now(&error) => return Err(unusable(error)),
            // A link, a FIFO, anything but our file: not ours, and gone.
            Err(_) => {
                let _ = fs::remove_file(&path);
            }
        }
        let temporary = temporary_beside(&path);
        let mut file = options()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(unusable)?;
        let random = crate::random::random_u128();
        let written = file.write_all(format!("{random:032x}").as_bytes());
        drop(file);
        let linked = written.and_then(|()| fs::hard_link(&temporary, &path));
        let _ = fs::remove_file(&temporary);
        match linked {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(unusable(error)),
        }
    }
    Err(unusable(io::Error::other("the salt does not stay")))
}

fn parse_salt(bytes: &[u8]) -> Option<u128> {
    let text = std::str::from_utf8(bytes).ok()?;
    (text.len() == 32)
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
}

/// The name under which a program's files are kept: key and host hashed under the dir's salt
/// (SipHash-2-4 keyed by it, 128 bits), so that a name tells nothing about the key to someone
/// who can list the dir but not read the salt, nor to someone who only ever sees the names.
pub(super) fn keyed_name(salt: u128, identity: &[u8]) -> String {
    #[allow(clippy::cast_possible_truncation)] // the salt's two halves
    let (k0, k1) = ((salt >> 64) as u64, salt as u64);
    let half = |which: u8| {
        let mut message = identity.to_vec();
        message.push(which);
        siphash24(k0, k1, &message)
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

/// SipHash-2-4 (Aumasson and Bernstein): a keyed hash, the one the names need.
fn siphash24(k0: u64, k1: u64, message: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let round = |v: &mut [u64; 4]| {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    };
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        round(v);
        round(v);
        v[0] ^= m;
    };
    let mut chunks = message.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        compress(&mut v, u64::from_le_bytes(word));
    }
    let mut last = [0; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    #[allow(clippy::cast_possible_truncation)] // the length's low byte, as SipHash defines
    let length = message.len() as u8;
    last[7] = length;
    compress(&mut v, u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_matches_the_reference_vectors() {
        // The paper's key 00..0f; messages 00, 00 01, … (vectors from the reference code).
        let (k0, k1) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        let message: Vec<u8> = (0..64).collect();
        assert_eq!(siphash24(k0, k1, &message[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash24(k0, k1, &message[..15]), 0xa129_ca61_49be_45e5);
        // And std's own SipHash-2-4, for every length across two blocks.
        for len in 0..=message.len() {
            #[allow(deprecated)] // the only SipHash-2-4 std has; a check, not a dependency
            let mut std = std::hash::SipHasher::new_with_keys(k0, k1);
            std::hash::Hasher::write(&mut std, &message[..len]);
            assert_eq!(
                siphash24(k0, k1, &message[..len]),
                std::hash::Hasher::finish(&std),
                "{len}"
            );
        }
    }

    #[test]
    fn a_name_depends_on_salt_key_and_host() {
        let name = keyed_name(1, b"key\0host");
        assert_eq!(name.len(), 32);
        assert_eq!(name, keyed_name(1, b"key\0host"));
        assert_ne!(name, keyed_name(2, b"key\0host"));
        assert_ne!(name, keyed_name(1, b"kez\0host"));
        assert_ne!(name, keyed_name(1, b"key\0hosu"));
    }

    #[test]
    fn a_link_or_a_dir_is_no_file_of_ours_and_one_that_cannot_be_read_now_may_be() {
        let dir = std::env::temp_dir().join(format!("allstak-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("a dir")).unwrap();
        fs::write(dir.join("file"), b"{}").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("file"), dir.join("link")).unwrap();
        let read = |name: &str| read(&dir.join(name)).map_err(|error| not_now(&error));
        assert_eq!(read("file"), Ok(b"{}".to_vec()));
        assert_eq!(read("a dir"), Err(false));
        #[cfg(unix)]
        assert_eq!(read("link"), Err(false));
        assert_eq!(read("gone"), Err(false));
        // Out of descriptors, an I/O error: not a verdict on the file.
        #[cfg(unix)]
        for errno in [libc::EMFILE, libc::ENFILE, libc::EIO] {
            assert!(not_now(&io::Error::from_raw_os_error(errno)));
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_salt_that_cannot_be_read_now_is_kept_and_the_dir_unused_this_time() {
        let dir = std::env::temp_dir().join(format!("allstak-salt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let first = salt(&dir).expect("made");
        let out_of_descriptors = |_: &Path| Err(io::Error::from_raw_os_error(libc::EMFILE));
        assert!(salt_read_by(&dir, out_of_descriptors).is_err());
        assert_eq!(
            salt(&dir).ok(),
            Some(first),
            "the same salt: nothing named under it lost"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_a_salt_of_32_hex_digits_is_read() {
        assert_eq!(parse_salt(&[b'a'; 32]), Some(u128::MAX / 15 * 10));
        for bad in [&b""[..], &[b'a'; 31], &[b'a'; 33], &[b'g'; 32], &[b'+'; 32]] {
            assert_eq!(parse_salt(bad), None);
        }
    }
}
