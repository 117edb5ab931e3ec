//! How long loading the built-ins and routing a prompt take.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use kopilot_skills::SkillLoader;

fn load_builtins(c: &mut Criterion) {
    c.bench_function("load six built-in skills", |b| {
        b.iter(|| SkillLoader::with_builtins().load().expect("built-ins load"));
    });
}

fn route_prompt(c: &mut Criterion) {
    let registry = SkillLoader::with_builtins().load().expect("built-ins load");
    let prompt = "find over-provisioned deployments and orphaned PVCs in the shop namespace, \
                  and tell me why the checkout pods keep restarting with OOMKilled";
    c.bench_function("route a two-sentence prompt", |b| {
        b.iter(|| registry.route(std::hint::black_box(prompt), 3));
    });
}

criterion_group!(benches, load_builtins, route_prompt);
criterion_main!(benches);
