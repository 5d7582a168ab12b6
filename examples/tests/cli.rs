//! The `cli` example driven as a binary: every exit code it documents, produced and checked,
//! with passphrases on standard input (`--passphrase-stdin`), and the hidden prompt on a
//! pseudo-terminal.
//!
//! The binary is the one `cargo test` builds beside this test (examples are built by
//! `cargo test` unless a single test target is selected; then run
//! `cargo build --example cli` first). It uses the real KDF cost (480,000 iterations, about
//! 50 ms per derivation with the workspace's optimised dev profile).

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PASS: &str = "Tangerine-Rocket-42!";
const NEW_PASS: &str = "Marmalade-Comet-17?";

/// The `cli` example binary: `target/<profile>/examples/cli`, beside this test's `deps/`.
fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let bin = profile_dir.join("examples").join("cli");
    assert!(
        bin.is_file(),
        "{} is missing: `cargo test` builds the examples unless a single test target is \
         selected; run `cargo build --example cli` first",
        bin.display()
    );
    bin
}

/// Runs `cli --vault VAULT --passphrase-stdin ARGS` with `stdin` and without a controlling
/// terminal (`setsid`), so a missing line can never fall back to a prompt that waits.
fn run(vault: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("setsid")
        .arg("-w")
        .arg(cli_binary())
        .arg("--vault")
        .arg(vault)
        .arg("--passphrase-stdin")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`setsid` (util-linux) runs the CLI without a controlling terminal");
    // A CLI that exits before reading its input (no vault, say) closes the pipe first.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ran(out: Output) -> Ran {
    Ran {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn cli(vault: &Path, args: &[&str], stdin: &str) -> Ran {
    let r = ran(run(vault, args, stdin));
    // Whatever happened, no passphrase is ever printed.
    for secret in [PASS, NEW_PASS] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "a passphrase was printed by {args:?}:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    r
}

fn expect(r: &Ran, code: i32, what: &str) {
    assert_eq!(
        r.code, code,
        "{what}: exit code {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
        r.code, r.stdout, r.stderr
    );
}

fn init_input(pass: &str) -> String {
    format!("alice@example.com\nmonarch-pw-123\nJBSWY3DPEHPK3PXP\n{pass}\n")
}

fn new_vault() -> (tempfile::TempDir, PathBuf) {
    let (dir, path, _) = new_vault_with_recovery_key();
    (dir, path)
}

/// A new vault, and the recovery key `init` printed.
fn new_vault_with_recovery_key() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let r = cli(&path, &["init"], &init_input(PASS));
    expect(&r, 0, "init");
    let key = recovery_key_in(&r.stdout);
    (dir, path, key)
}

/// The recovery key printed in `stdout`: on the one line that says "recovery key" and
/// "shown once", after its last `: `, as `XXXX-` times 7 and `XXXX`, and one that parses.
fn recovery_key_in(stdout: &str) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("recovery key") && l.contains("shown once"))
        .collect();
    assert_eq!(lines.len(), 1, "one recovery key line:\n{stdout}");
    let key = lines[0].rsplit(": ").next().unwrap();
    let groups: Vec<&str> = key.split('-').collect();
    assert_eq!(groups.len(), 8, "{key:?}");
    assert!(
        groups.iter().all(|g| g.len() == 4
            && g.bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))),
        "{key:?}"
    );
    credlock::RecoveryKey::parse(key).unwrap();
    key.to_owned()
}

/// The failed attempts the lockout holds, as `lockout --json` says.
fn failures(vault: &Path) -> u64 {
    let r = cli(vault, &["lockout", "--json"], "");
    expect(&r, 0, "lockout");
    let state: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    state["failures"].as_u64().unwrap()
}

