"""Scoring rules of SPEC §5, each shown on the seed grid or a small model."""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.cells import cell_text, distinct_cells, each_distinct, key_text_list, parse_number
from agent.config import ConfigContext, parse_model
from agent.errors import ConfigError
from agent.scoring import Model, score_accounts

SEED_COLUMNS = [
    "Utilisation hebdomadaire",
    "Réactivité aux relances",
    "Feedback client",
    "Adoption des nouveautés",
]
TOP = ["Active 5 jours sur 7", "Rapide et engagé", "Positif ou neutre", "Test actif"]
MID = ["Usage sporadique", "Réponses occasionnelles", "Quelques tensions", "Stagnation"]
LOW = ["Inactif", "Silence prolongé", "Plainte ou friction claire", "Régression"]


def model_from(text: str) -> Model:
    return parse_model(ConfigContext(Path("test.toml")), tomllib.loads(text)["model"])


def frame(rows: list[list[object]], columns: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns or ["Client", *SEED_COLUMNS], dtype=object)


def score(rows, model, columns=None, language="fr", today=None) -> pd.DataFrame:
    return score_accounts(
        frame(rows, columns), model, key_column="Client", language=language, today=today
    )


@pytest.fixture
def seed(seed_config) -> Model:
    return seed_config.model


def test_seed_grid_score_is_the_sum_of_points(seed):
    rows = [
        ["all top", *TOP],
        ["all mid", *MID],
        ["all low", *LOW],
        ["friction", TOP[0], TOP[1], LOW[2], TOP[3]],
        ["plateau", TOP[0], TOP[1], MID[2], MID[3]],
    ]
    result = score(rows, seed)
    assert result["shown"].tolist() == [8, 4, 0, 6, 6]
    assert result["status"].tolist() == ["green", "orange", "red", "green", "green"]
    assert result["status_label"].tolist()[:3] == ["En bonne santé", "À surveiller", "À risque"]


@pytest.mark.parametrize(
    ("total", "status"),
    [(8, "green"), (6, "green"), (5, "orange"), (3, "orange"), (2, "red"), (0, "red")],
)
def test_seed_thresholds_6_8_green_3_5_orange_0_2_red(seed, total, status):
    values = []
    remaining = total
    for i in range(4):
        pts = min(2, remaining)
        remaining -= pts
        values.append({2: TOP, 1: MID, 0: LOW}[pts][i])
    result = score([["x", *values]], seed)
    assert result["shown"].iloc[0] == total
    assert result["status"].iloc[0] == status


def test_why_names_the_criteria_below_their_best(seed):
    result = score([["x", TOP[0], TOP[1], LOW[2], MID[3]]], seed)
    assert result["why"].iloc[0] == "Feedback 0/2 (plainte ou friction claire) · Adoption 1/2"


def test_why_in_english(seed):
    result = score([["x", *TOP]], seed, language="en")
    assert result["why"].iloc[0] == "Every criterion at its best"
    assert result["status_label"].iloc[0] == "Healthy"


@pytest.mark.parametrize(
    "typed",
    [
        "  usage SPORADIQUE ",
        "USAGE   sporadique",
        unicodedata.normalize("NFD", "Usage sporadique"),
    ],
)
def test_labels_match_after_trim_casefold_and_spaces(seed, typed):
    result = score([["x", typed, *TOP[1:]]], seed)
    assert result["points.usage"].iloc[0] == 1


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_accented_labels_match_in_nfc_and_nfd(seed, form):
    typed = unicodedata.normalize(form, "RÉGRESSION")
    result = score([["x", *TOP[:3], typed]], seed)
    assert result["points.adoption"].iloc[0] == 0
    assert "non reconnu" not in result["why"].iloc[0]


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("3,5", 3.5),
        ("3.5", 3.5),
        ("80 %", 80.0),
        ("80%", 80.0),
        (7, 7.0),
        ("1 234", 1234.0),
        ("80\u00a0%", 80.0),
        ("abc", None),
        ("", None),
        (True, None),
        ("3,5,1", None),
    ],
)
def test_number_parsing(cell, number):
    assert parse_number(cell) == number


