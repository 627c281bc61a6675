"""The validation-predict bench prints one row per size, with both ways' outputs equal."""
import sys

from bench import validation_predict_bench


def test_prints_a_row_per_size_and_the_two_ways_agree(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["validation_predict_bench", "--users", "30", "--movies", "20",
                                      "--rows", "10,8200", "--repeats", "1"])
    validation_predict_bench.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "model: 30 users x 20 movies; 1 alternated calls each, medians"
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["10", "8,200"]  # 8,200 rows: one full batch of 8192 and one of 8
    assert [row[-1] for row in rows] == ["True", "True"]
