//! Extraction speed over the 21 real Papers-of-the-Month pages of the corpus.
//!
//! `cargo bench --bench extract`: one benchmark per page (`extract/<slug>`), all pages in
//! a row (`all/extract`), and the HTML parse alone (`all/parse`) to show how much of the
//! time is the parser's. The corpus is `PAPERCAST_CORPUS`, or
//! `shared/corpus/graphcore-research` beside the checkout.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("PAPERCAST_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/graphcore-research")
        }
    }
}

/// (slug, page URL, HTML) of every page with ground truth.
fn pages() -> Vec<(String, String, String)> {
    let corpus = corpus_dir();
    let expected = corpus.join("expected");
    let mut slugs: Vec<String> = std::fs::read_dir(&expected)
        .unwrap_or_else(|e| panic!("reading {}: {e} (set PAPERCAST_CORPUS)", expected.display()))
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    slugs.sort();
    slugs
        .into_iter()
        .map(|slug| {
            let path = corpus.join("site").join(&slug).join("index.html");
            let html = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let url = format!("https://graphcore-research.github.io/{slug}/");
            (slug, url, html)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pages = pages();
    for (slug, url, html) in &pages {
        if let Err(e) = papercast::extract::extract(html, url) {
            panic!("{slug} does not extract: {e}");
        }
    }

    let mut group = c.benchmark_group("extract");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (slug, url, html) in &pages {
        group.throughput(Throughput::Bytes(html.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(slug), html, |b, html| {
            b.iter(|| papercast::extract::extract(black_box(html), url))
        });
    }
    group.finish();

    let total: usize = pages.iter().map(|(_, _, html)| html.len()).sum();
    let mut group = c.benchmark_group("all");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("extract", |b| {
        b.iter(|| {
            for (_, url, html) in &pages {
                let _ = black_box(papercast::extract::extract(black_box(html), url));
            }
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            for (_, _, html) in &pages {
                black_box(scraper::Html::parse_document(black_box(html)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
