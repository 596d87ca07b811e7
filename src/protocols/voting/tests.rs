//! Table-driven tests of the voting rules, and an exhaustive check that an
//! early decision is never contradicted by the ballots still to come.

use super::*;

fn counts(votes: &[(Value, u32)], abstain: u32) -> Counts {
    let mut c = Counts::new();
    for &(v, k) in votes {
        for _ in 0..k {
            c.add(Ballot::Vote(v));
        }
    }
    for _ in 0..abstain {
        c.add(Ballot::Abstain);
    }
    c
}

fn rule(s: &str) -> Rule {
    // "THRESHOLD base quorum tie missing", e.g. "majority cast 0 none absent".
    let w: Vec<&str> = s.split_whitespace().collect();
    Rule {
        threshold: w[0].parse().unwrap(),
        base: w.get(1).map_or(Base::Cast, |b| b.parse().unwrap()),
        quorum: w.get(2).map_or(0, |q| q.parse().unwrap()),
        tie: w.get(3).map_or(Tie::None, |t| t.parse().unwrap()),
        missing: w.get(4).map_or(Missing::Absent, |m| m.parse().unwrap()),
    }
}

use Outcome::{Decided, Pending};
const NO_WINNER: Outcome = Outcome::None(NoDecision::NoWinner);
const TIE: Outcome = Outcome::None(NoDecision::Tie);

#[test]
fn spellings_round_trip_and_bad_ones_name_the_accepted_values() {
    for s in [
        "majority",
        "supermajority:2/3",
        "supermajority:3/4",
        "unanimity",
        "at-least:7",
    ] {
        assert_eq!(s.parse::<Threshold>().unwrap().to_string(), s);
    }
    for s in ["none", "lowest", "highest", "default:0"] {
        assert_eq!(s.parse::<Tie>().unwrap().to_string(), s);
    }
    for s in ["absent", "abstain", "vote:1"] {
        assert_eq!(s.parse::<Missing>().unwrap().to_string(), s);
    }
    for s in ["cast", "present", "electorate"] {
        assert_eq!(s.parse::<Base>().unwrap().to_string(), s);
    }
    for bad in [
        "supermajority:3/2",
        "supermajority:0/3",
        "supermajority:2",
        "at-least:0",
        "at-least:x",
        "plurality",
    ] {
        let e = bad.parse::<Threshold>().unwrap_err();
        assert!(e.contains("accepted"), "{bad}: {e}");
    }
    assert!("coin".parse::<Tie>().unwrap_err().contains("accepted"));
    assert!("vote:".parse::<Missing>().unwrap_err().contains("accepted"));
    // Through serde, as in a scenario file.
    let t: Threshold = serde_json::from_str("\"supermajority:2/3\"").unwrap();
    assert_eq!(t, Threshold::Supermajority(Ratio::new(2, 3)));
    assert_eq!(
        serde_json::to_string(&Tie::Default(3)).unwrap(),
        "\"default:3\""
    );
}

