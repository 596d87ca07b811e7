//! tikv's `raft` crate (raft-rs 0.7, the Raft of TiKV) hosted as an
//! agentsim protocol: its own code, not a model of it, on agentsim's
//! network, faults and storage, checked with the monitors of agentsim's
//! Raft.
//!
//! raft-rs is a sans-IO state machine (`RawNode`): it never sends, sleeps
//! or writes a disk itself. The adapter maps its loop onto agentsim's
//! callbacks:
//!
//! - **tick**: a timer every `tick` of virtual time calls `RawNode::tick`
//!   (raft-rs counts time in ticks: its election timeout is a whole number
//!   of them);
//! - **step**: a delivered message is `RawNode::step`ped;
//! - **ready**: after each of those, every `Ready` is drained: its messages
//!   sent, its entries and `HardState` written with `ctx.persist`, the
//!   messages that must follow the write (`persisted_messages`: votes,
//!   append responses) sent after it (agentsim holds them until the write
//!   completes when the scenario models a storage delay), then `advance`;
//! - **recovery**: a crash loses everything but the last persisted
//!   [`Persisted`] (HardState and log); `init` rebuilds a `MemStorage` from
//!   it and a new `RawNode` on top, as a restarted TiKV store would.
//!
//! **Hidden randomness.** raft-rs draws its randomized election timeout
//! from `rand::thread_rng()` (`RaftCore::reset_randomized_election_timeout`,
//! on every term or role change). Left alone, no run reproduces:
//! `check --determinism` reports it (`os_rng = true` keeps that behaviour on
//! purpose). The adapter overwrites the timeout from `ctx.rng()` after every
//! call that may have reset it, through the crate's `#[doc(hidden)]`
//! `Raft::set_randomized_election_timeout` (hence the exact `=0.7.0` pin).
//! raft-rs's hash maps use `fxhash`, which is not randomly seeded, and it
//! reads no clock, so nothing else needs plugging.
//!
//! Facts are reported as agentsim's own [`RaftNote`]s, so the same
//! [`RaftMonitor`] checks *election safety* and *leader elected* and measures
//! `first_leader_ms` and `downtime_ms` for both implementations.
//!
//! The broken setting `forget_vote` drops the vote from the recovered
//! HardState: a restarted node can vote twice in a term, and two leaders of
//! one term follow.

use agentsim::prelude::*;
use agentsim::protocols::raft::{RaftMonitor, RaftNote};
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Message as PbMessage};
use raft::storage::MemStorage;
use raft::{RawNode, StateRole};
use serde::{Deserialize, Serialize};

/// The settings (`[protocol]` table, or `--param KEY=VALUE`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Virtual time between two `RawNode::tick` calls.
    pub tick: Dur,
    /// raft-rs `election_tick`: the election timeout is drawn from
    /// `election_tick..2 * election_tick` ticks.
    pub election_tick: usize,
    /// raft-rs `heartbeat_tick`: ticks between a leader's heartbeats.
    pub heartbeat_tick: usize,
    /// raft-rs `pre_vote`.
    pub pre_vote: bool,
    /// raft-rs `check_quorum`.
    pub check_quorum: bool,
    /// Leave raft-rs drawing its election timeouts from the OS
    /// (`rand::thread_rng`), as it does unpatched: runs do not reproduce.
    /// For the determinism check's demonstration only.
    pub os_rng: bool,
    /// Deliberately broken: a restarted node forgets whom it voted for.
    pub forget_vote: bool,
}

impl Default for Config {
    fn default() -> Self {
        // 10 ms ticks: elections time out after 150..300 ms in 10 ms steps
        // and leaders beat every 50 ms, as agentsim's Raft does by default.
        Config {
            tick: Dur::from_ms(10),
            election_tick: 15,
            heartbeat_tick: 5,
            pre_vote: false,
            check_quorum: false,
            os_rng: false,
            forget_vote: false,
        }
    }
}

/// A raft-rs message: a newtype, since agentsim's [`Message`] trait is
/// foreign to raft-rs's protobuf type.
#[derive(Clone, Debug)]
pub struct RaftMsg(pub PbMessage);

/// raft-rs's message types, by protobuf number.
const KINDS: &[&str] = &[
    "MsgHup",
    "MsgBeat",
    "MsgPropose",
    "MsgAppend",
    "MsgAppendResponse",
    "MsgRequestVote",
    "MsgRequestVoteResponse",
    "MsgSnapshot",
    "MsgHeartbeat",
    "MsgHeartbeatResponse",
    "MsgUnreachable",
    "MsgSnapStatus",
    "MsgCheckQuorum",
    "MsgTransferLeader",
    "MsgTimeoutNow",
    "MsgReadIndex",
    "MsgReadIndexResp",
    "MsgRequestPreVote",
    "MsgRequestPreVoteResponse",
];

impl Message for RaftMsg {
    const KINDS: &'static [&'static str] = KINDS;
    fn kind(&self) -> usize {
        self.0.get_msg_type() as usize
    }
    fn hash_into(&self, h: &mut RunHasher) {
        hash_protobuf(&self.0, h);
    }
}

