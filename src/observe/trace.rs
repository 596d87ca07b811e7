//! Traces: JSON Lines, one record per line, each `{"type": ..., "data": {...}}`.
//!
//! # Format (schema version [`SCHEMA_VERSION`])
//!
//! | type | written at level | data fields |
//! |---|---|---|
//! | `run_start` | summary+ | `schema`, `program`, `model` (the model version), `seed`, `protocol`, `trace_level`, `scenario` (everything needed to re-run), `deps` (versions that affect replay) |
//! | `start` | notes+ | `t_ns`, `seq`, `node` (first boot) |
//! | `crash` | notes+ | `t_ns`, `seq`, `node`, `cause` (`schedule`, `process`, `leader`) |
//! | `recover` | notes+ | `t_ns`, `seq`, `node` |
//! | `net_change` | notes+ | `t_ns`, `seq`, `change` (e.g. `partition:0,1\|2,3,4`, `heal`) |
//! | `note` | notes+ | `t_ns`, `seq`, `node`, `note` (the protocol's fact), and the generic facts the note gives (see [`crate::node::Note`]): `leads` (true: the node now leads; false: it stopped), `believes` (the node it now believes leads, or null: none known), `decided` (`{"instance", "value"}`), `tag` |
//! | `byzantine` | notes+ | `t_ns` (0), `seq`, `node`, `behaviour` (a node the scenario marks Byzantine; before the starts) |
//! | `submit` | notes+ | `t_ns`, `seq`, `node`, `index`, `client` (a workload submission; `lost` when the node was down) |
//! | `persist` | notes+ | `t_ns`, `seq`, `node`, `done_ns` (a storage write begins; only with a storage delay) |
//! | `write_done` | notes+ | `t_ns`, `seq`, `node`, `released` (the write completed; the messages and notes it held, counted here, take place now) |
//! | `write_lost` | notes+ | `t_ns`, `seq`, `node`, `writes`, `held` (a crash lost writes in progress and the messages and notes they held) |
//! | `violation` | notes+ | `t_ns`, `seq`, `property`, `kind`, `detail` |
//! | `send` | events+ | `t_ns`, `seq`, `id`, `from`, `to`, `kind` (+ `msg` at full) |
//! | `deliver` | events+ | `t_ns`, `seq`, `id`, `from`, `to`, `kind` (+ `msg` at full) |
//! | `drop` | events+ | `t_ns`, `seq`, `id`, `from`, `to`, `kind`, `reason` (`loss`, `partition`, `dst_down`, `capacity`, `no_route`) |
//! | `duplicate` | events+ | `t_ns`, `seq`, `id` (the copy), `of` (the original), `from`, `to` |
//! | `timer` | events+ | `t_ns`, `seq`, `node`, `timer` |
//! | `run_end` | summary+ | `stop`, `t_ns`, `events`, `counts`, `metrics`, `facts`, `violations`, `hash` |
//!
//! `t_ns` is virtual time; `seq` is the queue sequence number of the event being
//! processed (records emitted while handling one event share it). A message's
//! `id` links its `send` to its `deliver` or `drop`: it is the seq of the
//! message's delivery event, handed out at the send even when the network
//! drops the message there (so a `deliver` record's `id` equals its `seq`).
//!
//! # The run hash
//!
//! Every event record, with full message contents, is folded into a 64-bit hash
//! whatever the trace level, even when no file is written: the hash is the same
//! at every level, so tests and sweeps compare runs cheaply. It is a
//! multiply-rotate hash over fixed-width little-endian words, defined here, so it
//! is identical on every platform. Writing a trace never changes the run: the
//! writer only observes.

pub use crate::hash::RunHasher;
use crate::node::{Message, Note};
use serde::Serialize;
use std::hash::Hash;
use std::io::Write;

/// The trace schema. 3: `note` records carry the generic facts `leads`,
/// `decided` and `tag`; new records `byzantine`, `submit`, `persist`,
/// `write_done` and `write_lost` (only in runs with an adversary, a workload or
/// a storage delay). Run hashes are those of schema 2. 2: a message's `id` is
/// the seq of its delivery event, and a `deliver` record adds only the event
/// to the run hash (the message's content went in with its `send`). 1: ids
/// counted sends from 0.
pub const SCHEMA_VERSION: u32 = 3;

