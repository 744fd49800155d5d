"""The synthetic portfolio of the strategy simulator: hidden traits, observable facts, daily outcomes.

Everything random is drawn from one `numpy.random.Generator`, so a seed fixes the whole run. The
population model (documented in the README section "Propensity model and simulator"):

* Segments by delinquency stage, with shares, days past due at placement and balance (log-normal):
  early (M1–M2), mid (M3–M4), late (M5–M6), written-off (M6+).
* Willingness to pay w ~ Beta(a, b) per segment (means 0.43 / 0.33 / 0.23 / 0.13).
* Ability to pay: monthly income ~ log-normal; ability = 1 / (1 + balance / (3 × income)).
* Phones: 1–3 per debtor, each in service with a segment probability; dead numbers are found out
  when called. Some debtors have an open dispute or complaint (a hold: the engine refuses contact).
* Answer rate by hour of day (lunch and evening peaks), lower for later segments and after repeated
  calls in the last 7 days (fatigue); right party 85 % of answered calls.
* A right-party conversation leads to a promise with p = 0.6 · w · (0.3 + 0.7 · ability) · decay;
  the promise is due in 1–7 days and kept with p = 0.25 + 0.6 · ability · (0.4 + 0.6 · w); a kept
  promise pays a share of the balance that grows with ability.
* A right-party conversation without a promise is coded by what the debtor says: refuses to pay
  (拒绝还款) with p = 0.5 · (1 − w), otherwise willing but unable to pay now (无力还款) with
  p = 0.5 · (1 − ability), otherwise a plain right-party contact.
* Without contact a debtor still pays by themself with a small daily probability
  0.004 · w · ability · decay, tripled for 14 days after a right-party conversation (reminder effect).
* decay = exp(−dpd / 500): the older the debt, the lower every pay probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENTS = ("early", "mid", "late", "written_off")
SEG_SHARE = np.array([0.35, 0.25, 0.20, 0.20])
SEG_DPD = ((1, 60), (61, 120), (121, 180), (181, 720))
SEG_BALANCE_MU = np.log([6000.0, 9000.0, 12000.0, 15000.0])
SEG_BALANCE_SIGMA = 0.9
SEG_BETA = ((3.0, 4.0), (2.0, 4.0), (1.5, 5.0), (1.0, 7.0))
SEG_PHONE_OK = np.array([0.92, 0.85, 0.75, 0.55])
SEG_ANSWER = np.array([1.0, 0.85, 0.7, 0.55])
HOLD_SHARE = 0.03
RIGHT_PARTY = 0.85
# answer rate of a working number by hour of day (local time), 08..21
HOUR_ANSWER = {8: 0.22, 9: 0.28, 10: 0.30, 11: 0.32, 12: 0.40, 13: 0.36, 14: 0.28, 15: 0.27, 16: 0.28,
               17: 0.33, 18: 0.42, 19: 0.45, 20: 0.40, 21: 0.30}
SELF_PAY = 0.004
REMINDER_BOOST = 3.0
REMINDER_DAYS = 14
DECAY_DAYS = 500.0


def stated_position(pop: Population, idx: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What debtors `idx` say in a conversation without a promise, from two uniform draws per row (u: (n, 2)):
    (refuses to pay, willing but unable to pay now); at most one is true."""
    refuse = u[:, 0] < 0.5 * (1.0 - pop.willingness[idx])
    cannot = ~refuse & (u[:, 1] < 0.5 * (1.0 - pop.ability[idx]))
    return refuse, cannot


def bucket_of(dpd: np.ndarray) -> np.ndarray:
    """portfolio.models.bucket_for_dpd, vectorised: M0, M1 (1–30), …, M6, M7+ (181+)."""
    names = np.array(["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"])
    months = np.where(dpd <= 0, 0, np.minimum((dpd - 1) // 30 + 1, 7))
    return names[months]


@dataclass
class Population:
    n: int
    segment: np.ndarray
    dpd0: np.ndarray
    balance0: np.ndarray
    income: np.ndarray
    willingness: np.ndarray
    ability: np.ndarray
    phones_total: np.ndarray
    phone_ok: np.ndarray          # (n, 3) bool: number in service
    hold: np.ndarray              # "" or a hold reason

    @classmethod
    def generate(cls, n: int, rng: np.random.Generator) -> Population:
        seg = rng.choice(len(SEGMENTS), size=n, p=SEG_SHARE)
        lo = np.array([s[0] for s in SEG_DPD])[seg]
        hi = np.array([s[1] for s in SEG_DPD])[seg]
        dpd0 = rng.integers(lo, hi + 1)
        balance0 = np.round(np.exp(rng.normal(SEG_BALANCE_MU[seg], SEG_BALANCE_SIGMA)), 2).clip(300, 500000)
        income = np.exp(rng.normal(np.log(5000.0), 0.6, size=n))
        a = np.array([b[0] for b in SEG_BETA])[seg]
        b = np.array([b[1] for b in SEG_BETA])[seg]
        willingness = rng.beta(a, b)
        ability = 1.0 / (1.0 + balance0 / (3.0 * income))
        phones_total = rng.integers(1, 4, size=n)
        phone_ok = (rng.random((n, 3)) < SEG_PHONE_OK[seg][:, None]) & (np.arange(3)[None, :] < phones_total[:, None])
        hold = np.where(rng.random(n) < HOLD_SHARE, rng.choice(np.array(["dispute", "complaint"]), size=n), "")
        return cls(n, seg, dpd0, balance0, income, willingness, ability, phones_total, phone_ok, hold)

    def decay(self, day: int) -> np.ndarray:
        return np.exp(-(self.dpd0 + day) / DECAY_DAYS)

    def latent_pay_probability(self, day: int) -> np.ndarray:
        """The hidden propensity the oracle knows: willingness × ability × decay (0..1)."""
        return self.willingness * self.ability * self.decay(day)