NPS = """
[model]
scale = 10
thresholds = { green = 7, orange = 4 }
[[model.criteria]]
id = "nps"
column = "NPS"
bands = [ { min = 9, points = 2 }, { min = 7, points = 1 }, { min = 0, points = 0 } ]
[[model.criteria]]
id = "adoption"
column = "Adoption"
bands = [ { min = 70, points = 2 }, { min = 30, points = 1 }, { min = 0, points = 0 } ]
"""


@pytest.mark.parametrize(
    ("nps", "adoption", "expected"),
    [("9,5", "80 %", 10), ("7", "80%", 7.5), (8.0, "30", 5), ("3,5", "29,9 %", 0)],
)
def test_bands_on_numbers_with_decimal_comma_and_percent(nps, adoption, expected):
    result = score([["x", nps, adoption]], model_from(NPS), columns=["Client", "NPS", "Adoption"])
    assert result["shown"].iloc[0] == expected


def test_text_in_a_numeric_column_counts_as_missing_and_why_says_so():
    result = score(
        [["x", "très content", "80 %"]], model_from(NPS), columns=["Client", "NPS", "Adoption"]
    )
    assert result["points.nps"].isna().iloc[0]
    assert result["shown"].iloc[0] == 10  # renormalised on adoption alone
    assert "NPS : « très content » non reconnu" in result["why"].iloc[0]


WEIGHTED = """
[model]
scale = {scale}
missing = "{missing}"
thresholds = {{ green = {green}, orange = {orange} }}
[[model.criteria]]
id = "a"
column = "A"
weight = 3
points = {{ "yes" = 2, "no" = 0 }}
[[model.criteria]]
id = "b"
column = "B"
weight = 1
points = {{ "yes" = 2, "half" = 1, "no" = 0 }}
"""


@pytest.mark.parametrize(
    ("scale", "green", "orange", "a", "b", "expected"),
    [
        (8, 6, 3, "yes", "no", 6),  # 8 * 6/8
        (10, 7, 4, "yes", "half", 8.8),  # 10 * 7/8 = 8.75 -> shown 8.8
        (100, 70, 40, "no", "yes", 25),  # 100 * 2/8
        (100, 70, 40, "yes", "half", 87.5),
    ],
)
def test_weights_with_scale_8_10_and_100(scale, green, orange, a, b, expected):
    model = model_from(
        WEIGHTED.format(scale=scale, missing="renormalize", green=green, orange=orange)
    )
    result = score([["x", a, b]], model, columns=["Client", "A", "B"])
    assert result["shown"].iloc[0] == expected


def test_renormalize_drops_a_blank_criterion_and_zero_counts_it_as_nought():
    rows = [["x", "yes", None]]
    renorm = model_from(WEIGHTED.format(scale=10, missing="renormalize", green=7, orange=4))
    zero = model_from(WEIGHTED.format(scale=10, missing="zero", green=7, orange=4))
    assert score(rows, renorm, columns=["Client", "A", "B"])["shown"].iloc[0] == 10
    assert score(rows, zero, columns=["Client", "A", "B"])["shown"].iloc[0] == 7.5
    assert score(rows, renorm, columns=["Client", "A", "B"])["why"].iloc[0] == "à remplir : B"


def test_unknown_label_counts_as_missing_and_is_named_in_why(seed):
    result = score([["x", "Super actif", *TOP[1:]]], seed)
    assert result["points.usage"].isna().iloc[0]
    assert result["shown"].iloc[0] == 8
    assert result["why"].iloc[0] == "Utilisation hebdomadaire : « Super actif » non reconnu"


