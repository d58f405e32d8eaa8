"""tools/mutation_report.py: the score per package and the survivors, without running mutmut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.mutation_report import (
    ALLOWLIST,
    Accepted,
    Change,
    change_from_diff,
    function_name,
    load_allowlist,
    read_results,
    render,
    score_package,
    score_sample,
    wilson_interval,
)

DIFF = """--- eks_inferentia/quantity.py
+++ eks_inferentia/quantity.py
@@ -1,3 +1,3 @@
 def format_memory(mebibytes: int) -> str:
-    if mebibytes % 1024 == 0:
+    if mebibytes % 1025 == 0:
         return f"{mebibytes // 1024}Gi\""""


@pytest.mark.parametrize(("mutant", "function"), [
    ("eks_inferentia.quantity.x_format_memory__mutmut_12", "eks_inferentia.quantity.format_memory"),
    ("client.common.x__base_url__mutmut_3", "client.common._base_url"),
    ("eks_inferentia.config.xǁ_Readerǁproblem__mutmut_1", "eks_inferentia.config._Reader.problem"),
    ("components.serving.xǁTensorFlowServingǁ__init____mutmut_40", "components.serving.TensorFlowServing.__init__"),
])
def test_function_name_is_the_one_a_reader_finds_in_the_source(mutant: str, function: str) -> None:
    assert function_name(mutant) == function


def test_change_is_the_changed_lines_without_headers_or_context() -> None:
    assert change_from_diff(DIFF) == Change(removed="if mebibytes % 1024 == 0:", added="if mebibytes % 1025 == 0:")


def _results(tmp_path: Path, exit_codes: dict[str, int | None]) -> Path:
    meta = tmp_path / "eks_inferentia" / "quantity.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": exit_codes}))
    return tmp_path


def test_score_counts_kills_and_timeouts_and_lists_everything_else(tmp_path: Path) -> None:
    mutants = _results(tmp_path, {
        "eks_inferentia.quantity.x_format_memory__mutmut_1": 1,     # killed
        "eks_inferentia.quantity.x_format_memory__mutmut_2": 36,    # timeout: the mutant hung, the tests noticed
        "eks_inferentia.quantity.x_format_memory__mutmut_10": 0,    # survived
        "eks_inferentia.quantity.x_format_memory__mutmut_3": 33,    # no test calls it
        "eks_inferentia.quantity.x_format_memory__mutmut_4": None,  # not run (interrupted)
    })
    results = read_results("eks_inferentia", mutants)
    assert {source for source, _ in results.values()} == {Path("eks_inferentia/quantity.py")}
    accepted = Accepted("eks_inferentia.quantity.format_memory", "if mebibytes % 1024 == 0:", None, "a reason")
    score = score_package("eks_inferentia", results, [accepted], lambda mutant, source: DIFF)
    assert (score.total, score.killed, score.score) == (5, 2, 40.0)
    assert [(s.mutant.rpartition("_")[2], s.status) for s in score.survivors] == [
        ("3", "no tests"), ("4", "not checked"), ("10", "survived")]
    assert all(s.accepted is accepted for s in score.survivors)


def test_an_entry_with_to_accepts_only_that_mutation() -> None:
    entry = Accepted("m.f", "x = 1", "x = 2", "why")
    assert entry.matches("m.f", Change("x = 1", "x = 2"))
    assert not entry.matches("m.f", Change("x = 1", "x = None"))
    assert not entry.matches("m.g", Change("x = 1", "x = 2"))
    assert Accepted("m.f", "x = 1", None, "why").matches("m.f", Change("x = 1", "x = None"))


def test_report_marks_unaccepted_survivors_and_stale_entries(tmp_path: Path) -> None:
    mutants = _results(tmp_path, {"eks_inferentia.quantity.x_format_memory__mutmut_1": 0,
                                  "eks_inferentia.quantity.x_format_memory__mutmut_2": 1})
    stale = Accepted("eks_inferentia.quantity.format_cpu", "return x", None, "gone")
    score = score_package("eks_inferentia", read_results("eks_inferentia", mutants), [stale], lambda m, s: DIFF)
    text = render([score], [stale])
    assert "eks_inferentia.quantity.x_format_memory__mutmut_1 (survived)" in text
    assert "      - if mebibytes % 1024 == 0:\n      + if mebibytes % 1025 == 0:\n      NOT ACCEPTED" in text
    assert "match no surviving mutant" in text and "eks_inferentia.quantity.format_cpu: return x" in text
    assert "eks_inferentia       1 / 2      50.0 %   survivors: 0 accepted, 1 not  BELOW THE GOAL" in text


def test_every_allowlist_entry_has_a_function_a_line_and_a_reason() -> None:
    entries = load_allowlist(ALLOWLIST)
    assert entries, "tools/mutation_allowlist.yaml lists no accepted survivor"
    assert all(entry.function.split(".")[0] in ("components", "eks_inferentia", "client") for entry in entries)
    assert all(len(entry.reason) > 20 for entry in entries)


