//! Criterion benchmarks: profiling throughput (values per second on one core), window merge
//! time, KS at 10k/100k/1M/10M rows per side, and a whole compare().
//!
//! Run: `CARGO_TARGET_DIR=... cargo bench -p steward-drift --bench drift -- [filter]`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use steward_drift::synth::SplitMix64;
use steward_drift::{
    Alternative, Column, DriftConfig, KsMethod, Profile, WindowProfile, compare, ks_2samp,
};

fn normals(seed: u64, n: usize, loc: f64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| loc + rng.next_normal()).collect()
}

fn opt(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().copied().map(Some).collect()
}

fn profiling(c: &mut Criterion) {
    let n = 1_000_000;
    let reference = opt(&normals(1, n, 0.0));
    let current = opt(&normals(2, n, 0.1));
    let profile = Profile::from_reference(&[Column::numeric("x", &reference)]).expect("profile");
    let mut g = c.benchmark_group("profile");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("window_numeric_1M", |b| {
        b.iter(|| {
            WindowProfile::from_window(&profile, &[Column::numeric("x", black_box(&current))])
                .expect("window")
        })
    });
    g.bench_function("reference_numeric_1M", |b| {
        b.iter(|| {
            Profile::from_reference(&[Column::numeric("x", black_box(&reference))])
                .expect("profile")
        })
    });
    let labels = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut rng = SplitMix64::new(3);
    let cats: Vec<Option<&str>> = (0..n)
        .map(|_| Some(labels[rng.next_below(8) as usize]))
        .collect();
    let cat_profile = Profile::from_reference(&[Column::categorical("c", &cats)]).expect("profile");
    g.bench_function("window_categorical_1M", |b| {
        b.iter(|| {
            WindowProfile::from_window(&cat_profile, &[Column::categorical("c", black_box(&cats))])
                .expect("w")
        })
    });
    g.finish();

    let half = n / 2;
    let mut a = WindowProfile::empty(&profile, 0);
    a.observe(&profile, &[Column::numeric("x", &current[..half])])
        .expect("a");
    let mut bw = WindowProfile::empty(&profile, 1);
    bw.observe(&profile, &[Column::numeric("x", &current[half..])])
        .expect("b");
    c.bench_function("merge_window_profiles", |b| {
        b.iter(|| {
            let mut m = a.clone();
            m.merge(black_box(&bw)).expect("merge");
            m
        })
    });
    let whole = WindowProfile::from_window(&profile, &[Column::numeric("x", &current)]).expect("w");
    c.bench_function("compare_one_numeric_feature", |b| {
        b.iter(|| compare(&profile, black_box(&whole), &DriftConfig::default()).expect("report"))
    });
}

fn ks(c: &mut Criterion) {
    let mut g = c.benchmark_group("ks_2samp");
    g.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000, 10_000_000] {
        let x = normals(10, n, 0.0);
        let y = normals(11, n, 0.01);
        g.throughput(Throughput::Elements(2 * n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                ks_2samp(
                    black_box(&x),
                    black_box(&y),
                    Alternative::TwoSided,
                    KsMethod::Auto,
                )
                .expect("ks")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, profiling, ks);
criterion_main!(benches);