/// Every record type a trace holds (`run_start` first, `run_end` last).
pub const RECORD_TYPES: &[&str] = &[
    "run_start",
    "run_end",
    "start",
    "crash",
    "recover",
    "net_change",
    "note",
    "byzantine",
    "submit",
    "persist",
    "write_done",
    "write_lost",
    "violation",
    "send",
    "deliver",
    "drop",
    "duplicate",
    "timer",
];

/// The start of an event record of type `$ty`, as one literal.
macro_rules! head_of {
    ($ty:literal) => {
        concat!("{\"type\":\"", $ty, "\",\"data\":{\"t_ns\":")
    };
}

/// A field's `,"name":`, as one literal.
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

/// How much of a run goes to the trace file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum TraceLevel {
    /// No file at all.
    #[default]
    Off,
    /// `run_start` and `run_end`.
    Summary,
    /// Plus notes, violations, crashes, recoveries and network changes.
    Notes,
    /// Plus every send, delivery, drop, duplicate and timer (message kinds only).
    Events,
    /// Plus message contents.
    Full,
}

impl std::str::FromStr for TraceLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "off" => TraceLevel::Off,
            "summary" => TraceLevel::Summary,
            "notes" => TraceLevel::Notes,
            "events" => TraceLevel::Events,
            "full" => TraceLevel::Full,
            _ => {
                return Err(format!(
                    "trace level '{s}' unknown (accepted: off, summary, notes, events, full)"
                ))
            }
        })
    }
}

impl std::fmt::Display for TraceLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TraceLevel::Off => "off",
            TraceLevel::Summary => "summary",
            TraceLevel::Notes => "notes",
            TraceLevel::Events => "events",
            TraceLevel::Full => "full",
        })
    }
}

/// Record tags folded into the hash.
mod tag {
    pub const START: u64 = 1;
    pub const CRASH: u64 = 2;
    pub const RECOVER: u64 = 3;
    pub const NET: u64 = 4;
    pub const NOTE: u64 = 5;
    pub const VIOLATION: u64 = 6;
    pub const SEND: u64 = 7;
    pub const DELIVER: u64 = 8;
    pub const DROP: u64 = 9;
    pub const DUP: u64 = 10;
    pub const TIMER: u64 = 11;
    pub const BYZANTINE: u64 = 12;
    pub const SUBMIT: u64 = 13;
    pub const PERSIST: u64 = 14;
    pub const WRITE_DONE: u64 = 15;
    pub const WRITE_LOST: u64 = 16;
}

/// Hashes every event record and, depending on the level, writes it.
pub struct Tracer {
    level: TraceLevel,
    hasher: RunHasher,
    out: Option<Box<dyn Write>>,
    line: Vec<u8>,
    error: Option<std::io::Error>,
}

impl Tracer {
    /// A tracer that only hashes.
    pub fn hash_only() -> Tracer {
        Tracer {
            level: TraceLevel::Off,
            hasher: RunHasher::default(),
            out: None,
            line: Vec::new(),
            error: None,
        }
    }

    /// A tracer that writes records at `level` to `out`.
    pub fn new(level: TraceLevel, out: Box<dyn Write>) -> Tracer {
        Tracer {
            level,
            hasher: RunHasher::default(),
            out: (level > TraceLevel::Off).then_some(out),
            line: Vec::with_capacity(256),
            error: None,
        }
    }

    /// The level records are written at: [`TraceLevel::Off`] when there is no output.
    pub fn level(&self) -> TraceLevel {
        if self.out.is_some() {
            self.level
        } else {
            TraceLevel::Off
        }
    }

    /// The run hash so far (the same at every level).
    pub fn hash(&self) -> u64 {
        self.hasher.value()
    }

    /// Takes the first write error, if any (the run itself goes on regardless).
    pub fn take_error(&mut self) -> Option<std::io::Error> {
        self.error.take()
    }

