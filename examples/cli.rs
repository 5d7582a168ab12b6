//! A command-line tool over one credlock vault: create it, unlock it, show the credentials,
//! change the passphrase, read the security report and the lockout, import from and export
//! to Eclosion, log out; and its keyslots: the recovery key `init` prints once, `recover`
//! with it when the passphrase is forgotten, `slots` to list the ways in, `add-recovery-key`
//! and `remove-slot`.
//!
//! Run it with `cargo run --example cli -- --vault PATH COMMAND` (`--help` lists the commands
//! and the exit codes); `--vault` and `--passphrase-stdin` may come before or after the
//! command. Passphrases are read from the terminal without echo, or, with
//! `--passphrase-stdin`, one per line from standard input for scripts; never from the command
//! line or the environment, where other users and shell histories can see them.
//!
//! Each command is one process: a vault that a command unlocks is locked again when the
//! process exits (the key never outlives it). What does persist between commands is the
//! vault file and its lockout record beside it, so five wrong passphrases in five separate
//! runs lock the vault out just as five in one process would. A recovery key is tested
//! through the same lockout: a wrong one counts as a wrong passphrase (exit 3), while a text
//! that is not a recovery key at all (wrong length or characters) is a usage error (exit 2)
//! and counts nothing.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool talks to its user on stdout and stderr"
)]

