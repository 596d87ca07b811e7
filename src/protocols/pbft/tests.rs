//! Single-step tests of PBFT (Castro & Liskov 1999, §4).