/// The run hash's input for a message: its protobuf encoding, which covers
/// every field, including any that a newer schema adds. One allocation per
/// message; measured by `raft-rs-example bench-hash`.
pub fn hash_protobuf(m: &PbMessage, h: &mut RunHasher) {
    use std::hash::Hasher;
    let bytes = m.write_to_bytes().expect("raft-rs messages encode");
    h.write(&bytes);
}

/// The alternative: the fields raft-rs's election and replication read, no
/// allocation. A field added to the schema would be missed silently.
pub fn hash_fields(m: &PbMessage, h: &mut RunHasher) {
    use std::hash::Hasher;
    for w in [
        m.get_msg_type() as u64,
        m.to,
        m.from,
        m.term,
        m.log_term,
        m.index,
        m.commit,
        m.commit_term,
        m.request_snapshot,
        m.reject as u64,
        m.reject_hint,
        m.priority as u64,
        m.entries.len() as u64,
    ] {
        h.write_u64(w);
    }
    for e in m.entries.iter() {
        h.write_u64(e.term);
        h.write_u64(e.index);
        h.write_u64(e.get_entry_type() as u64);
        h.write(&e.data);
    }
}

/// Traces show a message's header fields and entry count (protobuf types
/// have no serde form).
impl Serialize for RaftMsg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let m = &self.0;
        let mut st = s.serialize_struct("RaftMsg", 8)?;
        st.serialize_field("type", KINDS[m.get_msg_type() as usize])?;
        st.serialize_field("term", &m.term)?;
        st.serialize_field("log_term", &m.log_term)?;
        st.serialize_field("index", &m.index)?;
        st.serialize_field("commit", &m.commit)?;
        st.serialize_field("reject", &m.reject)?;
        st.serialize_field("entries", &m.entries.len())?;
        st.end()
    }
}

/// The one timer: raft-rs's logical clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, TimerTag)]
pub enum RaftRsTimer {
    /// Every `tick`.
    Tick,
}

/// What survives a crash: what raft-rs asked to be written.
#[derive(Clone, Debug, Default)]
pub struct Persisted {
    /// Term, vote, commit index.
    pub hard_state: HardState,
    /// The log, from index 1.
    pub entries: Vec<Entry>,
}

/// One node: a raft-rs `RawNode` on a `MemStorage`.
pub struct RaftRs {
    node: RawNode<MemStorage>,
    durable: Persisted,
    /// (term, role) after the last call, to see a reset of the election timeout.
    seen: (u64, StateRole),
    /// The last `Following` note, so that each (term, leader) is noted once.
    following: Option<(u64, u64)>,
}

/// raft-rs ids start at 1; agentsim's node ids at 0.
fn raft_id(n: NodeId) -> u64 {
    n as u64 + 1
}

impl RaftRs {
    /// Overwrites the election timeout raft-rs just drew from the OS with
    /// one from `rng`, if the last call may have drawn one: raft-rs draws on
    /// every `reset`, that is on any change of term and on becoming
    /// follower, candidate or leader (becoming pre-candidate does not reset).
    fn plug_randomness(&mut self, cfg: &Config, rng: &mut agentsim::rng::NodeRng) {
        let r = &self.node.raft;
        let now = (r.term, r.state);
        let reset =
            now.0 != self.seen.0 || (now.1 != self.seen.1 && now.1 != StateRole::PreCandidate);
        self.seen = now;
        if reset && !cfg.os_rng {
            let lo = cfg.election_tick as u64;
            let t = lo + rng.below(lo);
            self.node.raft.set_randomized_election_timeout(t as usize);
        }
    }

    /// Reports role and leader changes as agentsim's Raft notes.
    fn notes(&mut self, before: (u64, StateRole), ctx: &mut Ctx<'_, Self>) {
        let r = &self.node.raft;
        let (term, role) = (r.term, r.state);
        if before.1 == StateRole::Leader && (role != StateRole::Leader || term != before.0) {
            ctx.note(RaftNote::SteppedDown { term });
        }
        if (term, role) != before {
            match role {
                StateRole::PreCandidate => ctx.note(RaftNote::PreCandidate { term: term + 1 }),
                StateRole::Candidate => ctx.note(RaftNote::Candidate { term }),
                StateRole::Leader => ctx.note(RaftNote::Leader { term }),
                StateRole::Follower => {}
            }
        }
        if role != StateRole::Follower {
            // The monitor forgets whom a node follows when it campaigns or
            // leads: following again, even the same leader, is news.
            self.following = None;
        } else if r.leader_id != 0 {
            let f = (term, r.leader_id);
            if self.following != Some(f) {
                self.following = Some(f);
                ctx.note(RaftNote::Following {
                    term,
                    leader: (r.leader_id - 1) as NodeId,
                });
            }
        }
    }

    fn send_all(ctx: &mut Ctx<'_, Self>, msgs: Vec<PbMessage>) {
        for m in msgs {
            let to = (m.to - 1) as NodeId;
            ctx.send(to, RaftMsg(m));
        }
    }

