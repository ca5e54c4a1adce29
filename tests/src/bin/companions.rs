//! A program with what real programs have beside the SDK: its own `before_send`, its own
//! signal handling, `fork`, `catch_unwind`. `companions <scenario>`.

use std::process::ExitCode;

use allstak_tests::{Companions, Scenario as _};

fn main() -> ExitCode {
    let scenario = Companions::of_this_process();
    let mut config = allstak::Config::builder().default_release(allstak::release_name!());
    if scenario == Companions::BeforeSendPanics {
        config = config.before_send(|_| panic!("a bug in before_send"));
    }
    if scenario == Companions::BeforeSendReports {
        config = config.before_send(|event| {
            if event.message().contains("secret") {
                // A natural way to say an event was dropped: report it through the SDK.
                allstak::capture_display(&"before_send dropped an event");
                None
            } else {
                Some(event)
            }
        });
    }
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut guard = allstak::init(config.build());
    match scenario {
        Companions::BeforeSendReports => {
            allstak::capture_display(&"the secret is 42");
        }
        Companions::BeforeSendPanics => {
            allstak::capture_display(&"an error for the hook");
        }
        Companions::CaughtPanics => {
            for n in 0..3 {
                allstak::add_breadcrumb(allstak::Breadcrumb::new(format!("before p{n}")));
                let caught = std::panic::catch_unwind(|| panic!("p{n}"));
                assert!(caught.is_err());
            }
            allstak::add_breadcrumb(allstak::Breadcrumb::new("after the panics"));
        }
        Companions::TaskPanicThenWait => {
            // A server on a current-thread runtime: its task panics on the session's thread, the
            // runtime catches it, and the server runs on (until its stdin closes).
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let task = tokio::spawn(async { panic!("a task gave up") });
                println!("task failed: {}", task.await.is_err());
            });
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        }
        #[cfg(unix)]
        Companions::ForkChildReports => guard = fork_child_reports(guard),
        #[cfg(unix)]
        Companions::ForkChildSigterm => fork_child_sigterm(),
        #[cfg(unix)]
        Companions::ForkChildrenPanicWhileTagsChange => fork_children_panic_while_tags_change(),
        #[cfg(unix)]
        Companions::ForkChildKeepsTheProgramsSignals => fork_child_keeps_the_programs_signals(),
        Companions::ShortKey => {
            allstak::capture_display(&"tokio::runtime::block_on gave up on key k");
        }
        #[cfg(target_os = "linux")]
        Companions::Signalfd => {
            if !sigterm_from_a_signalfd() {
                return ExitCode::from(3);
            }
        }
    }
    drop(guard);
    println!("done");
    ExitCode::SUCCESS
}

/// Blocks SIGTERM on this thread, says `ready`, and takes the signal from a signalfd, as
/// programs that handle signals in their event loop do. Whether it read SIGTERM.
#[cfg(target_os = "linux")]
fn sigterm_from_a_signalfd() -> bool {
    use std::io::Write;
    // SAFETY: plain libc calls on a set and a descriptor this fn owns.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) != 0 {
            return false;
        }
        let fd = libc::signalfd(-1, &raw const set, 0);
        if fd < 0 {
            return false;
        }
        println!("ready");
        let _ = std::io::stdout().flush();
        let mut info: libc::signalfd_siginfo = std::mem::zeroed();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let read = libc::read(fd, (&raw mut info).cast(), size);
        libc::close(fd);
        let got = usize::try_from(read) == Ok(size) && info.ssi_signo == libc::SIGTERM as u32;
        println!("read SIGTERM: {got}");
        got
    }
}

