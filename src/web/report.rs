//! The moderators' report page (`/report`): per post, a server-rendered SVG chart of
//! each paper's engagement over the days after posting, and a table of every post
//! ranked by its discussion.
//!
//! The chart is drawn by `plotters` with its SVG backend only (no fonts, no bitmap):
//! the page needs no front-end toolchain and no script.

use super::WebState;
use crate::replies::discussions::file_slug;
use crate::replies::report::{self, PostReport};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use plotters::prelude::*;
use std::sync::Arc;

/// The chart's size in pixels.
const WIDTH: u32 = 640;
const HEIGHT: u32 = 300;

/// One colour per series, repeating after the last.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The chart of one post: a line per paper (and one for the post itself) of its total
/// engagement against days after posting. Each series is an SVG group with class
/// `series` and its subject in `data-about`, so a reader (or a test) can tell them apart.
pub fn chart_svg(report: &PostReport) -> Result<String, String> {
    let mut svg = String::new();
    let drawn: Vec<&report::Series> = report
        .series
        .iter()
        .filter(|s| !s.points.is_empty())
        .collect();
    let max_days = drawn
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.days))
        .fold(1.0_f64, f64::max);
    let max_total = drawn
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.total))
        .max()
        .unwrap_or(0)
        .max(1);
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..max_days * 1.05, 0u64..max_total + max_total / 10 + 1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("days after posting")
            .y_desc("replies + reposts + likes + quotes")
            .draw()
            .map_err(|e| e.to_string())?;
        for (index, series) in report.series.iter().enumerate() {
            if series.points.is_empty() {
                continue;
            }
            let colour = COLOURS[index % COLOURS.len()];
            // A step line: a count holds until the next change was seen.
            let mut steps = Vec::new();
            let mut last = 0;
            for point in &series.points {
                steps.push((point.days, last));
                steps.push((point.days, point.total));
                last = point.total;
            }
            steps.push((max_days, last));
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(label_series(&svg, report))
}

/// Wraps each series' polyline, in drawing order, in a `<g class="series">` naming its
/// subject, and puts the chart's title in `<title>` (escaped: it is the blog's text).
fn label_series(svg: &str, report: &PostReport) -> String {
    let mut subjects = report
        .series
        .iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| (s.about.as_str(), s.title.as_str()));
    let mut out = String::with_capacity(svg.len() + 512);
    let mut rest = svg;
    while let Some(at) = rest.find("<polyline") {
        let end = rest[at..].find("/>").map_or(rest.len(), |e| at + e + 2);
        out.push_str(&rest[..at]);
        match subjects.next() {
            Some((about, title)) => out.push_str(&format!(
                "<g class=\"series\" data-about=\"{}\"><title>{}</title>{}</g>",
                escape(about),
                escape(title),
                &rest[at..end]
            )),
            None => out.push_str(&rest[at..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /report`: every announced post, newest first, with its chart, and the posts
/// ranked by discussion.
pub(super) async fn page(State(state): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    let Some((moderator, session)) = state.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let Some(store) = state.store.as_deref() else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the report is not served here (no state database)",
        )
            .into_response();
    };
    let reports = match report::reports(store) {
        Ok(reports) => reports,
        Err(error) => {
            tracing::error!("reading the report: {error}");
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the report could not be read; see the server log",
            )
                .into_response();
        }
    };
    let mut posts = Vec::new();
    for report in &reports {
        let chart = match chart_svg(report) {
            Ok(svg) => svg,
            Err(error) => {
                tracing::error!("drawing the chart of {}: {error}", report.post_url);
                String::new()
            }
        };
        let legend: Vec<minijinja::Value> = report
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.points.is_empty())
            .map(|(index, s)| {
                let RGBColor(r, g, b) = COLOURS[index % COLOURS.len()];
                minijinja::context! {
                    title => s.title.clone(),
                    colour => format!("#{r:02x}{g:02x}{b:02x}"),
                }
            })
            .collect();
        posts.push(minijinja::context! {
            title => report.title.clone(),
            url => report.post_url.clone(),
            slug => file_slug(&report.slug),
            posted_at => report.posted_at.clone(),
            total => report.total.cells()[4].clone(),
            replies => report.discussion_replies,
            chart => chart,
            legend => legend,
        });
    }
    let mut ranked: Vec<&PostReport> = reports.iter().collect();
    ranked.sort_by(|a, b| {
        b.discussion_replies
            .cmp(&a.discussion_replies)
            .then(b.total.total.cmp(&a.total.total))
    });
    let ranked: Vec<minijinja::Value> = ranked
        .iter()
        .map(|r| {
            let latest = crate::replies::discussions::discussion(store, &r.post_url)
                .ok()
                .flatten()
                .and_then(|d| {
                    d.replies
                        .into_iter()
                        .chain(d.papers.into_iter().flat_map(|p| p.replies))
                        .max_by(|a, b| a.created_at.cmp(&b.created_at))
                });
            minijinja::context! {
                title => r.title.clone(),
                slug => file_slug(&r.slug),
                replies => r.discussion_replies,
                total => r.total.cells()[4].clone(),
                latest_author => latest.as_ref().map(|l| l.author.clone()),
                latest_platform => latest.as_ref().map(|l| l.platform.as_str()),
            }
        })
        .collect();
    let csrf = state.sessions.csrf_token(&session);
    state.render(
        "report.html",
        minijinja::context! { moderator, csrf, posts, ranked },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replies::report::{Counts, Point, Series};

    fn report() -> PostReport {
        let series = |about: &str, title: &str, points: Vec<Point>| Series {
            about: about.into(),
            title: title.into(),
            points,
        };
        PostReport {
            post_url: "https://blog.example/post/".into(),
            slug: "post".into(),
            title: "Post".into(),
            posted_at: "2026-11-01T00:00:00Z".into(),
            networks: vec![],
            total: Counts::default(),
            discussion_replies: 0,
            subjects: vec![],
            series: vec![
                series(
                    "post",
                    "Post",
                    vec![Point {
                        days: 0.5,
                        total: 2,
                    }],
                ),
                series(
                    "first",
                    "<b>First</b> & co",
                    vec![
                        Point {
                            days: 0.1,
                            total: 1,
                        },
                        Point {
                            days: 2.0,
                            total: 7,
                        },
                    ],
                ),
                series("second", "Second", vec![]),
            ],
        }
    }

    #[test]
    fn the_chart_has_one_labelled_series_per_subject_with_counts() {
        let svg = chart_svg(&report()).expect("chart");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(svg.matches("<g class=\"series\"").count(), 2, "{svg}");
        assert!(svg.contains("data-about=\"first\""), "{svg}");
        assert!(
            svg.contains("<title>&lt;b&gt;First&lt;/b&gt; &amp; co</title>"),
            "{svg}"
        );
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("days after posting"), "{svg}");
    }
}
