//! The file provider against real files: formats, and every kind of file it must refuse.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: helpers outside #[test] functions"
)]

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use credlock_keyprovider::conformance::{
    KNOWN_ANSWER, KNOWN_INPUT, KNOWN_KEY, conformance, conformance_with_known_key,
};
use credlock_keyprovider::{
    FileKeyProvider, KeyProvider, ProviderError, ProviderErrorKind, reference_apply,
};

fn write(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    f.write_all(bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn refused(e: &ProviderError) -> &str {
    match e {
        ProviderError::Permissions { reason, .. } => reason,
        other => panic!("expected Permissions, got {other:?}"),
    }
}

#[test]
fn raw_and_hex_files_give_the_known_answer() {
    let dir = tempfile::tempdir().unwrap();
    let lower = format!("{}\n", hex(&KNOWN_KEY));
    let upper = hex(&KNOWN_KEY).to_uppercase();
    for (name, bytes) in [
        ("raw", KNOWN_KEY.to_vec()),
        ("hex-newline", lower.into_bytes()),
        ("hex-upper", upper.into_bytes()),
    ] {
        let p = FileKeyProvider::open(write(dir.path(), name, &bytes, 0o600)).unwrap();
        assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER, "{name}");
        conformance(&p);
        conformance_with_known_key(&p, &KNOWN_KEY);
    }
    // 0400 is fine too.
    let p = FileKeyProvider::open(write(dir.path(), "ro", &[9u8; 32], 0o400)).unwrap();
    assert_eq!(
        *p.apply(&[1; 32]).unwrap(),
        *reference_apply(&[9; 32], &[1; 32])
    );
}

#[test]
fn identity_and_debug_name_the_path_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "pepper", &KNOWN_KEY, 0o600);
    let p = FileKeyProvider::open(&path).unwrap();
    assert_eq!(p.identity().to_string(), format!("file:{}", path.display()));
    assert_eq!(p.path(), path);
    let debug = format!("{p:?}");
    assert!(debug.contains("[REDACTED]"), "{debug}");
    assert!(!debug.contains(&hex(&KNOWN_KEY)));
}

#[test]
fn malformed_contents_are_refused_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let secretish = "zz".repeat(32);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("short", vec![1u8; 31]),
        ("long", vec![1u8; 33]),
        ("hex-short", hex(&KNOWN_KEY[..31]).into_bytes()),
        ("not-hex", secretish.clone().into_bytes()),
        ("hex-crlf", format!("{}\r\n", hex(&KNOWN_KEY)).into_bytes()),
        (
            "hex-two-newlines",
            format!("{}\n\n", hex(&KNOWN_KEY)).into_bytes(),
        ),
        ("big", vec![b'a'; 4096]),
    ];
    for (name, bytes) in cases {
        let e = FileKeyProvider::open(write(dir.path(), name, &bytes, 0o600)).unwrap_err();
        assert!(
            matches!(e, ProviderError::Malformed { .. }),
            "{name}: {e:?}"
        );
        assert_eq!(e.kind(), ProviderErrorKind::Configuration);
        assert!(!e.to_string().contains(&secretish), "{name}: {e}");
        assert!(
            !e.to_string().contains(&hex(&KNOWN_KEY[..31])),
            "{name}: {e}"
        );
    }
}

#[test]
fn missing_file_is_key_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let e = FileKeyProvider::open(dir.path().join("absent")).unwrap_err();
    assert!(matches!(e, ProviderError::KeyNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("absent"), "{e}");
}

#[test]
fn symlink_is_refused_even_to_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = write(dir.path(), "real", &KNOWN_KEY, 0o600);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = FileKeyProvider::open(&link).unwrap_err();
    assert!(refused(&e).contains("symbolic link"), "{e}");
}

