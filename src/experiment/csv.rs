//! The CSV dialect of results files: RFC 4180 (comma separated, `\n` line
//! ends, a field is quoted with `"` when it holds a comma, a quote or a line
//! break, and a quote inside is doubled).
//!
//! Numbers are written as the shortest decimal that reads back as the same
//! `f64` (Rust's `{}`), never in exponent form: `185.199123`, `0.05`, `3`.
//! An absent value (a metric a run did not report) is an empty field.

use std::borrow::Cow;

/// One field, quoted if it needs to be.
pub fn field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Appends one record (fields joined by commas) and a line end.
pub fn push_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(f.as_ref()));
    }
    out.push('\n');
}

/// A number in the results-file spelling (shortest round trip).
pub fn num(v: f64) -> String {
    if v == 0.0 {
        // Never write "-0".
        return "0".into();
    }
    format!("{v}")
}

/// An optional number: empty when absent.
pub fn opt_num(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

/// Splits CSV text into records of fields. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut in_quotes = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    cur.push(c);
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                at_field_start = false;
            }
            '"' => return Err(format!("line {line}: stray quote inside a field")),
            ',' => {
                fields.push(std::mem::take(&mut cur));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut cur));
                records.push(std::mem::take(&mut fields));
                at_field_start = true;
                line += 1;
            }
            _ => {
                cur.push(c);
                at_field_start = false;
            }
        }
    }
    if in_quotes {
        return Err(format!("line {line}: unterminated quoted field"));
    }
    if !cur.is_empty() || !fields.is_empty() {
        fields.push(cur);
        records.push(fields);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        let rec = [
            "a",
            "exp:floor=1ms,mean=4ms",
            "say \"hi\"",
            "",
            "150ms..300ms",
        ];
        let mut s = String::new();
        push_record(&mut s, &rec);
        push_record(&mut s, &["x", "y"]);
        assert_eq!(
            s,
            "a,\"exp:floor=1ms,mean=4ms\",\"say \"\"hi\"\"\",,150ms..300ms\nx,y\n"
        );
        let back = parse(&s).unwrap();
        assert_eq!(back[0], rec);
        assert_eq!(back[1], ["x", "y"]);
    }

    #[test]
    fn numbers_are_shortest_round_trip() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(num(185.199123), "185.199123");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(1e21), "1000000000000000000000");
        for v in [0.1, 1.0 / 3.0, 123456.789e-9, 7e300] {
            assert_eq!(num(v).parse::<f64>().unwrap(), v);
        }
        assert_eq!(opt_num(None), "");
    }
}
