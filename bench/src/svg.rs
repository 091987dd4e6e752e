//! Line charts written directly as SVG, for the benchmark plots.
//!
//! Text is emitted as `<text>` elements that the viewer lays out with its own
//! sans-serif font, so writing a chart needs no font files or system libraries.

use std::fmt::Write;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points in data units; they are joined in order of increasing x.
    pub points: Vec<(f64, f64)>,
    /// Stroke and marker colour, as an SVG colour.
    pub color: &'static str,
    /// Draw a dashed line without markers.
    pub dashed: bool,
}

/// Scale of a y axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YScale {
    /// Linear scale.
    Linear,
    /// Base-10 logarithmic scale; points with y ≤ 0 are left out.
    Log,
}

/// One chart: axes, labels and lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Scale of the y axis.
    pub y_scale: YScale,
    /// A value the x axis must include besides the data (0, for one).
    pub x_include: Option<f64>,
    /// Lines drawn.
    pub series: Vec<Series>,
    /// Series whose points only extend the drawing, never the axis ranges (a bound
    /// drawn across the whole chart, for one).
    pub background: Vec<Series>,
}

const PANEL_WIDTH: f64 = 520.0;
const PANEL_HEIGHT: f64 = 360.0;
const MARGIN_LEFT: f64 = 72.0;
const MARGIN_RIGHT: f64 = 20.0;
const MARGIN_TOP: f64 = 34.0;
const MARGIN_BOTTOM: f64 = 52.0;
const TITLE_HEIGHT: f64 = 36.0;
const LEGEND_ROW_HEIGHT: f64 = 22.0;
const LEGEND_COLUMNS: usize = 3;

/// A linear map from an interval of data values to an interval of pixels.
#[derive(Debug, Clone, Copy)]
struct Axis {
    low: f64,
    high: f64,
    log: bool,
}

impl Axis {
    fn value(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }

    /// Position of `v` in 0..1 along the axis.
    fn fraction(&self, v: f64) -> f64 {
        (self.value(v) - self.low) / (self.high - self.low)
    }
}

/// Renders `panels` in a grid of `columns`, under `title`, with one legend for all of them.
pub fn render(title: &str, panels: &[Panel], columns: usize) -> String {
    let columns = columns.max(1);
    let grid_rows = panels.len().div_ceil(columns);
    let labels = legend_entries(panels);
    let legend_rows = labels.len().div_ceil(LEGEND_COLUMNS);
    let width = PANEL_WIDTH * columns as f64;
    let height = TITLE_HEIGHT + PANEL_HEIGHT * grid_rows as f64 + LEGEND_ROW_HEIGHT * legend_rows as f64 + 12.0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" font-size="17" text-anchor="middle">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    for (index, panel) in panels.iter().enumerate() {
        let x0 = PANEL_WIDTH * (index % columns) as f64;
        let y0 = TITLE_HEIGHT + PANEL_HEIGHT * (index / columns) as f64;
        render_panel(&mut out, panel, index, (x0, y0), &labels);
    }
    let legend_top = TITLE_HEIGHT + PANEL_HEIGHT * grid_rows as f64;
    for (index, (label, color, dashed, marker)) in labels.iter().enumerate() {
        let x = 24.0 + (width - 24.0) / LEGEND_COLUMNS as f64 * (index % LEGEND_COLUMNS) as f64;
        let y = legend_top + LEGEND_ROW_HEIGHT * (index / LEGEND_COLUMNS) as f64 + 12.0;
        let dash = if *dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2"{dash}/>"#,
            x + 28.0
        );
        if !dashed {
            out.push_str(&marker_svg(*marker, x + 14.0, y, color));
        }
        let _ = writeln!(out, r#"<text x="{}" y="{}" font-size="13">{}</text>"#, x + 36.0, y + 4.5, escape(label));
    }
    out.push_str("</svg>\n");
    out
}

