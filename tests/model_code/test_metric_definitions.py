import re

import pytest

from metric_definitions import METRIC_DEFINITIONS, OBJECTIVE_METRIC, format_metric_line


def captured(line):
    found = {}
    for definition in METRIC_DEFINITIONS:
        match = re.search(definition["Regex"], line)
        if match:
            found[definition["Name"]] = float(match.group(1))
    return found


def test_definitions_are_sagemaker_shaped_and_name_the_objective():
    names = [d["Name"] for d in METRIC_DEFINITIONS]
    assert names == ["train:loss", "train:accuracy", "valid:loss", "valid:accuracy", "test:loss", "test:accuracy"]
    assert all(set(d) == {"Name", "Regex"} and re.compile(d["Regex"]).groups == 1 for d in METRIC_DEFINITIONS)
    assert OBJECTIVE_METRIC in names


@pytest.mark.parametrize(
    "split, loss, accuracy",
    [("train", 1.5e-03, 0.9375), ("valid", 2.25e-07, 1.0), ("test", 12.5, 0.0), ("valid", 123456789.0, 0.5)],
)
def test_printed_lines_round_trip_through_the_regexes(split, loss, accuracy):
    line = format_metric_line(split, loss, accuracy, epoch=3)

    # Six significant digits are printed.
    expected = {f"{split}:loss": loss, f"{split}:accuracy": accuracy}
    assert captured(line) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "text, value", [("1.5e-03", 1.5e-3), ("2E+10", 2e10), ("0.25", 0.25), (".5", 0.5), ("7", 7.0), ("-1e-5", -1e-5)]
)
def test_regex_reads_plain_and_scientific_numbers(text, value):
    assert captured(f"[1,0]<stdout>: valid:accuracy={text} more")["valid:accuracy"] == pytest.approx(value)


def test_one_split_does_not_capture_another():
    assert captured("pretrain:loss=1 xvalid:accuracy=0.3 train:loss=0.5") == {"train:loss": 0.5}


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="allowed: train, valid, test"):
        format_metric_line("eval", 0.1, 0.2)
