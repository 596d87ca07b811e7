//! `agentsim plot`: valid PNG and SVG files of the requested size, drawn from
//! results files and from traces, the same bytes every time.

use crate::common::{agentsim, stderr, stdout};
use crate::sweep::{gossip_experiment, small_experiment, sweep};
use std::path::Path;

/// Decodes a PNG fully and returns its size.
fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

/// Checks the SVG's declared size, that it is well nested, and that its text
/// is outlines (no font needed to render it).
fn svg_size(path: &Path) -> (u32, u32) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<svg ") && text.trim_end().ends_with("</svg>"));
    assert!(!text.contains("<text"), "text must be drawn as outlines");
    assert!(
        text.contains("<use xlink:href=\"#g"),
        "text outlines expected"
    );
    let opens = text.matches("<svg").count();
    let closes = text.matches("</svg>").count();
    assert_eq!(opens, closes);
    let attr = |k: &str| -> u32 {
        let at = text.find(&format!(" {k}=\"")).unwrap() + k.len() + 3;
        text[at..].split('"').next().unwrap().parse().unwrap()
    };
    (attr("width"), attr("height"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn plots_are_valid_png_and_svg_of_the_requested_size() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 20);
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    // `not-numeric` plots against a range-valued parameter: one clear error.
    let out = agentsim(&["plot", s(&dir)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a number"), "{}", stderr(&out));

    let args = |f: &str| {
        vec![
            "plot".to_string(),
            s(&dir).to_string(),
            "--only".into(),
            "cdf-downtime_ms".into(),
            "--only".into(),
            "histogram-split_votes".into(),
            "--format".into(),
            f.into(),
            "--width".into(),
            "640".into(),
            "--height".into(),
            "400".into(),
        ]
    };
    for f in ["png", "svg"] {
        let a = args(f);
        let a: Vec<&str> = a.iter().map(|x| x.as_str()).collect();
        let out = agentsim(&a);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    }
    for name in ["cdf-downtime_ms", "histogram-split_votes"] {
        let png = dir.join(format!("{name}.png"));
        let svg = dir.join(format!("{name}.svg"));
        assert_eq!(png_size(&png), (640, 400), "{name}");
        assert_eq!(svg_size(&svg), (640, 400), "{name}");
    }
    // Default size, and the same bytes on a second drawing.
    let first = std::fs::read(dir.join("cdf-downtime_ms.svg")).unwrap();
    let out = agentsim(&[
        "plot",
        s(&dir),
        "--only",
        "cdf-downtime_ms",
        "--format",
        "png",
        "--format",
        "svg",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(png_size(&dir.join("cdf-downtime_ms.png")), (960, 600));
    let png1 = std::fs::read(dir.join("cdf-downtime_ms.png")).unwrap();
    agentsim(&[
        "plot",
        s(&dir),
        "--only",
        "cdf-downtime_ms",
        "--format",
        "png",
        "--width",
        "640",
        "--height",
        "400",
        "--format",
        "svg",
    ]);
    assert_eq!(
        std::fs::read(dir.join("cdf-downtime_ms.svg")).unwrap(),
        first
    );
    agentsim(&[
        "plot",
        s(&dir),
        "--only",
        "cdf-downtime_ms",
        "--format",
        "png",
    ]);
    assert_eq!(
        std::fs::read(dir.join("cdf-downtime_ms.png")).unwrap(),
        png1
    );
}

#[test]
fn series_reference_and_category_plots_are_drawn_the_same_every_time() {
    let t = tempfile::tempdir().unwrap();
    let exp = gossip_experiment(t.path());
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    sweep(&["sweep", s(&exp), "--jobs", "1", "--out", s(&a)]);
    sweep(&["sweep", s(&exp), "--jobs", "2", "--out", s(&b)]);
    let drawn = |dir: &Path| {
        let out = agentsim(&["plot", s(dir)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| {
                Path::new(l)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect::<Vec<_>>()
    };
    let names = drawn(&a);
    assert_eq!(
        names,
        [
            "rounds.png",
            "rounds.svg",
            "rounds-by-group.png",
            "rounds-by-direction.png",
            "coverage.png",
            "coverage.svg",
            "uninformed.png"
        ]
    );
    assert_eq!(drawn(&b), names);
    for n in &names {
        let path = a.join(n);
        let size = if n.ends_with(".png") {
            png_size(&path)
        } else {
            svg_size(&path)
        };
        assert_eq!(size, (960, 600), "{n}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
            "{n}: the same results draw the same bytes"
        );
    }
    // Drawing again gives the same bytes.
    let first = std::fs::read(a.join("coverage.svg")).unwrap();
    drawn(&a);
    assert_eq!(std::fs::read(a.join("coverage.svg")).unwrap(), first);
}

#[test]
fn trace_timeline_shows_who_leads() {
    let t = tempfile::tempdir().unwrap();
    let trace = t.path().join("run.jsonl");
    let out = agentsim(&[
        "run",
        "raft",
        "--seed",
        "3",
        "--leader-crashes",
        "first=1s,every=1s,down=500ms,count=1",
        "--trace",
        s(&trace),
        "--trace-level",
        "notes",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = agentsim(&["plot", s(&trace)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(png_size(&trace.with_extension("png")), (960, 600));
    let svg = t.path().join("who-leads.svg");
    let out = agentsim(&[
        "plot",
        s(&trace),
        "--format",
        "svg",
        "--out",
        s(&svg),
        "--from",
        "900ms",
        "--to",
        "1.5s",
        "--width",
        "800",
        "--height",
        "300",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(svg_size(&svg), (800, 300));
}

#[test]
fn plot_input_errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    for (args, mention) in [
        (vec!["plot", "no/such/folder"], "no/such/folder"),
        (vec!["plot", ".", "--format", "gif"], "gif"),
        (vec!["plot", ".", "--width", "5"], "--width"),
    ] {
        let out = agentsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(mention), "{}", stderr(&out));
    }
    // A shard alone is not plotted.
    let exp = small_experiment(t.path(), 4);
    let shard = t.path().join("s0");
    sweep(&["sweep", s(&exp), "--shard", "0/2", "--out", s(&shard)]);
    let out = agentsim(&["plot", s(&shard)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("merge"), "{}", stderr(&out));
    // A results folder missing one of its files is bad input, as a missing file is.
    let whole = t.path().join("whole");
    sweep(&["sweep", s(&exp), "--out", s(&whole)]);
    std::fs::remove_file(whole.join("runs.csv")).unwrap();
    let out = agentsim(&["plot", s(&whole)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim_end().lines().count(), 1);
    assert!(stderr(&out).contains("runs.csv"), "{}", stderr(&out));
}

/// The issue's case: first-leader time against cluster size, one curve per
/// latency; with a box plot, small multiples and a `where` filter.
fn leader_experiment(dir: &Path) -> std::path::PathBuf {
    let text = r#"protocol = "raft"
seeds = "0..8"
metrics = ["first_leader_ms"]

[scenario]
time_max = "2s"

[sweep]
nodes = [3, 5, 7, 9]
"net.latency" = ["1ms..5ms", "20ms..40ms", "60ms..80ms"]

[labels]
"net.latency" = "one-way latency"
first_leader_ms = "time to the first leader"

[[plot]]
name = "first-leader"
kind = "versus"
metric = "first_leader_ms"
x = "nodes"
formats = ["png", "svg", "pdf"]

[[plot]]
name = "boxes"
kind = "box"
metric = "first_leader_ms"
x = "nodes"
where = { "net.latency" = "1ms..5ms" }
formats = ["svg"]

[[plot]]
name = "panels"
kind = "cdf"
metric = "first_leader_ms"
facet = "nodes"
formats = ["svg"]

[[plot]]
name = "line"
kind = "versus"
metric = "first_leader_ms"
x = "net.latency"
x_scale = "category"
where = { nodes = 5 }
formats = ["svg"]

[[plot.reference]]
label = "between the first two"
x = 0.5
"#;
    let p = dir.join("leader.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A text of an SVG figure: its `aria-label` and the box its glyphs cover.
#[derive(Debug)]
struct SvgText {
    text: String,
    bbox: [f64; 4],
}

fn num_list(s: &str) -> Vec<f64> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().unwrap())
        .collect()
}

fn attr<'a>(tag: &'a str, k: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {k}=\""))? + k.len() + 3;
    tag[at..].split('"').next()
}

/// Every text of an SVG written by `agentsim plot`, with the bounding box
/// of its glyph outlines (each glyph's outline bounds, placed by its
/// matrix, rotated with its group).
fn svg_texts(svg: &str) -> Vec<SvgText> {
    // Glyph bounds in font units (y up).
    let mut glyphs = std::collections::BTreeMap::new();
    for def in svg.split("<path id=\"").skip(1) {
        let id = def.split('"').next().unwrap().to_string();
        let d = attr(def, "d").unwrap();
        let nums: Vec<f64> = d
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect();
        let xs = nums.iter().step_by(2);
        let ys = nums.iter().skip(1).step_by(2);
        let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
        let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
        glyphs.insert(id, [x0, y0, x1, y1]);
    }
    let mut out = Vec::new();
    for g in svg.split("<g aria-label=\"").skip(1) {
        let text = g.split('"').next().unwrap().replace("&amp;", "&");
        let head = &g[..g.find('>').unwrap()];
        let head = format!(" {head}");
        let rot = attr(&head, "transform")
            .map(|t| num_list(t.trim_start_matches("rotate(").trim_end_matches(')')));
        let body = &g[..g.find("</g>").unwrap()];
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for u in body.split("<use ").skip(1) {
            let u = format!(" {u}");
            let id = attr(&u, "xlink:href").unwrap().trim_start_matches('#');
            let m = num_list(
                attr(&u, "transform")
                    .unwrap()
                    .trim_start_matches("matrix(")
                    .trim_end_matches(')'),
            );
            let gb = glyphs[id];
            for (gx, gy) in [(gb[0], gb[1]), (gb[2], gb[3])] {
                let (mut x, mut y) = (m[4] + m[0] * gx, m[5] + m[3] * gy);
                if let Some(r) = &rot {
                    assert_eq!(r[0], 270.0);
                    let (dx, dy) = (x - r[1], y - r[2]);
                    (x, y) = (r[1] + dy, r[2] - dx);
                }
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
        }
        if b[0] <= b[2] {
            out.push(SvgText { text, bbox: b });
        }
    }
    out
}

fn assert_texts_apart(svg: &str, (w, h): (f64, f64), what: &str) -> Vec<SvgText> {
    let texts = svg_texts(svg);
    assert!(texts.len() > 8, "{what}: {texts:?}");
    for (i, a) in texts.iter().enumerate() {
        let b = a.bbox;
        assert!(
            b[0] >= 0.0 && b[1] >= 0.0 && b[2] <= w && b[3] <= h,
            "{what}: '{}' {b:?} leaves the {w}×{h} canvas",
            a.text
        );
        for c in &texts[i + 1..] {
            let o = c.bbox;
            let apart = b[2] <= o[0] || o[2] <= b[0] || b[3] <= o[1] || o[3] <= b[1];
            assert!(
                apart,
                "{what}: '{}' {b:?} overlaps '{}' {o:?}",
                a.text, c.text
            );
        }
    }
    texts
}

#[test]
fn text_scales_with_the_figure_and_never_overlaps() {
    let t = tempfile::tempdir().unwrap();
    let exp = leader_experiment(t.path());
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    let mut tick_heights = Vec::new();
    for (w, h, scale) in [
        (400, 300, "1"),
        (960, 600, "1"),
        (1920, 1200, "1"),
        (960, 600, "1.5"),
    ] {
        let out = agentsim(&[
            "plot",
            s(&dir),
            "--format",
            "svg",
            "--width",
            &w.to_string(),
            "--height",
            &h.to_string(),
            "--font-scale",
            scale,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for name in ["first-leader", "boxes", "panels", "line"] {
            let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
            let what = format!("{name} at {w}×{h}, font scale {scale}");
            let texts = assert_texts_apart(&svg, (w as f64, h as f64), &what);
            if name == "first-leader" {
                // The height of the x axis' description.
                let nodes = texts.iter().find(|t| t.text == "nodes").expect("x label");
                tick_heights.push(nodes.bbox[3] - nodes.bbox[1]);
                assert!(
                    texts
                        .iter()
                        .any(|t| t.text.starts_with("time to the first leader")),
                    "[labels] name the axis and title: {texts:?}"
                );
            }
        }
    }
    // 1920×1200 is 960×600 at twice the resolution; 400×300 keeps its text
    // readable (not 42% of the default); font scale 1.5 is 1.5 times the text.
    let [small, normal, big, scaled] = tick_heights[..] else {
        panic!()
    };
    assert!((big / normal - 2.0).abs() < 0.05, "{tick_heights:?}");
    assert!((scaled / normal - 1.5).abs() < 0.05, "{tick_heights:?}");
    assert!(small / normal > 0.6 && small < normal, "{tick_heights:?}");
    assert!(small >= 7.0, "{tick_heights:?}");
}

#[test]
fn legend_hides_no_data_and_captions_say_what_is_fixed() {
    let t = tempfile::tempdir().unwrap();
    let exp = leader_experiment(t.path());
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    for (w, h) in [(960, 600), (400, 300), (640, 480)] {
        let out = agentsim(&[
            "plot",
            s(&dir),
            "--only",
            "first-leader",
            "--only",
            "line",
            "--format",
            "svg",
            "--width",
            &w.to_string(),
            "--height",
            &h.to_string(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let svg = std::fs::read_to_string(dir.join("first-leader.svg")).unwrap();
        // The legend's box (white, 92% opaque) and every data point (dots).
        let legend = svg
            .lines()
            .find(|l| l.starts_with("<rect") && l.contains("opacity=\"0.92\""))
            .expect("a legend");
        let n = |k: &str| attr(legend, k).unwrap().parse::<f64>().unwrap();
        let (x0, y0) = (n("x"), n("y"));
        let (x1, y1) = (x0 + n("width"), y0 + n("height"));
        let mut dots = 0;
        for c in svg.lines().filter(|l| l.starts_with("<circle")) {
            let n = |k: &str| attr(c, k).unwrap().parse::<f64>().unwrap();
            let (cx, cy, r) = (n("cx"), n("cy"), n("r"));
            dots += 1;
            assert!(
                cx + r <= x0 || cx - r >= x1 || cy + r <= y0 || cy - r >= y1,
                "{w}×{h}: the point at ({cx}, {cy}) is under the legend {x0},{y0}–{x1},{y1}"
            );
        }
        assert_eq!(dots, 12, "4 sizes × 3 latencies");
        let texts = svg_texts(&svg);
        for entry in [
            "one-way latency 1–5ms",
            "one-way latency 20–40ms",
            "one-way latency 60–80ms",
        ] {
            assert!(texts.iter().any(|t| t.text == entry), "{entry}: {texts:?}");
        }
        let line = std::fs::read_to_string(dir.join("line.svg")).unwrap();
        let texts = svg_texts(&line);
        assert!(
            texts.iter().any(|t| t.text.contains("fixed: nodes 5")),
            "the where filter is in the caption: {texts:?}"
        );
        // The reference on the category axis: a dashed vertical line
        // halfway between the first two categories' ticks.
        assert!(texts.iter().any(|t| t.text == "between the first two"));
    }
}

#[test]
fn box_plots_small_multiples_and_pdf_are_drawn() {
    let t = tempfile::tempdir().unwrap();
    let exp = leader_experiment(t.path());
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    let out = agentsim(&["plot", s(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Box plot: one box per cluster size, the latency held fixed in the caption.
    let svg = std::fs::read_to_string(dir.join("boxes.svg")).unwrap();
    let texts = svg_texts(&svg);
    assert!(
        texts
            .iter()
            .any(|t| t.text == "fixed: one-way latency 1–5ms"),
        "{texts:?}"
    );
    for n in ["3", "5", "7", "9"] {
        assert!(texts.iter().any(|t| t.text == n), "category {n}: {texts:?}");
    }
    // Small multiples: a panel (title and frame) per cluster size.
    let svg = std::fs::read_to_string(dir.join("panels.svg")).unwrap();
    let texts = svg_texts(&svg);
    for n in ["nodes 3", "nodes 5", "nodes 7", "nodes 9"] {
        assert_eq!(
            texts.iter().filter(|t| t.text == n).count(),
            1,
            "{n}: {texts:?}"
        );
    }
    let frames = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains("fill=\"none\" stroke=\"#3C3C3C\""))
        .count();
    assert_eq!(frames, 4);
    // PDF: a header, one page of the figure's size (0.75 pt per pixel),
    // objects where the cross-reference table says, and the trailer.
    let pdf = std::fs::read(dir.join("first-leader.pdf")).unwrap();
    check_pdf(&pdf, (720.0, 450.0));
    assert_eq!(png_size(&dir.join("first-leader.png")), (960, 600));
    // The same figure, the same PDF bytes.
    agentsim(&["plot", s(&dir), "--only", "first-leader", "--format", "pdf"]);
    assert_eq!(std::fs::read(dir.join("first-leader.pdf")).unwrap(), pdf);
}

/// Checks a PDF's structure: header, trailer, cross-reference table (each
/// offset at its object), the page tree with one page of `size` points,
/// and that every content stream's /Length matches it.
fn check_pdf(pdf: &[u8], size: (f64, f64)) {
    let text = String::from_utf8_lossy(pdf);
    assert!(pdf.starts_with(b"%PDF-1."), "header");
    assert!(text.ends_with("%%EOF\n"), "trailer");
    let start: usize = text
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pdf[start..].starts_with(b"xref\n0 "));
    let xref = String::from_utf8_lossy(&pdf[start..]);
    let count: usize = xref.lines().nth(1).unwrap()[2..].parse().unwrap();
    let entries: Vec<&str> = xref.lines().skip(2).take(count).collect();
    assert!(entries[0].ends_with(" f "));
    for (i, e) in entries.iter().enumerate().skip(1) {
        let off: usize = e[..10].parse().unwrap();
        let head = format!("{i} 0 obj\n");
        assert_eq!(&pdf[off..off + head.len()], head.as_bytes(), "object {i}");
        // A stream's /Length is the bytes between `stream\n` and `endstream`.
        let body = String::from_utf8_lossy(&pdf[off..]);
        let body = &body[..body.find("endobj").unwrap()];
        if let Some(at) = body.find("/Length ") {
            let len: usize = body[at + 8..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let s0 = body.find("stream\n").unwrap() + 7;
            let s1 = body.find("endstream").unwrap();
            assert_eq!(s1 - s0, len, "object {i}: stream length");
        }
    }
    assert!(xref.contains(&format!("trailer\n<< /Size {count} /Root 1 0 R >>")));
    assert!(text.contains("/Type /Catalog /Pages 2 0 R"));
    assert!(text.contains("/Type /Pages /Kids [3 0 R] /Count 1"));
    assert!(
        text.contains(&format!("/MediaBox [0 0 {} {}]", size.0, size.1)),
        "page size"
    );
    assert!(text.contains(" Do Q"), "text glyphs are placed");
}
