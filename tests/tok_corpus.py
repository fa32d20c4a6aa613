#!/usr/bin/python3
"""tok_corpus.py — the test documents of tests/test_hf_tokenizer.sh: inputs that a tokenizer.json
implementation gets wrong first, to be tokenized by `./train tokenize` and by Hugging Face's
tokenizers library (tests/hf_tokenize.js) and compared id for id.

    /usr/bin/python3 tests/tok_corpus.py OUTDIR [TINYSTORIES_TEXT]

writes OUTDIR/doc_00.txt ... doc_NN.txt (50 files, about 140 KB) and prints one line per
document: its name, size and what it covers. The output is the same on every run (no clock, no
Python `random`: a fixed 64-bit LCG). TINYSTORIES_TEXT is the real English prose of the corpus:
default ../shared/data/tinystories/tinystories_valid_part.txt beside the repository (the
TinyStories validation text, roneneldan/TinyStories, CDLA-Sharing-1.0; see ../shared/README.md).

Covered: English prose, Latin with diacritics, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai,
CJK, Hangul, Japanese kana, emoji (ZWJ sequences, flags, skin tones, keycaps, tag sequences),
combining marks, code (C, Python, JSON), whitespace runs (spaces to 300, tabs, \\n, \\r\\n, \\r),
digit runs and digits of other scripts, contractions in both cases, special-token strings in the
text, words that Llama 3's ignore_merges takes whole, unusual whitespace (U+0085, U+00A0, U+180E, U+2028, U+3000, U+FEFF, U+200B, U+001C..1F ...),
byte order marks, invalid UTF-8 (lone continuation bytes, truncated sequences, overlongs,
surrogates, F5..FF), random bytes, an empty file, one character, only spaces, a leading space,
one long (~100 KB) mixed document.

Two rules keep the comparison about the tokenizer and nothing else:
- no NUL byte (stretch refuses NUL in text);
- no character assigned after Unicode 14: the C side matches with PCRE2 10.42 (Unicode 14
  tables), the reference (Rust's regex crates) with newer ones, so a later letter would be \\p{L} on one side only. Checked
  below: every character must be assigned in this Python's Unicode database, which is exactly
  Unicode 14.0 for /usr/bin/python3 (3.11) on the project's machine.
"""
import os
import sys
import unicodedata

# --- deterministic choices: a 64-bit LCG (Knuth's MMIX constants) -------------------------
class Rng:
    def __init__(self, seed):
        self.s = seed & (2**64 - 1)

    def next(self, n):
        """a number in [0, n)"""
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        return (self.s >> 33) % n

    def pick(self, seq):
        return seq[self.next(len(seq))]


# --- the fragments -----------------------------------------------------------------------
LATIN = ("Voilà, mon cœur: déjà vu à l'été, naïve façade, Noël. Größe, Straße, Übermaß, "
         "ÄÖÜäöüß. Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy. "
         "Tiếng Việt có dấu: người, được, những, Nguyễn. Þú ert ðar, Ægir. İstanbul ılık, "
         "IĞDIR ŞİŞLİ. Ångström, señor, mañana, ¿Qué tal? ¡Olé! Dŵr, ŷ, Ŵ. ǅemal ǈ ǋ. "
         "ﬁnancial ﬂow (ligatures), ſtraße (long s).")
GREEK = ("Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Τὴν γλῶσσαν μοῦ ἔδωσαν ἑλληνική· ᾿Αθῆναι, "
         "ᾄδω, ῥῶ. ΑΒΓΔ αβγδ ς σ Σ. μ vs \u00b5 (micro sign), Ω vs \u2126 (ohm).")
CYRILLIC = ("Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЛКА ёлка. "
            "Україна: ґанок, їжак, єнот. Беларусь: ў. Српски: ђ, ћ, љ, њ, џ. Й и\u0306.")
ARABIC = ("العربية لغة جميلة. مَرْحَبًا بِكُمْ في البيت! الرقم ٠١٢٣٤٥٦٧٨٩ و ۰۱۲۳ (فارسی). "
          "لا إله، ﻻ ﷲ ﷺ. اختبار\u200cنص\u200dمتصل. السؤال؟ نعم؛ لا.")
HEBREW = ("שָׁלוֹם עוֹלָם! זוהי בדיקה של עברית עם ניקוד: בְּרֵאשִׁית בָּרָא אֱלֹהִים. "
          "מספרים 123 בתוך טקסט, וגם \u200fסימן כיוון\u200e.")
