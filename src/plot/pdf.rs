//! A figure's SVG written as a one-page PDF, with no library: the SVG that
//! [`super::render`] writes holds only rectangles, lines, polylines,
//! circles and text already turned into glyph outlines
//! ([`super::svg_text`]), so each maps to a few PDF path operators. Glyph
//! outlines become form XObjects, each defined once; opacities become
//! graphics states. One SVG pixel is 0.75 pt (96 per inch), so a 960 × 600
//! figure is a 10 × 6.25 inch page, a vector that scales without loss.
//!
//! The file is plain (no compression, no dates, no producer): the same
//! figure gives the same bytes on every machine.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Points per SVG pixel.
pub const PT_PER_PX: f64 = 0.75;

fn attrs(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq]
            .rsplit(|c: char| c.is_whitespace() || c == '<')
            .next()
            .unwrap_or("")
            .to_string();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.insert(key, after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Up to three decimals, no trailing zeros.
fn n(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 {
        return "0".into();
    }
    let s = format!("{r:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn color(s: &str) -> Option<(f64, f64, f64)> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let c = |i: usize| {
        u8::from_str_radix(&h[i..i + 2], 16)
            .ok()
            .map(|v| v as f64 / 255.0)
    };
    Some((c(0)?, c(2)?, c(4)?))
}

/// SVG path data of a glyph (absolute M, L, Q, C, Z) as PDF operators.
fn path_ops(d: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut nums: Vec<f64> = Vec::new();
    let mut cmd = ' ';
    let mut cur = (0.0, 0.0);
    let flush = |cmd: char,
                 nums: &mut Vec<f64>,
                 out: &mut String,
                 cur: &mut (f64, f64)|
     -> Result<(), String> {
        let need = match cmd {
            'M' | 'L' => 2,
            'Q' => 4,
            'C' => 6,
            'Z' | ' ' => 0,
            c => return Err(format!("path command '{c}' not supported")),
        };
        if need == 0 {
            if cmd == 'Z' {
                out.push_str("h\n");
            }
            nums.clear();
            return Ok(());
        }
        if nums.len() % need != 0 || nums.is_empty() {
            return Err(format!("path command '{cmd}' with {} numbers", nums.len()));
        }
        for c in nums.chunks(need) {
            match cmd {
                'M' => writeln!(out, "{} {} m", n(c[0]), n(c[1])),
                'L' => writeln!(out, "{} {} l", n(c[0]), n(c[1])),
                'Q' => {
                    let (x0, y0) = *cur;
                    let c1 = (x0 + 2.0 / 3.0 * (c[0] - x0), y0 + 2.0 / 3.0 * (c[1] - y0));
                    let c2 = (
                        c[2] + 2.0 / 3.0 * (c[0] - c[2]),
                        c[3] + 2.0 / 3.0 * (c[1] - c[3]),
                    );
                    writeln!(
                        out,
                        "{} {} {} {} {} {} c",
                        n(c1.0),
                        n(c1.1),
                        n(c2.0),
                        n(c2.1),
                        n(c[2]),
                        n(c[3])
                    )
                }
                _ => writeln!(
                    out,
                    "{} {} {} {} {} {} c",
                    n(c[0]),
                    n(c[1]),
                    n(c[2]),
                    n(c[3]),
                    n(c[4]),
                    n(c[5])
                ),
            }
            .map_err(|e| e.to_string())?;
            *cur = (c[need - 2], c[need - 1]);
        }
        nums.clear();
        Ok(())
    };
    let mut numtext = String::new();
    for ch in d.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_alphabetic() && ch != 'e' {
            if !numtext.is_empty() {
                nums.push(
                    numtext
                        .parse()
                        .map_err(|_| format!("bad number '{numtext}'"))?,
                );
                numtext.clear();
            }
            flush(cmd, &mut nums, &mut out, &mut cur)?;
            cmd = ch;
        } else if ch.is_whitespace()
            || ch == ','
            || (ch == '-' && !numtext.is_empty() && !numtext.ends_with('e'))
        {
            if !numtext.is_empty() {
                nums.push(
                    numtext
                        .parse()
                        .map_err(|_| format!("bad number '{numtext}'"))?,
                );
                numtext.clear();
            }
            if ch == '-' {
                numtext.push(ch);
            }
        } else {
            numtext.push(ch);
        }
    }
    flush(cmd, &mut nums, &mut out, &mut cur)?;
    Ok(out)
}