#[test]
fn thresholds_against_their_base() {
    // (rule, votes, abstentions, electorate, outcome with every ballot in or closed)
    type Row = (&'static str, &'static [(Value, u32)], u32, u32, Outcome);
    let table: &[Row] = &[
        // Majority is strictly more than half of the votes cast.
        ("majority", &[(1, 3), (0, 2)], 0, 5, Decided(1)),
        ("majority", &[(1, 3), (0, 3)], 0, 6, TIE),
        ("majority", &[(1, 3), (0, 2), (2, 2)], 0, 7, NO_WINNER),
        // Abstentions leave the votes cast alone, but not the voters present.
        ("majority cast", &[(1, 2), (0, 1)], 3, 6, Decided(1)),
        ("majority present", &[(1, 2), (0, 1)], 3, 6, NO_WINNER),
        // Of the electorate, missing voters count against every value.
        ("majority electorate", &[(1, 3)], 0, 6, NO_WINNER),
        ("majority electorate", &[(1, 4)], 0, 6, Decided(1)),
        // Supermajority: exact ratios, no rounding.
        ("supermajority:2/3", &[(1, 6), (0, 3)], 0, 9, Decided(1)),
        ("supermajority:2/3", &[(1, 5), (0, 3)], 0, 8, NO_WINNER),
        ("supermajority:2/3", &[(1, 2), (0, 1)], 0, 3, Decided(1)),
        ("supermajority:3/4", &[(1, 3), (0, 1)], 0, 4, Decided(1)),
        ("supermajority:3/4", &[(1, 5), (0, 2)], 0, 7, NO_WINNER),
        // Unanimity: one dissent is enough; abstentions only with base present.
        ("unanimity", &[(1, 5)], 0, 5, Decided(1)),
        ("unanimity", &[(1, 4), (0, 1)], 0, 5, NO_WINNER),
        ("unanimity cast", &[(1, 4)], 1, 5, Decided(1)),
        ("unanimity present", &[(1, 4)], 1, 5, NO_WINNER),
        // At least K, whatever the base.
        ("at-least:3", &[(1, 3), (0, 1)], 0, 4, Decided(1)),
        ("at-least:3", &[(1, 2), (0, 2)], 0, 4, NO_WINNER),
        // Nothing voted.
        ("majority", &[], 4, 4, NO_WINNER),
        ("unanimity", &[], 0, 0, NO_WINNER),
    ];
    for &(r, v, a, e, want) in table {
        let c = counts(v, a);
        assert_eq!(
            rule(r).decide(&c, e, true),
            want,
            "{r} {v:?} abstain {a} of {e}"
        );
    }
}

#[test]
fn the_quorum_counts_voters_present_abstentions_included() {
    let r = rule("majority cast 4");
    assert_eq!(
        r.decide(&counts(&[(1, 3)], 0), 6, true),
        Outcome::None(NoDecision::NoQuorum {
            present: 3,
            quorum: 4
        })
    );
    assert_eq!(r.decide(&counts(&[(1, 3)], 1), 6, true), Decided(1));
    // Open, with 2 missing: it may still be met, so wait...
    assert_eq!(r.decide(&counts(&[(1, 3)], 0), 5, false), Pending);
    // ... and with 2 missing it can still be met...
    assert_eq!(r.decide(&counts(&[(1, 2)], 0), 4, false), Pending);
    // ... but not with too few voters left, open or closed.
    assert_eq!(
        r.decide(&counts(&[(1, 2)], 0), 3, false),
        Outcome::None(NoDecision::NoQuorum {
            present: 3,
            quorum: 4
        })
    );
    assert_eq!(
        r.decide(&counts(&[(1, 2)], 0), 3, true),
        Outcome::None(NoDecision::NoQuorum {
            present: 2,
            quorum: 4
        })
    );
}

#[test]
fn missing_votes_count_as_declared_at_the_deadline() {
    // 5 voters; 2 voted 1, 3 are missing.
    let c = counts(&[(1, 2)], 0);
    assert_eq!(
        rule("majority cast 0 none absent").decide(&c, 5, true),
        Decided(1)
    );
    assert_eq!(
        rule("majority present 0 none abstain").decide(&c, 5, true),
        NO_WINNER
    );
    // "Silence means no": the 3 missing are votes for 0.
    assert_eq!(
        rule("majority cast 0 none vote:0").decide(&c, 5, true),
        Decided(0)
    );
    // Missing voters counted as abstaining make the quorum.
    assert_eq!(
        rule("majority cast 4 none abstain").decide(&c, 5, true),
        Decided(1)
    );
    assert!(matches!(
        rule("majority cast 4 none absent").decide(&c, 5, true),
        Outcome::None(NoDecision::NoQuorum { .. })
    ));
    // Before the deadline none of these is certain.
    for r in ["majority cast 0 none absent", "majority cast 0 none vote:0"] {
        assert_eq!(rule(r).decide(&c, 5, false), Pending, "{r}");
    }
}