DEVANAGARI = ("नमस्ते दुनिया! यह हिंदी का परीक्षण है। क्षत्रिय, ज्ञान, श्री, द्वार। "
              "अंक: ०१२३४५६७८९। मैंने कहा — \"ठीक है\"॥ ॐ")
THAI = ("ภาษาไทยไม่มีการเว้นวรรคระหว่างคำแต่เว้นวรรคระหว่างประโยค สวัสดีครับ "
        "ตัวเลขไทย ๐๑๒๓๔๕๖๗๘๙ น้ำ ไม้ เก้า")
CJK = ("我能吞下玻璃而不伤身体。漢字と简体字、繁體字。中华人民共和国成立于1949年。"
       "「引号」『书名』（括号）【方括号】，。！？：；、…… 𠀋𠂉𪚥 (CJK Ext B) 〇一二三")
HANGUL = ("다람쥐 헌 쳇바퀴에 타고파. 한국어 테스트입니다! 안녕하세요? "
          "조합형: \u1100\u1161\u11a8 \u1112\u1161\u11ab. ㄱㄴㄷ ㅏㅑ. 一二 한자 混用.")
JAPANESE = ("いろはにほへと ちりぬるを。カタカナとひらがな、漢字を混ぜた文章です。"
            "ｶﾀｶﾅ半角ﾃｽﾄ。ゔ ヴ ー 〜 ゝゞ ヽヾ。東京タワーは333メートル。")
EMOJI = ("😀😃😄 👍 👍🏻👍🏼👍🏽👍🏾👍🏿 👨‍👩‍👧‍👦 family, 👩‍❤️‍💋‍👨 kiss, 🧑‍💻 coder, "
         "🏳️‍🌈 🏴‍☠️ flags: 🇺🇸🇯🇵🇫🇷🇩🇪🇧🇷 🇺 🇸 (split), "
         "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f (England), "
         "keycaps 1️⃣ #️⃣ *️⃣, ❤️ vs ❤, ☺️, ✌🏽, 🤷‍♀️, 🙋🏾‍♂️. 😀x😀 a😀b 🎉🎉🎉🎉")
COMBINING = ("e\u0301 vs é; a\u0308 vs ä; n\u0303 ñ; Z\u0336a\u0335l\u0334g\u0337o\u0338: "
             "T\u0315\u0350\u0362h\u0334\u033f\u0323e\u0327\u0300 \u0363\u0364\u0365 "
             "q\u0307\u0323 x\u034fy (CGJ) \u0301leading mark, \u20dd enclosing, "
             "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309 stack")
C_CODE = r'''#include <stdio.h>
#include <stdlib.h>

/* count the bytes of a file */
static long count(FILE *f) {
	long n = 0;
	for (int c; (c = getc(f)) != EOF; n++) {}
	return n;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    printf("%ld bytes\n", count(f));   // done
    return x->y[i++] <<= 3 && a != b || !c ? 0x7fffffffUL : -1.5e-3f;
}
'''
PY_CODE = '''import sys


class Counter:
    """Counts words.

    Indented with spaces; the method below uses a tab.
    """

    def __init__(self, words=None):
        self.words = dict(words or {})

    def add(self, word: str) -> int:
\t\tself.words[word] = self.words.get(word, 0) + 1
\t\treturn self.words[word]

        # a comment after a blank line, deeper indentation
            if True:
                    pass


if __name__ == "__main__":
    c = Counter()
    for line in sys.stdin:
        for w in line.split():
            c.add(w.lower())
    print(sorted(c.words.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
    x = [i ** 2 for i in range(10) if i % 2 == 0]  # squares
    s = f"{x!r:>20} {{braces}} \\\\n 'single' \\"double\\" """
'''
JSON_TEXT = '''{
  "name": "stretch",
  "version": "0.1.0",
  "numbers": [0, -1, 3.14159, 2.5e-10, 1E+6, 12345678901234567890],
  "nested": {"a": {"b": {"c": [true, false, null]}}},
  "escapes": "tab\\tnewline\\nquote\\"unicode\\u00e9\\ud83d\\ude00",
  "empty": {}, "list": [], "unicode": "日本語 ключ ελληνικά",
\t"tabbed": "value",
  "url": "https://example.com/path?q=1&r=a%20b#frag"
}
'''
DIGITS = ("0 1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890 "
          "3.14159265358979323846264338327950288419716939937510 -0.000001 1e-9 6.022e23 "
          "1,234,567.89 1.234.567,89 1 234 567 2024-01-31 23:59:59.999 +1-800-555-0199 "
          "0xDEADBEEF 0b1010_1010 0o777 v1.2.3-rc.4 192.168.0.1 $19.99 €5 50% 3/4 "
          "² ³ ¹ ¼ ½ ¾ ⅓ ⅞ ⁰⁴⁵ ₀₁₂ Ⅰ Ⅱ Ⅻ ⅿ ① ⑳ ⓿ ❶ １２３４５ ٣٤٥ ۷۸۹ ४५६ ๔๕๖ 〇 十 "
          "x86_64 3rd 21st iPhone15Pro H2O CO₂ A4 B12 007 10000000000000000000000000000001")
