"""Write a small LLM eval set and two systems' per-example scores (deterministic, no network).

    python examples/llm-eval/generate.py [--out DIR]      # default: next to this script

It stands in for what a real eval harness writes (README.md beside this file says how):

* ``data/holdout.csv`` — the eval set: one row per example (``example_id``), its ``topic``
  (examples of one topic share prompts and context, so the topic is the independent unit,
  ``data.group_column``) and a ``difficulty`` slice. No target column: the scores are the
  judgement.
* ``predictions/{production,candidate}.csv`` — each system's answer judged per example:
  ``row_id`` (the example's id) and ``example_score``, a judge's grade on a 0–1 scale in
  quarters (0, 0.25, 0.5, 0.75, 1).
* ``predictions/{production,candidate}_passfail.csv`` — the same answers checked by a
  pass/fail test instead (``example_score`` 1 or 0).

The "systems" are simulated: an example's latent difficulty (its topic's and its own) is
shared by both, so their scores are paired, and the candidate is a little better on average
(+0.15 on the logit scale), about what a prompt or model upgrade gives.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

TOPICS = ["algebra", "geometry", "probability", "statistics", "calculus", "number theory", "logic",
          "physics", "chemistry", "biology", "astronomy", "geology", "history", "geography", "economics",
          "law", "medicine", "nutrition", "programming", "databases", "networking", "security",
          "grammar", "translation", "summarisation", "poetry", "music", "film", "sport", "cooking",
          "travel", "finance", "marketing", "ethics", "philosophy", "psychology", "linguistics",
          "art history", "mythology", "trivia"]
DIFFICULTY = {"easy": 1.2, "medium": 0.3, "hard": -0.8}  # logit offsets
SEED = 20240518


def generate(out: Path, *, seed: int = SEED, per_topic: int = 8, candidate_gain: float = 0.15) -> dict[str, Path]:
    """Write the eval set and both systems' score files under ``out``; return their paths."""
    rng = np.random.default_rng(seed)
    topic = np.repeat(TOPICS, per_topic)
    n = topic.size
    topic_effect = dict(zip(TOPICS, rng.normal(0.0, 0.7, len(TOPICS))))
    difficulty = rng.choice(list(DIFFICULTY), size=n, p=[0.4, 0.4, 0.2])
    # What makes an example hard for any system: its topic, its difficulty, its own quirks.
    latent = (np.array([topic_effect[t] for t in topic]) + np.array([DIFFICULTY[d] for d in difficulty])
              + rng.normal(0.0, 0.8, n))
    ids = [f"ex-{i:04d}" for i in range(n)]
    holdout = pd.DataFrame({"example_id": ids, "topic": topic, "difficulty": difficulty})

    def answers(gain: float) -> np.ndarray:
        """The quality of each answer a system gives (a probability of a correct answer)."""
        return 1.0 / (1.0 + np.exp(-(latent + gain + rng.normal(0.0, 0.6, n))))

    files = {"holdout": out / "data" / "holdout.csv"}
    for name, gain in (("production", 0.0), ("candidate", candidate_gain)):
        quality = answers(gain)
        # A judge grades in quarters and errs a little; a pass/fail test checks the answer.
        graded = np.clip(np.round((quality + rng.normal(0.0, 0.1, n)) * 4) / 4, 0.0, 1.0)
        passed = (rng.random(n) < quality).astype(int)
        order = rng.permutation(n)  # a harness writes results as they finish, not in the eval set's order
        for suffix, score in (("", graded), ("_passfail", passed)):
            files[name + suffix] = out / "predictions" / f"{name}{suffix}.csv"
            frame = pd.DataFrame({"row_id": np.asarray(ids)[order], "example_score": score[order]})
            _write(files[name + suffix], frame)
    _write(files["holdout"], holdout)
    return files


def _write(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="the workspace to write into (default: this example's folder)")
    args = parser.parse_args(argv)
    for name, path in generate(args.out).items():
        print(f"{name:>22}: {path}")


if __name__ == "__main__":
    main()
