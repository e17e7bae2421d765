"""A terminology check of the Hindi and Bengali catalogues: one English term, one rendering.

    python scripts/i18n_terms.py            # per term and language: how it is rendered, and where it is rendered otherwise
    python scripts/i18n_terms.py --all      # also list the messages where none of the known renderings was found
    python scripts/i18n_terms.py --strict   # exit 1 if a main term has a second rendering, or a message loses its
                                            # placeholders, maths or numbers, or uses native digits

The glossary below names, for each recurring technical and classroom term, its rendering in each language
(the first one is the catalogue's own: the most common and the most natural for an Indian classroom) and the
other renderings that were found for it. A message whose English holds the term should hold the rendering, in
any inflection ("परत", "परतें", "परतों"; "স্তর", "স্তরের"); a rendering named as ``avoid`` must not appear.

Where the English word is something a reader types (``--set depth=3``, ``"seed"``, ``{name}``, ``easy`` in "use
easy, medium or hard") it stays English and is not counted: those parts are cut out of the English before the
term is looked for (:func:`prose`).

It is a machine's review, not a native speaker's: it finds two words for one thing; which one a classroom uses
was chosen by what the catalogue mostly does.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("hi", "bn")


@dataclasses.dataclass(frozen=True)
class Term:
    """An English term, its rendering in each language (a regex, inflections allowed) and renderings to avoid."""

    english: str
    hi: str
    bn: str
    avoid_hi: str = ""
    avoid_bn: str = ""
    main: bool = True
    """Main terms are held by the test: every message with the term has the rendering and none to avoid."""
    name: str = ""
    """What the report calls the term, where its regex is not readable."""
    unless: str = ""
    """English contexts in which the term means something else ("layer norm", "hard sigmoid"), cut out first."""

    def rendering(self, lang: str) -> str:
        return str(getattr(self, lang))

    def avoid(self, lang: str) -> str:
        return str(getattr(self, f"avoid_{lang}"))


def _t(english: str, hi: str, bn: str, **kw: Any) -> Term:
    return Term(english, hi, bn, **kw)


GLOSSARY: tuple[Term, ...] = (
    # the mathematics of the chapters
    _t(r"gradients?", "ग्रेडिएंट", "গ্রেডিয়েন্ট", avoid_hi="प्रवणता|ग्रेडियेंट", avoid_bn="নতি"),
    _t(r"layers?", "परत", "স্তর", avoid_hi="लेयर", avoid_bn="লেয়ার", unless=r"layer[- ]norm\w*"),
    _t(r"weights?", "भार", "ওজন", avoid_hi="वज़न|वजन|वेट", avoid_bn="ওয়েট", unless=r"weight layers"),
    _t(r"bias(es)?", "बायस", "বায়াস", avoid_hi="अभिनति|पूर्वाग्रह", avoid_bn="পক্ষপাত"),
    _t(r"inputs?", "इनपुट", "ইনপুট", avoid_hi="निवेश", avoid_bn="ইনপুট্"),
    _t(r"outputs?", "आउटपुट", "আউটপুট", avoid_hi="निर्गम"),
    _t(r"rows?", "पंक्ति|पंक्तियाँ|पंक्तियों", "সারি", avoid_bn="সারী",
       unless=r"one name a line|one a line|in a row"),
    _t(r"columns?", "स्तंभ", "কলাম", avoid_hi="कॉलम|कालम|स्तम्भ", avoid_bn="স্তম্ভ"),
    _t(r"cells?", "खान", "ঘর", avoid_hi="सेल\\b|कोष्ठ", avoid_bn="সেল\\b",
       unless=r"LSTM cell|one cell per time step"),
    _t(r"blanks?", "रिक्त स्थान", "ফাঁকা|শূন্যস্থান", avoid_hi="खाली खान", main=False),
    _t(r"hints?", "संकेत", "ইঙ্গিত", avoid_hi="सुझाव|इशारा", avoid_bn="সংকেত"),
    _t(r"answer key", "उत्तर कुंजी|उत्तर-कुंजी|उत्तर कुंजियाँ", "উত্তরমালা", avoid_bn="উত্তর চাবি|উত্তরের চাবি"),
    _t(r"answers?", "उत्तर", "উত্তর", avoid_hi="जवाब", avoid_bn="জবাব"),
    _t(r"worked solution", "हल", "সমাধান"),
    _t(r"causal mask", "कॉज़ल मास्क", "কজাল মাস্ক", avoid_hi="कारणात्मक|कारण", avoid_bn="কার্যকারণ"),
    _t(r"masks?", "मास्क", "মাস্ক", avoid_hi="मुखौटा|आवरण", avoid_bn="মুখোশ"),
    _t(r"skips?", "स्किप", "স্কিপ", main=True),
    _t(r"softmax", "सॉफ़्टमैक्स", "সফটম্যাক্স", avoid_hi="सॉफ्टमैक्स|सोफ्टमैक्स", avoid_bn="সফ্টম্যাক্স"),
    _t(r"transposed?", "ट्रांसपोज़", "ট্রান্সপোজ", avoid_hi="पक्षांतर"),
    _t(r"matri(x|ces)", "मैट्रिक्स", "ম্যাট্রিক্স", avoid_hi="आव्यूह", avoid_bn="ম্যাট্রিক্‌স|মেট্রিক্স"),
    _t(r"vectors?", "सदिश", "ভেক্টর", avoid_hi="वेक्टर|वेक्टर", avoid_bn="সদিশ"),
    _t(r"scalar", "अदिश", "স্কেলার", avoid_hi="स्केलर"),
    _t(r"tensors?", "टेंसर", "টেনসর"),
    _t(r"tokens?", "टोकन", "টোকেন"),
    _t(r"quer(y|ies)", "क्वेरी", "কোয়েরি"),
    _t(r"(keys(?= ×)|key(?= size| come)|later keys|(?<=is )key|(?<=\()key)", "कुंजी|कुंजियाँ", "কী",
       avoid_hi=r"(^|[\s(])की\s+(है|का आकार|क्वेरी)",
       avoid_bn=r"কি-(টি|এর)|হলো কি(?![\u0980-\u09ff])|\(কি(?![\u0980-\u09ff])", name="key (attention)"),
    _t(r"heads?", "हेड", "হেড", avoid_hi="शीर्ष", avoid_bn="মাথা"),
    _t(r"experts?", "विशेषज्ञ", "বিশেষজ্ঞ", avoid_hi="एक्सपर्ट", avoid_bn="এক্সপার্ট"),
    _t(r"samples?", "नमून", "নমুনা", avoid_hi="सैंपल", avoid_bn="স্যাম্পল"),
    _t(r"batch(es)?", "बैच", "ব্যাচ", unless=r"batch[- ]norm\w*|batch size|batch=\d"),
    _t(r"loss(es)?", "लॉस", "লস", avoid_hi="हानि", avoid_bn="ক্ষতি"),
    _t(r"logits?", "लॉजिट", "লজিট"),
    _t(r"probabilit(y|ies)", "प्रायिकता", "সম্ভাবনা", avoid_hi="संभावना"),
    _t(r"cross[- ]entropy", "क्रॉस-एन्ट्रॉपी", "ক্রস-এনট্রপি", avoid_hi="एंट्रॉपी|एन्ट्रोपी", unless=r"cross_entropy"),
    _t(r"temperature", "तापमान", "তাপমাত্রা"),
    _t(r"features?", "फ़ीचर", "ফিচার", avoid_hi="विशेषता|फीचर", avoid_bn="বৈশিষ্ট্য"),
    _t(r"hidden", "छिप", "লুকানো", avoid_hi="गुप्त", avoid_bn="গোপন"),
    _t(r"units?", "इकाई|इकाइयाँ|इकाइयों", "একক", avoid_hi="यूनिट", avoid_bn="ইউনিট"),
    _t(r"neurons?", "न्यूरॉन", "নিউরন"),
    _t(r"residual", "रेज़िडुअल", "রেসিডুয়াল", avoid_hi="अवशिष्ट|रेसिडुअल", avoid_bn="অবশিষ্ট"),
    _t(r"attention", "अटेंशन", "অ্যাটেনশন", avoid_hi="ध्यान(?! देता)", avoid_bn="মনোযোগ(?! দেয়)"),
    _t(r"filters?", "फ़िल्टर", "ফিল্টার", avoid_hi="फिल्टर"),
    _t(r"gates?", "गेट", "গেট", avoid_hi="द्वार", avoid_bn="দরজা"),
    _t(r"blocks?", "ब्लॉक", "ব্লক", avoid_hi="खंड",
       unless=r"\d+ blocks|blocks one|0 blocks|or blocks|can block"),  # ReLU "blocks": the verb is not the term
    _t(r"memory", "स्मृति", "স্মৃতি"),
    _t(r"forget(?= gates?)", "फ़ॉरगेट", "ফরগেট", avoid_hi="भूलने", avoid_bn="ভোলা"),
    _t(r"time steps?", "समय-चरण", "সময়-ধাপ", avoid_hi="समय-कदम"),
    _t(r"max-pool", "मैक्स-पूल", "ম্যাক্স-পুল"),
    _t(r"centred", "केंद्रित", "কেন্দ্রীভূত", avoid_bn="কেন্দ্রিত"),
    _t(r"dropout", "ड्रॉपआउट", "ড্রপআউট", unless=r"dropout=\S+"),
    _t(r"shift(ed|s)?", "शिफ़्ट", "শিফট", avoid_hi="शिफ्ट", avoid_bn="শিফ্ট"),
    _t(r"scal(e|ed)", "स्केल", "স্কেল", unless=r"scale needs"),
    _t(r"sigmoid", "सिग्मॉइड", "সিগময়েড", unless=r"hardsigmoid"),
    _t(r"hard(?=\s*(sigmoid|tanh|ones|\)))", "हार्ड", "হার্ড", name="hard (sigmoid, tanh)", avoid_hi="कठोर|कठिन", avoid_bn="কঠিন"),
    _t(r"noise", "नॉइज़", "নয়েজ", avoid_hi="शोर", avoid_bn="গোলমাল"),
    _t(r"targets?", "लक्ष्य", "লক্ষ্য"),
    _t(r"vocabulary", "शब्दावली", "শব্দভান্ডার", avoid_hi="शब्दकोश"),
    _t(r"embeddings?", "एम्बेडिंग", "এমবেডিং", unless=r"embeddings (needs|variant)"),
    _t(r"diagonal", "विकर्ण", "কর্ণ"),
    _t(r"entr(y|ies)", "प्रविष्टि|प्रविष्टियाँ|प्रविष्टियों", "উপাদান|এন্ট্রি", main=False),
    _t(r"mean", "माध्य", "গড়", unless=r"did you mean|you mean"),
    _t(r"(dot )?products?", "गुणनफल", "গুণফল", main=False),
    # the classroom
    _t(r"seeds?", "सीड", "সিড", avoid_hi="बीज", avoid_bn="বীজ"),
    _t(r"levels?", "स्तर", "কাঠিন্য", main=False, unless=r"level [LN]\b|backward level"),
    _t(r"easy", "आसान", "সহজ", avoid_hi="सरल"),
    _t(r"medium", "मध्यम", "মাঝারি"),
    _t(r"chapters?", "अध्याय", "অধ্যায়", avoid_hi="पाठ(?![\u0900-\u097f])"),
    _t(r"exercises?", "अभ्यास", "অনুশীলন", avoid_hi="प्रश्नावली"),
    _t(r"workbook", "अभ्यास-पुस्तिका|पुस्तिका", "অনুশীলনী-বই|বই", avoid_hi="कार्यपुस्तिका", avoid_bn="কার্যপুস্তিকা"),
    _t(r"worksheets?", "अभ्यास पत्रक|वर्कशीट", "অনুশীলনী পত্র|ওয়ার্কশিট", main=False),
    _t(r"students?", "विद्यार्थी|विद्यार्थियों", "শিক্ষার্থী", avoid_hi="छात्र", avoid_bn="ছাত্র"),
    _t(r"teachers?", "शिक्षक", "শিক্ষক", avoid_hi="अध्यापक", avoid_bn="মাস্টার"),
    _t(r"class(es)?", "कक्षा", "ক্লাস", avoid_hi="क्लास", avoid_bn="শ্রেণি", unless=r"^classes$"),
    _t(r"assignments?", "असाइनमेंट", "অ্যাসাইনমেন্ট", avoid_hi="कार्य सौंप"),
    _t(r"variants?", "प्रश्न", "প্রশ্ন", main=False),
    _t(r"devices?", "डिवाइस", "ডিভাইস", avoid_hi="उपकरण"),
    _t(r"options?", "विकल्प", "বিকল্প", unless=r"options say|\boptions\b(?= \{)"),
)
"""The glossary: each term's rendering in Hindi and Bengali (a regex), and what is to be avoided."""