CONTRACTIONS = ("it's isn't I'm you're we've they'll she'd he's can't won't "
                "IT'S ISN'T I'M YOU'RE WE'VE THEY'LL SHE'D HE'S CAN'T WON'T DON'T "
                "It'S iT's I'm i'M We'Ve tHEY'lL She'D 's 't 're 've 'm 'll 'd "
                "'S 'T 'RE 'VE 'M 'LL 'D ''s '''t x'sy x'Sy o'clock rock'n'roll "
                "Ma'am y'all'd've 'twas 'TIS 'Tis "
                "upper case then letters (one piece unless (?i:) takes 'S): 'Some 'Stand 'Time 'More 'Mon "
                "'May 'Me 'Dis 'Don 'Day 'LLe 'VEx 'Rex x'SwAS "
                "curly: it’s I’M we’ll ‘quoted’ "
                "long s: IT'ſ he'ſx 'ſ 'ſſ (full Unicode case folding would take 'ſ as 's) "
                "Kelvin 'K 'k 'ǅ digits '12 '99s space ' s quote at end'")
SPECIAL = ("<s> </s> <unk> <s></s><s> <<s>> < s > <s <|endoftext|> <|begin_of_text|> "
           "<|end_of_text|> <|eot_id|> <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|> "
           "<|reserved_special_token_5|> <|reserved_special_token_250|> "
           "<|endoftext <|endoftext|><|endoftext|> x<|endoftext|>y "
           "<|begin_of_text|>   <|begin_of_text|>\n<s>\n</s>\t<unk> "
           "<|ENDOFTEXT|> <S> </ s> <|endoftext|>\u00e9 \u00a0<s>\u00a0 say hello world now, "
           "hello  world, hello world</s> \n</s>\n  </s>  x")
UNUSUAL_WS = ("a\u00a0b\u00a0\u00a0c no-break; d\u0085e\u0085\u0085f next-line; "
              "g\u2028h line-sep; i\u2029j para-sep; k\u3000l\u3000\u3000m ideographic; "
              "n\ufeffo\ufeff\ufeffp bom/zwnbsp; q\u200br\u200b\u200bs zwsp; "
              "t\u180eu mongolian-vs; v\u1680w ogham; "
              "x\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200ay en..hair; "
              "z\u202f\u205f! narrow/math; \x0bvt\x0cff \x1cfs\x1dgs\x1ers\x1fus (not White_Space); "
              "\u200c\u200d zwnj/zwj; \u2060 wj; \u00ad soft-hyphen; "
              "\u0085\n\u2028\n\u3000\n \u00a0\n\t\u0085 end\u00a0\u00a0\u00a0\n"
              "each after a space, before a letter: x \u0085y x \ufeffy x \u180ey x \u200by x \u00a0y "
              "x \u3000y x \u2028y x \x1fy x \x0by x \u0085\u0085 y x \ufeff\ufeff y x \u0085\ufeff\n")
# words that are one Llama 3 token (ignore_merges: a pre-token found in the vocab is taken whole)
# but two to four tokens by its merges alone
IGNORE_MERGES = ("Bu konuda dikkat, milyon, tekrar, merkez olsun; tespit, meydana, itibaren, küçük. "
                 "Việc này hợp, nhiều điều ở Việt ngoài nhiên; biệt nhiệm hiểu biểu diễn riêng. "
                 "Это даже характер, практи культу; використ розвит вироб. "
                 "Každý všechny jeho zdrav odbor vztah nejsou. ایران اطلاعات. "
                 "Arthropoda Insecta .:.:.:.:.:.:.:.: oluştur geliş değiş ulaş")
