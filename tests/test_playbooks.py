"""Playbooks: the shipped scenarios, the sandbox, `playbooks check`, and real passes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.cli import main
from agent.errors import PlaybookError
from agent.playbooks import lint_playbooks, load_playbooks
from agent.playbooks.choose import cut_to_cell, one_line
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.conftest import ROOT
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

CRITERIA = [
    ("usage", "Utilisation"),
    ("responsiveness", "Réactivité"),
    ("feedback", "Feedback"),
    ("adoption", "Adoption"),
]


def account(points: list[float | None], **extra: Any) -> dict[str, Any]:
    """A hand-built playbook context on the seed grid (scale 8)."""
    criteria = [
        {"id": i, "label": label, "points": p, "max": 2.0, "value": "x"}
        for (i, label), p in zip(CRITERIA, points, strict=True)
    ]
    filled = [p for p in points if p is not None]
    score = 8 * sum(filled) / (2 * len(filled)) if filled else None
    status = None if score is None else "green" if score >= 6 else "orange" if score >= 3 else "red"
    context = {
        "key": "Acme",
        "owner": "Camille",
        "segment": "PME",
        "score": score,
        "scale": 8.0,
        "status": status,
        "status_label": "",
        "language": "fr",
        "row": {},
        "criteria": criteria,
        "zeros": [c for c in criteria if c["points"] == 0],
        "ones": [c for c in criteria if c["points"] == 1],
        "maxed": [c for c in criteria if c["points"] == 2],
        "missing": [c for c in criteria if c["points"] is None],
        "delta_4w": None,
        "weeks_at_max": 0,
        "weeks": [],
        "days_to_renewal": None,
    }
    context.update(extra)
    return context


@pytest.fixture(params=["fr", "en"])
def shipped(request):
    return request.param, load_playbooks(ROOT / "playbooks" / request.param)


def winner(playbooks, context) -> str | None:
    return playbooks.choose([context]).matched_by[0]


NAMES = {
    "fr": {
        "risk": "a-risque.md",
        "declining": "en-baisse.md",
        "friction": "point-de-friction.md",
        "ambassador": "ambassadeur.md",
        "plateau": "plateau.md",
        "healthy": "en-bonne-sante.md",
    },
    "en": {
        "risk": "at-risk.md",
        "declining": "declining.md",
        "friction": "friction.md",
        "ambassador": "ambassador.md",
        "plateau": "plateau.md",
        "healthy": "healthy.md",
    },
}


def test_friction_names_the_zero_criterion(shipped):
    lang, playbooks = shipped
    context = account([2, 2, 0, 2])
    assert winner(playbooks, context) == NAMES[lang]["friction"]
    assert "Feedback" in playbooks.choose([context]).actions[0]


def test_at_risk_beats_everything(shipped):
    lang, playbooks = shipped
    context = account([0, 0, 1, 1], delta_4w=-4.0, weeks_at_max=0)
    assert winner(playbooks, context) == NAMES[lang]["risk"]
    assert "Acme" in playbooks.choose([context]).actions[0]


@pytest.mark.parametrize(("delta", "expected"), [(-2.0, "declining"), (-1.0, "healthy")])
def test_declining_from_a_drop_of_two_over_four_weeks(shipped, delta, expected):
    lang, playbooks = shipped
    assert winner(playbooks, account([2, 2, 1, 2], delta_4w=delta)) == NAMES[lang][expected]


@pytest.mark.parametrize(("weeks", "expected"), [(13, "ambassador"), (12, "healthy")])
def test_ambassador_after_thirteen_weeks_at_the_top(shipped, weeks, expected):
    lang, playbooks = shipped
    assert winner(playbooks, account([2, 2, 2, 2], weeks_at_max=weeks)) == NAMES[lang][expected]


def test_plateau_for_a_stable_middle_score(shipped):
    lang, playbooks = shipped
    context = account([2, 2, 1, 1], delta_4w=0.0)
    context["status"] = "orange"  # 6/8 would be green; a stricter grid makes it orange
    assert winner(playbooks, context) == NAMES[lang]["plateau"]


def test_healthy_mentions_a_near_renewal(shipped):
    lang, playbooks = shipped
    text = playbooks.choose([account([2, 2, 1, 2], days_to_renewal=45)]).actions[0]
    assert "45" in text


def test_scores_print_as_a_person_reads_them():
    playbooks = load_playbooks(ROOT / "playbooks" / "fr")
    context = account([1, 0, 1, None])
    assert context["score"] == pytest.approx(2.6666, abs=1e-3)
    context["score"] = 2.7
    assert "2,7/8" in playbooks.choose([context]).actions[0]


# --- the sandbox -----------------------------------------------------------------------


def write_playbook(folder: Path, name: str, when: str, body: str, priority: int = 50) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        f'+++\nname = "{name}"\npriority = {priority}\nwhen = "{when}"\n+++\n{body}\n',
        encoding="utf-8",
    )


ESCAPES = {
    "class.md": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "attr.md": "{{ key|attr('__class__') }}",
    "format.md": "{{ '{0.__class__.__init__.__globals__}'.format(key) }}",
    "loop.md": "{% for i in range(10**9) %}{{ i }}{% endfor %}",
    "nested.md": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "huge.md": "{{ 'x' * 10**8 }}",
    "megabytes.md": "{% for i in range(90000) %}{{ key * 50 }}{% endfor %}",
    "power.md": "{{ 2 ** 100000000 }}",
}


def test_escape_attempts_are_refused_or_cut_and_other_rows_keep_their_actions(tmp_path):
    folder = tmp_path / "fr"
    for name, body in ESCAPES.items():
        write_playbook(folder, name, "key == '" + name + "'", body, priority=90)
    write_playbook(folder, "fine.md", "status == 'green'", "Tout va bien pour {{ key }}.", 10)
    playbooks = load_playbooks(folder)
    contexts = [account([2, 2, 2, 2], key=name) for name in ESCAPES]
    contexts.append(account([2, 2, 2, 2], key="Acme"))
    started = dt.datetime.now()
    choice = playbooks.choose(contexts)
    assert (dt.datetime.now() - started).total_seconds() < 20
    by_key = dict(zip([c["key"] for c in contexts], choice.actions, strict=True))
    assert by_key["Acme"] == "Tout va bien pour Acme."
    reported = {f.split(":")[0] for f in choice.failures}
    for name in ("class.md", "attr.md", "format.md", "huge.md", "power.md", "nested.md"):
        assert name in reported, name
        # a refused playbook leaves the account to the next one that matches
        assert by_key[name] == f"Tout va bien pour {name}.", name
    for name in ESCAPES:
        action = by_key[name]
        assert "__" not in action and "globals" not in action
        assert len(action) <= 500
    assert by_key["megabytes.md"] == "" or len(by_key["megabytes.md"]) <= 500


def test_a_failure_is_reported_once_per_pass(tmp_path):
    folder = tmp_path / "fr"
    write_playbook(folder, "broken.md", "status == 'green'", "{{ zeros[0].label }}")
    playbooks = load_playbooks(folder)
    choice = playbooks.choose([account([2, 2, 2, 2], key=f"k{i}") for i in range(5)])
    assert choice.actions == [""] * 5
    assert len(choice.failures) == 1 and choice.failures[0].startswith("broken.md")


def test_conditions_are_compiled_once_per_pass(tmp_path):
    folder = tmp_path / "fr"
    write_playbook(folder, "a.md", "status == 'green'", "ok")
    playbooks = load_playbooks(folder)
    playbooks.in_worker = False  # counted in this process
    compiled = playbooks.playbooks[0].when
    calls = {"n": 0}
    original = playbooks.env.compile_expression

    def counting(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    playbooks.env.compile_expression = counting  # type: ignore[method-assign]
    playbooks.choose([account([2, 2, 2, i % 3]) for i in range(300)])
    assert calls["n"] == 0
    assert playbooks.playbooks[0].when is compiled


def test_a_body_is_rendered_once_per_distinct_set_of_the_values_it_reads(tmp_path):
    folder = tmp_path / "fr"
    write_playbook(folder, "owner.md", "status == 'green'", "Voir {{ owner }} ({{ row.Plan }})")
    write_playbook(folder, "key.md", "status == 'red'", "Appeler {{ key }}", priority=60)
    playbooks = load_playbooks(folder)
    assert playbooks.names_read == {"status", "owner", "row", "key"}
    playbooks.in_worker = False  # renders counted in this process
    renders = {"n": 0}
    original = playbooks.body_text

    def counting(playbook, context):
        renders["n"] += 1
        return original(playbook, context)

    playbooks.body_text = counting  # type: ignore[method-assign]
    green = [
        account([2, 2, 2, 2], key=f"Vert {i}", owner=["Camille", "Hugo"][i % 2],
                row={"Plan": "Pro"}, segment=f"S{i}")
        for i in range(40)
    ]  # fmt: skip
    red = [account([0, 0, 0, 0], key=f"Rouge {i}") for i in range(10)]
    choice = playbooks.choose(green + red)
    # green: two owners, one plan, the rest unread: two renders; red: the key is shown as
    # it is, so one render with a placeholder, each key then put in its place
    assert renders["n"] == 2 + 1
    assert choice.actions[:2] == ["Voir Camille (Pro)", "Voir Hugo (Pro)"]
    assert choice.actions[40:] == [f"Appeler Rouge {i}" for i in range(10)]
    assert len(set(choice.actions[:40])) == 2


KEY_BODIES = {
    "plain.md": "Appeler {{ key }} ({{ owner }}) puis relancer {{ key }}.",
    "filtered.md": "Appeler {{ key|upper }} ({{ key|length }} lettres).",
    "tested.md": "{% if key.startswith('A') %}Priorité {{ key }}{% else %}{{ key }}{% endif %}",
    "block.md": "{% filter upper %}appeler {{ key }}{% endfilter %}",
    "captured.md": "{% set who %}{{ key }}{% endset %}Appeler {{ who|trim }} !",
    "looped.md": "{% for c in zeros %}{{ key }}: {{ c.label }}. {% endfor %}",
}
KEYS = [
    "Acme",
    "  Espaces   et\nretour  ",
    "",
    '=IMPORTXML("http://x","//a")',
    "x" * 1990,
    " " * 1990 + "fin",  # cut while rendering, squeezed to a few letters after
    "Ünïcødé 🚀 {{ owner }}",
    "Deux  espaces",  # trimmed and printable, yet squeezed by a render
    "Insé\u00a0cable",  # a space of another kind: squeezed too
]


@pytest.mark.parametrize("file", sorted(KEY_BODIES))
def test_bodies_naming_the_account_give_the_text_a_render_of_each_account_gives(tmp_path, file):
    folder = tmp_path / "fr"
    write_playbook(folder, file, "true", KEY_BODIES[file])
    playbooks = load_playbooks(folder)
    contexts = [
        account([0, 2, 0, 2], key=key, owner=owner) for key in KEYS for owner in ("Léa", "Hugo")
    ]
    playbook = playbooks.playbooks[0]
    expected = [playbooks.render(playbook, c) for c in contexts]
    assert playbooks.choose(contexts).actions == expected
    assert playbook.key_slots == (file in {"plain.md", "looped.md"})


# --- playbooks check -------------------------------------------------------------------


def test_check_reports_syntax_errors_with_file_and_line_and_unknown_names(tmp_path):
    folder = tmp_path / "fr"
    write_playbook(folder, "ok.md", "status == 'red'", "Appeler {{ key }}.")
    write_playbook(folder, "syntax.md", "status == 'red'", "Ligne une\nLigne {{ deux }")
    write_playbook(folder, "typo.md", "statut == 'red'", "Appeler {{ owner }}.")
    write_playbook(folder, "when.md", "status ==", "x")
    (folder / "toml.md").write_text("+++\nname = \n+++\nx\n", encoding="utf-8")
    (folder / "fence.md").write_text("no front matter here\n", encoding="utf-8")
    report = lint_playbooks(folder, [account([0, 0, 0, 1])])
    text = report.render()
    assert report.has_errors
    assert "syntax.md:7:" in text  # the body's second line is line 7 of the file
    assert "typo.md: unknown name(s) statut" in text
    assert "when.md:4:" in text
    assert "toml.md: front matter is not valid TOML" in text
    assert "fence.md:1:" in text
    assert "ok.md (priority 50" in text and "1 account: Acme" in text


def test_check_flags_a_when_that_is_not_true_or_false(tmp_path):
    folder = tmp_path / "fr"
    write_playbook(folder, "score.md", "score", "x")
    report = lint_playbooks(folder, [account([2, 2, 2, 2])])
    assert report.has_errors
    assert "score.md: `when` must give true or false" in report.render()


def test_playbooks_check_command_shows_matches_on_the_sample(tmp_path, capsys):
    from agent.sheet_templates import init

    init("startup", "fr", tmp_path / "s.xlsx", tmp_path / "c.toml")
    assert main(["playbooks", "check", "-c", str(tmp_path / "c.toml")]) == 0
    out = capsys.readouterr().out
    assert "7 playbooks ok" in out and "a-risque.md (priority 100" in out


def test_a_broken_playbook_folder_stops_sync_with_file_and_line(tmp_path):
    folder = tmp_path / "fr"
    write_playbook(folder, "syntax.md", "status == 'red'", "{% if %}")
    with pytest.raises(PlaybookError, match="syntax.md:6"):
        load_playbooks(folder)


# --- through real passes ------------------------------------------------------------------


def test_ambassador_after_thirteen_real_weekly_passes(seed_config):
    store = MemoryStore(
        HEADER,
        [["Acme", "Camille", "PME", *TOP], ["Boréal", "Hugo", "PME", *MID]],
        key_column="Client",
        history_worksheet="Historique",
    )
    playbooks = load_playbooks(ROOT / "playbooks" / "fr")
    monday = dt.datetime(2026, 8, 31, 9, 0, tzinfo=dt.UTC)
    actions = []
    for week in range(13):
        result = run_pass(
            store, seed_config, now=monday + dt.timedelta(weeks=week), next_actions=playbooks
        )
        actions.append(result.accounts.set_index("key").loc["Acme", "next_action"])
    assert "13 semaines au score maximum" in actions[12]
    assert "semaines au score maximum" not in actions[11]


def test_declining_trend_through_real_passes(seed_config):
    store = MemoryStore(
        HEADER,
        [["Acme", "Camille", "PME", *TOP]],
        key_column="Client",
        history_worksheet="Historique",
    )
    playbooks = load_playbooks(ROOT / "playbooks" / "fr")
    monday = dt.datetime(2026, 9, 7, 9, 0, tzinfo=dt.UTC)
    for week in range(4):
        run_pass(store, seed_config, now=monday + dt.timedelta(weeks=week), next_actions=playbooks)
    store.accounts.rows[0][3:7] = [TOP[0], MID[1], MID[2], TOP[3]]  # 8 -> 6: still green
    result = run_pass(
        store, seed_config, now=monday + dt.timedelta(weeks=4), next_actions=playbooks
    )
    assert result.accounts["next_action"].iloc[0].startswith("Score en baisse de 2 en 4 semaines")


def test_a_playbook_reading_the_sheet_row_gets_it_in_a_real_pass(seed_config, tmp_path):
    store = MemoryStore(
        HEADER,
        [["Acme", "Camille", "PME", *TOP], ["Boréal", "Hugo", "ETI", *TOP]],
        key_column="Client",
        history_worksheet="Historique",
    )
    folder = tmp_path / "fr"
    write_playbook(folder, "row.md", "status == 'green'", "{{ key }}: {{ row.Segment }}")
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    result = run_pass(store, seed_config, now=now, next_actions=load_playbooks(folder))
    assert list(result.accounts["next_action"]) == ["Acme: PME", "Boréal: ETI"]


def test_each_account_sees_its_own_criteria_whatever_its_cells_hold(seed_config, tmp_path):
    # accounts with alike cells share their criteria lists; cells equal as keys but not
    # as text (1, 1.0, True) or blank in different ways must still each show their own
    firsts = [TOP[0], MID[0], 1, 1.0, True, None, "", f"  {LOW[0]}  ", LOW[0], TOP[0]]
    rows = [
        [f"Compte {i}", "Camille", "PME", first, *(MID if i % 2 else TOP)[1:]]
        for i, first in enumerate(firsts)
    ]
    rows[3][5] = None  # one more blank, on another criterion
    store = MemoryStore(HEADER, rows, key_column="Client", history_worksheet="Historique")
    folder = tmp_path / "fr"
    body = (
        "{% for c in criteria %}{{ c.id }}={{ c.value }}/{{ c.points }};{% endfor %}"
        "{{ zeros|length }}{{ ones|length }}{{ maxed|length }}{{ missing|length }}"
    )
    write_playbook(folder, "all.md", "status is not none", body)
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    result = run_pass(store, seed_config, now=now, next_actions=load_playbooks(folder))
    ids = [c.id for c in seed_config.model.criteria]
    for row, (_, account) in zip(rows, result.accounts.iterrows(), strict=True):
        points = [account[f"points.{i}"] for i in ids]
        points = [None if p != p else float(p) for p in points]
        cells = ["" if v is None else "TRUE" if v is True else str(int(v)) if isinstance(
            v, float) else str(v) for v in row[3:]]  # fmt: skip
        shown = "".join(
            f"{i}={cell}/{'None' if p is None else p};"
            for i, cell, p in zip(ids, cells, points, strict=True)
        )
        counts = [
            sum(p == 0 for p in points),
            sum(p == 1 for p in points),
            sum(p is not None and p >= 2 for p in points),
            sum(p is None for p in points),
        ]
        assert account["next_action"] == " ".join((shown + "".join(map(str, counts))).split()), row


def test_formula_like_actions_stay_text_in_the_workbook(tmp_path):
    from openpyxl import load_workbook

    from agent.config import load_config
    from agent.from_config import open_store
    from agent.sheet_templates import init

    init("startup", "fr", tmp_path / "s.xlsx", tmp_path / "c.toml")
    config = load_config(tmp_path / "c.toml")
    folder = tmp_path / "pb"
    write_playbook(folder, "f.md", "true", '=HYPERLINK(\\"http://x\\",\\"{{ key }}\\")')
    config = dataclasses.replace(config, playbooks_dir=folder)
    run_pass(
        open_store(config),
        config,
        now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
        next_actions=load_playbooks(folder),
    )
    ws = load_workbook(tmp_path / "s.xlsx")["Comptes"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("Prochaine action") + 1)
    assert cell.value.startswith("=HYPERLINK(") and cell.data_type == "s"


SLOT = "\x00slot\x00"
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "\u2028", ""])
WORDS = st.sampled_from(["Appeler", "{", "é", "…", "x" * 90, "=1+1"])


@given(
    st.lists(st.one_of(SPACES, WORDS, st.just(SLOT)), max_size=12).map("".join),
    st.lists(st.sampled_from(["Acme", "Boréal", "SA", "x" * 60]), min_size=1, max_size=3).map(
        " ".join
    ),
)
def test_a_trimmed_key_put_in_the_squeezed_text_reads_as_the_text_with_the_key_squeezed(
    text: str, key: str
) -> None:
    # why `choose` squeezes a body's text once, not once per account: for a key with no
    # space to squeeze (a pass's keys are trimmed), both ways give the same next action
    assert cut_to_cell(" ".join(text.split()).replace(SLOT, key)) == one_line(
        text.replace(SLOT, key)
    )