/// `slots --json`, as (kind, label, id, last used) per slot; `created_at` is RFC 3339.
fn slots(vault: &Path) -> Vec<(String, String, String, Option<String>)> {
    let r = cli(vault, &["slots", "--json"], "");
    expect(&r, 0, "slots --json");
    let list: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    list.iter()
        .map(|s| {
            let created = s["created_at"].as_str().unwrap();
            assert!(
                created.len() == 20 && created.as_bytes()[10] == b'T' && created.ends_with('Z'),
                "{created}"
            );
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["label"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
                s["last_used_at"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// `recover`'s standard input: the recovery key, then the new passphrase.
fn recover_input(key: &str, pass: &str) -> String {
    format!("{key}\n{pass}\n")
}

#[test]
fn help_documents_every_exit_code_and_usage_errors_exit_2() {
    let out = ran(Command::new(cli_binary()).arg("--help").output().unwrap());
    expect(&out, 0, "--help");
    for line in [
        "0  success",
        "1  any other error",
        "2  usage error",
        "3  wrong passphrase",
        "4  locked out",
        "5  no vault",
        "6  the vault file is unreadable, unsafe",
        "7  the new passphrase is refused by the policy",
        "recovery key that is not one",
        "3  wrong passphrase or wrong recovery key",
        "`recover` reads the recovery key then the new passphrase",
    ] {
        assert!(out.stdout.contains(line), "--help lacks {line:?}");
    }
    for command in ["recover", "slots", "add-recovery-key", "remove-slot"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "--help lacks the command {command}:\n{}",
            out.stdout
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    expect(&cli(&vault, &[], ""), 2, "no command");
    expect(&cli(&vault, &["frobnicate"], ""), 2, "unknown command");
    expect(
        &cli(&vault, &["show", "--no-such-flag"], ""),
        2,
        "unknown flag",
    );
    let no_vault_arg = ran(Command::new(cli_binary()).arg("status").output().unwrap());
    expect(&no_vault_arg, 2, "--vault missing");
    // The passphrase is never taken from the command line: there is no flag for it.
    expect(
        &cli(&vault, &["unlock", "--passphrase", PASS], ""),
        2,
        "a passphrase flag",
    );
}

#[test]
fn init_lists_every_unmet_rule_at_once_and_then_creates_a_private_vault() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    let r = cli(&vault, &["init"], &init_input("short"));
    expect(&r, 7, "a weak passphrase");
    for code in [
        "too_short",
        "missing_uppercase",
        "missing_digit",
        "missing_special",
    ] {
        assert!(r.stderr.contains(code), "{code} not listed:\n{}", r.stderr);
    }
    assert!(
        !vault.exists(),
        "nothing is written for a refused passphrase"
    );
    // The email is a context word.
    let r = cli(&vault, &["init"], &init_input("Alice@example.com1"));
    expect(&r, 7, "the email as passphrase");
    assert!(r.stderr.contains("context_word"), "{}", r.stderr);

    let r = cli(&vault, &["init"], &init_input(PASS));
    expect(&r, 0, "init");
    let mode = std::fs::metadata(&vault).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second init does not overwrite it.
    expect(
        &cli(&vault, &["init"], &init_input(NEW_PASS)),
        1,
        "init again",
    );
    expect(&cli(&vault, &["unlock"], &format!("{PASS}\n")), 0, "unlock");
    // Standard input that ends before the passphrase is a usage error, not a hang.
    let other = dir.path().join("other.json");
    expect(
        &cli(&other, &["init"], "bob@example.com\npw\n"),
        2,
        "truncated stdin",
    );
    assert!(!other.exists());
    // An MFA secret that is not a TOTP secret is refused before anything is written.
    let third = dir.path().join("third.json");
    let r = cli(
        &third,
        &["init"],
        &format!("bob@example.com\npw\nnot base32!\n{PASS}\n"),
    );
    expect(&r, 1, "a bad MFA secret");
    assert!(!third.exists());
}

#[test]
fn show_masks_the_password_unless_revealed() {
    let (_dir, vault) = new_vault();
    let r = cli(&vault, &["show"], &format!("{PASS}\n"));
    expect(&r, 0, "show");
    assert!(r.stdout.contains("alice@example.com"));
    assert!(r.stdout.contains("********"));
    assert!(r.stdout.contains(" s left)"), "{}", r.stdout);
    assert!(!r.stdout.contains("monarch-pw-123"));
    let r = cli(
        &vault,
        &["show", "--reveal", "--json"],
        &format!("{PASS}\n"),
    );
    expect(&r, 0, "show --reveal --json");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["email"], "alice@example.com");
    assert_eq!(json["password"], "monarch-pw-123");
    assert_eq!(json["mfa_secret_stored"], true);
    let code = json["totp"]["code"].as_str().unwrap();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert!((1..=30).contains(&json["totp"]["seconds_left"].as_u64().unwrap()));
    let r = cli(&vault, &["show", "--json"], &format!("{PASS}\n"));
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["password"], "********");
    assert_eq!(json["password_length"], 14);
}

#[test]
fn wrong_passphrases_exit_3_then_the_lockout_exits_4_with_the_wait_until_cleared() {
    let (_dir, vault) = new_vault();
    for attempt in 1..=5 {
        let r = cli(&vault, &["unlock"], "Wrong-Guess-0000!\n");
        expect(&r, 3, &format!("wrong passphrase {attempt}"));
    }
    // The sixth attempt, even with the right passphrase, is refused: locked out.
    let r = cli(&vault, &["unlock"], &format!("{PASS}\n"));
    expect(&r, 4, "locked out");
    let wait: u64 = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .unwrap_or_else(|| panic!("no retry-after line:\n{}", r.stderr))
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    let r = cli(&vault, &["lockout", "--json"], "");
    expect(&r, 0, "lockout");
    let state: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(state["failures"], 5);
    assert!(state["retry_after_secs"].as_u64().unwrap() >= 1);
    let r = cli(&vault, &["status", "--json"], "");
    expect(&r, 0, "status");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["failed_attempts"], 5);
    assert_eq!(report["kdf"]["iterations"], 480_000);
    assert_eq!(report["file"]["mode"], "0600");

    expect(&cli(&vault, &["clear-lockout"], ""), 0, "clear-lockout");
    let r = cli(&vault, &["unlock"], &format!("{PASS}\n"));
    expect(&r, 0, "unlock after clearing");
    assert!(r.stdout.contains("state: unlocked"), "{}", r.stdout);
}

#[test]
fn no_vault_exits_5_and_an_unsafe_or_corrupt_file_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    for args in [
        &["unlock"][..],
        &["show"],
        &["status"],
        &["lockout"],
        &["clear-lockout"],
        &["logout"],
        &["recover"],
        &["slots"],
        &["add-recovery-key"],
        &["remove-slot", "slt_0123456789abcdef"],
    ] {
        expect(
            &cli(&missing, args, &format!("{PASS}\n")),
            5,
            &format!("{args:?}"),
        );
    }
    assert!(!missing.exists());

    let (_dir, vault) = new_vault();
    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = cli(&vault, &["unlock"], &format!("{PASS}\n"));
    expect(&r, 6, "a vault readable by others");
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    expect(&cli(&vault, &["status"], ""), 6, "status of an unsafe file");

    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o600)).unwrap();
    let original = std::fs::read(&vault).unwrap();
    std::fs::write(&vault, b"{\"not\": \"a vault\"}").unwrap();
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        6,
        "a corrupt file",
    );
    // Nothing was lost: the CLI never rewrote the file it could not read.
    assert_eq!(std::fs::read(&vault).unwrap(), b"{\"not\": \"a vault\"}");
    std::fs::write(&vault, original).unwrap();
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        0,
        "restored",
    );
}

