"""The answer flow: e-mail click, page, submit, thanks; versions, durability, provisional scores."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from tests.integration.web_support import BROWSER, Harness, Link, form_token
from worker.domain import Category
from worker.store.engine import session_factory
from worker.store.models import Response, ResponseVersion, SurveyState
from worker.surveys.web.answers import Answer, finalize_provisional, lock_survey, record_answer


@pytest.fixture
def web(engine: Engine) -> Harness:
    """The app on the module's migrated store (SQLite and PostgreSQL); surveys are per test."""
    return Harness(session_factory(engine))


class TestScoreClick:
    """A score button in the e-mail opens the page with the score chosen, recorded provisionally."""

    def test_click_shows_the_score_selected_and_records_it_provisionally(
        self, web: Harness
    ) -> None:
        """The radio of the clicked score is checked; the response is provisional, not answered."""
        link = web.survey()

        page = web.client.get(link.page(9), headers={"User-Agent": BROWSER})

        assert page.status_code == 200
        assert 'id="score-9" value="9" checked' in page.text
        response = web.response(link)
        assert response is not None
        assert (response.score, response.provisional, response.version) == (9, True, 1)
        assert web.stored_survey(link).state is SurveyState.SENT

    def test_page_without_score_records_nothing(self, web: Harness) -> None:
        """Opening the page alone is not an answer."""
        link = web.survey()

        page = web.client.get(link.page())

        assert page.status_code == 200
        assert " checked" not in page.text
        assert web.response(link) is None

    @pytest.mark.parametrize("score", ["11", "-1", "x", "", "\uff19", "1e1", "hp2"], ids=repr)
    def test_invalid_score_shows_the_page_without_recording(self, web: Harness, score: str) -> None:
        """A score that is not 0..10 is ignored rather than refused."""
        link = web.survey()

        page = web.client.get(link.page(score))

        assert page.status_code == 200
        assert web.response(link) is None

    def test_click_never_overwrites_a_confirmed_answer(self, web: Harness) -> None:
        """After a submit, another e-mail click only preselects; the stored answer stays."""
        link = web.survey()
        web.post(link, {"score": "3", "comment": "slow"})

        page = web.client.get(link.page(10), headers={"User-Agent": BROWSER})

        assert 'id="score-10" value="10" checked' in page.text
        response = web.response(link)
        assert response is not None
        assert (response.score, response.provisional, response.version) == (3, False, 1)


class TestSubmit:
    """The page's POST stores the answer and only then thanks the person."""

    def test_submit_stores_the_answer_and_thanks(self, web: Harness) -> None:
        """Score, chips in taxonomy order and comment are stored; the survey is answered."""
        link = web.survey()
        token = web.open(link, 4)

        thanks = web.post(
            link,
            {"score": "4", "tags": ["support", "quality"], "comment": " Too slow \r\n"},
            token,
        )

        assert thanks.status_code == 200
        assert "Thank you!" in thanks.text
        response = web.response(link)
        assert response is not None
        assert response.category is Category.DETRACTOR
        assert response.chosen_tags == ["quality", "support"]
        assert response.comment == "Too slow"
        assert (response.provisional, response.version, response.handled_version) == (False, 2, 0)
        survey = web.stored_survey(link)
        assert survey.state is SurveyState.ANSWERED
        assert survey.answered_at == web.clock.now

    def test_a_later_answer_updates_and_every_version_is_kept(self, web: Harness) -> None:
        """Changing the answer from the same link makes a new version; the old one stays."""
        link = web.survey()
        web.post(link, {"score": "6", "comment": "meh"})
        web.clock.advance(timedelta(days=2))

        web.post(link, {"score": "9", "tags": "feature_value"})

        response = web.response(link)
        assert response is not None
        assert (response.score, response.comment, response.version) == (9, None, 2)
        versions = [(v.version, v.score, v.comment, v.provisional) for v in web.versions(link)]
        assert versions == [(1, 6, "meh", False), (2, 9, None, False)]

    def test_the_same_answer_twice_is_one_version(self, web: Harness) -> None:
        """A resubmit (back button, double click) adds nothing."""
        link = web.survey()
        token = web.open(link)

        web.post(link, {"score": "8"}, token)
        web.post(link, {"score": "8"}, token)

        assert [v.version for v in web.versions(link)] == [1]

    def test_japanese_page_and_thanks(self, web: Harness) -> None:
        """A Japanese survey shows Japanese words and chip labels, and thanks in Japanese."""
        link = web.survey(language="ja")

        page = web.client.get(link.page(10))
        thanks = web.post(link, {"score": "10", "tags": "usability"}, form_token(page.text))

        assert '<html lang="ja">' in page.text
        assert "使いやすさ" in page.text
        assert "ご回答ありがとうございました" in thanks.text

    @pytest.mark.parametrize(
        ("state", "expires_in"),
        [
            pytest.param(SurveyState.EXPIRED, timedelta(days=1), id="expired-state"),
            pytest.param(SurveyState.SUPPRESSED, timedelta(days=1), id="suppressed"),
        ],
    )
    def test_closed_survey_takes_no_answer(
        self, web: Harness, state: SurveyState, expires_in: timedelta
    ) -> None:
        """A survey that has closed answers 410 and stores nothing."""
        link = web.survey(state=state, expires_in=expires_in)

        page = web.client.get(link.page(7))

        assert page.status_code == 410
        assert web.response(link) is None


