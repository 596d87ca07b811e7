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
}

/// A reference drawn dashed beside the data of a `versus` or `series` plot:
/// a formula in `x`, or a table of points (a paper's figures).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The legend entry.
    pub label: String,
    /// `formula = "log2(x) + ln(x)"` (see [`super::formula`]).
    pub formula: Option<String>,
    /// `points = [[1, 0.18], [2, 0.037]]`: `[x, y]` pairs, joined in order.
    pub points: Option<Vec<[f64; 2]>>,
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
    /// Right of the plotting area.
    Outside,
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
}

impl Format {
    /// The file extension, without the dot.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            _ => Err(format!("format '{s}' unknown (accepted: png, svg)")),
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
    /// Legend position (default: a corner that suits the kind; outside past 8 entries).
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
    }
}
