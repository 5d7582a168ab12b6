//! Test-only hooks at the points where another process could change a path between two
//! system calls: a test runs its swap at exactly that point, on its own thread.

use std::cell::RefCell;

/// Where a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Point {
    /// In `read_at`: between the `statat` that looks at the file and the `openat`.
    ReadOpen,
    /// In `create_or_open_checked`: between the open that found no directory and the `mkdir`.
    Mkdir,
    /// In the cleanup of stale temporary files: between the look at a candidate and its open.
    CleanupOpen,
}

type Hook = Box<dyn FnMut()>;

thread_local! {
    static HOOKS: RefCell<Vec<(Point, Hook)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `swap` the next time this thread reaches `point`.
pub(crate) fn set(point: Point, swap: impl FnMut() + 'static) {
    HOOKS.with(|hooks| {
        let mut hooks = hooks.borrow_mut();
        hooks.retain(|(p, _)| *p != point);
        hooks.push((point, Box::new(swap)));
    });
}

/// Runs, once, the hook this thread set for `point`, if any.
pub(crate) fn run(point: Point) {
    let hook = HOOKS.with(|hooks| {
        let mut hooks = hooks.borrow_mut();
        let i = hooks.iter().position(|(p, _)| *p == point)?;
        Some(hooks.remove(i).1)
    });
    if let Some(mut hook) = hook {
        hook();
    }
}