#[test]
fn change_passphrase_checks_the_policy_first_and_the_old_passphrase() {
    let (_dir, vault) = new_vault();
    let r = cli(&vault, &["change-passphrase"], &format!("{PASS}\nweak\n"));
    expect(&r, 7, "a weak new passphrase");
    assert!(r.stderr.contains("too_short") && r.stderr.contains("missing_uppercase"));
    expect(
        &cli(
            &vault,
            &["change-passphrase"],
            &format!("Wrong-Guess-0000!\n{NEW_PASS}\n"),
        ),
        3,
        "a wrong current passphrase",
    );
    expect(
        &cli(
            &vault,
            &["change-passphrase"],
            &format!("{PASS}\n{NEW_PASS}\n"),
        ),
        0,
        "change",
    );
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        3,
        "old one",
    );
    expect(
        &cli(&vault, &["unlock"], &format!("{NEW_PASS}\n")),
        0,
        "new one",
    );
}

#[test]
fn export_to_eclosion_imports_back_and_logout_deletes_the_vault() {
    let (dir, vault) = new_vault();
    let legacy = dir.path().join("credentials.json");
    expect(
        &cli(
            &vault,
            &["export-eclosion", legacy.to_str().unwrap()],
            &format!("{PASS}\n"),
        ),
        0,
        "export",
    );
    // The destination is never overwritten.
    expect(
        &cli(
            &vault,
            &["export-eclosion", legacy.to_str().unwrap()],
            &format!("{PASS}\n"),
        ),
        1,
        "export onto an existing file",
    );
    let second = dir.path().join("second.json");
    expect(
        &cli(
            &second,
            &["import-eclosion", legacy.to_str().unwrap()],
            &format!("{PASS}\n"),
        ),
        0,
        "import",
    );
    let r = cli(&second, &["show", "--json"], &format!("{PASS}\n"));
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["email"], "alice@example.com");
    expect(
        &cli(
            &second,
            &["import-eclosion", legacy.to_str().unwrap()],
            &format!("{PASS}\n"),
        ),
        1,
        "import over an existing vault",
    );

    expect(
        &cli(&vault, &["logout"], "Wrong-Guess-0000!\n"),
        3,
        "logout with a wrong passphrase",
    );
    assert!(vault.exists(), "a wrong passphrase deletes nothing");
    expect(&cli(&vault, &["logout"], &format!("{PASS}\n")), 0, "logout");
    assert!(!vault.exists());
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        5,
        "after logout",
    );
}