#[test]
fn fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let start = Instant::now();
    // No writer ever opens the FIFO: a blocking open would hang here.
    let e = FileKeyProvider::open(&fifo).unwrap_err();
    assert!(refused(&e).contains("FIFO"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn directory_and_device_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = FileKeyProvider::open(dir.path()).unwrap_err();
    assert!(refused(&e).contains("directory"), "{e}");
    let e = FileKeyProvider::open("/dev/null").unwrap_err();
    // /dev/null is a character device owned by root: refused as not a regular file.
    assert!(refused(&e).contains("not a regular file"), "{e}");
}

#[test]
fn group_or_other_bits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (i, mode) in [0o640, 0o604, 0o620, 0o602, 0o610, 0o644, 0o666]
        .into_iter()
        .enumerate()
    {
        let path = write(dir.path(), &format!("m{i}"), &KNOWN_KEY, mode);
        let e = FileKeyProvider::open(&path).unwrap_err();
        assert!(
            refused(&e).contains(&format!("{mode:04o}")),
            "{mode:o}: {e}"
        );
        assert_eq!(e.kind(), ProviderErrorKind::AccessDenied);
    }
}

#[test]
fn another_owner_is_refused() {
    let euid = rustix::process::geteuid().as_raw();
    if euid == 0 {
        // As root: a private file handed to another user.
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "theirs", &KNOWN_KEY, 0o600);
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let e = FileKeyProvider::open(&path).unwrap_err();
        assert!(refused(&e).contains("owned by uid 65534"), "{e}");
    } else {
        // As a user: a file root owns (and this user can read).
        let e = FileKeyProvider::open("/etc/passwd").unwrap_err();
        assert!(refused(&e).contains("owned by uid 0"), "{e}");
    }
}

#[test]
fn systemd_credentials_accept_the_acl_mask_and_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    // systemd: 0400 owned by root plus an ACL for the service user, which shows as 0440.
    write(dir.path(), "pepper", &KNOWN_KEY, 0o440);
    let p = FileKeyProvider::from_credentials_dir(dir.path(), "pepper").unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    assert_eq!(p.identity().kind, "file");
    // The strict open still refuses that mode.
    assert!(FileKeyProvider::open(dir.path().join("pepper")).is_err());

    for (name, mode) in [("other", 0o444), ("gw", 0o460), ("gx", 0o410)] {
        write(dir.path(), name, &KNOWN_KEY, mode);
        let e = FileKeyProvider::from_credentials_dir(dir.path(), name).unwrap_err();
        refused(&e);
    }
    for bad in ["", ".", "..", "../pepper", "a/b", "nul\0"] {
        let e = FileKeyProvider::from_credentials_dir(dir.path(), bad).unwrap_err();
        assert!(
            matches!(e, ProviderError::Malformed { .. }),
            "{bad:?}: {e:?}"
        );
    }
    let e = FileKeyProvider::from_credentials_dir(dir.path(), "absent").unwrap_err();
    assert!(matches!(e, ProviderError::KeyNotFound { .. }), "{e:?}");
}

/// Run in a child process by `systemd_credential_from_the_environment`, with
/// `CREDENTIALS_DIRECTORY` set (a test cannot set the variable in its own, threaded, process).
#[test]
#[ignore = "run in a child process by systemd_credential_from_the_environment"]
fn systemd_child() {
    let p = FileKeyProvider::from_systemd_credential("pepper").unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    let e = FileKeyProvider::from_systemd_credential("absent").unwrap_err();
    assert!(matches!(e, ProviderError::KeyNotFound { .. }), "{e:?}");
}

#[test]
fn systemd_credential_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pepper", &KNOWN_KEY, 0o400);
    let run = |env: Option<&Path>| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["systemd_child", "--exact", "--ignored", "--test-threads=1"]);
        match env {
            Some(d) => cmd.env("CREDENTIALS_DIRECTORY", d),
            None => cmd.env_remove("CREDENTIALS_DIRECTORY"),
        };
        cmd.output().unwrap()
    };
    let ok = run(Some(dir.path()));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("1 passed"), "{out}");
    // Without the variable, the same test fails: the provider reports it, it does not guess.
    let failed = run(None);
    assert!(!failed.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(all.contains("CREDENTIALS_DIRECTORY is not set"), "{all}");
}
