//! Unlock under attack: one passphrase gate, a lockout persisted beside the vault (shared by
//! every `Vault` value, thread and process, surviving restarts and `kill -9`), operator
//! control, and destructive operations that are gated.
//!
//! Derivations are counted through the key-derivation observer (a seam, not a timer); the
//! wall clock is injected where time matters.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{OTHER_PASS, PASS, creds, secret, temp_vault, testdata, valid};
use credlock::audit::{EventKind, JsonLinesSink, MemorySink};
use credlock::{DerivationStage, Error, FakeClock, SessionState, Vault, VaultBuilder};
use credlock_eclosion::{EclosionExt as _, Error as EclosionError, ImportOptions};

/// The Eclosion fixtures' passphrase (see testdata/eclosion/README.md).
const ECLOSION_PASS: &str = "Correct-Horse-9-Battery!";

/// A builder with the default lockout policy (5 failures, then 30 s doubling to 15 min) and
/// a counter of started derivations.
fn counted(path: &Path) -> (VaultBuilder, Arc<AtomicUsize>) {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&started);
    let builder = Vault::builder(path)
        .insecure_kdf_iterations(common::TEST_ITERATIONS)
        .on_key_derivation(move |e| {
            if e.stage == DerivationStage::Started {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
    (builder, started)
}

/// A stored, locked vault at `path` (written without the default lockout).
fn stored_vault(path: &Path) {
    common::stored(path);
}

fn lock_out(vault: &Vault) {
    for _ in 0..5 {
        assert!(matches!(
            vault.unlock(&secret("wrong-guess")),
            Err(Error::WrongPassphrase)
        ));
    }
    assert!(matches!(
        vault.unlock(&secret("wrong-guess")),
        Err(Error::LockedOut { .. })
    ));
}

fn private_copy(from: &Path, dir: &Path) -> PathBuf {
    let to = dir.join(from.file_name().unwrap());
    std::fs::copy(from, &to).unwrap();
    common::set_mode(&to, 0o600);
    to
}

#[test]
fn every_passphrase_operation_is_refused_without_a_derivation_once_locked_out() {
    // unlock
    let (dir, path) = temp_vault();
    stored_vault(&path);
    let (builder, started) = counted(&path);
    let vault = builder.open().unwrap();
    lock_out(&vault);
    let before = started.load(Ordering::SeqCst);
    assert_eq!(before, 5);
    assert!(matches!(
        vault.unlock(&secret(PASS)),
        Err(Error::LockedOut { .. })
    ));
    // change_passphrase
    assert!(matches!(
        vault.change_passphrase(&secret(PASS), valid(OTHER_PASS)),
        Err(Error::LockedOut { .. })
    ));
    // import (legacy file) into this vault
    let legacy = private_copy(&testdata("eclosion/credentials.json"), dir.path());
    let replace = ImportOptions::new().replace_existing(true);
    assert!(matches!(
        vault.import_eclosion(&legacy, &secret(ECLOSION_PASS), &replace),
        Err(EclosionError::Vault(Error::LockedOut { .. }))
    ));
    // import (SQLite) into this vault
    #[cfg(feature = "sqlite")]
    {
        let db = private_copy(&testdata("eclosion/eclosion-1.3.10.db"), dir.path());
        assert!(matches!(
            vault.import_eclosion_sqlite(&db, &secret(ECLOSION_PASS), &replace),
            Err(EclosionError::Vault(Error::LockedOut { .. }))
        ));
    }
    assert_eq!(started.load(Ordering::SeqCst), before, "no derivation ran");
    assert_eq!(vault.status(), SessionState::Locked);

    // export: from an unlocked vault, wrong passphrases lock it out too
    let (dir2, path2) = temp_vault();
    let (builder, started) = counted(&path2);
    let vault = builder.open().unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    let dest = dir2.path().join("out.json");
    for _ in 0..5 {
        assert!(matches!(
            vault.export_eclosion(&dest, &secret("wrong-guess")),
            Err(EclosionError::Vault(Error::WrongPassphrase))
        ));
    }
    let before = started.load(Ordering::SeqCst);
    assert!(matches!(
        vault.export_eclosion(&dest, &secret(PASS)),
        Err(EclosionError::Vault(Error::LockedOut { .. }))
    ));
    assert_eq!(started.load(Ordering::SeqCst), before, "no derivation ran");
    assert!(!dest.exists());
}

#[test]
fn the_lockout_survives_a_reopen_a_second_vault_and_a_restart() {
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    {
        let (builder, _) = counted(&path);
        lock_out(&builder.open().unwrap());
    } // dropped: a restart
    let (builder, started) = counted(&path);
    let reopened = builder.open().unwrap();
    let (builder, _) = counted(&path);
    let second = builder.open().unwrap();
    for vault in [&reopened, &second] {
        match vault.unlock(&secret(PASS)) {
            Err(e @ Error::LockedOut { .. }) => {
                assert_eq!(e.retry_after_secs(), Some(30));
            }
            other => panic!("expected LockedOut, got {other:?}"),
        }
    }
    assert_eq!(started.load(Ordering::SeqCst), 0);
    assert_eq!(second.lockout_state().unwrap().failures, 5);
    assert_eq!(reopened.security_status().failed_attempts, 5);
    assert_eq!(reopened.security_status().locked_out_for_secs, Some(30));
}

/// The child side of the multi-process tests: what it does is chosen by an env variable.
fn child_main() -> bool {
    let Ok(role) = std::env::var("CREDLOCK_LOCKOUT_CHILD") else {
        return false;
    };
    let path = PathBuf::from(std::env::var("CREDLOCK_LOCKOUT_PATH").unwrap());
    match role.as_str() {
        // Starts one wrong-guess derivation, says so, and waits to be killed.
        "hang" => {
            let vault = Vault::builder(&path)
                .insecure_kdf_iterations(common::TEST_ITERATIONS)
                .on_key_derivation(|e| {
                    if e.stage == DerivationStage::Started {
                        // On a line of its own: the test harness prints its own text around.
                        println!("\nCHILD-DERIVING");
                        // Wait to be killed; if the parent goes away instead, its end of
                        // stdin closes and the child leaves without finishing the attempt.
                        let mut line = String::new();
                        let _ = std::io::stdin().read_line(&mut line);
                        std::process::exit(3);
                    }
                })
                .open()
                .unwrap();
            let _ = vault.unlock(&secret("wrong-guess"));
        }
        // 4 threads race wrong guesses; prints how many derivations ran here.
        "race" => {
            let (builder, started) = counted(&path);
            let vault = Arc::new(builder.open().unwrap());
            race(&vault, 4, 8);
            println!("\nCHILD-DERIVATIONS {}", started.load(Ordering::SeqCst));
        }
        other => panic!("unknown child role {other}"),
    }
    true
}

/// `threads` threads each make `guesses` wrong guesses, starting together.
fn race(vault: &Arc<Vault>, threads: usize, guesses: usize) {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let vault = Arc::clone(vault);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for g in 0..guesses {
                    match vault.unlock(&secret(&format!("wrong-{t}-{g}"))) {
                        Err(Error::WrongPassphrase | Error::LockedOut { .. }) => {}
                        other => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn child(role: &str, path: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_entry_point",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("CREDLOCK_LOCKOUT_CHILD", role)
    .env("CREDLOCK_LOCKOUT_PATH", path)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    cmd
}

/// The entry point children run.
#[test]
#[ignore = "helper process run by the multi-process lockout tests"]
fn child_entry_point() {
    assert!(
        child_main(),
        "run only as a child, with CREDLOCK_LOCKOUT_CHILD set"
    );
}

#[test]
fn an_attempt_killed_mid_derivation_stays_counted() {
    use std::io::{BufRead as _, BufReader};
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    let mut hung = child("hang", &path).spawn().unwrap();
    let mut out = BufReader::new(hung.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(out.read_line(&mut line).unwrap(), 0, "the child died early");
        if line.trim() == "CHILD-DERIVING" {
            break;
        }
    }
    hung.kill().unwrap(); // SIGKILL, mid-derivation
    hung.wait().unwrap();
    let vault = common::open(&path);
    assert_eq!(vault.lockout_state().unwrap().failures, 1);
}

#[test]
fn sixteen_threads_and_four_processes_get_five_derivations_in_all() {
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    let children: Vec<_> = (0..3)
        .map(|_| child("race", &path).spawn().unwrap())
        .collect();
    let (builder, here) = counted(&path);
    let vault = Arc::new(builder.open().unwrap());
    race(&vault, 4, 8);
    let mut total = here.load(Ordering::SeqCst);
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let n: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("CHILD-DERIVATIONS "))
            .unwrap_or_else(|| panic!("no count in {text:?}"))
            .parse()
            .unwrap();
        total += n;
    }
    assert_eq!(
        total, 5,
        "the default policy's 5 wrong guesses, across 4 processes × 4 threads"
    );
    assert_eq!(vault.lockout_state().unwrap().failures, 5);
}

#[test]
fn a_clock_that_jumps_backwards_never_lengthens_a_lockout() {
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    let now_ms = Arc::new(AtomicU64::new(1_800_000_000_000));
    let clock = Arc::clone(&now_ms);
    let vault = Vault::builder(&path)
        .insecure_kdf_iterations(common::TEST_ITERATIONS)
        .insecure_wall_clock(move || {
            UNIX_EPOCH + Duration::from_millis(clock.load(Ordering::SeqCst))
        })
        .open()
        .unwrap();
    lock_out(&vault);
    let wait = |v: &Vault| v.lockout_state().unwrap().retry_after_secs;
    assert_eq!(wait(&vault), Some(30));
    // Backwards by a day, by a year, to the epoch: never more than the configured 30 s.
    for back in [86_400_000, 31_536_000_000, 1_800_000_000_000] {
        now_ms.store(1_800_000_000_000 - back, Ordering::SeqCst);
        assert_eq!(wait(&vault), Some(30), "after a jump back of {back} ms");
    }
    // Forwards: time passes, the lockout ends (a forward jump ends it early).
    now_ms.store(1_800_000_010_000, Ordering::SeqCst);
    assert_eq!(wait(&vault), Some(20));
    now_ms.store(1_800_000_030_000, Ordering::SeqCst);
    assert_eq!(wait(&vault), None);
    vault.unlock(&secret(PASS)).unwrap();
    assert_eq!(vault.lockout_state().unwrap().failures, 0, "success resets");
}

#[test]
fn clear_lockout_needs_no_passphrase_and_is_audited() {
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    let trail = MemorySink::new();
    let (builder, _) = counted(&path);
    let vault = builder.audit_to(trail.clone()).open().unwrap();
    lock_out(&vault);
    let state = vault.lockout_state().unwrap();
    assert_eq!(state.failures, 5);
    assert!(
        state.locked_until_unix_secs.unwrap()
            > SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
    );
    vault.clear_lockout().unwrap();
    assert_eq!(vault.lockout_state().unwrap().failures, 0);
    vault.unlock(&secret(PASS)).unwrap();
    let kinds: Vec<_> = trail.events().iter().map(|e| e.kind).collect();
    let cleared = trail
        .events()
        .into_iter()
        .find(|e| e.kind == EventKind::LockoutCleared)
        .unwrap();
    assert_eq!(cleared.failures, Some(5));
    for kind in [
        EventKind::PassphraseRejected,
        EventKind::LockoutStarted,
        EventKind::AttemptRefused,
        EventKind::LockoutInspected,
        EventKind::LockoutCleared,
        EventKind::UnlockSucceeded,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
}

#[test]
fn logout_needs_an_unlocked_vault_and_reset_is_explicit_and_audited() {
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    let trail = MemorySink::new();
    let (builder, _) = counted(&path);
    let vault = builder.audit_to(trail.clone()).open().unwrap();
    lock_out(&vault);
    assert!(matches!(vault.logout(), Err(Error::Locked)));
    assert!(path.exists(), "a locked vault's logout deletes nothing");
    vault.reset().unwrap();
    assert!(!path.exists());
    assert_eq!(vault.status(), SessionState::NoCredentials);
    assert_eq!(
        trail.events().last().map(|e| e.kind),
        Some(EventKind::Reset)
    );
    // A new vault starts with no failures.
    vault.store(creds(), valid(PASS)).unwrap();
    assert_eq!(vault.lockout_state().unwrap().failures, 0);
    vault.logout().unwrap();
    assert_eq!(
        trail.events().last().map(|e| e.kind),
        Some(EventKind::LoggedOut)
    );
}

#[test]
fn the_hundredth_consecutive_failure_locks_out_until_an_operator_clears_it() {
    let (_dir, path) = temp_vault();
    stored_vault(&path);
    let now_ms = Arc::new(AtomicU64::new(1_800_000_000_000));
    let clock = Arc::clone(&now_ms);
    let (builder, started) = counted(&path);
    let vault = builder
        .insecure_wall_clock(move || {
            UNIX_EPOCH + Duration::from_millis(clock.load(Ordering::SeqCst))
        })
        .open()
        .unwrap();
    let day = 86_400_000;
    for n in 1..=credlock::MAX_CONSECUTIVE_FAILURES {
        now_ms.fetch_add(day, Ordering::SeqCst); // every timed lockout has run out
        assert!(
            matches!(vault.unlock(&secret("wrong")), Err(Error::WrongPassphrase)),
            "attempt {n}"
        );
    }
    now_ms.fetch_add(365 * day, Ordering::SeqCst);
    let before = started.load(Ordering::SeqCst);
    let refused = vault.unlock(&secret(PASS)).unwrap_err();
    assert!(
        matches!(refused, Error::LockedOutUntilCleared { failures: 100 }),
        "{refused:?}"
    );
    assert_eq!(refused.retry_after_secs(), None);
    assert_eq!(started.load(Ordering::SeqCst), before, "no derivation");
    let state = vault.lockout_state().unwrap();
    assert!(state.until_cleared && state.retry_after_secs.is_none());
    assert!(vault.security_status().locked_out_until_cleared);
    vault.clear_lockout().unwrap();
    vault.unlock(&secret(PASS)).unwrap();
}

#[test]
fn a_flood_of_refused_attempts_is_audited_once_a_second_with_a_count() {
    let (dir, path) = temp_vault();
    stored_vault(&path);
    let trail = MemorySink::new();
    let log = dir.path().join("audit.jsonl");
    let clock = FakeClock::new();
    let (builder, started) = counted(&path);
    let vault = builder
        .insecure_clock(clock.clone())
        .audit_to(trail.clone())
        .audit_to(
            JsonLinesSink::builder(&log)
                .max_bytes(1 << 30)
                .open()
                .unwrap(),
        )
        .open()
        .unwrap();
    lock_out(&vault);
    let derived = started.load(Ordering::SeqCst);
    // 10,000 attempts 1 ms apart, all within the first 30 s lockout (as from many
    // addresses, none of them limited on its own).
    const FLOOD: u32 = 10_000;
    for _ in 0..FLOOD {
        clock.advance(Duration::from_millis(1));
        assert!(matches!(
            vault.unlock(&secret(PASS)),
            Err(Error::LockedOut { .. })
        ));
    }
    clock.advance(Duration::from_millis(500));
    let _ = vault.unlock(&secret(PASS));
    // The lockout held: every attempt refused, no derivation, the count unchanged.
    assert_eq!(started.load(Ordering::SeqCst), derived);
    assert_eq!(vault.lockout_state().unwrap().failures, 5);
    drop(vault);

    let refused: Vec<_> = trail
        .events()
        .into_iter()
        .filter(|e| e.kind == EventKind::AttemptRefused)
        .collect();
    // The refusal in `lock_out` at once, then one a second over 10.5 s, then the last
    // half second's as the vault went.
    assert_eq!(refused.len(), 12, "{refused:?}");
    assert_eq!(refused[0].count, Some(1), "the first is not hidden");
    let total: u32 = refused.iter().map(|e| e.count.unwrap()).sum();
    assert_eq!(total, 1 + FLOOD + 1, "every refused attempt is counted");
    for e in &refused {
        assert_eq!((e.operation, e.failures), (Some("unlock"), Some(5)));
        assert!(e.retry_after_secs.is_some_and(|s| (1..=30).contains(&s)));
    }
    // The first wrong passphrases are each audited as before.
    let rejected = trail
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::PassphraseRejected)
        .count();
    assert_eq!(rejected, 5);
    // The log grows by events, not by attempts: a few KiB for the whole flood (each
    // attempt an event of about 155 bytes, 1.5 MB, before).
    let bytes = std::fs::metadata(&log).unwrap().len();
    assert!(bytes < 5_000, "{bytes} bytes of audit log");
    println!(
        "{FLOOD} refused attempts: {} events, {bytes} bytes of JSON Lines",
        trail.events().len()
    );
}
