"""GB/T 2828.1-2012 (ISO 2859-1:1999) single-sampling tables as data: Table 1 and Tables 2-A, 2-B, 2-C.

Every row below is the printed form of the standard's table: one token per AQL column (``AQLS``),
``↓`` = use the first plan below, ``↑`` = the first plan above, ``-`` = no plan printed, a number =
the acceptance number Ac. In all three ISO 2859-1:1999 tables the rejection number is Re = Ac + 1
(the ANSI/ASQ Z1.4 reduced table's Ac < d < Re gap was removed in 1999).

Sources (cross-checked cell by cell when this file was written; see docs/quality.md "来源"):
- Table 1 and Table 2-A: AQLSchemes (Lawson, CRAN 2020) as copied in the public repository
  fjgonzalezmgt/AQLSchemesCust R/AAZ14Single.R; CRAN package Planesmuestra data/code_letter.rda;
  http://www.wisetool.com/sampling.htm; https://www.minmen.co/resources/aql-sampling
  (shared/reference/mom-domain.md §1.2-1.3).
- Table 2-B (tightened): AQLSchemes' tightened matrices (all 416 resolved cells equal) and a public
  TypeScript implementation whose 2-A/2-B/2-C data were checked against the GB/T 2828.1-2012 PDF
  (pages 15-17) — equal in 415 of 416 cells. The one difference is A at AQL 10: that
  implementation reads 0/1 with n=2; AQLSchemes and http://aqlinspectorsrule.com/manual/notes.html
  note 1 ("use code letter D" for tightened) give D, n=8, 1/2 — kept here, flagged in docs.
  Row S (n=3150) holds one plan, 1/2 at AQL 0.025, reached from Q and R
  (https://www.aqlinspectorsrule.com/below).
- Table 2-C (reduced, ISO 1999 — no gap): the GB/T-checked TypeScript tables above (all 416
  resolved cells equal); the worked example lot 125 / level III / AQL 1.0 reduced -> G->H->J,
  n=32, 1/2 (https://www.aqlinspectorsrule.com/Example-3--Differences-between-ANSI-and-ISO-versions_ep_48-1.html);
  and every Ac=0 cell equals AQLSchemes' (ANSI) reduced table except Q and R at AQL 0.025, where
  ANSI prints 0/2 and ISO removed it (long ↑ to N, n=200, 0/1).
"""
from __future__ import annotations

LETTERS = "ABCDEFGHJKLMNPQR"
LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
SEVERITIES = ("normal", "tightened", "reduced")

# The preferred AQL series (GB/T 2828.1 5.2): the 26 column headings of Tables 2-A/2-B/2-C.
AQLS = ("0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65",
        "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65",
        "100", "150", "250", "400", "650", "1000")

# Table 1: (smallest lot, largest lot or None, letters for S-1 S-2 S-3 S-4 I II III).
CODE_LETTERS = (
    (2, 8, "AAAAAAB"),
    (9, 15, "AAAAABC"),
    (16, 25, "AABBBCD"),
    (26, 50, "ABBCCDE"),
    (51, 90, "BBCCCEF"),
    (91, 150, "BBCDDFG"),
    (151, 280, "BCDEEGH"),
    (281, 500, "BCDEFHJ"),
    (501, 1200, "CCEFGJK"),
    (1201, 3200, "CDEGHKL"),
    (3201, 10000, "CDFGJLM"),
    (10001, 35000, "CDFHKMN"),
    (35001, 150000, "DEGJLNP"),
    (150001, 500000, "DEGJMPQ"),
    (500001, None, "DEHKNQR"),
)

# Sample size per code letter. Reduced letters carry smaller samples (A-C all 2); tightened adds S.
_NORMAL_N = (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000)
_REDUCED_N = (2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800)
SAMPLE_SIZES: dict[str, dict[str, int]] = {
    "normal": dict(zip(LETTERS, _NORMAL_N)),
    "tightened": {**dict(zip(LETTERS, _NORMAL_N)), "S": 3150},
    "reduced": dict(zip(LETTERS, _REDUCED_N)),
}

# Table 2-A — single sampling plans for normal inspection (printed form).
# A@10 prints ↑ with nothing above and R@0.015 ↑ (the diagonal would say ↓, nothing below):
# an arrow that leaves the table is followed the other way (sampling._resolve).
NORMAL = {
    "A": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 30",
    "B": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 30 44",
    "C": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 30 44 ↑",
    "D": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 30 44 ↑ ↑",
    "E": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 30 44 ↑ ↑ ↑",
    "F": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑",
    "G": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "H": "↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "J": "↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "K": "↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "L": "↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "M": "↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "N": "↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "P": "↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "Q": "0 ↑ ↓ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "R": "↑ ↑ 1 2 3 5 7 10 14 21 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
}

# Table 2-B — single sampling plans for tightened inspection (printed form).
TIGHTENED = {
    "A": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↑ ↓ ↓ 1 2 3 5 8 12 18 27",
    "B": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 27 41",
    "C": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 27 41 ↑",
    "D": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 27 41 ↑ ↑",
    "E": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 27 41 ↑ ↑ ↑",
    "F": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑",
    "G": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "H": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "J": "↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "K": "↓ ↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "L": "↓ ↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "M": "↓ ↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "N": "↓ ↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "P": "↓ ↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "Q": "↓ 0 ↓ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "R": "0 ↑ ↓ 1 2 3 5 8 12 18 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "S": "- - 1 - - - - - - - - - - - - - - - - - - - - - - -",
}

# Table 2-C — single sampling plans for reduced inspection, ISO 2859-1:1999 (printed form).
# Rows A and B (n=2) at AQL >= 25 repeat Table 2-A's row A; Q@0.025 and R@0.015/0.025 print ↑.
REDUCED = {
    "A": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ 1 2 3 5 7 10 14 21 30",
    "B": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 7 10 14 21 30",
    "C": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 14 21 ↑",
    "D": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 14 21 ↑ ↑",
    "E": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 14 21 ↑ ↑ ↑",
    "F": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑",
    "G": "↓ ↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "H": "↓ ↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "J": "↓ ↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "K": "↓ ↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "L": "↓ ↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "M": "↓ ↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "N": "↓ ↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "P": "↓ 0 ↑ ↓ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "Q": "0 ↑ ↑ ↓ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
    "R": "↑ ↑ ↑ 1 2 3 5 6 8 10 ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑ ↑",
}

TABLES: dict[str, dict[str, str]] = {"normal": NORMAL, "tightened": TIGHTENED, "reduced": REDUCED}
