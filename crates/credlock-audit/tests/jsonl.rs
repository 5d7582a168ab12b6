//! The JSON Lines sink on a real file system: modes, appends, rotation, refusals.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, UNIX_EPOCH};

use credlock_audit::{
    AuditContext, AuditError, AuditEvent, AuditSink, EventKind, JsonLinesSink, Outcome,
};
use serde_json::Value;

/// An event whose serialised line has the same length for every `n` in 100..1000.
fn event(n: u32) -> AuditEvent {
    AuditEvent::new(
        UNIX_EPOCH + Duration::from_millis(1_764_157_361_123),
        "main",
        EventKind::PassphraseRejected,
        Outcome::Failure,
    )
    .operation("unlock")
    .failures(n)
}

fn line_len() -> u64 {
    event(100).to_json_line().len() as u64 + 1
}

/// The `failures` of each line of `path`, checking that every line is whole JSON.
fn failures_in(path: &Path) -> Vec<u64> {
    let text = fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{path:?} ends mid-line"
    );
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{path:?}: not JSON ({e}): {line:?}"));
            v["failures"].as_u64().unwrap()
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    PathBuf::from(format!("{}.{n}", path.display()))
}

fn assert_unsafe(result: Result<JsonLinesSink, AuditError>, want: &str) {
    match result {
        Err(AuditError::Unsafe { reason, .. }) => {
            assert!(reason.contains(want), "reason {reason:?}, wanted {want:?}");
        }
        other => panic!("expected Unsafe ({want}), got {other:?}"),
    }
}

#[test]
fn file_is_0600_and_every_line_is_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fs::metadata(&path).unwrap().len(), 0);

    sink.record(&event(101)).unwrap();
    sink.record(
        &AuditEvent::now("main", EventKind::UnlockSucceeded, Outcome::Success)
            .failures(0)
            .context(Some(AuditContext::new().user_agent("ua\nforged"))),
    )
    .unwrap();
    sink.record(&event(102)).unwrap();

    assert_eq!(mode(&path), 0o600);
    assert_eq!(failures_in(&path), [101, 0, 102]);
    let text = fs::read_to_string(&path).unwrap();
    let second: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["kind"], "unlock_succeeded");
    assert_eq!(second["context"]["user_agent"], "uaforged");
    assert_eq!(
        text.lines().next().unwrap(),
        event(101).to_json_line(),
        "the line is exactly to_json_line()"
    );
}

#[test]
fn an_existing_log_is_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    JsonLinesSink::open(&path)
        .unwrap()
        .record(&event(100))
        .unwrap();
    JsonLinesSink::open(&path)
        .unwrap()
        .record(&event(101))
        .unwrap();
    assert_eq!(failures_in(&path), [100, 101]);
}

#[test]
fn two_sinks_on_one_path_append_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let a = JsonLinesSink::open(&path).unwrap();
    let b = JsonLinesSink::open(&path).unwrap();
    a.record(&event(100)).unwrap();
    b.record(&event(101)).unwrap();
    a.record(&event(102)).unwrap();
    b.record(&event(103)).unwrap();
    assert_eq!(failures_in(&path), [100, 101, 102, 103]);
}

#[test]
fn rotation_keeps_k_files_of_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Room for two lines per file.
    let max = 2 * line_len() + 1;
    let sink = JsonLinesSink::builder(&path)
        .max_bytes(max)
        .keep(3)
        .open()
        .unwrap();
    for n in 100..120 {
        sink.record(&event(n)).unwrap();
    }
    // 20 events, 2 per file: 10 files were started; the newest 4 are kept.
    for p in [
        &path,
        &rotated(&path, 1),
        &rotated(&path, 2),
        &rotated(&path, 3),
    ] {
        assert_eq!(mode(p), 0o600, "{p:?}");
        assert!(fs::metadata(p).unwrap().len() <= max, "{p:?}");
    }
    assert!(!rotated(&path, 4).exists());
    assert_eq!(failures_in(&path), [118, 119]);
    assert_eq!(failures_in(&rotated(&path, 1)), [116, 117]);
    assert_eq!(failures_in(&rotated(&path, 2)), [114, 115]);
    assert_eq!(failures_in(&rotated(&path, 3)), [112, 113]);
}

#[test]
fn rotation_before_the_limit_is_reached_keeps_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&path)
        .max_bytes(line_len())
        .keep(5)
        .open()
        .unwrap();
    for n in 100..103 {
        sink.record(&event(n)).unwrap();
    }
    assert_eq!(failures_in(&path), [102]);
    assert_eq!(failures_in(&rotated(&path, 1)), [101]);
    assert_eq!(failures_in(&rotated(&path, 2)), [100]);
    assert!(!rotated(&path, 3).exists());
}

#[test]
fn keep_zero_starts_a_new_file_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&path)
        .max_bytes(2 * line_len())
        .keep(0)
        .open()
        .unwrap();
    for n in 100..105 {
        sink.record(&event(n)).unwrap();
    }
    assert_eq!(failures_in(&path), [104]);
    assert_eq!(mode(&path), 0o600);
    assert!(!rotated(&path, 1).exists());
}

#[test]
fn a_file_filled_exactly_to_the_limit_is_not_rotated_early() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&path)
        .max_bytes(2 * line_len())
        .keep(1)
        .open()
        .unwrap();
    for n in 100..103 {
        sink.record(&event(n)).unwrap();
    }
    // Two lines fill the file to the byte; the third starts the next one.
    assert_eq!(failures_in(&rotated(&path, 1)), [100, 101]);
    assert_eq!(failures_in(&path), [102]);
    assert_eq!(
        fs::metadata(rotated(&path, 1)).unwrap().len(),
        2 * line_len()
    );
}