_INDIC_DIGITS = re.compile("[\u0966-\u096f\u09e6-\u09ef]")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sdr]|%[sd]")
_MATHS_CHARS = "₀₁₂₃₄₅₆₇₈₉ₜₕᵢⱼₖₓᵀᶻⁱⁿ⁰¹²³⁴⁵⁶⁷⁸⁹ᴳᴰ′″∂ΣσαβγδεηθλμπτφψωΔΘΠ·×−≈≠≤≥√→←⊙^"
_MATHS = re.compile(r"[^\s,;:()\[\]।]*[" + _MATHS_CHARS + r"][^\s,;:()\[\]।]*")
_NUMBER = re.compile(r"\d+")
_CODE = re.compile(r"'[^']*'|\"[^\"]*\"|(?<![\w-])--?[a-z][\w-]*|[\w-]+=\S*|\{[^{}]*\}|%\([a-z_]+\)[sdr]"
                   r"|\[[^\]]*\]|\S+\.\w{2,4}\b")
"""What a reader types or a program fills in: quoted values, options, key=value, placeholders, [choices], files."""
_CHOICES = re.compile(r"(use|e\.g\.|one of|choose)\s+(\w[\w-]*,\s*)*\w[\w-]*,?\s+(or|and)\s+\w[\w-]*", re.I)
"""A list of values to type ("use easy, medium or hard", "use cell, row or layer")."""


