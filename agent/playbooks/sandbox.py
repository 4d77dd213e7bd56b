"""The sandbox playbooks run in: Jinja2's immutable sandbox, capped and timed.

Conditions and bodies run in Jinja2's ImmutableSandboxedEnvironment with StrictUndefined.
This is the first of two walls (the second, `contain.py`, runs a pass's templates in a
worker process the system limits in memory and a watchdog stops): here every way a
template can build a lot or run long is checked *before* it happens, so an ordinary
runaway fails fast with a reason an admin can act on.

- Text building: repetition, `+`, `~`, `%`, `.format`, and the filters and methods that
  can make a long text from a short one (center, format, replace, join, indent, ljust,
  rjust, zfill, expandtabs, batch, slice) have the size of their result worked out first.
- Numbers: `*` and `**` on whole numbers refuse results past `MAX_INT_BITS`.
- Loops: every `{% for %}` counts its iterations (`MAX_LOOP_STEPS` per render) and checks
  the clock, even a loop that calls nothing and outputs nothing.
- Calls: nested at most `MAX_DEPTH` deep (a macro calling itself), the clock checked on
  each.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent.labels import number_text
from agent.playbooks.contain import TemplateFailed

MAX_BUILT = 10_000  # the longest string or list a template may build by repetition
MAX_TEXT = 100_000  # the longest text a template may build by any other means
MAX_INT_BITS = 100_000  # the largest whole number a template may compute (in bits)
MAX_LOOP_STEPS = 100_000  # loop iterations per render, every loop counted
MAX_DEPTH = 40  # calls nested in calls (a macro calling itself)
# a render that takes longer is a runaway: processor time, so that a busy machine (the
# pass waiting its turn) does not make one
RENDER_SECONDS = 0.25

# what a playbook can raise on one account: reported, never fatal to the pass. Anything:
# a runaway, a RecursionError, a MemoryError, a bug in a filter.
TEMPLATE_FAILURES = (Exception,)


class RunawayTemplate(SecurityError):
    """A template that builds too much or runs too long."""


def refuse_size(size: int, how: str, limit: int = MAX_TEXT) -> None:
    if size > limit:
        raise RunawayTemplate(f"{how} would build {size:,} characters, more than {limit:,}")


def _width(value: Any, how: str) -> None:
    if isinstance(value, int) and value > MAX_TEXT:
        refuse_size(value, how)


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")


def check_printf(fmt: str, args: Any) -> None:
    """`fmt % args` refused when a width or precision would build a long text."""
    star = False
    for match in _PRINTF_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                star = True
            elif part and (len(part) > 6 or int(part) > MAX_TEXT):
                raise RunawayTemplate(f"the format {match.group()!r} is wider than {MAX_TEXT:,}")
    if star:
        values = args if isinstance(args, tuple) else (args,)
        for value in values:
            _width(value, "a `*` width")


def check_format(fmt: str, args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """`fmt.format(...)` refused when a field's width or precision is too large."""
    nested = False
    for _literal, _field, spec, _conversion in string.Formatter().parse(fmt):
        if not spec:
            continue
        nested = nested or "{" in spec
        for number in _NUMBER.findall(spec):
            if len(number) > 6 or int(number) > MAX_TEXT:
                raise RunawayTemplate(f"the format {{:{spec}}} is wider than {MAX_TEXT:,}")
    if nested:
        for value in [*args, *kwargs.values()]:
            _width(value, "a format width")


def _replaced_size(text: str, old: str, new: str, count: int | None = None) -> int:
    times = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        times = min(times, count)
    return len(text) + times * (len(new) - len(old))


def _text_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(str(value))


def _joined_size(items: list[Any], separator: str) -> int:
    return sum(map(_text_size, items)) + len(separator) * max(0, len(items) - 1)


# --- the filters that can make a long text or list from a short one ---------------------


def _center(value: Any, width: int = 80) -> None:
    _width(width, "center")


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_printf(str(value), kwargs or args)


def _replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
    refuse_size(_replaced_size(str(s), str(old), str(new), count), "replace")


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> None:
    per_line = len(width) if isinstance(width, str) else width
    if isinstance(per_line, int):
        refuse_size(len(str(s)) + (str(s).count("\n") + 1) * per_line, "indent")


def _pieces(value: Any, count: int, fill_with: Any = None) -> None:
    if isinstance(count, int) and count > MAX_LOOP_STEPS:
        raise RunawayTemplate(f"batch or slice of {count:,}, more than {MAX_LOOP_STEPS:,}")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _center,
    "format": _format,
    "replace": _replace,
    "indent": _indent,
    "batch": _pieces,
    "slice": _pieces,
}


