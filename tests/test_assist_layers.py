"""The triage data's layers (indexer.assist_data): every KB starts from the built-in pack, and its own _assist/
changes only what it writes — a shop we never saw is triaged without writing any."""
import pytest

from indexer.assist_data import BUILT_IN, parse_assist


def write(kb, name, text):
    path = kb / "_assist" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def built_in(tmp_path_factory):
    data, diagnostics, digest = parse_assist(tmp_path_factory.mktemp("empty-kb"))
    assert diagnostics == []  # the built-in pack lints clean
    return data, digest


def cues_of(data, group, label):
    return dict(map(tuple, data["cues"][group][label]))


def test_a_kb_without_its_own_folder_gets_the_built_in_pack(built_in):
    data, digest = built_in
    assert len(data["examples"]) > 500 and data["comfort"] and digest
    assert {i["label"] for i in data["taxonomy"]["intents"]} >= {"物流", "退换货", "售后/质量", "转人工"}
    assert all(not i.get("articles") for i in data["taxonomy"]["intents"])  # article ids are a shop's own
    categories = {i["label"]: i["categories"] for i in data["taxonomy"]["intents"]}
    assert {"物流", "配送"} <= set(categories["物流"]) and "商品信息" in categories["商品咨询"]  # other shops' names


def test_a_kb_adds_and_reweights_cues_and_switches_one_off(tmp_path, built_in):
    before = cues_of(built_in[0], "intent", "物流")
    assert before["快递"] == 1.5 and before["包裹"] == 1.5
    write(tmp_path, "cues.yaml", "intent:\n  物流:\n    '揽收': 2\n    '快递': 3\n    '包裹': 0\n")
    data, diagnostics, digest = parse_assist(tmp_path)
    after = cues_of(data, "intent", "物流")
    assert diagnostics == [] and digest != built_in[1]
    assert after["揽收"] == 2 and after["快递"] == 3 and "包裹" not in after
    assert {k: v for k, v in after.items() if k not in ("揽收", "快递")} == \
        {k: v for k, v in before.items() if k not in ("快递", "包裹")}
    assert data["cues"]["emotion"] == built_in[0]["cues"]["emotion"]


def test_a_kb_example_with_a_built_in_text_relabels_it_in_place(tmp_path, built_in):
    first = built_in[0]["examples"][0]
    write(tmp_path, "examples.yaml", f"examples:\n  - {{text: {first['text']}, intent: 闲聊/其他, urgency: low, "
                                     "emotion: positive}\n  - {text: 揽收了吗, intent: 物流, urgency: normal, "
                                     "emotion: neutral}\n")
    examples = parse_assist(tmp_path)[0]["examples"]
    assert len(examples) == len(built_in[0]["examples"]) + 1
    assert examples[0] == {"text": first["text"], "intent": "闲聊/其他", "urgency": "low", "emotion": "positive",
                           "handoff": None}
    assert examples[-1]["text"] == "揽收了吗"


def test_intents_merge_by_label_and_other_lists_replace(tmp_path, built_in):
    write(tmp_path, "taxonomy.yaml", "intents:\n  - {label: 物流, articles: [our-shipping]}\n"
                                     "  - {label: 定制, categories: [定制服务]}\nhandoff:\n  rounds_over: 5\n"
                                     "scoring:\n  neighbours: 9\n")
    write(tmp_path, "examples.yaml", "examples:\n" + "".join(
        f"  - {{text: 能刻字吗{n}, intent: 定制, urgency: low, emotion: neutral}}\n" for n in range(3)))
    data, diagnostics, _ = parse_assist(tmp_path)
    assert diagnostics == []
    taxonomy = data["taxonomy"]
    logistics = next(i for i in taxonomy["intents"] if i["label"] == "物流")
    built_in_logistics = next(i for i in built_in[0]["taxonomy"]["intents"] if i["label"] == "物流")
    assert logistics == {**built_in_logistics, "articles": ["our-shipping"]}
    assert taxonomy["intents"][-1]["label"] == "定制"
    assert taxonomy["handoff"]["rounds_over"] == 5 and taxonomy["handoff"]["reasons"] == \
        built_in[0]["taxonomy"]["handoff"]["reasons"]
    assert taxonomy["scoring"]["neighbours"] == 9 and "temperature" in taxonomy["scoring"]


def test_a_comfort_line_with_a_built_in_id_replaces_it(tmp_path, built_in):
    ids = [line["id"] for line in built_in[0]["comfort"]]
    write(tmp_path, "comfort/ours.md", f"---\nid: {ids[0]}\nemotions: [angry]\n---\n亲 我们的话术\n")
    comfort = parse_assist(tmp_path)[0]["comfort"]
    assert [line["id"] for line in comfort] == ids and comfort[0]["text"] == "亲 我们的话术"


def test_defaults_false_makes_the_kb_folder_the_whole_data(tmp_path):
    write(tmp_path, "taxonomy.yaml", "defaults: false\nintents: [{label: 物流}]\n")
    data, diagnostics, _ = parse_assist(tmp_path)
    assert data is None
    missing = {d.path for d in diagnostics if d.severity == "error" and d.message.startswith("missing")}
    assert missing == {"_assist/cues.yaml", "_assist/examples.yaml"}
    write(tmp_path, "taxonomy.yaml", "defaults: maybe\n")
    assert any("'defaults' must be true or false" in d.message for d in parse_assist(tmp_path)[1])


