//! Reloading skills when their files change (a mounted ConfigMap updates in place).

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::Result;
use crate::loader::SkillLoader;
use crate::registry::SkillRegistry;

/// The outcome of one [`LiveSkills::refresh`].
#[derive(Debug, Clone)]
#[must_use]
pub enum Refresh {
    /// No source changed; the registry is the same.
    Unchanged,
    /// A source changed and the skills were read again; this is the new registry.
    Reloaded(Arc<SkillRegistry>),
}

#[derive(Debug)]
struct Current {
    registry: Arc<SkillRegistry>,
    fingerprints: Vec<Option<String>>,
}

/// A registry that re-reads its sources when they change.
///
/// Call [`refresh`](Self::refresh) on an interval (e.g. every 10 seconds from
/// a runtime task). It compares each source's
/// [fingerprint](crate::SkillSource::fingerprint), a hash of the files'
/// content, so it sees ConfigMap updates (a symlink swap that leaves file
/// times alone) and ignores touches that change nothing. Readers hold an
/// `Arc` of the registry they started with, so a reload never changes a
/// task's skills mid-way.
#[derive(Debug)]
pub struct LiveSkills {
    loader: SkillLoader,
    current: RwLock<Current>,
}

impl LiveSkills {
    /// Loads `loader` once; fails as [`SkillLoader::load`] does.
    pub fn new(loader: SkillLoader) -> Result<Self> {
        let fingerprints = loader.fingerprints();
        let registry = Arc::new(loader.load()?);
        Ok(Self {
            loader,
            current: RwLock::new(Current {
                registry,
                fingerprints,
            }),
        })
    }

    /// The registry as of the last successful load.
    pub fn registry(&self) -> Arc<SkillRegistry> {
        Arc::clone(&self.read().registry)
    }

    /// Re-reads the sources if any changed since the last load.
    ///
    /// When the new load fails (strict mode, or `ENABLED_SKILLS` names a
    /// skill that disappeared) the previous registry stays in use and the
    /// error is returned; the next change is tried again.
    pub fn refresh(&self) -> Result<Refresh> {
        let fingerprints = self.loader.fingerprints();
        if fingerprints == self.read().fingerprints {
            return Ok(Refresh::Unchanged);
        }
        let registry = match self.loader.load() {
            Ok(registry) => Arc::new(registry),
            Err(err) => {
                tracing::warn!(error = %err, "skill reload failed; keeping the previous skills");
                self.write().fingerprints = fingerprints;
                return Err(err);
            }
        };
        tracing::info!(skills = ?registry.names(), "skills reloaded");
        let mut current = self.write();
        current.registry = Arc::clone(&registry);
        current.fingerprints = fingerprints;
        Ok(Refresh::Reloaded(registry))
    }

    // A poisoned lock only means a reader panicked; the data is still whole.
    fn read(&self) -> RwLockReadGuard<'_, Current> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Current> {
        self.current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
