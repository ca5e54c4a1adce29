//! This session's state file as a state machine: from what it holds and what happened to the
//! file operation to perform. Pure, so every order of events is tested without a disk; the
//! caller ([`super::SessionFile`]) performs the operation.
//!
//! Two threads feed it: the transport thread (the start, heartbeats, the end once delivered or
//! given up) and the thread ending the session (the end, if the server is slow to take it).
//! Either may come second; whatever the order, the file ends up removed once the end was sent
//! or refused for good, and holding the end with its real status if it may not have been.

use super::{Ended, SessionState};

/// What this session's state file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Nothing on disk.
    NotWritten,
    /// The open session is on disk: if the process dies, the next run ends it `abnormal`.
    Open(SessionState),
    /// The end of session `.0` is on disk, with its real status, for the next run to send.
    Kept(String),
    /// The end was sent, or refused for good: nothing on disk, and nothing will be.
    Done,
}

/// What happened to the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SlotEvent {
    /// The session started, with this state.
    Opened(SessionState),
    /// Time passed while the session is open (Unix ms): an abnormal end gets a fair duration.
    Heartbeat(u64),
    /// The session of this id ended, and its end is not known to have reached the server.
    EndPending(String, Ended),
    /// The end reached the server, or was refused for good.
    EndSettled,
}

/// The file operation a transition asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileOp {
    Nothing,
    /// Write (or rewrite) this state.
    Write(SessionState),
    /// Write a fresh state for session `.0`, started by this process, ended as `.1`.
    WriteNew(String, Ended),
    /// Remove the file of this session.
    Remove(String),
}

