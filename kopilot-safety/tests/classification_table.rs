//! Table-driven classification cases under the default policy (mode `approve`, protected
//! namespaces kube-system, kube-public, kube-node-lease); the cases are in `common/cases.rs`.

mod common;

#[test]
fn every_case_gets_the_expected_decision_and_risk() {
    common::check_table(common::cases::CLASSIFICATION);
}

#[test]
fn the_table_is_large_enough() {
    assert!(
        common::cases::CLASSIFICATION.len() >= 150,
        "only {} cases",
        common::cases::CLASSIFICATION.len()
    );
}