#[test]
fn a_line_longer_than_the_limit_is_written_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&path)
        .max_bytes(10)
        .keep(2)
        .open()
        .unwrap();
    for n in 100..103 {
        sink.record(&event(n)).unwrap();
    }
    assert_eq!(failures_in(&path), [102]);
    assert_eq!(failures_in(&rotated(&path, 1)), [101]);
    assert_eq!(failures_in(&rotated(&path, 2)), [100]);
}

#[test]
fn a_sink_follows_a_rotation_made_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let open = || {
        JsonLinesSink::builder(&path)
            .max_bytes(2 * line_len())
            .keep(5)
            .open()
            .unwrap()
    };
    let (a, b) = (open(), open());
    a.record(&event(100)).unwrap();
    a.record(&event(101)).unwrap();
    b.record(&event(102)).unwrap(); // rotates: path.1 = [100, 101]
    a.record(&event(103)).unwrap(); // must land in the new file, not in path.1
    assert_eq!(failures_in(&rotated(&path, 1)), [100, 101]);
    assert_eq!(failures_in(&path), [102, 103]);
}

#[test]
fn a_removed_log_is_created_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    sink.record(&event(100)).unwrap();
    fs::remove_file(&path).unwrap();
    sink.record(&event(101)).unwrap();
    assert_eq!(failures_in(&path), [101]);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn concurrent_writers_lose_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let max = 5 * line_len();
    let open = || {
        JsonLinesSink::builder(&path)
            .max_bytes(max)
            .keep(1000)
            .open()
            .unwrap()
    };
    let (a, b) = (open(), open());
    thread::scope(|s| {
        for (t, sink) in [(0, &a), (1, &a), (2, &b), (3, &b)] {
            s.spawn(move || {
                for i in 0..30 {
                    sink.record(&event(100 + t * 100 + i)).unwrap();
                }
            });
        }
    });
    let mut all = failures_in(&path);
    let mut n = 1;
    while rotated(&path, n).exists() {
        let p = rotated(&path, n);
        assert!(fs::metadata(&p).unwrap().len() <= max, "{p:?} too long");
        assert_eq!(mode(&p), 0o600);
        all.extend(failures_in(&p));
        n += 1;
    }
    all.sort_unstable();
    let want: Vec<u64> = (0..4)
        .flat_map(|t| (0..30).map(move |i| 100 + t * 100 + i))
        .collect();
    assert_eq!(all, want);
}

#[test]
fn refuses_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .unwrap();
    let path = dir.path().join("audit.jsonl");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert_unsafe(JsonLinesSink::open(&path), "symbolic link");
    assert_eq!(fs::metadata(&target).unwrap().len(), 0);

    // A dangling link is refused too, and its target is not created.
    let dangling = dir.path().join("dangling.jsonl");
    let nowhere = dir.path().join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    assert_unsafe(JsonLinesSink::open(&dangling), "symbolic link");
    assert!(!nowhere.exists());
}

#[test]
fn refuses_a_file_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    fs::write(&path, "earlier\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert_unsafe(JsonLinesSink::open(&path), "group or others");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).unwrap();
    assert_unsafe(JsonLinesSink::open(&path), "group or others");
    // Neither repaired nor written.
    assert_eq!(mode(&path), 0o620);
    assert_eq!(fs::read_to_string(&path).unwrap(), "earlier\n");
}

#[test]
fn refuses_a_fifo_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let status = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&path)
        .status()
        .expect("mkfifo(1) (coreutils) is needed for this test");
    assert!(status.success());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(JsonLinesSink::open(&path));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("opening a FIFO hung");
    assert_unsafe(result, "not a regular file");
}

#[test]
fn refuses_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    fs::create_dir(&path).unwrap();
    assert_unsafe(JsonLinesSink::open(&path), "not a regular file");
}

#[test]
fn refuses_a_file_with_another_hard_link() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("vault");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&other)
        .unwrap();
    let path = dir.path().join("audit.jsonl");
    fs::hard_link(&other, &path).unwrap();
    assert_unsafe(JsonLinesSink::open(&path), "hard link");
    assert_eq!(fs::metadata(&other).unwrap().len(), 0);
}

#[test]
fn refuses_a_file_of_another_user() {
    if effective_uid() != 0 {
        // Only root can give a file away; the owner check is covered where tests run as
        // root (CI).
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    assert_unsafe(JsonLinesSink::open(&path), "another user");
}

#[test]
fn a_log_replaced_by_a_symlink_is_refused_at_the_next_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    sink.record(&event(100)).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::rename(&path, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    match sink.record(&event(101)) {
        Err(AuditError::Unsafe { reason, .. }) => assert!(reason.contains("symbolic link")),
        other => panic!("expected Unsafe, got {other:?}"),
    }
    assert_eq!(failures_in(&elsewhere), [100]);
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing/audit.jsonl");
    match JsonLinesSink::open(&path) {
        Err(AuditError::Io { path: p, source }) => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&path)
        .max_bytes(4096)
        .keep(2)
        .open()
        .unwrap();
    assert_eq!(
        sink.describe(),
        format!("jsonl {} (rotate at 4096 bytes, keep 2)", path.display())
    );
    let default = JsonLinesSink::open(dir.path().join("b.jsonl")).unwrap();
    assert!(
        default
            .describe()
            .ends_with("(rotate at 10485760 bytes, keep 5)")
    );
}

fn effective_uid() -> u32 {
    // The owner of a file this process creates.
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    fs::write(&probe, "").unwrap();
    fs::metadata(&probe).unwrap().uid()
}
