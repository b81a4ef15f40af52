package gui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/fontscan"
)

// The font tests draw these rows: CJK text, the same text with every character replaced by
// U+10FFFD (private use: no font has it, so it is always drawn as Fyne's box), and emoji that
// Fyne's bundled EmojiOne lacks. None of their characters is in a font Fyne bundles
// (TestFontSampleNeedsSystemFonts checks), so each shows as a box unless the system fallback works.
var (
	fontCJK   = "田中 花子 日本語"
	fontEmoji = "🫠 🥹 🫶"
	fontRows  = []string{fontCJK, tofuOf(fontCJK), fontEmoji}
	fontBG    = color.NRGBA{R: 0xff, G: 0xf8, B: 0xe7, A: 0xff} // a background found nowhere else on screen
)

const (
	fontHelperEnv = "POPLAR_FONT_HELPER" // "window" or "capture": this test binary draws fontRows
	fontPrimeEnv  = "POPLAR_FONT_PRIME"  // "0": the helper skips useSystemFonts
	fontOutEnv    = "POPLAR_FONT_OUT"    // where the capture helper writes its PNG
)

// TestMain runs the font helper when fontHelperEnv asks for it: a real Fyne window must run on the
// main goroutine, and fontscan indexes the system fonts once per process, so each setting gets a
// process of its own. Otherwise it makes the setup wizard's server certificate a system root
// (trustSetupCert) and runs the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(fontHelperEnv); mode != "" {
		os.Exit(fontHelper(mode))
	}
	cleanup, err := trustSetupCert()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if out := os.Getenv(setupShotEnv); out != "" {
		code := setupShot(out)
		cleanup()
		os.Exit(code)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func tofuOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' {
			return r
		}
		return '\U0010FFFD'
	}, s)
}

func TestFontIndexDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	writable := t.TempDir()
	for _, tc := range []struct {
		name, cacheHome, home string
		wantTemp              bool
	}{
		{"writable cache", writable, "", false},
		{"cache under a file", filepath.Join(file, "cache"), "", true},
		{"no cache home and no HOME", "", "", true},
		{"HOME under a file", "", file, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", tc.cacheHome)
			t.Setenv("HOME", tc.home)
			dir, temp, err := fontIndexDir()
			if err != nil {
				t.Fatal(err)
			}
			if temp {
				defer os.RemoveAll(dir)
			}
			if temp != tc.wantTemp || !temp && dir != tc.cacheHome {
				t.Fatalf("fontIndexDir() = %q, temp %v; want temp %v", dir, temp, tc.wantTemp)
			}
			if !canWrite(dir) {
				t.Fatalf("fontIndexDir() = %q, which cannot be written", dir)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("the probe file was left in %s: %v", dir, ents)
			}
		})
	}
}