def _guarded(func: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    """`func` with `check` run on its arguments first (the context or environment Jinja
    passes first, if any, left out)."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)  # keeps jinja_pass_arg
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check(*args[skip:], **kwargs)
        return func(*args, **kwargs)

    return guarded


def _guarded_join(func: Callable[..., Any]) -> Callable[..., Any]:
    """`join` with its items listed, then its size worked out, before it joins them."""

    @functools.wraps(func)
    def guarded(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        if attribute is None:
            refuse_size(_joined_size(items, str(d)), "join")
        return func(eval_ctx, items, d, attribute)

    return guarded


_STR_METHOD_WIDTHS = frozenset({"center", "ljust", "rjust", "zfill"})


def check_str_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A call of a text's own method (`'x'.center(...)`) refused when it would build a
    long text."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str) or not args:
        return
    name = getattr(obj, "__name__", "")
    if name in _STR_METHOD_WIDTHS:
        _width(args[0], name)
    elif name == "expandtabs" and isinstance(args[0], int):
        refuse_size(len(owner) + owner.count("\t") * args[0], "expandtabs")
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else None
        refuse_size(_replaced_size(owner, str(args[0]), str(args[1]), count), "replace")
    elif name == "join":
        refuse_size(_joined_size(list(args[0]), owner), "join")


# --- every loop counted ------------------------------------------------------------------


class CountingCodeGenerator(CodeGenerator):
    """Jinja's compiler, with each `{% for %}` iterating through the environment's
    `counted_loop`, and each `~` through its `joined`."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        counted = (
            isinstance(node.iter, nodes.Call)
            and isinstance(node.iter.node, nodes.EnvironmentAttribute)
            and node.iter.node.name == "counted_loop"
        )
        if not counted:
            node.iter = nodes.Call(
                nodes.EnvironmentAttribute("counted_loop"),
                [node.iter],
                [],
                None,
                None,
                lineno=node.iter.lineno,
            )
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.joined((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class PlaybookEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox plus caps on what a template builds, its loops, calls and time."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = CountingCodeGenerator

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.filters.pop("random", None)  # keeps a condition a function of the account
        self.globals.pop("lipsum", None)  # paragraphs by the million, in one call
        for name, check in _FILTER_CHECKS.items():
            self.filters[name] = _guarded(self.filters[name], check)
        self.filters["join"] = _guarded_join(self.filters["join"])
        self.deadline = float("inf")
        self.steps = 0  # loop iterations in this render
        self.depth = 0  # calls in progress

    def start_render(self, seconds: float = RENDER_SECONDS) -> None:
        self.deadline = time.thread_time() + seconds
        self.steps = 0
        self.depth = 0

    def end_render(self) -> None:
        self.deadline = float("inf")

    def check_clock(self) -> None:
        if time.thread_time() > self.deadline:
            raise RunawayTemplate(f"took longer than {RENDER_SECONDS}s")

    def counted_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """A loop's items, counted: past MAX_LOOP_STEPS in one render, or past the time
        budget, the render stops."""
        for item in iterable:
            self.steps += 1
            if self.steps > MAX_LOOP_STEPS:
                raise RunawayTemplate(f"loops ran more than {MAX_LOOP_STEPS:,} times")
            if not self.steps & 1023:
                self.check_clock()
            yield item

    def joined(self, values: Iterable[Any]) -> str:
        """`a ~ b`: each part as text, refused when the whole would be too long."""
        parts = [v if isinstance(v, str) else str(v) for v in values]
        refuse_size(sum(map(len, parts)), "`~`")
        return "".join(parts)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise RunawayTemplate("exponent too large")
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                _check_bits(left.bit_length() * right)
            return left**right
        if operator == "%":
            if isinstance(left, str):
                check_printf(left, right)
            return left % right
        if operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                refuse_size(len(left) + len(right), "`+`")
            return left + right
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length())
            return left * right
        sized = left if isinstance(left, str | list | tuple) else right
        times = right if sized is left else left
        if (
            isinstance(sized, str | list | tuple)
            and isinstance(times, int)
            and (len(sized) * times > MAX_BUILT)
        ):
            raise RunawayTemplate(f"repetition builds more than {MAX_BUILT} items")
        return left * right

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format":
                check_format(fmt, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.check_clock()
        if __self.depth >= MAX_DEPTH:
            raise RunawayTemplate(
                f"calls nested more than {MAX_DEPTH} deep (a macro that calls itself?)"
            )
        check_str_method(__obj, args, kwargs)
        __self.depth += 1
        try:
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            __self.depth -= 1


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise RunawayTemplate(f"a number of more than {MAX_INT_BITS:,} bits")


def make_environment(language: str = "fr") -> PlaybookEnvironment:
    env = PlaybookEnvironment()
    env.filters["num"] = lambda value: "" if value is None else number_text(float(value), language)
    return env


def is_runaway(exc: BaseException) -> bool:
    """Whether a failure is the template's own excess (too long, too big, too deep): such
    a playbook is left out for the rest of the pass, not tried again on other accounts."""
    if isinstance(exc, TemplateFailed):
        return exc.runaway
    return isinstance(exc, RunawayTemplate | MemoryError | RecursionError)


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TemplateFailed):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox ({exc})"
    if isinstance(exc, RecursionError):
        return "calls itself without end (RecursionError)"
    if isinstance(exc, MemoryError):
        return "needed more memory than a playbook may use"
    return f"{type(exc).__name__}: {exc}"