    /// Flushes the output; a failure is kept for [`Tracer::take_error`].
    pub fn flush(&mut self) {
        if let Some(o) = &mut self.out {
            if let Err(e) = o.flush() {
                self.error.get_or_insert(e);
            }
        }
    }

    #[inline]
    fn on(&self, at: TraceLevel) -> bool {
        self.out.is_some() && self.level >= at
    }

    /// Writes one whole JSON record (used for run_start and run_end).
    pub fn write_record<T: Serialize>(&mut self, ty: &str, data: &T) {
        if self.out.is_none() || self.level < TraceLevel::Summary {
            return;
        }
        self.line.clear();
        self.line.extend_from_slice(b"{\"type\":\"");
        self.line.extend_from_slice(ty.as_bytes());
        self.line.extend_from_slice(b"\",\"data\":");
        serde_json::to_writer(&mut self.line, data).expect("serialising a trace record");
        self.line.extend_from_slice(b"}");
        self.emit();
    }

    fn emit(&mut self) {
        self.line.push(b'\n');
        if let Some(o) = &mut self.out {
            if let Err(e) = o.write_all(&self.line) {
                self.error.get_or_insert(e);
            }
        }
    }

    #[inline]
    /// Starts an event record; `prefix` is `{"type":"TY","data":{"t_ns":`
    /// ([`head_of!`]): formatting cost is mostly the number of copies.
    fn head(&mut self, prefix: &'static str, t: u64, seq: u64) {
        self.line.clear();
        self.line.extend_from_slice(prefix.as_bytes());
        self.num(t);
        self.line.extend_from_slice(b",\"seq\":");
        self.num(seq);
    }

    #[inline]
    fn num(&mut self, v: u64) {
        let mut b = itoa::Buffer::new();
        self.line.extend_from_slice(b.format(v).as_bytes());
    }

    /// A number field; `key` is `,"name":` ([`key!`]), one copy.
    #[inline]
    fn field_num(&mut self, key: &'static str, v: u64) {
        self.line.extend_from_slice(key.as_bytes());
        self.num(v);
    }

    /// A string field whose value is a plain identifier (no escaping needed).
    #[inline]
    fn field_ident(&mut self, key: &'static str, v: &str) {
        self.line.extend_from_slice(key.as_bytes());
        self.line.push(b'"');
        self.line.extend_from_slice(v.as_bytes());
        self.line.push(b'"');
    }

