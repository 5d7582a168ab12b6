//! The PostgreSQL tests need the `test-server` feature (which starts a throwaway server);
//! built without it they say so, and fail where PostgreSQL is required.

#![cfg(not(feature = "test-server"))]
#![allow(clippy::print_stderr)]

#[test]
fn the_postgres_tests_need_the_test_server_feature() {
    assert!(
        std::env::var("CREDLOCK_REQUIRE_PG").as_deref() != Ok("1"),
        "CREDLOCK_REQUIRE_PG=1, but the PostgreSQL tests were built without \
         `--features test-server` (or `--all-features`)"
    );
    eprintln!(
        "skipped: the PostgreSQL tests need `--features test-server` \
         (set CREDLOCK_REQUIRE_PG=1 to require them)"
    );
}
