"""Ukrainian and Russian time words rewritten as the English ones `dates` reads; pure.

"цього тижня" and "на прошлой неделе" become "this week" and "last week", "у березні 2025"
"in March 2025", "вчера" "yesterday": one set of date rules serves every language.
"""

from __future__ import annotations

import re

_MONTH_STEMS = (
    ("January", "січ", "январ"),
    ("February", "лют", "феврал"),
    ("March", "берез", "март"),
    ("April", "квіт", "апрел"),
    ("May", "трав", "ма"),
    ("June", "черв", "июн"),
    ("July", "лип", "июл"),
    ("August", "серп", "август"),
    ("September", "верес", "сентябр"),
    ("October", "жовт", "октябр"),
    ("November", "листопад", "ноябр"),
    ("December", "груд", "декабр"),
)
# Endings of a month's name: nominative, genitive ("5 березня") and locative ("у березні").
_UK_ENDINGS = "(?:ень|ня|ні|ий|ого|ому|і|а)?"
_RU_ENDINGS = "(?:ь|я|е|а|й)?"


def _month_pattern() -> re.Pattern[str]:
    names = []
    for number, (_, uk, ru) in enumerate(_MONTH_STEMS, start=1):
        ru_part = "ма[йяе]" if ru == "ма" else ru + _RU_ENDINGS
        names.append(rf"(?P<m{number}>{uk}{_UK_ENDINGS}|{ru_part})")
    return re.compile(
        r"(?P<lead>\b(?:у|в|во|на початку|в начале|наприкінці|в конце)\s+)?"
        r"(?:\b(?P<day>\d{1,2})\s+)?\b(?:" + "|".join(names) + r")\b"
        r"(?:\s+(?P<year>(?:19|20)\d\d)\b)?(?:\s+(?:року|р\.|года|г\.))?",
        re.IGNORECASE,
    )


_MONTHS = _month_pattern()
_PHRASES = (
    (r"\b(сьогодні|сегодня|цього ранку|этим утром|сьогодні вранці|сегодня утром)\b", "today"),
    (r"\b(вчора|вчера|минулої ночі|прошлой ночью)\b", "yesterday"),
    (r"\b(на цих вихідних|в эти выходные|цими вихідними)\b", "this weekend"),
    (r"\b(цього тижня|на цьому тижні|на этой неделе)\b", "this week"),
    (
        r"\b(минулого тижня|на минулому тижні|минулий тиждень|на прошлой неделе|"
        r"на минувшей неделе|прошлой неделе)\b",
        "last week",
    ),
    (r"\b(цього місяця|в цьому місяці|у цьому місяці|в этом месяце)\b", "this month"),
    (r"\b(минулого місяця|в минулому місяці|у минулому місяці|в прошлом месяце)\b", "last month"),
    (r"\b(цього року|в цьому році|у цьому році|цьогоріч|в этом году)\b", "this year"),
    (r"\b(минулого року|в минулому році|у минулому році|торік|в прошлом году)\b", "last year"),
    (
        r"\b(нещодавно|останнім часом|недавно|в последнее время|последн\w+|останн\w+)\b",
        "recently",
    ),
)
_YEAR = re.compile(r"\b(?:у|в)\s+((?:19|20)\d\d)(?:\s+(?:році|року|р\.|году|г\.))?", re.I)
_COUNT = r"(\d+|один|одна|одну|два|дві|две|три|чотири|четыре|кілька|несколько)"
_UNIT = r"(дн\w*|день|тиж\w*|недел\w*|місяц\w*|месяц\w*|рок\w*|рік|лет|год\w*)"
_AGO = re.compile(rf"\b{_COUNT}\s+{_UNIT}\s+(тому|назад)\b", re.IGNORECASE)
_PAST = re.compile(rf"\bза\s+(останні|последние)\s+{_COUNT}\s+{_UNIT}", re.IGNORECASE)
_NUMBERS = {"один": "1", "одна": "1", "одну": "1", "два": "2", "дві": "2", "две": "2"}
_NUMBERS |= {"три": "3", "чотири": "4", "четыре": "4", "кілька": "few", "несколько": "few"}


def _unit(word: str) -> str:
    stem = word.lower()
    if stem.startswith(("дн", "день")):
        return "days"
    if stem.startswith(("тиж", "недел")):
        return "weeks"
    if stem.startswith(("місяц", "месяц")):
        return "months"
    return "years"


def _month(found: re.Match[str]) -> str:
    number = next(n for n in range(1, 13) if found.group(f"m{n}"))
    name = _MONTH_STEMS[number - 1][0]
    day, year = found.group("day"), found.group("year")
    lead = "in " if found.group("lead") and not day else ""
    return lead + name + (f" {day}" if day else "") + (f", {year}" if year else "")


def _count(word: str) -> str:
    return _NUMBERS.get(word.lower(), word)


def english_time_words(question: str) -> str:
    """The question with its Ukrainian and Russian time words in English."""
    text = _PAST.sub(lambda m: f"past {_count(m.group(2))} {_unit(m.group(3))}", question)
    text = _AGO.sub(lambda m: f"{_count(m.group(1))} {_unit(m.group(2))} ago", text)
    for pattern, english in _PHRASES:
        text = re.sub(pattern, english, text, flags=re.IGNORECASE)
    text = _MONTHS.sub(_month, text)
    return _YEAR.sub(lambda m: f"in {m.group(1)}", text)
