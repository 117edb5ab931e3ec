//! The path from "needs approval" to "runs": approvers, tickets, four-eyes, expiry, cancel.

use std::sync::Arc;
use std::time::Duration;

use kopilot_safety::{
    ApprovalDecision, ApprovalRequest, ApproveAll, AuditEvent, ChannelApprover, DenyAll, Error,
    Guard, Identity, MemoryAuditSink, Policy, Refusal, RequestContext, Verdict,
};

fn ctx() -> RequestContext {
    RequestContext::new(Identity::new("alice")).with_task("t-1")
}

fn bob() -> Identity {
    Identity::new("bob")
}

#[tokio::test]
async fn reads_clear_without_an_approver_and_carry_their_pipeline() {
    let guard = Guard::new(Policy::default());
    let cleared = guard
        .authorize(
            "kubectl get pods -A | grep -v Running",
            &ctx(),
            &DenyAll::default(),
        )
        .await
        .unwrap();
    assert!(cleared.approval().is_none());
    assert_eq!(
        cleared.pipeline().unwrap(),
        [
            vec!["kubectl", "get", "pods", "-A"],
            vec!["grep", "-v", "Running"]
        ]
    );
}

#[tokio::test]
async fn lines_that_need_a_shell_have_no_plain_pipeline() {
    let guard = Guard::new(Policy::default());
    for line in [
        "kubectl get pods; kubectl get svc",
        "kubectl get pods 2>/dev/null",
        "X=1 kubectl get pods",
        "kubectl get pods -n $NS",
    ] {
        let cleared = guard
            .authorize(line, &ctx(), &DenyAll::default())
            .await
            .unwrap();
        assert!(cleared.pipeline().is_none(), "{line}");
    }
}

