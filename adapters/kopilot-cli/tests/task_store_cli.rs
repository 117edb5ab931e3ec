//! The task store as processes share it: a task whose process was killed is marked
//! interrupted by the next `kopilot` to open the store, while a task another live process is
//! running is left alone; and several first runs on a fresh data directory create the store
//! once between them.

mod support;

use std::time::{Duration, Instant};

use kopilot_fake::demo;
use serde_json::Value;
use support::{Reply, Scenario, Script};

/// Enough for a whole task on a busy 2-core machine; a hang fails instead of stalling CI.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Waits until the scripted model has been asked something (the task is then running).
fn wait_for_the_model(scenario: &Scenario) {
    let deadline = Instant::now() + RUN_LIMIT;
    while scenario.stub().requests().is_empty() {
        assert!(Instant::now() < deadline, "the model was never called");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `kopilot history --json`, parsed.
fn history(scenario: &Scenario) -> Vec<Value> {
    let out = scenario.kopilot(&["history", "--json"]).run(RUN_LIMIT);
    out.expect_code(0);
    serde_json::from_str(&out.stdout).expect("history --json is a JSON array")
}

#[test]
fn a_killed_task_is_interrupted_for_the_next_process_and_a_running_one_is_not() {
    let slow = || Reply::text("too late").after(Duration::from_secs(60));
    let scenario = Scenario::new()
        .with_cluster(demo::builder())
        .with_stub(Script::new().any([slow(), slow()]));

    // A task in a live process: another process's start-up must not mark it.
    let mut running = scenario
        .ask(&["--output", "json", "Anything wrong in shop?"])
        .spawn();
    running.wait_for_stdout(RUN_LIMIT, "task_started", |out| {
        out.contains("task_started")
    });
    wait_for_the_model(&scenario);
    let tasks = history(&scenario);
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert!(
        tasks[0]["result"].is_null(),
        "a task another live process runs was given a result: {:#}",
        tasks[0]
    );

    // Killed without a chance to record anything.
    running.child.kill().expect("SIGKILL");
    let killed = running.wait(RUN_LIMIT);
    assert_eq!(killed.code, None, "ended by a signal");
    let tasks = history(&scenario);
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert_eq!(
        tasks[0]["result"]["status"], "interrupted",
        "the killed task: {:#}",
        tasks[0]
    );
    assert_eq!(tasks[0]["result"]["error"]["code"], "interrupted");
}

#[test]
fn six_first_runs_at_once_on_a_fresh_data_directory_all_succeed() {
    let scenario = Scenario::new();
    assert!(!scenario.data_dir().exists());
    let runs: Vec<_> = (0..6)
        .map(|_| {
            scenario
                .ask(&[
                    "--demo",
                    "--offline",
                    "--output",
                    "json",
                    "Any orphaned PVCs?",
                ])
                .spawn()
        })
        .collect();
    for run in runs {
        let out = run.wait(RUN_LIMIT);
        assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
        assert!(
            !out.stderr.contains("already exists") && !out.stderr.contains("locked"),
            "{}",
            out.stderr
        );
    }
    let tasks = history(&scenario);
    assert_eq!(tasks.len(), 6, "{tasks:#?}");
    assert!(
        tasks.iter().all(|t| t["result"]["status"] == "succeeded"),
        "{tasks:#?}"
    );
}