    /// After a tick or a step: plug the randomness, report, drain `Ready`.
    fn after(&mut self, before: (u64, StateRole), ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        self.plug_randomness(cfg, ctx.rng());
        self.notes(before, ctx);
        while self.node.has_ready() {
            let mut rd = self.node.ready();
            Self::send_all(ctx, rd.take_messages());
            let mut write = false;
            if !rd.entries().is_empty() {
                let ents = rd.entries();
                self.node
                    .mut_store()
                    .wl()
                    .append(ents)
                    .expect("raft-rs appends after its last persisted entry");
                let first = ents[0].index;
                self.durable.entries.retain(|e| e.index < first);
                self.durable.entries.extend_from_slice(ents);
                write = true;
            }
            if let Some(hs) = rd.hs() {
                self.node.mut_store().wl().set_hardstate(hs.clone());
                self.durable.hard_state = hs.clone();
                write = true;
            }
            if write {
                ctx.persist(self.durable.clone());
            }
            Self::send_all(ctx, rd.take_persisted_messages());
            let mut light = self.node.advance(rd);
            if let Some(commit) = light.commit_index() {
                self.node
                    .mut_store()
                    .wl()
                    .mut_hard_state()
                    .set_commit(commit);
                self.durable.hard_state.set_commit(commit);
                ctx.persist(self.durable.clone());
            }
            Self::send_all(ctx, light.take_messages());
            self.node.advance_apply();
        }
    }
}

impl Protocol for RaftRs {
    type Config = Config;
    type Msg = RaftMsg;
    type Timer = RaftRsTimer;
    type Note = RaftNote;
    type Durable = Persisted;

    fn init(ctx: &mut Init<'_, Self>, durable: &Persisted) -> Self {
        let cfg = ctx.config();
        let voters: Vec<u64> = (0..ctx.nodes()).map(raft_id).collect();
        let storage = MemStorage::new_with_conf_state(ConfState::from((voters, vec![])));
        let mut kept = durable.clone();
        if cfg.forget_vote {
            kept.hard_state.vote = 0;
        }
        {
            let mut core = storage.wl();
            core.append(&kept.entries)
                .expect("the persisted log starts at index 1");
            core.set_hardstate(kept.hard_state.clone());
        }
        let rc = raft::Config {
            id: raft_id(ctx.id()),
            election_tick: cfg.election_tick,
            heartbeat_tick: cfg.heartbeat_tick,
            pre_vote: cfg.pre_vote,
            check_quorum: cfg.check_quorum,
            ..Default::default()
        };
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let node = RawNode::new(&rc, storage, &logger).expect("a valid raft-rs config");
        let mut n = RaftRs {
            node,
            durable: kept,
            seen: (u64::MAX, StateRole::Follower),
            following: None,
        };
        // RawNode::new became follower, drawing a timeout from the OS.
        n.plug_randomness(cfg, ctx.rng());
        n
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        // Nodes do not tick in phase: the first tick comes after a random
        // part of a tick.
        let tick = ctx.config().tick.0;
        let first = 1 + ctx.rng().below(tick);
        ctx.set_timer(RaftRsTimer::Tick, first);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, msg: RaftMsg) {
        let before = self.seen;
        // Errors are raft-rs refusing a message (from an unknown peer, a
        // stale one): it drops it, as a real transport would.
        let _ = self.node.step(msg.0);
        self.after(before, ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _t: RaftRsTimer) {
        ctx.set_timer(RaftRsTimer::Tick, ctx.config().tick.0);
        let before = self.seen;
        self.node.tick();
        self.after(before, ctx);
    }

    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        let before = self.seen;
        // Dropped unless this node leads, as raft-rs does.
        let _ = self.node.propose(vec![], sub.index.to_le_bytes().to_vec());
        self.after(before, ctx);
    }
}

/// The registration: `raft-rs` beside the built-in protocols.
pub struct RaftRsSpec;

impl Spec for RaftRsSpec {
    const NAME: &'static str = "raft-rs";
    const SUMMARY: &'static str =
        "tikv's raft crate 0.7 (raft-rs) hosted unchanged, its election randomness drawn from the run's seed (an out-of-tree example)";
    type Node = RaftRs;
    type Config = Config;
    type Monitor = RaftMonitor;
    type Flags = NoFlags;

    fn validate(cfg: &Config, nodes: u32) -> Result<(), String> {
        if cfg.tick.0 == 0 {
            return Err("raft-rs.tick = 0 out of range (accepted: a positive duration)".into());
        }
        if cfg.heartbeat_tick == 0 || cfg.election_tick <= cfg.heartbeat_tick {
            return Err(format!(
                "raft-rs.election_tick = {} and heartbeat_tick = {} out of range (accepted: 0 < heartbeat_tick < election_tick)",
                cfg.election_tick, cfg.heartbeat_tick
            ));
        }
        if nodes == 0 {
            return Err("nodes = 0 out of range (accepted: 1..)".into());
        }
        Ok(())
    }
}
