//! Pathological input never panics or hangs: it is blocked with a clear reason.

use kopilot_safety::{Decision, Guard, MAX_LINE_BYTES, Policy, Risk};

fn guard() -> Guard {
    Guard::new(Policy::default())
}

fn assert_blocked_with(line: &str, reason_part: &str) {
    let a = guard().assess(line);
    assert_eq!(a.decision, Decision::Block, "{:?}", a.reasons);
    assert_eq!(a.risk, Risk::Critical);
    assert!(
        a.reasons.iter().any(|r| r.contains(reason_part)),
        "expected a reason containing {reason_part:?}, got {:?}",
        a.reasons
    );
}

#[test]
fn unbalanced_quotes() {
    assert_blocked_with("kubectl get pods \"oops", "cannot be parsed");
    assert_blocked_with("kubectl get pods 'oops", "cannot be parsed");
    assert_blocked_with("echo `unterminated", "cannot be parsed");
}

#[test]
fn nul_bytes() {
    assert_blocked_with("kubectl get pods\0rm -rf /", "NUL byte");
}

#[test]
fn non_utf8_bytes() {
    let a = guard().assess_bytes(b"kubectl get pods \xff\xfe");
    assert_eq!(a.decision, Decision::Block);
    assert!(
        a.reasons.iter().any(|r| r.contains("not valid UTF-8")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn a_one_megabyte_line() {
    let line = format!("kubectl get pods {}", "a".repeat(1024 * 1024));
    assert!(line.len() > MAX_LINE_BYTES);
    assert_blocked_with(&line, "bytes long");
}

#[test]
fn ten_thousand_deep_subshells() {
    let line = format!(
        "{}kubectl get pods{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_blocked_with(&line, "nested");
}

#[test]
fn ten_thousand_deep_command_substitutions() {
    // Too long and too deep: blocked either way, without touching the parser's stack.
    let line = format!(
        "{}kubectl get pods{}",
        "$(echo ".repeat(10_000),
        ")".repeat(10_000)
    );
    let a = guard().assess(&line);
    assert_eq!(a.decision, Decision::Block);
    // Within the length limit, the nesting check is what stops it.
    let line = format!(
        "{}kubectl get pods{}",
        "$(echo ".repeat(3_000),
        ")".repeat(3_000)
    );
    assert_blocked_with(&line, "nested");
}

#[test]
fn deep_but_legal_substitutions_hit_the_command_depth_limit() {
    // 20 levels of $( ) stay under the bracket limit but over the command-depth limit.
    let line = format!("{}kubectl get pods{}", "echo $(".repeat(20), ")".repeat(20));
    assert_blocked_with(&line, "nested more than");
}

#[test]
fn deep_sh_c_nesting_is_limited() {
    // Each `eval` re-parses the rest of the line one level deeper.
    let line = format!("{}kubectl get pods", "eval ".repeat(20));
    assert_blocked_with(&line, "nested more than");
    let line = format!("{}kubectl get pods", "sh -c ".repeat(20));
    assert_ne!(guard().assess(&line).decision, Decision::Allow);
}

#[test]
fn many_backticks() {
    let line = "echo `a` ".repeat(200);
    let a = guard().assess(&line);
    assert_eq!(a.decision, Decision::Block);
}

#[test]
fn too_many_commands() {
    let line = "kubectl get pods; ".repeat(300);
    assert_blocked_with(&line, "more than 256 commands");
}

#[test]
fn empty_and_comment_only() {
    assert_blocked_with("", "no command");
    assert_blocked_with("  \n\t ", "no command");
    assert_blocked_with("# comment", "no command");
}

#[test]
fn odd_unicode_in_an_argument_is_still_just_an_argument() {
    let a = guard().assess("kubectl get pods \u{202e}sdop");
    assert_eq!(a.decision, Decision::Allow, "{:?}", a.reasons);
}

#[test]
fn control_characters_and_odd_unicode_do_not_panic() {
    for line in [
        "\u{1b}[31mkubectl\u{1b}[0m get pods",
        "kubectl\u{a0}get pods",
        "\r\n\r\n",
        "kubectl get pods \\",
        "$((1+",
        "${",
        "<<",
        "cat <<EOF",
        "[[ -f x",
        "case x in",
        "for",
        "))))((((",
        "`",
        "$'\\x6b\\x75bectl' delete ns kube-system",
    ] {
        let a = guard().assess(line);
        assert_ne!(
            a.decision,
            Decision::Allow,
            "{line:?} was allowed: {:?}",
            a.reasons
        );
    }
}

#[test]
fn disasters_inside_a_container_are_blocked_like_on_the_host() {
    for line in [
        "kubectl exec web-1 -n shop -- rm -rf /",
        "kubectl exec -it web-1 -n shop -c app -- sh -c 'rm -rf / && echo done'",
        "kubectl run tmp --image=busybox -n shop --restart=Never -- sh -c 'mkfs.ext4 /dev/sda'",
        "kubectl debug node/worker-1 -it --image=busybox -- dd if=/dev/zero of=/dev/sda",
    ] {
        let a = guard().assess(line);
        assert_eq!(a.decision, Decision::Block, "{line}: {:?}", a.reasons);
        assert_eq!(a.risk, Risk::Critical, "{line}");
    }
    // An ordinary command in a container still needs a human, and only that.
    let a = guard().assess("kubectl exec web-1 -n shop -- cat /etc/hosts");
    assert_eq!(a.decision, Decision::Approve, "{:?}", a.reasons);
    assert_eq!(a.risk, Risk::High);
}

#[test]
fn a_dry_run_lowers_only_the_verb_never_the_other_findings() {
    // Harmless as written: the dry run changes nothing.
    let a = guard().assess("kubectl scale deploy/web -n shop --replicas=5 --dry-run=server");
    assert_eq!(a.decision, Decision::Allow, "{:?}", a.reasons);
    // An untrusted program path is still a finding of its own.
    for line in [
        "/tmp/evil/kubectl delete pod x -n shop --dry-run=server",
        "./kubectl delete pod x -n shop --dry-run=server",
        "/tmp/evil/helm upgrade web ./chart --dry-run",
    ] {
        let a = guard().assess(line);
        assert_ne!(a.decision, Decision::Allow, "{line}: {:?}", a.reasons);
    }
    // A hard-block rule still blocks.
    let policy = Policy::builder()
        .hard_block("kubectl --dry-run=server")
        .build()
        .unwrap();
    let a = Guard::new(policy).assess("kubectl scale deploy/web --replicas=5 --dry-run=server");
    assert_eq!(a.decision, Decision::Block, "{:?}", a.reasons);
}
