//! The audit trail of a full scripted run: every kind of event is emitted, none carries a
//! secret, the JSON Lines file is 0600 and rotates, and a failing sink fails an operation
//! only when auditing is fail-closed.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
#[path = "common/v3.rs"]
mod v3;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use base64::Engine as _;
use common::{OTHER_PASS, PASS, creds, secret, temp_vault, testdata, valid};
use credlock::audit::{
    AuditContext, EventKind, FailingSink, JsonLinesSink, MemorySink, with_audit_context,
};
use credlock::secrecy::ExposeSecret as _;
use credlock::sessions::{Scope, SessionRequest};
use credlock::{Error, SessionState};
use credlock_eclosion::{EclosionExt as _, ImportOptions};

const ECLOSION_PASS: &str = "Correct-Horse-9-Battery!";

/// The vault's key, derived here from the file's parameters, in every encoding it could be
/// leaked in.
fn key_encodings(path: &std::path::Path, passphrase: &str) -> Vec<String> {
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut encodings = Vec::new();
    for bytes in v3::keys(&file, passphrase) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        encodings.push(base64::engine::general_purpose::URL_SAFE.encode(bytes));
        encodings.push(base64::engine::general_purpose::STANDARD.encode(bytes));
        encodings.push(hex);
    }
    encodings
}