PUNCT = ("Hello, World! What?! Wait... Really?!?! \"Quoted\" 'single' «guillemets» „German“ "
         "‘curly’ “double” — em – en ‐ hyphen ‒ figure … ellipsis !!! ??? ,,, ;;; ::: ... "
         "@user #hashtag $var %mod ^caret &amp *star (paren) [bracket] {brace} <angle> "
         "a|b \\back /slash ~tilde `tick` _under_ +plus= -minus "
         "https://huggingface.co/docs/tokenizers?x=1&y=2#top user.name+tag@example.org "
         "**bold** _ital_ `code` # Heading\n> quote\n- item\n1. first\n| a | b |\n|---|---|\n"
         "∑∫√∞≠≤≥±×÷ ℕℝℤ ∀x∈A: x≥0 → ∃y ⇒ ⊂⊆∪∩ ° ′ ″ © ® ™ § ¶ † ‡ • ¬ ¢ £ ¥ ₹ ₿")
WS_RUNS = (" " + "a b  c   d    e     f      g       h        i" + " " * 16 + "j\n"
           + "\n".join(("x" + " " * n + "y") for n in (1, 2, 3, 7, 15, 31, 63, 100, 101, 128, 129, 255, 300)) + "\n"
           + "tabs:\tone\t\ttwo\t\t\tthree\t \t mixed \t\n"
           + "trailing spaces   \ntrailing tab\t\n   leading spaces\n\tleading tab\n"
           + "\n\n\n\nfour blank lines above\n"
           + "crlf line\r\nanother\r\n\r\n\r\nblank crlf lines\r\n"
           + "lone cr\rold mac\r\rdouble cr\r"
           + "mixed \r\n\n\r\r\n \r\n\t\r\n  \n \n \n"
           + " " * 150 + "\n" + "\t" * 40 + "\n" + " \n" * 10 + "end" + " " * 120)


def tinystories(path):
    """the paragraphs of the TinyStories text (bytes, separated by blank lines)"""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.exit(f"tok_corpus.py: {path}: {e.strerror} (the TinyStories text of ../shared, "
                 "see ../shared/README.md; or pass its path as the second argument)")
    paras = [p for p in data.replace(b"\r\n", b"\n").split(b"\n\n") if p.strip()]
    if len(paras) < 2000:
        sys.exit(f"tok_corpus.py: {path}: only {len(paras)} paragraphs; expected the TinyStories text")
    return paras


def random_bytes(rng, n):
    """n random bytes without NUL: many invalid UTF-8 sequences; a valid character is kept only
    when it is below U+0800 and assigned (else it becomes 'x'), so no post-14 character slips in"""
    raw = bytearray()
    while len(raw) < n:
        r = rng.next(10)
        if r < 4:
            raw.append(0x20 + rng.next(0x5f))          # printable ASCII
        elif r < 5:
            raw.append(rng.pick(b"\t\n\r "))
        else:
            raw.append(0x80 + rng.next(0x80))          # continuation bytes, leads, C0 C1 F5..FF
    out = bytearray()
    for ch in raw.decode("utf-8", "surrogateescape"):
        if 0xdc80 <= ord(ch) <= 0xdcff:
            out.append(ord(ch) - 0xdc00)             # an invalid byte, kept as it was
        elif ord(ch) < 0x800 and unicodedata.category(ch) != "Cn":
            out += ch.encode()
        else:
            out += b"x"
    return bytes(out)


