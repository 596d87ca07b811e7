//! The jury's property and metrics, on honest jurors only.
//!
//! - **verdict** (eventually): every honest juror that is up gives its
//!   verdict, or declares none, by its deadline.
//!
//! Accuracy is a metric, not a property: `correct` is the fraction of
//! honest jurors whose verdict is the truth (no verdict counts as wrong);
//! its mean over runs is the accuracy, with the binomial standard error
//! `sd / √runs` (`summary.csv` gives `sd` and `count`, and a 95% interval).
//!
//! Metrics: `correct`; `votes_right_ratio` (honest votes that are the
//! truth, over honest votes: `p` for independent jurors);
//! `copied_ratio` (honest jurors that copied the shared opinion). A run
//! stops once every honest juror has voted (or, a copier that never heard
//! the opinion, noted `no_vote` at its deadline) and given its verdict;
//! `verdicts_split` (1 if honest jurors reached different verdicts);
//! `verdict_ms` (mean time of the honest verdicts); `messages` and
//! `vote_messages`, `opinion_messages` (sent, by kind).

use super::{JuryConfig, JuryMsg, JuryNote};
use crate::node::{Message, MetricDef, NodeId, Protocol};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::protocols::voting::Value;
use crate::time::MS;

/// The liveness property.
pub const VERDICT: &str = "verdict";

static PROPERTIES: [Property; 1] = [Property {
    name: VERDICT,
    kind: PropertyKind::Eventually,
    description: "every honest juror that is up gives its verdict, or declares none, by its deadline",
}];

static METRICS: [MetricDef; 8] = [
    MetricDef {
        name: "correct",
        unit: "ratio",
        definition: "honest jurors whose verdict is the truth, over honest jurors (no verdict counts as wrong); its mean over runs is the accuracy",
    },
    MetricDef {
        name: "votes_right_ratio",
        unit: "ratio",
        definition: "honest votes that are the truth, over honest votes",
    },
    MetricDef {
        name: "copied_ratio",
        unit: "ratio",
        definition: "honest jurors that copied the shared opinion, over honest jurors that voted",
    },
    MetricDef {
        name: "verdicts_split",
        unit: "ratio",
        definition: "1 if honest jurors reached different verdicts, else 0",
    },
    MetricDef {
        name: "verdict_ms",
        unit: "ms",
        definition: "mean time of the honest jurors' verdicts",
    },
    MetricDef {
        name: "messages",
        unit: "count",
        definition: "messages sent (every copy), all kinds",
    },
    MetricDef {
        name: "vote_messages",
        unit: "count",
        definition: "Vote messages sent",
    },
    MetricDef {
        name: "opinion_messages",
        unit: "count",
        definition: "Opinion messages sent",
    },
];

/// The jury's monitor.
pub struct JuryMonitor {
    truth: Value,
    /// Each juror's verdict: `Some(Some(v))`, or `Some(None)` for none.
    verdict: Vec<Option<Option<Value>>>,
    /// Each juror voted, or noted that it could not.
    voted: Vec<bool>,
    /// Honest and up: expected to give a verdict.
    judged: Vec<bool>,
    honest: u32,
    votes: u32,
    votes_right: u32,
    copied: u32,
    verdict_t_sum: u128,
    verdicts: u32,
    quiet: bool,
}

impl<P: Protocol<Note = JuryNote, Config = JuryConfig, Msg = JuryMsg>> Monitor<P> for JuryMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, P>) -> Self {
        let n = init.nodes;
        JuryMonitor {
            truth: init.config.truth,
            verdict: vec![None; n as usize],
            voted: vec![false; n as usize],
            judged: (0..n).map(|x| init.adversary.is_honest(x)).collect(),
            honest: n - init.adversary.count(),
            votes: 0,
            votes_right: 0,
            copied: 0,
            verdict_t_sum: 0,
            verdicts: 0,
            quiet: false,
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &JuryNote, _out: &mut Vec<Violation>) {
        if !w.adversary.is_honest(node) {
            return;
        }
        let i = node as usize;
        match *note {
            JuryNote::NoVote => self.voted[i] = true,
            JuryNote::Voted { value, copied } => {
                if std::mem::replace(&mut self.voted[i], true) {
                    return;
                }
                self.votes += 1;
                self.votes_right += (value == self.truth) as u32;
                self.copied += copied as u32;
            }
            JuryNote::Verdict { value } if self.verdict[i].is_none() => {
                self.verdict[i] = Some(Some(value));
                self.verdicts += 1;
                self.verdict_t_sum += w.now as u128;
            }
            JuryNote::NoVerdict { .. } if self.verdict[i].is_none() => {
                self.verdict[i] = Some(None);
            }
            _ => {}
        }
    }

    fn on_crash(&mut self, _w: &World, node: NodeId) {
        self.judged[node as usize] = false;
    }

    fn on_recover(&mut self, w: &World, node: NodeId) {
        self.judged[node as usize] = w.adversary.is_honest(node);
    }

    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        let missing: Vec<String> = (0..w.nodes)
            .filter(|&n| {
                w.adversary.is_honest(n) && w.alive[n as usize] && self.verdict[n as usize].is_none()
            })
            .map(|n| n.to_string())
            .collect();
        if !missing.is_empty() {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, VERDICT),
                format!(
                    "honest jurors [{}] gave no verdict and declared none by the deadline",
                    missing.join(", ")
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        self.quiet
            && self
                .verdict
                .iter()
                .zip(&self.judged)
                .zip(&self.voted)
                .all(|((v, &judged), &voted)| (v.is_some() && voted) || !judged)
    }

    fn finish(&mut self, w: &World, _out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::with_capacity(8, 2);
        let m = &mut o.metrics;
        let right = self
            .verdict
            .iter()
            .filter(|v| **v == Some(Some(self.truth)))
            .count();
        if self.honest > 0 {
            m.insert("correct".into(), right as f64 / self.honest as f64);
        }
        if self.votes > 0 {
            m.insert(
                "votes_right_ratio".into(),
                self.votes_right as f64 / self.votes as f64,
            );
            m.insert(
                "copied_ratio".into(),
                self.copied as f64 / self.votes as f64,
            );
        }
        let mut first = None;
        let mut split = false;
        for v in self.verdict.iter().flatten() {
            match first {
                None => first = Some(*v),
                Some(f) => split |= f != *v,
            }
        }
        m.insert("verdicts_split".into(), split as u32 as f64);
        if self.verdicts > 0 {
            let mean = self.verdict_t_sum as f64 / self.verdicts as f64;
            m.insert("verdict_ms".into(), mean / MS as f64);
        }
        m.insert("messages".into(), w.counts.sent as f64);
        let kinds = <JuryMsg as Message>::KINDS;
        for (i, name) in kinds.iter().enumerate() {
            let key = match *name {
                "Vote" => "vote_messages",
                _ => "opinion_messages",
            };
            m.insert(key.into(), w.sent_by_kind[i] as f64);
        }
        let count = |v: Option<Value>| self.verdict.iter().filter(|x| **x == Some(v)).count();
        o.facts.insert(
            "verdicts".into(),
            serde_json::json!({
                "0": count(Some(0)),
                "1": count(Some(1)),
                "none": count(None),
            }),
        );
        o.facts.insert("truth".into(), self.truth.into());
        o
    }
}