/// A child forked after the session started reports an error and exits; then the parent does.
#[cfg(unix)]
fn fork_child_reports(guard: allstak::Guard) -> allstak::Guard {
    let started = std::time::Instant::now();
    // SAFETY: the child only calls the SDK, prints and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        allstak::capture_display(&"in the child");
        println!(
            "child: session {}, flushed {}, dropped {}",
            allstak::current_session_id().is_some(),
            allstak::flush(allstak::Config::from_env().exit_deadline()),
            allstak::dropped_event_count()
        );
        drop(guard);
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: reaps our own child.
    unsafe { libc::waitpid(pid, &raw mut status, 0) };
    println!(
        "child exited 0: {}, within a second: {}",
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        started.elapsed() < std::time::Duration::from_secs(1)
    );
    allstak::capture_display(&"in the parent");
    guard
}

/// Children forked while another thread sets tags (holding the SDK's scope lock now and then),
/// each panicking and catching it: each gets through the panic hook and exits, none hangs on a
/// lock the parent's thread held as it forked.
#[cfg(unix)]
fn fork_children_panic_while_tags_change() {
    const CHILDREN: usize = 20;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tagging = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                allstak::set_tag("round", round.to_string());
                round += 1;
            }
        })
    };
    let mut exited = 0;
    for _ in 0..CHILDREN {
        // SAFETY: the child panics, catches it and leaves at once with `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let caught = std::panic::catch_unwind(|| panic!("in a child"));
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(if caught.is_err() { 0 } else { 1 }) };
        }
        let started = std::time::Instant::now();
        let mut status = 0;
        // SAFETY: reaps our own child, without waiting.
        while unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) } != pid {
            if started.elapsed() > std::time::Duration::from_secs(5) {
                // SAFETY: our own child, hung: it goes, and is reaped.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &raw mut status, 0);
                }
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        exited += usize::from(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = tagging.join();
    println!("children through their panic: {exited} of {CHILDREN}");
}

/// The program's own SIGTERM handler.
#[cfg(unix)]
extern "C" fn programs_sigterm_handler(_: libc::c_int) {}

/// Sets its own SIGTERM handler and ignores SIGINT after the session started, then forks: the
/// child finds both as the program set them (a pre-fork server's workers drain on SIGTERM; a
/// child meant to ignore Ctrl-C does).
#[cfg(unix)]
fn fork_child_keeps_the_programs_signals() {
    // SAFETY: plain libc calls; the child only reads its signal actions and exits.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = programs_sigterm_handler as *const () as libc::sighandler_t;
        libc::sigemptyset(&raw mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGTERM, &raw const action, std::ptr::null_mut()),
            0
        );
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        let pid = libc::fork();
        if pid == 0 {
            let mut current: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGTERM, std::ptr::null(), &raw mut current);
            let term = current.sa_sigaction == action.sa_sigaction;
            libc::sigaction(libc::SIGINT, std::ptr::null(), &raw mut current);
            let int = current.sa_sigaction == libc::SIG_IGN;
            libc::_exit(i32::from(!term) | i32::from(!int) << 1);
        }
        let mut status = 0;
        libc::waitpid(pid, &raw mut status, 0);
        println!(
            "child's SIGTERM and SIGINT as the program set them: {}",
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
        );
    }
}

/// A child forked after the session started is stopped by SIGTERM; the parent goes on.
#[cfg(unix)]
fn fork_child_sigterm() {
    let mut ready = [0 as libc::c_int; 2];
    // SAFETY: plain libc calls on descriptors this fn owns; the child only writes and pauses.
    unsafe {
        assert_eq!(libc::pipe(ready.as_mut_ptr()), 0);
        let pid = libc::fork();
        if pid == 0 {
            // Past the fork: the child's side is set up. Then it waits for its signal.
            libc::write(ready[1], b"r".as_ptr().cast(), 1);
            loop {
                libc::pause();
            }
        }
        let mut byte = 0u8;
        libc::read(ready[0], (&raw mut byte).cast(), 1);
        libc::kill(pid, libc::SIGTERM);
        let mut status = 0;
        libc::waitpid(pid, &raw mut status, 0);
        println!(
            "child died of SIGTERM: {}",
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGTERM
        );
    }
}