func TestFontMissing(t *testing.T) {
	fp := func(family string, runes ...rune) fontscan.Footprint {
		f := fontscan.Footprint{Family: family}
		for _, r := range runes {
			f.Runes.Add(r)
		}
		return f
	}
	latin := fp("dejavusans", 'A', '😀')
	cjk := fp("notosanscjkjp", '田', 'あ', '한')
	emoji := fp("notocoloremoji", '😀', '\U0001FAE0')
	for _, tc := range []struct {
		name  string
		fonts []fontscan.Footprint
		want  []string
	}{
		{"no fonts", nil, []string{"fonts-noto-cjk", "fonts-noto-color-emoji"}},
		{"latin only", []fontscan.Footprint{latin}, []string{"fonts-noto-cjk", "fonts-noto-color-emoji"}},
		{"cjk", []fontscan.Footprint{latin, cjk}, []string{"fonts-noto-color-emoji"}},
		{"emoji", []fontscan.Footprint{emoji, latin}, []string{"fonts-noto-cjk"}},
		{"both", []fontscan.Footprint{latin, cjk, emoji}, nil},
		{"han without hangul", []fontscan.Footprint{fp("han", '田', 'あ'), emoji}, []string{"fonts-noto-cjk"}},
		{"cjk split over two fonts", []fontscan.Footprint{fp("ja", '田', 'あ'), fp("ko", '한'), emoji}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fontPkgs(missingFonts(tc.fonts, fontNeeds)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("missingFonts(%s) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
	if f, ok := fontFor([]fontscan.Footprint{latin, emoji}, '😀'); !ok || f != "dejavusans" {
		t.Fatalf("fontFor(😀) = %q, %v; want the first font that has it, dejavusans", f, ok)
	}
}

// TestFontSampleNeedsSystemFonts checks that no font Fyne bundles has a character of the test rows,
// so the screenshot tests can only pass through the system fallback.
func TestFontSampleNeedsSystemFonts(t *testing.T) {
	bundled := []fyne.Resource{theme.DefaultTextFont(), theme.DefaultTextBoldFont(), theme.DefaultTextMonospaceFont(),
		theme.DefaultSymbolFont()}
	if e := theme.DefaultEmojiFont(); e != nil {
		bundled = append(bundled, e)
	}
	for _, res := range bundled {
		face, err := font.ParseTTF(bytes.NewReader(res.Content()))
		if err != nil {
			t.Fatalf("parsing %s: %v", res.Name(), err)
		}
		for _, r := range fontCJK + fontEmoji {
			if _, ok := face.NominalGlyph(r); ok && r != ' ' {
				t.Errorf("Fyne's bundled %s has %c (%U): pick a test character it lacks", res.Name(), r, r)
			}
		}
	}
}

// fontSetting is one way to start Poplar: a locale, whether the user's cache folder can be
// written, and whether useSystemFonts runs. tofu says whether the rows should come out as boxes.
type fontSetting struct {
	name, lang           string
	brokenCache, noPrime bool
	tofu                 bool
}

var fontSettings = []fontSetting{
	{name: "C.UTF-8", lang: "C.UTF-8"},
	{name: "en_US.UTF-8, cache unwritable", lang: "en_US.UTF-8", brokenCache: true},
	// The failure useSystemFonts prevents: without it, Fyne loses its fallback when the cache
	// folder cannot be written. This also shows that the comparison sees boxes.
	{name: "en_US.UTF-8, cache unwritable, without useSystemFonts", lang: "en_US.UTF-8", brokenCache: true, noPrime: true, tofu: true},
}

// TestFontFallbackSoftware draws the rows with Fyne's software renderer (the test driver uses the
// same font code as the real window) in a child process per setting and checks the pixels.
func TestFontFallbackSoftware(t *testing.T) {
	requireFonts(t)
	for _, s := range fontSettings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "capture.png")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(fontEnv(t, s, dir), fontHelperEnv+"=capture", fontOutEnv+"="+out)
			log, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("font helper: %v\n%s", err, log)
			}
			t.Logf("helper: %s", strings.TrimSpace(string(log)))
			checkFontShot(t, s, readPNG(t, out))
		})
	}
}

// TestFontFallbackUnderXvfb draws the rows in a real window on the display .ci/session provides,
// one process per setting, takes a screenshot of the screen and checks the pixels. Without a
// display it is skipped, except under CI=true, where it fails. POPLAR_FONT_SHOT_DIR keeps the shots.
func TestFontFallbackUnderXvfb(t *testing.T) {
	requireXvfb(t)
	requireFonts(t)
	for i, s := range fontSettings {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(fontEnv(t, s, dir), fontHelperEnv+"=window")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			stop := func() string { // stderr may be read once the helper is gone
				cmd.Process.Kill()
				cmd.Wait()
				return strings.TrimSpace(stderr.String())
			}
			defer stop()
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() || sc.Text() != "ready" {
				t.Fatalf("the font window never started:\n%s", stop())
			}
			shot := filepath.Join(dir, "shot.png")
			var img image.Image
			for deadline := time.Now().Add(45 * time.Second); ; { // until the window is on screen
				img = screenshot(t, shot)
				if b := fontBounds(img); b.Dx() > 100 && b.Dy() > 100 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the font window never showed:\n%s", stop())
				}
				time.Sleep(200 * time.Millisecond)
			}
			if keep := os.Getenv("POPLAR_FONT_SHOT_DIR"); keep != "" {
				data, _ := os.ReadFile(shot)
				os.WriteFile(filepath.Join(keep, fmt.Sprintf("fonts-shot-%d.png", i)), data, 0o644)
			}
			t.Logf("helper: %s", stop())
			checkFontShot(t, s, img)
		})
	}
}

