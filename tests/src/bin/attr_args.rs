//! `#[allstak::main]` with arguments, which win over the `ALLSTAK_*` variables.

#[allstak::main(
    release = "attr-release@1.2.3",
    environment = "attr-environment",
    exit_deadline_ms = 400,
    user_id = "attr-user"
)]
fn main() {
    println!(
        "session active: {}",
        allstak::current_session_id().is_some()
    );
}