use std::fs::File;
use std::io::{self, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::{
    Credentials, Error, ErrorKind, MAX_LABEL_CHARS, PolicyViolations, RecoveryKey, SecurityStatus,
    SessionState, SlotId, SlotKind, StorageKind, Vault,
};
use credlock_eclosion::{DatabaseExportOptions, EclosionExt as _, ImportOptions, ImportReport};

/// The exit codes, shown at the end of `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other error (remove-slot of the passphrase slot or of an id the vault lacks, ...)
  2  usage error (bad arguments, no terminal to prompt on, standard input ended early, a
     slot id or recovery key that is not one: wrong length or characters, nothing counted)
  3  wrong passphrase or wrong recovery key (counted towards the lockout)
  4  locked out: too many failed attempts (the wait in seconds is on stderr)
  5  no vault at --vault (or no file to import, or no Eclosion database to export into)
  6  the vault file is unreadable, unsafe (a symlink, readable by others, ...) or corrupt
  7  the new passphrase is refused by the policy (every unmet rule is listed)

Passphrases come from the terminal without echo, or with --passphrase-stdin from standard
input, one per line: `init` reads the email, the password, the MFA secret (an empty line for
none) and the passphrase; `change-passphrase` reads the current then the new passphrase;
`recover` reads the recovery key then the new passphrase; every other command that needs a
passphrase reads one line (`status`, `lockout`, `clear-lockout` and `slots` read nothing).
--vault and --passphrase-stdin go before or after the command.

`init` prints a recovery key once: write it down and keep it apart from the vault. It is
the only way back in if the passphrase is forgotten (`recover` sets a new passphrase with it
and prints its replacement; the key used then opens nothing).";

/// Keep a user's third-party credentials sealed under a passphrase (a credlock example).
#[derive(Debug, Parser)]
#[command(name = "cli", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
struct Cli {
    /// The vault file (created 0600 by `init`). Required.
    // Optional to clap only because a global option cannot be required; `main` requires it.
    #[arg(long, value_name = "PATH", global = true)]
    vault: Option<PathBuf>,
    /// Read passphrases (and `init`'s credentials) from standard input, one per line,
    /// instead of prompting on the terminal.
    #[arg(long, global = true)]
    passphrase_stdin: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the vault: asks for the email, the password, the MFA secret and a new
    /// passphrase (twice on a terminal), then prints a recovery key once.
    Init,
    /// Check the passphrase: unlocks the vault and prints its state.
    Unlock,
    /// Unlock and show the credentials (the password masked unless --reveal) and the current
    /// TOTP code with its seconds left.
    Show {
        /// Print the password in clear.
        #[arg(long)]
        reveal: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change the passphrase: asks for the current one, then the new one.
    ChangePassphrase,
    /// The security report: cipher, key derivation, file mode, policy, lockout, audit.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Migrate Eclosion's credentials into a new vault (asks for their passphrase): its
    /// `credentials.json`, or its SQLite database `eclosion.db`.
    ImportEclosion {
        /// Eclosion's credentials file or database.
        src: PathBuf,
    },
    /// Write the credentials in Eclosion's format, under the same passphrase (asks for it):
    /// into Eclosion's SQLite database, or to a new legacy `credentials.json`.
    ///
    /// SQLite when DEST is an SQLite file or its name ends in `.db` (or with `--format
    /// sqlite`): DEST must be the `eclosion.db` Eclosion made (start Eclosion once if there is
    /// none); only its credentials row is written. JSON otherwise: a new file, never an
    /// existing one. One format is never written under the other's name.
    ExportEclosion {
        /// Eclosion's database, or the new legacy file.
        dest: PathBuf,
        /// The format to write, when DEST's name and content do not say it.
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// Replace the credentials Eclosion's database already holds (as Eclosion's own save
        /// does). SQLite only.
        #[arg(long)]
        replace_credentials: bool,
    },
    /// The lockout state: failed attempts, and how long until the next is allowed.
    Lockout {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Clear the lockout (an operator's action; no passphrase needed).
    ClearLockout,
    /// Unlock, then delete the vault file for good.
    Logout,
    /// Set a new passphrase with the recovery key, when the passphrase is forgotten: asks
    /// for the recovery key, then the new passphrase; prints the replacement recovery key
    /// once (the one used opens nothing any more).
    Recover,
    /// List the keyslots, the ways into the vault: kind, label, id, when made and last used.
    /// No secret, no passphrase needed.
    Slots {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a recovery key (asks for the passphrase) and print it once.
    AddRecoveryKey {
        /// The label `slots` shows for it.
        #[arg(long, default_value = RECOVERY_KEY_LABEL)]
        label: String,
    },
    /// Remove a keyslot by its id (from `slots`; asks for the passphrase): its secret opens
    /// nothing written from now on, as the data key rotates. The passphrase slot stays.
    RemoveSlot {
        /// The slot's id, `slt_` and 16 hex digits.
        id: String,
    },
}

/// The label of the recovery key `init` makes.
const RECOVERY_KEY_LABEL: &str = "recovery key";

/// The formats `export-eclosion` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    /// Eclosion's SQLite database (`eclosion.db`), the store of every Eclosion release.
    Sqlite,
    /// Eclosion's legacy `credentials.json` (its builds of January 2026, before the database).
    Json,
}

impl ExportFormat {
    const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Json => "JSON",
        }
    }

    const fn with_article(self) -> &'static str {
        match self {
            Self::Sqlite => "an SQLite",
            Self::Json => "a JSON",
        }
    }
}

/// Why a command failed, each with its exit code.
#[derive(Debug)]
enum Failure {
    /// From the vault.
    Vault(Error),
    /// The new passphrase misses these rules.
    Policy(PolicyViolations),
    /// Misuse: exit code 2.
    Usage(String),
    /// No vault where one is needed: exit code 5.
    NoVault(PathBuf),
    /// The vault file cannot be opened (as the security report says): exit code 6.
    BadFile(String),
    /// An Eclosion import or export failed for a reason of its own (the vault's reasons are
    /// [`Failure::Vault`]): the exit code of its kind.
    Eclosion(credlock_eclosion::Error),
    /// Anything else: exit code 1.
    Other(String),
}

impl From<credlock_eclosion::Error> for Failure {
    fn from(e: credlock_eclosion::Error) -> Self {
        match e {
            credlock_eclosion::Error::Vault(e) => e.into(),
            e => Self::Eclosion(e),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::Policy(v) => Self::Policy(v),
            // Its message names what is wrong and none of the text.
            Error::MalformedRecoveryKey { .. } => {
                Self::Usage(format!("{e}; nothing was tried or counted"))
            }
            Error::PassphraseSlotRequired => Self::Other(
                "the passphrase slot cannot be removed: a vault always keeps its passphrase \
                 (change it with `change-passphrase`, or `recover` with the recovery key)"
                    .into(),
            ),
            Error::InvalidSlotLabel { .. } => Self::Usage(format!("--label: {e}")),
            Error::SlotNotFound => {
                Self::Other("the vault has no keyslot with this id (`slots` lists them)".into())
            }
            e => Self::Vault(e),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Self::Other(format!("writing the output failed: {e}"))
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Self::Other(format!("encoding JSON failed: {e}"))
    }
}

/// The exit code of a failure of `kind`.
fn exit_code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::WrongPassphrase => 3,
        ErrorKind::LockedOut => 4,
        ErrorKind::NoCredentials | ErrorKind::Storage(StorageKind::NotFound) => 5,
        ErrorKind::InvalidVault
        | ErrorKind::Storage(
            StorageKind::Refused | StorageKind::Corrupt | StorageKind::InvalidPath,
        ) => 6,
        ErrorKind::PolicyRejected => 7,
        _ => 1,
    }
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Vault(e) => exit_code_of(e.kind()),
            Self::Eclosion(e) => exit_code_of(e.kind()),
            Self::Policy(_) => 7,
            Self::Usage(_) => 2,
            Self::NoVault(_) => 5,
            Self::BadFile(_) => 6,
            Self::Other(_) => 1,
        }
    }

    /// Prints the failure on stderr, each cause once.
    fn report(&self) {
        match self {
            Self::Eclosion(e) => {
                eprintln!("error: {e}");
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    eprintln!("  caused by: {cause}");
                    source = cause.source();
                }
            }
            Self::Vault(e) => {
                eprintln!("error: {e}");
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    eprintln!("  caused by: {cause}");
                    source = cause.source();
                }
                match e {
                    Error::LockedOut { .. } => {
                        if let Some(secs) = e.retry_after_secs() {
                            eprintln!("retry-after: {secs}");
                        }
                    }
                    Error::LockedOutUntilCleared { .. } => {
                        eprintln!("an operator can clear it with the `clear-lockout` command");
                    }
                    _ => {}
                }
            }
            Self::Policy(violations) => {
                eprintln!("error: the passphrase does not meet the policy:");
                for v in violations {
                    eprintln!("  - {v} ({})", v.code());
                }
            }
            Self::Usage(message) | Self::BadFile(message) | Self::Other(message) => {
                eprintln!("error: {message}");
            }
            Self::NoVault(path) => eprintln!(
                "error: there is no vault at {} (create one with `init`)",
                path.display()
            ),
        }
    }
}

