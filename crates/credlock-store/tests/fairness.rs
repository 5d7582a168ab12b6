//! Fairness: two processes that re-lock in a tight loop both make progress; a process killed
//! while holding the lock or waiting for it leaves it free; and a lock let go is free at once,
//! even while a child forked meanwhile holds a copy of its descriptor.
//!
//! The workers are this test binary run again (the ignored `*_worker` tests). In the fairness
//! test each one opens the store, says it is ready, waits for the parent's go (which carries a
//! stop time common to both), says it is armed, then does locked read-modify-write increments
//! with no pause between them until the stop time, and prints how many it made.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test code: helpers outside #[test] functions, and the workers report on stdout"
)]

use std::io::{BufRead, BufReader, Write};
#[cfg(target_os = "linux")]
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use credlock_store::{Error, FileStore, Store};
use rustix::fs::{FlockOperation, Mode, OFlags};

const DIR_ENV: &str = "CREDLOCK_STORE_FAIRNESS_DIR";
const RUN: Duration = Duration::from_secs(3);
const READY: &str = "fairness worker ready";
const ARMED: &str = "fairness worker armed";
const UPDATES: &str = "fairness worker updates ";
const HOLDING: &str = "lock worker holds the lock";

fn counter(store: &FileStore) -> u64 {
    let bytes = store.load().unwrap().unwrap();
    String::from_utf8(bytes).unwrap().parse().unwrap()
}

#[test]
#[ignore = "helper process run by two_processes_relocking_in_a_tight_loop_both_progress"]
fn tight_loop_worker() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let store = FileStore::builder(Path::new(&dir).join("counter"))
        .lock_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    println!("{READY}");
    std::io::stdout().flush().unwrap();
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    let stop = UNIX_EPOCH + Duration::from_nanos(go.trim().parse().unwrap());
    println!("{ARMED}");
    std::io::stdout().flush().unwrap();
    let mut mine = 0u64;
    while SystemTime::now() < stop {
        let _guard = store.lock().unwrap();
        let n = counter(&store);
        store.save((n + 1).to_string().as_bytes()).unwrap();
        mine += 1;
    }
    println!("{UPDATES}{mine}");
}

#[test]
#[ignore = "helper process run by a_killed_holder_or_waiter_leaves_the_lock_free and \
            a_lock_let_go_is_free_while_a_forked_child_holds_a_copy_of_its_descriptors"]
fn lock_worker() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let store = FileStore::builder(Path::new(&dir).join("counter"))
        .lock_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    let _guard = store.lock().unwrap();
    println!("{HOLDING}");
    std::io::stdout().flush().unwrap();
    // Hold the lock until killed (or until the parent is gone and stdin closes).
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// Runs the ignored test `worker` of this binary on the store in `dir`.
fn spawn(worker: &str, dir: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            worker,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// Reads the worker's output up to a line holding `prefix`, and returns the rest of that line.
/// (The test harness may have printed the test's name on the same line.)
fn line_after(out: &mut BufReader<ChildStdout>, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the worker ended without printing {prefix:?}");
        if let Some((_, rest)) = line.trim_end().split_once(prefix) {
            return rest.to_owned();
        }
    }
}

#[test]
fn two_processes_relocking_in_a_tight_loop_both_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path().join("counter")).unwrap();
    store.save(b"0").unwrap();
    let mut workers: Vec<_> = (0..2)
        .map(|_| spawn("tight_loop_worker", tmp.path()))
        .collect();
    // Neither may run alone for a while on a busy machine: both get one stop time, and both
    // find the lock held by this process until both are about to take it.
    for (_, out) in &mut workers {
        line_after(out, READY);
    }
    let gate = store.lock().unwrap();
    let stop = (SystemTime::now() + RUN)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for (child, _) in &mut workers {
        writeln!(child.stdin.as_mut().unwrap(), "{stop}").unwrap();
    }
    for (_, out) in &mut workers {
        line_after(out, ARMED);
    }
    drop(gate);
    let counts: Vec<u64> = workers
        .into_iter()
        .map(|(mut child, mut out)| {
            let n = line_after(&mut out, UPDATES).parse().unwrap();
            assert!(child.wait().unwrap().success(), "a worker failed");
            n
        })
        .collect();
    let (a, b) = (counts[0], counts[1]);
    let total = counter(&store);
    eprintln!("fairness test: in {RUN:?}, one process made {a} updates, the other {b}");
    assert_eq!(total, a + b, "an update was lost");
    assert!(a > 0 && b > 0, "a process starved: {a} against {b}");
    assert!(
        a.min(b) * 4 >= a.max(b),
        "a process got less than a quarter of the other's turns: {a} against {b}"
    );
}

