"""Words the agent writes into the sheet and the digest, in French and English."""

from __future__ import annotations

STATUSES = ("green", "orange", "red")  # the three colours of an account, worst last

# The fill of a status cell, as a spreadsheet's RGB hex (Excel, LibreOffice).
STATUS_FILLS = {"green": "C6EFCE", "orange": "FFE4B5", "red": "FFC7CE"}

# The shade of the agent's columns (and of a blank score cell), apart from every status fill.
AGENT_FILL = "EEF2F7"

# The note on each agent column's header, and how wide "why" and the next action are shown
# (their text wraps): about 45 characters a line at 1366 px, both beside the key.
AGENT_NOTE = {
    "fr": "Colonne écrite par l'agent à chaque passage : ce qui y est tapé sera remplacé.",
    "en": "Written by the agent on every pass: anything typed here will be replaced.",
}
WRAPPED_WIDTH = 320
# The title of the filter view the agent keeps for each CSM on Google.
# a person has the workbook open: the pass writes nothing, and says so (sync, status, digest)
WORKBOOK_OPEN = {
    "fr": (
        "{file} est ouvert dans {program} ({by}depuis le {since:%d/%m à %H:%M}) : "
        "les scores seront écrits à sa fermeture"
    ),
    "en": (
        "{file} is open in {program} ({by}since {since:%Y-%m-%d %H:%M}): "
        "scores will be written when it is closed"
    ),
}
WORKBOOK_OPEN_BY = {"fr": "par {who}, ", "en": "by {who}, "}
OWNER_VIEW = {"fr": "Comptes de {owner}", "en": "{owner}'s accounts"}

STATUS_LABELS: dict[str, dict[str, str]] = {
    "fr": {"green": "En bonne santé", "orange": "À surveiller", "red": "À risque"},
    "en": {"green": "Healthy", "orange": "Watch", "red": "At risk"},
}

# Every status word the agent may have written, in any language: a rule on one is the agent's.
KNOWN_STATUS_LABELS = frozenset(word for words in STATUS_LABELS.values() for word in words.values())


def fill_rgb(status: str) -> tuple[float, float, float]:
    """A status fill as Google's 0-1 RGB, to three decimals (as the agent has always written it)."""
    return hex_rgb(STATUS_FILLS[status])


def hex_rgb(hex_: str) -> tuple[float, float, float]:
    """A spreadsheet's RGB hex as Google's 0-1 RGB, to three decimals."""
    red, green, blue = (round(int(hex_[i : i + 2], 16) / 255, 3) for i in (0, 2, 4))
    return red, green, blue


WHY: dict[str, dict[str, str]] = {
    "fr": {
        "all_max": "Tous les critères au maximum",
        "unknown": "{column} : « {value} » non reconnu",
        "blank": "à remplir : {columns}",
        "nothing": "Aucun critère renseigné : pas de score",
        "no_score": "pas de score",
        "duplicate": "Clé « {key} » en double ({n} lignes) : pas de score, gardez une seule ligne",
        "no_column": "colonne « {column} » absente",
        "uncomputed": (
            "la colonne « {column} » contient une formule sans valeur calculée : "
            "ouvrez et enregistrez le fichier"
        ),
        "key_too_long": (
            "Clé de {n} caractères, plus qu'une cellule n'en garde (32 767) : pas de score, "
            "raccourcissez-la"
        ),
        "text_cleaned": "caractères de contrôle retirés de la prochaine action",
        "separator": " · ",
    },
    "en": {
        "all_max": "Every criterion at its best",
        "unknown": '{column}: "{value}" not recognised',
        "blank": "to fill in: {columns}",
        "nothing": "No criterion filled in: no score",
        "no_score": "no score",
        "duplicate": 'Key "{key}" appears on {n} rows: no score, keep a single row',
        "no_column": 'column "{column}" missing',
        "uncomputed": (
            'column "{column}" holds a formula with no computed value: open the file and save it'
        ),
        "key_too_long": (
            "Key of {n} characters, more than a cell keeps (32,767): no score, shorten it"
        ),
        "text_cleaned": "control characters removed from the next action",
        "separator": " · ",
    },
}


def number_text(value: float, language: str) -> str:
    """Show a number as a person reads it: 6 not 6.0, and 6,5 in French."""
    if value != value:  # NaN
        return ""
    rounded = round(value, 1)
    text = str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"
    return text.replace(".", ",") if language == "fr" else text


DAY_NAMES = {  # a day as a sentence of the agent shows it: "lun. 07/12", "Mon 07/12"
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def day_name(weekday: int, language: str) -> str:
    """The short name of a day (Monday is 0) in the team's language."""
    return DAY_NAMES.get(language, DAY_NAMES["en"])[weekday]
