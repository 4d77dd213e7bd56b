"""`calibrate`'s report in the team's language: the lines the CLI prints."""

from __future__ import annotations

from agent.calibrate import MIN_CHURNS, Calibration, ChurnRate
from agent.labels import STATUS_LABELS, number_text
from agent.scoring import Model

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Le score prédit-il les départs ? (départ dans les {days} jours)",
        "used": "Utilisé : {accounts} comptes · {weeks} semaines · {churned} départs",
        "too_few": "Attention : pas assez de départs ({churned} sur {min}), "
        "ces chiffres ne prouvent rien encore.",
        "no_weeks": "Aucune semaine utilisable : il faut un historique d'au moins {days} jours "
        "et des dates de départ dans la colonne `sheet.churned_column`.",
        "auc": "AUC du score : {auc} (intervalle à 95 % : {low} à {high}). "
        "0,5 = le hasard, 1 = parfait.",
        "auc_none": "AUC du score : non mesurable (il faut des semaines suivies d'un départ "
        "et d'autres non).",
        "bands": "Taux de départ par statut :",
        "scores": "Taux de départ par score :",
        "rate": "{name} : {rate} ({churned} sur {weeks} semaines)",
        "criteria": "Chaque critère seul (AUC) :",
        "weights": "Poids suggérés (régression logistique), à reporter dans chaque "
        "[[model.criteria]] :",
        "weight_line": 'id = "{id}"  weight = {suggested}   # actuel : {weight}',
        "unreadable": "{n} date(s) de départ illisible(s), ces comptes comptent comme "
        "clients : {keys} (écrire 2026-11-30).",
        "separation": "Le seuil qui séparait le mieux : score de {score} ou moins "
        "({caught} des semaines avant un départ, {alarms} des autres).",
    },
    "en": {
        "title": "Does the score predict churn? (a churn within {days} days)",
        "used": "Used: {accounts} accounts · {weeks} weeks · {churned} churns",
        "too_few": "Careful: not enough churns yet ({churned} of {min}), "
        "so these figures prove nothing yet.",
        "no_weeks": "No usable week: this needs at least {days} days of history and churn "
        "dates in the `sheet.churned_column` column.",
        "auc": "AUC of the score: {auc} (95 % interval: {low} to {high}). "
        "0.5 is chance, 1 is perfect.",
        "auc_none": "AUC of the score: cannot be measured (it needs weeks followed by a "
        "churn and weeks not).",
        "bands": "Churn rate by status:",
        "scores": "Churn rate by score:",
        "rate": "{name}: {rate} ({churned} of {weeks} weeks)",
        "criteria": "Each criterion alone (AUC):",
        "weights": "Suggested weights (logistic regression), to set in each [[model.criteria]]:",
        "weight_line": 'id = "{id}"  weight = {suggested}   # now: {weight}',
        "unreadable": "{n} churn date(s) cannot be read, so these accounts count as "
        "customers: {keys} (type 2026-11-30).",
        "separation": "The cut that separated best: a score of {score} or less "
        "({caught} of the weeks before a churn, {alarms} of the others).",
    },
}


def _n(value: float, language: str) -> str:
    """An AUC with two decimals, a decimal comma in French."""
    text = f"{float(value):.2f}"
    return text.replace(".", ",") if language == "fr" else text


def _percent(value: float, language: str) -> str:
    text = number_text(round(100 * value, 1), language)
    return f"{text}\u00a0%" if language == "fr" else f"{text}%"


def too_few_churns(churned: int, language: str) -> str:
    """The sentence that says the figures prove nothing yet."""
    words = WORDS.get(language, WORDS["en"])
    return words["too_few"].format(churned=churned, min=MIN_CHURNS)


def calibration_lines(result: Calibration, model: Model, language: str) -> list[str]:
    """The report `health-agent calibrate` prints, line by line."""
    w = WORDS.get(language, WORDS["en"])
    labels = STATUS_LABELS.get(language, STATUS_LABELS["en"])
    lines = [
        w["title"].format(days=result.horizon_days),
        w["used"].format(accounts=result.accounts, weeks=result.weeks, churned=result.churned),
    ]
    if not result.enough:
        lines.append(too_few_churns(result.churned, language))
    if result.unreadable:
        named = ", ".join(result.unreadable[:10]) + ("…" if len(result.unreadable) > 10 else "")
        lines.append(w["unreadable"].format(n=len(result.unreadable), keys=named))
    if not result.weeks:
        lines.append(w["no_weeks"].format(days=result.horizon_days))
        return lines
    if result.auc is None:
        lines.append(w["auc_none"])
    else:
        low, high = result.auc_low, result.auc_high
        lines.append(
            w["auc"].format(
                auc=_n(result.auc, language),
                low="?" if low is None else _n(low, language),
                high="?" if high is None else _n(high, language),
            )
        )

    def rate_lines(title: str, groups: list[ChurnRate], names: dict[str, str]) -> None:
        lines.append(w[title])
        for g in groups:
            lines.append(
                "  "
                + w["rate"].format(
                    name=names.get(g.name, g.name),
                    rate=_percent(g.rate, language),
                    churned=g.churned,
                    weeks=g.weeks,
                )
            )

    rate_lines("bands", result.bands, labels)
    scale = number_text(model.scale, language)
    shown = {g.name: f"{number_text(float(g.name), language)}/{scale}" for g in result.scores}
    rate_lines("scores", result.scores, shown)
    lines.append(w["criteria"])
    colon = "\u00a0:" if language == "fr" else ":"
    for fit in result.criteria:
        auc = "?" if fit.auc is None else _n(fit.auc, language)
        lines.append(f"  {fit.label} ({fit.id}){colon} {auc}")
    if result.suggested_weights:
        lines.append(w["weights"])
        by_id = {c.id: c for c in result.criteria}
        for c in model.criteria:
            found = by_id.get(c.id)
            if found is None or found.suggested_weight is None:
                continue
            lines.append(
                "  "
                + w["weight_line"].format(
                    id=c.id, suggested=found.suggested_weight, weight=number_text(c.weight, "en")
                )
            )
    sep = result.separation
    if sep is not None:
        lines.append(
            w["separation"].format(
                score=number_text(sep.score, language),
                caught=_percent(sep.caught, language),
                alarms=_percent(sep.false_alarms, language),
            )
        )
    return lines
