//! Criterion benchmarks for steward-drift (filled in below as the API lands).

use criterion::{Criterion, criterion_group, criterion_main};

fn placeholder(c: &mut Criterion) {
    c.bench_function("splitmix", |b| {
        let mut rng = steward_drift::synth::SplitMix64::new(1);
        b.iter(|| rng.next_u64())
    });
}

criterion_group!(benches, placeholder);
criterion_main!(benches);
