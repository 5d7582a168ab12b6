//! [`LockoutRecord`]: the failed-attempt state a store keeps beside the sealed bytes.

use std::time::Duration;

/// The persisted failed-passphrase state of one vault: how many consecutive attempts have
/// failed (or are in flight), and the lockout they imposed, in wall-clock time.
///
/// The store keeps it beside the sealed record, never inside it, and only reads and writes it
/// whole ([`Store::load_lockout`](crate::Store::load_lockout),
/// [`Store::save_lockout`](crate::Store::save_lockout)); a read-modify-write holds the
/// store's [`lock`](crate::Store::lock), which makes an increment atomic across threads and
/// processes. What the numbers mean (the policy) is the caller's business.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use credlock_store::LockoutRecord;
///
/// let r = LockoutRecord::new(5, Some((1_764_157_361_000, Duration::from_secs(30))));
/// assert_eq!(LockoutRecord::decode(&r.encode()), Some(r));
/// assert_eq!(LockoutRecord::default().failures(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockoutRecord {
    failures: u32,
    lockout: Option<(u64, u64)>,
}

/// The first line of the encoded form.
const MAGIC: &str = "credlock-lockout 1";

impl LockoutRecord {
    /// A record of `failures` consecutive failures and, if one was imposed, a lockout that
    /// began at `started_unix_ms` (milliseconds since the Unix epoch) and lasts `length`.
    #[must_use]
    pub fn new(failures: u32, lockout: Option<(u64, Duration)>) -> Self {
        Self {
            failures,
            lockout: lockout
                .map(|(start, len)| (start, u64::try_from(len.as_millis()).unwrap_or(u64::MAX))),
        }
    }

    /// Consecutive failed (or in-flight) attempts.
    #[must_use]
    pub const fn failures(&self) -> u32 {
        self.failures
    }

    /// The last lockout imposed: its start (Unix milliseconds) and its length.
    #[must_use]
    pub const fn lockout(&self) -> Option<(u64, Duration)> {
        match self.lockout {
            Some((start, len)) => Some((start, Duration::from_millis(len))),
            None => None,
        }
    }

    /// The stored form: a few lines of ASCII text.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let (start, len) = self.lockout.unwrap_or((0, 0));
        let locked = u8::from(self.lockout.is_some());
        format!(
            "{MAGIC}\nfailures {}\nlocked {locked}\nstarted_ms {start}\nlength_ms {len}\n",
            self.failures
        )
        .into_bytes()
    }

    /// Parses the stored form strictly; `None` for anything else.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != MAGIC {
            return None;
        }
        let mut field = |name: &str| -> Option<u64> {
            let (key, value) = lines.next()?.split_once(' ')?;
            if key != name || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            value.parse().ok()
        };
        let failures = u32::try_from(field("failures")?).ok()?;
        let locked = field("locked")?;
        let start = field("started_ms")?;
        let len = field("length_ms")?;
        if lines.next().is_some() {
            return None;
        }
        let lockout = match locked {
            0 if start == 0 && len == 0 => None,
            1 => Some((start, len)),
            _ => return None,
        };
        Some(Self { failures, lockout })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_anything_else() {
        for r in [
            LockoutRecord::default(),
            LockoutRecord::new(u32::MAX, Some((u64::MAX, Duration::from_secs(900)))),
            LockoutRecord::new(3, None),
        ] {
            assert_eq!(LockoutRecord::decode(&r.encode()), Some(r));
        }
        let record = LockoutRecord::new(5, Some((7, Duration::from_secs(30))));
        assert_eq!(record.lockout(), Some((7, Duration::from_secs(30))));
        assert_eq!(LockoutRecord::new(5, None).lockout(), None);
        let good = record.encode();
        assert!(LockoutRecord::decode(&good).is_some());
        for bad in [
            &b""[..],
            b"credlock-lockout 1\n",
            b"credlock-lockout 2\nfailures 1\nlocked 0\nstarted_ms 0\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures -1\nlocked 0\nstarted_ms 0\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures 1\nlocked 2\nstarted_ms 0\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures 1\nlocked 0\nstarted_ms 5\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures 4294967296\nlocked 0\nstarted_ms 0\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures 1\nlocked 0\nstarted_ms 0\nlength_ms 0\nextra 1\n",
            b"credlock-lockout 1\nfailures 1\nlocked 0\nstarted_ms 0\nlength_ms 0",
            // A field under another name, without a value, or with a sign.
            b"credlock-lockout 1\nfailure 1\nlocked 0\nstarted_ms 0\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures \nlocked 0\nstarted_ms 0\nlength_ms 0\n",
            b"credlock-lockout 1\nfailures +1\nlocked 0\nstarted_ms 0\nlength_ms 0\n",
        ] {
            assert_eq!(
                LockoutRecord::decode(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut truncated = good.clone();
        while truncated.pop().is_some() {
            assert_eq!(LockoutRecord::decode(&truncated), None);
        }
    }
}
