//! The replica and shared-session tests need the `postgres` feature; built without it they
//! say so, and fail where PostgreSQL is required.

#![cfg(not(feature = "postgres"))]
#![allow(clippy::print_stderr)]

#[test]
fn the_replica_tests_need_the_postgres_feature() {
    assert!(
        std::env::var("CREDLOCK_REQUIRE_PG").as_deref() != Ok("1"),
        "CREDLOCK_REQUIRE_PG=1, but the replica tests were built without `--features postgres` \
         (or `--all-features`)"
    );
    eprintln!(
        "skipped: the replica tests need `--features postgres` \
         (set CREDLOCK_REQUIRE_PG=1 to require them)"
    );
}