/// Legend entries in first-seen order: label, colour, dashed, marker shape.
fn legend_entries(panels: &[Panel]) -> Vec<(String, &'static str, bool, usize)> {
    let mut entries: Vec<(String, &'static str, bool, usize)> = Vec::new();
    for panel in panels {
        for series in panel.series.iter().chain(&panel.background) {
            if !entries.iter().any(|e| e.0 == series.label) {
                let marker = entries.len();
                entries.push((series.label.clone(), series.color, series.dashed, marker));
            }
        }
    }
    entries
}

/// Draws `panel` with its top left corner at `origin`; `legend` sets each series' marker.
fn render_panel(
    out: &mut String,
    panel: &Panel,
    index: usize,
    origin: (f64, f64),
    legend: &[(String, &'static str, bool, usize)],
) {
    let (x0, y0) = origin;
    let log = panel.y_scale == YScale::Log;
    let visible = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log || p.1 > 0.0);
    let points: Vec<(f64, f64)> = panel.series.iter().flat_map(|s| s.points.iter().copied()).filter(visible).collect();
    let (x_axis, x_ticks) = linear_axis(points.iter().map(|p| p.0).chain(panel.x_include));
    let (y_axis, y_ticks) =
        if log { log_axis(points.iter().map(|p| p.1)) } else { linear_axis(points.iter().map(|p| p.1)) };

    let left = x0 + MARGIN_LEFT;
    let top = y0 + MARGIN_TOP;
    let plot_width = PANEL_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_height = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let px = |x: f64| left + x_axis.fraction(x) * plot_width;
    let py = |y: f64| top + (1.0 - y_axis.fraction(y)) * plot_height;

    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="15" text-anchor="middle">{}</text>"#,
        left + plot_width / 2.0,
        top - 12.0,
        escape(&panel.title)
    );
    let _ = writeln!(
        out,
        r#"<clipPath id="plot{index}"><rect x="{left}" y="{top}" width="{plot_width}" height="{plot_height}"/></clipPath>"#
    );
    for &(value, ref label) in &x_ticks {
        let x = px(value);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.2}" y1="{top}" x2="{x:.2}" y2="{}" stroke="#e4e4e4"/>"##,
            top + plot_height
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.2}" y="{}" font-size="12" text-anchor="middle">{label}</text>"#,
            top + plot_height + 17.0
        );
    }
    for &(value, ref label) in &y_ticks {
        let y = py(value);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{y:.2}" x2="{}" y2="{y:.2}" stroke="#e4e4e4"/>"##,
            left + plot_width
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.2}" font-size="12" text-anchor="end">{label}</text>"#,
            left - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        out,
        r#"<rect x="{left}" y="{top}" width="{plot_width}" height="{plot_height}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="13" text-anchor="middle">{}</text>"#,
        left + plot_width / 2.0,
        top + plot_height + 38.0,
        escape(&panel.x_label)
    );
    let (label_x, label_y) = (x0 + 16.0, top + plot_height / 2.0);
    let _ = writeln!(
        out,
        r#"<text x="{label_x}" y="{label_y}" font-size="13" text-anchor="middle" transform="rotate(-90 {label_x} {label_y})">{}</text>"#,
        escape(&panel.y_label)
    );

    let _ = writeln!(out, r#"<g clip-path="url(#plot{index})">"#);
    for series in panel.background.iter().chain(&panel.series) {
        let mut drawn: Vec<(f64, f64)> = series.points.iter().copied().filter(visible).collect();
        drawn.sort_by(|a, b| a.0.total_cmp(&b.0));
        if drawn.is_empty() {
            continue;
        }
        let path: Vec<String> = drawn.iter().map(|&(x, y)| format!("{:.2},{:.2}", px(x), py(y))).collect();
        let dash = if series.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            path.join(" "),
            series.color
        );
        if !series.dashed {
            let marker = legend.iter().find(|e| e.0 == series.label).map_or(0, |e| e.3);
            for &(x, y) in &drawn {
                out.push_str(&marker_svg(marker, px(x), py(y), series.color));
            }
        }
    }
    out.push_str("</g>\n");
}

