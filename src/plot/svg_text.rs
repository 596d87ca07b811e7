//! SVG text as glyph outlines: every `<text>` element plotters writes is
//! replaced by a `<path>` drawn from the embedded font, so an SVG figure
//! renders the same in every viewer, with or without DejaVu Sans installed,
//! and is byte-identical on every machine.
//!
//! plotters' SVG backend writes text as
//! `<text x y dy text-anchor font-family font-size opacity fill [transform]>`;
//! `dy` is `0.76em` (top-anchored), `0.5ex` (centred) or `-0.5ex`
//! (bottom-anchored). The same placement is reproduced here with the font's
//! own metrics (advance widths, kerning, x-height).

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve};

/// Replaces every `<text>` element of `svg` by an outline `<path>`.
pub fn outline_text(svg: &str, font_bytes: &[u8]) -> Result<String, String> {
    let font = FontRef::try_from_slice(font_bytes).map_err(|e| format!("font: {e}"))?;
    let mut out = String::with_capacity(svg.len() * 2);
    let mut rest = svg;
    while let Some(start) = rest.find("<text ") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let open_end = after.find('>').ok_or("unterminated <text> tag")?;
        let attrs = parse_attrs(&after[6..open_end]);
        let body_start = open_end + 1;
        let close = after[body_start..]
            .find("</text>")
            .ok_or("<text> without </text>")?;
        // plotters writes "\ntext\n" inside the element.
        let body = &after[body_start..body_start + close];
        let body = body.strip_prefix('\n').unwrap_or(body);
        let text = unescape(body.strip_suffix('\n').unwrap_or(body));
        out.push_str(&text_path(&font, &attrs, &text));
        rest = &after[body_start + close + "</text>".len()..];
        if let Some(r) = rest.strip_prefix('\n') {
            out.push('\n');
            rest = r;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.push((key, unescape(&after[..end])));
        rest = after[end + 1..].trim_start();
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn attr<'a>(attrs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// Two decimals, no trailing zeros, never `-0`.
fn n2(v: f32) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == 0.0 {
        return "0".into();
    }
    let s = format!("{r:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn text_path(font: &FontRef<'_>, attrs: &[(String, String)], text: &str) -> String {
    let num = |k: &str| {
        attr(attrs, k)
            .and_then(|v| v.parse::<f32>().ok())
            .unwrap_or(0.0)
    };
    let (x, y, size) = (num("x"), num("y"), num("font-size"));
    let upem = font.units_per_em().unwrap_or(2048.0);
    let scale = size / upem;
    let x_height = {
        let g = font.glyph_id('x');
        font.outline(g)
            .map(|o| o.bounds.max.y)
            .unwrap_or(upem * 0.55)
            * scale
    };
    let baseline = y + match attr(attrs, "dy").unwrap_or("") {
        "0.76em" => 0.76 * size,
        "0.5ex" => 0.5 * x_height,
        "-0.5ex" => -0.5 * x_height,
        _ => 0.0,
    };
    let glyphs: Vec<GlyphId> = text.chars().map(|c| font.glyph_id(c)).collect();
    let mut width = 0.0f32;
    for (i, &g) in glyphs.iter().enumerate() {
        if i > 0 {
            width += font.kern_unscaled(glyphs[i - 1], g);
        }
        width += font.h_advance_unscaled(g);
    }
    width *= scale;
    let mut pen = x - match attr(attrs, "text-anchor").unwrap_or("start") {
        "middle" => width / 2.0,
        "end" => width,
        _ => 0.0,
    };
    let mut d = String::new();
    for (i, &g) in glyphs.iter().enumerate() {
        if i > 0 {
            pen += font.kern_unscaled(glyphs[i - 1], g) * scale;
        }
        if let Some(outline) = font.outline(g) {
            let p = |pt: ab_glyph::Point| (pen + pt.x * scale, baseline - pt.y * scale);
            let mut last: Option<ab_glyph::Point> = None;
            for c in &outline.curves {
                let (p0, end) = match c {
                    OutlineCurve::Line(a, b) => (*a, *b),
                    OutlineCurve::Quad(a, _, b) => (*a, *b),
                    OutlineCurve::Cubic(a, _, _, b) => (*a, *b),
                };
                if last != Some(p0) {
                    if last.is_some() {
                        d.push('Z');
                    }
                    let (px, py) = p(p0);
                    d.push_str(&format!("M{} {}", n2(px), n2(py)));
                }
                match c {
                    OutlineCurve::Line(_, b) => {
                        let (bx, by) = p(*b);
                        d.push_str(&format!("L{} {}", n2(bx), n2(by)));
                    }
                    OutlineCurve::Quad(_, c1, b) => {
                        let ((cx, cy), (bx, by)) = (p(*c1), p(*b));
                        d.push_str(&format!("Q{} {} {} {}", n2(cx), n2(cy), n2(bx), n2(by)));
                    }
                    OutlineCurve::Cubic(_, c1, c2, b) => {
                        let ((ax, ay), (cx, cy), (bx, by)) = (p(*c1), p(*c2), p(*b));
                        d.push_str(&format!(
                            "C{} {} {} {} {} {}",
                            n2(ax),
                            n2(ay),
                            n2(cx),
                            n2(cy),
                            n2(bx),
                            n2(by)
                        ));
                    }
                }
                last = Some(end);
            }
            if last.is_some() {
                d.push('Z');
            }
        }
        pen += font.h_advance_unscaled(g) * scale;
    }
    let mut el = format!("<path d=\"{d}\"");
    for k in ["fill", "opacity", "transform"] {
        if let Some(v) = attr(attrs, k) {
            el.push_str(&format!(" {k}=\"{v}\""));
        }
    }
    el.push_str("/>");
    el
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_paths() {
        let svg = "<svg>\n<text x=\"10\" y=\"20\" dy=\"0.76em\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"12\" opacity=\"1\" fill=\"#000000\" transform=\"rotate(270, 10, 20)\">\nA&amp;B</text>\n</svg>\n";
        let out = outline_text(svg, crate::plot::render::FONT).unwrap();
        assert!(!out.contains("<text"), "{out}");
        assert!(out.contains("<path d=\"M"), "{out}");
        assert!(out.contains("transform=\"rotate(270, 10, 20)\""));
        assert!(out.starts_with("<svg>\n") && out.ends_with("</svg>\n"));
        // Deterministic.
        assert_eq!(out, outline_text(svg, crate::plot::render::FONT).unwrap());
    }
}
