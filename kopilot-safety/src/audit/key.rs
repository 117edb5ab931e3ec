//! The audit key: 32 random bytes, kept as hex in a file that only its owner may read.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use hmac::{Hmac, Mac as _};
use rand::TryRngCore as _;
use sha2::Sha256;

use crate::error::{Error, Result};

/// HMAC-SHA256, the MAC of records and anchors.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The key's length in bytes.
const KEY_LEN: usize = 32;

/// A loaded audit key. It never appears in `Debug` output or error messages.
#[derive(Clone)]
pub(crate) struct AuditKey {
    hmac: HmacSha256,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// The key in `path`; `Ok(None)` when the file does not exist. Refuses a file that group or
    /// others may read or write, and one that does not hold a key.
    pub(crate) fn load(path: &Path) -> Result<Option<Self>> {
        let io = |source| Error::AuditKeyIo {
            path: path.to_owned(),
            source,
        };
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        check_private(path, &file)?;
        // A key file is 65 bytes; reading a little more tells a longer file from a key.
        let mut bytes = Vec::new();
        file.take(256).read_to_end(&mut bytes).map_err(io)?;
        let invalid = |reason: &str| Error::AuditKeyInvalid {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| invalid("it is not text"))?
            .trim();
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        let key = hex::decode(text)
            .ok()
            .filter(|key| key.len() == KEY_LEN)
            .ok_or_else(|| invalid("it does not hold 64 hexadecimal digits"))?;
        Self::from_bytes(&key)
            .map(Some)
            .ok_or_else(|| invalid("it is not a key"))
    }

    /// Creates a new random key at `path`, readable and writable by its owner only. When
    /// another process created the file first, loads that one instead.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let io = |source| Error::AuditKeyIo {
            path: path.to_owned(),
            source,
        };
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut key)
            .map_err(|e| io(std::io::Error::other(e)))?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Self::load(path)?.ok_or_else(|| io(e));
            }
            Err(e) => return Err(io(e)),
        };
        let written = file
            .write_all(format!("{}\n", hex::encode(key)).as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            // Leave no empty or partial key behind to be mistaken for a key later.
            let _ = std::fs::remove_file(path);
            return Err(io(e));
        }
        Self::from_bytes(&key).ok_or_else(|| Error::AuditKeyInvalid {
            path: path.to_owned(),
            reason: "it is not a key".to_owned(),
        })
    }

    fn from_bytes(key: &[u8]) -> Option<Self> {
        // HMAC takes keys of any length: this never fails.
        HmacSha256::new_from_slice(key)
            .ok()
            .map(|hmac| Self { hmac })
    }

    /// A fresh MAC computation under this key.
    pub(crate) fn hmac(&self) -> HmacSha256 {
        self.hmac.clone()
    }

    /// The MAC of `bytes`, as lowercase hex.
    pub(crate) fn mac_hex(&self, bytes: &[u8]) -> String {
        let mut hmac = self.hmac();
        hmac.update(bytes);
        hex::encode(hmac.finalize().into_bytes())
    }
}

/// Refuses a key file that group or others may read or write.
#[cfg(unix)]
fn check_private(path: &Path, file: &File) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file
        .metadata()
        .map_err(|source| Error::AuditKeyIo {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    // Any permission bit for group (0o070) or others (0o007).
    if mode & 0o077 != 0 {
        return Err(Error::AuditKeyExposed {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

/// Windows has no mode bits; access is left to the file's ACL.
#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &File) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_loads_again_and_macs_alike() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let created = AuditKey::create(&path).unwrap();
        let loaded = AuditKey::load(&path).unwrap().unwrap();
        assert_eq!(created.mac_hex(b"x"), loaded.mac_hex(b"x"));
        assert_eq!(format!("{loaded:?}"), "AuditKey(..)");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        // Creating again keeps the first key.
        let again = AuditKey::create(&path).unwrap();
        assert_eq!(again.mac_hex(b"x"), created.mac_hex(b"x"));
    }

    #[test]
    fn two_keys_differ() {
        let dir = tempfile::tempdir().unwrap();
        let a = AuditKey::create(&dir.path().join("a")).unwrap();
        let b = AuditKey::create(&dir.path().join("b")).unwrap();
        assert_ne!(a.mac_hex(b"x"), b.mac_hex(b"x"));
    }

    #[test]
    fn a_missing_key_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AuditKey::load(&dir.path().join("none")).unwrap().is_none());
    }
}