/// Where passphrases come from: the terminal (no echo) or standard input, line by line.
struct Input {
    stdin: Option<io::StdinLock<'static>>,
}

impl Input {
    fn new(from_stdin: bool) -> Self {
        Self {
            stdin: from_stdin.then(|| io::stdin().lock()),
        }
    }

    /// One secret: from the terminal without echo, or the next line of standard input.
    fn secret(&mut self, prompt: &str, what: &str) -> Result<SecretString, Failure> {
        match &mut self.stdin {
            Some(stdin) => read_line(stdin, what).map(SecretString::from),
            None => rpassword::prompt_password(prompt)
                .map(SecretString::from)
                .map_err(|e| no_terminal(what, &e)),
        }
    }

    /// One piece of plain text (the email): from the terminal with echo, or the next line.
    fn text(&mut self, prompt: &str, what: &str) -> Result<String, Failure> {
        match &mut self.stdin {
            Some(stdin) => read_line(stdin, what),
            None => {
                let tty = || -> io::Result<String> {
                    let mut out = File::options().write(true).open("/dev/tty")?;
                    out.write_all(prompt.as_bytes())?;
                    out.flush()?;
                    let mut reader = BufReader::new(File::open("/dev/tty")?);
                    read_line(&mut reader, what).map_err(|_| io::ErrorKind::UnexpectedEof.into())
                };
                tty().map_err(|e| no_terminal(what, &e))
            }
        }
    }

