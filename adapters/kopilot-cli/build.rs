//! Records the build's details for `kopilot version`: the git commit when built from a git
//! checkout of this repository, the compiler's version, the target and the profile. Nothing
//! here can fail the build: without git, or outside a checkout (a `cargo install` from a
//! tarball), the commit is recorded as unknown (an empty value).

#[path = "build/git_commit.rs"]
mod git_commit;

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = git_commit::git_commit(&manifest_dir);
    let (full, short, date) = match &commit {
        Some(commit) => (
            commit.hash.as_str(),
            commit.hash.get(..12).unwrap_or_default(),
            commit.date.as_str(),
        ),
        None => ("", "", ""),
    };
    println!("cargo:rustc-env=KOPILOT_GIT_COMMIT={full}");
    println!("cargo:rustc-env=KOPILOT_GIT_COMMIT_SHORT={short}");
    println!("cargo:rustc-env=KOPILOT_GIT_COMMIT_DATE={date}");
    // A new commit or checkout moves HEAD or the branch it names: record the new one.
    for path in commit.iter().flat_map(|c| &c.watch) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc_version =
        git_commit::output(Command::new(rustc).arg("--version")).unwrap_or_default();
    println!("cargo:rustc-env=KOPILOT_RUSTC_VERSION={rustc_version}");
    for (name, var) in [
        ("KOPILOT_BUILD_TARGET", "TARGET"),
        ("KOPILOT_BUILD_PROFILE", "PROFILE"),
    ] {
        println!(
            "cargo:rustc-env={name}={}",
            std::env::var(var).unwrap_or_default()
        );
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/git_commit.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
