//! Opt-in process hardening: no core dumps, and key material kept out of swap.
//!
//! [`harden_process`] asks the operating system, best effort, to
//!
//! 1. write no core dump: `RLIMIT_CORE` = 0 (soft and hard), and on Linux
//!    `PR_SET_DUMPABLE` = 0, which also keeps other processes of the same user from
//!    attaching a debugger or reading `/proc/<pid>/mem`;
//! 2. keep memory out of swap: `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`, pages
//!    locked as they are first touched. Locking only the key's pages (`mlock` of one buffer)
//!    needs `unsafe` code with the maintained bindings, which this crate forbids, so the
//!    whole process is locked instead, and only when that cannot make later allocations
//!    fail: when `RLIMIT_MEMLOCK` is unlimited or the process holds `CAP_IPC_LOCK`.
//!    Otherwise the step is reported as refused, with the limit.
//!
//! Nothing fails when the system refuses: the [`HardeningReport`] says what was done, and
//! [`SecurityStatus::hardening`](crate::SecurityStatus::hardening) shows the last report.

use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// What one hardening step achieved.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum HardeningStep {
    /// Done.
    Done,
    /// The system refused, or doing it would be unsafe for the app; why.
    Refused(String),
    /// Not available on this system.
    Unsupported,
}

impl HardeningStep {
    /// Whether the step was done.
    #[must_use]
    pub fn is_done(&self) -> bool {
        *self == Self::Done
    }
}

/// What [`harden_process`] achieved, step by step.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HardeningReport {
    /// `RLIMIT_CORE` set to 0: no core file.
    pub core_dumps_disabled: HardeningStep,
    /// `PR_SET_DUMPABLE` = 0 (Linux): no core dump, no `ptrace` or `/proc/<pid>/mem` access
    /// by other processes of the user.
    pub not_dumpable: HardeningStep,
    /// Memory (the keys with it) locked out of swap.
    pub memory_locked: HardeningStep,
}

static LAST_REPORT: Mutex<Option<HardeningReport>> = Mutex::new(None);

/// The report of the last [`harden_process`] call, if any.
pub(crate) fn last_report() -> Option<HardeningReport> {
    LAST_REPORT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Hardens this process, best effort (see the [module docs](self)): call it once, early,
/// before the first unlock. Never fails; the report says what the system allowed, and
/// [`Vault::security_status`](crate::Vault::security_status) shows it from then on.
///
/// ```no_run
/// // Process-wide and irreversible, so not run as a doc test (the hardening test runs it
/// // in a child process).
/// let report = credlock::hardening::harden_process();
/// assert!(report.core_dumps_disabled.is_done());
/// ```
#[must_use]
pub fn harden_process() -> HardeningReport {
    let report = HardeningReport {
        core_dumps_disabled: disable_core_files(),
        not_dumpable: not_dumpable(),
        memory_locked: lock_memory(),
    };
    *LAST_REPORT.lock().unwrap_or_else(PoisonError::into_inner) = Some(report.clone());
    report
}

fn refused(what: &str, e: rustix::io::Errno) -> HardeningStep {
    HardeningStep::Refused(format!("{what}: {e}"))
}

fn disable_core_files() -> HardeningStep {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let zero = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    match setrlimit(Resource::Core, zero) {
        Ok(()) => HardeningStep::Done,
        Err(e) => refused("setrlimit(RLIMIT_CORE, 0)", e),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn not_dumpable() -> HardeningStep {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    match set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        Ok(()) => HardeningStep::Done,
        Err(e) => refused("prctl(PR_SET_DUMPABLE, 0)", e),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn not_dumpable() -> HardeningStep {
    HardeningStep::Unsupported
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn lock_memory() -> HardeningStep {
    use rustix::mm::{MlockAllFlags, mlockall};
    use rustix::process::{Resource, getrlimit};
    use rustix::thread::{CapabilitySet, capabilities};

    let limit = getrlimit(Resource::Memlock).current;
    let privileged =
        capabilities(None).is_ok_and(|caps| caps.effective.contains(CapabilitySet::IPC_LOCK));
    if limit.is_some() && !privileged {
        return HardeningStep::Refused(format!(
            "RLIMIT_MEMLOCK is {} bytes and the process lacks CAP_IPC_LOCK: locking all \
             memory could make later allocations fail",
            limit.unwrap_or_default()
        ));
    }
    match mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT) {
        Ok(()) => HardeningStep::Done,
        Err(e) => refused("mlockall", e),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn lock_memory() -> HardeningStep {
    HardeningStep::Unsupported
}