    /// A new passphrase: on a terminal asked twice, and both must match.
    fn new_passphrase(&mut self) -> Result<SecretString, Failure> {
        let first = self.secret("New passphrase: ", "the new passphrase")?;
        if self.stdin.is_none() {
            let again = self.secret("Repeat the new passphrase: ", "the new passphrase")?;
            if again.expose_secret() != first.expose_secret() {
                return Err(Failure::Other("the two passphrases differ".into()));
            }
        }
        Ok(first)
    }
}

fn no_terminal(what: &str, e: &io::Error) -> Failure {
    Failure::Usage(format!(
        "cannot ask for {what} on a terminal ({e}); use --passphrase-stdin to read it from \
         standard input"
    ))
}

/// Reads one line without its line ending; the end of input is a usage error.
fn read_line(reader: &mut impl io::BufRead, what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Err(Failure::Usage(format!(
            "standard input ended before {what} (one per line)"
        ))),
        Ok(_) => {
            // Trim in place: no second copy of a secret.
            let len = line.trim_end_matches(['\n', '\r']).len();
            line.truncate(len);
            Ok(line)
        }
        Err(e) => Err(Failure::Usage(format!("reading {what} failed: {e}"))),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints the message (or the help) and exits 2 for a usage error, 0 for --help.
        Err(e) => e.exit(),
    };
    let Some(vault) = cli.vault.as_deref() else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "the option '--vault <PATH>' is required (before or after the command)",
            )
            .exit()
    };
    let mut input = Input::new(cli.passphrase_stdin);
    match run(vault, &cli.command, &mut input) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(path: &Path, command: &Command, input: &mut Input) -> Result<(), Failure> {
    match command {
        Command::Init => init(path, input),
        Command::Unlock => {
            let vault = existing(path)?;
            vault.unlock(&input.secret("Passphrase: ", "the passphrase")?)?;
            println!("state: {}", vault.status());
            println!("The passphrase is right; the vault locks again as this command exits.");
            Ok(())
        }
        Command::Show { reveal, json } => show(path, input, *reveal, *json),
        Command::ChangePassphrase => {
            let vault = existing(path)?;
            let old = input.secret("Current passphrase: ", "the current passphrase")?;
            let new = input.new_passphrase()?;
            // The policy's rules that need no context first, all at once and before the
            // current passphrase is tested; the vault then checks them against the email.
            let valid = credlock::Policy::default()
                .check(new)
                .map_err(Failure::Policy)?;
            vault.change_passphrase(&old, valid)?;
            println!("The passphrase is changed; the old one no longer opens the vault.");
            Ok(())
        }
        Command::Status { json } => status(path, *json),
        Command::ImportEclosion { src } => {
            let vault = Vault::open(path)?;
            if vault.status() != SessionState::NoCredentials {
                return Err(Error::VaultExists {
                    path: Some(path.to_path_buf()),
                }
                .into());
            }
            let pass = input.secret("Eclosion passphrase: ", "the Eclosion passphrase")?;
            let report = if is_sqlite(src) {
                vault.import_eclosion_sqlite(src, &pass, &ImportOptions::new())?
            } else {
                vault.import_eclosion(src, &pass, &ImportOptions::new())?
            };
            println!(
                "Imported {} into {} (MFA secret: {}; the original is kept).",
                src.display(),
                path.display(),
                if report.had_mfa_secret { "yes" } else { "no" }
            );
            print_mfa_report(&report);
            println!(
                "The vault has no recovery key yet: `add-recovery-key` makes one, the only way \
                 back in if the passphrase is forgotten."
            );
            if !report.passphrase_meets_policy {
                println!(
                    "The passphrase is kept, but it misses the policy's rules {:?}: run \
                     `change-passphrase` to pick a stronger one.",
                    report.policy_violations
                );
            }
            Ok(())
        }
        Command::ExportEclosion {
            dest,
            format,
            replace_credentials,
        } => export_eclosion(path, input, dest, *format, *replace_credentials),
        Command::Lockout { json } => {
            let vault = existing(path)?;
            let state = vault.lockout_state()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&state)?);
            } else {
                println!("failed attempts: {}", state.failures);
                match (state.until_cleared, state.retry_after_secs) {
                    (true, _) => println!("locked out until an operator clears it"),
                    (false, Some(secs)) => println!("locked out: next attempt in {secs} s"),
                    (false, None) => println!("not locked out"),
                }
            }
            Ok(())
        }
        Command::ClearLockout => {
            let vault = existing(path)?;
            let before = vault.lockout_state()?.failures;
            vault.clear_lockout()?;
            println!("Lockout cleared ({before} failed attempts forgotten).");
            Ok(())
        }
        Command::Logout => {
            let vault = existing(path)?;
            vault.unlock(&input.secret("Passphrase: ", "the passphrase")?)?;
            vault.logout()?;
            println!(
                "Logged out: {} is deleted and the key forgotten.",
                path.display()
            );
            Ok(())
        }
        Command::Recover => recover(path, input),
        Command::Slots { json } => slots(path, *json),
        Command::AddRecoveryKey { label } => {
            // The library's rule, said before a passphrase is asked for.
            let chars = label.chars().count();
            if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
                return Err(Error::InvalidSlotLabel {
                    max_chars: MAX_LABEL_CHARS,
                }
                .into());
            }
            let vault = existing(path)?;
            vault.unlock(&input.secret("Passphrase: ", "the passphrase")?)?;
            let key = vault.add_recovery_key(label)?;
            print_recovery_key("Your new recovery key", &key);
            Ok(())
        }
        Command::RemoveSlot { id } => remove_slot(path, input, id),
    }
}

