//! The git commit a build comes from, for `kopilot version`. Shared by the build script and
//! the binary's unit tests (`#[path]`), so the fallbacks are tested.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The checked-out commit.
pub(crate) struct Commit {
    /// The full hash.
    pub(crate) hash: String,
    /// The commit date, `YYYY-MM-DD`, when git could say.
    pub(crate) date: String,
    /// Files that change when another commit is checked out (HEAD, the branch's ref).
    pub(crate) watch: Vec<PathBuf>,
}

/// The commit checked out around `manifest_dir`, when `manifest_dir/Cargo.toml` is a file git
/// tracks there: `None` without git, outside a checkout (a `cargo install` from a tarball), or
/// inside an unrelated repository the sources were unpacked into.
pub(crate) fn git_commit(manifest_dir: &Path) -> Option<Commit> {
    let git = |args: &[&str]| {
        output(
            Command::new("git")
                .args(args)
                .current_dir(manifest_dir)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE"),
        )
    };
    git(&["ls-files", "--error-unmatch", "Cargo.toml"])?;
    let hash = git(&["rev-parse", "--verify", "HEAD"])?;
    if hash.len() < 12 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut watch = Vec::new();
    for file in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", file]) {
            watch.push(manifest_dir.join(path));
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &branch])
    {
        watch.push(manifest_dir.join(path));
    }
    let date = git(&["show", "-s", "--format=%cs", "HEAD"]).unwrap_or_default();
    Some(Commit { hash, date, watch })
}

/// The first line of a command's standard output, when it ran and succeeded.
pub(crate) fn output(command: &mut Command) -> Option<String> {
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::git_commit;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn no_commit_outside_a_checkout_or_for_files_the_checkout_does_not_track() {
        let dir = tempfile::tempdir().unwrap();
        let crate_dir = dir.path().join("kopilot-cli");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(crate_dir.join("Cargo.toml"), "[package]\n").unwrap();
        // An unpacked tarball: no repository at all.
        assert!(git_commit(&crate_dir).is_none());
        // Unpacked inside someone's repository that does not track it.
        git(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        git(dir.path(), &["add", "notes.txt"]);
        git(dir.path(), &["commit", "-q", "-m", "unrelated"]);
        assert!(git_commit(&crate_dir).is_none());
        // A checkout of the crate itself.
        git(dir.path(), &["add", "kopilot-cli/Cargo.toml"]);
        git(dir.path(), &["commit", "-q", "-m", "the crate"]);
        let commit = git_commit(&crate_dir).expect("a commit");
        assert_eq!(commit.hash.len(), 40, "{}", commit.hash);
        assert_eq!(commit.date.len(), 10, "{}", commit.date);
        assert!(commit.watch.iter().any(|p| p.ends_with("HEAD")));
    }
}
