//! Single-step tests: feed one event to one node, assert the exact commands.

use super::*;
use crate::node::testkit::Harness;
use crate::node::Command;
use crate::rng::NodeRng;
use crate::time::MS;

const N: u32 = 5;

/// Raft's steps on the shared kit. Raft nodes keep their own configuration;
/// the context's is not read.
struct Step {
    h: Harness<Raft>,
    last: Vec<Command<Raft>>,
}

impl Step {
    fn new() -> Step {
        Step {
            h: Harness::new(RaftConfig::default(), N).with_rng(NodeRng::for_node(1, 99)),
            last: Vec::new(),
        }
    }
    /// Runs `f` on `node` as node `id` at time `now`; returns the commands.
    fn run(
        &mut self,
        node: &mut Raft,
        id: NodeId,
        now: u64,
        f: impl FnOnce(&mut Raft, &mut Ctx<'_, Raft>),
    ) -> &[Command<Raft>] {
        self.last = self.h.step(node, id, now, f).0;
        &self.last
    }
}

fn node(cfg: &RaftConfig, d: RaftDurable) -> Raft {
    Harness::new(*cfg, N).recover(0, &d)
}

fn sends(cmds: &[Command<Raft>]) -> Vec<(Option<NodeId>, RaftMsg)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Send(to, m) => Some((Some(*to), m.clone())),
            Command::Broadcast(m) => Some((None, m.clone())),
            _ => None,
        })
        .collect()
}

fn notes(cmds: &[Command<Raft>]) -> Vec<RaftNote> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Note(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn persisted(cmds: &[Command<Raft>]) -> Option<RaftDurable> {
    cmds.iter().rev().find_map(|c| match c {
        Command::Persist(d) => Some(*d),
        _ => None,
    })
}

fn election_timer(cmds: &[Command<Raft>]) -> Option<u64> {
    cmds.iter().find_map(|c| match c {
        Command::SetTimer(RaftTimer::Election, d) => Some(*d),
        _ => None,
    })
}

#[test]
fn start_arms_a_randomized_election_timeout_within_range() {
    // Reference: section 5.2 — "election timeouts are chosen randomly from a fixed interval".
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let mut r = node(&cfg, RaftDurable::default());
        let cmds = s.run(&mut r, 0, 0, |n, c| n.on_start(c));
        let t = election_timer(cmds).expect("election timer armed");
        assert!((150 * MS..=300 * MS).contains(&t), "{t}");
        seen.insert(t);
    }
    assert!(
        seen.len() > 40,
        "timeouts must be redrawn, got {} distinct",
        seen.len()
    );
}

#[test]
fn timeout_starts_election_in_next_term_voting_for_self() {
    // Reference: Figure 2, Candidates — increment currentTerm, vote for self,
    // reset election timer, send RequestVote RPCs to all other servers.
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(
        &cfg,
        RaftDurable {
            current_term: 3,
            voted_for: None,
            log: LogPos { term: 2, index: 7 },
        },
    );
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_timer(c, RaftTimer::Election));
    assert_eq!(notes(cmds), vec![RaftNote::Candidate { term: 4 }]);
    assert_eq!(
        persisted(cmds),
        Some(RaftDurable {
            current_term: 4,
            voted_for: Some(0),
            log: LogPos { term: 2, index: 7 }
        })
    );
    assert!(election_timer(cmds).is_some());
    assert_eq!(
        sends(cmds),
        vec![(
            None,
            RaftMsg::RequestVote {
                term: 4,
                last_log: LogPos { term: 2, index: 7 }
            }
        )]
    );
    // The vote is persisted before the request leaves (persist precedes the broadcast).
    let p = cmds
        .iter()
        .position(|c| matches!(c, Command::Persist(_)))
        .unwrap();
    let b = cmds
        .iter()
        .position(|c| matches!(c, Command::Broadcast(_)))
        .unwrap();
    assert!(p < b);
}

fn request_vote(
    s: &mut Step,
    r: &mut Raft,
    from: NodeId,
    term: u64,
    last_log: LogPos,
) -> (bool, u64) {
    let cmds = s.run(r, 0, 0, |n, c| {
        n.on_message(c, from, RaftMsg::RequestVote { term, last_log })
    });
    match sends(cmds).as_slice() {
        [(Some(to), RaftMsg::RequestVoteResponse { term, granted })] if *to == from => {
            (*granted, *term)
        }
        other => panic!("expected one RequestVoteResponse, got {other:?}"),
    }
}