#[test]
fn the_tie_rule_is_deterministic_and_applies_only_to_ties() {
    let even = counts(&[(3, 2), (8, 2)], 0);
    for (tie, want) in [
        ("none", TIE),
        ("lowest", Decided(3)),
        ("highest", Decided(8)),
        ("default:5", Decided(5)),
    ] {
        let r = rule(&format!("majority cast 0 {tie}"));
        assert_eq!(r.decide(&even, 4, true), want, "{tie}");
    }
    // Two values that both meet a weak threshold with the same count: a tie.
    let r = rule("at-least:2 cast 0 lowest");
    assert_eq!(r.decide(&counts(&[(4, 2), (1, 2)], 0), 4, true), Decided(1));
    // The most votes wins a weak threshold without the tie rule.
    assert_eq!(r.decide(&counts(&[(4, 3), (1, 2)], 0), 5, true), Decided(4));
    // Leaders tied below half of the votes cast: no majority, not a tie.
    let three = counts(&[(0, 2), (1, 2), (2, 1)], 0);
    assert_eq!(
        rule("majority cast 0 lowest").decide(&three, 5, true),
        NO_WINNER
    );
    // A tie of the supermajority is not resolved by the tie rule either.
    let r = rule("supermajority:2/3 cast 0 lowest");
    assert_eq!(r.decide(&even, 4, true), NO_WINNER);
}

#[test]
fn early_decisions_when_no_missing_ballot_can_change_them() {
    // n − f = 3 of 4: three agreeing votes decide before the fourth arrives.
    let r = rule("at-least:3");
    assert_eq!(r.decide(&counts(&[(1, 3)], 0), 4, false), Decided(1));
    assert_eq!(r.decide(&counts(&[(1, 2), (0, 1)], 0), 4, false), Pending);
    // 2 for, 2 against: no value can reach 3 any more.
    assert_eq!(r.decide(&counts(&[(1, 2), (0, 2)], 0), 5, false), Pending);
    assert_eq!(r.decide(&counts(&[(1, 2), (0, 2)], 0), 4, false), NO_WINNER);
    // Majority of 7 votes cast: 4 agreeing is certain; 3 of 3 is not (the
    // 4 missing could all vote against).
    let m = rule("majority");
    assert_eq!(m.decide(&counts(&[(1, 4)], 0), 7, false), Decided(1));
    assert_eq!(m.decide(&counts(&[(1, 3)], 0), 7, false), Pending);
    // Every ballot in: open and closed agree.
    let full = counts(&[(1, 2), (0, 2)], 0);
    assert_eq!(m.decide(&full, 4, false), m.decide(&full, 4, true));
}

/// Every count vector of `e` voters over values 0, 1, 2, abstention and
/// missing: `[c0, c1, c2, abstain, missing]`.
fn compositions(e: u32) -> Vec<[u32; 5]> {
    let mut out = Vec::new();
    for a in 0..=e {
        for b in 0..=e - a {
            for c in 0..=e - a - b {
                for d in 0..=e - a - b - c {
                    out.push([a, b, c, d, e - a - b - c - d]);
                }
            }
        }
    }
    out
}

fn counts_of(k: &[u32; 5]) -> Counts {
    counts(&[(0, k[0]), (1, k[1]), (2, k[2])], k[3])
}