    fn field_json<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) {
        self.line.extend_from_slice(key.as_bytes());
        serde_json::to_writer(&mut self.line, v).expect("serialising a trace field");
    }

    #[inline]
    fn close(&mut self) {
        self.line.extend_from_slice(b"}}");
        self.emit();
    }

    #[inline]
    fn hash_head(&mut self, tag: u64, t: u64, seq: u64) {
        // Record tags are small and seqs stay far below 2^56: one word for both.
        self.hasher.word(t);
        self.hasher.word(seq ^ (tag << 56));
    }

    /// `node` boots for the first time.
    pub fn start(&mut self, t: u64, seq: u64, node: u32) {
        self.hash_head(tag::START, t, seq);
        self.hasher.word(node as u64);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("start"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.close();
        }
    }

    /// `node` crashes; `cause` is `schedule`, `process` or `leader`.
    pub fn crash(&mut self, t: u64, seq: u64, node: u32, cause: &str) {
        self.hash_head(tag::CRASH, t, seq);
        self.hasher.word(node as u64);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("crash"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_ident(key!("cause"), cause);
            self.close();
        }
    }

    /// `node` recovers.
    pub fn recover(&mut self, t: u64, seq: u64, node: u32) {
        self.hash_head(tag::RECOVER, t, seq);
        self.hasher.word(node as u64);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("recover"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.close();
        }
    }

    /// The links changed (`partition:0,1|2,3,4`, `cut:0>1`, `heal`, ...).
    pub fn net_change(&mut self, t: u64, seq: u64, change: &str) {
        self.hash_head(tag::NET, t, seq);
        change.hash(&mut self.hasher);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("net_change"), t, seq);
            self.field_json(key!("change"), change);
            self.close();
        }
    }

    /// A note; its generic facts (`leads`, `decided`, `tag`) are written
    /// beside it but not hashed: they are functions of the note.
    pub fn note<N: Note>(&mut self, t: u64, seq: u64, node: u32, note: &N) {
        self.hash_head(tag::NOTE, t, seq);
        self.hasher.word(node as u64);
        note.hash(&mut self.hasher);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("note"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_json(key!("note"), note);
            if let Some(l) = note.leadership() {
                self.line.extend_from_slice(if l {
                    b",\"leads\":true"
                } else {
                    b",\"leads\":false"
                });
            }
            match note.believes() {
                Some(Some(n)) => self.field_num(key!("believes"), n as u64),
                Some(None) => self.line.extend_from_slice(b",\"believes\":null"),
                None => {}
            }
            if let Some(d) = note.decided() {
                self.field_json(key!("decided"), &d);
            }
            if let Some(tag) = note.tag() {
                self.field_json(key!("tag"), tag);
            }
            self.close();
        }
    }

    /// A node the scenario marks Byzantine (before the starts).
    pub fn byzantine(&mut self, seq: u64, node: u32, behaviour: &str) {
        self.hash_head(tag::BYZANTINE, 0, seq);
        self.hasher.word(node as u64);
        behaviour.hash(&mut self.hasher);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("byzantine"), 0, seq);
            self.field_num(key!("node"), node as u64);
            self.field_json(key!("behaviour"), behaviour);
            self.close();
        }
    }

    /// A workload submission to `node` (`lost`: the node was down).
    pub fn submit(&mut self, t: u64, seq: u64, node: u32, index: u64, client: u32, lost: bool) {
        self.hash_head(tag::SUBMIT, t, seq);
        self.hasher.word(((node as u64) << 32) | client as u64);
        self.hasher.word(index ^ ((lost as u64) << 63));
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("submit"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_num(key!("index"), index);
            self.field_num(key!("client"), client as u64);
            if lost {
                self.line.extend_from_slice(b",\"lost\":true");
            }
            self.close();
        }
    }

    /// A storage write of `node` begins; it completes at `done`.
    pub fn persist(&mut self, t: u64, seq: u64, node: u32, done: u64) {
        self.hash_head(tag::PERSIST, t, seq);
        self.hasher.word(node as u64);
        self.hasher.word(done);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("persist"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_num(key!("done_ns"), done);
            self.close();
        }
    }

    /// A storage write of `node` completed; `released` messages it held go out.
    pub fn write_done(&mut self, t: u64, seq: u64, node: u32, released: u64) {
        self.hash_head(tag::WRITE_DONE, t, seq);
        self.hasher.word(((node as u64) << 32) | released);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("write_done"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_num(key!("released"), released);
            self.close();
        }
    }

    /// A crash of `node` lost `writes` writes in progress and the `held` messages they held.
    pub fn write_lost(&mut self, t: u64, seq: u64, node: u32, writes: u64, held: u64) {
        self.hash_head(tag::WRITE_LOST, t, seq);
        self.hasher.word(node as u64);
        self.hasher.word((writes << 32) | held);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("write_lost"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_num(key!("writes"), writes);
            self.field_num(key!("held"), held);
            self.close();
        }
    }

    /// A monitor found a violation of `property`.
    pub fn violation(&mut self, t: u64, seq: u64, property: &str, kind: &str, detail: &str) {
        self.hash_head(tag::VIOLATION, t, seq);
        property.hash(&mut self.hasher);
        detail.hash(&mut self.hasher);
        if self.on(TraceLevel::Notes) {
            self.head(head_of!("violation"), t, seq);
            self.field_json(key!("property"), property);
            self.field_ident(key!("kind"), kind);
            self.field_json(key!("detail"), detail);
            self.close();
        }
    }

    /// Writes a `send` or `deliver` line (the caller hashed the record and
    /// checked the level). Kept out of line: the callers stay small, and an
    /// untraced message costs no call (a call per message was ~3% of PHOLD).
    #[inline(never)]
    #[allow(clippy::too_many_arguments)] // private and hot: no struct packing per event
    fn msg_line<M: Message>(
        &mut self,
        head: &'static str,
        t: u64,
        seq: u64,
        id: u64,
        from: u32,
        to: u32,
        msg: &M,
    ) {
        self.head(head, t, seq);
        self.field_num(key!("id"), id);
        self.field_num(key!("from"), from as u64);
        self.field_num(key!("to"), to as u64);
        self.field_ident(key!("kind"), M::KINDS[msg.kind()]);
        if self.level >= TraceLevel::Full {
            self.field_json(key!("msg"), msg);
        }
        self.close();
    }

    /// `from` sends `msg` to `to`; `id` is the seq of its delivery event.
    #[inline]
    pub fn send<M: Message>(&mut self, t: u64, seq: u64, id: u64, from: u32, to: u32, msg: &M) {
        self.hash_head(tag::SEND, t, seq);
        self.hasher.word(id);
        self.hasher.word(((from as u64) << 32) | to as u64);
        msg.hash_into(&mut self.hasher);
        if self.on(TraceLevel::Events) {
            self.msg_line(head_of!("send"), t, seq, id, from, to, msg);
        }
    }

    /// Message `id` is delivered (its content was hashed with its send).
    #[inline]
    pub fn deliver<M: Message>(&mut self, t: u64, seq: u64, id: u64, from: u32, to: u32, msg: &M) {
        // The message's content went into the hash with its `send` record
        // (whose `id` is this event's seq): only the event itself goes in here.
        self.hash_head(tag::DELIVER, t, seq);
        self.hasher.word(((from as u64) << 32) | to as u64);
        if self.on(TraceLevel::Events) {
            self.msg_line(head_of!("deliver"), t, seq, id, from, to, msg);
        }
    }

    /// Message `id` is dropped; `reason` is a [`DropReason`](crate::net::DropReason) name.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn drop_msg<M: Message>(
        &mut self,
        t: u64,
        seq: u64,
        id: u64,
        from: u32,
        to: u32,
        msg: &M,
        reason: &str,
    ) {
        self.hash_head(tag::DROP, t, seq);
        self.hasher.word(id);
        self.hasher.word(((from as u64) << 32) | to as u64);
        reason.hash(&mut self.hasher);
        if self.on(TraceLevel::Events) {
            self.head(head_of!("drop"), t, seq);
            self.field_num(key!("id"), id);
            self.field_num(key!("from"), from as u64);
            self.field_num(key!("to"), to as u64);
            self.field_ident(key!("kind"), M::KINDS[msg.kind()]);
            self.field_ident(key!("reason"), reason);
            self.close();
        }
    }

    /// The network delivers a copy `id` of message `of`.
    #[inline]
    pub fn duplicate(&mut self, t: u64, seq: u64, id: u64, of: u64, from: u32, to: u32) {
        self.hash_head(tag::DUP, t, seq);
        self.hasher.word(id);
        self.hasher.word(of);
        self.hasher.word(((from as u64) << 32) | to as u64);
        if self.on(TraceLevel::Events) {
            self.head(head_of!("duplicate"), t, seq);
            self.field_num(key!("id"), id);
            self.field_num(key!("of"), of);
            self.field_num(key!("from"), from as u64);
            self.field_num(key!("to"), to as u64);
            self.close();
        }
    }

    /// Timer `index` (named `name`) of `node` fires.
    #[inline]
    pub fn timer(&mut self, t: u64, seq: u64, node: u32, index: usize, name: &str) {
        self.hash_head(tag::TIMER, t, seq);
        self.hasher.word(((node as u64) << 32) | index as u64);
        if self.on(TraceLevel::Events) {
            self.head(head_of!("timer"), t, seq);
            self.field_num(key!("node"), node as u64);
            self.field_ident(key!("timer"), name);
            self.close();
        }
    }
}

/// Versions of what affects replay, recorded in `run_start`.
pub fn dependency_versions() -> serde_json::Value {
    serde_json::json!({
        "rand_chacha": "0.9.0",
        "rand_core": "0.9.3",
        "libm": "0.2.16",
    })
}

/// `agentsim X.Y.Z`
pub fn program_version() -> String {
    format!("agentsim {}", env!("CARGO_PKG_VERSION"))
}
