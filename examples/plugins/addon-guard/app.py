"""Example plangate rule plugin (Python, built with componentize-py).

Denies a deploy when an upgrade of a guarded add-on (for example the ingress
controller the deploy depends on) is scheduled or running within `margin` of
the deploy window on the cluster in question.

Configuration (JSON): {"addons": ["nginx-ingress-controller"], "margin": "1h"}

Build: componentize-py -d ../../../wit -w rule componentize app -o addon-guard.wasm
"""

import json
import re

import wit_world
from wit_world.imports import types
from componentize_py_types import Err

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text):
    """Parses durations such as 90m, 1h30m or 2d."""
    parts = re.findall(r"(\d+)\s*([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text):
        raise ValueError(f"{text!r} is not a duration like 30m or 1h30m")
    return sum(int(n) * _UNITS[u] for n, u in parts)


class WitWorld(wit_world.WitWorld):
    def evaluate(self, plans, ctx, config):
        try:
            cfg = json.loads(config or "{}")
            addons = set(cfg.get("addons", []))
            margin = _seconds(cfg.get("margin", "1h"))
        except (ValueError, TypeError, AttributeError) as e:
            raise Err(f"invalid configuration: {e}")
        if not addons:
            raise Err("invalid configuration: list the guarded add-ons in \"addons\"")

        deploy_start = ctx.deploy.start.epoch_seconds
        deploy_end = ctx.deploy.end.epoch_seconds
        findings = []
        for p in plans:
            if ctx.cluster_id is not None and p.cluster_id != ctx.cluster_id:
                continue
            if not isinstance(p.plan_type, types.PlanType_ClusterUpgradeAddon):
                continue
            if not isinstance(p.state, (types.PlanState_Scheduled, types.PlanState_Executing)):
                continue
            if p.target_id not in addons or p.start_time is None or p.end_time is None:
                continue
            start = p.start_time.epoch_seconds - margin
            end = p.end_time.epoch_seconds + margin
            if deploy_start < end and start < deploy_end:
                findings.append(types.Finding(
                    rule="guarded-addon",
                    severity=types.Severity.DENY,
                    plan_id=p.plan_id,
                    cluster_id=p.cluster_id,
                    region=p.region,
                    plan_type=p.plan_type,
                    state=p.state,
                    target_type=p.target_type,
                    target_id=p.target_id,
                    conflict=types.Window(
                        start=types.Timestamp(start, 0, p.start_time.offset_minutes),
                        end=types.Timestamp(end, 0, p.start_time.offset_minutes),
                    ),
                    message=f"upgrade of guarded add-on {p.target_id} (plan {p.plan_id}) is within {cfg.get('margin', '1h')} of the deploy",
                ))
        return findings
