//! Crash consistency: a writer process is killed with SIGKILL at random moments, over and over.
//!
//! The writer is this test binary run again (the ignored `crash_writer` test), saving version
//! after version of a file. After each kill the file must be one complete version, no older
//! than before, and reopening the store must leave no temporary file.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::cast_possible_truncation,
    clippy::panic,
    reason = "test code: helpers outside #[test] functions, and test data generators"
)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use credlock_store::{FileStore, ReadOptions, Store, read_checked};

const DIR_ENV: &str = "CREDLOCK_STORE_CRASH_DIR";
/// How many times the writer is killed; `CREDLOCK_STORE_CRASH_KILLS` may lower it for a
/// mutation run (`scripts/mutants.sh`), where a torn save shows within a hundred kills.
const KILLS: u32 = 1000;
const KILLS_ENV: &str = "CREDLOCK_STORE_CRASH_KILLS";

fn kills() -> u32 {
    std::env::var(KILLS_ENV)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{KILLS_ENV}={v:?}: not a number"))
        })
        .unwrap_or(KILLS)
}

/// Version `n`: a header naming `n`, then a body whose length and bytes depend on `n`, so a
/// torn, truncated or mixed file is never mistaken for a whole one.
fn version(n: u64) -> Vec<u8> {
    let mut out = format!("credlock crash test version {n:020}\n").into_bytes();
    let len = 8_192 + (n.wrapping_mul(2_654_435_761) % 57_344) as usize;
    let mut x = n ^ 0x9E37_79B9_7F4A_7C15;
    out.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 24) as u8
    }));
    out
}

/// The version number of a whole version, `None` for anything else.
fn parse(bytes: &[u8]) -> Option<u64> {
    let header = bytes.get(..48)?;
    let n: u64 = std::str::from_utf8(header.get(28..48)?)
        .ok()?
        .parse()
        .ok()?;
    (version(n) == bytes).then_some(n)
}

fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".vault.tmp-")
        })
        .count()
}

#[test]
#[ignore = "helper process run by crash_consistency_under_sigkill"]
fn crash_writer() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let parent = std::os::unix::process::parent_id();
    let store = FileStore::open(Path::new(&dir).join("vault")).unwrap();
    let mut n = parse(&store.load().unwrap().unwrap()).unwrap();
    // Save until killed; stop if the test that started us is gone.
    while std::os::unix::process::parent_id() == parent {
        n += 1;
        store.save(&version(n)).unwrap();
    }
}

#[test]
fn crash_consistency_under_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    FileStore::open(&path).unwrap().save(&version(0)).unwrap();
    let exe = std::env::current_exe().unwrap();

    let mut rng = 0x2545_F491_4F6C_DD1D_u64;
    let mut last = 0;
    let (mut first_only, mut temps_left) = (0u32, 0u32);
    let start = Instant::now();
    let kills = kills();
    for kill in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "crash_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_ENV, tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the writer has saved once, so every kill lands inside its save loop.
        let waiting = Instant::now();
        while parse(&read_checked(&path, &ReadOptions::new()).unwrap()) == Some(last) {
            assert!(
                child.try_wait().unwrap().is_none(),
                "writer died (kill {kill})"
            );
            assert!(
                waiting.elapsed() < Duration::from_secs(30),
                "writer stuck (kill {kill})"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_micros(rng % 3_000));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "the writer is killed, it never exits on its own"
        );

        temps_left += u32::from(temp_files(tmp.path()) > 0);
        let bytes = read_checked(&path, &ReadOptions::new()).unwrap();
        let n = parse(&bytes)
            .unwrap_or_else(|| panic!("kill {kill}: torn file of {} bytes", bytes.len()));
        assert!(n > last, "kill {kill}: version went from {last} to {n}");
        first_only += u32::from(n == last + 1); // killed during its second save
        last = n;

        let reopened = FileStore::open(&path).unwrap();
        assert_eq!(
            temp_files(tmp.path()),
            0,
            "kill {kill}: temp file survived reopen"
        );
        assert_eq!(reopened.load().unwrap().unwrap(), bytes);
        assert_eq!(reopened.file_mode(), Some(0o600));
    }
    eprintln!(
        "crash test: {kills} SIGKILLs in {:.1?}; {temps_left} left a temp file (killed mid-save), \
         all removed on reopen; {first_only} killed during the second save; {last} versions written",
        start.elapsed()
    );
}
