"""How a build event reads as text: one line in a list, and in full with its multi-line texts."""

from __future__ import annotations

import json

from buildwatch.core.develocity.event_text import event_brief, event_detail


def test_console_output_reads_as_its_text() -> None:
    data = {"spans": [{"text": "> Task :app:test", "style": "Header"}, {"text": " FAILED\n"}]}
    assert event_brief(data) == "> Task :app:test FAILED"


def test_a_task_reads_as_its_plain_fields_and_true_flags_then_its_ids() -> None:
    data = {"id": -42, "task": 3522515007447618657, "path": ":app:test", "outcome": "FAILED",
            "cacheable": True, "skipped": False, "failureId": 7, "startTime": 1779989495584,
            "common": {"logLevel": "INFO"}, "failure": None}
    assert event_brief(data) == (
        "path=:app:test outcome=FAILED cacheable startTime=1779989495584 "
        "id=-42 task=3522515007447618657 failureId=7")


def test_exception_data_reads_as_its_first_exception() -> None:
    data = {"exceptions": {
        "1": {"className": "org.opentest4j.AssertionFailedError",
              "message": "expected: <1>\n but was: <2>", "causes": ["2"]},
        "2": {"className": "java.lang.IllegalStateException", "message": "cause"},
    }}
    assert event_brief(data) == (
        "org.opentest4j.AssertionFailedError: expected: <1> but was: <2> (+1 more)")


def test_a_build_reads_as_its_id_first() -> None:
    data = {"buildId": "zvpffm7jc3ftt", "timestamp": 1779989495584, "toolType": "gradle"}
    assert event_brief(data) == "buildId=zvpffm7jc3ftt timestamp=1779989495584 toolType=gradle"


def test_a_list_of_texts_is_joined_and_the_line_is_cut_to_its_width() -> None:
    assert event_brief({"tags": ["CI", "main"]}) == "tags=CI,main"
    assert len(event_brief({"message": "x" * 500})) == 120


def test_the_brief_is_one_safe_line() -> None:
    assert event_brief({"message": "red \x1b[31mtext\x1b]52;c;AAAA\x07\nnext"}) == (
        "message=red text next")


def test_the_detail_is_the_indented_json_then_each_multi_line_text_as_it_prints() -> None:
    message = "Command failed: jest --ci\n  ● CartSummary › shows the discount line\n\n" \
              "    expect(received).toContain(expected)"  # noqa: RUF001
    source = json.dumps({"type": {"eventType": "NpmFailure"}, "data": {"message": message,
                                                                      "exitCode": 1}}).encode()
    detail = event_detail(source)
    json_part, _, texts = detail.partition("\n\ndata.message:\n")
    assert json.loads(json_part) == json.loads(source)
    assert '\n  "data": {\n' in json_part
    assert texts == ("  Command failed: jest --ci\n"
                     "    ● CartSummary › shows the discount line\n"  # noqa: RUF001
                     "  \n"
                     "      expect(received).toContain(expected)\n")


def test_a_detail_without_multi_line_texts_is_its_json_alone() -> None:
    detail = event_detail(b'{"data":{"message":"one line\\n"}}')
    assert json.loads(detail) == {"data": {"message": "one line\n"}}
