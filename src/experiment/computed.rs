//! `[computed]`: per-run metrics computed from others (`"A OP B"`).

/// A metric computed from others in each run: `NAME = "A OP B"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    /// The new metric's name.
    pub name: String,
    /// How it is computed.
    pub expr: Expr,
}

/// One side of an [`Expr`].
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// Another metric of the same run, by name.
    Metric(String),
    /// A finite number.
    Num(f64),
}

/// An operator of an [`Expr`]; comparisons give 1 (true) or 0 (false).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (absent on division by zero)
    Div,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

const OPS: &[(&str, Op)] = &[
    ("+", Op::Add),
    ("-", Op::Sub),
    ("*", Op::Mul),
    ("/", Op::Div),
    (">", Op::Gt),
    (">=", Op::Ge),
    ("<", Op::Lt),
    ("<=", Op::Le),
    ("==", Op::Eq),
    ("!=", Op::Ne),
];

/// `A` or `A OP B` (spaces around the operator), operands metric names or numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// The left operand (the whole expression when `rest` is `None`).
    pub a: Operand,
    /// The operator and right operand; `None` for a single operand.
    pub rest: Option<(Op, Operand)>,
}

impl Expr {
    /// Parses `"A OP B"`; the error says what is accepted.
    pub fn parse(s: &str) -> Result<Expr, String> {
        let operand = |t: &str| -> Operand {
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Operand::Num(v),
                _ => Operand::Metric(t.to_string()),
            }
        };
        let toks: Vec<&str> = s.split_whitespace().collect();
        match toks.as_slice() {
            [a] => Ok(Expr {
                a: operand(a),
                rest: None,
            }),
            [a, op, b] => {
                let op = OPS
                    .iter()
                    .find(|(t, _)| t == op)
                    .map(|&(_, o)| o)
                    .ok_or_else(|| {
                        format!("operator '{op}' unknown (accepted: + - * / > >= < <= == !=)")
                    })?;
                Ok(Expr {
                    a: operand(a),
                    rest: Some((op, operand(b))),
                })
            }
            _ => Err(format!(
                "'{s}' is not an expression (accepted: METRIC, or A OP B with spaces around OP, e.g. \"split_votes > 0\")"
            )),
        }
    }

    /// The two operands.
    pub fn operands(&self) -> impl Iterator<Item = &Operand> {
        std::iter::once(&self.a).chain(self.rest.as_ref().map(|(_, b)| b))
    }

    /// Evaluates with `get` giving metric values; comparisons give 1 or 0.
    /// Absent when an operand is absent or on division by zero.
    pub fn eval(&self, get: impl Fn(&str) -> Option<f64>) -> Option<f64> {
        let val = |o: &Operand| match o {
            Operand::Num(v) => Some(*v),
            Operand::Metric(m) => get(m),
        };
        let a = val(&self.a)?;
        let Some((op, b)) = &self.rest else {
            return Some(a);
        };
        let b = val(b)?;
        let t = |c: bool| if c { 1.0 } else { 0.0 };
        Some(match op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div if b == 0.0 => return None,
            Op::Div => a / b,
            Op::Gt => t(a > b),
            Op::Ge => t(a >= b),
            Op::Lt => t(a < b),
            Op::Le => t(a <= b),
            Op::Eq => t(a == b),
            Op::Ne => t(a != b),
        })
    }
}