/// Reference: an early outcome is sound. For every tally of up to 5
/// voters with some ballots missing, and every rule, if the open tally says
/// `Decided(v)`, every completion of the missing ballots (each missing
/// voter votes 0, 1 or 2, abstains, or stays missing until the deadline)
/// decides `v`; if it says `None`, no completion decides anything.
#[test]
fn an_early_outcome_is_never_contradicted_by_the_missing_ballots() {
    let thresholds = [
        "majority",
        "supermajority:2/3",
        "unanimity",
        "at-least:1",
        "at-least:2",
        "at-least:3",
    ];
    let mut rules = Vec::new();
    for t in thresholds {
        for b in ["cast", "present", "electorate"] {
            for q in [0, 2, 4] {
                for tie in ["none", "lowest", "default:1"] {
                    for m in ["absent", "abstain", "vote:0"] {
                        rules.push(rule(&format!("{t} {b} {q} {tie} {m}")));
                    }
                }
            }
        }
    }
    let (mut decided, mut failed) = (0u64, 0u64);
    for e in 1..=5u32 {
        for k in compositions(e) {
            let m = k[4];
            if m == 0 {
                continue;
            }
            let open = counts_of(&k);
            for r in &rules {
                let early = r.decide(&open, e, false);
                if early == Pending {
                    continue;
                }
                match early {
                    Decided(_) => decided += 1,
                    _ => failed += 1,
                }
                for add in compositions(m) {
                    let mut full = k;
                    for i in 0..4 {
                        full[i] += add[i];
                    }
                    full[4] = add[4];
                    let closed = r.decide(&counts_of(&full), e, true);
                    match early {
                        Decided(v) => assert_eq!(closed, Decided(v), "{r}: {k:?} + {add:?}"),
                        _ => assert!(
                            !matches!(closed, Decided(_)),
                            "{r}: {k:?} said {early:?}, but {add:?} gives {closed:?}"
                        ),
                    }
                }
            }
        }
    }
    // The check exercised both kinds of early outcome.
    assert!(decided > 1000 && failed > 1000, "{decided} {failed}");
}

#[test]
fn a_tally_counts_each_voter_once_and_notices_conflicts() {
    let mut t = Tally::new(4);
    assert_eq!(t.record(0, Ballot::Vote(1)), Recorded::New);
    assert_eq!(t.record(0, Ballot::Vote(1)), Recorded::Repeat);
    assert_eq!(
        t.record(0, Ballot::Vote(2)),
        Recorded::Conflict {
            first: Ballot::Vote(1)
        }
    );
    assert_eq!(t.record(1, Ballot::Abstain), Recorded::New);
    assert_eq!(t.record(9, Ballot::Vote(1)), Recorded::Repeat);
    assert_eq!((t.received(), t.missing()), (2, 2));
    assert_eq!(t.counts().of(1), 1);
    assert_eq!(t.counts().of(2), 0);
    assert_eq!(t.ballot(0), Some(Ballot::Vote(1)));
    assert_eq!(t.outcome(&Rule::default(), true), Decided(1));
    t.clear();
    assert_eq!((t.received(), t.counts().present()), (0, 0));
}

#[test]
fn rules_are_validated_against_the_electorate() {
    let mut r = rule("at-least:5");
    assert!(r.validate(5, "jury").is_ok());
    let e = r.validate(4, "jury").unwrap_err();
    assert!(
        e.contains("jury.threshold") && e.contains("at-least:4"),
        "{e}"
    );
    r = rule("majority cast 6");
    let e = r.validate(5, "jury").unwrap_err();
    assert!(e.contains("jury.quorum = 6") && e.contains("0..=5"), "{e}");
}

#[test]
fn condorcet_exact_probabilities() {
    // Reference: Condorcet's jury theorem; n = 3, p = 0.6: p³ + 3p²(1 − p).
    assert!((majority_correct(1, 0.6) - 0.6).abs() < 1e-15);
    assert!((majority_correct(3, 0.6) - 0.648).abs() < 1e-12);
    // The pmf sums to 1.
    let s: f64 = (0..=25).map(|j| binomial_pmf(25, 0.37, j)).sum();
    assert!((s - 1.0).abs() < 1e-12);
    // Rising with n above 1/2, falling below it, to 1 and 0.
    let mut last = 0.0;
    for n in (1..200).step_by(2) {
        let a = majority_correct(n, 0.6);
        assert!(a > last);
        last = a;
        assert!(majority_correct(n, 0.4) <= 0.4 + 1e-12);
    }
    assert!(last > 0.997);
    // An even jury loses its ties: n = 2 is right only when both are.
    assert!((majority_correct(2, 0.6) - 0.36).abs() < 1e-12);
}
