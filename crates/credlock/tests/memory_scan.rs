//! No copy of the key or the passphrase is left in memory after `lock()`: a child process
//! unlocks a vault, locks it, then scans its own writable memory (`/proc/self/maps` +
//! `/proc/self/mem`) for either 16-byte half of the derived key and for the passphrase.
//!
//! The parent derives the key itself and passes the patterns XOR-masked, so the child never
//! holds them in clear: it unmasks one byte at a time while comparing. Linux only.

#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly; the child reports to its parent on stdout"
)]

mod common;
#[path = "common/v3.rs"]
mod v3;

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::FileExt as _;
use std::process::Command;

use common::*;
use credlock::secrecy::SecretString;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn random(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    credlock_crypto::fill_random(&mut out).unwrap();
    out
}

/// A pattern kept masked: `masked[i] ^ mask[i]` is the byte looked for.
struct Pattern {
    name: &'static str,
    masked: Vec<u8>,
    mask: Vec<u8>,
}

impl Pattern {
    fn from_env(name: &'static str, var: &str) -> Self {
        let (masked, mask) = std::env::var(var).unwrap().split_once(':').map_or_else(
            || panic!("{var} is masked:mask"),
            |(a, b)| (unhex(a), unhex(b)),
        );
        Self { name, masked, mask }
    }

    fn matches_at(&self, window: &[u8]) -> bool {
        window.len() >= self.masked.len()
            && self
                .masked
                .iter()
                .zip(&self.mask)
                .zip(window)
                .all(|((m, k), w)| w ^ k == *m)
    }
}

/// Every place in this process's writable memory where a pattern occurs.
fn scan(patterns: &[Pattern]) -> (usize, Vec<String>) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mem = File::open("/proc/self/mem").unwrap();
    let longest = patterns.iter().map(|p| p.masked.len()).max().unwrap();
    const CHUNK: usize = 1 << 16;
    let mut buf = vec![0u8; CHUNK + longest];
    let (mut scanned, mut hits) = (0usize, Vec::new());
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
        let region = fields.nth(3).unwrap_or("[anonymous]");
        if !perms.starts_with("rw") || region == "[vvar]" || region == "[vvar_vclock]" {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let (start, end) = (
            u64::from_str_radix(start, 16).unwrap(),
            u64::from_str_radix(end, 16).unwrap(),
        );
        let mut at = start;
        while at < end {
            let len = usize::try_from((end - at).min((CHUNK + longest) as u64)).unwrap();
            let Ok(n) = mem.read_at(&mut buf[..len], at) else {
                break;
            };
            if n == 0 {
                break;
            }
            scanned += n;
            for i in 0..n.min(CHUNK) {
                for p in patterns {
                    if p.matches_at(&buf[i..n]) {
                        hits.push(format!("{} at {:#x} in {region}", p.name, at + i as u64));
                    }
                }
            }
            at += CHUNK as u64;
        }
    }
    (scanned, hits)
}

/// The child: unlock, scan (the key must be found: the scanner works), lock, scan.
fn child_main() -> bool {
    let Ok(path) = std::env::var("CREDLOCK_SCAN_VAULT") else {
        return false;
    };
    let patterns = [
        Pattern::from_env("signing key half", "CREDLOCK_SCAN_SIG"),
        Pattern::from_env("encryption key half", "CREDLOCK_SCAN_ENC"),
        Pattern::from_env("passphrase", "CREDLOCK_SCAN_PASS"),
        Pattern::from_env("data key signing half", "CREDLOCK_SCAN_DATA_SIG"),
        Pattern::from_env("data key encryption half", "CREDLOCK_SCAN_DATA_ENC"),
    ];
    let vault = builder(std::path::Path::new(&path)).open().unwrap();
    {
        let p = &patterns[2];
        let mut text = String::with_capacity(p.masked.len());
        for (m, k) in p.masked.iter().zip(&p.mask) {
            text.push(char::from(m ^ k));
        }
        let passphrase = SecretString::from(text);
        vault.unlock(&passphrase).unwrap();
        drop(vault.credentials().unwrap());
        drop(vault.totp().unwrap());
    }
    let (_, unlocked) = scan(&patterns);
    println!();
    println!("UNLOCKED-HITS {}", unlocked.len());
    for h in &unlocked {
        println!("UNLOCKED {h}");
    }
    vault.lock();
    let (scanned, locked) = scan(&patterns);
    println!("SCANNED {scanned}");
    println!("LOCKED-HITS {}", locked.len());
    for h in &locked {
        println!("LOCKED {h}");
    }
    true
}

#[test]
#[ignore = "helper process run by no_key_or_passphrase_copy_survives_lock"]
fn scan_child_entry_point() {
    assert!(
        child_main(),
        "run only as a child, with CREDLOCK_SCAN_VAULT set"
    );
}

fn masked(secret: &[u8]) -> String {
    let mask = random(secret.len());
    let masked: Vec<u8> = secret.iter().zip(&mask).map(|(s, k)| s ^ k).collect();
    format!("{}:{}", hex(&masked), hex(&mask))
}

#[test]
fn no_key_or_passphrase_copy_survives_lock() {
    let (_dir, path) = temp_vault();
    // A random passphrase, so that no copy of it sits in this binary.
    let mut pass: String = random(24)
        .iter()
        .map(|b| {
            char::from(
                b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"[usize::from(*b) % 56],
            )
        })
        .collect();
    // Every character class the policy asks for, whatever the random part drew.
    pass.push_str("-!Qz7");
    let v = builder(&path).open().unwrap();
    v.store(
        creds(),
        credlock::ValidPassphrase::insecure_unchecked(secret(&pass)),
    )
    .unwrap();
    drop(v);

    // The passphrase's KDF output and the data key the passphrase slot wraps (version 3),
    // both learnt from the file by the format's documentation alone.
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let keys = v3::keys(&file, &pass);
    let (bytes, data) = (keys[0], keys[1]);

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "scan_child_entry_point",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CREDLOCK_SCAN_VAULT", &path)
        .env("CREDLOCK_SCAN_SIG", masked(&bytes[..16]))
        .env("CREDLOCK_SCAN_ENC", masked(&bytes[16..]))
        .env("CREDLOCK_SCAN_PASS", masked(pass.as_bytes()))
        .env("CREDLOCK_SCAN_DATA_SIG", masked(&data[..16]))
        .env("CREDLOCK_SCAN_DATA_ENC", masked(&data[16..]))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = |name: &str| -> usize {
        BufReader::new(stdout.as_bytes())
            .lines()
            .map(Result::unwrap)
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("no {name} in:\n{stdout}"))
    };
    assert!(
        value("SCANNED") > 1 << 20,
        "the scan read the process's memory"
    );
    assert!(
        value("UNLOCKED-HITS") >= 1,
        "while unlocked the key is in memory, and the scan must find it:\n{stdout}"
    );
    assert_eq!(
        value("LOCKED-HITS"),
        0,
        "copies left after lock():\n{stdout}"
    );
}
