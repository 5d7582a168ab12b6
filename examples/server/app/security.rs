//! `GET /security/status`: Eclosion's security report, every value computed from the vault
//! and this server's configuration (none is fixed text), with credlock's full report.
//!
//! A caller who is not signed in gets the configuration only (the key derivation of new
//! vaults, the passphrase rules, the limits, the headers), the same for every user: not
//! whether the user has a vault, nor its state, its failed attempts or its idle deadline.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use credlock::SecurityStatus;
use credlock::sessions::Scope;
use serde_json::{Value, json};

use super::AppState;
use super::auth::signed_in_client;
use super::users::UserVault;

/// `1234567` as `1,234,567`.
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) async fn status(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
) -> Json<Value> {
    // Reads the stored record's header and the lockout state: no lock, no derivation, so it
    // answers at once while unlocks run.
    let (report, full) = match signed_in_client(&state, &user, &headers, Scope::Manage).await {
        Some((vault, _)) => (vault.security_status().await, true),
        None => (state.inner.vaults.options_report().await, false),
    };
    Json(answer(&state, &report, full))
}

/// The answer: the configuration, and with `full` what the vault's own report says.
fn answer(state: &AppState, report: &SecurityStatus, full: bool) -> Value {
    let iterations = match (&report.kdf, full) {
        (Some(kdf), true) => kdf.iterations,
        _ => report.kdf_for_new_vaults.iterations,
    };
    let policy = &report.policy;
    let has_class = |name: &str| {
        policy
            .rules
            .iter()
            .any(|r| r.code == format!("missing_{name}"))
    };
    let config = state.config();
    let mut answer = json!({
        "authenticated": full,
        "key_derivation": format!("PBKDF2 with SHA-256 ({} iterations)", thousands(iterations)),
        "kdf_iterations": iterations,
        "passphrase_requirements": {
            "min_length": policy.min_length,
            "requires_uppercase": has_class("uppercase"),
            "requires_lowercase": has_class("lowercase"),
            "requires_number": has_class("digit"),
            "requires_special": has_class("special"),
            "rules": policy.rules,
        },
        "rate_limiting": {
            "enabled": true,
            "passphrase_attempts_per_client": config.attempts.describe(),
        },
        "lockout": report.lockout,
        "session_timeout": {
            "enabled": report.idle_timeout_secs.is_some(),
            "timeout_minutes": report.idle_timeout_secs.map(|s| s.div_ceil(60)),
        },
        "security_headers": {
            "csp": true,
            "hsts": config.tls,
            "x_frame_options": "DENY",
            "x_content_type_options": "nosniff",
            "referrer_policy": "no-referrer",
        },
        "audit_logging": !report.audit.sinks.is_empty(),
        // The server's `--key-provider` (kind and key id, no secret): every passphrase slot
        // also needs it, so a copy of the vaults opens nothing offline.
        "key_provider": report.key_provider,
    });
    if full && let Value::Object(map) = &mut answer {
        map.insert("encryption_enabled".into(), json!(report.cipher.is_some()));
        map.insert(
            "encryption_algorithm".into(),
            json!(
                report
                    .cipher
                    .as_ref()
                    .map(|c| format!("Fernet ({})", c.construction))
            ),
        );
        map.insert(
            "file_permissions".into(),
            json!(report.file.as_ref().and_then(|f| f.mode.clone())),
        );
        map.insert("report".into(), json!(report));
    }
    answer
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(480_000), "480,000");
        assert_eq!(super::thousands(1_000), "1,000");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(12_345_678), "12,345,678");
    }
}
