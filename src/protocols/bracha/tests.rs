//! Single-step tests of Bracha's broadcast (Bracha 1987, Fig. 1).
