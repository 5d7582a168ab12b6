//! A throwaway PostgreSQL server for tests and benchmarks (feature `test-server`).
//!
//! [`TestServer::shared`] finds `initdb` and `pg_ctl` (on `PATH`, in `/usr/local/bin`, or in
//! `/usr/lib/postgresql/*/bin` as Debian installs them), initialises a cluster in a temporary
//! directory and starts it listening only on a Unix socket in that directory. As root
//! (PostgreSQL refuses to run as root) the directory is given to the `postgres` system user
//! and both commands run through `runuser -u postgres --`. The server is stopped
//! (`pg_ctl stop -m immediate`) and its directory removed when the last handle is dropped.
//!
//! Without PostgreSQL, `shared` prints [`SKIP_MESSAGE`] and returns `None`, unless the
//! environment variable [`REQUIRE_ENV`] is `1`, in which case it panics: CI sets it, so a
//! missing server fails there instead of passing silently.
//!
//! The server runs with `fsync = off`: it is thrown away, and tests measure behaviour, not
//! durability.

#![allow(
    clippy::print_stderr,
    clippy::panic,
    clippy::missing_panics_doc,
    reason = "a test harness: says loudly when it skips, fails loudly when it must not"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use postgres::{Config, NoTls};

/// Set to `1` to make a missing PostgreSQL a failure.
pub const REQUIRE_ENV: &str = "CREDLOCK_REQUIRE_PG";

/// What a test prints when it skips for want of PostgreSQL.
pub const SKIP_MESSAGE: &str = "skipped: no PostgreSQL (set CREDLOCK_REQUIRE_PG=1 to require it)";

/// Waits until `f` holds, asking it again every `poll`, and fails the test if it does not
/// within `deadline`; how long it took. For what another replica or the server does in its
/// own time (a notice heard, a connection back): the condition is waited for, never a
/// guessed delay.
pub fn until(
    what: &str,
    deadline: Duration,
    poll: Duration,
    mut f: impl FnMut() -> bool,
) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        std::thread::sleep(poll);
    }
    start.elapsed()
}

/// A running throwaway server; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    next_db: AtomicU32,
}

/// Why no server could be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// `initdb` was not found.
    NotFound,
    /// A step failed; the text says which and shows its output.
    Failed(String),
}

impl TestServer {
    /// The server shared by this process's tests: started by the first caller, stopped when
    /// the last handle is dropped. `None` (after printing [`SKIP_MESSAGE`]) if PostgreSQL is
    /// not installed and [`REQUIRE_ENV`] is not `1`.
    ///
    /// # Panics
    ///
    /// If PostgreSQL is missing while required, or is installed but fails to start.
    #[must_use]
    pub fn shared() -> Option<Arc<Self>> {
        static SHARED: Mutex<Weak<TestServer>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(server) = shared.upgrade() {
            return Some(server);
        }
        match Self::start() {
            Ok(server) => {
                let server = Arc::new(server);
                *shared = Arc::downgrade(&server);
                Some(server)
            }
            Err(StartError::NotFound) if !required() => {
                eprintln!("{SKIP_MESSAGE}");
                None
            }
            Err(StartError::NotFound) => panic!(
                "{REQUIRE_ENV}=1 but no PostgreSQL was found (looked for initdb on PATH, in \
                 /usr/local/bin and /usr/lib/postgresql/*/bin); install it (Debian: \
                 apt-get install postgresql)"
            ),
            Err(StartError::Failed(why)) => panic!("PostgreSQL is installed but {why}"),
        }
    }

    /// Initialises and starts a new server.
    ///
    /// # Errors
    ///
    /// [`StartError::NotFound`] without `initdb`; [`StartError::Failed`] if a step fails.
    pub fn start() -> Result<Self, StartError> {
        let bin = find_bin().ok_or(StartError::NotFound)?;
        let dir = tempfile::Builder::new()
            .prefix("credlock-pg-")
            .tempdir()
            .map_err(|e| StartError::Failed(format!("no temporary directory: {e}")))?;
        let as_postgres = owner(dir.path()) == Some(0);
        if as_postgres {
            let uid = id("-u")?;
            let gid = id("-g")?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| StartError::Failed(format!("cannot chown the data dir: {e}")))?;
        }
        let server = Self {
            dir,
            bin,
            as_postgres,
            next_db: AtomicU32::new(0),
        };
        let data = server.data_dir();
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        server.pg_start()?;
        Ok(server)
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    fn pg_start(&self) -> Result<(), StartError> {
        let data = self.data_dir();
        let options = format!(
            "-k {} -c listen_addresses='' -c fsync=off",
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )
        .map(drop)
    }

    /// Stops the server (`pg_ctl stop -m fast`: every connection is closed), waiting until
    /// it is down; [`resume`](Self::resume) starts it again on the same data. For tests of
    /// what clients do while their database is away: use a server of the test's own
    /// ([`start`](Self::start)), not the [`shared`](Self::shared) one other tests use.
    ///
    /// # Errors
    ///
    /// [`StartError::Failed`] if `pg_ctl` fails.
    pub fn stop(&self) -> Result<(), StartError> {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
        .map(drop)
    }

    /// Starts a server [`stop`](Self::stop)ped before, on the same data and socket,
    /// waiting until it accepts connections.
    ///
    /// # Errors
    ///
    /// [`StartError::Failed`] if `pg_ctl` fails.
    pub fn resume(&self) -> Result<(), StartError> {
        self.pg_start()
    }

    /// Restarts the server: [`stop`](Self::stop), then [`resume`](Self::resume).
    ///
    /// # Errors
    ///
    /// As [`stop`](Self::stop) and [`resume`](Self::resume).
    pub fn restart(&self) -> Result<(), StartError> {
        self.stop()?;
        self.resume()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs (as `postgres` when we are root).
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, StartError> {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .output()
            .map_err(|e| StartError::Failed(format!("{} could not run: {e}", path.display())))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(StartError::Failed(format!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// The configuration of database `dbname` on this server (user `postgres`, over the
    /// socket).
    #[must_use]
    pub fn config(&self, dbname: &str) -> Config {
        let mut c = Config::new();
        c.host_path(self.dir.path()).user("postgres").dbname(dbname);
        c
    }

    /// Creates a new, empty database and returns its configuration.
    ///
    /// # Panics
    ///
    /// If the server refuses.
    #[must_use]
    pub fn database(&self) -> Config {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("credlock_{}_{n}", std::process::id());
        let mut admin = self
            .config("postgres")
            .connect(NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        self.config(&name)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}

/// Whether [`REQUIRE_ENV`] is `1`.
fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// The directory holding `initdb` and `pg_ctl`.
fn find_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    candidates.push(PathBuf::from("/usr/local/bin"));
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    // The newest version first.
    debian.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(Path::file_name)
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok()),
        )
    });
    candidates.extend(debian);
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .map(|dir| {
            // Follow a link such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin.
            std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .filter(|d| d.join("pg_ctl").is_file())
                .unwrap_or(dir)
        })
}

fn owner(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.uid())
}

/// The `postgres` user's uid (`-u`) or gid (`-g`).
fn id(flag: &str) -> Result<u32, StartError> {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .map_err(|e| StartError::Failed(format!("`id` could not run: {e}")))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            StartError::Failed(
                "we run as root and there is no `postgres` user to run the server as \
                 (Debian's postgresql package creates it)"
                    .to_owned(),
            )
        })
}