/// Writes `svg` (as [`super::render`] makes it) as a one-page PDF.
pub fn svg_to_pdf(svg: &str) -> Result<Vec<u8>, String> {
    let root = svg.find("<svg ").ok_or("no <svg> element")?;
    let root_end = svg[root..].find('>').ok_or("unterminated <svg>")? + root;
    let ra = attrs(&svg[root..root_end]);
    let dim = |k: &str| -> Result<f64, String> {
        ra.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .ok_or(format!("<svg> without a numeric {k}"))
    };
    let (w, h) = (dim("width")?, dim("height")?);
    let mut glyphs: BTreeMap<String, String> = BTreeMap::new();
    let mut alphas: Vec<String> = Vec::new();
    let mut gs = |a: f64| -> String {
        let key = n(a);
        let i = alphas.iter().position(|x| *x == key).unwrap_or_else(|| {
            alphas.push(key);
            alphas.len() - 1
        });
        format!("/A{i} gs")
    };
    let mut c = String::new();
    // SVG pixels, y down.
    writeln!(
        c,
        "{} 0 0 {} 0 {} cm",
        n(PT_PER_PX),
        n(-PT_PER_PX),
        n(h * PT_PER_PX)
    )
    .unwrap();
    let mut group: Option<BTreeMap<String, String>> = None;
    let body = &svg[root_end + 1..];
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let after = &rest[start..];
        let end = after.find('>').ok_or("unterminated tag")?;
        let tag = &after[..=end];
        rest = &after[end + 1..];
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect();
        let a = attrs(tag);
        let num = |k: &str| a.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let opacity = a
            .get("opacity")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "path" => {
                if let (Some(id), Some(d)) = (a.get("id"), a.get("d")) {
                    glyphs.insert(id.clone(), path_ops(d)?);
                }
            }
            "rect" | "line" | "polyline" | "circle" => {
                let fill = a.get("fill").and_then(|f| color(f));
                let stroke = a.get("stroke").and_then(|f| color(f));
                let sw = a
                    .get("stroke-width")
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(1.0);
                let mut geom = String::new();
                match name.as_str() {
                    "rect" => writeln!(
                        geom,
                        "{} {} {} {} re",
                        n(num("x")),
                        n(num("y")),
                        n(num("width")),
                        n(num("height"))
                    ),
                    "line" => writeln!(
                        geom,
                        "{} {} m {} {} l",
                        n(num("x1")),
                        n(num("y1")),
                        n(num("x2")),
                        n(num("y2"))
                    ),
                    "polyline" => {
                        let pts: Vec<f64> = a
                            .get("points")
                            .map(|p| {
                                p.split(|c: char| c == ',' || c.is_whitespace())
                                    .filter(|s| !s.is_empty())
                                    .filter_map(|s| s.parse().ok())
                                    .collect()
                            })
                            .unwrap_or_default();
                        for (i, p) in pts.chunks(2).filter(|p| p.len() == 2).enumerate() {
                            let op = if i == 0 { "m" } else { "l" };
                            writeln!(geom, "{} {} {op}", n(p[0]), n(p[1])).unwrap();
                        }
                        Ok(())
                    }
                    _ => {
                        let (cx, cy, r) = (num("cx"), num("cy"), num("r"));
                        let k = 0.552_284_75 * r;
                        writeln!(geom, "{} {} m", n(cx + r), n(cy)).unwrap();
                        for (x1, y1, x2, y2, x3, y3) in [
                            (cx + r, cy + k, cx + k, cy + r, cx, cy + r),
                            (cx - k, cy + r, cx - r, cy + k, cx - r, cy),
                            (cx - r, cy - k, cx - k, cy - r, cx, cy - r),
                            (cx + k, cy - r, cx + r, cy - k, cx + r, cy),
                        ] {
                            writeln!(
                                geom,
                                "{} {} {} {} {} {} c",
                                n(x1),
                                n(y1),
                                n(x2),
                                n(y2),
                                n(x3),
                                n(y3)
                            )
                            .unwrap();
                        }
                        writeln!(geom, "h")
                    }
                }
                .map_err(|e| e.to_string())?;
                if geom.is_empty() {
                    continue;
                }
                let paint = match (fill, stroke) {
                    (Some(_), Some(_)) => "B",
                    (Some(_), None) => "f",
                    (None, Some(_)) if name == "rect" || name == "circle" => "s",
                    (None, Some(_)) => "S",
                    (None, None) => continue,
                };
                c.push_str("q\n");
                c.push_str(&gs(opacity));
                c.push('\n');
                if let Some((r, g, b)) = fill {
                    writeln!(c, "{} {} {} rg", n(r), n(g), n(b)).unwrap();
                }
                if let Some((r, g, b)) = stroke {
                    writeln!(c, "{} {} {} RG {} w 1 J 1 j", n(r), n(g), n(b), n(sw)).unwrap();
                }
                c.push_str(&geom);
                c.push_str(paint);
                c.push_str("\nQ\n");
            }
            "g" => {
                c.push_str("q\n");
                if let Some(t) = a.get("transform") {
                    // rotate(A, X, Y)
                    let v: Vec<f64> = t
                        .trim_start_matches("rotate(")
                        .trim_end_matches(')')
                        .split(',')
                        .filter_map(|s| s.trim().parse().ok())
                        .collect();
                    if !t.starts_with("rotate(") || v.len() != 3 {
                        return Err(format!("group transform '{t}' not supported"));
                    }
                    let r = v[0].to_radians();
                    let (cs, sn) = (libm::cos(r), libm::sin(r));
                    let (x, y) = (v[1], v[2]);
                    // translate(x, y) rotate(a) translate(-x, -y)
                    writeln!(
                        c,
                        "{} {} {} {} {} {} cm",
                        n(cs),
                        n(sn),
                        n(-sn),
                        n(cs),
                        n(x - cs * x + sn * y),
                        n(y - sn * x - cs * y)
                    )
                    .unwrap();
                }
                c.push_str(&gs(opacity));
                c.push('\n');
                if let Some((r, g, b)) = a.get("fill").and_then(|f| color(f)) {
                    writeln!(c, "{} {} {} rg", n(r), n(g), n(b)).unwrap();
                }
                group = Some(a);
            }
            "/g" if group.take().is_some() => c.push_str("Q\n"),
            "use" => {
                let id = a
                    .get("xlink:href")
                    .map(|s| s.trim_start_matches('#').to_string())
                    .ok_or("<use> without xlink:href")?;
                let m: Vec<f64> = a
                    .get("transform")
                    .map(|t| {
                        t.trim_start_matches("matrix(")
                            .trim_end_matches(')')
                            .split_whitespace()
                            .filter_map(|s| s.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                if m.len() != 6 {
                    return Err(format!("<use> of {id} without a matrix transform"));
                }
                writeln!(
                    c,
                    "q {} {} {} {} {} {} cm /{id} Do Q",
                    n(m[0]),
                    n(m[1]),
                    n(m[2]),
                    n(m[3]),
                    n(m[4]),
                    n(m[5])
                )
                .unwrap();
            }
            _ => {}
        }
    }
    // Objects: 1 catalog, 2 pages, 3 page, 4 content, then glyphs, then states.
    let mut objs: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        String::new(),
        format!("<< /Length {} >>\nstream\n{c}endstream", c.len()),
    ];
    let mut xobjects = String::new();
    for (id, ops) in &glyphs {
        let content = format!("{ops}f\n");
        objs.push(format!(
            "<< /Type /XObject /Subtype /Form /BBox [-4096 -4096 8192 8192] /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
        write!(xobjects, " /{id} {} 0 R", objs.len()).unwrap();
    }
    let mut states = String::new();
    for (i, a) in alphas.iter().enumerate() {
        objs.push(format!("<< /Type /ExtGState /ca {a} /CA {a} >>"));
        write!(states, " /A{i} {} 0 R", objs.len()).unwrap();
    }
    objs[2] = format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Contents 4 0 R /Resources << /XObject <<{xobjects} >> /ExtGState <<{states} >> >> >>",
        n(w * PT_PER_PX),
        n(h * PT_PER_PX)
    );
    let mut out = String::from("%PDF-1.4\n%\u{e2}\u{e3}\u{cf}\u{d3}\n");
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj\n{o}\nendobj", i + 1).unwrap();
    }
    let xref = out.len();
    writeln!(out, "xref\n0 {}\n0000000000 65535 f ", objs.len() + 1).unwrap();
    for o in offsets {
        writeln!(out, "{o:010} 00000 n ").unwrap();
    }
    writeln!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF",
        objs.len() + 1
    )
    .unwrap();
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratics_become_cubics_and_numbers_split_at_minus_signs() {
        let ops = path_ops("M0 0L10-5Q20 0 30 0Z").unwrap();
        assert_eq!(ops, "0 0 m\n10 -5 l\n16.667 -1.667 23.333 0 30 0 c\nh\n");
        assert!(path_ops("M0 0A1 1 0 0 1 2 2").is_err());
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let svg = "<svg width=\"100\" height=\"50\" viewBox=\"0 0 100 50\" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n<defs>\n<path id=\"g1\" d=\"M0 0L1 1Z\"/>\n</defs>\n<rect x=\"0\" y=\"0\" width=\"100\" height=\"50\" opacity=\"1\" fill=\"#FFFFFF\" stroke=\"none\"/>\n<g fill=\"#000000\" opacity=\"1\" transform=\"rotate(270, 10, 20)\"><use xlink:href=\"#g1\" transform=\"matrix(0.01 0 0 -0.01 5 6)\"/></g>\n<circle cx=\"5\" cy=\"5\" r=\"2\" opacity=\"0.5\" fill=\"#FF0000\" stroke=\"none\" stroke-width=\"1\"/>\n</svg>\n";
        let pdf = String::from_utf8_lossy(&svg_to_pdf(svg).unwrap()).into_owned();
        assert!(pdf.starts_with("%PDF-1.4\n") && pdf.ends_with("%%EOF\n"));
        assert!(pdf.contains("/MediaBox [0 0 75 37.5]"), "{pdf}");
        let bytes = pdf.as_bytes();
        let start: usize = pdf
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(pdf[start..].starts_with("xref\n"));
        for (i, line) in pdf[start..]
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .enumerate()
        {
            let off: usize = line[..10].parse().unwrap();
            let want = format!("{} 0 obj", i + 1);
            assert_eq!(&bytes[off..off + want.len()], want.as_bytes());
        }
        assert!(pdf.contains("/g1 Do"), "{pdf}");
    }
}