def test_status_is_decided_on_the_shown_rounded_score():
    # 10 * 23/40 = 5.75 -> shown 5.8; green threshold 5.8 must make it green
    text = """
[model]
scale = 10
thresholds = { green = 5.8, orange = 3 }
[[model.criteria]]
id = "a"
column = "A"
bands = [ { min = 23, points = 23 }, { min = 0, points = 0 }, { min = 40, points = 40 } ]
"""
    result = score([["x", 23]], model_from(text), columns=["Client", "A"])
    assert result["score"].iloc[0] == pytest.approx(5.75)
    assert result["shown"].iloc[0] == 5.8
    assert result["status"].iloc[0] == "green"


def test_blank_keys_are_skipped(seed):
    result = score([["", *TOP], ["   ", *TOP], [None, *TOP], ["ok", *TOP]], seed)
    assert result["skipped"].tolist() == [True, True, True, False]
    assert result["score"].isna().tolist() == [True, True, True, False]


def test_duplicate_keys_are_flagged_on_every_row_and_get_no_score(seed):
    result = score([["Acme", *TOP], ["Other", *TOP], [" acme ", *TOP], ["Acme", *LOW]], seed)
    dup = result[result["key"] == "Acme"]
    assert len(dup) == 2
    assert dup["score"].isna().all()
    assert all("en double" in w for w in dup["why"])
    assert result["shown"].iloc[1] == 8


def test_days_until_bands_count_days_from_today():
    text = """
[model]
scale = 2
thresholds = { green = 2, orange = 1 }
[[model.criteria]]
id = "renewal"
column = "Renouvellement"
days_until = true
bands = [ { min = 90, points = 2 }, { min = 30, points = 1 }, { min = -100000, points = 0 } ]
"""
    rows = [["far", "2027-06-01"], ["near", dt.date(2027, 1, 10)], ["past", "2026-01-01"]]
    result = score(
        rows, model_from(text), columns=["Client", "Renouvellement"], today=dt.date(2026, 11, 24)
    )
    assert result["points.renewal"].tolist() == [2, 1, 0]


def test_model_version_changes_with_the_model(seed):
    other = model_from(WEIGHTED.format(scale=10, missing="zero", green=7, orange=4))
    assert seed.version() != other.version()
    assert len(seed.version()) == 8


CELLS = st.one_of(
    st.none(),
    st.text(),
    st.text(min_size=1).map(lambda s: "=" + s),
    st.just("x" * 50_000),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.sampled_from(TOP + MID + LOW),
)


@given(st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS, CELLS), min_size=1, max_size=8))
def test_any_cell_content_never_raises_and_bad_values_get_a_note(rows):
    from agent.config import ConfigContext as _  # noqa: F401  (import kept light)
    from tests.conftest import ROOT

    config_text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    model = parse_model(ConfigContext(Path("c.toml")), tomllib.loads(config_text)["model"])
    keyed = [["k" + str(i), *row[1:]] for i, row in enumerate(rows)]
    result = score(keyed, model)
    for i, row in enumerate(keyed):
        why = result["why"].iloc[i]
        assert isinstance(why, str) and len(why) < 600
        assert "\n" not in why
        for criterion, value in zip(model.criteria, row[1:], strict=True):
            blank = value is None or (isinstance(value, float) and value != value)
            if blank or (isinstance(value, str) and not value.strip()):
                continue  # a blank cell is counted in "why", not named
            if pd.isna(result[f"points.{criterion.id}"].iloc[i]):
                assert criterion.label in why  # the unusable cell is named in "why"


def test_texts_worked_out_once_per_distinct_cell_keep_each_cells_own_text():
    calls: list[object] = []

    def text(value: object) -> str:
        calls.append(value)
        return cell_text(value).upper()

    words = ["camille", "hugo", None, "camille", float("nan"), "hugo"] * 1000
    assert each_distinct(words, text) == ["CAMILLE", "HUGO", "", "CAMILLE", "", "HUGO"] * 1000
    assert calls == ["camille", "hugo"]
    # 1, 1.0 and True are equal as dict keys, not as the text a person reads
    mixed = [1, 1.0, True, "1", None, 1]
    assert each_distinct(mixed, cell_text, blank="-") == [
        cell_text(1),
        cell_text(1.0),
        cell_text(True),
        "1",
        "-",
        cell_text(1),
    ]
    assert cell_text(True) != cell_text(1)