#[test]
fn imports_the_database_eclosion_itself_wrote() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/eclosion/eclosion-1.3.10.db");
    assert!(
        fixture.is_file(),
        "test data missing: {}",
        fixture.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eclosion.db");
    std::fs::copy(&fixture, &db).unwrap();
    // Its write-ahead log, if it comes with one, goes beside it.
    let wal = fixture.with_extension("db-wal");
    if wal.is_file() {
        std::fs::copy(&wal, dir.path().join("eclosion.db-wal")).unwrap();
    }
    let vault = dir.path().join("vault.json");
    let eclosion_pass = "Correct-Horse-9-Battery!\n";
    expect(
        &cli(
            &vault,
            &["import-eclosion", "--", db.to_str().unwrap()],
            "Wrong-0000!\n",
        ),
        3,
        "a wrong Eclosion passphrase",
    );
    assert!(!vault.exists());
    let r = cli(
        &vault,
        &["import-eclosion", db.to_str().unwrap()],
        eclosion_pass,
    );
    expect(&r, 0, "import from eclosion.db");
    // Eclosion has no recovery key to bring: the import says how to make one.
    assert!(r.stdout.contains("no recovery key yet"), "{}", r.stdout);
    let r = cli(&vault, &["show", "--json", "--reveal"], eclosion_pass);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["email"], "alice@example.com");
    assert_eq!(json["password"], "s3cret-Password"); // testdata/eclosion/README.md
    assert_eq!(json["mfa_secret_stored"], true);
    let kinds: Vec<String> = slots(&vault).into_iter().map(|s| s.0).collect();
    assert_eq!(kinds, ["passphrase"]);
    let r = cli(&vault, &["add-recovery-key"], eclosion_pass);
    expect(&r, 0, "add-recovery-key");
    let key = recovery_key_in(&r.stdout);
    expect(
        &cli(&vault, &["recover"], &recover_input(&key, NEW_PASS)),
        0,
        "recover an imported vault",
    );
}

#[test]
fn without_a_terminal_and_without_stdin_mode_it_refuses_instead_of_waiting() {
    let (_dir, vault) = new_vault();
    let out = Command::new("setsid")
        .arg("-w")
        .arg(cli_binary())
        .arg("--vault")
        .arg(&vault)
        .arg("unlock")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = ran(out);
    expect(&r, 2, "no terminal");
    assert!(r.stderr.contains("--passphrase-stdin"), "{}", r.stderr);
}

/// The interactive prompt on a real pseudo-terminal: the prompt appears, the typed
/// passphrase is not echoed back, and it unlocks.
#[test]
fn the_terminal_prompt_does_not_echo_the_passphrase() {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let (_dir, vault) = new_vault();
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let slave_path = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::File::options()
        .read(true)
        .write(true)
        .open(slave_path.to_str().unwrap())
        .unwrap();
    // `setsid -c`: a new session whose controlling terminal is the pseudo-terminal, so the
    // CLI's prompt opens it as /dev/tty.
    let mut child = Command::new("setsid")
        .args(["-w", "-c"])
        .arg(cli_binary())
        .arg("--vault")
        .arg(&vault)
        .arg("unlock")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(master);
    let mut reader = master.try_clone().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // EIO once the last slave descriptor closes: the end of the transcript.
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut transcript = Vec::new();
    let read_until = |transcript: &mut Vec<u8>, needle: &str| {
        while !String::from_utf8_lossy(transcript).contains(needle) {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(chunk) => transcript.extend(chunk),
                Err(_) => panic!(
                    "no {needle:?} on the terminal; got {:?}",
                    String::from_utf8_lossy(transcript)
                ),
            }
        }
    };
    read_until(&mut transcript, "Passphrase: ");
    // The prompt is written before echo is turned off: wait (bounded) until the terminal's
    // settings, read through the master side, say echo is off, then type.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rustix::termios::tcgetattr(&master)
        .unwrap()
        .local_modes
        .contains(rustix::termios::LocalModes::ECHO)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "echo never turned off"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    master.write_all(format!("{PASS}\n").as_bytes()).unwrap();
    read_until(&mut transcript, "state: unlocked");
    assert!(child.wait().unwrap().success());
    let text = String::from_utf8_lossy(&transcript);
    assert!(
        !text.contains(PASS),
        "the passphrase was echoed on the terminal: {text:?}"
    );
}

/// Runs the CLI with exactly `args` (no option added before them), `stdin`, and no terminal.
fn cli_raw(args: &[&std::ffi::OsStr], stdin: &str) -> Ran {
    let mut child = Command::new("setsid")
        .arg("-w")
        .arg(cli_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let r = ran(child.wait_with_output().unwrap());
    for secret in [PASS, NEW_PASS] {
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    }
    r
}

#[test]
fn global_options_are_accepted_after_the_subcommand() {
    use std::ffi::OsStr;
    let (_dir, vault) = new_vault();
    let v = vault.as_os_str();
    let pass = format!("{PASS}\n");
    let stdin = OsStr::new("--passphrase-stdin");
    let flag = OsStr::new("--vault");
    for args in [
        vec![OsStr::new("unlock"), stdin, flag, v],
        vec![flag, v, OsStr::new("unlock"), stdin],
        vec![stdin, OsStr::new("unlock"), flag, v],
        vec![OsStr::new("show"), OsStr::new("--json"), flag, v, stdin],
    ] {
        let r = cli_raw(&args, &pass);
        expect(&r, 0, &format!("{args:?}"));
    }
    // Still required, wherever it goes.
    let r = cli_raw(&[OsStr::new("unlock"), stdin], &pass);
    expect(&r, 2, "no --vault");
    assert!(r.stderr.contains("--vault"), "{}", r.stderr);
}

/// A copy of the database Eclosion 1.3.10 made (it holds credentials), alone in `dir`.
fn eclosion_database(dir: &Path) -> PathBuf {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/eclosion/eclosion-1.3.10.db");
    let db = dir.join("eclosion.db");
    std::fs::copy(&fixture, &db).unwrap_or_else(|e| panic!("test data {}: {e}", fixture.display()));
    db
}

fn is_sqlite(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"SQLite format 3\0"))
}

