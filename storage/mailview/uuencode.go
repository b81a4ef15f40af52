package mailview

import (
	"mime"
	"path/filepath"
	"regexp"
	"strings"
)

// uuBase numbers attachments found uuencoded inside a text part: part index + k*uuBase for the
// k-th block (k >= 1). Real part indices stay below Options.MaxParts, far under uuBase.
const uuBase = 1_000_000

var uuBegin = regexp.MustCompile(`(?m)^begin [0-7]{3,4} ([^\n]+)\n`)

// uuBlock is one uuencoded file inside a text.
type uuBlock struct {
	name       string
	start, end int // the block's extent in the text, "begin" line to "end" line
	data       []byte
}

// findUUBlocks finds up to 100 uuencoded files in text.
func findUUBlocks(text string) []uuBlock {
	var out []uuBlock
	pos := 0
	for len(out) < 100 {
		loc := uuBegin.FindStringSubmatchIndex(text[pos:])
		if loc == nil {
			break
		}
		start := pos + loc[0]
		name := strings.TrimSpace(text[pos+loc[2] : pos+loc[3]])
		body := pos + loc[1]
		endRel := strings.Index(text[body:], "\nend")
		if endRel < 0 {
			break
		}
		end := body + endRel + len("\nend")
		if nl := strings.IndexByte(text[end:], '\n'); nl >= 0 {
			end += nl + 1
		} else {
			end = len(text)
		}
		out = append(out, uuBlock{name: name, start: start, end: end, data: uudecode(text[body : body+endRel])})
		pos = end
	}
	return out
}

// uudecode decodes the lines of a uuencoded body, tolerating damage.
func uudecode(s string) []byte {
	var out []byte
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		n := int((line[0] - ' ') & 63)
		if n == 0 {
			continue
		}
		var chunk []byte
		for i := 1; i+3 < len(line)+1 && len(chunk) < n; i += 4 {
			var c [4]byte
			for j := 0; j < 4; j++ {
				if i+j < len(line) {
					c[j] = (line[i+j] - ' ') & 63
				}
			}
			chunk = append(chunk, c[0]<<2|c[1]>>4, c[1]<<4|c[2]>>2, c[2]<<6|c[3])
		}
		if len(chunk) > n {
			chunk = chunk[:n]
		}
		out = append(out, chunk...)
	}
	return out
}

// uuType guesses a media type from a file name.
func uuType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		if i := strings.IndexByte(t, ';'); i >= 0 {
			t = t[:i]
		}
		return t
	}
	return "application/octet-stream"
}