/// Whether nobody holds an `flock` on `path` (probed through a descriptor of its own).
fn is_free(path: &Path) -> bool {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
    let free = rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok();
    if free {
        // Unlocked here, not by the close: a child that another test forks meanwhile holds a
        // copy of `fd` until its exec, and with it the lock.
        rustix::fs::flock(&fd, FlockOperation::Unlock).unwrap();
    }
    free
}

#[test]
fn a_killed_holder_or_waiter_leaves_the_lock_free() {
    let tmp = tempfile::tempdir().unwrap();
    let try_once = FileStore::builder(tmp.path().join("counter"))
        .lock_timeout(Duration::ZERO)
        .open()
        .unwrap();
    let turnstile: PathBuf = tmp.path().join(".counter.turnstile");

    // A holder killed while it holds the lock.
    let (mut holder, mut out) = spawn("lock_worker", tmp.path());
    line_after(&mut out, HOLDING);
    let err = try_once.lock().unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    try_once.lock().unwrap().release();

    // A waiter killed while it stands at the turnstile, first in line for the lock.
    let guard = try_once.lock().unwrap();
    let (mut waiter, _out) = spawn("lock_worker", tmp.path());
    let start = Instant::now();
    while is_free(&turnstile) {
        assert!(waiter.try_wait().unwrap().is_none(), "the waiter ended");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the waiter never queued"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    waiter.kill().unwrap();
    waiter.wait().unwrap();
    assert!(is_free(&turnstile));
    drop(guard);
    try_once.lock().unwrap().release();
}

/// A second descriptor for each descriptor this process has open on a file under `dir`, as
/// `fork` makes them: each refers to the same open file, and so to its `flock`. A child that
/// another thread of this process forks holds such copies from the fork until its exec closes
/// them (they are close-on-exec); the tests of this binary fork all the time.
#[cfg(target_os = "linux")]
fn forked_copies(dir: &Path) -> Vec<rustix::fd::OwnedFd> {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags};

    let dir = dir.canonicalize().unwrap(); // as /proc names the files
    let me = rustix::process::pidfd_open(rustix::process::getpid(), PidfdFlags::empty()).unwrap();
    let mut copies = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        // A descriptor closed since the listing has no link any more.
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !target.starts_with(&dir) {
            continue;
        }
        let fd = entry.file_name().to_str().unwrap().parse().unwrap();
        let Ok(copy) = rustix::process::pidfd_getfd(&me, fd, PidfdGetfdFlags::empty()) else {
            continue; // closed meanwhile
        };
        // Kept only if the number still named that file (another thread may have reused it).
        let same = std::fs::metadata(&target).is_ok_and(|meta| {
            let st = rustix::fs::fstat(&copy).unwrap();
            st.st_dev == meta.dev() && st.st_ino == meta.ino()
        });
        if same {
            copies.push(copy);
        }
    }
    copies
}

#[cfg(target_os = "linux")]
#[test]
fn a_lock_let_go_is_free_while_a_forked_child_holds_a_copy_of_its_descriptors() {
    let tmp = tempfile::tempdir().unwrap();
    let try_once = FileStore::builder(tmp.path().join("counter"))
        .lock_timeout(Duration::ZERO)
        .open()
        .unwrap();
    let turnstile = tmp.path().join(".counter.turnstile");

    // The guard let go while a child forked during its hold still has the lock file open.
    let guard = try_once.lock().unwrap();
    let copies = forked_copies(tmp.path());
    assert!(
        !copies.is_empty(),
        "the lock file's descriptor was not found"
    );
    drop(guard);
    try_once.lock().unwrap().release();
    drop(copies);

    // The turnstile, left by a waiter as it takes the lock, while a child forked during its
    // wait still has the turnstile (and the lock file) open.
    let (mut holder, mut out) = spawn("lock_worker", tmp.path());
    line_after(&mut out, HOLDING);
    let patient = FileStore::builder(tmp.path().join("counter"))
        .lock_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| patient.lock().unwrap());
        let start = Instant::now();
        while is_free(&turnstile) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the waiter never queued"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let copies = forked_copies(tmp.path());
        holder.kill().unwrap();
        holder.wait().unwrap();
        let guard = waiter.join().unwrap();
        assert!(is_free(&turnstile), "the turnstile is still held");
        drop(guard);
        try_once.lock().unwrap().release();
        drop(copies);
    });
}