#[test]
fn export_eclosion_writes_sqlite_into_eclosions_database_and_never_json_under_a_db_name() {
    let (dir, vault) = new_vault();
    let pass = format!("{PASS}\n");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let db = eclosion_database(&state);
    let before = std::fs::read(&db).unwrap();
    let db_arg = db.to_str().unwrap();

    // Eclosion's database holds credentials: replacing them must be asked for.
    let r = cli(&vault, &["export-eclosion", db_arg], &pass);
    expect(&r, 1, "export over stored credentials");
    assert!(r.stderr.contains("--replace-credentials"), "{}", r.stderr);
    assert_eq!(std::fs::read(&db).unwrap(), before, "the refusal wrote");
    let r = cli(
        &vault,
        &["export-eclosion", "--replace-credentials", db_arg],
        &pass,
    );
    expect(&r, 0, "export --replace-credentials");
    assert!(r.stdout.contains("SQLite"), "{}", r.stdout);
    assert!(is_sqlite(&db), "not a database any more");
    // The credentials read back by the importer; the rest of Eclosion's database is there.
    let other = dir.path().join("other.json");
    expect(
        &cli(&other, &["import-eclosion", db_arg], &pass),
        0,
        "import",
    );
    let r = cli(&other, &["show", "--json", "--reveal"], &pass);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["email"], "alice@example.com");
    assert_eq!(json["password"], "monarch-pw-123");
    let tables: u32 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(tables >= 25, "Eclosion's tables are gone: {tables}");

    // A `.db` path that does not exist: no database is made (Eclosion cannot start on one
    // holding only its credentials), and the message says what to do instead.
    let new_db = state.join("new.db");
    let r = cli(
        &vault,
        &["export-eclosion", new_db.to_str().unwrap()],
        &pass,
    );
    expect(&r, 5, "export to a new database");
    assert!(r.stderr.contains("start Eclosion"), "{}", r.stderr);
    assert!(!new_db.exists());

    // JSON is never written under a `.db` name, nor SQLite under a `.json` one.
    let r = cli(
        &vault,
        &[
            "export-eclosion",
            "--format",
            "json",
            new_db.to_str().unwrap(),
        ],
        &pass,
    );
    expect(&r, 2, "--format json to a .db name");
    assert!(!new_db.exists());
    let json_path = state.join("credentials.json");
    let r = cli(
        &vault,
        &[
            "export-eclosion",
            "--format",
            "sqlite",
            json_path.to_str().unwrap(),
        ],
        &pass,
    );
    expect(&r, 2, "--format sqlite to a .json name");
    let r = cli(
        &vault,
        &[
            "export-eclosion",
            "--replace-credentials",
            json_path.to_str().unwrap(),
        ],
        &pass,
    );
    expect(&r, 2, "--replace-credentials for a JSON export");
    assert!(!json_path.exists());

    // An existing SQLite file is Eclosion's database whatever its name.
    let renamed = state.join("eclosion-backup");
    std::fs::copy(&db, &renamed).unwrap();
    let r = cli(
        &vault,
        &[
            "export-eclosion",
            "--replace-credentials",
            renamed.to_str().unwrap(),
        ],
        &pass,
    );
    expect(&r, 0, "export into an SQLite file without .db");
    assert!(is_sqlite(&renamed));
    // And the legacy JSON file still goes where JSON is asked for.
    let r = cli(
        &vault,
        &["export-eclosion", json_path.to_str().unwrap()],
        &pass,
    );
    expect(&r, 0, "export JSON");
    assert!(std::fs::read(&json_path).unwrap().starts_with(b"{"));
}