CHECKBOX = """
[model]
scale = 10
thresholds = { green = 7, orange = 4 }
[[model.criteria]]
id = "signed"
column = "Signé"
points = { "TRUE" = 2, "FALSE" = 0 }
[[model.criteria]]
id = "nps"
column = "NPS"
bands = [ { min = 9, points = 2 }, { min = 1, points = 1 }, { min = 0, points = 0 } ]
"""


def test_a_checkbox_and_a_number_in_one_column_are_each_scored_as_what_they_are():
    # TRUE equals 1 and FALSE equals 0 as dict keys: each must still be read as itself
    rows = [["a", True, True], ["b", 1, 1], ["c", False, 0], ["d", 0, False]]
    result = score(rows, model_from(CHECKBOX), columns=["Client", "Signé", "NPS"])
    signed, nps = result["points.signed"].tolist(), result["points.nps"].tolist()
    assert signed[0] == 2 and pd.isna(signed[1]) and signed[2] == 0 and pd.isna(signed[3])
    assert pd.isna(nps[0]) and nps[1] == 1 and nps[2] == 0 and pd.isna(nps[3])
    why = result["why"].tolist()
    assert "« 1 » non reconnu" in why[1] and "« TRUE »" not in why[1]
    assert "« FALSE » non reconnu" in why[3] and "« 0 » non reconnu" in why[3]


CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([0.0, 1.0, 1.5, float("nan")]),
    st.sampled_from(["", "1", "TRUE", "Rare", " rare "]),
)


@given(st.lists(CELLS, max_size=30))
def test_cells_sharing_a_code_read_as_the_same_text(cells):
    codes, firsts = distinct_cells(cells)
    for cell, code in zip(cells, codes.tolist(), strict=True):
        if cell is None or cell != cell:
            assert code == -1
        else:
            assert cell_text(firsts[code]) == cell_text(cell), (cell, firsts[code])


PROFILE_CELLS = st.sampled_from([None, "", 1, 1.0, True, " rare ", TOP[0], f" {TOP[0]}", LOW[0]])


@given(st.lists(st.lists(PROFILE_CELLS, min_size=4, max_size=4), min_size=1, max_size=12))
def test_rows_sharing_a_profile_read_alike_and_like_rows_share_one(rows):
    # the playbooks' criteria lists are built once per profile: a shared profile must
    # mean the same cell texts and the same points; the very same cells, the same profile
    from tests.conftest import ROOT

    config_text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    model = parse_model(ConfigContext(Path("c.toml")), tomllib.loads(config_text)["model"])
    rows = [*rows, *rows[:3]]  # some rows twice over
    result = score([[f"k{i}", *row] for i, row in enumerate(rows)], model)
    profiles = result["profile"].tolist()
    points = result[[f"points.{c.id}" for c in model.criteria]].to_numpy(dtype=float)
    texts = [tuple("" if v is None else cell_text(v) for v in row) for row in rows]
    typed = [tuple((type(v), v) for v in row) for row in rows]
    for i in range(len(rows)):
        for j in range(len(rows)):
            if profiles[i] == profiles[j]:
                assert texts[i] == texts[j], (rows[i], rows[j])
                assert pd.Series(points[i]).equals(pd.Series(points[j]))
            if typed[i] == typed[j]:
                assert profiles[i] == profiles[j], (rows[i], rows[j])


SPACED = st.sampled_from(["a", "é", " ", "\t", "\n", "\u00a0", "\u2028", "\x01"])


def test_every_kind_of_space_but_the_plain_one_is_unprintable() -> None:
    # why `key_text_list` may keep a printable text with single inner spaces as it is
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert " " in spaces and len(spaces) > 20
    assert [c for c in spaces if c.isprintable()] == [" "]


