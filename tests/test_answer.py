"""Composing answers: each rule of what answers, on a hand-made article where it decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE

from cli.render import answer_text
from index.archive import Archive
from index.embed.sbert import Embedder
from index.records import Article, ArticleDraft, Chunk, Hit
from index.search.answer import compose_answer, select_hits, split_sentences, trim
from index.search.sentences import Question, holds_kind, is_furniture, leans_back
from index.settings import Settings

ARTICLES = [
    ArticleDraft(
        title="Founding documents",
        text="Many readers still ask who wrote the Declaration of Independence. "
        "Thomas Jefferson drafted the text in June 1776, in a rented room in Philadelphia. "
        "The Declaration of Independence lists grievances against the king of Britain.",
    ),
    ArticleDraft(
        title="Met Gala live updates",
        text="What is the dress code for the Met Gala this year? "
        "Guests were asked to dress in the theme Garden of Time, with gowns of silk flowers. "
        "The Met Gala raises money for the museum's Costume Institute.",
    ),
    ArticleDraft(
        title="Stroller recall",
        text="Read more about the recall of the baby strollers sold on Amazon here. "
        "Regulators recalled 40,000 Bramble strollers because the frame can fold while in use. "
        "Parents should stop using them at once, the safety commission said.",
    ),
    ArticleDraft(
        title="Volcano on Skerra island",
        text="The evacuation of the fishing village on Skerra island was ordered on Monday. "
        "About 3,000 people left their homes by boat overnight. "
        "Ash from the volcano closed the island's airport.",
    ),
    ArticleDraft(
        title="Harbour tunnel opens",
        text="The new harbour tunnel in Port Ellis cost 2 billion dollars. "
        "It opened to traffic on Friday after seven years of building. "
        "Ferries across the harbour will keep running on weekends.",
    ),
    ArticleDraft(
        title="Skerra airport",
        text="Flights to Skerra island stopped when its airport closed on Tuesday. "
        "Officials said the Skerra island airport closed because volcanic ash covered the runway. "
        "The ferry company added two extra boats.",
    ),
    ArticleDraft(
        title="Glasshouse prize",
        text="The glasshouse architecture prize went to Mira Okafor for a library in Lagos. "
        "Judges praised the library's light and its garden courtyard. "
        "The glasshouse architecture prize was awarded to Mira Okafor for her Lagos library.",
    ),
]


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Archive]:
    """An archive of the hand-made articles, one per rule."""
    path: Path = tmp_path_factory.mktemp("rules")
    archive = Archive(Settings(_env_file=None, data_dir=path), embedder=embedder)  # type: ignore[call-arg]
    archive.add_drafts(ARTICLES)
    yield archive
    archive.close()


def _said(archive: Archive, question: str) -> list[str]:
    return [sentence.text for sentence in archive.ask(question).sentences]


def test_the_sentence_after_a_restated_question_answers(rules: Archive) -> None:
    said = _said(rules, "Who wrote the Declaration of Independence?")

    assert said[0].startswith("Thomas Jefferson drafted")
    assert not any(sentence.startswith("Many readers") for sentence in said)


def test_a_question_is_not_an_answer(rules: Archive) -> None:
    said = _said(rules, "What was the dress code at the Met Gala?")

    assert said[0].startswith("Guests were asked to dress in the theme Garden of Time")
    assert not any(sentence.endswith("?") for sentence in said)


def test_a_read_more_line_is_not_an_answer(rules: Archive) -> None:
    said = _said(rules, "Which baby product sold on Amazon was recalled?")

    assert said[0].startswith("Regulators recalled 40,000 Bramble strollers")
    assert not any("Read more" in sentence for sentence in said)


def test_how_many_is_answered_by_a_number(rules: Archive) -> None:
    question = "How many people fled the village on Skerra island?"
    hits = select_hits(list(rules.rank(question).hits), 5, 2)

    best = compose_answer(question, hits, max_sentences=1).sentences

    assert best[0].text == "About 3,000 people left their homes by boat overnight."


def test_a_sentence_opening_with_a_pronoun_brings_the_one_before(rules: Archive) -> None:
    said = _said(rules, "When did the Port Ellis harbour tunnel open to traffic?")

    opened = said.index("It opened to traffic on Friday after seven years of building.")
    assert opened > 0 and said[opened - 1].startswith("The new harbour tunnel in Port Ellis")


def test_no_two_sentences_say_the_same_thing(rules: Archive) -> None:
    said = _said(rules, "Who won the glasshouse architecture prize?")

    assert "Mira Okafor" in said[0]
    assert sum("Mira Okafor" in sentence for sentence in said) == 1


def test_sentences_of_one_article_keep_its_order(rules: Archive) -> None:
    asked = _said(rules, "Why did the Skerra island airport close?")
    said = [sentence for sentence in asked if sentence in ARTICLES[5].text]

    assert said == sorted(said, key=ARTICLES[5].text.index)
    assert len(said) >= 2


def test_the_seed_answer_states_what_the_us_offered(archive: Archive) -> None:
    said = " ".join(_said(archive, SEED_QUESTION))

    for offered in ("intelligence", "battlefield", "air defense shield"):
        assert offered in said
    assert "coalition of the willing" not in said


def test_abbreviations_do_not_end_sentences() -> None:
    text = "The talks began on Oct. 8 in Cairo, Dr. Amal Said told the U.S. press. They ended."

    assert split_sentences(text) == [
        "The talks began on Oct. 8 in Cairo, Dr. Amal Said told the U.S. press."
    ]


def test_headings_and_fragments_are_not_sentences() -> None:
    text = "Trump changes course\nHe agreed. The USA offered intelligence to Kyiv."

    assert split_sentences(text) == ["The USA offered intelligence to Kyiv."]


def test_a_live_blog_update_is_read_without_its_stamp() -> None:
    text = (
        "6:36 pm ET April 1, 2026 Share this update Artemis II, 4 astronauts launch on trip "
        "to the moon. 9:28 pm ET April 1, 2026 Share this update The crew is safe in orbit, "
        "NASA said."
    )

    sentences = split_sentences(text)
    answer = compose_answer(
        "How many astronauts are on board Artemis II?", [_hit(1, 1, 1.0, text)], 1
    )

    assert sentences == [
        "Artemis II, 4 astronauts launch on trip to the moon.",
        "The crew is safe in orbit, NASA said.",
    ]
    assert answer.sentences[0].text.startswith("Artemis II, 4 astronauts")


@pytest.mark.parametrize(
    ("sentence", "furniture"),
    [
        ("What is the dress code for the Met Gala 2026?", True),
        ("4:57 pm ET May 4, 2026 Share this update on the gala.", True),
        ("See the list of recalled Amazon kids' products here.", True),
        ("Read more: Senate passes the budget bill.", True),
        ("By Jane Smith and Tom Lee, USA TODAY staff.", True),
        ("and the rest of the clause went on.", True),
        ("Dec. 22, 2025 Updated Dec. 23, 2025, 9:52 a.m.", True),
        ("Nov. 2, 2016 — Cubs 8, Indians 7 (10 innings)", True),
        ("Play the USA TODAY Quick Cross now.", True),
        ("Today is Sunday, June 9th, 2024.", True),
        ("It was 7:30 p.m. ET on Thursday.", True),
        ("Thomas Jefferson drafted the Declaration.", False),
        ("The final is on Sunday, Nov. 20.", False),
    ],
)
def test_furniture(sentence: str, furniture: bool) -> None:
    assert is_furniture(sentence) is furniture


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("They will also take part.", True),
        ("However, much remains unclear.", True),
        ("This step marks a change.", True),
        ("Theresa May spoke.", False),
        ("The USA offered help.", False),
    ],
)
def test_leans_back(sentence: str, leans: bool) -> None:
    assert leans_back(sentence) is leans


@pytest.mark.parametrize(
    ("question", "sentence", "bonus"),
    [
        ("How many people fled?", "About 3,000 people fled.", 1.0),
        ("How many people fled?", "Many people fled.", 0.0),
        ("When did it open?", "It opened in March.", 1.0),
        ("Who wrote the Declaration?", "The text was drafted by Thomas Jefferson.", 1.0),
        ("Who wrote the Declaration?", "The Declaration was long.", 0.0),
        ("What did the council approve?", "The council approved a plan by Acme.", 0.5),
    ],
)
def test_kind_of_answer(question: str, sentence: str, bonus: float) -> None:
    assert holds_kind(Question.read(question, []), sentence) == bonus


def test_the_terminal_reply_puts_the_answering_sentence_on_its_own_line(archive: Archive) -> None:
    answer = archive.ask(SEED_QUESTION)

    reply = answer_text(answer).splitlines()

    assert reply[0] == f"{answer.sentences[0].text} [1]"
    assert "air defense shield" in reply[1]
    assert reply[2] == "" and reply[3].startswith("[1] " + SEED_TITLE)


def _hit(chunk_id: int, article_id: int, score: float, text: str = "") -> Hit:
    article = Article(article_id, f"Article {article_id}", None, None, None)
    return Hit(Chunk(chunk_id, article_id, 0, text or f"Passage {chunk_id}."), article, score)


@pytest.mark.parametrize(
    ("scores", "top_k", "per_article", "expected"),
    [
        # (chunk id, article id, score) in; chunk ids out, best first
        ([(1, 1, 0.9), (2, 1, 0.8), (3, 2, 0.7)], 3, 1, [1, 3]),
        ([(1, 1, 0.9), (2, 1, 0.8), (3, 1, 0.7), (4, 2, 0.6)], 3, 2, [1, 2, 4]),
        ([(3, 3, 0.2), (1, 1, 0.9), (2, 2, 0.5)], 3, 1, [1, 2, 3]),  # sorted by score
        ([(1, 1, 0.9), (2, 2, 0.8), (3, 3, 0.7)], 2, 1, [1, 2]),  # top_k
        ([], 3, 1, []),
    ],
    ids=["one per article", "two per article", "unsorted", "top k", "none"],
)
def test_select_hits(
    scores: list[tuple[int, int, float]], top_k: int, per_article: int, expected: list[int]
) -> None:
    hits = [_hit(chunk_id, article_id, score) for chunk_id, article_id, score in scores]

    assert [hit.chunk.id for hit in select_hits(hits, top_k, per_article)] == expected


@pytest.mark.parametrize(
    ("text", "limit", "around", "expected"),
    [
        ("a  b\n c", 10, "", "a b c"),  # short: whitespace made single
        ("one two three four five", 12, "", "one two…"),  # cut at a word
        ("one two three four five six", 10, "five", "…five six"),  # centred on `around`
        ("one two three four five six", 9, "three", "…three…"),
        ("abcdefghijklmnop", 5, "", "abcde…"),  # one long word is cut inside
    ],
)
def test_trim(text: str, limit: int, around: str, expected: str) -> None:
    assert trim(text, limit, around) == expected


def test_compose_answer_without_hits_finds_nothing() -> None:
    answer = compose_answer("q?", [], 2)

    assert not answer.found and answer.citations == () and answer.sentences == ()
    assert answer.text == "The archive has nothing on that."
