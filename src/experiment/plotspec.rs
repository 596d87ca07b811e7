//! `[[plot]]`: the figures an experiment file asks for (drawn by
//! [`crate::plot`] from the results folder alone).

use serde::Deserialize;

/// What a plot shows (`kind` in `[[plot]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlotKind {
    /// Cumulative distribution of a metric, one curve per configuration.
    Cdf,
    /// A statistic of a metric against a swept parameter, with 95% CI bars for the mean.
    Versus,
    /// Histogram of a metric, one outline per configuration.
    Histogram,
    /// A kept series against its index: the mean over each configuration's runs.
    Series,
    /// The distribution of a metric as boxes (quartiles, median, whiskers at
    /// 1.5 IQR, outliers as dots), one per configuration.
    Box,
}

/// A reference drawn dashed beside the data of a `versus` or `series` plot:
/// a formula in `x`, a table of points (a paper's figures), or a vertical
/// line at `x`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The legend entry.
    pub label: String,
    /// `formula = "log2(x) + ln(x)"` (see [`super::formula`]).
    pub formula: Option<String>,
    /// `points = [[1, 0.18], [2, 0.037]]`: `[x, y]` pairs, joined in order.
    pub points: Option<Vec<[f64; 2]>>,
    /// `x = 4`: a vertical line at this x. On a category axis, x counts
    /// categories from 0 (the first) and may fall between two: `x = 3.33` is
    /// a third of the way from the fourth category to the fifth.
    pub x: Option<f64>,
    /// The parsed formula (set when the file is validated).
    #[cfg(feature = "plot")]
    #[serde(skip)]
    pub curve: Option<super::formula::Formula>,
}

/// How an axis maps values to positions (`x_scale`, `y_scale`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Evenly spaced values.
    #[default]
    Linear,
    /// Logarithmic, for positive values.
    Log,
    /// `versus` x only: the values as categories, evenly spaced in sweep order.
    Category,
}

/// How `cdf` and `histogram` plots count runs that did not report the metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// In the denominator: a curve that stays below 100% shows trials that never got there.
    #[default]
    Count,
    /// Left out: fractions are of the trials that reported the metric.
    Exclude,
}

/// Where a plot's legend goes (`legend` in `[[plot]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegendPlace {
    /// Inside the plotting area, top left.
    UpperLeft,
    /// Inside the plotting area, top right.
    UpperRight,
    /// Inside the plotting area, bottom right.
    LowerRight,
    /// Inside the plotting area, bottom left.
    LowerLeft,
    /// Right of the plotting area.
    Outside,
    /// Under the plotting area, entries side by side.
    Below,
    /// The inside corner that hides no data, else right of or below the plot
    /// (the default).
    Auto,
}

/// Which summary column a `versus` plot draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// The mean, with bars for its 95% confidence interval.
    #[default]
    Mean,
    /// The median (p50).
    Median,
    /// The 90th percentile.
    P90,
    /// The 99th percentile.
    P99,
    /// The largest value.
    Max,
}

impl Stat {
    /// The column of `summary.csv` it reads.
    pub fn column(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Median => "median",
            Stat::P90 => "p90",
            Stat::P99 => "p99",
            Stat::Max => "max",
        }
    }
}

/// An image format of a figure (`formats` in `[[plot]]`, `plot --format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PNG bitmap.
    Png,
    /// SVG, with text drawn as paths.
    Svg,
    /// PDF (one page, vector, text drawn as paths), written from the SVG.
    Pdf,
}

impl Format {
    /// The file extension, without the dot.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
            Format::Pdf => "pdf",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            "pdf" => Ok(Format::Pdf),
            _ => Err(format!("format '{s}' unknown (accepted: png, svg, pdf)")),
        }
    }
}