def catalogue(lang: str) -> Any:
    """The language's catalogue as ``scripts/i18n.py`` reads it (Babel)."""
    spec = importlib.util.spec_from_file_location("byhand_i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.read(lang)


def pairs(lang: str) -> list[tuple[str, str]]:
    """(English, translation) for every translated message (each form of a plural message)."""
    out = []
    for m in catalogue(lang):
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        for i, s in enumerate(strs):
            out.append((ids[min(i, len(ids) - 1)], s))
    return out


def prose(english: str) -> str:
    """The English a reader reads as words: what is typed (options, values, placeholders) cut out."""
    return _CODE.sub(" ", _CHOICES.sub(" ", english))


def uses(term: Term, english: str) -> bool:
    text = prose(english)
    if term.unless:
        text = re.sub(term.unless, " ", text, flags=re.I)
    return re.search(r"(?<![\w-])" + term.english + r"(?![\w-])", text, re.I) is not None


def renderings(lang: str, pairs_: list[tuple[str, str]] | None = None) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Per term: 'ok' (has the rendering, nothing to avoid), 'avoid' (has a rendering to avoid), 'none' (neither)."""
    pairs_ = pairs(lang) if pairs_ is None else pairs_
    out: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for term in GLOSSARY:
        got: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        for en, tr in pairs_:
            if not uses(term, en):
                continue
            text = _CODE.sub(" ", tr)
            if term.avoid(lang) and re.search(term.avoid(lang), text):
                got["avoid"].append((en, tr))
            elif re.search(term.rendering(lang), text):
                got["ok"].append((en, tr))
            else:
                got["none"].append((en, tr))
        out[term.english] = dict(got)
    return out


def maths_tokens(text: str) -> collections.Counter[str]:
    """The maths of a message (``Z₁ = W₁·X``'s ``Z₁``, ``W₁·X``), a case ending after a hyphen dropped (``A₂-কে``)."""
    toks = [re.sub(r"-[\u0900-\u09ff]+$", "", t).rstrip(".,") for t in _MATHS.findall(text)]
    return collections.Counter(t for t in toks if t)


def form_problems(english: str, translation: str) -> list[str]:
    """What a translation lost or changed of its English: placeholders, maths, numbers; native digits."""
    out = []
    en_ph = collections.Counter(_PLACEHOLDER.findall(english.replace("{{", "").replace("}}", "")))
    tr_ph = collections.Counter(_PLACEHOLDER.findall(translation.replace("{{", "").replace("}}", "")))
    if "{s}" not in tr_ph:
        en_ph.pop("{s}", None)  # the English plural ending ("input{s}"): a language without it drops it
    if en_ph != tr_ph:
        out.append(f"placeholders {sorted(en_ph.elements())} became {sorted(tr_ph.elements())}")
    if maths_tokens(english) != maths_tokens(translation):
        out.append(f"maths {sorted(maths_tokens(english).elements())} became {sorted(maths_tokens(translation).elements())}")
    en_n = set(_NUMBER.findall(_PLACEHOLDER.sub(" ", english)))
    tr_n = set(_NUMBER.findall(_PLACEHOLDER.sub(" ", translation)))
    if not en_n <= tr_n or not tr_n <= en_n | {"0"}:  # "zeros" may be written as 0
        out.append(f"numbers {sorted(en_n)} became {sorted(tr_n)}")
    if _INDIC_DIGITS.search(translation):
        out.append("native digits")
    return out


def spelling_variants(lang: str) -> list[list[str]]:
    """Words spelt two ways (with and without nukta, halant, chandrabindu: फ़ीचर/फीचर, শিফট/শিফ্ট)."""
    words: collections.Counter[str] = collections.Counter()
    for _en, tr in pairs(lang):
        words.update(re.findall(r"[\u0900-\u09ff]+", tr))
    groups: dict[str, set[str]] = collections.defaultdict(set)
    for w in words:
        key = re.sub("[\u093c\u094d\u09bc\u09cd\u200c\u200d]", "", w).replace("ँ", "ं").replace("\u09df", "\u09af")
        groups[key].add(w)
    return [sorted(g, key=lambda w: -words[w]) for g in groups.values() if len(g) > 1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="also list messages where no known rendering was found")
    ap.add_argument("--strict", action="store_true", help="exit 1 on a main term rendered otherwise or a form problem")
    a = ap.parse_args(argv)
    bad = 0
    for lang in LANGS:
        ps = pairs(lang)
        print(f"== {lang}: {len(ps)} translations")
        for term in GLOSSARY:
            got = renderings(lang, ps)[term.english]
            n = {k: len(v) for k, v in got.items()}
            if not n:
                continue
            flag = "!!" if got.get("avoid") else "  "
            label = term.name or term.english
            print(f"{flag} {label:28} {term.rendering(lang)[:30]:30} ok {n.get('ok', 0):3}  avoid {n.get('avoid', 0):3}"
                  f"  none {n.get('none', 0):3}{'' if term.main else '  (not held)'}")
            for en, tr in got.get("avoid", []):
                print(f"      avoid: {en!r}\n          -> {tr!r}")
            if a.all:
                for en, tr in got.get("none", []):
                    print(f"      none:  {en!r}\n          -> {tr!r}")
            if term.main:
                bad += len(got.get("avoid", []))
        for en, tr in ps:
            for p in form_problems(en, tr):
                bad += 1
                print(f"!! form: {p}: {en!r}\n          -> {tr!r}")
        for g in spelling_variants(lang):
            print(f"   spelt two ways: {' / '.join(g)}")
    return 1 if a.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
