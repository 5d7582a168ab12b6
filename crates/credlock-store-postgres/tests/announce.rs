//! Announcements between sets on one database (`Store::announce`, `StoreSet::watch`): heard
//! by every other set, not by the one that sent them; heard after the listening connection
//! was cut off, exactly once and in order; sent once the database is back when it was away.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]
#![cfg(feature = "test-server")]

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use credlock_store::{Notice, StoreEvent, StoreKey, StoreSet, Watch};
use credlock_store_postgres::PostgresStoreSet;
use credlock_store_postgres::postgres::{Client, Config, NoTls};
use credlock_store_postgres::testing::{self, REQUIRE_ENV, StartError, TestServer};

/// How long a notice may take before the test fails: generous, the figures are printed.
const DEADLINE: Duration = Duration::from_secs(10);

fn key(name: &str) -> StoreKey {
    StoreKey::new(name).unwrap()
}

/// Watches `set`; the notices arrive on the receiver.
fn watch(set: &PostgresStoreSet) -> (Watch, Receiver<Notice>) {
    let (tx, rx) = mpsc::channel();
    let watch = set
        .watch(Box::new(move |n| {
            let _ = tx.send(n);
        }))
        .unwrap()
        .expect("a PostgreSQL set carries announcements");
    (watch, rx)
}

fn next(rx: &Receiver<Notice>) -> Notice {
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|e| panic!("no notice within {DEADLINE:?}: {e}"))
}

fn announced(key_name: &str, event: StoreEvent) -> Notice {
    Notice::Announced {
        key: key(key_name),
        event,
    }
}

fn admin(config: &Config) -> Client {
    config.connect(NoTls).unwrap()
}

/// The listening connections whose `application_name` is `name`.
fn listeners(config: &Config, name: &str) -> i64 {
    admin(config)
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .unwrap()
        .get(0)
}

/// Waits until `f` holds, up to [`DEADLINE`]; how long it took.
fn until(what: &str, f: impl FnMut() -> bool) -> Duration {
    testing::until(what, DEADLINE, Duration::from_millis(5), f)
}

#[test]
fn a_set_hears_what_the_others_announce_and_not_its_own() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let a = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let b = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let (watch_a, heard) = watch(&a);

    let start = Instant::now();
    b.store(&key("alice"))
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();
    assert_eq!(next(&heard), announced("alice", StoreEvent::Locked));
    println!("one notification: {:?}", start.elapsed());

    // Its own is not handed back (order is kept, so the next notice is B's).
    a.store(&key("alice"))
        .unwrap()
        .announce(StoreEvent::Reset)
        .unwrap();
    b.store(&key("bob"))
        .unwrap()
        .announce(StoreEvent::SessionsRevoked)
        .unwrap();
    assert_eq!(next(&heard), announced("bob", StoreEvent::SessionsRevoked));

    // Every event travels under its own name.
    for event in StoreEvent::ALL {
        b.store(&key("carol")).unwrap().announce(*event).unwrap();
        assert_eq!(next(&heard), announced("carol", *event));
    }

    // A name this version does not know (a newer one sent it) is still heard, for its key.
    admin(&config)
        .execute(
            "WITH e AS (INSERT INTO credlock_events (key, event, origin) \
                        VALUES ('dave', 'frozen', 'someone-else') RETURNING seq) \
             SELECT pg_notify('credlock_events', e.seq::text || ' someone-else frozen dave') \
             FROM e",
            &[],
        )
        .unwrap();
    assert_eq!(next(&heard), Notice::Unrecognised { key: key("dave") });

    // Dropping the watch ends its connection.
    assert_eq!(listeners(&config, "credlock listener"), 1);
    drop(watch_a);
    until("the listener to close", || {
        listeners(&config, "credlock listener") == 0
    });
}

/// A set of its own role, so that the test can keep it from connecting again.
fn replica_role(server: &TestServer, config: &Config, role: &str) -> Config {
    admin(&server.config("postgres"))
        .batch_execute(&format!("CREATE ROLE {role} LOGIN SUPERUSER"))
        .unwrap();
    let mut c = config.clone();
    c.user(role).application_name(role);
    c
}

