//! Byzantine nodes as data: which nodes the scenario marks, and how they
//! misbehave. The engine only knows the marks; each protocol says, in its own
//! folder, what each behaviour does to its messages, and lists the behaviours
//! it implements in [`Protocol::BEHAVIOURS`](super::Protocol::BEHAVIOURS).

use super::NodeId;
use serde::{Deserialize, Serialize};

/// The kinds of Byzantine behaviour (without their parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BehaviourKind {
    /// Sends nothing, but stays up.
    Silent,
    /// Tells different peers different values.
    Equivocate,
    /// Sends the opposite or a random value.
    Flip,
    /// Claims what another node said (rejected where messages are signed).
    Forge,
    /// Answers as late as the protocol's timeouts allow.
    Delay,
    /// Omits messages to a set of nodes.
    Selective,
    /// The adversaries act together on one plan: one half of the honest
    /// nodes is told one value, the other half another.
    Split,
}

impl BehaviourKind {
    /// Every kind, in the order of the docs.
    pub const ALL: [BehaviourKind; 7] = [
        BehaviourKind::Silent,
        BehaviourKind::Equivocate,
        BehaviourKind::Flip,
        BehaviourKind::Forge,
        BehaviourKind::Delay,
        BehaviourKind::Selective,
        BehaviourKind::Split,
    ];

    /// The name used in scenarios and flags.
    pub fn name(self) -> &'static str {
        match self {
            BehaviourKind::Silent => "silent",
            BehaviourKind::Equivocate => "equivocate",
            BehaviourKind::Flip => "flip",
            BehaviourKind::Forge => "forge",
            BehaviourKind::Delay => "delay",
            BehaviourKind::Selective => "selective",
            BehaviourKind::Split => "split",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Result<BehaviourKind, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "behaviour '{s}' unknown (accepted: {})",
                    Self::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}

/// A Byzantine node's behaviour, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Behaviour {
    /// See [`BehaviourKind::Silent`].
    Silent,
    /// See [`BehaviourKind::Equivocate`].
    Equivocate,
    /// See [`BehaviourKind::Flip`].
    Flip,
    /// See [`BehaviourKind::Forge`].
    Forge,
    /// See [`BehaviourKind::Delay`].
    Delay,
    /// Omits every message to these nodes (sorted).
    Selective(Vec<NodeId>),
    /// See [`BehaviourKind::Split`]; the plan is [`Adversary::split_side`].
    Split,
}

impl Behaviour {
    /// The kind of this behaviour.
    pub fn kind(&self) -> BehaviourKind {
        match self {
            Behaviour::Silent => BehaviourKind::Silent,
            Behaviour::Equivocate => BehaviourKind::Equivocate,
            Behaviour::Flip => BehaviourKind::Flip,
            Behaviour::Forge => BehaviourKind::Forge,
            Behaviour::Delay => BehaviourKind::Delay,
            Behaviour::Selective(_) => BehaviourKind::Selective,
            Behaviour::Split => BehaviourKind::Split,
        }
    }

    /// Whether a `Selective` node omits messages to `to` (false for other kinds).
    pub fn omits(&self, to: NodeId) -> bool {
        matches!(self, Behaviour::Selective(t) if t.binary_search(&to).is_ok())
    }
}

/// The Byzantine marks of one run, resolved from the scenario (nodes named or
/// drawn from the fault stream). Empty in a run without adversaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adversary {
    /// Behaviour of each node, `None` for honest ones; empty when no node is Byzantine.
    marks: Vec<Option<Behaviour>>,
    /// The split plan: the side (`false` or `true`) each node is told,
    /// shared by every `Split` node; empty when no node splits.
    split: Vec<bool>,
    byzantine: u32,
}

impl Adversary {
    /// No Byzantine node.
    pub const fn none() -> Adversary {
        Adversary {
            marks: Vec::new(),
            split: Vec::new(),
            byzantine: 0,
        }
    }

    /// Marks from one behaviour per node (`None`: honest) and a split plan.
    pub fn new(marks: Vec<Option<Behaviour>>, split: Vec<bool>) -> Adversary {
        let byzantine = marks.iter().filter(|m| m.is_some()).count() as u32;
        if byzantine == 0 {
            return Adversary::none();
        }
        Adversary {
            marks,
            split,
            byzantine,
        }
    }

    /// `node`'s behaviour, if it is Byzantine.
    #[inline]
    pub fn behaviour(&self, node: NodeId) -> Option<&Behaviour> {
        self.marks.get(node as usize).and_then(|b| b.as_ref())
    }

    /// Whether `node` is Byzantine.
    #[inline]
    pub fn is_byzantine(&self, node: NodeId) -> bool {
        self.behaviour(node).is_some()
    }

    /// Whether `node` is honest (what properties judge).
    #[inline]
    pub fn is_honest(&self, node: NodeId) -> bool {
        !self.is_byzantine(node)
    }

    /// How many nodes are Byzantine.
    pub fn count(&self) -> u32 {
        self.byzantine
    }

    /// Whether no node is Byzantine.
    pub fn is_empty(&self) -> bool {
        self.byzantine == 0
    }

    /// The side of the split plan `node` is on (`false` when there is no plan).
    #[inline]
    pub fn split_side(&self, node: NodeId) -> bool {
        self.split.get(node as usize).copied().unwrap_or(false)
    }

    /// The Byzantine nodes and their behaviours, in node order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Behaviour)> {
        self.marks
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.as_ref().map(|b| (i as NodeId, b)))
    }
}
