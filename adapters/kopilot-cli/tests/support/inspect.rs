//! Looking at what a kopilot run left behind: the audit log, the task store's files, and any
//! `kubectl` it started that is still running.

use std::path::PathBuf;

use kopilot_core::safety::AuditRecord;

use super::Scenario;

impl Scenario {
    /// The audit log's records, each line parsed (a line that is not a record fails the test).
    pub fn audit_records(&self) -> Vec<AuditRecord> {
        self.audit_log()
            .lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("audit.jsonl line {} is not a record ({e}): {line}", i + 1)
                })
            })
            .collect()
    }

    /// The SQLite task store's files (database, write-ahead log), as lossy text.
    pub fn store_files_text(&self) -> String {
        let dir = self.data_dir();
        let mut all = String::new();
        for entry in std::fs::read_dir(&dir).expect("the data directory exists") {
            let path = entry.expect("a directory entry").path();
            let is_store = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("kopilot.db"));
            if is_store {
                all.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&path).unwrap_or_default(),
                ));
            }
        }
        assert!(!all.is_empty(), "no task store in {}", dir.display());
        all
    }

    /// Processes running `kubectl` with this scenario's files (its kubeconfig or HOME in the
    /// command line or the environment).
    pub fn kubectl_processes(&self) -> Vec<String> {
        let marker = self.dir.path().display().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let read = |path: PathBuf| {
            String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).replace('\0', " ")
        };
        entries
            .flatten()
            .map(|entry| entry.path())
            .filter_map(|dir| {
                let cmdline = read(dir.join("cmdline"));
                let ours = cmdline.contains(&marker) || read(dir.join("environ")).contains(&marker);
                (cmdline.contains("kubectl") && ours).then_some(cmdline)
            })
            .collect()
    }
}
