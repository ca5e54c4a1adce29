//! Turning a TCP option of a socket on, which std has no call for (Linux): the test collector's
//! `TCP_NODELAY` on its listener, the pipelined connection's `TCP_QUICKACK`.

use std::os::fd::AsRawFd;

/// Turns `option` (at the TCP level) on for `socket`; a refusal changes nothing but speed.
pub(crate) fn turn_on(socket: &impl AsRawFd, option: libc::c_int) {
    let on: libc::c_int = 1;
    // SAFETY: a socket we hold open, and an option value of the size given.
    let _ = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            option,
            std::ptr::from_ref(&on).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4),
        )
    };
}
