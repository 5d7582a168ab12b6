//! Entry points for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// Splits `path` (any bytes) as a [`FileStore`](crate::FileStore) does and checks the names
/// derived from it; never touches the file system beyond making the path absolute.
pub fn store_path(path: &[u8]) {
    crate::file::fuzz_names(Path::new(OsStr::from_bytes(path)));
}