#[test]
fn votes_at_most_once_per_term() {
    // Reference: Figure 2, RequestVote RPC receiver implementation, rule 2.
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(
        &cfg,
        RaftDurable {
            current_term: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        request_vote(&mut s, &mut r, 1, 2, LogPos::default()),
        (true, 2)
    );
    assert_eq!(
        request_vote(&mut s, &mut r, 2, 2, LogPos::default()),
        (false, 2)
    );
    // The same candidate asking again (a duplicate) gets the same answer.
    assert_eq!(
        request_vote(&mut s, &mut r, 1, 2, LogPos::default()),
        (true, 2)
    );
}

#[test]
fn rejects_stale_terms_and_adopts_higher_ones() {
    // Reference: Figure 2 — reply false if term < currentTerm; any RPC with a
    // higher term makes the receiver adopt it and become follower.
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(
        &cfg,
        RaftDurable {
            current_term: 5,
            ..Default::default()
        },
    );
    assert_eq!(
        request_vote(&mut s, &mut r, 1, 4, LogPos::default()),
        (false, 5)
    );
    assert_eq!(
        request_vote(&mut s, &mut r, 1, 9, LogPos::default()),
        (true, 9)
    );
    assert_eq!(r.term(), 9);
}

#[test]
fn voting_restriction_refuses_less_up_to_date_candidates() {
    // Reference: section 5.4.1 — later last term wins; equal last terms compare length.
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mine = LogPos { term: 3, index: 10 };
    let cases = [
        (LogPos { term: 2, index: 50 }, false), // older last term, longer log
        (LogPos { term: 3, index: 9 }, false),  // same term, shorter
        (LogPos { term: 3, index: 10 }, true),  // identical
        (LogPos { term: 4, index: 1 }, true),   // later last term, shorter log
    ];
    for (theirs, want) in cases {
        let mut r = node(
            &cfg,
            RaftDurable {
                current_term: 3,
                voted_for: None,
                log: mine,
            },
        );
        assert_eq!(
            request_vote(&mut s, &mut r, 1, 4, theirs).0,
            want,
            "{theirs:?}"
        );
    }
}

#[test]
fn majority_of_votes_makes_a_leader_that_sends_heartbeats() {
    // Reference: Figure 2, Candidates and Leaders — "upon election: send initial
    // empty AppendEntries RPCs (heartbeat) to each server".
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(&cfg, RaftDurable::default());
    s.run(&mut r, 0, 0, |n, c| n.on_timer(c, RaftTimer::Election));
    let grant = RaftMsg::RequestVoteResponse {
        term: 1,
        granted: true,
    };
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_message(c, 1, grant.clone()));
    assert!(notes(cmds).is_empty(), "2 of 5 is not a majority");
    // A duplicated grant from the same voter must not count twice.
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_message(c, 1, grant.clone()));
    assert!(notes(cmds).is_empty());
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_message(c, 2, grant.clone()));
    assert_eq!(notes(cmds), vec![RaftNote::Leader { term: 1 }]);
    assert_eq!(r.role(), Role::Leader);
    assert_eq!(
        sends(cmds),
        vec![(
            None,
            RaftMsg::AppendEntries {
                term: 1,
                last_log: LogPos::default(),
                entries: 0
            }
        )]
    );
    assert!(cmds.contains(&Command::CancelTimer(RaftTimer::Election)));
    assert!(cmds.contains(&Command::SetTimer(RaftTimer::Heartbeat, 50 * MS)));
}

#[test]
fn leader_steps_down_on_higher_term() {
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(&cfg, RaftDurable::default());
    s.run(&mut r, 0, 0, |n, c| n.on_timer(c, RaftTimer::Election));
    for v in [1, 2] {
        s.run(&mut r, 0, 0, |n, c| {
            n.on_message(
                c,
                v,
                RaftMsg::RequestVoteResponse {
                    term: 1,
                    granted: true,
                },
            )
        });
    }
    assert_eq!(r.role(), Role::Leader);
    let cmds = s.run(&mut r, 0, 0, |n, c| {
        n.on_message(
            c,
            3,
            RaftMsg::AppendEntriesResponse {
                term: 2,
                success: false,
            },
        )
    });
    assert_eq!(notes(cmds), vec![RaftNote::SteppedDown { term: 2 }]);
    assert_eq!(r.role(), Role::Follower);
    assert!(election_timer(cmds).is_some());
}

