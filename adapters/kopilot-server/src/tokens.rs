//! Bearer tokens: the file that holds them (only their SHA-256, with a name and a role), and
//! the verifier the server asks on every request, which re-reads the file when it changes.
//!
//! A token is `kopilot_` followed by 64 hex digits (256 random bits). It is shown once, when
//! it is made; the file keeps its hash only, so a copy of the file lets nobody in.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// What a token may do. Each of viewer, operator, approver and admin may do everything the
/// ones before it may. `agent` stands apart: it sorts first, so no `>=` against another role
/// lets it through, and [`Role::allows`] grants it only what needs the agent role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// KubeCopilot's operator: `POST /asyncchat` and `DELETE /cancel/{queue_id}` for its own
    /// tasks, nothing else (not even reading tasks or approvals).
    Agent,
    /// Read tasks, their events and results, approvals, skills.
    Viewer,
    /// Also submit tasks and cancel its own.
    Operator,
    /// Also decide approvals (never its own under four-eyes).
    Approver,
    /// Everything, including cancelling other tokens' tasks.
    Admin,
}

impl Role {
    /// Every role: the agent's apart, then the others least first.
    pub const ALL: [Role; 5] = [
        Role::Agent,
        Role::Viewer,
        Role::Operator,
        Role::Approver,
        Role::Admin,
    ];

    /// Whether a token of this role may do what `needed` is required for. The agent role is
    /// separate: only an agent or an admin passes where `agent` is needed, and an agent passes
    /// nowhere else; the other roles each include the ones below them.
    pub fn allows(self, needed: Role) -> bool {
        match (self, needed) {
            (Self::Admin, _) | (Self::Agent, Self::Agent) => true,
            (Self::Agent, _) | (_, Self::Agent) => false,
            (have, needed) => have >= needed,
        }
    }

    /// The lowercase name used in the file, on the command line and in errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Approver => "approver",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a role; the roles are viewer, operator, approver, admin, agent"
                )
            })
    }
}

/// Who a request comes from, as the token it carried says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name: the identity tasks, approvals and the audit log record.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// One token as the file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Its name, unique in the file.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// SHA-256 of the token, in hex.
    pub sha256: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The tokens file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    /// The file format's version (1).
    #[serde(default = "format_version")]
    pub version: u32,
    /// The tokens, in the order they were made.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

fn format_version() -> u32 {
    1
}

impl Default for TokenFile {
    /// An empty file of the current format.
    fn default() -> Self {
        Self {
            version: format_version(),
            tokens: Vec::new(),
        }
    }
}

/// What went wrong with a tokens file or a token name.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a tokens file.
    #[error("{path}: not a kopilot tokens file: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and column.
        reason: String,
    },
    /// A token name that cannot be used.
    #[error(
        "token name `{0}`: use 1 to 64 letters, digits, `-`, `_`, `.` or `@` (it names the \
         caller in tasks and the audit log)"
    )]
    BadName(String),
    /// `add` with a name the file already has.
    #[error("{path}: there is already a token named `{name}` (revoke it first)")]
    Exists {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
    },
    /// `revoke` with a name the file does not have.
    #[error("{path}: there is no token named `{name}`")]
    Unknown {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
    },
}

/// The prefix of every token (so secret scanners and people recognize one).
pub const TOKEN_PREFIX: &str = "kopilot_";

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A token name: letters, digits and `-_.@`. Never `:`, which the server's own callers use
/// (`webhook:<receiver>`, `mcp:<client>`), so no token can pass for one of them (and cancel
/// their tasks, or share their rate).
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