#[test]
fn a_listener_cut_off_hears_what_it_missed_once_and_in_order() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let role = format!("replica_cut_{}", std::process::id());
    let a_config = replica_role(&server, &config, &role);
    let a = PostgresStoreSet::builder(a_config).open().unwrap();
    let b = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let (_watch, heard) = watch(&a);
    let listener = format!("{role} listener");
    assert_eq!(listeners(&config, &listener), 1);

    // A's listening connection ends, and A may not connect again for now.
    let mut admin = admin(&config);
    admin
        .batch_execute(&format!("ALTER ROLE {role} NOLOGIN"))
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&listener],
        )
        .unwrap();
    until("the listener to be gone", || {
        listeners(&config, &listener) == 0
    });

    // What happens meanwhile reaches no listening connection of A's.
    b.store(&key("alice"))
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();
    b.store(&key("bob"))
        .unwrap()
        .announce(StoreEvent::PassphraseChanged)
        .unwrap();
    b.store(&key("alice"))
        .unwrap()
        .announce(StoreEvent::Reset)
        .unwrap();
    assert!(heard.try_recv().is_err(), "heard while cut off");

    // Let back in, A catches up: each missed announcement once, in order, before new ones.
    admin
        .batch_execute(&format!("ALTER ROLE {role} LOGIN"))
        .unwrap();
    let back = Instant::now();
    assert_eq!(next(&heard), announced("alice", StoreEvent::Locked));
    println!("caught up after {:?} back", back.elapsed());
    assert_eq!(
        next(&heard),
        announced("bob", StoreEvent::PassphraseChanged)
    );
    assert_eq!(next(&heard), announced("alice", StoreEvent::Reset));
    b.store(&key("carol"))
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();
    assert_eq!(next(&heard), announced("carol", StoreEvent::Locked));
    assert_eq!(listeners(&config, &listener), 1);
}

/// A server of this test's own (it is stopped and started), or `None` to skip.
fn own_server() -> Option<TestServer> {
    match TestServer::start() {
        Ok(server) => Some(server),
        Err(StartError::NotFound) if std::env::var(REQUIRE_ENV).as_deref() != Ok("1") => None,
        Err(e) => panic!("no test server: {e:?}"),
    }
}

#[test]
fn an_announcement_made_while_the_database_is_away_is_sent_once_it_is_back() {
    let Some(server) = own_server() else { return };
    let config = server.database();
    let a = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let b = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let (_watch_a, heard) = watch(&a);

    server.stop().unwrap();
    // Queued without waiting for the database; kept once, in order: the same event again
    // is not sent twice, another one follows.
    let alice = b.store(&key("alice")).unwrap();
    alice.announce(StoreEvent::Locked).unwrap();
    alice.announce(StoreEvent::Locked).unwrap();
    b.store(&key("bob"))
        .unwrap()
        .announce(StoreEvent::SessionsRevoked)
        .unwrap();
    // The sender is trying and failing meanwhile.
    std::thread::sleep(Duration::from_millis(300));

    server.resume().unwrap();
    let back = Instant::now();
    assert_eq!(next(&heard), announced("alice", StoreEvent::Locked));
    println!("heard {:?} after the server was back", back.elapsed());
    assert_eq!(next(&heard), announced("bob", StoreEvent::SessionsRevoked));
    // Both listeners are back: a new announcement is heard at once.
    b.store(&key("carol"))
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();
    assert_eq!(next(&heard), announced("carol", StoreEvent::Locked));
    assert!(heard.try_recv().is_err(), "something was heard twice");
}

#[test]
fn a_listener_that_cannot_get_back_says_it_missed_what_came_meanwhile() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let role = format!("replica_away_{}", std::process::id());
    let a_config = replica_role(&server, &config, &role);
    let a = PostgresStoreSet::builder(a_config).open().unwrap();
    let b = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let (_watch, heard) = watch(&a);
    let listener = format!("{role} listener");

    let mut admin = admin(&config);
    admin
        .batch_execute(&format!("ALTER ROLE {role} NOLOGIN"))
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&listener],
        )
        .unwrap();
    let cut = Instant::now();
    until("the listener to be gone", || {
        listeners(&config, &listener) == 0
    });
    b.store(&key("alice"))
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();

    // Still cut off 10 s later: it says so, without waiting to be back.
    let notice = heard.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(notice, Notice::Missed);
    let after = cut.elapsed();
    println!("missed said after {after:?} cut off");
    assert!(after >= Duration::from_secs(10), "{after:?}");

    // Back, it still hands over what it missed, then listens.
    admin
        .batch_execute(&format!("ALTER ROLE {role} LOGIN"))
        .unwrap();
    assert_eq!(next(&heard), announced("alice", StoreEvent::Locked));
    b.store(&key("bob"))
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();
    assert_eq!(next(&heard), announced("bob", StoreEvent::Locked));
}