# invalid UTF-8: (bytes, what WHATWG's decoder makes of it)
INVALID = [
    (b"\x80", "lone continuation"), (b"\xbf\x80\xbf", "three continuations"),
    (b"\xc3", "truncated 2-byte"), (b"\xe2\x82", "truncated 3-byte"), (b"\xe2", "3-byte lead only"),
    (b"\xf0\x9f\x98", "truncated 4-byte"), (b"\xf0\x9f", "4-byte lead + 1"), (b"\xf0", "4-byte lead only"),
    (b"\xc0\xaf", "overlong '/' (C0 AF)"), (b"\xc1\xbf", "overlong C1"), (b"\xe0\x80\xaf", "overlong 3-byte"),
    (b"\xf0\x80\x80\xaf", "overlong 4-byte"), (b"\xed\xa0\x80", "surrogate D800"),
    (b"\xed\xbf\xbf", "surrogate DFFF"), (b"\xed\xa0\xbd\xed\xb8\x80", "surrogate pair (CESU-8)"),
    (b"\xf4\x90\x80\x80", "above U+10FFFF"), (b"\xf5\x80\x80\x80", "F5 lead"), (b"\xf8\x88\x80\x80\x80", "5-byte form"),
    (b"\xfc\x84\x80\x80\x80\x80", "6-byte form"), (b"\xfe", "FE"), (b"\xff", "FF"), (b"\xff\xfe", "FF FE"),
    (b"\xc3\x28", "2-byte lead + ASCII"), (b"\xe2\x28\xa1", "3-byte, bad second"), (b"\xe2\x82\x28", "3-byte, bad third"),
    (b"\xf0\x28\x8c\xbc", "4-byte, bad second"), (b"\xf0\x90\x28\xbc", "4-byte, bad third"),
    (b"\xef\xbf\xbd", "a real U+FFFD"), (b"\xef\xbf\xbf", "U+FFFF noncharacter"), (b"\xef\xb7\x90", "U+FDD0 noncharacter"),
    (b"\xc2\x80\xc2\x9f", "C1 controls (valid)"),
]


