//! Every public method of a vault and of a registry, blocking and async (`nonblocking`),
//! called from async code: inside a current-thread runtime, a multi-thread runtime's
//! `block_on` and a task on its workers, with the file, SQLite and PostgreSQL stores
//! (PostgreSQL with shared sessions). Each one returns; none panics (the blocking PostgreSQL
//! client's own runtime must never meet the caller's).
//!
//! A throwaway PostgreSQL server is started (see `credlock_store_postgres::testing`); without
//! PostgreSQL those cases say so, and fail if `CREDLOCK_REQUIRE_PG=1`.

#![allow(clippy::unwrap_used, clippy::panic)]
#![cfg(all(feature = "sqlite", feature = "postgres", feature = "tokio"))]

mod common;

use std::future::Future;
use std::sync::Arc;

use common::{OTHER_PASS, PASS, TEST_ITERATIONS, creds, secret, valid};
use credlock::registry::{FileStoreSet, PostgresStoreSet, SqliteStoreSet, StoreSet};
use credlock::secrecy::ExposeSecret as _;
use credlock::sessions::{PostgresSessions, Scope, SessionRequest};
use credlock::{Credentials, Registry, SessionState, UserId, Vault, nonblocking};
use credlock_store_postgres::testing::TestServer;

/// The registry over `set`, with shared sessions if given.
fn registry(set: impl StoreSet + 'static, shared: Option<PostgresSessions>) -> Registry {
    let builder = Registry::builder(set).vault_options(|b| {
        b.insecure_kdf_iterations(TEST_ITERATIONS)
            .without_tracing_audit()
    });
    match shared {
        Some(sessions) => builder.shared_sessions(sessions),
        None => builder,
    }
    .open()
    .unwrap()
}

/// Every public method of `vault`, in a life that reaches each state.
fn every_vault_method(vault: &Vault) {
    assert_eq!(vault.status(), SessionState::NoCredentials);
    vault
        .check_passphrase(secret(PASS), "alice@example.com")
        .unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    vault.touch().unwrap();
    assert_eq!(vault.credentials().unwrap().email(), "alice@example.com");
    assert_eq!(vault.totp().unwrap().code().expose_secret().len(), 6);
    vault
        .update_credentials(
            Credentials::new("alice@example.com", secret("pw-2"))
                .with_mfa_secret(secret("JBSWY3DPEHPK3PXP")),
        )
        .unwrap();
    let minted = vault
        .mint_session(SessionRequest::api_token("bot", Scope::Totp))
        .unwrap();
    let token = minted.token.expose_secret().to_owned();
    vault.validate_session(&token, Scope::Totp).unwrap();
    assert!(vault.credentials_for(&token).is_err(), "out of scope");
    vault.totp_for(&token).unwrap();
    assert_eq!(vault.sessions().unwrap().len(), 1);
    let rotated = vault.rotate_session(&minted.info.id).unwrap();
    vault
        .validate_session(rotated.token.expose_secret(), Scope::Totp)
        .unwrap();
    vault.revoke_session(&minted.info.id).unwrap();
    vault
        .mint_session(SessionRequest::client("browser"))
        .unwrap();
    vault.revoke_all_sessions().unwrap();
    let _ = vault.security_status();
    let kit = vault.add_recovery_key("kit").unwrap();
    let device = vault.add_secret_slot("device", &[7u8; 32]).unwrap();
    assert_eq!(vault.list_slots().unwrap().len(), 3);
    vault
        .sign_in(&secret(PASS), SessionRequest::client("phone"))
        .unwrap();
    vault.remove_slot(&device).unwrap();
    vault.lock();
    assert!(vault.unlock_with_secret(&[7u8; 32]).is_err());
    vault.recover(&kit.display(), valid(PASS)).unwrap();
    vault.lock();
    assert!(vault.unlock(&secret(OTHER_PASS)).is_err());
    assert_eq!(vault.lockout_state().unwrap().failures, 1);
    vault.clear_lockout().unwrap();
    vault.unlock(&secret(PASS)).unwrap();
    vault
        .change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    vault.replace(creds(), valid(PASS)).unwrap();
    vault.logout().unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    vault.lock();
    vault.reset().unwrap();
    assert_eq!(vault.status(), SessionState::NoCredentials);
}

/// Every public method of `registry`, and of a vault it holds.
fn every_registry_method(registry: &Registry, user: &str) {
    let id = UserId::new(user).unwrap();
    let vault: Arc<Vault> = registry.vault(&id).unwrap();
    every_vault_method(&vault);
    vault.store(creds(), valid(PASS)).unwrap();
    assert!(registry.users().unwrap().contains(&id));
    vault.lock();
    assert!(vault.unlock(&secret(OTHER_PASS)).is_err());
    let _ = registry.locked_out().unwrap();
    registry.clear_lockout(&id).unwrap();
    let _ = registry.open_vaults();
    drop(vault);
    let _ = registry.evict_idle();
    registry.remove_user(&id).unwrap();
}