def test_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "allowlist.yaml"
    path.write_text("- function: m.f\n  from: x = 1\n  reason: ''\n")
    with pytest.raises(ValueError, match="entry 1 needs function, from and a reason"):
        load_allowlist(path)


def test_a_module_is_scored_alone(tmp_path: Path) -> None:
    # `make mutation PACKAGE=eks_inferentia.quantity` reports that module, not its package's other ones.
    mutants = _results(tmp_path, {"eks_inferentia.quantity.x_format_memory__mutmut_1": 1})
    other = tmp_path / "eks_inferentia" / "capacity.py.meta"
    other.write_text(json.dumps({"exit_code_by_key": {"eks_inferentia.capacity.x_f__mutmut_1": 0}}))
    assert list(read_results("eks_inferentia.quantity", mutants)) == ["eks_inferentia.quantity.x_format_memory__mutmut_1"]
    assert len(read_results("eks_inferentia", mutants)) == 2
    assert read_results("eks_inferentia.placement", mutants) == {}


def test_the_report_refuses_a_name_outside_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.mutation_report import main

    with pytest.raises(SystemExit):
        main(["tools.render"])
    assert "'tools.render': not one of components, eks_inferentia, client" in capsys.readouterr().err


def test_a_sample_is_scored_out_of_the_mutants_drawn_with_the_interval_of_the_packages_score(tmp_path: Path) -> None:
    mutants = _results(tmp_path, {f"eks_inferentia.quantity.x_format_memory__mutmut_{n}": (1 if n % 4 else 0)
                                  for n in range(1, 41)})
    results = read_results("eks_inferentia", mutants)
    sample = {f"eks_inferentia.quantity.x_format_memory__mutmut_{n}" for n in range(1, 21)} | {"client.common.x_f__mutmut_1"}
    score = score_sample("eks_inferentia", results, sample, [], lambda mutant, source: DIFF)
    assert score is not None
    assert (score.total, score.killed, score.population) == (20, 15, 40)  # 4, 8, 12, 16 and 20 survived
    low, high = score.interval
    assert (round(low, 1), round(high, 1)) == (53.1, 88.8)
    assert "a random sample of 40; 95 % interval 53.1 to 88.8 %" in render([score], [])
    assert score_sample("eks_inferentia", results, {"client.common.x_f__mutmut_1"}, [], lambda m, s: DIFF) is None
    # A whole package's score is exact: no interval.
    assert "interval" not in render([score_package("eks_inferentia", results, [], lambda m, s: DIFF)], [])


def test_the_wilson_interval_stays_within_0_and_100_and_narrows_with_the_sample() -> None:
    assert wilson_interval(0, 0) == (0.0, 100.0)
    low, high = wilson_interval(10, 10)
    assert high == 100.0 and round(low, 1) == 72.2
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and round(high, 1) == 27.8
    assert [round(x, 1) for x in wilson_interval(95, 100)] == [88.8, 97.8]
    assert [round(x, 1) for x in wilson_interval(950, 1000)] == [93.5, 96.2]


def test_the_sample_is_drawn_per_stratum_the_same_each_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.mutation_sample as mutation_sample

    _results(tmp_path / "mutants", {f"eks_inferentia.quantity.x_format_memory__mutmut_{n}": 1 for n in range(1, 31)})
    monkeypatch.setattr(mutation_sample, "ROOT", tmp_path)
    first = mutation_sample.draw([("eks_inferentia.quantity", 10), ("eks_inferentia", 50)])
    assert first == mutation_sample.draw([("eks_inferentia.quantity", 10), ("eks_inferentia", 50)])
    assert len(first) == 40 and len(set(first[:10])) == 10 and len(set(first[10:])) == 30  # capped at the population
    assert first[:10] != mutation_sample.draw([("eks_inferentia.quantity", 10)], seed=16)
    with pytest.raises(SystemExit):
        mutation_sample.main(["eks_inferentia"])
    with pytest.raises(SystemExit):  # the report's own check of the name
        mutation_sample.main(["tools.render=5"])


def test_the_command_prints_the_draw_of_the_seed_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import tools.mutation_sample as mutation_sample

    _results(tmp_path / "mutants", {f"eks_inferentia.quantity.x_format_memory__mutmut_{n}": 1 for n in range(1, 31)})
    monkeypatch.setattr(mutation_sample, "ROOT", tmp_path)
    for argv, seed in ((["eks_inferentia=5"], mutation_sample.SEED), (["eks_inferentia=5", "--seed", "27"], 27)):
        assert mutation_sample.main(argv) == 0
        assert capsys.readouterr().out == "\n".join(mutation_sample.draw([("eks_inferentia", 5)], seed)) + "\n"