/// The CLI's SQLite export read back as Eclosion reads it: Python's `sqlite3` and pyca
/// `cryptography` (`crates/credlock/tests/python/open_eclosion_db.py`, Eclosion's
/// `CredentialsRepository.load()` and `get_notes_key()`).
#[test]
#[ignore = "needs CREDLOCK_PYTHON pointing at a Python with `cryptography`; .ci/run sets it"]
fn eclosion_reads_the_clis_sqlite_export_with_sqlite3_and_pyca() {
    let python = std::env::var("CREDLOCK_PYTHON").expect(
        "set CREDLOCK_PYTHON to a Python interpreter that has the `cryptography` package \
         (`.ci/run` creates one in .venv)",
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    let r = cli(
        &vault,
        &["init"],
        &format!("bob@example.com\npw with spaces & ünïcode ✓\nJBSWY3DP\n{PASS}\n"),
    );
    expect(&r, 0, "init");
    let db = eclosion_database(dir.path());
    let r = cli(
        &vault,
        &[
            "export-eclosion",
            "--replace-credentials",
            db.to_str().unwrap(),
        ],
        &format!("{PASS}\n"),
    );
    expect(&r, 0, "export");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/credlock/tests/python/open_eclosion_db.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("CREDLOCK_PYTHON={python}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASS.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "Python could not open the export");
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["email"], "bob@example.com");
    assert_eq!(got["password"], "pw with spaces & ünïcode ✓");
    assert_eq!(got["mfa_secret"], "JBSWY3DP");
    assert_eq!(got["mfa_is_null"], false);
    assert_eq!(got["wrong_passphrase_refused"], true);
}

/// A legacy `credentials.json` (the fixture, its key in testdata/eclosion/README.md) whose
/// MFA secret is `mfa`.
fn legacy_with_mfa(dir: &Path, mfa: &str) -> PathBuf {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/eclosion/credentials.json");
    let key =
        credlock::crypto::FernetKey::from_base64url("W3fiauczQXNUnlMdJI7kK7bnkP7ZQm-ekeIC5kQBTlg=")
            .unwrap();
    let mut content: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    content["mfa_secret"] = key.seal(mfa.as_bytes()).unwrap().into();
    let legacy = dir.join("credentials.json");
    std::fs::write(&legacy, serde_json::to_vec_pretty(&content).unwrap()).unwrap();
    std::fs::set_permissions(&legacy, std::fs::Permissions::from_mode(0o600)).unwrap();
    legacy
}

#[test]
fn import_keeps_an_mfa_secret_that_gives_no_codes_and_says_so() {
    let eclosion_pass = "Correct-Horse-9-Battery!\n";
    let dir = tempfile::tempdir().unwrap();
    let legacy = legacy_with_mfa(dir.path(), "NFDSECRET");
    let vault = dir.path().join("vault.json");
    let r = cli(
        &vault,
        &["import-eclosion", legacy.to_str().unwrap()],
        eclosion_pass,
    );
    expect(&r, 0, "import");
    assert!(
        r.stdout.contains("gives no TOTP codes")
            && r.stdout
                .contains("the secret's base32 length is impossible"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("NFDSECRET"), "{}", r.stdout);
    // `show` still shows the credentials, and why there is no code.
    let r = cli(&vault, &["show", "--json"], eclosion_pass);
    expect(&r, 0, "show --json");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["email"], "alice@example.com");
    assert_eq!(json["mfa_secret_stored"], true);
    assert_eq!(json["totp"], serde_json::Value::Null);
    assert_eq!(
        json["totp_problem"],
        "the secret's base32 length is impossible"
    );
    let r = cli(&vault, &["show"], eclosion_pass);
    expect(&r, 0, "show");
    assert!(r.stdout.contains("no code"), "{}", r.stdout);

    // A short secret gives codes, with a warning.
    let dir = tempfile::tempdir().unwrap();
    let legacy = legacy_with_mfa(dir.path(), "JBSWY3DP");
    let vault = dir.path().join("vault.json");
    let r = cli(
        &vault,
        &["import-eclosion", legacy.to_str().unwrap()],
        eclosion_pass,
    );
    expect(&r, 0, "import a short secret");
    assert!(r.stdout.contains("128 bits"), "{}", r.stdout);
    let r = cli(&vault, &["show", "--json"], eclosion_pass);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["totp"]["code"].as_str().unwrap().len(), 6);
}