#[test]
fn follower_adopts_leader_and_its_log_position() {
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(
        &cfg,
        RaftDurable {
            current_term: 1,
            ..Default::default()
        },
    );
    let ae = RaftMsg::AppendEntries {
        term: 2,
        last_log: LogPos { term: 2, index: 4 },
        entries: 1,
    };
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_message(c, 3, ae.clone()));
    assert_eq!(
        notes(cmds),
        vec![RaftNote::Following { term: 2, leader: 3 }]
    );
    assert_eq!(persisted(cmds).unwrap().log, LogPos { term: 2, index: 4 });
    assert_eq!(
        sends(cmds),
        vec![(
            Some(3),
            RaftMsg::AppendEntriesResponse {
                term: 2,
                success: true
            }
        )]
    );
    // A second heartbeat from the same leader notes nothing new.
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_message(c, 3, ae.clone()));
    assert!(notes(cmds).is_empty());
}

#[test]
fn pre_vote_does_not_disturb_terms() {
    // Reference: Raft thesis section 9.6 — a pre-candidate asks before incrementing
    // its term; voters do not change term or vote for a pre-vote.
    let cfg = RaftConfig {
        pre_vote: true,
        ..RaftConfig::default()
    };
    let mut s = Step::new();
    let mut r = node(
        &cfg,
        RaftDurable {
            current_term: 3,
            ..Default::default()
        },
    );
    let cmds = s.run(&mut r, 0, 0, |n, c| n.on_timer(c, RaftTimer::Election));
    assert_eq!(notes(cmds), vec![RaftNote::PreCandidate { term: 4 }]);
    assert_eq!(r.term(), 3);
    assert!(persisted(cmds).is_none());
    assert_eq!(
        sends(cmds),
        vec![(
            None,
            RaftMsg::PreVote {
                term: 4,
                last_log: LogPos::default()
            }
        )]
    );

    let mut voter = node(
        &cfg,
        RaftDurable {
            current_term: 3,
            ..Default::default()
        },
    );
    let cmds = s.run(&mut voter, 1, 0, |n, c| {
        n.on_message(
            c,
            0,
            RaftMsg::PreVote {
                term: 4,
                last_log: LogPos::default(),
            },
        )
    });
    assert_eq!(
        sends(cmds),
        vec![(
            Some(0),
            RaftMsg::PreVoteResponse {
                term: 4,
                granted: true
            }
        )]
    );
    assert_eq!(voter.term(), 3);
    assert!(persisted(cmds).is_none());

    // Two grants plus its own: a majority, so the real election starts in term 4.
    s.run(&mut r, 0, 0, |n, c| {
        n.on_message(
            c,
            1,
            RaftMsg::PreVoteResponse {
                term: 4,
                granted: true,
            },
        )
    });
    let cmds = s.run(&mut r, 0, 0, |n, c| {
        n.on_message(
            c,
            2,
            RaftMsg::PreVoteResponse {
                term: 4,
                granted: true,
            },
        )
    });
    assert_eq!(notes(cmds), vec![RaftNote::Candidate { term: 4 }]);
}

#[test]
fn pre_vote_refused_while_leader_is_heard() {
    let cfg = RaftConfig {
        pre_vote: true,
        ..RaftConfig::default()
    };
    let mut s = Step::new();
    let mut voter = node(
        &cfg,
        RaftDurable {
            current_term: 3,
            ..Default::default()
        },
    );
    s.run(&mut voter, 1, 100 * MS, |n, c| {
        n.on_message(
            c,
            2,
            RaftMsg::AppendEntries {
                term: 3,
                last_log: LogPos::default(),
                entries: 0,
            },
        )
    });
    let cmds = s.run(&mut voter, 1, 200 * MS, |n, c| {
        n.on_message(
            c,
            0,
            RaftMsg::PreVote {
                term: 4,
                last_log: LogPos::default(),
            },
        )
    });
    assert_eq!(
        sends(cmds),
        vec![(
            Some(0),
            RaftMsg::PreVoteResponse {
                term: 3,
                granted: false
            }
        )]
    );
    // After the minimum election timeout without a heartbeat, it grants.
    let cmds = s.run(&mut voter, 1, 251 * MS, |n, c| {
        n.on_message(
            c,
            0,
            RaftMsg::PreVote {
                term: 4,
                last_log: LogPos::default(),
            },
        )
    });
    assert_eq!(
        sends(cmds),
        vec![(
            Some(0),
            RaftMsg::PreVoteResponse {
                term: 4,
                granted: true
            }
        )]
    );
}