class TestDurability:
    """Promise 4: the thank-you page is only sent after the answer is committed."""

    def test_failed_commit_gets_503_not_thanks(self, web: Harness) -> None:
        """When the commit fails, the person sees "not saved yet" and nothing is stored."""
        link = web.survey()
        token = web.open(link)
        engine = web.sessions.kw["bind"]

        def failing_commit(_connection: object) -> None:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

        event.listen(engine, "commit", failing_commit)
        try:
            page = web.post(link, {"score": "2"}, token)
        finally:
            event.remove(engine, "commit", failing_commit)

        assert page.status_code == 503
        assert "Thank you" not in page.text
        assert "Not saved yet" in page.text
        assert web.response(link) is None

    def test_thanks_means_the_answer_is_readable_elsewhere(self, web: Harness) -> None:
        """Right after thanks, a fresh session (another process) sees the answer."""
        link = web.survey()

        web.post(link, {"score": "10"})

        with web.sessions() as other:
            stored = other.scalars(select(Response).where(Response.survey_id == link.survey_id))
            assert [response.score for response in stored] == [10]


class TestLinkScanners:
    """Clicks that look like a scanner stay provisional; a human-looking one counts later."""

    def _finalize(self, web: Harness) -> int:
        with web.sessions() as session, session.begin():
            return finalize_provisional(session, web.config, web.clock.now)

    def _click_and_beacon(self, web: Harness, score: int, agent: str = BROWSER) -> None:
        link_page = web.client.get(self._link.page(score), headers={"User-Agent": agent})
        beacon = web.client.post(
            f"{self._link.page()}/seen", data={"form": form_token(link_page.text)}
        )
        assert beacon.status_code == 204

    def test_human_click_with_script_becomes_final_after_the_delay(self, web: Harness) -> None:
        """A browser click long after delivery whose page ran its script counts after 24 h."""
        self._link = web.survey(sent_ago=timedelta(hours=3))
        self._click_and_beacon(web, 9)

        web.clock.advance(timedelta(hours=23))
        assert self._finalize(web) == 0
        web.clock.advance(timedelta(hours=2))
        assert self._finalize(web) == 1

        response = web.response(self._link)
        assert response is not None
        assert (response.score, response.provisional, response.version) == (9, False, 2)
        survey = web.stored_survey(self._link)
        assert survey.state is SurveyState.ANSWERED
        assert survey.answered_at == web.clock.now - timedelta(hours=25)

    @pytest.mark.parametrize(
        ("agent", "sent_ago", "scores"),
        [
            pytest.param("BingPreview/1.0b", timedelta(hours=3), [9], id="scanner-agent"),
            pytest.param("python-requests/2.31", timedelta(hours=3), [9], id="http-library"),
            pytest.param("Mozilla/5.0 HeadlessChrome/120", timedelta(hours=3), [9], id="headless"),
            pytest.param(BROWSER, timedelta(seconds=3), [9], id="seconds-after-delivery"),
            pytest.param(BROWSER, timedelta(hours=3), [0, 5, 10], id="several-scores"),
        ],
    )
    def test_scanner_like_clicks_never_become_final(
        self, web: Harness, agent: str, sent_ago: timedelta, scores: list[int]
    ) -> None:
        """Even with the script run, a scanner-looking click stays provisional for good."""
        self._link = web.survey(sent_ago=sent_ago)
        for score in scores:
            self._click_and_beacon(web, score, agent)

        web.clock.advance(timedelta(days=3))

        assert self._finalize(web) == 0
        response = web.response(self._link)
        assert response is not None
        assert response.provisional

    def test_click_without_script_stays_provisional(self, web: Harness) -> None:
        """A fetch that never ran the page's script (no beacon) is not taken as an answer."""
        link = web.survey()
        web.client.get(link.page(8), headers={"User-Agent": BROWSER})

        web.clock.advance(timedelta(days=2))

        assert self._finalize(web) == 0

    def test_honeypot_hit_blocks_finalizing_and_records_no_score(self, web: Harness) -> None:
        """Following the hidden link marks the survey as scanned; later clicks stay provisional."""
        self._link = web.survey(sent_ago=timedelta(hours=3))

        honeypot = web.client.get(self._link.page("hp"))
        self._click_and_beacon(web, 9)
        web.clock.advance(timedelta(days=2))

        assert honeypot.status_code == 200
        assert web.stored_survey(self._link).scanner_seen_at is not None
        assert self._finalize(web) == 0

    def test_person_confirms_after_a_scanner(self, web: Harness) -> None:
        """A scanner's clicks are replaced by the person's submit, with all versions kept."""
        link = web.survey(sent_ago=timedelta(seconds=2))
        for score in (0, 10):
            web.client.get(link.page(score), headers={"User-Agent": "Mimecast"})

        web.post(link, {"score": "7"})

        response = web.response(link)
        assert response is not None
        assert (response.score, response.provisional) == (7, False)
        assert [(v.score, v.provisional) for v in web.versions(link)] == [
            (0, True),
            (10, True),
            (7, False),
        ]
        scanner_signals = web.versions(link)[1].signals
        assert set(scanner_signals["scanner_reasons"]) == {
            "agent_scanner",
            "too_fast",
            "several_scores",
        }
        assert "ip" not in scanner_signals