/// The slot after `event`, and the file operation that makes the disk match it.
pub(crate) fn transition(slot: Slot, event: SlotEvent) -> (Slot, FileOp) {
    match (slot, event) {
        (Slot::NotWritten, SlotEvent::Opened(state)) => {
            (Slot::Open(state.clone()), FileOp::Write(state))
        }
        (Slot::Open(mut state), SlotEvent::Heartbeat(now_ms)) => {
            state.updated_at_ms = now_ms;
            (Slot::Open(state.clone()), FileOp::Write(state))
        }
        (Slot::Open(mut state), SlotEvent::EndPending(_, ended)) => {
            let id = state.session_id.clone();
            state.ended = Some(ended);
            (Slot::Kept(id), FileOp::Write(state))
        }
        (Slot::NotWritten, SlotEvent::EndPending(id, ended)) => {
            (Slot::Kept(id.clone()), FileOp::WriteNew(id, ended))
        }
        (
            Slot::Open(SessionState { session_id: id, .. }) | Slot::Kept(id),
            SlotEvent::EndSettled,
        ) => (Slot::Done, FileOp::Remove(id)),
        (Slot::NotWritten, SlotEvent::EndSettled) => (Slot::Done, FileOp::Nothing),
        // Opened twice, a heartbeat after the end, an end kept twice, anything once done.
        (slot, _) => (slot, FileOp::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionStatus;

    const ID: &str = "3b241101-e2bb-4255-8caf-4136c566a962";
    const ENDED: Ended = Ended {
        status: SessionStatus::Errored,
        duration_ms: 1234,
    };

    fn open_state() -> SessionState {
        SessionState {
            session_id: ID.to_owned(),
            release: "app@1".to_owned(),
            environment: "production".to_owned(),
            key_hash: "0".repeat(16),
            pid: 7,
            process_start: Some(1),
            started_at_ms: 1_000,
            updated_at_ms: 1_000,
            ended: None,
        }
    }

    /// The disk, as the file operations leave it.
    fn apply(disk: &mut Option<SessionState>, op: FileOp) {
        match op {
            FileOp::Nothing => {}
            FileOp::Write(state) => *disk = Some(state),
            FileOp::WriteNew(id, ended) => {
                *disk = Some(SessionState {
                    session_id: id,
                    ended: Some(ended),
                    ..open_state()
                });
            }
            FileOp::Remove(id) => {
                assert_eq!(
                    disk.as_ref().map(|s| s.session_id.as_str()),
                    Some(id.as_str())
                );
                *disk = None;
            }
        }
    }

    fn run(events: &[SlotEvent]) -> (Slot, Option<SessionState>) {
        let mut slot = Slot::NotWritten;
        let mut disk = None;
        for event in events {
            let (next, op) = transition(slot, event.clone());
            apply(&mut disk, op);
            slot = next;
        }
        (slot, disk)
    }

    /// Every order of `events`, each once.
    fn orders(events: &[SlotEvent]) -> Vec<Vec<SlotEvent>> {
        if events.len() <= 1 {
            return vec![events.to_vec()];
        }
        let mut all = Vec::new();
        for (i, first) in events.iter().enumerate() {
            let mut rest = events.to_vec();
            rest.remove(i);
            for mut order in orders(&rest) {
                order.insert(0, first.clone());
                all.push(order);
            }
        }
        all
    }

    fn pending() -> SlotEvent {
        SlotEvent::EndPending(ID.to_owned(), ENDED)
    }

    #[test]
    fn an_open_session_is_on_disk_and_heartbeats_refresh_it() {
        let (slot, disk) = run(&[
            SlotEvent::Opened(open_state()),
            SlotEvent::Heartbeat(31_000),
        ]);
        let expected = SessionState {
            updated_at_ms: 31_000,
            ..open_state()
        };
        assert_eq!(slot, Slot::Open(expected.clone()));
        assert_eq!(disk, Some(expected));
    }

    #[test]
    fn in_every_order_a_settled_end_leaves_nothing_on_disk() {
        // The worker settles last: it is the one that learned the end was delivered.
        let events = [
            SlotEvent::Opened(open_state()),
            SlotEvent::Heartbeat(5_000),
            pending(),
        ];
        for mut order in orders(&events) {
            order.push(SlotEvent::EndSettled);
            let (slot, disk) = run(&order);
            assert_eq!(slot, Slot::Done, "{order:?}");
            assert_eq!(disk, None, "{order:?}");
        }
    }

    #[test]
    fn in_every_order_a_pending_end_is_kept_with_its_real_status() {
        let events = [
            SlotEvent::Opened(open_state()),
            SlotEvent::Heartbeat(5_000),
            pending(),
        ];
        for order in orders(&events) {
            let (slot, disk) = run(&order);
            assert_eq!(slot, Slot::Kept(ID.to_owned()), "{order:?}");
            let kept = disk.expect("the end is on disk");
            assert_eq!(
                (kept.session_id.as_str(), kept.ended),
                (ID, Some(ENDED)),
                "{order:?}"
            );
        }
    }

    #[test]
    fn once_done_nothing_writes_the_file_again() {
        for event in [
            SlotEvent::Opened(open_state()),
            SlotEvent::Heartbeat(9),
            pending(),
            SlotEvent::EndSettled,
        ] {
            assert_eq!(transition(Slot::Done, event), (Slot::Done, FileOp::Nothing));
        }
    }

    #[test]
    fn an_end_kept_by_both_threads_is_written_once() {
        let (slot, op) = transition(Slot::Kept(ID.to_owned()), pending());
        assert_eq!((slot, op), (Slot::Kept(ID.to_owned()), FileOp::Nothing));
    }

    #[test]
    fn a_session_that_ends_before_it_was_written_is_written_only_if_its_end_is_pending() {
        assert_eq!(
            transition(Slot::NotWritten, SlotEvent::EndSettled),
            (Slot::Done, FileOp::Nothing)
        );
        assert_eq!(
            transition(Slot::NotWritten, pending()),
            (
                Slot::Kept(ID.to_owned()),
                FileOp::WriteNew(ID.to_owned(), ENDED)
            )
        );
    }
}