#[test]
fn a_full_run_audits_every_event_and_no_secret() {
    let (dir, path) = temp_vault();
    let log = dir.path().join("audit.jsonl");
    let trail = MemorySink::new();
    let vault = common::builder(&path)
        .audit_id("user-42")
        .audit_to(trail.clone())
        .audit_to(
            JsonLinesSink::builder(&log)
                .max_bytes(4096)
                .keep(3)
                .open()
                .unwrap(),
        )
        .open()
        .unwrap();
    let ctx = AuditContext::new()
        .client("203.0.113.7")
        .user_agent("test-agent/1");

    with_audit_context(ctx, || {
        vault.store(creds(), valid(PASS)).unwrap();
        let keys = key_encodings(&path, PASS);
        vault.lock();
        for _ in 0..5 {
            assert!(vault.unlock(&secret("Wrong-Guess-123!")).is_err());
        }
        assert!(matches!(
            vault.unlock(&secret(PASS)),
            Err(Error::LockedOut { .. })
        ));
        vault.lockout_state().unwrap();
        vault.clear_lockout().unwrap();
        vault.unlock(&secret(PASS)).unwrap();
        let minted = vault
            .mint_session(SessionRequest::api_token("bot", Scope::Totp))
            .unwrap();
        let rotated = vault.rotate_session(&minted.info.id).unwrap();
        assert!(
            vault
                .validate_session(minted.token.expose_secret(), Scope::Totp)
                .is_err()
        );
        vault.revoke_session(&minted.info.id).unwrap();
        vault.revoke_all_sessions().unwrap();
        let tokens = [
            minted.token.expose_secret().to_owned(),
            rotated.token.expose_secret().to_owned(),
        ];
        vault
            .update_credentials(creds().with_mfa_secret(secret("JBSWY3DPEHPK3PXP")))
            .unwrap();
        vault
            .export_eclosion(dir.path().join("export.json"), &secret(PASS))
            .unwrap();
        vault
            .change_passphrase(&secret(PASS), valid(OTHER_PASS))
            .unwrap();
        // Keyslots: a recovery key, a second device, a recovery, a removed slot.
        let kit = vault.add_recovery_key("printed kit").unwrap();
        vault
            .sign_in(&secret(OTHER_PASS), SessionRequest::client("phone"))
            .unwrap();
        vault.lock();
        let next_kit = vault.recover(&kit.display(), valid(PASS)).unwrap();
        let spare = vault.add_recovery_key("spare").unwrap();
        let spare_id = vault.list_slots().unwrap().last().unwrap().id.clone();
        vault.remove_slot(&spare_id).unwrap();
        let keys_after_recovery = key_encodings(&path, PASS);
        let kits: Vec<String> = [&kit, &next_kit, &spare]
            .iter()
            .map(|k| k.display().expose_secret().to_owned())
            .collect();
        let legacy = dir.path().join("credentials.json");
        std::fs::copy(testdata("eclosion/credentials.json"), &legacy).unwrap();
        common::set_mode(&legacy, 0o600);
        vault
            .import_eclosion(
                &legacy,
                &secret(ECLOSION_PASS),
                &ImportOptions::new().replace_existing(true),
            )
            .unwrap();
        // The import keeps Eclosion's raw bytes; the next unlock moves it to NFKC.
        vault.lock();
        vault.unlock(&secret(ECLOSION_PASS)).unwrap();
        vault.logout().unwrap();
        vault.store(creds(), valid(PASS)).unwrap();
        vault.lock();
        vault.reset().unwrap();

        // An idle lock, on a vault that times out at once.
        let (_d2, p2) = temp_vault();
        let idle = common::builder(&p2)
            .audit_to(trail.clone())
            .idle_timeout(Duration::ZERO)
            .open()
            .unwrap();
        idle.store(creds(), valid(PASS)).unwrap();
        assert_eq!(idle.status(), SessionState::Locked);

        // A registry's operator actions: the locked-out list, and removing a user.
        let t = trail.clone();
        let registry = credlock::Registry::builder(credlock::registry::MemoryStoreSet::new())
            .vault_options(move |b| {
                b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                    .without_tracing_audit()
                    .audit_to(t.clone())
            })
            .open()
            .unwrap();
        let user = credlock::UserId::new("user-42").unwrap();
        registry
            .vault(&user)
            .unwrap()
            .store(creds(), valid(PASS))
            .unwrap();
        assert!(registry.locked_out().unwrap().is_empty());
        registry.remove_user(&user).unwrap();

        let events = trail.events();
        let kinds: BTreeSet<_> = events.iter().map(|e| e.kind.as_str()).collect();
        for kind in EventKind::ALL {
            assert!(
                kinds.contains(kind.as_str()),
                "{kind:?} was not audited: {kinds:?}"
            );
        }
        let text: String = events.iter().map(|e| e.to_json_line() + "\n").collect();
        let file_text = std::fs::read_to_string(&log).unwrap();
        let mut secrets = vec![
            PASS.to_owned(),
            OTHER_PASS.to_owned(),
            ECLOSION_PASS.to_owned(),
            "Wrong-Guess-123!".to_owned(),
            "alice@example.com".to_owned(),
            "monarch-pw-123".to_owned(),
            "JBSWY3DPEHPK3PXP".to_owned(),
            path.display().to_string(),
        ];
        secrets.extend(keys);
        secrets.extend(keys_after_recovery);
        secrets.extend(kits.iter().cloned());
        secrets.extend(kits.iter().map(|k| k.replace('-', "")));
        secrets.extend(tokens.iter().map(|t| t[4..].to_owned()));
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "an event holds {s:?}");
            assert!(!file_text.contains(s.as_str()), "the log holds {s:?}");
        }
        assert!(
            events
                .iter()
                .all(|e| ["user-42", "vault.json", "registry"].contains(&e.vault.as_str()))
        );
        let with_ctx = events.iter().filter(|e| e.context.is_some()).count();
        assert_eq!(
            with_ctx,
            events.len(),
            "every event carries the request context"
        );
    });

    // The log: 0600, one JSON object a line, rotated at 4 KiB keeping 3.
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let rotated = dir.path().join("audit.jsonl.1");
    assert!(rotated.exists(), "the log rotated");
    assert_eq!(
        std::fs::metadata(&rotated).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["at"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn a_failing_sink_fails_the_operation_only_when_auditing_fails_closed() {
    let (_dir, path) = temp_vault();
    common::stored(&path);
    let open = common::builder(&path)
        .audit_to(FailingSink::new())
        .open()
        .unwrap();
    open.unlock(&secret(PASS)).unwrap();
    assert_eq!(open.status(), SessionState::Unlocked);

    let closed = common::builder(&path)
        .audit_to(FailingSink::new())
        .audit_fail_closed()
        .open()
        .unwrap();
    assert!(matches!(
        closed.unlock(&secret(PASS)),
        Err(Error::AuditFailed(_))
    ));
    assert_eq!(
        closed.status(),
        SessionState::Locked,
        "the unlock was undone"
    );
    let report = closed.security_status();
    assert!(report.audit.fail_closed);
    assert_eq!(report.audit.sinks.len(), 2, "{:?}", report.audit.sinks);
}

#[test]
fn every_passphrase_test_names_its_operation() {
    let (dir, path) = temp_vault();
    let trail = MemorySink::new();
    let vault = common::builder(&path)
        .audit_to(trail.clone())
        .open()
        .unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    let wrong = secret("Wrong-Guess-123!");
    let legacy = dir.path().join("credentials.json");
    std::fs::copy(testdata("eclosion/credentials.json"), &legacy).unwrap();
    common::set_mode(&legacy, 0o600);

    // Five wrong passphrases, one through each operation that tests one, and the fifth
    // starts the lockout (the recommended policy allows five).
    assert!(vault.change_passphrase(&wrong, valid(OTHER_PASS)).is_err());
    assert!(
        vault
            .export_eclosion(dir.path().join("export.json"), &wrong)
            .is_err()
    );
    let replace = ImportOptions::new().replace_existing(true);
    assert!(vault.import_eclosion(&legacy, &wrong, &replace).is_err());
    vault.lock();
    for _ in 0..2 {
        assert!(vault.unlock(&wrong).is_err());
    }
    // Refused without a derivation (the right passphrase too), named for what was refused.
    assert!(matches!(
        vault.import_eclosion(&legacy, &secret(ECLOSION_PASS), &replace),
        Err(credlock_eclosion::Error::Vault(Error::LockedOut { .. }))
    ));

    let named = |kind: EventKind| -> Vec<Option<&'static str>> {
        trail
            .events()
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.operation)
            .collect()
    };
    assert_eq!(
        named(EventKind::PassphraseRejected),
        [
            Some("change_passphrase"),
            Some("export"),
            Some("import"),
            Some("unlock"),
            Some("unlock"),
        ]
    );
    assert_eq!(named(EventKind::LockoutStarted), [Some("unlock")]);
    assert_eq!(named(EventKind::AttemptRefused), [Some("import")]);
}
