package gui

import (
	"bufio"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoUnderXvfb builds poplar, starts `poplar --demo` on the display .ci/session provides (Xvfb),
// waits for the fetch to finish and the list to show the messages, takes a screenshot and checks
// that it is not blank. Without a display it is skipped, except under CI=true, where it fails.
func TestDemoUnderXvfb(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no DISPLAY: run the tests through .ci/session (make test), which starts Xvfb")
		}
		t.Skip("no DISPLAY; run through .ci/session to test the real window")
	}
	if _, err := exec.LookPath("import"); err != nil {
		t.Fatalf("ImageMagick's import is missing (make test installs imagemagick): %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "poplar")
	build := exec.Command("go", "build", "-o", bin, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building poplar: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--demo")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}()
	finished, listed := false, false
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if strings.Contains(line, "fetch of demo finished: 200 new") {
			finished = true
		}
		if finished && strings.Contains(line, "listed 200 messages in demo/Inbox") {
			listed = true
			break
		}
		if strings.Contains(line, "fetch of demo failed") {
			t.Fatalf("the demo fetch failed:\n%s", log.String())
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if !listed {
		t.Fatalf("the window never listed the 200 demo messages:\n%s", log.String())
	}
	time.Sleep(time.Second) // let the frame render
	shot := filepath.Join(dir, "shot.png")
	if out, err := exec.Command("import", "-window", "root", shot).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := distinctColors(img, 64); n < 16 {
		t.Fatalf("the screenshot has %d colours: the window looks blank", n)
	}
}

// distinctColors counts the colours of img (sampled), up to limit.
func distinctColors(img image.Image, limit int) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