def test_a_kb_layer_problem_is_reported_at_the_kb_file_and_line(tmp_path):
    write(tmp_path, "cues.yaml", "emotion:\n  angry:\n    '气死(': 2\n")
    data, diagnostics, _ = parse_assist(tmp_path)
    (problem,) = [d for d in diagnostics if d.severity == "error"]
    assert data is None and (problem.path, problem.line) == ("_assist/cues.yaml", 3)
    assert not BUILT_IN.rel.startswith("_assist")  # a built-in problem could never be mistaken for the KB's


@pytest.mark.parametrize("name, text, problem", [
    ("taxonomy.yaml", "intents: foo\n", "'intents' must be a list of mappings"),
    ("taxonomy.yaml", "handoff: 3\n", "'handoff' must be a mapping"),
    ("taxonomy.yaml", "situations:\n  risk: {handoff: risk}\n", "'situations.risk.handoff' must be a list of texts"),
    ("taxonomy.yaml", "intents:\n  - {label: 物流, categories: 3}\n", "'intents[0].categories' must be a list"),
    ("taxonomy.yaml", "scoring:\n  neighbours: 0\n", "scoring.neighbours: must be a whole number ≥ 1"),
    ("taxonomy.yaml", "scoring:\n  neighbors: 5\n", "scoring.neighbors: unknown setting"),
    ("taxonomy.yaml", "scoring:\n  temperature: warm\n", "scoring.temperature: must be a number"),
    ("taxonomy.yaml", "scoring:\n  example_weight: {mood: 1}\n", "scoring.example_weight: must map each of"),
    ("cues.yaml", "scopes:\n  x: 3\n", "'scopes.x' must be a mapping"),
    ("cues.yaml", "intent: [发货]\n", "'intent' must be a mapping"),
    ("examples.yaml", "examples: 3\n", "'examples' must be a list"),
    ("comfort/x.md", "---\nsituations: 3\n---\n亲\n", "'situations' must be a list of texts"),
])
def test_a_value_of_the_wrong_shape_is_a_lint_error_not_a_traceback(tmp_path, name, text, problem):
    write(tmp_path, name, text)
    data, diagnostics, _ = parse_assist(tmp_path)
    assert data is None
    assert any(d.severity == "error" and d.path == f"_assist/{name}" and problem in d.message
               for d in diagnostics), diagnostics


def test_a_misspelled_scoring_key_is_an_error_at_its_line_not_silently_ignored(tmp_path):
    write(tmp_path, "taxonomy.yaml", "# the KB's tuning\nscoring:\n  neighbours: 9\n  temprature: 0.05\n")
    data, diagnostics, _ = parse_assist(tmp_path)
    (problem,) = [d for d in diagnostics if d.severity == "error"]
    assert data is None and (problem.path, problem.line) == ("_assist/taxonomy.yaml", 4)
    assert "temprature" in problem.message


def test_without_the_built_in_pack_every_scoring_setting_is_required(tmp_path):
    """defaults: false used to get the code's own numbers, which differed from the pack's."""
    import yaml

    from indexer.assist_data import DEFAULTS

    taxonomy = yaml.safe_load((DEFAULTS / "taxonomy.yaml").read_text(encoding="utf-8"))
    del taxonomy["scoring"]["neutral_prior"]
    for name in ("cues.yaml", "examples.yaml"):
        write(tmp_path, name, (DEFAULTS / name).read_text(encoding="utf-8"))
    write(tmp_path, "taxonomy.yaml", "defaults: false\n" + yaml.safe_dump(taxonomy, allow_unicode=True))
    data, diagnostics, _ = parse_assist(tmp_path)
    assert data is None and any("scoring.neutral_prior: missing" in d.message for d in diagnostics), diagnostics


def test_triage_reads_no_scoring_default_of_its_own():
    """One source of the values: the pack. The code read 17 of them with fallbacks that differed from it."""
    from tests.helpers import ROOT

    for name in ("triage.py", "context.py", "train.py", "model.py"):
        assert "scoring.get(" not in (ROOT / "assist" / name).read_text(encoding="utf-8"), name


def test_a_kb_that_renames_labels_is_told_to_drop_the_built_in_pack(tmp_path):
    write(tmp_path, "taxonomy.yaml", "emotions: [生气, 焦虑, neutral, 开心]\n")
    data, diagnostics, _ = parse_assist(tmp_path)
    assert data is None
    assert any(d.path.startswith(BUILT_IN.rel) for d in diagnostics)  # the built-in examples' emotions are unknown
    assert any(d.path == "_assist/taxonomy.yaml" and "'defaults: false'" in d.message for d in diagnostics)


def test_an_index_from_an_older_version_gets_the_packs_value_for_a_setting_added_since():
    from indexer.scoring import Scoring, built_in

    old = {k: v for k, v in built_in().items() if k != "handoff_probability"}
    old["removed_since"] = 1.0
    assert Scoring.of_index(old) == Scoring.from_mapping(built_in())
    assert Scoring.from_mapping(built_in()).replace(example_weight={"urgency": 2.5}).example_weight.intent \
        == built_in()["example_weight"]["intent"]
