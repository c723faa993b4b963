#!/usr/bin/env python3
"""Oracle for Perturb's CLIP BPE tokenizer (runtime/text/tokenizer_bpe.cpp).

Written from the algorithm of openai/CLIP's simple_tokenizer.py (Radford et al. 2021):
bytes_to_unicode, the token pattern, merges from lines 1..49152-256-2 of the vocabulary file,
'</w>' at word ends, <|startoftext|>/<|endoftext|>, html-unescape + whitespace clean + lower,
context length with the end marker kept on truncation. CLIP's vocabulary file is not available
here, so this script first learns a small merges file (plain BPE training on a fixed corpus,
ties broken by the pair's text) and writes it as bpe_small.txt and bpe_small.txt.gz, then
writes the expected ids of a set of sentences to bpe_expected.json.

Deviations from CLIP, shared with the C++ code: no ftfy; Python's `re` instead of `regex`
(\\p{L} as [^\\W\\d_], \\p{N} as \\d — the same on the sentences used here).
Run: cd tests/conformance/text && /usr/bin/python3 clip_bpe_oracle.py
"""
import collections
import gzip
import html
import json
import re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


PATTERN = re.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""",
    re.IGNORECASE)


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def get_pairs(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class Tokenizer:
    def __init__(self, vocab_text):
        self.byte_encoder = bytes_to_unicode()
        lines = vocab_text.split("\n")[1:49152 - 256 - 2 + 1]
        merges = [tuple(line.split()) for line in lines if line.strip()]
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for merge in merges:
            vocab.append("".join(merge))
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.vocab_size = len(vocab)  # ids, whether or not a symbol repeats
        self.bpe_ranks = dict(zip(merges, range(len(merges))))

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        return " ".join(word)

    def encode(self, text):
        ids = []
        for token in re.findall(PATTERN, clean(text)):
            if token in ("<|startoftext|>", "<|endoftext|>"):
                ids.append(self.encoder[token])
                continue
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def tokenize(self, text, context_length):
        sot, eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        tokens = [sot] + self.encode(text) + [eot]
        if len(tokens) > context_length:
            tokens = tokens[:context_length]
            tokens[-1] = eot
        return tokens


def learn_merges(corpus, count):
    """Plain BPE training on byte-mapped words ending in '</w>'; ties by the pair's text."""
    enc = bytes_to_unicode()
    words = collections.Counter()
    for line in corpus:
        for token in re.findall(PATTERN, clean(line)):
            symbols = [enc[b] for b in token.encode("utf-8")]
            symbols[-1] += "</w>"
            words[tuple(symbols)] += 1
    merges = []
    for _ in range(count):
        stats = collections.Counter()
        for word, freq in words.items():
            for pair in zip(word, word[1:]):
                stats[pair] += freq
        if not stats:
            break
        best = max(stats.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = collections.Counter()
        for word, freq in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += freq
        words = merged
    return merges


CORPUS = [
    "a dark wide t-shirt on a black background", "a pair of light narrow trousers",
    "this pullover is bulky and pale", "a photo of a dress that looks symmetric",
    "the coat shown here is tall and dark", "product shot of a small sandal",
    "a picture of a shirt, lopsided, bright", "there is a white sneaker in the picture",
    "a catalogue image of a handbag", "an ankle boot, which is heavy and broad",
    "two young guys with shaggy hair look at their hands while hanging out in the yard",
    "a man in an orange hat starring at something", "it's the dog's ball, they're playing",
]

SENTENCES = [
    "A dark, wide T-shirt!",
    "  two   black  sneakers\n on a  white\tbackground ",
    "it's the coat's 3rd owner's",
    "Crème brûlée &amp; café &lt;3",
    "<|startoftext|>hello world<|endoftext|>",
    "numbers 2026 and 3.14 (approx.)",
    "emoji \U0001F600\U0001F600 and ___underscores__ here",
    "UPPER lower MiXeD CaSe",
    "a picture of a shirt, lopsided, bright, with a very long caption that goes on and on "
    "so that it must be truncated at the context length of the model",
    "a&nbsp;coat\u00a0on\u2003green\u3000grass &#233;t&#xE9;",
    "",
]


def main():
    merges = learn_merges(CORPUS, 300)
    vocab_text = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    with open("bpe_small.txt", "w", encoding="utf-8") as f:
        f.write(vocab_text)
    with gzip.GzipFile("bpe_small.txt.gz", "wb", mtime=0) as f:
        f.write(vocab_text.encode("utf-8"))
    tok = Tokenizer(vocab_text)
    expected = {
        "vocab_size": tok.vocab_size,
        "sentences": SENTENCES,
        "length77": [tok.tokenize(s, 77) for s in SENTENCES],
        "length12": [tok.tokenize(s, 12) for s in SENTENCES],
    }
    with open("bpe_expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=None)
        f.write("\n")
    print(f"{len(merges)} merges, vocabulary {tok.vocab_size}, {len(SENTENCES)} sentences")


if __name__ == "__main__":
    main()
