"""The triage data of one index (``index.assist``: the built-in pack and the KB's ``_assist/`` layer,
indexer.assist_data), compiled once at load time."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from indexer.scoring import Scoring
from indexer.store import Index
from indexer.tokenize import normalize

from .classifier import Classifier
from .types import Evidence


@dataclass(frozen=True)
class Cue:
    regex: re.Pattern
    weight: float
    scopes: tuple[tuple[int, tuple[str, ...]], ...]  # (window, words) that cancel a match preceded by them


class CueSet:
    """Labels of one group (intent, emotion, handoff, …), each with its weighted regular expressions."""

    def __init__(self, name: str, by_label: dict[str, list], scopes: dict[str, Any]):
        self.name = name
        self.labels = tuple(by_label)
        self.cues = {label: tuple(Cue(re.compile(pattern), weight, _scopes(f"{name}.{label}", scopes))
                                  for pattern, weight in entries)
                     for label, entries in by_label.items()}
        # one search per label says whether any of its cues occurs at all: most labels' do not, and a message
        # is then spared the label's dozens of separate searches (the same result, a tenth of the calls)
        self._any = {label: _union([pattern for pattern, _ in entries]) for label, entries in by_label.items()}

    def scores(self, text: str, source: str = "message") -> dict[str, tuple[float, list[Evidence]]]:
        """label → (summed weight of its cues found in ``text``, the evidence); labels without a cue left out."""
        out: dict[str, tuple[float, list[Evidence]]] = {}
        for label, cues in self.cues.items():
            gate = self._any[label]
            if gate is not None and gate.search(text) is None:
                continue
            total, evidence = 0.0, []
            for cue in cues:
                found = _first_unscoped(cue, text)
                if found is not None:
                    total += cue.weight
                    evidence.append(Evidence("cue", found, cue.weight, label, source))
            if evidence:
                out[label] = (total, evidence)
        return out

    def denied(self, text: str, scored: Iterable[str]) -> set[str]:
        """Labels a cue names only under a scope word (不着急, 没生气): the customer denies the feeling, so the
        learned signals (neighbours, classifier), which read the words but not the negation, must not restore it.
        ``scored``: the labels ``scores(text)`` found (the caller has them already)."""
        found = {label for label, cues in self.cues.items()
                 if any(cue.weight > 0 and cue.scopes and cue.regex.search(text) for cue in cues)}
        return found - set(scored)

    def total(self, text: str) -> float:
        return sum(score for score, _ in self.scores(text).values())


def _union(patterns: list[str]) -> re.Pattern | None:
    """All the patterns as one alternation; None when they cannot be joined (e.g. a pattern with a global flag)."""
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
    except re.error:
        return None


def _scopes(target: str, scopes: dict[str, Any]) -> tuple[tuple[int, tuple[str, ...]], ...]:
    return tuple((s["window"], tuple(s["words"])) for s in scopes.values() if target in s["applies_to"])


def _first_unscoped(cue: Cue, text: str) -> str | None:
    """The first match of the cue that no scope word (negation, hypothetical) ends ``window`` characters before."""
    for match in cue.regex.finditer(text):
        start = match.start()
        if not any(word in text[max(0, start - window - len(word) + 1):start]
                   for window, words in cue.scopes for word in words):
            return match.group(0)
    return None


@dataclass(frozen=True)
class TriageModel:
    taxonomy: dict[str, Any]
    intents: tuple[str, ...]
    emotions: tuple[str, ...]
    intent_cues: CueSet
    emotion_cues: CueSet
    urgency_cues: CueSet  # urgency_high: reason → cues
    handoff_cues: CueSet
    flat: dict[str, CueSet]  # urgency_owned/_browsing, closure, push, followup: one label each ("")
    examples: tuple[dict, ...]
    example_vectors: np.ndarray
    example_labels: dict[str, np.ndarray]  # dimension → label index per example
    intent_of_article: dict[str, str]
    intent_of_category: dict[str, str]
    comfort: tuple[dict, ...]
    scoring: Scoring
    classifier: Classifier | None = None  # trained at build time (assist.train); None in an index without one

    @classmethod
    def of_index(cls, index: Index) -> "TriageModel | None":
        data = index.assist
        if data is None:
            return None
        taxonomy, cues = data["taxonomy"], data["cues"]
        scopes = cues.get("scopes", {})
        intents = tuple(i["label"] for i in taxonomy["intents"])
        emotions = tuple(taxonomy["emotions"])
        levels = tuple(taxonomy["urgency"]["levels"])
        examples = tuple(data["examples"])
        labels = {"intent": intents, "urgency": levels, "emotion": emotions}
        return cls(
            taxonomy=taxonomy, intents=intents, emotions=emotions,
            intent_cues=CueSet("intent", cues["intent"], scopes),
            emotion_cues=CueSet("emotion", cues["emotion"], scopes),
            urgency_cues=CueSet("urgency_high", cues["urgency_high"], scopes),
            handoff_cues=CueSet("handoff", cues["handoff"], scopes),
            flat={name: CueSet(name, {"": cues[name]}, scopes)
                  for name in ("urgency_owned", "urgency_browsing", "closure", "push", "followup")},
            examples=examples, example_vectors=np.asarray(index.assist_vectors, dtype=np.float32),
            example_labels={dim: np.array([names.index(e[dim]) for e in examples], dtype=np.int64)
                            for dim, names in labels.items()},
            intent_of_article={a: i["label"] for i in taxonomy["intents"] for a in i.get("articles") or ()},
            intent_of_category={c: i["label"] for i in taxonomy["intents"] for c in i.get("categories") or ()},
            comfort=tuple(data["comfort"]), scoring=Scoring.of_index(taxonomy.get("scoring") or {}),
            classifier=Classifier.of_index(index),
        )

    def intent_info(self, label: str) -> dict[str, Any]:
        return next(i for i in self.taxonomy["intents"] if i["label"] == label)

    def levels(self) -> tuple[str, ...]:
        return tuple(self.taxonomy["urgency"]["levels"])


# Traditional characters customers type (Taiwan, Hong Kong, some phones) → the simplified ones the cues are
# written in, one character for one: the common characters of a shop chat, not a full converter.
_TRADITIONAL = str.maketrans(
    "們這還沒發貨嗎麼錢換質過膚臉價買賣遞運費單號處訂說話請問題東褲顏碼當時間會點樣兒裡裏餅堅壞爛變黴蟲髮頭長寬幾後帶給讓務態評訴專業電優劵紅腫癢醫嬰寶氣無語騙滿謝讚歡愛開關簽驛櫃輸轉達區郵應該為覺實際圖對"
    "錯補償賠詢聯繫係機個經闆負責動總體驗證偽禮庫現壓擠髒漬縮線脫鈕釦鏈層塊軟鹹製產廠標籤劑噁聽見視頻錄邊從來進選擇雙節熱涼潤膩護潔鮮軋針織絲闊測試辦將準離譜帳額兩筆銀稅據報銷況寫隨認識彈擔憂慮驚嚇趕須週內"
    "網傷嘔瀉悶亂檢馬幫誰煩親團購惡罵顧蘋歲貴淨極級細緊鬆濕乾塗飾罰廣場樂輕訊鐘錶計劃剛聞舊歸屬於與並盡儘餘虧漲師導執勞協簡麗牆驟擁邏輯餓飯飽燒鍋臺灣門閃闖懷餵嗆誤嚥癒藥斷續紙損灑蓋啟隻條顆張盤種類則規範適傳裝説麽衹紮摺盜擺設",
    "们这还没发货吗么钱换质过肤脸价买卖递运费单号处订说话请问题东裤颜码当时间会点样儿里里饼坚坏烂变霉虫发头长宽几后带给让务态评诉专业电优券红肿痒医婴宝气无语骗满谢赞欢爱开关签驿柜输转达区邮应该为觉实际图对"
    "错补偿赔询联系系机个经板负责动总体验证伪礼库现压挤脏渍缩线脱钮扣链层块软咸制产厂标签剂恶听见视频录边从来进选择双节热凉润腻护洁鲜轧针织丝阔测试办将准离谱账额两笔银税据报销况写随认识弹担忧虑惊吓赶须周内"
    "网伤呕泻闷乱检马帮谁烦亲团购恶骂顾苹岁贵净极级细紧松湿干涂饰罚广场乐轻讯钟表计划刚闻旧归属于与并尽尽余亏涨师导执劳协简丽墙骤拥逻辑饿饭饱烧锅台湾门闪闯怀喂呛误咽愈药断续纸损洒盖启只条颗张盘种类则规范适传装说么只扎折盗摆设",
)


def clean(text: str) -> str:
    """What the cues read: lowercased, full-width ASCII folded (！？ → !?), traditional characters folded to
    simplified (還沒 → 还没), spaces squeezed."""
    return " ".join(normalize(text).translate(_TRADITIONAL).split())