#[test]
fn init_prints_a_recovery_key_once_and_recover_sets_a_new_passphrase_with_it() {
    let (_dir, vault, key) = new_vault_with_recovery_key();
    // Only `init` printed it: nothing else shows it again.
    for args in [&["slots"][..], &["status"], &["lockout"]] {
        let r = cli(&vault, args, "");
        expect(&r, 0, &format!("{args:?}"));
        assert!(!r.stdout.contains(&key), "{args:?} shows the recovery key");
    }

    // A weak new passphrase is refused before the key is tested, every rule listed, and
    // nothing is used up.
    let r = cli(&vault, &["recover"], &recover_input(&key, "weak"));
    expect(&r, 7, "a weak new passphrase");
    assert!(r.stderr.contains("too_short") && r.stderr.contains("missing_uppercase"));
    // The email is a context word: the vault checks it once the key opened the record.
    let r = cli(
        &vault,
        &["recover"],
        &recover_input(&key, "Alice@example.com1"),
    );
    expect(&r, 7, "the email as the new passphrase");
    assert!(r.stderr.contains("context_word"), "{}", r.stderr);
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        0,
        "unchanged",
    );

    let r = cli(&vault, &["recover"], &recover_input(&key, NEW_PASS));
    expect(&r, 0, "recover");
    let next = recovery_key_in(&r.stdout);
    assert_ne!(next, key, "a new recovery key replaces the one used");
    assert!(!r.stdout.contains(&key), "{}", r.stdout);

    // The new passphrase opens the vault, the old one no longer does, nothing is lost.
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        3,
        "old passphrase",
    );
    let r = cli(
        &vault,
        &["show", "--json", "--reveal"],
        &format!("{NEW_PASS}\n"),
    );
    expect(&r, 0, "show with the new passphrase");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["email"], "alice@example.com");
    assert_eq!(json["password"], "monarch-pw-123");
    assert_eq!(json["mfa_secret_stored"], true);

    // The key used is spent: a wrong recovery key, counted as a wrong passphrase.
    let r = cli(&vault, &["recover"], &recover_input(&key, PASS));
    expect(&r, 3, "the used recovery key");
    assert!(!r.stderr.contains(&key) && !r.stdout.contains(&key));
    assert_eq!(failures(&vault), 1);
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        3,
        "no change",
    );
    assert_eq!(failures(&vault), 2);

    // The replacement works, typed as a person might: lower case, spaces for dashes.
    let sloppy = next.to_lowercase().replace('-', " ");
    let r = cli(&vault, &["recover"], &recover_input(&sloppy, PASS));
    expect(&r, 0, "recover with the replacement, typed loosely");
    recovery_key_in(&r.stdout);
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        0,
        "PASS again",
    );
    assert_eq!(failures(&vault), 0);
}

#[test]
fn a_malformed_recovery_key_exits_2_and_counts_nothing_while_wrong_ones_lock_out() {
    let (_dir, vault, key) = new_vault_with_recovery_key();
    let too_short = &key[..key.len() - 5];
    let not_base32 = format!("U{}", &key[1..]);
    let too_long = format!("{key}-ABCD");
    for text in ["", "not a recovery key", too_short, &not_base32, &too_long] {
        let r = cli(&vault, &["recover"], &recover_input(text, NEW_PASS));
        expect(&r, 2, &format!("malformed {text:?}"));
        assert!(r.stderr.contains("not a recovery key"), "{}", r.stderr);
        assert!(
            r.stderr.contains("nothing was tried or counted"),
            "{}",
            r.stderr
        );
        assert!(
            !r.stderr.contains(too_short),
            "the text is echoed:\n{}",
            r.stderr
        );
    }
    // Well past the lockout's five, and nothing was counted.
    assert_eq!(failures(&vault), 0);
    expect(&cli(&vault, &["unlock"], &format!("{PASS}\n")), 0, "unlock");

    // Well-formed but wrong keys count as wrong passphrases, then the lockout answers 4,
    // even for the right key.
    let wrong = "0000-0000-0000-0000-0000-0000-0000-0000";
    for attempt in 1..=5 {
        let r = cli(&vault, &["recover"], &recover_input(wrong, NEW_PASS));
        expect(&r, 3, &format!("wrong recovery key {attempt}"));
    }
    assert_eq!(failures(&vault), 5);
    let r = cli(&vault, &["recover"], &recover_input(&key, NEW_PASS));
    expect(&r, 4, "locked out");
    assert!(r.stderr.contains("retry-after: "), "{}", r.stderr);
    // A malformed key during the lockout is still a usage error.
    expect(
        &cli(&vault, &["recover"], &recover_input("nope", NEW_PASS)),
        2,
        "malformed while locked out",
    );
    expect(&cli(&vault, &["clear-lockout"], ""), 0, "clear-lockout");
    expect(
        &cli(&vault, &["recover"], &recover_input(&key, NEW_PASS)),
        0,
        "the right key after clearing",
    );
}