/// Prints a recovery key on one line that says "recovery key", with what it is for.
fn print_recovery_key(intro: &str, key: &RecoveryKey) {
    println!(
        "{intro} (shown once, write it down): {}",
        key.display().expose_secret()
    );
    println!(
        "Keep it apart from the vault: it is the only way back in if the passphrase is \
         forgotten (`recover`), and whoever holds it can set a new passphrase."
    );
}

fn recover(path: &Path, input: &mut Input) -> Result<(), Failure> {
    let vault = existing(path)?;
    let text = input.secret("Recovery key: ", "the recovery key")?;
    // A text that is not a recovery key is refused before the new passphrase is asked for
    // (nothing tested or counted); `recover` reads it again from the same text.
    RecoveryKey::parse(text.expose_secret())?;
    let new = input.new_passphrase()?;
    // As `change-passphrase`: the rules that need no context, all at once and before the
    // recovery key is tested; the vault then checks them against the email.
    let valid = credlock::Policy::default()
        .check(new)
        .map_err(Failure::Policy)?;
    let replacement = vault.recover(&text, valid)?;
    println!(
        "The passphrase is set; the recovery key you used opens nothing any more, and the \
         data key rotated."
    );
    print_recovery_key("Your new recovery key", &replacement);
    Ok(())
}

fn slots(path: &Path, json: bool) -> Result<(), Failure> {
    let vault = existing(path)?;
    let slots = vault.list_slots()?;
    if json {
        let value: Vec<_> = slots
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id.as_str(),
                    "kind": s.kind.as_str(),
                    "label": s.label,
                    "created_at": rfc3339(s.created_at),
                    "last_used_at": s.last_used_at.map(rfc3339),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "{:<13} {:<21} {:<24} {:<24} label",
            "kind", "id", "created", "last used"
        );
        for s in &slots {
            println!(
                "{:<13} {:<21} {:<24} {:<24} {}",
                s.kind.as_str(),
                s.id.as_str(),
                utc(s.created_at),
                s.last_used_at.map_or_else(|| "never".to_owned(), utc),
                s.label
            );
        }
    }
    Ok(())
}

