//! SVG text as glyph outlines: every `<text>` element plotters writes is
//! replaced by the glyphs of the embedded font (each glyph's outline defined
//! once in `<defs>`, placed with `<use>`), so an SVG figure
//! renders the same in every viewer, with or without DejaVu Sans installed,
//! and is byte-identical on every machine.
//!
//! plotters' SVG backend writes text as
//! `<text x y dy text-anchor font-family font-size opacity fill [transform]>`;
//! `dy` is `0.76em` (top-anchored), `0.5ex` (centred) or `-0.5ex`
//! (bottom-anchored). The same placement is reproduced here with the font's
//! own metrics (advance widths, kerning, x-height). Each text's group keeps
//! the text in an `aria-label`, for screen readers and searches.

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve};
use std::collections::BTreeMap;

/// Replaces every `<text>` element of `svg` by outline glyphs: each glyph
/// used is defined once (`<defs>`, font units) and placed with `<use>`.
pub fn outline_text(svg: &str, font_bytes: &[u8]) -> Result<String, String> {
    let font = FontRef::try_from_slice(font_bytes).map_err(|e| format!("font: {e}"))?;
    let mut glyphs: BTreeMap<u16, String> = BTreeMap::new();
    let mut body = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(start) = rest.find("<text ") {
        body.push_str(&rest[..start]);
        let after = &rest[start..];
        let open_end = after.find('>').ok_or("unterminated <text> tag")?;
        let attrs = parse_attrs(&after[6..open_end]);
        let body_start = open_end + 1;
        let close = after[body_start..]
            .find("</text>")
            .ok_or("<text> without </text>")?;
        // plotters writes "\ntext\n" inside the element.
        let inner = &after[body_start..body_start + close];
        let inner = inner.strip_prefix('\n').unwrap_or(inner);
        let text = unescape(inner.strip_suffix('\n').unwrap_or(inner));
        body.push_str(&text_glyphs(&font, &attrs, &text, &mut glyphs));
        rest = &after[body_start + close + "</text>".len()..];
    }
    body.push_str(rest);
    // Definitions go right after the root element's opening tag.
    let root_end = body.find(">\n").ok_or("no <svg> element")? + 2;
    let mut out = String::with_capacity(body.len() + glyphs.len() * 400);
    out.push_str(&body[..root_end].replacen(
        "xmlns=\"http://www.w3.org/2000/svg\"",
        "xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
        1,
    ));
    if !glyphs.is_empty() {
        out.push_str("<defs>\n");
        for (id, d) in &glyphs {
            out.push_str(&format!("<path id=\"g{id}\" d=\"{d}\"/>\n"));
        }
        out.push_str("</defs>\n");
    }
    out.push_str(&body[root_end..]);
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

/// Up to three decimals, no trailing zeros, never `-0`.
fn n3(v: f32) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 {
        return "0".into();
    }
    let s = format!("{r:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A glyph's outline in font units (y up), as path data.
fn glyph_path(font: &FontRef<'_>, g: GlyphId) -> Option<String> {
    let outline = font.outline(g)?;
    let mut d = String::new();
    let mut last: Option<ab_glyph::Point> = None;
    let p = |pt: ab_glyph::Point| format!("{} {}", n3(pt.x), n3(pt.y));
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
            d.push_str(&format!("M{}", p(p0)));
        }
        match c {
            OutlineCurve::Line(_, b) => d.push_str(&format!("L{}", p(*b))),
            OutlineCurve::Quad(_, c1, b) => d.push_str(&format!("Q{} {}", p(*c1), p(*b))),
            OutlineCurve::Cubic(_, c1, c2, b) => {
                d.push_str(&format!("C{} {} {}", p(*c1), p(*c2), p(*b)))
            }
        }
        last = Some(end);
    }
    if last.is_some() {
        d.push('Z');
    }
    Some(d)
}

/// One `<text>` as a group of placed glyphs.
fn text_glyphs(
    font: &FontRef<'_>,
    attrs: &[(String, String)],
    text: &str,
    defs: &mut BTreeMap<u16, String>,
) -> String {
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
    let ids: Vec<GlyphId> = text.chars().map(|c| font.glyph_id(c)).collect();
    let mut width = 0.0f32;
    for (i, &g) in ids.iter().enumerate() {
        if i > 0 {
            width += font.kern_unscaled(ids[i - 1], g);
        }
        width += font.h_advance_unscaled(g);
    }
    width *= scale;
    let mut pen = x - match attr(attrs, "text-anchor").unwrap_or("start") {
        "middle" => width / 2.0,
        "end" => width,
        _ => 0.0,
    };
    // The text itself stays readable to screen readers, search and tests.
    let mut el = format!(
        "<g aria-label=\"{}\"",
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    );
    for k in ["fill", "opacity", "transform"] {
        if let Some(v) = attr(attrs, k) {
            el.push_str(&format!(" {k}=\"{v}\""));
        }
    }
    el.push('>');
    // Six decimals: three would round 17 px text (0.0083 per font unit) to 0.008.
    let s = {
        let t = format!("{scale:.6}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    for (i, &g) in ids.iter().enumerate() {
        if i > 0 {
            pen += font.kern_unscaled(ids[i - 1], g) * scale;
        }
        if let std::collections::btree_map::Entry::Vacant(e) = defs.entry(g.0) {
            if let Some(d) = glyph_path(font, g) {
                e.insert(d);
            }
        }
        if defs.contains_key(&g.0) {
            el.push_str(&format!(
                "<use xlink:href=\"#g{}\" transform=\"matrix({s} 0 0 -{s} {} {})\"/>",
                g.0,
                n3(pen),
                n3(baseline)
            ));
        }
        pen += font.h_advance_unscaled(g) * scale;
    }
    el.push_str("</g>");
    el
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_glyphs() {
        let svg = "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\">\n<text x=\"10\" y=\"20\" dy=\"0.76em\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"12\" opacity=\"1\" fill=\"#000000\" transform=\"rotate(270, 10, 20)\">\nA&amp;B A\n</text>\n</svg>\n";
        let out = outline_text(svg, crate::plot::render::FONT).unwrap();
        assert!(!out.contains("<text"), "{out}");
        assert!(out.contains("xmlns:xlink="), "{out}");
        // 'A' is defined once and used twice; the space has no outline.
        assert_eq!(out.matches("<path id=").count(), 3, "{out}");
        assert_eq!(out.matches("<use ").count(), 4, "{out}");
        assert!(out.contains("transform=\"rotate(270, 10, 20)\""));
        assert!(out.ends_with("</svg>\n"));
        assert_eq!(out, outline_text(svg, crate::plot::render::FONT).unwrap());
    }
}
