//! Design notes: what the file store guarantees, and how.
//!
//! This module holds documentation only.
//!
//! # Atomic replace
//!
//! [`Store::save`](crate::Store::save) on a [`FileStore`](crate::FileStore) at `<dir>/<name>`:
//!
//! 1. creates `<dir>/.<name>.tmp-<16 hex>` with `O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC` and
//!    mode 0600, so the file is private from its first instant (the umask can only narrow it;
//!    no `chmod` follows). If a file system hands back a wider mode anyway, the save stops with
//!    [`Error::UnsupportedFilesystem`](crate::Error::UnsupportedFilesystem);
//! 2. takes an `flock` on it, marking it as in use (see *Stale temporary files*);
//! 3. writes the bytes, handling short writes;
//! 4. `fsync`s it. A failed `fsync` is returned as an error and never retried: after a failed
//!    `fsync` Linux may drop the dirty pages and report success the next time;
//! 5. renames it over `<name>` (`renameat`, atomic within one directory);
//! 6. `fsync`s the directory, making the rename durable.
//!
//! If any of steps 1–5 fails, the temporary file is removed and `<name>` is untouched, and the
//! error says which step failed ([`Operation`](crate::Operation)). If step 6 fails, the new file
//! is already in place (readers see it) but may not survive a power loss; the error says so,
//! and the caller should treat the save as failed and retry.
//!
//! Data that could not be read back is refused before anything is written: empty data
//! ([`Error::EmptyData`](crate::Error::EmptyData)) and data over the size cap
//! ([`Error::DataTooLarge`](crate::Error::DataTooLarge)).
//!
//! # Reading
//!
//! [`Store::load`](crate::Store::load) and [`read_checked`](crate::read_checked) look at the
//! path without following a symbolic link, open it with `O_NOFOLLOW | O_NONBLOCK` (a FIFO or
//! device is refused before it is opened), and decide on `fstat` of the opened descriptor:
//! it must be a regular file, owned by the effective uid, without any group/other permission
//! bit (as OpenSSH's `StrictModes`), non-empty and no larger than the cap (default 1 MiB). At
//! most cap + 1 bytes are ever read, even if the file grows meanwhile. Each refusal has its own
//! [`Error`](crate::Error) variant with the fix (for example `chmod 600 <path>`).
//!
//! # The directory
//!
//! [`FileStore::open`](crate::FileStore::open) creates a missing directory (and ancestors)
//! with mode 0700 and flushes its parent. Every operation re-opens the directory by path and
//! refuses it if it is writable by group or others (they could swap the file) or owned by
//! anyone but the current user or root. Symbolic links in the directory path are followed;
//! only the file itself must not be one. Only the immediate directory is checked, not its
//! ancestors.
//!
//! # Locking
//!
//! [`Store::lock`](crate::Store::lock) takes `flock(LOCK_EX)` on `<dir>/.<name>.lock`.
//! The lock cannot live on the data file: each save renames a new inode over it. The lock file
//! is never removed, not even by `delete`, so all processes always lock the same inode; it is
//! empty. The lock is advisory and not re-entrant; `load`/`save`/`delete` do not take it, so a
//! read-modify-write holds the guard around them. A writer that dies releases it (the kernel
//! closes its descriptors).
//!
//! The lock is the taking process's, and dropping the guard frees it at once: the guard unlocks
//! (`flock(LOCK_UN)`) before it closes its descriptor. An `flock` belongs to the open file, so
//! closing alone would leave it held by any copy of the descriptor, and a child forked by any
//! thread of the holder (`std::process::Command` forks) has copies from the fork until its
//! exec closes them (`O_CLOEXEC`), or, if it never execs, until it exits. A forked child does
//! not hold the lock: dropping its copy of a guard closes the child's descriptor and releases
//! nothing. Only a holder killed before it drops the guard leaves the lock held as long as such
//! a copy lives. The turnstile is let go the same way.
//!
//! Waiters take turns: `flock` alone lets a process that releases the lock and re-locks at once
//! win it back nearly every time, starving the others. So a waiter first takes `flock(LOCK_EX)`
//! on a turnstile, `<dir>/.<name>.turnstile` (empty, mode 0600, never removed either), then the
//! lock, then releases the turnstile: only one process at a time waits for the lock itself, and
//! a holder that asks again queues behind it (unless it comes back within the millisecond in
//! which the turnstile may be free between two waiters). Each step is a non-blocking attempt
//! repeated every millisecond until the timeout, so a caller that gives up leaves the line at
//! once; `Duration::ZERO` tries each step once. A waiter that dies leaves the line (the kernel
//! drops its `flock`s too). Processes that lock the lock file without the turnstile (older
//! versions, `flock(1)`) are still excluded, they just do not queue; where the turnstile cannot
//! be created (a read-only file system), the lock is taken without it.
//!
//! # Stale temporary files
//!
//! A writer killed between steps 1 and 5 leaves its temporary file. `open` and `delete`
//! remove every `.<name>.tmp-<16 hex>` of this store file that they can lock: a live writer
//! holds its lock until the rename, so only files of dead writers are removed, and a save in
//! another process is never disturbed. Files of other names are never touched.
//!
//! # Delete
//!
//! [`Store::delete`](crate::Store::delete) removes `<name>` (a symbolic link there is removed
//! itself, its target is left alone), removes stale temporary files and flushes the directory.
//! Nothing at the path is not an error.
//!
//! # What is tested, and what is not
//!
//! The tests kill a writer with `SIGKILL` at random moments (over a thousand times) and check
//! that the file is always one complete version and that no temporary file survives a reopen;
//! they run eight processes doing read-modify-write increments under the lock and check that
//! no update is lost; they run two processes re-locking in a tight loop for three seconds and
//! check that neither gets less than a quarter of the other's turns; they kill a holder and a
//! waiter and check that the lock is free again, and that a lock let go is free while copies of
//! its descriptors, as a forked child holds them, are still open; they inject a full disk, I/O
//! errors and a read-only file system at each step of a save. A `SIGKILL` does not lose the
//! page cache, so these tests do not prove durability across power loss; that rests on the
//! `fsync` calls above and on the file system honouring them.
