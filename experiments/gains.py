"""Paired gains of a candidate allocation over the baseline, the value of a budget optimisation's trial: each
candidate is run on the same replicate seeds and parameter sets as the baseline (common random numbers), in a pool
of worker processes (or Ray tasks) kept across trials, and compared on the outcomes of ``sim.costs.OUTCOMES``."""

from __future__ import annotations

from sim.costs import OUTCOMES

GAINS = {gain: (col, sign) for gain, col, sign in OUTCOMES}


def gain_of(spec_result: tuple, base_result: tuple, scale: float) -> dict:
    fin, base = spec_result, base_result
    return {g: sign * (fin[col] - base[col]) / scale for g, (col, sign) in GAINS.items()}


def final(spec) -> dict:
    from experiments.runner import run_one

    ts = run_one(spec)[0]
    last = ts.iloc[-1]
    return {k: float(last[k]) for k in ("n_poor_english", "n_employed_16_64", "n_bridging_ties", "spend_gbp")}


def final_of(item) -> tuple:
    return item[0], final(item[1])


class Evaluator:
    """Runs candidates on fixed replicate seeds in a pool of worker processes kept across trials."""

    def __init__(self, study: dict, workers: int):
        from experiments.executors import pool, workers_for

        self.study = study
        self.scale = float(study["scale"])
        self.ray = (study.get("launcher") or "local") == "ray"
        if self.ray:  # one connection for the whole search; each trial's runs are Ray tasks
            from experiments.executors import start_ray

            start_ray((study.get("ray") or {}).get("address"))
            self.pool = None
        else:
            self.pool = pool(workers_for(workers, 10_000))
        self._base: dict = {}

    def _map(self, specs) -> list:
        if self.ray:
            from experiments.executors import run_ray

            done = run_ray(final_of, list(enumerate(specs)))  # in completion order: put back in order
            return [r for _, r in sorted(done, key=lambda x: x[0])]
        return list(self.pool.map(final, specs))

    def specs(self, label, scenario, replicates, offset=0):
        """Replicate r of every candidate and of the baseline: the same seed and the same parameter set (a member
        of the calibrated ensemble with ``parameters: ensemble``), so candidates are compared on paired gains."""
        from experiments.runner import RunSpec
        from experiments.uncertainty import DEFAULT_ENSEMBLE, parameter_sets

        s = self.study
        u = s.get("uncertainty") or {"parameters": "fixed"}
        sets, _ = parameter_sets(u["parameters"], replicates, int(s["seed"]) + offset, s.get("model"),
                                 s.get("interventions"), u.get("ensemble") or DEFAULT_ENSEMBLE)
        return [RunSpec(s["area"], label, scenario, r, int(s["seed"]) + offset, self.scale, int(s["weeks"]),
                        sets[r]["model"], sets[r]["interventions"], replicates)
                for r in range(replicates)]

    def gains(self, scenario: dict, replicates: int, offset: int = 0) -> list[dict]:
        key = (replicates, offset)
        if key not in self._base:
            self._base[key] = self._map(self.specs("baseline", "baseline", replicates, offset))
        runs = self._map(self.specs(scenario.get("name", "x"), scenario, replicates, offset))
        out = []
        for r, b in zip(runs, self._base[key]):
            g = gain_of(r, b, self.scale)
            g["spend_gbp"] = r["spend_gbp"]
            out.append(g)
        return out

    def close(self):
        if self.ray:
            from experiments.executors import stop_ray

            stop_ray()
        else:
            self.pool.shutdown()

    def stop(self):
        from experiments.executors import stop_pool

        if self.ray:
            self.close()
        else:
            stop_pool(self.pool)