def build(tiny):
    rng = Rng(20250101)
    docs = []   # (bytes, description)

    def add(data, what):
        if isinstance(data, str):
            data = data.encode()
        docs.append((data, what))

    def story(first, count):
        return b"\n\n".join(tiny[first:first + count]) + b"\n"

    add(b"", "empty file")
    add("a", "one character, no newline")
    add("漢", "one CJK character (3 bytes)")
    add(" " * 200, "only spaces (200)")
    add(b" " + story(0, 3), "TinyStories starting with a space")
    add(story(10, 12), "TinyStories prose (12 paragraphs)")
    add(story(400, 30), "TinyStories prose (30 paragraphs)")
    add(story(1500, 6).replace(b"\n", b"\r\n"), "TinyStories prose with \\r\\n line ends")
    add(story(2000, 8).upper(), "TinyStories prose in capitals (contractions DON'T, I'M ...)")
    add(b" ".join(p.replace(b"\n", b" ") for p in tiny[2500:2520]), "TinyStories as one line")
    add(LATIN, "Latin with diacritics, ligatures, long s")
    add(GREEK, "Greek with polytonic accents")
    add(CYRILLIC, "Cyrillic")
    add(ARABIC, "Arabic with harakat, Arabic-Indic digits, ZWNJ/ZWJ")
    add(HEBREW, "Hebrew with niqqud, direction marks")
    add(DEVANAGARI, "Devanagari with conjuncts and digits")
    add(THAI, "Thai (no spaces between words)")
    add(CJK, "CJK (with Ext B) and full-width punctuation")
    add(HANGUL, "Hangul, conjoining jamo")
    add(JAPANESE, "Japanese kana, kanji, half-width katakana")
    add(EMOJI, "emoji: ZWJ, skin tones, flags, keycaps, tag sequence")
    add(COMBINING, "combining marks, zalgo, a leading mark")
    add(C_CODE, "C code")
    add(PY_CODE, "Python code (spaces and tab indentation)")
    add(JSON_TEXT, "JSON")
    add(WS_RUNS, "whitespace runs (to 300 spaces), tabs, \\r\\n, \\r")
    add("\r\n\r\n\n\n\r\r\n", "only line ends")
    add("\n", "one newline")
    add(DIGITS, "digit runs, decimals, digits of other scripts, No/Nl numbers")
    add("".join(str((i * 7919) % 10) for i in range(1000)), "1000 digits in one run")
    add(CONTRACTIONS, "contractions in lower, upper and mixed case; 'ſ")
    add(SPECIAL, "special-token strings in the text (and near misses)")
    add("<s>Hello</s>", "text between <s> and </s> (Prepend after a special token)")
    add("<|begin_of_text|>Hello world<|endoftext|>", "Llama 3 and GPT-2 special tokens at the edges")
    add(UNUSUAL_WS, "unusual whitespace: U+0085 U+00A0 U+180E U+2028 U+3000 U+FEFF U+200B U+1C..1F")
    add(b"\xef\xbb\xbfOnce upon a time.\n", "a byte order mark at the start (TextDecoder drops it)")
    add(b"\xef\xbb\xbf\xef\xbb\xbf two BOMs\xef\xbb\xbf", "two byte order marks at the start, one inside")
    add(b" \xef\xbb\xbfBOM after a space", "a byte order mark after a space (kept)")
    parts = []
    for raw, what in INVALID:
        parts.append(b"[" + what.encode() + b": " + raw + b"] x" + raw + b"y " + raw + raw + b"\n")
    add(b"".join(parts), "invalid UTF-8, case by case")
    add(b"\x80\x80text after lone continuations", "invalid UTF-8 at the start")
    add(b"text ending in a truncated sequence \xf0\x9f\x98", "invalid UTF-8 at the end (truncated 4-byte)")
    add(b"\xff" * 50 + b" " + b"\xc3" * 20 + b"\xe2\x82" * 10, "runs of invalid bytes")
    add(b"\xef\xbf\xbd\xff \xef\xbf\xbd\xef\xbf\xbd \xff\xff real and replaced U+FFFD", "U+FFFD, written and from invalid bytes")
    add(bytes(c for c in range(1, 32) if c not in (9, 10, 13)) + b" ctl \x7f del " +
        "".join(chr(c) for c in range(0x80, 0xa0)).encode(), "C0 and C1 control characters (no NUL)")
    add(PUNCT, "punctuation runs, URLs, markdown, symbols")
    add(IGNORE_MERGES, "words that Llama 3's ignore_merges takes whole")
    add("abcабвαβγ漢字123４５６abc123def H2O 3rd dogs' cats'' don't'nt " * 3,
        "scripts and digits without spaces")
    add("a" * 3000 + " " + "antidisestablishmentarianism" * 40 + " " + "漢" * 500 + " " + "😀" * 200,
        "very long words (BPE beyond any cache)")
    add(random_bytes(rng, 4096), "random bytes (no NUL)")

    # one long document, about 100 KB: prose with every kind of fragment mixed in
    frags = [LATIN, GREEK, CYRILLIC, ARABIC, HEBREW, DEVANAGARI, THAI, CJK, HANGUL, JAPANESE, EMOJI,
             COMBINING, C_CODE, PY_CODE, JSON_TEXT, DIGITS, CONTRACTIONS, SPECIAL, UNUSUAL_WS, PUNCT, IGNORE_MERGES]
    frags = [f.encode() for f in frags] + [raw for raw, _ in INVALID]
    long_doc = bytearray()
    i = 3000
    while len(long_doc) < 100_000:
        r = rng.next(10)
        if r < 6:
            long_doc += tiny[i] + rng.pick([b"\n\n", b"\n", b" ", b"\r\n", b""])
            i += 1
        elif r < 9:
            f = rng.pick(frags)
            a = rng.next(len(f))
            long_doc += f[a:a + 1 + rng.next(200)]    # may cut a character: more invalid UTF-8
        else:
            long_doc += rng.pick([b" ", b"\t", b"\n", "\u3000".encode()]) * (1 + rng.next(40))
    add(bytes(long_doc), "one long mixed document (about 100 KB)")
    return docs


def check(docs):
    """no NUL; every character assigned in this Python's Unicode database (14.0 on 3.11)"""
    for n, (data, what) in enumerate(docs):
        if b"\0" in data:
            sys.exit(f"tok_corpus.py: doc_{n:02d} ({what}) has a NUL byte")
        for ch in data.decode("utf-8", "replace"):
            if unicodedata.category(ch) == "Cn" and ch not in "\ufffe\uffff\ufdd0":
                sys.exit(f"tok_corpus.py: doc_{n:02d} ({what}): U+{ord(ch):04X} is not assigned in "
                         f"Unicode {unicodedata.unidata_version}")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: /usr/bin/python3 tests/tok_corpus.py OUTDIR [TINYSTORIES_TEXT]")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        root, "..", "shared", "data", "tinystories", "tinystories_valid_part.txt")
    docs = build(tinystories(text))
    check(docs)
    os.makedirs(sys.argv[1], exist_ok=True)
    for n, (data, what) in enumerate(docs):
        name = f"doc_{n:02d}.txt"
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            f.write(data)
        print(f"{name}\t{len(data)}\t{what}")


if __name__ == "__main__":
    main()
