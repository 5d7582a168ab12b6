//! Records `rustc -V` for the comparison table.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    if let Ok(out) = Command::new(rustc).arg("-V").output() {
        let version = String::from_utf8_lossy(&out.stdout);
        println!("cargo:rustc-env=CREDLOCK_RUSTC_VERSION={}", version.trim());
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
}