fn remove_slot(path: &Path, input: &mut Input, id: &str) -> Result<(), Failure> {
    let id = SlotId::parse(id).ok_or_else(|| {
        Failure::Usage(
            "not a slot id: an id is `slt_` and 16 lowercase hex digits (`slots` lists them)"
                .into(),
        )
    })?;
    let vault = existing(path)?;
    // Refused before a passphrase is asked for (and tested); `remove_slot` checks again.
    let slot = vault
        .list_slots()?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(Error::SlotNotFound)?;
    if slot.kind == SlotKind::Passphrase {
        return Err(Error::PassphraseSlotRequired.into());
    }
    vault.unlock(&input.secret("Passphrase: ", "the passphrase")?)?;
    vault.remove_slot(&id)?;
    println!(
        "Removed the {} slot {} ({}). The data key rotated: the record is sealed under a new \
         key and the other slots re-wrapped, so the removed slot's secret opens nothing \
         written from now on (a copy of an older vault file still opens with it).",
        slot.kind, id, slot.label
    );
    let recovery_keys = vault
        .list_slots()?
        .iter()
        .filter(|s| s.kind == SlotKind::RecoveryKey)
        .count();
    if recovery_keys == 0 {
        println!(
            "The vault has no recovery key now: if the passphrase is forgotten, the \
             credentials are lost. `add-recovery-key` makes one."
        );
    }
    Ok(())
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`, for people.
fn utc(time: std::time::SystemTime) -> String {
    let (date, clock) = date_and_time(time);
    format!("{date} {clock} UTC")
}

/// A time in RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`), for JSON.
fn rfc3339(time: std::time::SystemTime) -> String {
    let (date, clock) = date_and_time(time);
    format!("{date}T{clock}Z")
}

/// A time's UTC date (`YYYY-MM-DD`) and time of day (`HH:MM:SS`), in whole seconds; a time
/// before 1970 reads as 1970-01-01.
fn date_and_time(time: std::time::SystemTime) -> (String, String) {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            rest / 3_600,
            rest % 3_600 / 60,
            rest % 60
        ),
    )
}

/// What the import report says of the MFA secret: kept but giving no codes, or short.
fn print_mfa_report(report: &ImportReport) {
    if let Some(problem) = report.mfa_secret_problem {
        println!(
            "The MFA secret is kept as Eclosion stored it, but it gives no TOTP codes \
             ({problem}): `show` cannot give a code until a usable secret is stored."
        );
    }
    if let Some(warning) = report.mfa_secret_warning {
        let bits = report
            .mfa_secret_key_bits
            .map_or_else(String::new, |b| format!(" ({b} bits)"));
        println!("warning: {warning}{bits}.");
    }
}

/// The format `export-eclosion` writes to `dest`: `--format` if given, else SQLite for an
/// SQLite file or a `.db` name, else JSON; a usage error when the name or the content says
/// the other format.
fn export_format(dest: &Path, asked: Option<ExportFormat>) -> Result<ExportFormat, Failure> {
    let extension = dest
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let named = match extension.as_deref() {
        Some("db" | "sqlite" | "sqlite3") => Some(ExportFormat::Sqlite),
        Some("json") => Some(ExportFormat::Json),
        _ => None,
    };
    let holds_sqlite = is_sqlite(dest);
    let chosen = asked
        .or(holds_sqlite.then_some(ExportFormat::Sqlite))
        .or(named)
        .unwrap_or(ExportFormat::Json);
    if let Some(named) = named.filter(|n| *n != chosen) {
        return Err(Failure::Usage(format!(
            "{} is named as {} file: writing {} under that name would mislead its readers \
             (choose a name that fits, or the other --format)",
            dest.display(),
            named.with_article(),
            chosen.name()
        )));
    }
    if holds_sqlite && chosen != ExportFormat::Sqlite {
        return Err(Failure::Usage(format!(
            "{} is an SQLite database: it cannot take {}",
            dest.display(),
            chosen.name()
        )));
    }
    Ok(chosen)
}

