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