impl TokenFile {
    /// Reads `path`; `Ok(None)` when there is no such file.
    ///
    /// # Errors
    /// [`TokenError::Io`] when it cannot be read, [`TokenError::Invalid`] when it is not a
    /// tokens file (with the line and column), or holds a bad name or hash, or a name twice.
    pub fn load(path: &Path) -> Result<Option<Self>, TokenError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(TokenError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let invalid = |reason: String| TokenError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let file: TokenFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if file.version != 1 {
            return Err(invalid(format!(
                "format version {} (this kopilot reads version 1)",
                file.version
            )));
        }
        for (i, entry) in file.tokens.iter().enumerate() {
            if !valid_name(&entry.name) {
                return Err(invalid(format!(
                    "token {}: bad name `{}`",
                    i + 1,
                    entry.name
                )));
            }
            if entry.sha256.len() != 64 || hex::decode(&entry.sha256).is_err() {
                return Err(invalid(format!(
                    "token `{}`: `sha256` is not 64 hex digits",
                    entry.name
                )));
            }
            if file.tokens[..i].iter().any(|e| e.name == entry.name) {
                return Err(invalid(format!("token `{}` appears twice", entry.name)));
            }
        }
        Ok(Some(file))
    }

    /// Writes the file: to a temporary file beside it, readable by its owner only (0600),
    /// then renamed over it, so a reader never sees half a file. Creates the directory.
    ///
    /// # Errors
    /// [`TokenError::Io`] when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), TokenError> {
        let io = |source| TokenError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(e.into()))?;
        text.push('\n');
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut file = options.open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// Makes a new token named `name` with `role`, keeps its hash, and returns the token (the
    /// only time it is seen).
    ///
    /// # Errors
    /// [`TokenError::BadName`] or [`TokenError::Exists`]; `path` is for the message.
    pub fn add(&mut self, path: &Path, name: &str, role: Role) -> Result<String, TokenError> {
        if !valid_name(name) {
            return Err(TokenError::BadName(name.to_owned()));
        }
        if self.tokens.iter().any(|e| e.name == name) {
            return Err(TokenError::Exists {
                path: path.to_owned(),
                name: name.to_owned(),
            });
        }
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        self.tokens.push(TokenEntry {
            name: name.to_owned(),
            role,
            sha256: hex::encode(hash(&token)),
            created_at: OffsetDateTime::now_utc(),
        });
        Ok(token)
    }

    /// Removes the token named `name`.
    ///
    /// # Errors
    /// [`TokenError::Unknown`]; `path` is for the message.
    pub fn revoke(&mut self, path: &Path, name: &str) -> Result<TokenEntry, TokenError> {
        match self.tokens.iter().position(|e| e.name == name) {
            Some(i) => Ok(self.tokens.remove(i)),
            None => Err(TokenError::Unknown {
                path: path.to_owned(),
                name: name.to_owned(),
            }),
        }
    }

    /// Who `token` belongs to, comparing its hash with every entry's in constant time.
    pub fn verify(&self, token: &str) -> Option<Caller> {
        let presented = hash(token);
        let mut found = None;
        for entry in &self.tokens {
            let mut stored = [0u8; 32];
            if hex::decode_to_slice(&entry.sha256, &mut stored).is_err() {
                continue;
            }
            if bool::from(stored.ct_eq(&presented)) {
                found = Some(Caller {
                    name: entry.name.clone(),
                    role: entry.role,
                });
            }
        }
        found
    }
}

/// The tokens a running server accepts: the file, read again whenever its modification time
/// or size changes (so `kopilot tokens add|revoke` takes effect without a restart). A file
/// that stops being readable or valid fails closed: no token is accepted until it is fixed.
#[derive(Debug, Clone)]
pub struct Tokens {
    path: PathBuf,
    state: Arc<Mutex<Loaded>>,
}