fn export_eclosion(
    path: &Path,
    input: &mut Input,
    dest: &Path,
    format: Option<ExportFormat>,
    replace_credentials: bool,
) -> Result<(), Failure> {
    let format = export_format(dest, format)?;
    if replace_credentials && format != ExportFormat::Sqlite {
        return Err(Failure::Usage(
            "--replace-credentials applies to Eclosion's SQLite database only; a JSON export \
             writes a new file"
                .into(),
        ));
    }
    let vault = existing(path)?;
    let missing =
        std::fs::symlink_metadata(dest).is_err_and(|e| e.kind() == io::ErrorKind::NotFound);
    if format == ExportFormat::Sqlite && missing {
        // Said before a passphrase is asked for: there is nothing to write into.
        return Err(credlock_eclosion::Error::NoEclosionDatabase {
            path: dest.to_path_buf(),
        }
        .into());
    }
    let pass = input.secret("Passphrase: ", "the passphrase")?;
    vault.unlock(&pass)?;
    match format {
        ExportFormat::Sqlite => {
            let options = DatabaseExportOptions::new().replace_existing(replace_credentials);
            vault
                .export_eclosion_sqlite(dest, &pass, &options)
                .map_err(|e| match e {
                    credlock_eclosion::Error::CredentialsExist { path } => Failure::Other(format!(
                        "Eclosion's database {} already holds credentials; nothing was \
                             written: add --replace-credentials to replace them",
                        path.display()
                    )),
                    e => e.into(),
                })?;
            println!(
                "Wrote the credentials into Eclosion's SQLite database {} (its credentials \
                 row; the rest is unchanged), under the same passphrase.",
                dest.display()
            );
        }
        ExportFormat::Json => {
            vault.export_eclosion(dest, &pass)?;
            println!(
                "Wrote {} (0600) in Eclosion's legacy JSON format, under the same passphrase.",
                dest.display()
            );
        }
    }
    Ok(())
}

/// Whether `path` starts with SQLite's file header (Eclosion's `eclosion.db`).
fn is_sqlite(path: &Path) -> bool {
    use std::io::Read as _;
    let mut header = [0u8; 16];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| &header == b"SQLite format 3\0")
}

/// Opens a vault that must hold credentials.
fn existing(path: &Path) -> Result<Vault, Failure> {
    let vault = Vault::open(path)?;
    if vault.status() == SessionState::NoCredentials {
        return Err(Failure::NoVault(path.to_path_buf()));
    }
    Ok(vault)
}

fn init(path: &Path, input: &mut Input) -> Result<(), Failure> {
    let vault = Vault::open(path)?;
    if vault.status() != SessionState::NoCredentials {
        return Err(Error::VaultExists {
            path: Some(path.to_path_buf()),
        }
        .into());
    }
    let email = input.text("Email: ", "the email")?;
    if email.trim().is_empty() {
        return Err(Failure::Other("the email is empty".into()));
    }
    let password = input.secret("Password: ", "the password")?;
    if password.expose_secret().is_empty() {
        return Err(Failure::Other("the password is empty".into()));
    }
    let mfa = input.secret("MFA secret (empty for none): ", "the MFA secret")?;
    if !mfa.expose_secret().is_empty() {
        // Refused now, before a passphrase is asked for, if it is not a TOTP secret.
        let totp = credlock::totp::TotpSecret::parse(mfa.expose_secret()).map_err(Error::from)?;
        if totp.is_below_rfc4226_minimum() {
            println!(
                "warning: the MFA secret's key is {} bits, shorter than the 128 bits RFC 4226 \
                 asks for: it gives the service's codes, but a longer one is harder to guess.",
                totp.key_bits()
            );
        }
    }
    let pass = input.new_passphrase()?;
    // Every unmet rule at once, the email and its parts included as context words.
    let valid = vault
        .check_passphrase(pass, &email)
        .map_err(Failure::Policy)?;
    let mut creds = Credentials::new(email, password);
    if !mfa.expose_secret().is_empty() {
        creds = creds.with_mfa_secret(mfa);
    }
    vault.store(creds, valid)?;
    println!(
        "Created {} (mode 0600); it locks again as this command exits.",
        path.display()
    );
    match vault.add_recovery_key(RECOVERY_KEY_LABEL) {
        Ok(key) => print_recovery_key("Your recovery key", &key),
        Err(e) => {
            eprintln!(
                "The vault is created, but without a recovery key: run `add-recovery-key` to \
                 make one."
            );
            return Err(e.into());
        }
    }
    Ok(())
}

