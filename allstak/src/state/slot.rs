//! This session's state file as a state machine: from what it holds and what happened to the
//! file operation to perform. Pure, so every order of events is tested without a disk; the
//! caller ([`super::SessionFile`]) performs the operation.
//!
//! Two threads feed it: the transport thread (the start, heartbeats, the end once delivered or
//! given up) and the thread ending the session (the end, if the server is slow to take it).
//! Either may come second; whatever the order, the file ends up removed once nothing is owed to
//! the server (the end was sent or refused for good, or the start refused for good), and
//! otherwise holds what is: the start while the server has not taken it, then the end with its
//! real status.

use super::SessionState;

/// What this session's state file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Nothing on disk.
    NotWritten,
    /// The open session is on disk: if the process dies, the next run ends it `abnormal` (after
    /// sending its start, if the state still holds it).
    Open(SessionState),
    /// The ended session is on disk, with its real status, for the next run to send (after its
    /// start, if the state still holds it).
    Kept(SessionState),
    /// Nothing is owed to the server: nothing on disk, and nothing will be.
    Done,
}

/// What happened to the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SlotEvent {
    /// The session started, with this state.
    Opened(SessionState),
    /// Time passed while the session is open (Unix ms): an abnormal end gets a fair duration.
    Heartbeat(u64),
    /// The start reached the server: no longer owed.
    StartSent,
    /// The session ended, and its end is not known to have reached the server: this state
    /// (with its end, and its start if still owed) is what to write if none is on disk.
    EndPending(SessionState),
    /// Nothing more is owed: the end reached the server or was refused for good, or the start
    /// was refused for good (the server will never have this session, nor its end).
    Settled,
}

