//! The writer thread's batching, driven directly: commands queued before the thread starts
//! are all handled in one wake-up, so they share one transaction.

use tokio::sync::{mpsc, oneshot};

use super::schema;
use super::writer::{self, Command, Read, Write};
use crate::error::{Error, Result};

fn create(id: &str) -> Write {
    Write::Create {
        id: id.to_owned(),
        session_id: None,
        created_at: "2026-11-23T08:00:00Z".to_owned(),
        status: None,
        record: format!(r#"{{"id":"{id}"}}"#),
        result: None,
        owner: "1-1".to_owned(),
    }
}

fn append(task_id: &str, seq: i64) -> Write {
    Write::Append {
        task_id: task_id.to_owned(),
        seq,
        json: format!(r#"{{"seq":{seq}}}"#),
    }
}

#[tokio::test]
async fn one_bad_write_in_a_batch_fails_alone() {
    let conn = schema::open_in_memory("test store").unwrap();
    let (commands, receiver) = mpsc::channel(64);
    let mut replies = Vec::new();
    let mut queue = |write: Write| {
        let (reply, answer) = oneshot::channel();
        commands.try_send(Command::Write(write, reply)).unwrap();
        replies.push(answer);
    };
    queue(create("t-1"));
    queue(append("t-1", 1));
    queue(create("t-1")); // duplicate id
    queue(append("ghost", 1)); // unknown task
    queue(append("t-1", 1)); // duplicate seq
    queue(append("t-1", 2));
    let (events_reply, events) = oneshot::channel();
    let read = Read::Events {
        task_id: "t-1".to_owned(),
        from_seq: 0,
        reply: events_reply,
    };
    commands.try_send(Command::Read(read)).unwrap();
    let mut late = Vec::new();
    let (reply, answer) = oneshot::channel();
    commands
        .try_send(Command::Write(append("t-1", 3), reply))
        .unwrap();
    late.push(answer);
    let (close_reply, closed) = oneshot::channel();
    commands.try_send(Command::Close(close_reply)).unwrap();

    let thread = std::thread::spawn(move || writer::run(conn, "test store", receiver));

    let mut outcomes: Vec<Result<usize>> = Vec::new();
    for answer in replies {
        outcomes.push(answer.await.unwrap());
    }
    assert!(matches!(outcomes[0], Ok(1)));
    assert!(matches!(outcomes[1], Ok(1)));
    assert!(matches!(&outcomes[2], Err(Error::Store(m)) if m.contains("already exists")));
    assert!(matches!(&outcomes[3], Err(Error::UnknownTask(id)) if id == "ghost"));
    assert!(matches!(&outcomes[4], Err(Error::Store(m)) if m.contains("seq 1")));
    assert!(matches!(outcomes[5], Ok(1)));
    // The read came after the first six writes and before the seventh.
    let seen = events.await.unwrap().unwrap();
    assert_eq!(seen, [r#"{"seq":1}"#, r#"{"seq":2}"#]);
    assert!(matches!(late.pop().unwrap().await.unwrap(), Ok(1)));
    closed.await.unwrap().unwrap();
    thread.join().unwrap();
}