class TestConcurrentWriters:
    """Two writers at once (web answers and the cycle) both commit, on SQLite too."""

    @pytest.fixture
    def writers(self, web: Harness) -> list[Link]:
        """Surveys for eight threads."""
        return [web.survey() for _ in range(8)]

    def test_parallel_answers_all_commit(self, web: Harness, writers: list[Link]) -> None:
        """Eight threads answering at once and a ninth holding a write lock all succeed."""
        errors: list[BaseException] = []
        barrier = threading.Barrier(len(writers) + 1)

        def answer(token_id: str, score: int) -> None:
            try:
                barrier.wait()
                for attempt in range(3):
                    with web.sessions() as session, session.begin():
                        survey = lock_survey(session, token_id)
                        assert survey is not None
                        answer = Answer(score=(score + attempt) % 11, chosen_tags=(), comment=None)
                        record_answer(session, survey, answer, web.clock.now)
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)

        def cycle_writer() -> None:
            barrier.wait()
            with web.sessions() as session, session.begin():
                lock_survey(session, writers[0].token_id)
                session.execute(select(func.count()).select_from(ResponseVersion))

        threads = [
            threading.Thread(target=answer, args=(link.token_id, n))
            for n, link in enumerate(writers)
        ]
        threads.append(threading.Thread(target=cycle_writer))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        versions = [version for link in writers for version in web.versions(link)]
        assert len(versions) == 24


class TestOnlyPeopleChangeAnswers:
    """Only a person's GET and the form as last shown change state (issue 16, item 7)."""

    def test_head_records_no_click(self, web: Harness) -> None:
        """A HEAD of a score link (link checkers, previews) answers like GET, records nothing."""
        link = web.survey()

        head = web.client.head(link.page(9), headers={"User-Agent": BROWSER})
        honeypot = web.client.head(link.page("hp"), headers={"User-Agent": BROWSER})

        assert (head.status_code, honeypot.status_code) == (200, 200)
        assert web.response(link) is None
        assert web.stored_survey(link).scanner_seen_at is None

    def test_an_old_form_token_does_not_replay_an_earlier_answer(self, web: Harness) -> None:
        """The POST of a superseded answer, sent again, is refused: the newer answer stays."""
        link = web.survey()
        first = web.open(link)
        assert web.post(link, {"score": "3", "comment": "slow"}, first).status_code == 200
        web.clock.advance(timedelta(hours=1))
        assert web.post(link, {"score": "9"}).status_code == 200

        replay = web.post(link, {"score": "3", "comment": "slow"}, first)

        assert replay.status_code == 409
        assert 'id="score-9" value="9" checked' in replay.text, "the page shows the answer now"
        response = web.response(link)
        assert response is not None
        assert (response.score, response.version) == (9, 2)
        assert [v.score for v in web.versions(link)] == [3, 9]

    def test_the_same_answer_sent_again_is_thanked(self, web: Harness) -> None:
        """A double click on submit is no conflict: the stored answer is what was sent."""
        link = web.survey()
        token = web.open(link)
        web.post(link, {"score": "8", "comment": "ok"}, token)

        again = web.post(link, {"score": "8", "comment": "ok"}, token)

        assert again.status_code == 200
        assert [v.version for v in web.versions(link)] == [1]

    def test_a_scanner_click_after_the_page_opened_does_not_block_the_person(
        self, web: Harness
    ) -> None:
        """Time-of-click scanners fetch the link while the person reads the page."""
        link = web.survey()
        token = web.open(link, 6)
        web.client.get(link.page(10), headers={"User-Agent": "Mimecast"})

        posted = web.post(link, {"score": "6"}, token)

        assert posted.status_code == 200
        response = web.response(link)
        assert response is not None
        assert (response.score, response.provisional) == (6, False)

    def test_a_click_made_final_by_the_cycle_does_not_block_the_person(self, web: Harness) -> None:
        """The person's own submit still wins over a click the cycle finalized meanwhile."""
        link = web.survey(sent_ago=timedelta(hours=3))
        page = web.client.get(link.page(9), headers={"User-Agent": BROWSER})
        web.client.post(f"{link.page()}/seen", data={"form": form_token(page.text)})
        web.clock.advance(timedelta(hours=24, minutes=30))
        with web.sessions() as session, session.begin():
            assert finalize_provisional(session, web.config, web.clock.now) == 1
        token = web.open(link)

        posted = web.post(link, {"score": "4", "comment": "changed my mind"}, token)

        assert posted.status_code == 200
        response = web.response(link)
        assert response is not None
        assert (response.score, response.comment) == (4, "changed my mind")