@given(
    st.lists(
        st.one_of(
            st.text(alphabet=SPACED),
            st.text(),
            st.integers(),
            st.floats(allow_nan=False),
            st.booleans(),
            st.none(),
        )
    )
)
def test_key_texts_are_trimmed_with_inner_spaces_collapsed(values: list[object]) -> None:
    expected = [" ".join((v if isinstance(v, str) else cell_text(v)).split()) for v in values]
    assert key_text_list(values) == expected


def test_why_names_each_blank_criterion_by_its_column(seed):
    rows = [["two blank", TOP[0], None, "  ", MID[3]], ["one blank", TOP[0], TOP[1], TOP[2], ""]]
    fr = score(rows, seed)["why"].tolist()
    assert fr[0] == "Adoption 1/2 · à remplir : Réactivité aux relances, Feedback client"
    assert fr[1] == "à remplir : Adoption des nouveautés"
    en = score(rows, seed, language="en")["why"].tolist()
    assert en[1] == "to fill in: Adoption des nouveautés"


def test_why_names_an_unrecognised_value_by_its_column(seed):
    why = score([["x", "Super actif", *TOP[1:]]], seed)["why"].iloc[0]
    assert why == "Utilisation hebdomadaire : « Super actif » non reconnu"


@pytest.mark.parametrize(
    ("language", "cell", "shown"),
    [("fr", "20", "Adoption 0/2 (20\u00a0%)"), ("en", "20 %", "Adoption 0/2 (20%)")],
)
def test_a_number_in_why_carries_its_unit(language, cell, shown):
    model = model_from(
        NPS.replace(
            'id = "adoption"\ncolumn = "Adoption"\n',
            'id = "adoption"\ncolumn = "Adoption"\nlabel = "Adoption"\nunit = "%"\n',
        )
    )
    why = score([["x", "9", cell]], model, columns=["Client", "NPS", "Adoption"], language=language)
    assert why["why"].iloc[0] == shown


@pytest.mark.parametrize(
    ("language", "typed", "as_text", "shown"),
    [("fr", 3.5, "3,5", "(3,5)"), ("en", 3.5, "3.5", "(3.5)"), ("fr", 6.25, "6,25", "(6,25)")],
)
def test_a_typed_number_in_why_reads_as_the_csm_typed_it(language, typed, as_text, shown):
    """Google and a workbook hand a typed 3,5 out as the number 3.5: "why" quotes it the way
    the sheet's language writes it, as it quotes the same value typed as text."""
    columns = ["Client", "NPS", "Adoption"]
    rows = [["x", typed, "80"], ["y", as_text, "80"]]
    why = score(rows, model_from(NPS), columns=columns, language=language)["why"]
    assert why.iloc[0].startswith("NPS 0/2 ") and why.iloc[0].endswith(shown)
    assert why.iloc[0] == why.iloc[1]


def test_a_date_in_why_reads_in_the_sheets_language():
    model = model_from(
        "[model]\nscale = 2\nthresholds = { green = 2, orange = 1 }\n[[model.criteria]]\n"
        'id = "renewal"\ncolumn = "Renouvellement"\nlabel = "Renouvellement"\n'
        "days_until = true\nbands = [ { min = 60, points = 2 }, { min = 0, points = 0 } ]\n"
    )
    today = dt.date(2026, 12, 1)
    for language, shown in (("fr", "(20/12/2026)"), ("en", "(2026-12-20)")):
        why = score(
            [["x", dt.date(2026, 12, 20)]],
            model,
            columns=["Client", "Renouvellement"],
            language=language,
            today=today,
        )["why"]
        assert why.iloc[0].endswith(shown), why.iloc[0]


def test_a_unit_on_a_labels_criterion_is_refused_at_load():
    text = NPS.replace('column = "NPS"\n', 'column = "NPS"\nunit = "%"\n').replace(
        "bands = [ { min = 9", 'points = { "Oui" = 2 }\n#', 1
    )
    with pytest.raises(ConfigError, match=r"model\.criteria\[0\]\.unit"):
        model_from(text)
