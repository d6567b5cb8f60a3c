"""Triage, comfort lines and conversation context through the API (fake embedder: the cue lexicons and the
suggested articles decide; nearest examples know no meaning), and the checks on kb/_assist."""
import shutil

import pytest

from indexer.parse import parse_kb
from server import create_app
from tests.helpers import ROOT, TODAY, make_searcher


@pytest.fixture
def client(assist_index_root, config, hash_embedder):
    """A fresh app over the fixture KB with the shipped triage data (kb/_assist), built once per session."""
    searcher = make_searcher(assist_index_root, hash_embedder, config)
    return create_app(config, searcher=searcher, today=lambda: TODAY).test_client()


def ask(client, question, **body):
    response = client.post("/v1/suggest", json={"question": question, **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_every_answer_carries_a_triage_with_evidence(client):
    body = ask(client, "我要退款！！面霜用了两天脸上起红疹了")
    triage = body["triage"]
    assert set(triage) == {"intent", "urgency", "emotion", "handoff", "context"}
    assert triage["intent"]["label"] == "售后/质量"
    assert triage["urgency"]["label"] == "high" and {"refund", "safety"} <= set(triage["urgency"]["reasons"])
    assert triage["emotion"]["label"] in ("angry", "anxious") and 0 < triage["emotion"]["intensity"] <= 1
    assert triage["handoff"] == {"needed": True, "reason": "risk", "evidence": triage["handoff"]["evidence"]}
    assert any(e["signal"] == "cue" and "红疹" in e["text"] for e in triage["handoff"]["evidence"])
    assert body["comfort"]["id"] == "allergy-first-response" and "就医" in body["comfort"]["text"]


@pytest.mark.parametrize("question, needed, reason", [
    ("转人工", True, "request"),
    ("你们主管呢 叫你们经理来", True, "request"),
    ("你是真人还是机器人", False, None),
    ("不用转人工了 已经好了", False, None),
    ("再不发货我就给差评", True, "complaint"),
    ("发货了吗", False, None),
])
def test_handoff_requests_identity_questions_and_threats(client, question, needed, reason):
    handoff = ask(client, question)["triage"]["handoff"]
    assert (handoff["needed"], handoff["reason"]) == (needed, reason)


def test_plain_question_is_calm_and_gets_no_comfort_line(client):
    body = ask(client, "面霜保质期多久")
    assert body["triage"]["emotion"]["label"] == "neutral"
    assert body["triage"]["urgency"]["label"] in ("low", "normal")
    assert body["comfort"] is None


def test_follow_up_carries_the_earlier_topic_and_product(client):
    turns = [{"role": "customer", "text": "面霜保质期多久"}, {"role": "agent", "text": "亲，未开封3年哦"}]
    body = ask(client, "那精华液呢", conversation=turns)
    context = body["triage"]["context"]
    assert "精华液" in context["search_text"] and "保质期" in context["search_text"]
    assert "面霜" not in context["search_text"], "the follow-up names its own product"
    assert body["suggestions"][0]["article_id"] == "serum-shelf-life"
    without = ask(client, "那精华液呢")
    assert without["triage"]["context"]["search_text"] == "那精华液呢"


def test_more_than_three_rounds_on_one_topic_hands_off(client):
    turns = []
    for text in ("我的快递怎么还没发货", "发货了没有啊", "快递到底什么时候发"):
        turns += [{"role": "customer", "text": text}, {"role": "agent", "text": "亲，正在为您催促仓库"}]
    handoff = ask(client, "还没发货吗", conversation=turns)["triage"]["handoff"]
    assert (handoff["needed"], handoff["reason"]) == (True, "rounds")
    assert ask(client, "还没发货吗", conversation=turns[2:])["triage"]["handoff"]["needed"] is False
    closed = turns[:2] + [{"role": "customer", "text": "好的 谢谢"}] + turns[2:]
    assert ask(client, "还没发货吗", conversation=closed)["triage"]["context"]["customer_rounds"] == 3


def test_escalating_emotion_raises_urgency(client):
    # the same message alone is the baseline: the escalation, not its words, must raise the level
    message = "搞什么啊！！一周了还不到 垃圾"
    calm = ask(client, message)["triage"]["urgency"]["label"]
    turns = [{"role": "customer", "text": "快递到哪了"}, {"role": "agent", "text": "亲，在路上了"},
             {"role": "customer", "text": "怎么还没到 好着急"}, {"role": "agent", "text": "亲，稍等"}]
    triage = ask(client, message, conversation=turns)["triage"]
    assert triage["context"]["escalation"][-1] == "angry"
    levels = ["low", "normal", "high"]
    assert levels.index(triage["urgency"]["label"]) > levels.index(calm)


def test_batch_results_carry_triage(client):
    results = client.post("/v1/suggest/batch", json={"questions": ["转人工", "发货时间"]}).get_json()["results"]
    assert [r["triage"]["handoff"]["needed"] for r in results] == [True, False]


@pytest.mark.parametrize("conversation, status, code", [
    ("not a list", 400, "invalid_request"),
    ([{"role": "bot", "text": "hi"}], 400, "invalid_request"),
    ([{"role": "customer"}], 400, "invalid_request"),
    ([{"role": "customer", "text": "hi", "at": 1}], 400, "invalid_request"),
    (["hi"], 400, "invalid_request"),
    ([{"role": "customer", "text": "hi"}] * 21, 413, "conversation_too_long"),
    ([{"role": "agent", "text": "长" * 1001}], 413, "turn_too_long"),
])
def test_malformed_conversation_gets_the_error_shape(client, conversation, status, code):
    response = client.post("/v1/suggest", json={"question": "发货", "conversation": conversation})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_a_kb_without_its_own_triage_data_is_triaged_by_the_built_in_pack(app):
    body = app.test_client().post("/v1/suggest", json={"question": "气死了 发货时间到底是几天"}).get_json()
    assert body["suggestions"][0]["article_id"] == "shipping-time"
    assert body["triage"]["intent"]["label"] == "物流" and body["triage"]["emotion"]["label"] == "angry"
    assert body["comfort"] is not None


def test_lint_reports_broken_triage_data_with_file_and_line(kb_copy):
    shutil.copytree(ROOT / "kb" / "_assist", kb_copy / "_assist")
    assert not parse_kb(kb_copy, today=TODAY).errors
    cues = kb_copy / "_assist" / "cues.yaml"  # the KB's layer over the built-in pack
    cues.write_text("intent:\n  物流:\n    '揽收': 1\n    '发货(': 2\n  闲谈:\n    '哈哈': 1\n", encoding="utf-8")
    examples = kb_copy / "_assist" / "examples.yaml"
    examples.write_text("examples:\n  - {text: 随便问问, intent: 未知, urgency: low, emotion: neutral}\n",
                        encoding="utf-8")
    (kb_copy / "_assist" / "comfort").mkdir()
    (kb_copy / "_assist" / "comfort" / "bad.md").write_text("---\nid: bad\nemotions: [furious]\n---\n亲\n", "utf-8")
    errors = {(d.path, d.message.split(":")[0]) for d in parse_kb(kb_copy, today=TODAY).errors}
    assert ("_assist/cues.yaml", "intent.物流") in errors  # the broken regex
    assert ("_assist/cues.yaml", "intent") in errors  # the unknown label
    assert any(path == "_assist/examples.yaml" for path, _ in errors)
    assert any(path == "_assist/comfort/bad.md" for path, _ in errors)
    line = next(d.line for d in parse_kb(kb_copy, today=TODAY).errors if "发货(" in d.message)
    assert "'发货(': 2" in cues.read_text("utf-8").splitlines()[line - 1]


@pytest.mark.parametrize("question, emotion", [
    ("不着急 慢慢发就行", "neutral"),  # negation: the worry is denied
    ("没生气哈 就是问下大概什么时候到", "neutral"),
    ("你们发货效率真是高啊 十天了还没动", "angry"),  # sarcasm
    ("开衫袖口脱线了 有点遗憾", "angry"),  # polite disappointment
    ("牛轧糖好吃到犯规 你们真的太过分了", "positive"),  # strong words as praise
    ("鲜花饼有股酸味 还能吃吗", "anxious"),
])
def test_emotion_reads_negation_sarcasm_and_praise(client, question, emotion):
    assert ask(client, question)["triage"]["emotion"]["label"] == emotion


@pytest.mark.parametrize("question, needed, reason, high", [
    ("用了三天 脸上冒了好多闭口 还很痒", True, "risk", "safety"),  # a reaction is a health risk
    ("吃了你家牛轧糖 晚上上吐下泻", True, "risk", "safety"),
    ("再不处理我就去市场监管局举报你们", True, "risk", "complaint"),
    ("卖假货的要退一赔三 懂吗", True, "complaint", "complaint"),
    ("放心 不会给你们差评的", False, None, None),
    ("订单号6912315008 什么时候发货", False, None, None),  # 12315 inside an order number is no threat
    ("万一用了过敏怎么办 能退吗", False, None, None),  # hypothetical
])
def test_health_and_legal_risks_hand_off_and_are_high(client, question, needed, reason, high):
    triage = ask(client, question)["triage"]
    assert (triage["handoff"]["needed"], triage["handoff"]["reason"]) == (needed, reason)
    if high:
        assert triage["urgency"]["label"] == "high" and high in triage["urgency"]["reasons"]
    else:
        assert triage["urgency"]["label"] != "high"


def test_a_question_about_a_possible_problem_is_no_complaint(client):
    for question in ("这件开衫会起球吗", "有色差吗", "质量怎么样"):
        triage = ask(client, question)["triage"]
        assert triage["intent"]["label"] != "售后/质量" and triage["urgency"]["label"] != "high", question


def test_traditional_characters_read_like_simplified(client):
    triage = ask(client, "我的包裹怎麼還沒到")["triage"]
    assert triage["intent"]["label"] == "物流"
    assert any(e["text"] == "怎么还没到" for e in triage["intent"]["evidence"])


def test_a_follow_up_on_a_quality_problem_stays_high_until_the_customer_closes_it(client):
    turns = [{"role": "customer", "text": "收到的面霜瓶口漏了好多"}, {"role": "agent", "text": "亲 麻烦拍个照片"},
             {"role": "customer", "text": "照片发你了"}, {"role": "agent", "text": "收到 帮您核实"}]
    urgency = ask(client, "怎么处理", conversation=turns)["triage"]["urgency"]
    assert urgency["label"] == "high" and urgency["reasons"] == ["quality"]
    assert any(e["source"] == "context" and e["text"] == "漏了" for e in urgency["evidence"])
    assert ask(client, "怎么处理")["triage"]["urgency"]["label"] != "high"
    assert ask(client, "好的 谢谢", conversation=turns)["triage"]["urgency"]["label"] != "high"


def test_a_reaction_told_earlier_still_hands_off(client):
    turns = [{"role": "customer", "text": "用了面霜脸上过敏了"}, {"role": "agent", "text": "亲 请先停用"}]
    handoff = ask(client, "现在好点了 但还是有点红", conversation=turns)["triage"]["handoff"]
    assert (handoff["needed"], handoff["reason"]) == (True, "risk")


def test_growing_worry_is_not_high_but_growing_anger_is(client):
    turns = [{"role": "customer", "text": "你好 发票怎么开"}, {"role": "agent", "text": "亲 订单详情页申请"}]
    assert ask(client, "找不到在哪 怎么办", conversation=turns)["triage"]["urgency"]["label"] == "normal"
    angry = ask(client, "搞什么 找半天都找不到 垃圾", conversation=turns)["triage"]
    assert angry["context"]["escalation"][-1] == "angry" and angry["urgency"]["label"] == "high"


def test_rounds_count_past_a_turn_with_a_weak_cue(client):
    turns = []
    for text in ("退货地址发一下", "寄回去了", "今天查了显示签收了"):
        turns += [{"role": "customer", "text": text}, {"role": "agent", "text": "好的亲 稍等"}]
    triage = ask(client, "那什么时候退钱", conversation=turns)["triage"]
    assert triage["context"]["customer_rounds"] == 4
    assert (triage["handoff"]["needed"], triage["handoff"]["reason"]) == (True, "rounds")


def test_lint_rejects_carried_reasons_the_taxonomy_does_not_declare(kb_copy):
    shutil.copytree(ROOT / "kb" / "_assist", kb_copy / "_assist")
    taxonomy = kb_copy / "_assist" / "taxonomy.yaml"
    taxonomy.write_text(taxonomy.read_text("utf-8") + "urgency:\n  carried: [quality, mood]\n", encoding="utf-8")
    errors = parse_kb(kb_copy, today=TODAY).errors
    assert any("urgency.carried" in d.message and "mood" in d.message for d in errors), errors
    assert {d.path for d in errors} == {"_assist/taxonomy.yaml"}


@pytest.mark.parametrize("question, reason", [
    ("我要申请平台介入", "complaint"),  # a complaint to the platform
    ("请问有人工吗", "request"),  # asks for one, unlike 你是人工吗
    ("牛轧糖里有颗石子 牙都崩了", "risk"),  # an injury
])
def test_more_hand_off_phrasings(client, question, reason):
    assert ask(client, question)["triage"]["handoff"]["reason"] == reason


def test_the_cardigans_name_is_no_foreign_object(client):
    triage = ask(client, "羊毛针织开衫可以机洗吗")["triage"]
    assert triage["intent"]["label"] != "售后/质量" and triage["urgency"]["label"] != "high"


def test_a_label_whose_cues_cannot_occur_is_skipped_without_changing_any_score():
    from assist.model import CueSet

    def cue_set():
        return CueSet("emotion", {"angry": [["气死", 2.0], ["投诉", 1.0]], "anxious": [["着急", 1.0]],
                                  "odd": [["(?i)abc", 1.0], ["def", 1.0]]},  # a mid-pattern global flag: no gate
                      {"negation": {"window": 2, "words": ["不"], "applies_to": ["emotion.anxious"]}})

    gated, ungated = cue_set(), cue_set()
    ungated._any = dict.fromkeys(ungated._any)
    assert gated._any["odd"] is None and gated._any["angry"] is not None
    for text in ("气死了 要投诉", "不着急", "ABC", "发货了吗"):
        assert gated.scores(text) == ungated.scores(text)
    assert set(gated.scores("气死了 要投诉")) == {"angry"} and gated.scores("不着急") == {}
    assert "odd" in gated.scores("ABC")
