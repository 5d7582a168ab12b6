//! Key-provider specs from a command line or a config file (`--key-provider SPEC`): every
//! string is a spec or a typed error, never a panic.
#![no_main]

use credlock_keyprovider::{ProviderSpec, parse_spec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_spec(text) {
        Ok(spec) => {
            // A spec holds no secret: its debug form may be logged.
            let _ = format!("{spec:?}");
            // Opening a systemd credential without `$CREDENTIALS_DIRECTORY` (as here) is a
            // typed error, never a panic. (File specs are not opened: the fuzzer's paths
            // would name files of this machine.)
            if let ProviderSpec::Systemd { .. } = spec {
                let _ = spec.open();
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.is_retryable();
        }
    }
});