#[test]
fn slots_lists_the_passphrase_and_the_recovery_key_without_a_passphrase() {
    let before = utc_date();
    let (_dir, vault, key) = new_vault_with_recovery_key();
    let after = utc_date();
    let list = slots(&vault);
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|(kind, label, ..)| (kind.as_str(), label.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("passphrase", "passphrase"),
            ("recovery_key", "recovery key")
        ]
    );
    for (_, _, id, _) in &list {
        assert!(credlock::SlotId::parse(id).is_some(), "{id}");
    }
    assert_eq!(list[1].3, None, "the recovery key was never used");
    let r = cli(&vault, &["slots", "--json"], "");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for slot in json.as_array().unwrap() {
        let created = slot["created_at"].as_str().unwrap();
        assert!(
            created.starts_with(&format!("{before}T")) || created.starts_with(&format!("{after}T")),
            "{created} is not of {before}"
        );
    }

    let r = cli(&vault, &["slots"], "");
    expect(&r, 0, "slots");
    assert!(!r.stdout.contains(&key));
    let rows: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    assert!(rows[0].starts_with("passphrase ") && rows[0].contains(&list[0].2));
    assert!(rows[1].starts_with("recovery_key ") && rows[1].contains(&list[1].2));
    assert!(rows[1].contains("never"), "{}", rows[1]);
    // Dates in UTC, of today.
    for row in &rows {
        assert!(
            row.contains(&format!("{before} ")) || row.contains(&format!("{after} ")),
            "{row:?} was not made on {before}"
        );
        assert!(row.contains(" UTC"), "{row}");
    }

    // An unlock is the passphrase slot's use.
    expect(&cli(&vault, &["unlock"], &format!("{PASS}\n")), 0, "unlock");
    let used = slots(&vault);
    assert!(used[0].3.is_some() && used[1].3.is_none(), "{used:?}");

    // After a recovery, the replacement keeps the label and the passphrase slot is new.
    expect(
        &cli(&vault, &["recover"], &recover_input(&key, NEW_PASS)),
        0,
        "recover",
    );
    let again = slots(&vault);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].1, "recovery key");
    assert!(again.iter().all(|s| s.2 != list[0].2 && s.2 != list[1].2));
}

/// Today's date in UTC, as `date -u` gives it.
fn utc_date() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn remove_slot_removes_a_recovery_key_and_refuses_the_passphrase_slot() {
    let (_dir, vault, key) = new_vault_with_recovery_key();
    let list = slots(&vault);
    let (passphrase_id, recovery_id) = (list[0].2.clone(), list[1].2.clone());

    // The passphrase slot stays: refused before a passphrase is read (nothing counted).
    let r = cli(
        &vault,
        &["remove-slot", &passphrase_id],
        "Wrong-Guess-0000!\n",
    );
    expect(&r, 1, "remove the passphrase slot");
    assert!(
        r.stderr.contains("the passphrase slot cannot be removed"),
        "{}",
        r.stderr
    );
    // Not an id, and an id the vault lacks.
    let r = cli(&vault, &["remove-slot", "recovery"], &format!("{PASS}\n"));
    expect(&r, 2, "not a slot id");
    assert!(r.stderr.contains("not a slot id"), "{}", r.stderr);
    let r = cli(
        &vault,
        &["remove-slot", "slt_0123456789abcdef"],
        &format!("{PASS}\n"),
    );
    expect(&r, 1, "an unknown slot");
    assert!(r.stderr.contains("no keyslot with this id"), "{}", r.stderr);
    assert_eq!(failures(&vault), 0);
    // A wrong passphrase removes nothing.
    expect(
        &cli(
            &vault,
            &["remove-slot", &recovery_id],
            "Wrong-Guess-0000!\n",
        ),
        3,
        "a wrong passphrase",
    );
    assert_eq!(slots(&vault).len(), 2);

    let r = cli(&vault, &["remove-slot", &recovery_id], &format!("{PASS}\n"));
    expect(&r, 0, "remove the recovery key");
    assert!(r.stdout.contains("data key rotated"), "{}", r.stdout);
    assert!(r.stdout.contains("no recovery key now"), "{}", r.stdout);
    let left = slots(&vault);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, "passphrase");
    // Its key now opens nothing: a wrong recovery key.
    expect(
        &cli(&vault, &["recover"], &recover_input(&key, NEW_PASS)),
        3,
        "the removed recovery key",
    );
    expect(
        &cli(&vault, &["unlock"], &format!("{PASS}\n")),
        0,
        "PASS still",
    );

    // A label outside the rule is refused before a passphrase is read.
    for label in ["", "a\tb", &"x".repeat(65)] {
        let r = cli(
            &vault,
            &["add-recovery-key", "--label", label],
            "Wrong-Guess-0000!\n",
        );
        expect(&r, 2, &format!("label {label:?}"));
        assert!(r.stderr.contains("--label"), "{}", r.stderr);
    }
    assert_eq!(failures(&vault), 0);
    assert_eq!(slots(&vault).len(), 1);

    // A new one, made with the passphrase, recovers.
    let r = cli(
        &vault,
        &["add-recovery-key", "--label", "safe deposit box"],
        &format!("{PASS}\n"),
    );
    expect(&r, 0, "add-recovery-key");
    let fresh = recovery_key_in(&r.stdout);
    assert_eq!(slots(&vault)[1].1, "safe deposit box");
    expect(
        &cli(&vault, &["recover"], &recover_input(&fresh, NEW_PASS)),
        0,
        "recover with the new key",
    );
    expect(
        &cli(&vault, &["unlock"], &format!("{NEW_PASS}\n")),
        0,
        "NEW_PASS",
    );
}