#[test]
fn check_quorum_leader_without_majority_steps_down() {
    // Reference: Raft thesis section 6.2.
    let cfg = RaftConfig {
        check_quorum: true,
        ..RaftConfig::default()
    };
    let mut s = Step::new();
    let mut r = node(&cfg, RaftDurable::default());
    s.run(&mut r, 0, 0, |n, c| n.on_timer(c, RaftTimer::Election));
    for v in [1, 2] {
        s.run(&mut r, 0, 0, |n, c| {
            n.on_message(
                c,
                v,
                RaftMsg::RequestVoteResponse {
                    term: 1,
                    granted: true,
                },
            )
        });
    }
    // One follower answers: 2 of 5 with itself — not a quorum.
    s.run(&mut r, 0, 0, |n, c| {
        n.on_message(
            c,
            1,
            RaftMsg::AppendEntriesResponse {
                term: 1,
                success: true,
            },
        )
    });
    let cmds = s.run(&mut r, 0, 150 * MS, |n, c| {
        n.on_timer(c, RaftTimer::CheckQuorum)
    });
    assert_eq!(notes(cmds), vec![RaftNote::SteppedDown { term: 1 }]);
    assert_eq!(r.role(), Role::Follower);
}

#[test]
fn broken_variants_break_what_they_say() {
    let mut s = Step::new();
    let dv = RaftConfig {
        variant: RaftVariant::DoubleVote,
        ..RaftConfig::default()
    };
    let mut r = node(
        &dv,
        RaftDurable {
            current_term: 1,
            ..Default::default()
        },
    );
    assert!(request_vote(&mut s, &mut r, 1, 2, LogPos::default()).0);
    assert!(
        request_vote(&mut s, &mut r, 2, 2, LogPos::default()).0,
        "double-vote grants twice"
    );

    let fv = RaftConfig {
        variant: RaftVariant::ForgetVotedFor,
        ..RaftConfig::default()
    };
    let d = RaftDurable {
        current_term: 2,
        voted_for: Some(1),
        log: LogPos::default(),
    };
    let mut r = node(&fv, d);
    assert!(
        request_vote(&mut s, &mut r, 2, 2, LogPos::default()).0,
        "forgets its vote after restart"
    );
    let mut ok = node(&RaftConfig::default(), d);
    assert!(
        !request_vote(&mut s, &mut ok, 2, 2, LogPos::default()).0,
        "the correct node remembers"
    );
}

/// Figure 2, AppendEntries rule 3: only a conflicting new entry deletes. A late
/// or duplicated AppendEntries of the leader already followed (its log only
/// grows within its term) leaves the follower's longer log alone; a new
/// leader's position replaces it.
#[test]
fn a_late_append_entries_never_shortens_the_log() {
    let cfg = RaftConfig::default();
    let mut s = Step::new();
    let mut r = node(
        &cfg,
        RaftDurable {
            current_term: 1,
            ..Default::default()
        },
    );
    let ae = |term, index| RaftMsg::AppendEntries {
        term: 2,
        last_log: LogPos { term, index },
        entries: 1,
    };
    s.run(&mut r, 0, 0, |n, c| n.on_message(c, 3, ae(2, 5)));
    let cmds = s.run(&mut r, 0, MS, |n, c| n.on_message(c, 3, ae(2, 4)));
    assert!(persisted(cmds).is_none(), "a late message rewrote the log");
    assert_eq!(r.log, LogPos { term: 2, index: 5 });
    // The leader of a later term replaces the log with its own, shorter one.
    let ae3 = RaftMsg::AppendEntries {
        term: 3,
        last_log: LogPos { term: 3, index: 3 },
        entries: 1,
    };
    let cmds = s.run(&mut r, 0, 2 * MS, |n, c| n.on_message(c, 4, ae3.clone()));
    assert_eq!(persisted(cmds).unwrap().log, LogPos { term: 3, index: 3 });
}

/// A queued Raft message is 56 bytes.
#[test]
fn queued_message_is_56_bytes() {
    assert_eq!(crate::engine::queued_message_size::<RaftMsg>(), 56);
}
