//! Reference curves written as formulas in `x` (`formula = "log2(x) + ln(x)"`
//! in a plot's `[[plot.reference]]`): parsed by `exmex`, with an operator
//! set of our own whose functions are the pure-Rust `libm` ones, so a curve
//! has the same bits, and a figure the same bytes, on every platform.
//!
//! Accepted: numbers, the variable `x`, `+ - * / ^` (`^` binds tightest, then
//! `/`, `*`, `-`, `+`; a leading `-` negates before anything else, as in
//! exmex: `-x^2` is `(-x)^2`, write `-(x^2)`), parentheses, the functions
//! `ln log2 log10 exp sqrt abs floor ceil` of one argument and `min max` of
//! two (`min(a, b)`), and the constants `pi` and `e`.

use exmex::{BinOp, Express, FlatEx, MakeOperators, Operator};

/// What a formula may contain, for error messages.
pub const ACCEPTED: &str = "numbers, x, + - * / ^, parentheses, ln log2 log10 exp sqrt abs floor ceil min max, pi, e; e.g. \"log2(x) + ln(x)\"";

/// The operators of formulas: exmex's priorities, libm's functions.
#[derive(Clone, Debug)]
pub struct LibmOps;

impl MakeOperators<f64> for LibmOps {
    fn make<'a>() -> Vec<Operator<'a, f64>> {
        let bin = |apply: fn(f64, f64) -> f64, prio: i64, is_commutative: bool| BinOp {
            apply,
            prio,
            is_commutative,
        };
        vec![
            Operator::make_bin("^", bin(libm::pow, 4, false)),
            Operator::make_bin("*", bin(|a, b| a * b, 2, true)),
            Operator::make_bin("/", bin(|a, b| a / b, 3, false)),
            Operator::make_bin_unary("+", bin(|a, b| a + b, 0, true), |a| a),
            Operator::make_bin_unary("-", bin(|a, b| a - b, 1, false), |a| -a),
            Operator::make_bin("min", bin(libm::fmin, 0, false)),
            Operator::make_bin("max", bin(libm::fmax, 0, false)),
            Operator::make_unary("ln", libm::log),
            Operator::make_unary("log2", libm::log2),
            Operator::make_unary("log10", libm::log10),
            Operator::make_unary("exp", libm::exp),
            Operator::make_unary("sqrt", libm::sqrt),
            Operator::make_unary("abs", libm::fabs),
            Operator::make_unary("floor", libm::floor),
            Operator::make_unary("ceil", libm::ceil),
            Operator::make_constant("pi", std::f64::consts::PI),
            Operator::make_constant("e", std::f64::consts::E),
        ]
    }
}

/// A parsed formula in `x`.
#[derive(Clone, Debug)]
pub struct Formula {
    expr: FlatEx<f64, LibmOps>,
}

impl Formula {
    /// Parses `text`; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Formula, String> {
        let bad = |why: &str| format!("formula '{text}': {why} (accepted: {ACCEPTED})");
        let expr = FlatEx::<f64, LibmOps>::parse(text).map_err(|e| {
            // Some exmex messages print the operator's internals (function addresses).
            let m = e.msg();
            bad(if m.contains("Operator {") {
                "an operator is out of place"
            } else {
                m
            })
        })?;
        match expr.var_names() {
            [] => {}
            [x] if x == "x" => {}
            names => {
                let names: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| *n != "x")
                    .collect();
                return Err(bad(&format!("unknown name '{}'", names.join("', '"))));
            }
        }
        Ok(Formula { expr })
    }

    /// The value at `x`, if finite.
    pub fn eval(&self, x: f64) -> Option<f64> {
        let vars: &[f64] = if self.expr.var_names().is_empty() {
            &[]
        } else {
            &[x]
        };
        self.expr.eval(vars).ok().filter(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_evaluate_with_libm() {
        let f = Formula::parse("log2(x) + ln(x)").unwrap();
        let n = 1000.0;
        assert_eq!(f.eval(n), Some(libm::log2(n) + libm::log(n)));
        assert_eq!(
            Formula::parse("ln(x) / ln(3)").unwrap().eval(9.0),
            Some(libm::log(9.0) / libm::log(3.0))
        );
        assert_eq!(Formula::parse("2 ^ 3 ^ 1").unwrap().eval(0.0), Some(8.0));
        assert_eq!(Formula::parse("-x^2 + 1").unwrap().eval(3.0), Some(10.0));
        assert_eq!(Formula::parse("-(x^2) + 1").unwrap().eval(3.0), Some(-8.0));
        assert_eq!(Formula::parse("1 - 2 - 3").unwrap().eval(0.0), Some(-4.0));
        assert_eq!(Formula::parse("12 / 2 / 3").unwrap().eval(0.0), Some(2.0));
        assert_eq!(
            Formula::parse("max(x, 2) * pi").unwrap().eval(1.0),
            Some(2.0 * std::f64::consts::PI)
        );
        assert_eq!(Formula::parse("7").unwrap().eval(123.0), Some(7.0));
        // Outside the domain: no point.
        assert_eq!(Formula::parse("ln(x)").unwrap().eval(-1.0), None);
    }

    #[test]
    fn bad_formulas_say_what_is_accepted() {
        for (text, mention) in [
            ("log3(x)", "log3"),
            ("y + 1", "'y'"),
            ("ln(x", "formula 'ln(x'"),
            ("2 +* x", "an operator is out of place"),
        ] {
            let e = Formula::parse(text).unwrap_err();
            assert!(
                e.contains(mention) && e.contains("accepted: numbers, x"),
                "{text}: {e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