// requireFonts skips (or, under CI=true, fails) when the font packages are not installed.
func requireFonts(t *testing.T) {
	t.Helper()
	fonts, err := fontscan.SystemFonts(quietLog{}, t.TempDir())
	missing := missingFonts(fonts, fontNeeds)
	if err == nil && len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("cannot index the system fonts: %v", err)
	if err == nil {
		msg = fmt.Sprintf("fonts missing: run .ci/install-deps test to install %s", strings.Join(fontPkgs(missing), " "))
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// fontPkgs returns the packages of needs.
func fontPkgs(needs []fontNeed) []string {
	var pkgs []string
	for _, n := range needs {
		pkgs = append(pkgs, n.pkg)
	}
	return pkgs
}

// fontEnv returns the environment for a helper process in setting s, with its folders in dir.
func fontEnv(t *testing.T, s fontSetting, dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", fontPrimeEnv:
			continue
		}
		env = append(env, kv)
	}
	cache := filepath.Join(dir, "cache")
	if s.brokenCache { // a path under a file, which not even root can create
		file := filepath.Join(dir, "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(file, "cache")
	}
	env = append(env, "LANG="+s.lang, "XDG_CACHE_HOME="+cache, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	if s.noPrime {
		env = append(env, fontPrimeEnv+"=0")
	}
	return env
}

// checkFontShot finds the helper's rows in img and checks that the CJK row differs from its row of
// boxes and that the emoji are in colour — or, for a setting expected to fail, that they do not.
func checkFontShot(t *testing.T, s fontSetting, img image.Image) {
	t.Helper()
	b := fontBounds(img)
	if b.Empty() {
		t.Fatal("the font rows are not in the picture")
	}
	h := b.Dy() / len(fontRows)
	row := func(i int) image.Rectangle { return image.Rect(b.Min.X, b.Min.Y+i*h, b.Max.X, b.Min.Y+(i+1)*h) }
	differ, colour := pixelsDiffer(img, row(0), row(1)), colourful(img, row(2))
	area := b.Dx() * h
	t.Logf("%s: the CJK row differs from the boxes in %d of %d pixels; %d emoji pixels in colour", s.name, differ, area, colour)
	glyphs, emoji := differ > area/50, colour > area/100
	if s.tofu {
		if glyphs || emoji {
			t.Errorf("%s: expected boxes, got glyphs (CJK %v, emoji %v): has Fyne stopped losing its fallback when "+
				"the cache folder cannot be written? Then useSystemFonts's temporary index may be unneeded", s.name, glyphs, emoji)
		}
		return
	}
	if !glyphs {
		t.Errorf("%s: %q is drawn as boxes (differs from %q in only %d pixels)", s.name, fontCJK, tofuOf(fontCJK), differ)
	}
	if !emoji {
		t.Errorf("%s: %q is not drawn in colour (%d colourful pixels)", s.name, fontEmoji, colour)
	}
}

// fontBounds returns the bounds of the helper's background in img.
func fontBounds(img image.Image) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == fontBG {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// pixelsDiffer counts the pixels that differ clearly between two same-sized areas of img.
func pixelsDiffer(img image.Image, a, b image.Rectangle) int {
	n := 0
	for y := 0; y < a.Dy(); y++ {
		for x := 0; x < a.Dx(); x++ {
			r1, g1, b1, _ := img.At(a.Min.X+x, a.Min.Y+y).RGBA()
			r2, g2, b2, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if far(r1, r2) || far(g1, g2) || far(b1, b2) {
				n++
			}
		}
	}
	return n
}

func far(a, b uint32) bool { return a>>8 > b>>8+48 || b>>8 > a>>8+48 }

// colourful counts the pixels of area r of img that are clearly coloured (not grey, not fontBG).
func colourful(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c, g, b, _ := img.At(x, y).RGBA()
			c, g, b = c>>8, g>>8, b>>8
			if max(c, g, b)-min(c, g, b) > 80 {
				n++
			}
		}
	}
	return n
}

// requireXvfb skips the test when there is no display (run the tests through .ci/session, which
// starts Xvfb), except under CI=true, where it fails; it fails when ImageMagick's import is missing.
func requireXvfb(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no DISPLAY: run the tests through .ci/session (make test), which starts Xvfb")
		}
		t.Skip("no DISPLAY; run through .ci/session to test the real window")
	}
	if _, err := exec.LookPath("import"); err != nil {
		t.Fatalf("ImageMagick's import is missing (make test installs imagemagick): %v", err)
	}
}