/// One `[[plot]]` of an experiment file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// What the plot shows.
    pub kind: PlotKind,
    /// `cdf`, `versus`, `histogram`: the metric drawn (empty for `series`).
    #[serde(default)]
    pub metric: String,
    /// `series`: the kept series drawn.
    pub series: Option<String>,
    /// `series`: draw 1 − value (say, the fraction not yet informed).
    #[serde(default)]
    pub complement: bool,
    /// `versus`, `series`: reference curves and tables, drawn dashed
    /// (`[[plot.reference]]`).
    #[serde(default)]
    pub reference: Vec<Reference>,
    /// Output file stem (default: `KIND-METRIC`, `series-SERIES`).
    pub name: Option<String>,
    /// Title above the plot (default: made from the metric and the kind).
    pub title: Option<String>,
    /// Only configurations of this sweep group.
    pub group: Option<String>,
    /// Only configurations whose parameters have these values (`{ "nodes" = [5, 7] }`).
    #[serde(default, rename = "where")]
    pub filter: toml::Table,
    /// `versus`: the swept parameter on the x axis, or `group` (the sweep groups, as categories).
    pub x: Option<String>,
    /// `versus`: which summary column is drawn (default: the mean).
    #[serde(default)]
    pub stat: Stat,
    /// How x values map to positions (default: linear).
    #[serde(default)]
    pub x_scale: Scale,
    /// How y values map to positions (default: linear).
    #[serde(default)]
    pub y_scale: Scale,
    /// `[low, high]` of the x axis, in data units (default: from the data).
    pub x_range: Option<[f64; 2]>,
    /// `[low, high]` of the y axis (default: from the data, or 0–100 for `cdf`).
    pub y_range: Option<[f64; 2]>,
    /// Text under the x axis (default: from `[labels]`, or the metric or parameter).
    pub x_label: Option<String>,
    /// Text beside the y axis (default: from the kind and the statistic).
    pub y_label: Option<String>,
    /// `histogram`: number of bins (default 40).
    pub bins: Option<u32>,
    /// Legend position (default `auto`: the inside corner that hides no data
    /// point, else outside; outside past 8 entries).
    pub legend: Option<LegendPlace>,
    /// `cdf`, `histogram`: whether runs without the metric count (default) or are excluded.
    #[serde(default)]
    pub missing: Missing,
    /// Pixels (default 960 × 600).
    pub width: Option<u32>,
    /// Height in pixels (default 600).
    pub height: Option<u32>,
    /// Formats drawn by default (default `["png"]`; `plot --format` overrides).
    #[serde(default)]
    pub formats: Vec<Format>,
    /// Multiplies the text size, which otherwise follows the figure's size
    /// (default 1; `plot --font-scale` overrides).
    pub font_scale: Option<f64>,
    /// Small multiples: one panel per value of this swept parameter, the
    /// panels sharing their axes.
    pub facet: Option<String>,
    /// `series`: x is the index times this (say 50 for a series sampled
    /// every 50 ms, with `x_label = "time (ms)"`).
    pub x_factor: Option<f64>,
    /// The line under the title (default: what the plot holds fixed, such
    /// as `where` and the swept parameters with one value; `""`: none).
    pub caption: Option<String>,
}

/// Checks the fields drawn by [`crate::plot`] beyond the kind's own:
/// `params` are the swept parameters, `groups` the sweep groups.
pub fn check(p: &PlotSpec, params: &[String], groups: &[String]) -> Result<(), String> {
    if let Some(f) = p.font_scale {
        if !(0.25..=4.0).contains(&f) {
            return Err(format!(
                "font_scale = {f} out of range (accepted: 0.25..=4)"
            ));
        }
    }
    if let Some(f) = p.x_factor {
        if p.kind != PlotKind::Series {
            return Err("x_factor applies to kind = \"series\" only".into());
        }
        if !(f.is_finite() && f > 0.0) {
            return Err(format!("x_factor = {f} (accepted: a number above 0)"));
        }
    }
    if let Some(f) = &p.facet {
        if !params.contains(f) {
            return Err(format!(
                "facet = '{f}' is not a swept parameter (accepted: {})",
                params.join(", ")
            ));
        }
        if p.x.as_deref() == Some(f.as_str()) {
            return Err(format!(
                "facet = '{f}' is also x (accepted: another swept parameter)"
            ));
        }
    }
    if p.kind == PlotKind::Box {
        if let Some(x) = &p.x {
            if !params.contains(x) && (x != "group" || groups.len() < 2) {
                return Err(format!(
                    "x = '{x}' is not a swept parameter (accepted: {}{})",
                    params.join(", "),
                    if groups.len() > 1 { ", group" } else { "" }
                ));
            }
        }
        if p.x_scale != Scale::Linear {
            return Err("x_scale: a box plot's x axis is its categories (accepted: none)".into());
        }
    }
    Ok(())
}

impl PlotSpec {
    /// The output file name without extension: `name`, else `KIND-METRIC`
    /// (`versus-METRIC-X`, `series-SERIES`).
    pub fn stem(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let kind = kind_name(self.kind);
            match &self.x {
                _ if self.kind == PlotKind::Series => match &self.series {
                    Some(series) => format!("{kind}-{series}"),
                    None => kind.to_string(),
                },
                Some(x) if self.kind == PlotKind::Versus => {
                    format!("{kind}-{}-{}", self.metric, x.replace('.', "-"))
                }
                Some(x) if self.kind == PlotKind::Box => {
                    format!("{kind}-{}-{}", self.metric, x.replace('.', "-"))
                }
                _ => format!("{kind}-{}", self.metric),
            }
        })
    }
}

/// The `kind` as written in the file.
pub fn kind_name(k: PlotKind) -> &'static str {
    match k {
        PlotKind::Cdf => "cdf",
        PlotKind::Versus => "versus",
        PlotKind::Histogram => "histogram",
        PlotKind::Series => "series",
        PlotKind::Box => "box",
    }
}