/// The file operation a transition asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileOp {
    Nothing,
    /// Write (or rewrite) this state.
    Write(SessionState),
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
        (Slot::Open(mut state), SlotEvent::StartSent) if state.start.is_some() => {
            state.start = None;
            (Slot::Open(state.clone()), FileOp::Write(state))
        }
        (Slot::Kept(mut state), SlotEvent::StartSent) if state.start.is_some() => {
            state.start = None;
            (Slot::Kept(state.clone()), FileOp::Write(state))
        }
        // The state on disk is the session's own: its start time, its heartbeat, whether its
        // start is still owed.
        (Slot::Open(mut state), SlotEvent::EndPending(pending)) => {
            state.ended = pending.ended;
            (Slot::Kept(state.clone()), FileOp::Write(state))
        }
        (Slot::NotWritten, SlotEvent::EndPending(pending)) => {
            (Slot::Kept(pending.clone()), FileOp::Write(pending))
        }
        (
            Slot::Open(SessionState { session_id: id, .. })
            | Slot::Kept(SessionState { session_id: id, .. }),
            SlotEvent::Settled,
        ) => (Slot::Done, FileOp::Remove(id)),
        (Slot::NotWritten, SlotEvent::Settled) => (Slot::Done, FileOp::Nothing),
        // Opened twice, a heartbeat after the end, a start sent twice, an end kept twice,
        // anything once done.
        (slot, _) => (slot, FileOp::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Ended;
    use super::*;
    use crate::SessionStatus;

    const ID: &str = "3b241101-e2bb-4255-8caf-4136c566a962";
    const START: &str = r#"{"sessionId":"3b241101-e2bb-4255-8caf-4136c566a962"}"#;
    const ENDED: Ended = Ended {
        status: SessionStatus::Errored,
        duration_ms: 1234,
    };

    /// The open session's state, its start already sent.
    fn open_state() -> SessionState {
        SessionState {
            session_id: ID.to_owned(),
            release: "app@1".to_owned(),
            environment: "production".to_owned(),
            key_hash: "0".repeat(16),
            pid: 7,
            process_start: Some(1),
            machine: None,
            started_at_ms: 1_000,
            updated_at_ms: 1_000,
            start: None,
            ended: None,
        }
    }

    /// The open session's state while its start is owed.
    fn owing_state() -> SessionState {
        SessionState {
            start: Some(START.to_owned()),
            ..open_state()
        }
    }

    /// The disk, as the file operations leave it.
    fn apply(disk: &mut Option<SessionState>, op: FileOp) {
        match op {
            FileOp::Nothing => {}
            FileOp::Write(state) => *disk = Some(state),
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
    fn orders<T: Clone>(events: &[T]) -> Vec<Vec<T>> {
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
        SlotEvent::EndPending(SessionState {
            ended: Some(ENDED),
            ..open_state()
        })
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
            SlotEvent::Opened(owing_state()),
            SlotEvent::Heartbeat(5_000),
            SlotEvent::StartSent,
            pending(),
        ];
        for mut order in orders(&events) {
            order.push(SlotEvent::Settled);
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
            let kept = disk.expect("the end is on disk");
            assert_eq!(slot, Slot::Kept(kept.clone()), "{order:?}");
            assert_eq!(
                (kept.session_id.as_str(), kept.ended),
                (ID, Some(ENDED)),
                "{order:?}"
            );
        }
    }

    /// What happens to the session, as [`super::super::SessionFile`] turns it into events: each
    /// state it makes holds the start while the start is owed.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Happened {
        Opened,
        Heartbeat,
        StartSent,
        EndPending,
    }

    #[test]
    fn in_every_order_the_state_on_disk_holds_the_start_exactly_while_it_is_owed() {
        use Happened::*;
        for order in orders(&[Opened, Heartbeat, StartSent, EndPending]) {
            for happened in 1..=order.len() {
                let mut owed = true;
                let events: Vec<SlotEvent> = order[..happened]
                    .iter()
                    .map(|happened| {
                        let state = if owed { owing_state() } else { open_state() };
                        match happened {
                            Opened => SlotEvent::Opened(state),
                            Heartbeat => SlotEvent::Heartbeat(5_000),
                            StartSent => {
                                owed = false;
                                SlotEvent::StartSent
                            }
                            EndPending => SlotEvent::EndPending(SessionState {
                                ended: Some(ENDED),
                                ..state
                            }),
                        }
                    })
                    .collect();
                let (_, disk) = run(&events);
                let Some(disk) = disk else {
                    // Nothing written yet: neither opened nor ended.
                    assert!(
                        !order[..happened].contains(&Opened)
                            && !order[..happened].contains(&EndPending),
                        "{events:?}"
                    );
                    continue;
                };
                let expected = owed.then(|| START.to_owned());
                assert_eq!(disk.start, expected, "{events:?}");
                let ended = order[..happened].contains(&EndPending);
                assert_eq!(disk.ended, ended.then_some(ENDED), "{events:?}");
            }
        }
    }

    #[test]
    fn a_start_refused_for_good_leaves_nothing_on_disk_and_nothing_is_written_after() {
        for before in [
            vec![],
            vec![SlotEvent::Opened(owing_state())],
            vec![
                SlotEvent::Opened(owing_state()),
                SlotEvent::EndPending(SessionState {
                    ended: Some(ENDED),
                    ..owing_state()
                }),
            ],
        ] {
            let mut events = before.clone();
            events.extend([SlotEvent::Settled, SlotEvent::Heartbeat(9), pending()]);
            assert_eq!(run(&events), (Slot::Done, None), "{before:?}");
        }
    }

    #[test]
    fn once_done_nothing_writes_the_file_again() {
        for event in [
            SlotEvent::Opened(open_state()),
            SlotEvent::Heartbeat(9),
            SlotEvent::StartSent,
            pending(),
            SlotEvent::Settled,
        ] {
            assert_eq!(transition(Slot::Done, event), (Slot::Done, FileOp::Nothing));
        }
    }

    #[test]
    fn an_end_kept_by_both_threads_is_written_once() {
        let kept = SessionState {
            ended: Some(ENDED),
            ..open_state()
        };
        let (slot, op) = transition(Slot::Kept(kept.clone()), pending());
        assert_eq!((slot, op), (Slot::Kept(kept), FileOp::Nothing));
    }

    #[test]
    fn a_session_that_ends_before_it_was_written_is_written_only_if_its_end_is_pending() {
        assert_eq!(
            transition(Slot::NotWritten, SlotEvent::Settled),
            (Slot::Done, FileOp::Nothing)
        );
        let SlotEvent::EndPending(state) = pending() else {
            unreachable!()
        };
        assert_eq!(
            transition(Slot::NotWritten, pending()),
            (Slot::Kept(state.clone()), FileOp::Write(state))
        );
    }
}