/// Every async method of `vault`, in a life that reaches each state.
async fn every_async_vault_method(vault: &nonblocking::Vault) {
    assert_eq!(vault.status(), SessionState::NoCredentials);
    vault
        .check_passphrase(secret(PASS), "alice@example.com")
        .unwrap();
    vault.store(creds(), valid(PASS)).await.unwrap();
    vault.touch().await.unwrap();
    assert_eq!(
        vault.credentials().await.unwrap().email(),
        "alice@example.com"
    );
    assert_eq!(vault.totp().await.unwrap().code().expose_secret().len(), 6);
    vault
        .update_credentials(
            Credentials::new("alice@example.com", secret("pw-2"))
                .with_mfa_secret(secret("JBSWY3DPEHPK3PXP")),
        )
        .await
        .unwrap();
    let minted = vault
        .mint_session(SessionRequest::api_token("bot", Scope::Totp))
        .await
        .unwrap();
    let token = || secret(minted.token.expose_secret());
    vault.validate_session(token(), Scope::Totp).await.unwrap();
    assert!(
        vault.credentials_for(token()).await.is_err(),
        "out of scope"
    );
    vault.totp_for(token()).await.unwrap();
    assert_eq!(vault.sessions().await.unwrap().len(), 1);
    let rotated = vault.rotate_session(minted.info.id.clone()).await.unwrap();
    vault
        .validate_session(secret(rotated.token.expose_secret()), Scope::Totp)
        .await
        .unwrap();
    vault.revoke_session(minted.info.id.clone()).await.unwrap();
    vault
        .mint_session(SessionRequest::client("browser"))
        .await
        .unwrap();
    vault.revoke_all_sessions().await.unwrap();
    let _ = vault.security_status().await;
    let kit = vault.add_recovery_key("kit".into()).await.unwrap();
    let device = vault
        .add_secret_slot("device".into(), vec![7u8; 32].into())
        .await
        .unwrap();
    assert_eq!(vault.list_slots().await.unwrap().len(), 3);
    vault
        .sign_in(secret(PASS), SessionRequest::client("phone"))
        .await
        .unwrap();
    vault.remove_slot(device).await.unwrap();
    vault.lock().await;
    assert!(
        vault
            .unlock_with_secret(vec![7u8; 32].into())
            .await
            .is_err()
    );
    vault.recover(kit.display(), valid(PASS)).await.unwrap();
    vault.lock().await;
    assert!(vault.unlock(secret(OTHER_PASS)).await.is_err());
    assert_eq!(vault.lockout_state().await.unwrap().failures, 1);
    vault.clear_lockout().await.unwrap();
    vault.unlock(secret(PASS)).await.unwrap();
    vault
        .change_passphrase(secret(PASS), valid(OTHER_PASS))
        .await
        .unwrap();
    vault.replace(creds(), valid(PASS)).await.unwrap();
    vault.logout().await.unwrap();
    vault.store(creds(), valid(PASS)).await.unwrap();
    vault.lock().await;
    vault.reset().await.unwrap();
    assert_eq!(vault.status(), SessionState::NoCredentials);
}

/// Every async method of `registry`, and of a vault it holds.
async fn every_async_registry_method(registry: &nonblocking::Registry, user: &str) {
    let id = UserId::new(&format!("async-{user}")).unwrap();
    assert!(registry.existing_vault(id.clone()).await.unwrap().is_none());
    let _ = registry.security_status();
    let vault = registry.vault(id.clone()).await.unwrap();
    every_async_vault_method(&vault).await;
    vault.store(creds(), valid(PASS)).await.unwrap();
    assert!(registry.existing_vault(id.clone()).await.unwrap().is_some());
    assert!(registry.users().await.unwrap().contains(&id));
    vault.lock().await;
    assert!(vault.unlock(secret(OTHER_PASS)).await.is_err());
    let _ = registry.locked_out().await.unwrap();
    registry.clear_lockout(id.clone()).await.unwrap();
    drop(vault);
    let _ = registry.evict_idle().await;
    registry.remove_user(id).await.unwrap();
}

/// Both APIs on `registry`, from async code.
async fn both_apis(registry: Arc<Registry>, user: String) {
    every_registry_method(&registry, &user);
    every_async_registry_method(&nonblocking::Registry::new(registry), &user).await;
}

/// Runs `work` inside a current-thread runtime, a multi-thread runtime's `block_on`, and a
/// task on the multi-thread runtime's workers, each with its own user.
fn in_every_runtime<F>(work: impl Fn(String) -> F + Send + Sync + 'static)
where
    F: Future<Output = ()> + Send + 'static,
{
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(work("current-thread".to_owned()));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    multi.block_on(work("block-on".to_owned()));
    multi.block_on(on_a_worker(work("worker".to_owned())));
}

async fn on_a_worker(f: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(f).await.unwrap();
}

#[test]
fn every_method_returns_in_every_runtime_on_files() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(registry(FileStoreSet::open(dir.path()).unwrap(), None));
    in_every_runtime(move |user| both_apis(Arc::clone(&registry), user));
}

#[test]
fn every_method_returns_in_every_runtime_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let set = SqliteStoreSet::open(dir.path().join("vaults")).unwrap();
    let registry = Arc::new(registry(set, None));
    in_every_runtime(move |user| both_apis(Arc::clone(&registry), user));
}

#[test]
fn every_method_returns_in_every_runtime_on_postgres_with_shared_sessions() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    // Opening the set, the registry and every call, and dropping them, inside each runtime.
    in_every_runtime(move |user| {
        let config = config.clone();
        async move {
            let set = PostgresStoreSet::builder(config).open().unwrap();
            let registry = Arc::new(registry(set.clone(), Some(PostgresSessions::new(set))));
            both_apis(Arc::clone(&registry), user).await;
            drop(registry);
        }
    })
}