#[tokio::test]
async fn deny_all_denies_and_says_why() {
    let audit = Arc::new(MemoryAuditSink::default());
    let guard = Guard::new(Policy::default()).with_audit(audit.clone());
    let err = guard
        .authorize(
            "kubectl delete pod web-1 -n shop",
            &ctx(),
            &DenyAll::new("no terminal to ask on"),
        )
        .await
        .unwrap_err();
    let Refusal::Denied { decision, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(!decision.approved());
    assert!(err.to_string().contains("no terminal to ask on"), "{err}");
    let kinds: Vec<&str> = audit
        .events()
        .iter()
        .map(|e| match e {
            AuditEvent::Assessment { .. } => "assessment",
            AuditEvent::ApprovalRequested { .. } => "requested",
            AuditEvent::ApprovalDecided {
                approved: false, ..
            } => "denied",
            AuditEvent::ApprovalDecided { approved: true, .. } => "approved",
            AuditEvent::Execution { .. } => "execution",
        })
        .collect();
    assert_eq!(kinds, ["assessment", "requested", "denied"]);
}

#[tokio::test]
async fn approve_all_clears_and_records_who() {
    let audit = Arc::new(MemoryAuditSink::default());
    let guard = Guard::new(Policy::default()).with_audit(audit.clone());
    let cleared = guard
        .authorize(
            "kubectl scale deploy web --replicas=2 -n shop",
            &ctx(),
            &ApproveAll::new("bob"),
        )
        .await
        .unwrap();
    assert_eq!(cleared.approval().unwrap().decided_by().as_str(), "bob");
    assert!(audit.events().iter().any(|e| matches!(e, AuditEvent::ApprovalDecided { approved: true, decided_by, .. } if decided_by == "bob")));
}

#[tokio::test]
async fn blocked_lines_never_reach_the_approver() {
    let guard = Guard::new(Policy::default());
    let err = guard
        .authorize("rm -rf /", &ctx(), &ApproveAll::new("bob"))
        .await
        .unwrap_err();
    assert!(matches!(err, Refusal::Blocked(_)));
}

#[tokio::test]
async fn a_decision_for_another_request_is_refused() {
    let guard = Guard::new(Policy::default());
    let Verdict::NeedsApproval(first) = guard.check("kubectl delete pod a -n shop", &ctx()) else {
        panic!()
    };
    let Verdict::NeedsApproval(second) = guard.check("kubectl delete pod b -n shop", &ctx()) else {
        panic!()
    };
    assert_ne!(first.request().id, second.request().id);
    let wrong = ApprovalDecision::approve(second.request(), &bob());
    let err = guard.resolve(first, wrong).unwrap_err();
    assert!(matches!(err, Refusal::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn four_eyes_refuses_self_approval() {
    let guard = Guard::new(Policy::builder().four_eyes(true).build().unwrap());
    let err = guard
        .authorize(
            "kubectl delete pod a -n shop",
            &ctx(),
            &ApproveAll::new("alice"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("four-eyes"), "{err}");
    // The same person however the name is spelled.
    let err = guard
        .authorize(
            "kubectl delete pod a -n shop",
            &ctx(),
            &ApproveAll::new("ALICE "),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("four-eyes"), "{err}");
    let ok = guard
        .authorize(
            "kubectl delete pod a -n shop",
            &ctx(),
            &ApproveAll::new("bob"),
        )
        .await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn channel_approver_lists_and_answers_pending_requests() {
    let guard = Guard::new(Policy::default());
    let approver = ChannelApprover::new();
    let mut arrivals = approver.subscribe();
    let waiter = {
        let guard = guard.clone();
        let approver = approver.clone();
        tokio::spawn(async move {
            guard
                .authorize("kubectl delete pod a -n shop", &ctx(), &approver)
                .await
        })
    };
    let request = arrivals.recv().await.unwrap();
    assert_eq!(request.command, "kubectl delete pod a -n shop");
    assert_eq!(request.requester.as_str(), "alice");
    assert_eq!(request.task_id.as_deref(), Some("t-1"));
    assert_eq!(approver.pending(), vec![request.clone()]);
    assert!(matches!(
        approver.answer("nope", true, &bob(), None),
        Err(Error::UnknownApproval(_))
    ));
    approver
        .answer(&request.id, true, &bob(), Some("looks fine".into()))
        .unwrap();
    let cleared = waiter.await.unwrap().unwrap();
    assert_eq!(cleared.approval().unwrap().decided_by().as_str(), "bob");
    assert!(approver.pending().is_empty());
    // A second answer to the same request finds nothing.
    assert!(approver.answer(&request.id, true, &bob(), None).is_err());
}

#[tokio::test]
async fn channel_approver_denials_and_four_eyes() {
    let guard = Guard::new(Policy::default());
    let approver = ChannelApprover::new().with_four_eyes(true);
    let mut arrivals = approver.subscribe();
    let waiter = {
        let (guard, approver) = (guard.clone(), approver.clone());
        tokio::spawn(async move {
            guard
                .authorize("kubectl drain node-1", &ctx(), &approver)
                .await
        })
    };
    let request = arrivals.recv().await.unwrap();
    assert!(matches!(
        approver.answer(&request.id, true, &Identity::new(" Alice"), None),
        Err(Error::FourEyes(_))
    ));
    approver
        .answer(
            &request.id,
            false,
            &bob(),
            Some("not during business hours".into()),
        )
        .unwrap();
    let err = waiter.await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("not during business hours"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn unanswered_requests_expire_as_denials() {
    let guard = Guard::new(
        Policy::builder()
            .approval_ttl(Duration::from_secs(30))
            .build()
            .unwrap(),
    );
    let approver = ChannelApprover::new();
    let err = guard
        .authorize("kubectl delete pod a -n shop", &ctx(), &approver)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(approver.pending().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_is_told_the_request_expired_and_runs_nothing() {
    let guard = Guard::new(
        Policy::builder()
            .approval_ttl(Duration::from_secs(30))
            .build()
            .unwrap(),
    );
    let approver = ChannelApprover::new();
    let mut arrivals = approver.subscribe();
    let waiter = {
        let (guard, approver) = (guard.clone(), approver.clone());
        tokio::spawn(async move {
            guard
                .authorize("kubectl delete pod a -n shop", &ctx(), &approver)
                .await
        })
    };
    let request = arrivals.recv().await.unwrap();
    let err = waiter.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(matches!(
        approver.answer(&request.id, true, &bob(), None),
        Err(Error::ApprovalExpired(id)) if id == request.id
    ));
    // An id that never existed is still unknown, not expired.
    assert!(matches!(
        approver.answer("never-issued", true, &bob(), None),
        Err(Error::UnknownApproval(_))
    ));
}

#[test]
fn a_narrowed_guard_blocks_what_its_policy_would_have_asked_about() {
    let guard = Guard::new(Policy::default());
    let line = "kubectl delete pod a -n shop";
    assert_eq!(
        guard.assess(line).decision,
        kopilot_safety::Decision::Approve
    );
    let read_only = guard.narrowed_to(kopilot_safety::Mode::ReadOnly);
    assert_eq!(
        read_only.assess(line).decision,
        kopilot_safety::Decision::Block
    );
    assert_eq!(
        read_only.assess("kubectl get pods -n shop").decision,
        kopilot_safety::Decision::Allow
    );
    // Asking for more than the policy gives changes nothing.
    let wider = guard.narrowed_to(kopilot_safety::Mode::FullAccess);
    assert_eq!(
        wider.assess(line).decision,
        kopilot_safety::Decision::Approve
    );
}

#[tokio::test]
async fn cancelling_the_wait_withdraws_the_request() {
    let guard = Guard::new(Policy::default());
    let approver = ChannelApprover::new();
    let mut arrivals = approver.subscribe();
    let waiter = {
        let (guard, approver) = (guard.clone(), approver.clone());
        tokio::spawn(async move {
            guard
                .authorize("kubectl delete pod a -n shop", &ctx(), &approver)
                .await
        })
    };
    let request = arrivals.recv().await.unwrap();
    assert_eq!(approver.pending().len(), 1);
    waiter.abort();
    let _ = waiter.await;
    assert!(approver.pending().is_empty());
    assert!(approver.answer(&request.id, true, &bob(), None).is_err());
}

#[tokio::test]
async fn the_plain_pipeline_unquotes_like_the_assessment() {
    let guard = Guard::new(Policy::default());
    // Escapes inside and outside double quotes, and a line continuation inside them.
    let cleared = guard
        .authorize(
            "kubectl get pods -l \"app=w\\\neb\" -o \"jsonpath={.items[*].metadata.name}\" a\\ b",
            &ctx(),
            &DenyAll::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        cleared.pipeline().unwrap(),
        [vec![
            "kubectl",
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].metadata.name}",
            "a b"
        ]]
    );
    assert_eq!(
        cleared.assessment().commands[0].argv,
        cleared.pipeline().unwrap()[0]
    );
}

#[tokio::test]
async fn a_decision_from_a_copy_of_the_request_rebuilt_from_json_is_refused() {
    let guard = Guard::new(Policy::default());
    let Verdict::NeedsApproval(ticket) = guard.check("kubectl delete pod a -n shop", &ctx()) else {
        panic!()
    };
    // An HTTP client can send back the request's JSON; answering that copy must not count.
    let json = serde_json::to_string(ticket.request()).unwrap();
    let copy: ApprovalRequest = serde_json::from_str(&json).unwrap();
    assert_eq!(copy.id, ticket.request().id);
    let forged = ApprovalDecision::approve(&copy, &bob());
    let err = guard.resolve(ticket, forged).unwrap_err();
    assert!(
        matches!(&err, Refusal::Invalid { reason, .. } if reason.contains("approval machinery")),
        "{err:?}"
    );
}

#[tokio::test]
async fn expiry_is_checked_with_the_guards_clock_not_the_approvers() {
    let start = time::OffsetDateTime::now_utc();
    let now = Arc::new(std::sync::Mutex::new(start));
    let clock = {
        let now = Arc::clone(&now);
        move || *now.lock().unwrap()
    };
    let audit = Arc::new(MemoryAuditSink::default());
    let guard = Guard::new(
        Policy::builder()
            .approval_ttl(Duration::from_secs(60))
            .build()
            .unwrap(),
    )
    .with_clock(clock)
    .with_audit(audit.clone());
    let Verdict::NeedsApproval(ticket) = guard.check("kubectl delete pod a -n shop", &ctx()) else {
        panic!()
    };
    assert_eq!(ticket.request().created_at, start);
    // The approver's decision is stamped now by its own clock, but the guard's clock says the
    // request expired meanwhile.
    let late = ApprovalDecision::approve(ticket.request(), &bob());
    *now.lock().unwrap() = start + Duration::from_secs(61);
    let err = guard.resolve(ticket, late).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(audit.events().iter().any(|e| matches!(
        e,
        AuditEvent::ApprovalDecided { approved: false, reason: Some(r), .. } if r.contains("expired")
    )));
}