#[derive(Debug)]
struct Loaded {
    stamp: Option<(SystemTime, u64)>,
    file: TokenFile,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl Tokens {
    /// The tokens of `path`, which must exist and be valid now.
    ///
    /// # Errors
    /// What [`TokenFile::load`] says, or [`TokenError::Io`] when there is no such file.
    pub fn open(path: &Path) -> Result<Self, TokenError> {
        let stamp = stamp(path);
        let file = TokenFile::load(path)?.ok_or_else(|| TokenError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        })?;
        Ok(Self {
            path: path.to_owned(),
            state: Arc::new(Mutex::new(Loaded { stamp, file })),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Who `token` belongs to, with the file as it is now.
    pub fn verify(&self, token: &str) -> Option<Caller> {
        let now = stamp(&self.path);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now != state.stamp {
            state.stamp = now;
            state.file = match TokenFile::load(&self.path) {
                Ok(Some(file)) => {
                    tracing::info!(path = %self.path.display(), tokens = file.tokens.len(), "tokens file reloaded");
                    file
                }
                Ok(None) => {
                    tracing::error!(path = %self.path.display(), "tokens file removed: no token is accepted until it is back");
                    TokenFile::default()
                }
                Err(e) => {
                    tracing::error!(error = %e, "tokens file unreadable: no token is accepted until it is fixed");
                    TokenFile::default()
                }
            };
        }
        state.file.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_role_stands_apart_from_the_others() {
        use Role::{Admin, Agent, Approver, Operator, Viewer};
        for other in [Viewer, Operator, Approver] {
            assert!(!Agent.allows(other), "agent may not do what {other} may");
            assert!(!other.allows(Agent), "{other} may not do what agent may");
            assert!(Admin.allows(other));
        }
        assert!(Agent.allows(Agent));
        assert!(Admin.allows(Agent));
        assert!(!Agent.allows(Admin));
        assert!(Approver.allows(Operator) && Operator.allows(Viewer));
        assert!(!Viewer.allows(Operator));
        assert_eq!("agent".parse::<Role>(), Ok(Agent));
    }

    #[test]
    fn tokens_are_kept_as_hashes_and_verified_by_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let mut file = TokenFile::default();
        let token = file.add(&path, "alice", Role::Operator).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 64);
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&token[TOKEN_PREFIX.len()..]), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = TokenFile::load(&path).unwrap().unwrap();
        assert_eq!(
            loaded.verify(&token),
            Some(Caller {
                name: "alice".into(),
                role: Role::Operator
            })
        );
        assert_eq!(loaded.verify("kopilot_00"), None);
        assert_eq!(loaded.verify(""), None);
    }

    #[test]
    fn names_and_files_are_checked() {
        let path = Path::new("t.json");
        let mut file = TokenFile::default();
        assert!(matches!(
            file.add(path, "", Role::Admin),
            Err(TokenError::BadName(_))
        ));
        assert!(matches!(
            file.add(path, "a b", Role::Admin),
            Err(TokenError::BadName(_))
        ));
        // `:` is the server's own callers' (`webhook:<receiver>`, `mcp:<client>`).
        assert!(matches!(
            file.add(path, "webhook:alertmanager", Role::Admin),
            Err(TokenError::BadName(_))
        ));
        file.add(path, "ci", Role::Viewer).unwrap();
        assert!(matches!(
            file.add(path, "ci", Role::Admin),
            Err(TokenError::Exists { .. })
        ));
        assert!(matches!(
            file.revoke(path, "nobody"),
            Err(TokenError::Unknown { .. })
        ));
        file.revoke(path, "ci").unwrap();
        assert!(file.tokens.is_empty());

        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"tokens\": [}").unwrap();
        let err = TokenFile::load(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.json") && err.contains("line 1"), "{err}");
        std::fs::write(
            &bad,
            r#"{"tokens":[{"name":"x","role":"root","sha256":"00","created_at":"2026-01-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        let err = TokenFile::load(&bad).unwrap_err().to_string();
        assert!(err.contains("root"), "{err}");
        assert!(
            TokenFile::load(&dir.path().join("none.json"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_changed_file_is_read_again_and_a_broken_one_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let mut file = TokenFile::default();
        let alice = file.add(&path, "alice", Role::Admin).unwrap();
        file.save(&path).unwrap();
        let tokens = Tokens::open(&path).unwrap();
        assert!(tokens.verify(&alice).is_some());

        let bob = file.add(&path, "bob-the-approver", Role::Approver).unwrap();
        file.revoke(&path, "alice").unwrap();
        file.save(&path).unwrap();
        assert_eq!(tokens.verify(&bob).unwrap().role, Role::Approver);
        assert!(tokens.verify(&alice).is_none(), "revoked");

        std::fs::write(&path, "not json at all, and longer than before").unwrap();
        assert!(
            tokens.verify(&bob).is_none(),
            "a broken file lets nobody in"
        );
    }
}
