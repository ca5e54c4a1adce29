//! A program with what real programs have beside the SDK: its own `before_send`, its own
//! signal handling, `fork`, `catch_unwind`. `companions <scenario>`; an unknown scenario exits 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let mut config = allstak::Config::builder().default_release(allstak::release_name!());
    if scenario == "before-send-panics" {
        config = config.before_send(|_| panic!("a bug in before_send"));
    }
    if scenario == "before-send-reports" {
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
    let guard = allstak::init(config.build());
    match scenario.as_str() {
        "before-send-reports" => {
            allstak::capture_display(&"the secret is 42");
        }
        "before-send-panics" => {
            allstak::capture_display(&"an error for the hook");
        }
        "caught-panics" => {
            for n in 0..3 {
                allstak::add_breadcrumb(allstak::Breadcrumb::new(format!("before p{n}")));
                let caught = std::panic::catch_unwind(|| panic!("p{n}"));
                assert!(caught.is_err());
            }
            allstak::add_breadcrumb(allstak::Breadcrumb::new("after the panics"));
        }
        "task-panic-then-wait" => {
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
        "short-key" => {
            allstak::capture_display(&"tokio::runtime::block_on gave up on key k");
        }
        #[cfg(target_os = "linux")]
        "signalfd" => {
            if !sigterm_from_a_signalfd() {
                return ExitCode::from(3);
            }
        }
        _ => {
            eprintln!("unknown scenario {scenario:?}");
            return ExitCode::from(2);
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