// screenshot saves a picture of the whole screen as the PNG file path and returns it.
func screenshot(t *testing.T, path string) image.Image {
	t.Helper()
	if out, err := exec.Command("import", "-window", "root", path).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	return readPNG(t, path)
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fontHelper is the child process of the font tests: it calls useSystemFonts (unless fontPrimeEnv
// is 0), then draws fontRows either in a real window ("window", printing "ready" once it runs) or
// with the test driver into the PNG fontOutEnv names ("capture"). It returns the exit code.
func fontHelper(mode string) int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if os.Getenv(fontPrimeEnv) != "0" {
		start := time.Now()
		useSystemFonts(logf)
		called := time.Since(start)
		fonts, _ := fontscan.SystemFonts(quietLog{}, "") // waits for the index useSystemFonts started
		logf("useSystemFonts returned in %v; %d system fonts indexed %v after the call", called.Round(time.Microsecond),
			len(fonts), time.Since(start).Round(time.Microsecond))
	}
	switch mode {
	case "capture":
		a := test.NewApp()
		defer a.Quit()
		w := test.NewWindow(nil)
		w.SetPadded(false)
		w.Resize(fontContent(w))
		f, err := os.Create(os.Getenv(fontOutEnv))
		if err != nil {
			logf("%v", err)
			return 1
		}
		defer f.Close()
		if err := png.Encode(f, w.Canvas().Capture()); err != nil {
			logf("%v", err)
			return 1
		}
		return 0
	case "window":
		a := app.NewWithID(AppID + ".fonttest")
		w := a.NewWindow("Poplar font test")
		w.SetPadded(false)
		w.Resize(fontContent(w))
		w.SetFixedSize(true)
		a.Lifecycle().SetOnStarted(func() { fmt.Println("ready") })
		go func() {
			time.Sleep(time.Minute) // the test kills us long before
			fyne.Do(a.Quit)
		}()
		w.ShowAndRun()
		return 0
	}
	logf("unknown %s %q", fontHelperEnv, mode)
	return 2
}

// fontContent puts fontRows on fontBG into w and returns the size the window should have.
func fontContent(w fyne.Window) fyne.Size {
	const rowH, textSize, width = 64, 40, 560
	size := fyne.NewSize(width, rowH*float32(len(fontRows)))
	bg := canvas.NewRectangle(fontBG)
	bg.Resize(size)
	objs := []fyne.CanvasObject{bg}
	for i, s := range fontRows {
		txt := canvas.NewText(s, color.Black)
		txt.TextSize = textSize
		txt.Move(fyne.NewPos(12, float32(i)*rowH+(rowH-txt.MinSize().Height)/2))
		txt.Resize(txt.MinSize())
		objs = append(objs, txt)
	}
	w.SetContent(container.NewWithoutLayout(objs...))
	return size
}
