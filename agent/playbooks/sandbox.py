"""The sandbox playbooks run in: Jinja2's immutable sandbox, capped and timed.

Conditions and bodies run in Jinja2's ImmutableSandboxedEnvironment with StrictUndefined;
string and list repetition, powers, `range` and the rendered length are capped, and a
render has a time budget.
"""

from __future__ import annotations

import time
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent.labels import number_text

MAX_BUILT = 10_000  # the longest string or list a template may build by repetition
RENDER_SECONDS = 0.25  # a render that takes longer is a runaway


# what a playbook can raise on one account: reported, never fatal to the pass
TEMPLATE_FAILURES = (
    TemplateError,
    UndefinedError,
    TypeError,
    ValueError,
    ArithmeticError,
    AttributeError,
    IndexError,
    KeyError,
)


class RunawayTemplate(SecurityError):
    """A template that builds too much or runs too long."""


class PlaybookEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox plus caps on repetition, powers, calls and time."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.filters.pop("random", None)  # keeps a condition a function of the account
        self.deadline = float("inf")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise RunawayTemplate("exponent too large")
            return left**right
        sized = left if isinstance(left, str | list | tuple) else right
        times = right if sized is left else left
        if (
            isinstance(sized, str | list | tuple)
            and isinstance(times, int)
            and (len(sized) * times > MAX_BUILT)
        ):
            raise RunawayTemplate(f"repetition builds more than {MAX_BUILT} items")
        return left * right

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if time.perf_counter() > __self.deadline:
            raise RunawayTemplate(f"took longer than {RENDER_SECONDS}s")
        return super().call(__context, __obj, *args, **kwargs)


def make_environment(language: str = "fr") -> PlaybookEnvironment:
    env = PlaybookEnvironment()
    env.filters["num"] = lambda value: "" if value is None else number_text(float(value), language)
    return env


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox ({exc})"
    return f"{type(exc).__name__}: {exc}"
