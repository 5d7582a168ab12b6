//! Default limits shared by every store.

use std::time::Duration;

/// Largest file, in bytes, that a store reads or writes unless told otherwise: 1 MiB.
///
/// A sealed credential file is a few hundred bytes, so the cap only matters when something
/// else was planted at the path: it stops a huge file from exhausting memory.
///
/// # Example
///
/// ```
/// assert_eq!(credlock_store::DEFAULT_MAX_LEN, 1024 * 1024);
/// ```
pub const DEFAULT_MAX_LEN: usize = 1 << 20;

/// How long [`Store::lock`](crate::Store::lock) waits for another holder by default: 10 s.
///
/// # Example
///
/// ```
/// assert_eq!(credlock_store::DEFAULT_LOCK_TIMEOUT.as_secs(), 10);
/// ```
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Rejects data that a store must not write: empty, or longer than `max_len`.
pub(crate) fn check_data_len(
    path: &std::path::Path,
    bytes: &[u8],
    max_len: usize,
) -> Result<(), crate::Error> {
    if bytes.is_empty() {
        return Err(crate::Error::EmptyData {
            path: path.to_path_buf(),
        });
    }
    if bytes.len() > max_len {
        return Err(crate::Error::DataTooLarge {
            path: path.to_path_buf(),
            len: bytes.len(),
            max: max_len,
        });
    }
    Ok(())
}
