package search

import (
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"golang.org/x/text/width"
)

// maxTermBytes bounds a term: longer runs of letters (base64 pasted into a body, long hex ids)
// are skipped, though they still take a position.
const maxTermBytes = 64

// analyzer breaks text into terms: runs of letters, digits and marks ('_' too) are words, folded
// to ASCII where Latin letters have accents ("García" → "garcia", "ß" → "ss") and lower-cased;
// runs of Chinese, Japanese and Korean characters are indexed as overlapping pairs ("会議は" →
// "会議", "議は"), a lone one as itself. Anything else (spaces, punctuation, apostrophes, '@',
// '.') separates words. Each term has a position, counted from 0, for phrases.
// An analyzer is not safe for concurrent use; it keeps its buffers between calls.
type analyzer struct {
	word  []byte // the word being built, folded
	fold  *asciifolding.AsciiFoldingFilter
	runes []rune // the CJK run being built
	cjk   []byte
}

func newAnalyzer() *analyzer { return &analyzer{fold: asciifolding.New()} }

// isCJK reports whether r is indexed in pairs.
func isCJK(r rune) bool {
	if r < 0x1100 {
		return false
	}
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) || r == 0x30FC // ー, the katakana length mark
}

// analyze calls emit for each term of text with its position, starting at pos; it returns the
// position after the last term. term is only valid during the call.
func (a *analyzer) analyze(text string, pos int, emit func(term []byte, pos int)) int {
	a.word = a.word[:0]
	a.runes = a.runes[:0]
	ascii := true
	endWord := func() {
		if len(a.word) == 0 {
			return
		}
		w := a.word
		if !ascii {
			w = a.foldWord(w)
		}
		if len(w) <= maxTermBytes {
			emit(w, pos)
		}
		pos++
		a.word, ascii = a.word[:0], true
	}
	endCJK := func() {
		switch n := len(a.runes); {
		case n == 1:
			a.cjk = utf8.AppendRune(a.cjk[:0], a.runes[0])
			emit(a.cjk, pos)
			pos++
		case n > 1:
			for i := 0; i+1 < n; i++ {
				a.cjk = utf8.AppendRune(utf8.AppendRune(a.cjk[:0], a.runes[i]), a.runes[i+1])
				emit(a.cjk, pos)
				pos++
			}
		}
		a.runes = a.runes[:0]
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
				endCJK()
				a.word = append(a.word, c)
			case c >= 'A' && c <= 'Z':
				endCJK()
				a.word = append(a.word, c+'a'-'A')
			default:
				endWord()
				endCJK()
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		switch {
		case r >= 0xFF61 && r <= 0xFFDC: // half-width katakana and hangul: as the full-width ones
			r, _ = utf8.DecodeRuneInString(width.Widen.String(string(r)))
			fallthrough
		case isCJK(r):
			endWord()
			a.runes = append(a.runes, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			endCJK()
			a.word = utf8.AppendRune(a.word, r)
			ascii = false
		default:
			endWord()
			endCJK()
		}
	}
	endWord()
	endCJK()
	return pos
}

// foldWord folds accented Latin letters (and full-width forms) to ASCII and lower-cases w, which
// it may change.
func (a *analyzer) foldWord(w []byte) []byte {
	w = a.fold.Filter(w)
	out := w[:0:0]
	for i := 0; i < len(w); {
		r, n := utf8.DecodeRune(w[i:])
		i += n
		out = utf8.AppendRune(out, unicode.ToLower(r))
	}
	return out
}

// isCommon reports whether w is one of the commonest English words. A pair of neighbouring words
// whose first is common is also indexed as a term of its own, under gramField (as Lucene's
// CommonGrams filter does, which also pairs a common word with the word before it): a phrase such
// as "the mail" is then one term, found in the documents that hold it, instead of the positions
// of "the" read in nearly every document. Pairs with the word before as well would make a phrase
// that ends in a common word fast too, but cost twice as much to build (docs/benchmarks.md).
// Changing the list changes what the index holds: docsMagic's version must change with it.
func isCommon(w []byte) bool {
	switch string(w) {
	case "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of",
		"on", "or", "that", "the", "this", "to", "was", "with":
		return true
	}
	return false
}

// gramField is the field byte of the pairs of words of field f ('b' → 'B').
func gramField(f byte) byte { return f - 'a' + 'A' }

// appendGram appends the term of the pair of words a and b: both, separated by a space (which no
// word holds).
func appendGram[T string | []byte](dst []byte, a, b T) []byte {
	return append(append(append(dst, a...), ' '), b...)
}

// terms returns the terms of text, in order.
func terms(text string) []string {
	var out []string
	newAnalyzer().analyze(text, 0, func(t []byte, _ int) { out = append(out, string(t)) })
	return out
}
