"""A drill-down screen's header breaks its lines between `label value` pairs, at the width it is
drawn at, so that no value is parted from its label."""

from __future__ import annotations

from textual.app import App, ComposeResult

from buildwatch.tui.widgets.header_text import PairsHeader, header_text

PAIRS = [("outcome", "FAILED"), ("tool", "gradle 8.14.3"), ("project", "auth-gateway")]


def test_pairs_share_a_line_while_they_fit() -> None:
    assert header_text(PAIRS, width=80).plain == (
        "outcome FAILED   tool gradle 8.14.3   project auth-gateway")


def test_a_line_breaks_between_two_pairs_rather_than_inside_one() -> None:
    assert header_text(PAIRS, width=40).plain == (
        "outcome FAILED   tool gradle 8.14.3\nproject auth-gateway")


def test_a_pair_wider_than_the_line_is_alone_on_its_lines() -> None:
    pairs = [("user", "ci"), ("repo", "https://example.com/a/very/long/repository"), ("role", "CI")]
    assert header_text(pairs, width=30).plain == (
        "user ci\nrepo https://example.com/a/very/long/repository\nrole CI")


def test_a_line_start_breaks_the_line_whatever_the_width() -> None:
    assert header_text(PAIRS, ("project",), width=200).plain == (
        "outcome FAILED   tool gradle 8.14.3\nproject auth-gateway")


class _HeaderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PairsHeader("build x", id="header")

    def on_mount(self) -> None:
        self.query_one(PairsHeader).show(PAIRS, note=None)


async def test_the_header_lays_its_pairs_out_again_when_its_width_changes() -> None:
    app = _HeaderApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        header = app.query_one(PairsHeader)
        assert str(header.render()).splitlines() == [
            "outcome FAILED   tool gradle 8.14.3", "project auth-gateway"]
        await pilot.resize_terminal(100, 10)
        await pilot.pause()
        assert str(header.render()).splitlines() == [
            "outcome FAILED   tool gradle 8.14.3   project auth-gateway"]
