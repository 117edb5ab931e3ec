//! LiveSkills reloads when a directory's files change, including a ConfigMap symlink swap.

mod common;

use common::fixture;
use kopilot_skills::{LiveSkills, Refresh, SkillLoader};

fn gitops_yaml() -> String {
    std::fs::read_to_string(fixture("override/gitops.yaml")).expect("fixture")
}

#[test]
fn unchanged_directory_is_not_reloaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("gitops.yaml"), gitops_yaml()).expect("write");
    let live = LiveSkills::new(SkillLoader::new().directory(dir.path())).expect("loads");
    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Unchanged
    ));
    // Rewriting the same bytes (a touch) changes nothing either.
    std::fs::write(dir.path().join("gitops.yaml"), gitops_yaml()).expect("write");
    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Unchanged
    ));
}

#[test]
fn changed_added_and_removed_files_are_picked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("gitops.yaml");
    std::fs::write(&file, gitops_yaml()).expect("write");
    let live = LiveSkills::new(SkillLoader::new().directory(dir.path())).expect("loads");
    let before = live.registry();
    assert_eq!(
        before.get("gitops").expect("loaded").display_name,
        "GitOps drift"
    );

    std::fs::write(
        &file,
        gitops_yaml().replace("GitOps drift", "GitOps drift v2"),
    )
    .expect("write");
    let Refresh::Reloaded(after) = live.refresh().expect("refresh") else {
        panic!("expected a reload")
    };
    assert_eq!(
        after.get("gitops").expect("loaded").display_name,
        "GitOps drift v2"
    );
    assert_eq!(
        live.registry().get("gitops").expect("loaded").display_name,
        "GitOps drift v2"
    );
    // A reader holding the old registry keeps it.
    assert_eq!(
        before.get("gitops").expect("loaded").display_name,
        "GitOps drift"
    );

    std::fs::write(
        dir.path().join("extra.yaml"),
        gitops_yaml().replace("name: gitops", "name: extra"),
    )
    .expect("write");
    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Reloaded(_)
    ));
    assert_eq!(live.registry().names(), ["extra", "gitops"]);

    std::fs::remove_file(&file).expect("remove");
    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Reloaded(_)
    ));
    assert_eq!(live.registry().names(), ["extra"]);
}

#[test]
fn failed_reload_keeps_the_previous_skills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("gitops.yaml");
    std::fs::write(&file, gitops_yaml()).expect("write");
    let live =
        LiveSkills::new(SkillLoader::new().directory(dir.path()).strict(true)).expect("loads");
    std::fs::write(&file, "name: gitops\ndisplay_name: [broken\n").expect("write");
    let err = live.refresh().expect_err("strict reload fails");
    assert!(err.to_string().contains("gitops.yaml:2"), "{err}");
    assert_eq!(
        live.registry().names(),
        ["gitops"],
        "previous registry still served"
    );
    // Fixing the file reloads again.
    std::fs::write(&file, gitops_yaml().replace("GitOps drift", "Fixed")).expect("write");
    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Reloaded(_)
    ));
    assert_eq!(
        live.registry().get("gitops").expect("loaded").display_name,
        "Fixed"
    );
}

#[test]
fn directory_appearing_later_is_picked_up() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("skills");
    let live = LiveSkills::new(SkillLoader::new().directory(&dir)).expect("non-strict");
    assert!(live.registry().is_empty());
    assert!(live.registry().report().has_errors());
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("gitops.yaml"), gitops_yaml()).expect("write");
    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Reloaded(_)
    ));
    assert_eq!(live.registry().names(), ["gitops"]);
    assert!(!live.registry().report().has_errors());
}

/// Kubernetes updates a mounted ConfigMap by writing a new timestamped
/// directory and atomically re-pointing the `..data` symlink; the visible
/// file symlinks never change.
#[cfg(unix)]
#[test]
fn configmap_symlink_swap_is_picked_up() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let write_version = |stamp: &str, display: &str| {
        let version = dir.path().join(format!("..{stamp}"));
        std::fs::create_dir(&version).expect("mkdir");
        std::fs::write(
            version.join("gitops.yaml"),
            gitops_yaml().replace("GitOps drift", display),
        )
        .expect("write");
        version
    };
    let v1 = write_version("2026_11_23_10_00_00.1", "Version one");
    symlink(v1.file_name().expect("name"), dir.path().join("..data")).expect("symlink");
    symlink("..data/gitops.yaml", dir.path().join("gitops.yaml")).expect("symlink");
    let live =
        LiveSkills::new(SkillLoader::new().directory(dir.path()).strict(true)).expect("loads");
    assert_eq!(
        live.registry().get("gitops").expect("loaded").display_name,
        "Version one"
    );

    let v2 = write_version("2026_11_23_10_05_00.2", "Version two");
    let tmp_link = dir.path().join("..data_tmp");
    symlink(v2.file_name().expect("name"), &tmp_link).expect("symlink");
    std::fs::rename(&tmp_link, dir.path().join("..data")).expect("atomic swap");
    std::fs::remove_dir_all(&v1).expect("old version removed");

    assert!(matches!(
        live.refresh().expect("refresh"),
        Refresh::Reloaded(_)
    ));
    assert_eq!(
        live.registry().get("gitops").expect("loaded").display_name,
        "Version two"
    );
}
