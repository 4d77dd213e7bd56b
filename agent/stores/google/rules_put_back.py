"""A person's conditional-format rules put back where they were, never twice.

Rules are deleted by position: a rule a person added between the pass's read and the
agent's formatting call moves the others, and a delete can fall on a person's rule. Google
answers each delete with the rule it deleted; those of a person go back at their place.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from agent.errors import HealthAgentError, TransientError, UnsureWrite
from agent.stores.google import formatting
from agent.stores.google.client import backoff

if TYPE_CHECKING:
    from agent.stores.google.store import GoogleStore

log = logging.getLogger("agent.google")


def put_back(
    store: GoogleStore, lost: list[formatting.Place], *, read_just_now: bool = False
) -> bool:
    """Put a person's rules back where they were (index, rule), then read the metadata
    again; whether there were any.

    Rules are deleted by position: a rule a person added between the pass's read and
    its formatting call moves the others, and a delete can fall on a person's rule.
    Adding a rule twice would duplicate it for good, so the put-back is not sent again
    blindly when its answer is lost: the rules are read again and only those that did
    not land are sent (bounded tries). Whatever stops it, the pass fails quoting the
    rules, so that nothing is lost without a word."""
    if not lost:
        return False
    log.warning("%d rule(s) of a person moved during the pass: putting them back", len(lost))
    try:
        if _tries(store, lost, read_just_now):
            return True
        problem = "could not be confirmed back in place"
    except HealthAgentError as exc:
        problem = f"could not be put back ({exc})"
    rules = json.dumps([rule for _, rule in lost], ensure_ascii=False)
    raise TransientError(
        f"A conditional-format rule of a person, moved while the agent rewrote its own, "
        f"{problem}; look in Format, Conditional formatting. The rule: {rules}"
    )


def _tries(store: GoogleStore, lost: list[formatting.Place], read_just_now: bool) -> bool:
    client = store.client()
    seen: Counter[tuple[Any, ...]] = Counter()
    for attempt in range(client.max_tries):
        if attempt or not read_just_now:
            store.metadata = store.read_metadata()
        rules = (store.tab_properties(store.accounts_title) or {}).get("conditionalFormats", [])
        now = Counter(formatting.rule_shape(r) for r in rules)
        if attempt:  # the last put-back's answer was lost: keep what did not land
            landed = formatting.rules_still_present([rule for _, rule in lost], now - seen)
            lost = [item for item, there in zip(lost, landed, strict=True) if not there]
            if not lost:
                return True
        seen = now
        try:
            store.send_formatting({"requests": formatting.put_back_requests(lost, len(rules))})
        except UnsureWrite:
            client.sleep(backoff(attempt, client.rng))
            continue
        store.metadata = store.read_metadata()
        return True
    return False
