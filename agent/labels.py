"""Words the agent writes into the sheet and the digest, in French and English."""

from __future__ import annotations

STATUS_LABELS: dict[str, dict[str, str]] = {
    "fr": {"green": "En bonne santé", "orange": "À surveiller", "red": "À risque"},
    "en": {"green": "Healthy", "orange": "Watch", "red": "At risk"},
}

WHY: dict[str, dict[str, str]] = {
    "fr": {
        "all_max": "Tous les critères au maximum",
        "unknown": "{label} : « {value} » non reconnu",
        "blank_one": "1 critère vide",
        "blank_many": "{n} critères vides",
        "nothing": "Aucun critère renseigné : pas de score",
        "no_score": "pas de score",
        "duplicate": "Clé « {key} » en double ({n} lignes) : pas de score, gardez une seule ligne",
        "no_column": "colonne « {column} » absente",
        "separator": " · ",
    },
    "en": {
        "all_max": "Every criterion at its best",
        "unknown": '{label}: "{value}" not recognised',
        "blank_one": "1 blank criterion",
        "blank_many": "{n} blank criteria",
        "nothing": "No criterion filled in: no score",
        "no_score": "no score",
        "duplicate": 'Key "{key}" appears on {n} rows: no score, keep a single row',
        "no_column": 'column "{column}" missing',
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