fn marker_svg(shape: usize, x: f64, y: f64, color: &str) -> String {
    match shape % 4 {
        0 => format!(r#"<circle cx="{x:.2}" cy="{y:.2}" r="4" fill="{color}"/>"#) + "\n",
        1 => format!(r#"<rect x="{:.2}" y="{:.2}" width="8" height="8" fill="{color}"/>"#, x - 4.0, y - 4.0) + "\n",
        2 => {
            format!(
                r#"<polygon points="{:.2},{:.2} {:.2},{:.2} {:.2},{:.2}" fill="{color}"/>"#,
                x,
                y - 5.0,
                x - 5.0,
                y + 4.0,
                x + 5.0,
                y + 4.0
            ) + "\n"
        }
        _ => {
            format!(
                r#"<polygon points="{:.2},{:.2} {:.2},{:.2} {:.2},{:.2} {:.2},{:.2}" fill="{color}"/>"#,
                x,
                y - 5.5,
                x + 5.5,
                y,
                x,
                y + 5.5,
                x - 5.5,
                y
            ) + "\n"
        }
    }
}

/// Builds a padded linear axis over `values`, with ticks at 1, 2 or 5 times a power of ten.
fn linear_axis(values: impl Iterator<Item = f64>) -> (Axis, Vec<(f64, String)>) {
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !low.is_finite() || !high.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    if high - low < 1e-12 {
        (low, high) = (low - 0.5, high + 0.5);
    }
    let pad = 0.06 * (high - low);
    let (low, high) = (low - pad, high + pad);
    let raw_step = (high - low) / 6.0;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw_step).unwrap_or(10.0 * magnitude);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let mut ticks = Vec::new();
    let mut index = (low / step).ceil();
    while index * step <= high + 1e-9 * step {
        // Adding 0.0 turns a negative zero into a positive one before formatting.
        let tick = index * step + 0.0;
        ticks.push((tick, format!("{tick:.decimals$}")));
        index += 1.0;
    }
    (Axis { low, high, log: false }, ticks)
}

/// Builds a base-10 logarithmic axis spanning whole decades around `values`, one tick per decade.
fn log_axis(values: impl Iterator<Item = f64>) -> (Axis, Vec<(f64, String)>) {
    let (mut low, mut high) =
        values.filter(|v| *v > 0.0).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !low.is_finite() || !high.is_finite() {
        (low, high) = (1.0, 10.0);
    }
    let first = low.log10().floor();
    let mut last = high.log10().ceil();
    if last <= first {
        last = first + 1.0;
    }
    let ticks = (first as i32..=last as i32).map(|e| (10f64.powi(e), format!("1e{e}"))).collect();
    (Axis { low: first, high: last, log: true }, ticks)
}

/// Escapes text for an SVG text node.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(y_scale: YScale, points: Vec<(f64, f64)>) -> Panel {
        Panel {
            title: "t".into(),
            x_label: "bits <per> weight".into(),
            y_label: "y".into(),
            y_scale,
            x_include: None,
            series: vec![Series { label: "a & b".into(), points, color: "red", dashed: false }],
            background: Vec::new(),
        }
    }

    #[test]
    fn log_axis_places_decades() {
        let (axis, ticks) = log_axis([2e-4, 3e-2].into_iter());
        assert_eq!(ticks.first().map(|t| t.1.as_str()), Some("1e-4"));
        assert_eq!(ticks.last().map(|t| t.1.as_str()), Some("1e-1"));
        assert!((axis.fraction(1e-4) - 0.0).abs() < 1e-12);
        assert!((axis.fraction(1e-1) - 1.0).abs() < 1e-12);
        assert!((axis.fraction(1e-3) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn linear_ticks_cover_range_with_round_steps() {
        // The padded range 2.76..9.04 spans 6.28; a sixth of it, 1.05, rounds up to a step of 2.
        let (axis, ticks) = linear_axis([3.1, 8.7].into_iter());
        assert!(axis.low < 3.1);
        assert!(axis.high > 8.7);
        let values: Vec<f64> = ticks.iter().map(|t| t.0).collect();
        assert_eq!(values, vec![4.0, 6.0, 8.0]);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, vec!["4", "6", "8"]);
        // The padded range −0.018..0.318 gets steps of 0.1 with one decimal, and no "-0.0".
        let (_, ticks) = linear_axis([0.0, 0.3].into_iter());
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, vec!["0.0", "0.1", "0.2", "0.3"]);
    }

    #[test]
    fn render_escapes_text_and_skips_nonpositive_log_points() {
        let svg = render("R&D", &[panel(YScale::Log, vec![(4.0, 1e-3), (5.0, 0.0), (6.0, 1e-4)])], 2);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("R&amp;D"));
        assert!(svg.contains("bits &lt;per&gt; weight"));
        assert!(svg.contains("a &amp; b"));
        // Two visible points: one polyline with two vertices and two circle markers
        // (one more circle is the legend's).
        let polyline = svg.lines().find(|l| l.starts_with("<polyline")).expect("a polyline");
        assert_eq!(polyline.matches(',').count(), 2, "{polyline}");
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
