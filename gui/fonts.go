package gui

import (
	"os"
	"sync"

	"github.com/go-text/typesetting/fontscan"
)

// Fonts for text Fyne's bundled fonts cannot draw.
//
// Fyne 2.8 bundles Noto Sans (Latin, Greek, Cyrillic), an EmojiOne colour font and a symbol font.
// For any other rune it asks go-text's fontscan for a system font that has it (fontscan indexes the
// font folders, including those fontconfig's configuration names, and picks by script), and it does
// so whatever the locale: the locale only adds one face up front. That fallback has one weak point:
// fontscan indexes the system fonts once per process, in the folder the first caller names, and
// Fyne names the user's cache folder. When that folder cannot be written (no $HOME, a read-only
// home, a bad $XDG_CACHE_HOME) the index fails, Fyne drops the fallback for good, and every CJK
// character and every emoji newer than EmojiOne shows as a box. useSystemFonts makes the first call
// itself, with a folder that works, and says once which kinds of text no installed font can draw.

// fontNeed is a kind of text that Fyne's bundled fonts cannot draw, the runes that stand for it,
// and the Debian/Ubuntu package that brings a font for it.
type fontNeed struct {
	what  string
	probe []rune
	pkg   string
}

// fontNeeds are the kinds of text Poplar promises to show when their font packages are installed.
var fontNeeds = []fontNeed{
	{"Chinese, Japanese and Korean text", []rune{'田', 'あ', '한'}, "fonts-noto-cjk"},
	{"emoji newer than Fyne's bundled set", []rune{'\U0001FAE0'}, "fonts-noto-color-emoji"}, // 🫠 (Unicode 14)
}

var systemFontsOnce sync.Once

// useSystemFonts makes sure Fyne can fall back to the system fonts for characters its bundled
// fonts lack (CJK, newer emoji, other scripts), whatever the locale, and logs once through logf
// which kinds of text no installed font can draw (with the package to install). Nothing else
// changes: the theme stays Fyne's. Call it once, before the app draws any text; later calls do
// nothing. It reads the font folders on a goroutine (about 30 ms with a warm index), except when the
// user's cache folder cannot be written: then it indexes into a temporary folder before returning
// (about 65 ms), because Fyne must not be the first to ask.
func useSystemFonts(logf func(format string, args ...any)) {
	systemFontsOnce.Do(func() {
		dir, temp, err := fontIndexDir()
		if err != nil {
			logf("fonts: no folder to index the system fonts in (%v): characters Fyne's own fonts lack will show as boxes", err)
			return
		}
		if !temp {
			go indexSystemFonts(dir, logf)
			return
		}
		indexSystemFonts(dir, logf)
		os.RemoveAll(dir) // the index lives on in memory; a new one is made at the next start
	})
}

// indexSystemFonts has fontscan index the system fonts, keeping its index file in dir, and logs
// what is missing. fontscan keeps the index for the whole process, and Fyne's font map uses it.
func indexSystemFonts(dir string, logf func(format string, args ...any)) {
	fonts, err := fontscan.SystemFonts(quietLog{}, dir)
	if err != nil {
		logf("fonts: cannot index the system fonts (%v): characters Fyne's own fonts lack will show as boxes", err)
		return
	}
	for _, n := range missingFonts(fonts, fontNeeds) {
		logf("fonts: no installed font draws %s; it will show as boxes until %s is installed", n.what, n.pkg)
	}
}

// fontIndexDir returns the folder fontscan should keep its index of the system fonts in: the
// user's cache folder, the one Fyne would use, when a file can be created there; otherwise a new
// temporary folder (temp is true) that the caller removes once the fonts are indexed.
func fontIndexDir() (dir string, temp bool, err error) {
	if d, err := os.UserCacheDir(); err == nil && canWrite(d) {
		return d, false, nil
	}
	d, err := os.MkdirTemp("", "poplar-fonts-")
	if err != nil {
		return "", false, err
	}
	return d, true, nil
}

// canWrite reports whether a file can be created in dir, creating dir if need be.
func canWrite(dir string) bool {
	if os.MkdirAll(dir, 0o700) != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".poplar-probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// missingFonts returns the needs for which some probe rune is in none of fonts.
func missingFonts(fonts []fontscan.Footprint, needs []fontNeed) []fontNeed {
	var missing []fontNeed
	for _, n := range needs {
		for _, r := range n.probe {
			if _, ok := fontFor(fonts, r); !ok {
				missing = append(missing, n)
				break
			}
		}
	}
	return missing
}

// fontFor returns the (normalised) family of the first of fonts that has a glyph for r.
func fontFor(fonts []fontscan.Footprint, r rune) (family string, ok bool) {
	for _, f := range fonts {
		if f.Runes.Contains(r) {
			return f.Family, true
		}
	}
	return "", false
}

// quietLog drops fontscan's chatter (missing optional fontconfig files and the like).
type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