fn show(path: &Path, input: &mut Input, reveal: bool, json: bool) -> Result<(), Failure> {
    let vault = existing(path)?;
    vault.unlock(&input.secret("Passphrase: ", "the passphrase")?)?;
    let creds = vault.credentials()?;
    let length = creds.password().expose_secret().chars().count();
    let password = if reveal {
        creds.password().expose_secret().to_owned()
    } else {
        "*".repeat(8)
    };
    let mfa = creds.mfa_secret().is_some();
    // The current TOTP code of the MFA secret, and how long it stays valid; an imported
    // secret that gives no codes is shown as such, with the reason.
    let (totp, totp_problem) = if mfa {
        match vault.totp() {
            Ok(code) => (Some(code), None),
            Err(Error::InvalidMfaSecret { reason }) => (None, Some(reason)),
            Err(e) => return Err(e.into()),
        }
    } else {
        (None, None)
    };
    if json {
        let value = serde_json::json!({
            "email": creds.email(),
            "password": password,
            "password_revealed": reveal,
            "password_length": length,
            "mfa_secret_stored": mfa,
            "totp": totp.as_ref().map(|t| serde_json::json!({
                "code": t.code().expose_secret(),
                "seconds_left": t.seconds_left(),
            })),
            "totp_problem": totp_problem,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("email:    {}", creds.email());
        println!("password: {password} ({length} characters)");
        match (&totp, totp_problem) {
            (Some(t), _) => println!(
                "totp:     {} ({} s left)",
                t.code().expose_secret(),
                t.seconds_left()
            ),
            (None, Some(problem)) => {
                println!("totp:     no code: the stored MFA secret gives none ({problem})");
            }
            (None, None) => println!("totp:     no MFA secret stored"),
        }
    }
    Ok(())
}

fn status(path: &Path, json: bool) -> Result<(), Failure> {
    // `inspect` reports even a vault that cannot be opened, naming the problem.
    let report = Vault::builder(path).inspect();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    match report.state {
        // The report above says what is wrong; the exit code says it is the file.
        None => Err(Failure::BadFile(report.problems.first().map_or_else(
            || "the vault cannot be opened".to_owned(),
            |p| p.message.clone(),
        ))),
        Some(SessionState::NoCredentials) => Err(Failure::NoVault(path.to_path_buf())),
        Some(_) => Ok(()),
    }
}

fn print_report(report: &SecurityStatus) {
    let state = report
        .state
        .map_or_else(|| "cannot be opened".to_owned(), |s| s.to_string());
    println!("state:            {state}");
    if let Some(cipher) = &report.cipher {
        println!(
            "cipher:           {} ({})",
            cipher.name, cipher.construction
        );
    }
    if let Some(kdf) = &report.kdf {
        println!(
            "key derivation:   {} with {} iterations, {}-byte salt",
            kdf.algorithm, kdf.iterations, kdf.salt_bytes
        );
    }
    if let Some(file) = &report.file {
        println!(
            "file mode:        {}",
            file.mode.as_deref().unwrap_or("(no file)")
        );
    }
    println!(
        "policy:           {}",
        report
            .policy
            .rules
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    match &report.lockout {
        Some(l) => println!(
            "lockout:          after {} failures, {} s doubling to {} s",
            l.max_attempts, l.base_delay_secs, l.max_delay_secs
        ),
        None => println!("lockout:          off"),
    }
    println!("failed attempts:  {}", report.failed_attempts);
    if let Some(secs) = report.locked_out_for_secs {
        println!("locked out for:   {secs} s");
    }
    println!("audit:            {}", report.audit.sinks.join(", "));
    for p in &report.problems {
        println!("problem:          {} ({})", p.message, p.code);
    }
}
